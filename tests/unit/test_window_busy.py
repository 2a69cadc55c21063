"""Background loops wait while the window paints, never for long, never without a window."""

from __future__ import annotations

import threading
import time

from lora_desktop.services import window_busy
from lora_desktop.services.window_busy import WindowBusy


def test_nothing_waits_without_a_paint() -> None:
    busy = WindowBusy()
    started = time.monotonic()
    for _ in range(1000):
        busy.wait_turn()
    assert time.monotonic() - started < 1
    assert not busy.is_painting


def test_a_loop_waits_for_the_paint_to_end(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(window_busy, "MAX_WAIT_S", 30.0)
    busy = WindowBusy()
    passed = threading.Event()

    def loop() -> None:
        busy.wait_turn()
        passed.set()

    with busy.painting():
        assert busy.is_painting
        worker = threading.Thread(target=loop)
        worker.start()
        assert not passed.wait(0.2)  # held while the paint goes on
    assert passed.wait(5)  # and goes on when it ends
    worker.join()
    assert not busy.is_painting


def test_a_paint_that_never_ends_holds_a_loop_only_briefly() -> None:
    busy = WindowBusy()
    with busy.painting():
        started = time.monotonic()
        busy.wait_turn()
        assert window_busy.MAX_WAIT_S * 0.8 <= time.monotonic() - started < 2
