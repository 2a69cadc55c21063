"""Cancellable HTTP exchanges run on reused helper threads: many exchanges start no thread
each, a cancel still abandons an exchange the runtime never answers, and the next one runs."""

from __future__ import annotations

import threading
import time

from lora_desktop.services.runners import http as http_runner
from tests.conftest import ScriptedServer


def _helpers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name == "http-exchange"}


def test_exchanges_reuse_helper_threads_and_a_cancel_abandons_a_hung_one(
    http_server: ScriptedServer,
) -> None:
    params = {"url": http_server.url, "timeout": 20}
    never = threading.Event()
    assert http_runner.run_http("p", params, never).succeeded
    first = _helpers()
    assert first
    for _ in range(30):
        assert http_runner.run_http("p", params, never).succeeded
    assert all(t.is_alive() for t in first)  # the same thread made the next exchanges
    assert len(_helpers()) <= 2

    http_server.replies = [(0, {}, b"")]  # the runtime never answers
    cancel = threading.Event()
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    started = time.monotonic()
    outcome = http_runner.run_http("p", params, cancel)
    assert outcome.error == "cancelled"
    assert time.monotonic() - started < 2.0  # not the 20 s deadline

    http_server.replies = [(200, {}, b'{"ok": 2}')]  # the hung exchange still holds a helper
    assert http_runner.run_http("p", params, never).result["json"] == {"ok": 2}
    http_server.release.set()
