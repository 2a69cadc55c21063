"""Sends clicked just before the window closes are written before the library closes:
they are pending in the database and the next start delivers them."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QEvent, QObject
from pytestqt.qtbot import QtBot

from lora_desktop.services import deliveries
from lora_desktop.services.library import open_library
from tests.conftest import ScriptedServer
from tests.gui.conftest import WindowFactory
from tests.gui.delivery_helpers import (
    add_target,
    fast_deliveries,  # noqa: F401  (a fixture)
    ready_window,
    wait_status,
)

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("fast_deliveries")]

SENDS = 5


class _OpenOnClose(QObject):
    """Opens ``gate`` when the watched window receives its close event (before it handles it)."""

    def __init__(self, gate: threading.Event) -> None:
        super().__init__()
        self.gate = gate

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """QObject.eventFilter: open the gate on Close, never swallow the event."""
        if event.type() == QEvent.Type.Close:
            self.gate.set()
        return False


def test_sends_queued_when_the_window_closes_are_written_and_resumed_next_start(
    qtbot: QtBot,
    open_window: WindowFactory,
    db_path: Path,
    http_server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    window = ready_window(qtbot, open_window)
    add_target(window, "webhook", "http", url=http_server.url)
    # The writer thread holds every send until the close has begun: all SENDS are
    # clicked, none is written yet when the window is asked to close.
    gate = threading.Event()
    real_enqueue = deliveries.enqueue

    def held_enqueue(*args: Any, **kwargs: Any) -> Any:
        gate.wait(10)
        return real_enqueue(*args, **kwargs)

    monkeypatch.setattr(deliveries, "enqueue", held_enqueue)
    opener = _OpenOnClose(gate)
    window.installEventFilter(opener)
    prompts = [f"sent just before closing {i}" for i in range(SENDS)]
    for prompt in prompts:
        assert window.deliveries.send.send(prompt)
    assert window.deliveries.send.busy
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 5.0
    assert gate.is_set()
    monkeypatch.setattr(deliveries, "enqueue", real_enqueue)

    lib = open_library(db_path)
    try:
        jobs = {job.prompt: job for job in deliveries.list_jobs(lib)}
    finally:
        lib.close()
    assert sorted(jobs) == sorted(prompts)
    assert {job.status for job in jobs.values()} == {"pending"}
    assert not http_server.requests

    again = ready_window(qtbot, open_window)
    assert sorted(again.deliveries.resumed) == sorted(job.id for job in jobs.values())
    for job in jobs.values():
        wait_status(qtbot, again, job.id, "succeeded")
    assert len(http_server.requests) == SENDS


def test_writes_not_done_in_time_are_dropped_so_nothing_writes_after_closing(
    qtbot: QtBot,
) -> None:
    from lora_desktop.ui.call_pool import CallPool

    release = threading.Event()
    ran: list[int] = []

    def write(n: int) -> None:
        release.wait(10)  # a library locked by another program
        ran.append(n)

    writer = CallPool()
    for n in range(3):
        assert writer.call(lambda n=n: write(n), lambda _r: None, lambda _e: None)
    started = time.monotonic()
    assert not writer.shutdown(200)
    assert time.monotonic() - started < 2.0
    assert writer.unfinished == 3
    release.set()
    qtbot.waitUntil(lambda: writer.unfinished == 2)  # only the one already running ends
    assert writer._pool.waitForDone(5000)  # and no queued one runs after it
    assert ran == [0]
    assert writer.unfinished == 2
    assert not writer.call(lambda: write(9), lambda _r: None, lambda _e: None)
