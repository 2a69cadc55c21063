"""HTTP deliveries against a real local server: body, retries, failures, the job's lifecycle."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from lora_desktop.services import deliveries
from lora_desktop.services.compose import compose
from lora_desktop.services.errors import NotFound, ValidationFailed
from lora_desktop.services.library import ChangeSet, Library
from tests.conftest import ScriptedServer, add_adapter, closed_port, db_snapshot


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep exponential backoff, but in milliseconds."""
    monkeypatch.setattr(deliveries, "BACKOFF_BASE", 0.001)


def _deliver(lib: Library, url: str, **request: object) -> deliveries.DeliveryJobOut:
    job = deliveries.enqueue(lib, {"mode": "http", "url": url, "prompt": "a cat", **request})
    return deliveries.run_job(lib, job.id)


def test_success_posts_the_prompt_as_json_and_keeps_the_reply(
    library: Library, http_server: ScriptedServer
) -> None:
    http_server.replies = [(200, {}, b'{"images": ["abc"], "info": "done"}')]
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    pending = deliveries.enqueue(
        library, {"mode": "http", "url": http_server.url, "prompt": 'a "cat"\nü'}
    )
    assert (pending.status, pending.attempts, pending.started_at) == ("pending", 0, None)
    job = deliveries.run_job(library, pending.id)

    assert (job.status, job.attempts, job.error) == ("succeeded", 1, None)
    assert job.result == {"status_code": 200, "json": {"images": ["abc"], "info": "done"}}
    assert job.started_at is not None
    assert job.finished_at is not None
    assert job.created_at <= job.started_at <= job.finished_at
    assert job.finished_at.utcoffset() == timedelta(0)
    [request] = http_server.requests
    assert request["path"] == "/generate"
    assert json.loads(request["body"]) == {"prompt": 'a "cat"\nü', "metadata": {}}  # type: ignore[arg-type]
    assert request["headers"]["Content-Type"] == "application/json"  # type: ignore[index]
    assert deliveries.get_job(library, job.id) == job
    assert changes
    assert all(c == ChangeSet(jobs=(job.id,)) for c in changes)


def test_compose_metadata_and_headers_reach_the_runtime(
    library: Library, http_server: ScriptedServer, lora_dir: Path
) -> None:
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True)
    prompt = compose(library, {"prefix": "masterprompt"}).prompt
    job = deliveries.enqueue(
        library,
        {"mode": "http", "url": http_server.url, "headers": {"Authorization": "Bearer s3cret"}},
        default_prompt=prompt,
        metadata={"adapters": [{"name": "foo", "weight": 0.75}]},
    )
    assert job.params["headers"] == {"Authorization": "***"}  # secrets never shown
    done = deliveries.run_job(library, job.id)

    assert done.status == "succeeded"
    [request] = http_server.requests
    assert json.loads(request["body"]) == {  # type: ignore[arg-type]
        "prompt": "masterprompt <lora:foo:0.75>",
        "metadata": {"adapters": [{"name": "foo", "weight": 0.75}]},
    }
    assert request["headers"]["Authorization"] == "Bearer s3cret"  # type: ignore[index]


def test_a_client_error_fails_at_once(library: Library, http_server: ScriptedServer) -> None:
    http_server.replies = [(400, {}, b'{"error": "bad prompt"}')]

    job = _deliver(library, http_server.url, max_attempts=5)

    assert (job.status, job.attempts) == ("failed", 1)
    assert len(http_server.requests) == 1
    assert "refused the request (400)" in (job.error or "")
    assert job.result == {"status_code": 400, "json": {"error": "bad prompt"}}


def test_busy_with_retry_after_then_success(library: Library, http_server: ScriptedServer) -> None:
    http_server.replies = [(503, {"Retry-After": "0"}, b"busy"), (200, {}, b'{"ok": 1}')]

    job = _deliver(library, http_server.url)

    assert (job.status, job.attempts, job.error) == ("succeeded", 2, None)
    assert job.result == {"status_code": 200, "json": {"ok": 1}}
    assert len(http_server.requests) == 2


def test_a_server_error_fails_and_says_it_may_have_run(
    library: Library, http_server: ScriptedServer
) -> None:
    http_server.replies = [(500, {}, b"Internal Server Error")]

    job = _deliver(library, http_server.url)

    assert (job.status, job.attempts) == ("failed", 1)
    assert "500" in (job.error or "")
    assert "may have run" in (job.error or "")
    assert job.result == {"status_code": 500, "text": "Internal Server Error"}


def test_a_runtime_that_is_down_is_retried_then_fails(library: Library) -> None:
    url = f"http://127.0.0.1:{closed_port()}/generate"

    job = _deliver(library, url, max_attempts=3)

    assert (job.status, job.attempts) == ("failed", 3)
    assert f"cannot connect to {url}" in (job.error or "")
    assert job.finished_at is not None


def test_a_runtime_that_does_not_answer_in_time_is_not_retried(
    library: Library, http_server: ScriptedServer
) -> None:
    http_server.replies = [(0, {}, b"")]  # hangs until released

    job = _deliver(library, http_server.url, timeout=0.3, max_attempts=3)

    assert (job.status, job.attempts) == ("failed", 1)
    assert "did not answer in time" in (job.error or "")
    assert "may have run" in (job.error or "")


def test_cancelling_during_backoff(library: Library) -> None:
    url = f"http://127.0.0.1:{closed_port()}/generate"
    job = deliveries.enqueue(library, {"mode": "http", "url": url, "prompt": "p"})
    cancel = threading.Event()
    cancel.set()

    done = deliveries.run_job(library, job.id, cancel=cancel)

    assert (done.status, done.attempts, done.error) == ("cancelled", 1, "cancelled")


def test_a_finished_job_is_not_run_again(library: Library, http_server: ScriptedServer) -> None:
    job = _deliver(library, http_server.url)
    again = deliveries.run_job(library, job.id)
    assert again == job
    assert len(http_server.requests) == 1


def test_unfinished_jobs_are_found_for_resuming(library: Library) -> None:
    job = deliveries.enqueue(library, {"mode": "http", "url": "http://127.0.0.1:9/", "prompt": "p"})
    assert deliveries.unfinished_jobs(library) == [job.id]


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        ({"mode": "http", "prompt": "p"}, "url"),
        ({"mode": "http", "prompt": "p", "url": "file:///etc/passwd"}, "url"),
        ({"mode": "http", "prompt": "p", "url": "http://"}, "url"),
        ({"mode": "cli", "prompt": "p"}, "argv"),
        ({"mode": "ftp", "prompt": "p"}, "mode"),
        ({"mode": "http", "url": "http://127.0.0.1/"}, "prompt"),
        ({"mode": "http", "prompt": "p", "url": "http://h/", "timeout": 0}, "timeout"),
        ({"mode": "http", "prompt": "p", "url": "http://h/", "max_attempts": 0}, "max_attempts"),
    ],
)
def test_a_bad_delivery_request_records_nothing(
    library: Library, request_: dict[str, object], field: str
) -> None:
    before = db_snapshot(library)
    with pytest.raises(ValidationFailed) as caught:
        deliveries.enqueue(library, request_)
    assert field in caught.value.field_errors()
    assert db_snapshot(library) == before


def test_an_unknown_job_is_not_found(library: Library) -> None:
    with pytest.raises(NotFound):
        deliveries.get_job(library, "00000000-0000-4000-8000-000000000000")
    with pytest.raises(NotFound):
        deliveries.run_job(library, "00000000-0000-4000-8000-000000000000")


def test_backoff_grows_and_honours_retry_after() -> None:
    assert deliveries.backoff_delay(3, retry_after=2.5) == 2.5
    for attempt in range(1, 12):
        cap = min(deliveries.BACKOFF_CAP, deliveries.BACKOFF_BASE * 2 ** (attempt - 1))
        assert 0 <= deliveries.backoff_delay(attempt) <= cap
