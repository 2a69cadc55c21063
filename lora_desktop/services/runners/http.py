"""The ``http`` runner: POST JSON ``{prompt, negative_prompt, metadata}`` to a URL."""

from __future__ import annotations

import threading
from typing import Any

from lora_desktop.services.runners import Outcome
from lora_desktop.services.runners.transport import (
    JSON_CAP,
    RETRY_AFTER_CAP,
    RETRY_STATUSES,
    Deadline,
    Failed,
    client,
    exchange,
    judge,
)

REPLY_CAP = JSON_CAP
__all__ = ["REPLY_CAP", "RETRY_AFTER_CAP", "RETRY_STATUSES", "payload", "run_http"]


def payload(prompt: str, params: dict[str, Any]) -> dict[str, Any]:
    """The JSON body: the prompt, the negative prompt (targets always send one, maybe
    empty; a bare request without one does not), the metadata."""
    body: dict[str, Any] = {"prompt": prompt}
    if "negative_prompt" in params:
        body["negative_prompt"] = params["negative_prompt"]
    body["metadata"] = params.get("metadata") or {}
    return body


def run_http(prompt: str, params: dict[str, Any], cancel: threading.Event | None = None) -> Outcome:
    """Send one attempt within ``params["timeout"]`` seconds in all; never raises for
    network trouble, it reports it."""
    url = str(params["url"])
    headers = {str(k): str(v) for k, v in dict(params.get("headers") or {}).items()}
    deadline = Deadline(float(params.get("timeout", 30.0)))
    try:
        with client() as http:
            reply = exchange(
                http,
                "POST",
                url,
                deadline=deadline,
                cap=REPLY_CAP,
                json_body=payload(prompt, params),
                headers=headers,
                cancel=cancel,
            )
    except Failed as failed:
        return failed.outcome
    result = reply.summary()
    return judge(url, reply, result) or Outcome(True, result)
