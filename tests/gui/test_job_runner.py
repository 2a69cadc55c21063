"""Background jobs always report back, however fast they end."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from lora_desktop.services.library import Library
from lora_desktop.ui.hash_progress import HashController
from lora_desktop.ui.workers import JobRunner, ProgressReport, StopCheck

pytestmark = pytest.mark.gui


def test_every_job_reports_even_one_that_ends_at_once(qtbot: QtBot) -> None:
    runner = JobRunner(max_threads=2)
    results: list[object] = []
    failures: list[str] = []
    progress: list[tuple[int, int]] = []

    def instant(_stop: StopCheck, report: ProgressReport) -> int:
        report(1, 1)
        return 7

    def broken(_stop: StopCheck, _report: ProgressReport) -> int:
        raise ValueError("no")

    for _ in range(200):  # a job ending before start() returns must still be heard
        runner.start(instant, succeeded=results.append, progress=lambda *a: progress.append(a))
    runner.start(broken, failed=failures.append)
    qtbot.waitUntil(lambda: len(results) == 200 and len(failures) == 1, timeout=10_000)
    qtbot.waitUntil(lambda: not runner.busy)
    assert set(results) == {7}
    assert progress == [(1, 1)] * 200
    assert failures == ["unexpected error: no"]
    runner.shutdown()


def test_hash_runs_with_nothing_to_do_end_and_say_so(library: Library, qtbot: QtBot) -> None:
    controller = HashController(library)
    for _ in range(20):  # an empty run ends in milliseconds
        with qtbot.waitSignal(controller.idle, timeout=10_000):
            controller.start()
        assert not controller.busy
    controller.shutdown()


def test_a_run_asked_for_during_a_run_follows_it(
    library: Library, lora_dir: Path, qtbot: QtBot
) -> None:
    controller = HashController(library)
    started: list[int] = []
    controller.started.connect(lambda: started.append(1))
    with qtbot.waitSignal(controller.idle, timeout=10_000):
        controller.start()
        controller.start()  # while the first goes on: once more afterwards, then idle
    assert len(started) == 2
    assert not controller.busy
    controller.shutdown()
