"""The ``http`` runner: POST JSON ``{prompt, metadata}`` to a URL."""

from __future__ import annotations

import json
from typing import Any

import httpx

from lora_desktop.services.runners import Outcome

REPLY_CAP = 8 * 1024 * 1024
RETRY_STATUSES = frozenset({429, 503})
RETRY_AFTER_CAP = 60.0


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP)
    except ValueError:
        return None


def run_http(prompt: str, params: dict[str, Any]) -> Outcome:
    """Send one attempt; never raises for network trouble, it reports it."""
    url = str(params["url"])
    timeout = float(params.get("timeout", 30.0))
    headers = {str(k): str(v) for k, v in dict(params.get("headers") or {}).items()}
    payload = {"prompt": prompt, "metadata": params.get("metadata") or {}}
    try:
        with httpx.Client(timeout=httpx.Timeout(timeout), follow_redirects=False) as client:
            response = client.post(url, json=payload, headers=headers)
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        return Outcome(False, error=f"cannot connect to {url}: {exc}", retryable=True)
    except httpx.TimeoutException as exc:
        return Outcome(
            False, error=f"{url} did not answer in time ({exc}); the runtime may have run it"
        )
    except httpx.HTTPError as exc:
        return Outcome(False, error=f"request to {url} failed: {exc}")
    body = response.content[:REPLY_CAP]
    result: dict[str, Any] = {"status_code": response.status_code}
    try:
        result["json"] = json.loads(body)
    except ValueError:
        result["text"] = body.decode("utf-8", "replace")
    if response.is_success:
        return Outcome(True, result)
    if response.status_code in RETRY_STATUSES:
        return Outcome(
            False,
            result,
            f"{url} answered {response.status_code} (busy); will retry",
            retryable=True,
            retry_after=_retry_after(response),
        )
    if response.status_code >= 500:
        return Outcome(
            False, result, f"{url} answered {response.status_code}; the runtime may have run it"
        )
    return Outcome(
        False, result, f"{url} refused the request ({response.status_code}); check the target"
    )
