"""Closing mid-delivery loses nothing: interrupted and queued jobs resume at the next start,
and the app process exits 0 within 5 s while a delivery runs."""

from __future__ import annotations

import textwrap
import time
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from lora_desktop.services import deliveries, targets
from lora_desktop.services.library import open_library
from tests.conftest import ScriptedServer
from tests.gui.conftest import WindowFactory
from tests.gui.delivery_helpers import (
    HOLD_WHILE_FLAG,
    WAIT_MS,
    add_target,
    fast_deliveries,  # noqa: F401  (a fixture)
    python_program,
    ready_window,
    send_and_get_id,
    set_prompt,
    wait_status,
)
from tests.gui.process_helpers import run_until_closed

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("fast_deliveries")]


def test_jobs_pending_when_the_app_closed_run_after_reopening(
    qtbot: QtBot, open_window: WindowFactory, db_path: Path, http_server: ScriptedServer
) -> None:
    lib = open_library(db_path)
    try:
        targets.create_target(
            lib, {"name": "webhook", "mode": "http", "config": {"url": http_server.url}}
        )
        queued = [deliveries.enqueue(lib, target="webhook", prompt=f"p{i}").id for i in range(3)]
    finally:
        lib.close()
    assert not http_server.requests
    window = ready_window(qtbot, open_window)
    assert sorted(window.deliveries.resumed) == sorted(queued)
    for job_id in queued:
        wait_status(qtbot, window, job_id, "succeeded")
    assert len(http_server.requests) == 3


def test_closing_mid_delivery_keeps_the_jobs_and_the_next_start_finishes_them(
    qtbot: QtBot, open_window: WindowFactory, db_path: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "hold"
    flag.touch()
    runs = tmp_path / "runs"
    window = ready_window(qtbot, open_window)
    add_target(window, "slow", "cli", argv=[*python_program(HOLD_WHILE_FLAG), str(flag), str(runs)])
    ids = []
    for text in ("first", "second", "third"):  # two run (pool of 2), one waits its turn
        set_prompt(qtbot, window, text)
        ids.append(send_and_get_id(qtbot, window))
    for job_id in ids[:2]:
        wait_status(qtbot, window, job_id, "running")
    qtbot.waitUntil(lambda: runs.exists() and len(runs.read_text().split()) == 2, timeout=WAIT_MS)
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 5.0
    lib = open_library(db_path)
    try:
        assert {deliveries.get_job(lib, i).status for i in ids} == {"pending"}
        assert sorted(deliveries.unfinished_jobs(lib)) == sorted(ids)
    finally:
        lib.close()
    flag.unlink()
    again = ready_window(qtbot, open_window)
    assert sorted(again.deliveries.resumed) == sorted(ids)
    for job_id in ids:
        job = wait_status(qtbot, again, job_id, "succeeded")
        assert job.result is not None
        assert "done" in job.result["stdout"]


SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication
    from lora_desktop.app import create_main_window
    from lora_desktop.services import deliveries

    app = QApplication(sys.argv[:1])
    window = create_main_window(sys.argv[1])
    window.show()
    features = window.deliveries

    def running(changes):
        if window.is_closed or not changes.jobs:
            return
        job = deliveries.get_job(window.library, changes.jobs[0])
        if job.status == "running":
            print("closing", flush=True)
            QTimer.singleShot(200, window.close)
            QTimer.singleShot(200, app.quit)

    window.bridge.changed.connect(running)
    QTimer.singleShot(300, features.send.send)
    sys.exit(app.exec())
    """
)


def test_the_process_exits_zero_within_five_seconds_while_a_delivery_runs(
    db_path: Path, tmp_path: Path
) -> None:
    flag = tmp_path / "hold"
    flag.touch()
    lib = open_library(db_path)
    try:
        argv = [*python_program(HOLD_WHILE_FLAG), str(flag), str(tmp_path / "runs")]
        targets.create_target(lib, {"name": "slow", "mode": "cli", "config": {"argv": argv}})
    finally:
        lib.close()
    settings = tmp_path / "cfg" / "lora-desktop"
    settings.mkdir(parents=True)
    (settings / "lora-desktop.ini").write_text("[compose]\nprefix=close while sending\n")
    closed = run_until_closed(SCRIPT, [str(db_path)], tmp_path / "cfg")
    assert closed.line == "closing", closed.stderr
    assert closed.status == 0, closed.stderr
    assert closed.seconds < 5.0
    assert "Traceback" not in closed.stderr
    lib = open_library(db_path)
    try:
        (job,) = deliveries.list_jobs(lib)
        assert job.status == "pending"  # interrupted by the closing: resumed next start
    finally:
        lib.close()
