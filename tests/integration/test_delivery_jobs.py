"""Targets and the job lifecycle against real local runtimes and programs."""

from __future__ import annotations

import json
import os
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lora_desktop.services import deliveries, targets
from lora_desktop.services.delivery_log import close_delivery_log, setup_delivery_log
from lora_desktop.services.delivery_stats import delivery_stats
from lora_desktop.services.errors import Conflict, NotFound, ValidationFailed
from lora_desktop.services.library import Library, open_library
from lora_desktop.services.runners import png
from tests.conftest import add_adapter, closed_port
from tests.integration.delivery_fakes import (
    API_WORKFLOW,
    ComfyState,
    FakeRuntime,
    install_a1111,
    install_comfyui,
    json_reply,
)

NASTY_PROMPT = "a \"quoted\" 'cat'\nline two $(touch pwned) `id`; rm -rf x && echo ü"


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries, "BACKOFF_BASE", 0.001)
    monkeypatch.setattr(deliveries, "SEND_INTERVAL", 0.0)


@pytest.fixture
def runtime() -> Iterator[FakeRuntime]:
    server = FakeRuntime()
    try:
        yield server
    finally:
        server.close()


def _send(lib: Library, target: str, prompt: str | None = "a cat") -> deliveries.DeliveryJobOut:
    job = deliveries.enqueue(lib, target=target, prompt=prompt)
    return deliveries.run_job(lib, job.id)


def _hook(runtime: FakeRuntime, replies: list[Any]) -> None:
    """``POST /hook`` answers ``replies`` in turn (the last repeats)."""

    def route(seen: Any) -> Any:
        count = sum(1 for s in runtime.seen if s.path == "/hook")
        return replies[min(count, len(replies)) - 1]

    runtime.routes[("POST", "/hook")] = route


# -- targets ---------------------------------------------------------------------------------


def test_targets_crud_masks_secrets(library: Library) -> None:
    token = "Bearer abcdefghijklmnop1234"
    made = targets.create_target(
        library,
        {
            "name": "Forge",
            "mode": "http",
            "config": {"url": "http://127.0.0.1:7860/hook", "headers": {"Authorization": token}},
        },
    )
    assert made.config["headers"] == {"Authorization": "***1234"}
    assert made.config["timeout"] == 30.0
    assert [t.name for t in targets.list_targets(library)] == ["Forge"]
    assert targets.get_target(library, made.id) == targets.get_target(library, "Forge")

    # Given back masked (as the dialog shows it), the secret is kept.
    changed = targets.update_target(
        library,
        "Forge",
        {"name": "Forge 2", "config": {"headers": {"Authorization": "***1234"}, "timeout": 5}},
    )
    assert (changed.name, changed.config["timeout"]) == ("Forge 2", 5)
    assert targets.target_settings(library, "Forge 2")[3]["headers"] == {"Authorization": token}

    with pytest.raises(Conflict) as taken:
        targets.create_target(
            library, {"name": "Forge 2", "mode": "cli", "config": {"argv": ["x"]}}
        )
    assert taken.value.field_errors() == {"name": "already used by another target"}
    with pytest.raises(ValidationFailed) as bad:
        targets.create_target(library, {"name": "x", "mode": "http", "config": {"url": "ftp://h"}})
    assert list(bad.value.field_errors()) == ["config.url"]
    with pytest.raises(ValidationFailed) as partial:
        targets.create_target(
            library, {"name": "y", "mode": "cli", "config": {"argv": ["run", "--p={prompt}"]}}
        )
    assert list(partial.value.field_errors()) == ["config.argv"]

    removed = targets.delete_target(library, "Forge 2")
    assert removed.id == made.id
    with pytest.raises(NotFound):
        targets.get_target(library, "Forge 2")


# -- each runner through a job ---------------------------------------------------------------


def test_http_target_job_and_what_is_shown(
    library: Library, runtime: FakeRuntime, lora_dir: Path, tmp_path: Path
) -> None:
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True)
    _hook(runtime, [json_reply({"ok": True})])
    url = runtime.base_url.replace("//", "//artist:pw@") + "/hook?api_key=k123"
    targets.create_target(
        library,
        {
            "name": "hook",
            "mode": "http",
            "config": {"url": url, "headers": {"X-Token": "tok"}, "negative_prompt": "blurry"},
        },
    )
    log_path = setup_delivery_log(tmp_path / "logs")
    try:
        job = _send(library, "hook", prompt=None)  # the composed prompt
    finally:
        close_delivery_log()

    assert job.status == "succeeded", job.error
    [seen] = runtime.seen
    assert seen.json() == {
        "prompt": "<lora:foo:0.75>",
        "negative_prompt": "blurry",
        "metadata": {"adapters": [{"name": "foo", "weight": 0.75, "sha256": None}]},
    }
    assert seen.headers["X-Token"] == "tok"
    assert job.params["headers"] == {"X-Token": "***"}
    assert job.params["url"].startswith("http://***@127.0.0.1")
    assert job.params["url"].endswith("/hook?api_key=***")
    assert job.params["target"] == "hook"
    events = [json.loads(line) for line in log_path.read_text().splitlines()]
    assert [e["event"] for e in events] == [
        "delivery.enqueued",
        "delivery.started",
        "delivery.completed",
    ]
    assert {e["job"] for e in events} == {job.id}
    assert events[-1]["duration_ms"] >= 0
    assert "tok" not in log_path.read_text()
    assert "pw@" not in log_path.read_text()


def test_cli_target_gets_the_prompt_byte_for_byte(library: Library, tmp_path: Path) -> None:
    received = tmp_path / "received.txt"
    program = tmp_path / "receive.py"
    program.write_text(
        "import sys\n"
        "open(sys.argv[2], 'wb').write(open(sys.argv[1], 'rb').read())\n"
        "sys.stdout.write(repr(sys.argv[3]))\n"
    )
    argv = [sys.executable, str(program), "{prompt_file}", str(received), "{prompt}"]
    targets.create_target(library, {"name": "script", "mode": "cli", "config": {"argv": argv}})

    job = _send(library, "script", NASTY_PROMPT)

    assert job.status == "succeeded", job.error
    assert received.read_bytes() == NASTY_PROMPT.encode()
    assert job.result is not None
    assert job.result["stdout"] == repr(NASTY_PROMPT)
    assert not (tmp_path / "pwned").exists()


def test_a1111_target_job(
    library: Library, runtime: FakeRuntime, lora_dir: Path, tmp_path: Path
) -> None:
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True)
    add_adapter(library, lora_dir, "ghost", weight=0.5, active=True)
    install_a1111(runtime, loras=["foo"])
    config = {"base_url": runtime.base_url, "output_dir": str(tmp_path / "out"), "steps": 8}
    targets.create_target(library, {"name": "forge", "mode": "a1111", "config": config})

    job = _send(library, "forge", prompt=None)

    assert job.status == "succeeded", job.error
    assert runtime.seen[1].json() == {
        "prompt": "<lora:foo:0.75> <lora:ghost:0.5>",
        "negative_prompt": "",
        "steps": 8,
    }
    assert job.result is not None
    assert job.result["warnings"] == [
        "the runtime does not know the LoRA 'ghost'; it will be ignored there"
    ]
    [image] = job.result["images"]
    assert png.read_text(Path(image).read_bytes())["parameters"].startswith("<lora:foo:0.75>")


def test_comfyui_target_job_uses_file_names(
    library: Library, runtime: FakeRuntime, lora_dir: Path, tmp_path: Path
) -> None:
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True)
    state = ComfyState()
    install_comfyui(runtime, state)
    config = {
        "base_url": runtime.base_url,
        "output_dir": str(tmp_path / "out"),
        "workflow": API_WORKFLOW,
        "poll_interval": 0.05,
    }
    targets.create_target(library, {"name": "comfy", "mode": "comfyui", "config": config})

    job = _send(library, "comfy", prompt="a cat")

    assert job.status == "succeeded", job.error
    [(prompt_id, graph)] = state.prompts.items()
    assert prompt_id == job.params["prompt_id"]
    [lora] = [n for n in graph.values() if n["class_type"] == "LoraLoader"]
    assert lora["inputs"]["lora_name"] == "foo.safetensors"
    assert (lora["inputs"]["strength_model"], lora["inputs"]["strength_clip"]) == (0.75, 0.75)
    assert job.result is not None
    assert len(job.result["images"]) == 1


# -- failures and retries --------------------------------------------------------------------


def test_a_runtime_that_is_down_is_retried_then_fails(library: Library) -> None:
    url = f"http://127.0.0.1:{closed_port()}/hook"
    targets.create_target(
        library, {"name": "down", "mode": "http", "config": {"url": url, "max_attempts": 4}}
    )
    job = _send(library, "down")
    assert (job.status, job.attempts) == ("failed", 4)
    assert "cannot connect" in (job.error or "")


def test_busy_with_retry_after_then_success(library: Library, runtime: FakeRuntime) -> None:
    _hook(runtime, [json_reply({"busy": 1}, 503, {"Retry-After": "0"}), json_reply({"ok": 1})])
    targets.create_target(
        library, {"name": "h", "mode": "http", "config": {"url": runtime.base_url + "/hook"}}
    )
    job = _send(library, "h")
    assert (job.status, job.attempts, job.result) == (
        "succeeded",
        2,
        {"status_code": 200, "json": {"ok": 1}},
    )


def test_a_server_error_may_have_run_then_manual_retry_succeeds(
    library: Library, runtime: FakeRuntime
) -> None:
    _hook(runtime, [json_reply({"error": "oom"}, 500), json_reply({"ok": 1})])
    targets.create_target(
        library, {"name": "h", "mode": "http", "config": {"url": runtime.base_url + "/hook"}}
    )
    failed = _send(library, "h")
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "may have run" in (failed.error or "")
    with pytest.raises(Conflict):
        deliveries.retry_job(library, deliveries.enqueue(library, target="h").id)

    pending = deliveries.retry_job(library, failed.id)
    assert (pending.status, pending.error, pending.finished_at) == ("pending", None, None)
    done = deliveries.run_job(library, failed.id)
    assert (done.status, done.attempts) == ("succeeded", 2)


def test_a_client_error_fails_at_once(library: Library, runtime: FakeRuntime) -> None:
    _hook(runtime, [json_reply({"error": "bad"}, 400)])
    targets.create_target(
        library, {"name": "h", "mode": "http", "config": {"url": runtime.base_url + "/hook"}}
    )
    job = _send(library, "h")
    assert (job.status, job.attempts) == ("failed", 1)
    assert "refused the request (400); check the target" in (job.error or "")


def test_a_trickling_server_is_stopped_at_the_deadline(
    library: Library, runtime: FakeRuntime
) -> None:
    runtime.routes[("POST", "/hook")] = lambda seen: (200, {}, runtime.trickle(0.5))
    config = {"url": runtime.base_url + "/hook", "timeout": 1.2}
    targets.create_target(library, {"name": "h", "mode": "http", "config": config})
    job = _send(library, "h")
    assert (job.status, job.attempts) == ("failed", 1)
    assert "total deadline 1.2 s" in (job.error or "")


def test_cancel_a_running_cli_job(library: Library, tmp_path: Path) -> None:
    started = tmp_path / "started"
    os.mkfifo(started)
    program = tmp_path / "hang.py"
    program.write_text(f"import time\nopen({str(started)!r}, 'w').write('x')\ntime.sleep(600)\n")
    config = {"argv": [sys.executable, str(program)], "timeout": 60}
    targets.create_target(library, {"name": "hang", "mode": "cli", "config": config})
    job = deliveries.enqueue(library, target="hang", prompt="p")
    results: list[deliveries.DeliveryJobOut] = []
    worker = threading.Thread(target=lambda: results.append(deliveries.run_job(library, job.id)))
    worker.start()
    started.read_text()  # blocks until the program runs

    asked = deliveries.cancel_job(library, job.id)
    worker.join(10)

    assert asked.status == "running"
    [done] = results
    assert (done.status, done.error) == ("cancelled", "cancelled")
    assert deliveries.get_job(library, job.id).status == "cancelled"


def test_cancel_a_pending_job(library: Library) -> None:
    targets.create_target(
        library, {"name": "h", "mode": "http", "config": {"url": "http://127.0.0.1:9/"}}
    )
    job = deliveries.enqueue(library, target="h")
    cancelled = deliveries.cancel_job(library, job.id)
    assert cancelled.status == "cancelled"
    assert deliveries.run_job(library, job.id).status == "cancelled"  # never runs
    assert deliveries.unfinished_jobs(library) == []


def test_pending_jobs_survive_a_restart_and_resume(db_path: Path, runtime: FakeRuntime) -> None:
    _hook(runtime, [json_reply({"ok": 1})])
    first = open_library(db_path)
    targets.create_target(
        first, {"name": "h", "mode": "http", "config": {"url": runtime.base_url + "/hook"}}
    )
    ids = [deliveries.enqueue(first, target="h", prompt=f"p{i}").id for i in range(3)]
    first.close()  # the app closes with the jobs pending

    again = open_library(db_path)
    try:
        assert deliveries.unfinished_jobs(again) == ids
        done = [deliveries.run_job(again, job_id) for job_id in deliveries.unfinished_jobs(again)]
        assert [j.status for j in done] == ["succeeded"] * 3
        assert sorted(s.json()["prompt"] for s in runtime.seen) == ["p0", "p1", "p2"]
        stats = delivery_stats(again)
        assert (stats.total, stats.by_status, stats.by_target) == (
            3,
            {"succeeded": 3},
            {"h": {"succeeded": 3}},
        )
        assert stats.latency_ms.count == 3
        assert stats.latency_ms.p50 is not None
    finally:
        again.close()


def test_a_double_send_is_refused(library: Library, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(deliveries, "SEND_INTERVAL", 60.0)
    targets.create_target(
        library, {"name": "h", "mode": "http", "config": {"url": "http://127.0.0.1:9/"}}
    )
    deliveries.enqueue(library, target="h", prompt="same")
    with pytest.raises(deliveries.TooSoon, match="wait 60 s"):
        deliveries.enqueue(library, target="h", prompt="same")
    deliveries.enqueue(library, target="h", prompt="other")  # a new prompt goes


def test_deleting_a_target_keeps_its_jobs(library: Library) -> None:
    targets.create_target(
        library, {"name": "h", "mode": "http", "config": {"url": "http://127.0.0.1:9/"}}
    )
    job = deliveries.enqueue(library, target="h", prompt="p")
    targets.delete_target(library, "h")
    kept = deliveries.get_job(library, job.id)
    assert (kept.status, kept.params["target"]) == ("pending", "h")
