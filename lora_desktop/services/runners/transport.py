"""One HTTP exchange with a total deadline, a size cap and no followed redirects.

Every runner that talks HTTP goes through :func:`exchange`. It never raises for
network trouble: it raises :class:`Failed` carrying the attempt's
:class:`~lora_desktop.services.runners.Outcome`, already classified:

- connection refused or connect timeout: the runtime never saw the request →
  retryable;
- a read or write timeout, or the total deadline passing, once the request may
  have been sent → failed, "the runtime may have run it" (not retried);
- a reply over the size cap → failed, cut off;
- a redirect → failed, not followed: following it could hand the target's
  credentials to another host.

Per-operation timeouts alone do not bound a request: a server that sends one
byte every half second never trips a read timeout. The body is therefore
streamed and the deadline checked between chunks.
"""

from __future__ import annotations

import functools
import json
import queue
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import certifi
import httpx

from lora_desktop.services.runners import Outcome

MiB = 1024 * 1024
JSON_CAP = 8 * MiB
"""Largest JSON reply kept (the http runner and every API answer)."""
IMAGE_CAP = 64 * MiB
"""Largest reply that carries images (A1111 base64 images, a ComfyUI download)."""
RETRY_STATUSES = frozenset({429, 503})
RETRY_AFTER_CAP = 60.0
"""Longest ``Retry-After`` honoured, in seconds; a longer one is shortened to this."""


class Failed(Exception):
    """An exchange that ended without a usable reply; ``outcome`` says how."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.error)
        self.outcome = outcome


@dataclass(frozen=True)
class Reply:
    """A complete reply: status, headers, and the body (never more than the cap)."""

    status_code: int
    headers: httpx.Headers
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON.

        Raises:
            ValueError: the body is not JSON.
        """
        return json.loads(self.body)

    def summary(self) -> dict[str, Any]:
        """``{"status_code", "json"}`` when the body is JSON, else ``{"status_code", "text"}``."""
        result: dict[str, Any] = {"status_code": self.status_code}
        try:
            result["json"] = self.json()
        except ValueError:
            result["text"] = self.body.decode("utf-8", "replace")
        return result


class Deadline:
    """A point in time every part of one attempt must finish by."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def remaining(self) -> float:
        """Seconds left (never negative)."""
        return max(0.0, self.at - time.monotonic())

    def passed(self) -> bool:
        """True once the deadline is reached."""
        return time.monotonic() >= self.at


@functools.cache
def _tls() -> ssl.SSLContext:
    # Building a verifying context loads the CA bundle (tens of ms): once per process.
    return ssl.create_default_context(cafile=certifi.where())


def client() -> httpx.Client:
    """A client that follows no redirect and reads no proxy or netrc settings from the
    environment (a proxy could see a token header; the targets are local runtimes)."""
    return httpx.Client(follow_redirects=False, trust_env=False, verify=_tls())


def retry_after(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (delta form only), capped; None when absent or a date."""
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return min(max(float(value), 0.0), RETRY_AFTER_CAP)
    except ValueError:
        return None


def _too_late(url: str, deadline: Deadline) -> Failed:
    return Failed(
        Outcome(
            False,
            error=f"{url} did not answer in time (total deadline {deadline.seconds:g} s); "
            "the runtime may have run it",
        )
    )


CANCEL_CHECK = 0.05
"""How often (seconds) a request waiting on the network looks at its cancel signal."""
HELPER_IDLE = 10.0
"""How long (seconds) an idle exchange helper thread waits for more work before it ends."""


class _Helpers:
    """Daemon threads that make cancellable exchanges, kept for the next one.

    A thread started per exchange cost about as much CPU as the rest of a quick local
    exchange. Daemon threads (not a ``ThreadPoolExecutor``, whose threads are joined at
    exit): an abandoned exchange must never hold up the app's exit. There is always a
    thread free for new work: one is started whenever none is idle.
    """

    def __init__(self) -> None:
        self._tasks: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._idle = 0
        self._lock = threading.Lock()

    def submit(self, task: Callable[[], None]) -> None:
        """Run ``task`` on a helper thread (it must not raise)."""
        with self._lock:
            spawn = self._idle == 0
            if not spawn:
                self._idle -= 1  # that idle thread's turn is taken by this task
        self._tasks.put(task)
        if spawn:
            threading.Thread(target=self._work, daemon=True, name="http-exchange").start()

    def _work(self) -> None:
        while True:
            try:
                task = self._tasks.get(timeout=HELPER_IDLE)
            except queue.Empty:
                with self._lock:
                    if self._idle > 0:  # no task was promised to an idle thread: end
                        self._idle -= 1
                        return
                continue  # a task is on its way to an idle thread: take it
            task()
            with self._lock:
                self._idle += 1


_helpers = _Helpers()


def exchange(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    deadline: Deadline,
    cap: int = JSON_CAP,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> Reply:
    """Make one request and read the whole reply by ``deadline``, at most ``cap`` bytes.

    With ``cancel``, the request runs on a helper thread (reused) and a cancel ends the call
    within ``CANCEL_CHECK`` seconds, even while the runtime has not answered yet (an
    A1111 generation): the request is abandoned there (the caller closes its client,
    or its deadline ends it), so a cancel or the app closing never waits for a reply.

    Raises:
        Failed: the request failed or was cancelled; its outcome says whether a retry
            is safe.
    """

    def attempt() -> Reply:
        return _exchange(
            http,
            method,
            url,
            deadline=deadline,
            cap=cap,
            json_body=json_body,
            headers=headers,
            params=params,
            cancel=cancel,
        )

    if cancel is None:
        return attempt()
    if cancel.is_set():
        raise Failed(Outcome(False, error="cancelled"))
    outcome: list[Reply | BaseException] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(attempt())
        except BaseException as exc:  # handed back to the caller below
            outcome.append(exc)
        finally:
            done.set()

    _helpers.submit(run)
    while not done.wait(CANCEL_CHECK):
        if cancel.is_set():
            raise Failed(Outcome(False, error="cancelled"))
    result = outcome[0]
    if isinstance(result, BaseException):
        raise result
    return result


def _exchange(
    http: httpx.Client,
    method: str,
    url: str,
    *,
    deadline: Deadline,
    cap: int = JSON_CAP,
    json_body: Any = None,
    headers: dict[str, str] | None = None,
    params: dict[str, str] | None = None,
    cancel: threading.Event | None = None,
) -> Reply:
    """Make one request and read the whole reply by ``deadline``, at most ``cap`` bytes.

    Raises:
        Failed: the request failed; its outcome says whether a retry is safe.
    """
    if cancel is not None and cancel.is_set():
        raise Failed(Outcome(False, error="cancelled"))
    remaining = deadline.remaining()
    if remaining <= 0:
        raise _too_late(url, deadline)
    timeout = httpx.Timeout(remaining)
    try:
        with http.stream(
            method, url, json=json_body, headers=headers, params=params, timeout=timeout
        ) as response:
            if response.is_redirect:
                location = response.headers.get("Location", "?")
                raise Failed(
                    Outcome(
                        False,
                        {"status_code": response.status_code, "location": location},
                        f"{url} redirected to {location}; redirects are not followed "
                        "(credentials must not reach another host): use the final URL",
                    )
                )
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > cap:
                raise _over_cap(url, cap)
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > cap:
                    raise _over_cap(url, cap)
                chunks.append(chunk)
                if deadline.passed():
                    raise _too_late(url, deadline)
                if cancel is not None and cancel.is_set():
                    raise Failed(Outcome(False, error="cancelled"))
            return Reply(response.status_code, response.headers, b"".join(chunks))
    except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
        raise Failed(
            Outcome(False, error=f"cannot connect to {url}: {exc}", retryable=True)
        ) from exc
    except httpx.TimeoutException as exc:
        raise Failed(
            Outcome(
                False, error=f"{url} did not answer in time ({exc}); the runtime may have run it"
            )
        ) from exc
    except httpx.HTTPError as exc:
        raise Failed(
            Outcome(False, error=f"request to {url} failed: {exc}; the runtime may have run it")
        ) from exc


def _over_cap(url: str, cap: int) -> Failed:
    return Failed(
        Outcome(False, error=f"{url} sent more than {cap // MiB} MiB; the reply was cut off")
    )


def judge(url: str, reply: Reply, result: dict[str, Any] | None = None) -> Outcome | None:
    """The outcome of a reply that is not a success (None for a 2xx).

    429 and 503 ask for a retry; another 5xx may have run; a 4xx says what to fix.
    """
    if 200 <= reply.status_code < 300:
        return None
    kept = result if result is not None else reply.summary()
    code = reply.status_code
    if code in RETRY_STATUSES:
        return Outcome(
            False,
            kept,
            f"{url} answered {code} (busy); will retry",
            retryable=True,
            retry_after=retry_after(reply.headers),
        )
    if code >= 500:
        return Outcome(False, kept, f"{url} answered {code}; the runtime may have run it")
    return Outcome(False, kept, f"{url} refused the request ({code}); check the target")
