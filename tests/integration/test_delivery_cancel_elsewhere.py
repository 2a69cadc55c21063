"""A cancel asked by another process (``lora-desktop jobs cancel ID``) stops the job running
in this one, and only that job; the shared cancel watcher ends with the last job."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

from lora_desktop.models.schemas import DeliveryJobOut
from lora_desktop.services import deliveries, targets
from lora_desktop.services.cancel_watch import watch_for
from lora_desktop.services.library import Library
from tests.integration.cli_helpers import run_cli

HANG = "import sys, time\nopen(sys.argv[1], 'w').write('x')\ntime.sleep(600)\n"


def _start(library: Library, tmp_path: Path, name: str) -> tuple[str, threading.Thread, list]:
    started = tmp_path / f"started-{name}"
    os.mkfifo(started)
    config = {"argv": [sys.executable, "-c", HANG, str(started)], "timeout": 60}
    targets.create_target(library, {"name": name, "mode": "cli", "config": config})
    job = deliveries.enqueue(library, target=name, prompt=name)
    results: list[DeliveryJobOut] = []
    worker = threading.Thread(target=lambda: results.append(deliveries.run_job(library, job.id)))
    worker.start()
    started.read_text()  # blocks until the program runs
    return job.id, worker, results


def test_a_cancel_from_another_process_stops_only_that_running_job(
    library: Library, db_path: Path, tmp_path: Path
) -> None:
    first, first_worker, first_result = _start(library, tmp_path, "one")
    second, second_worker, second_result = _start(library, tmp_path, "two")
    assert watch_for(library.db, deliveries.CANCEL_POLL).watching

    asked = time.monotonic()
    cancel = run_cli(db_path, "jobs", "cancel", first)
    assert cancel.returncode == 0, cancel.stderr
    first_worker.join(10)
    assert not first_worker.is_alive()
    # the poll (0.5 s) after the other process wrote its request, plus the kill
    assert time.monotonic() - asked < 8
    [done] = first_result
    assert (done.status, done.error) == ("cancelled", "cancelled")
    assert second_worker.is_alive()
    assert deliveries.get_job(library, second).status == "running"

    cancel = run_cli(db_path, "jobs", "cancel", second)
    assert cancel.returncode == 0, cancel.stderr
    second_worker.join(10)
    [done] = second_result
    assert (done.status, done.error) == ("cancelled", "cancelled")

    # No job runs any more: the watcher thread ends at its next poll.
    watch = watch_for(library.db, deliveries.CANCEL_POLL)
    until = time.monotonic() + 5
    while watch.watching and time.monotonic() < until:
        threading.Event().wait(0.05)
    assert not watch.watching
