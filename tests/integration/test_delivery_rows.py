"""What ``run_job`` returns (built from the claimed row and the final values, not read
back) is what the library then holds, and "no result" is stored as SQL NULL."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from lora_desktop.services import deliveries, targets
from lora_desktop.services.library import Library
from tests.conftest import ScriptedServer, closed_port


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries, "BACKOFF_BASE", 0.001)


def test_the_returned_job_is_the_stored_job(
    library: Library, db_path: Path, http_server: ScriptedServer
) -> None:
    down = f"http://127.0.0.1:{closed_port()}/hook"
    targets.create_target(
        library, {"name": "up", "mode": "http", "config": {"url": http_server.url}}
    )
    config = {"url": down, "max_attempts": 2}
    targets.create_target(library, {"name": "down", "mode": "http", "config": config})
    ran = [
        deliveries.run_job(library, deliveries.enqueue(library, target=name, prompt=name).id)
        for name in ("up", "down")
    ]
    assert [(job.status, job.attempts) for job in ran] == [("succeeded", 1), ("failed", 2)]
    for job in ran:
        assert job == deliveries.get_job(library, job.id)
    with sqlite3.connect(db_path) as raw:
        stored = dict(raw.execute("SELECT prompt, result IS NULL FROM delivery_jobs").fetchall())
    assert stored == {"up": 0, "down": 1}
