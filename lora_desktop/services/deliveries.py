"""Delivery jobs: a row first (pending), then the work, then its outcome.

``run_job`` may be called on any thread; it claims the job so two workers
never run the same one. Transient failures are retried with exponential
backoff and jitter, up to the job's ``max_attempts``; failures that may have
reached the runtime wait for ``retry_job``. ``cancel_job`` ends a pending job at
once and signals a running one (its CLI process group is killed).

Log events (``delivery.enqueued``, ``.started``, ``.completed``, ``.failed``,
``.cancelled``) carry the job id and duration; see :mod:`.delivery_log`.
"""

from __future__ import annotations

import importlib
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable
from os.path import basename
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from lora_desktop.models.base import utcnow
from lora_desktop.models.schemas import DeliveryJobOut, DeliveryRequest
from lora_desktop.models.tables import Adapter, DeliveryJob
from lora_desktop.services import job_rows
from lora_desktop.services.adapters import compose_order
from lora_desktop.services.cancel_watch import watch_for
from lora_desktop.services.convert import validate
from lora_desktop.services.delivery_log import event
from lora_desktop.services.errors import Conflict, DomainError, NotFound, ValidationFailed
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.services.runners import Outcome
from lora_desktop.services.targets import redact, scrub, target_settings

log = logging.getLogger(__name__)

Runner = Callable[[str, dict[str, Any], threading.Event], Outcome]
# mode -> (module, function). The runners (and httpx under them) are imported by the
# first job that needs one, on its worker thread: listing or enqueueing jobs never
# pays for them, and the window's GUI thread never imports them.
RUNNERS: dict[str, tuple[str, str]] = {
    "http": ("lora_desktop.services.runners.http", "run_http"),
    "cli": ("lora_desktop.services.runners.cli", "run_cli"),
    "a1111": ("lora_desktop.services.runners.a1111", "run_a1111"),
    "comfyui": ("lora_desktop.services.runners.comfyui", "run_comfyui"),
}
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
JOBS_LIMIT_MAX = 1000
UNFINISHED = job_rows.UNFINISHED
SEND_INTERVAL = 1.0
"""The same prompt to the same target within this many seconds is refused (a double click)."""
CANCEL_POLL = 0.5
"""How often a running job looks for a cancel asked by another process."""

_running: dict[str, threading.Event] = {}
_running_lock = threading.Lock()
_last_send: dict[tuple[int, str, int], float] = {}


def runner_for(mode: str) -> Runner | None:
    """The runner of a delivery ``mode`` (its module imported now), or None if unknown."""
    where = RUNNERS.get(mode)
    if where is None:
        return None
    runner: Runner = getattr(importlib.import_module(where[0]), where[1])
    return runner


class TooSoon(DomainError):
    """The same send was just made; the artist probably clicked twice."""

    slug = "rate-limited"
    title = "Already sent"


def job_out(job: DeliveryJob) -> DeliveryJobOut:
    """Return the contract's view of a job; secrets in headers and URLs are masked."""
    return DeliveryJobOut(
        id=job.id,
        prompt=job.prompt,
        mode=job.mode,
        params=redact(job.params, tail=False),
        status=job.status,
        result=job.result,
        error=job.error,
        attempts=job.attempts,
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
    )


def _params(request: DeliveryRequest) -> dict[str, Any]:
    common = {"timeout": request.timeout, "max_attempts": request.max_attempts}
    if request.mode == "http":
        url = request.url or ""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationFailed.field("url", "give an http:// or https:// URL")
        return {"url": url, "headers": dict(request.headers), **common}
    if not request.argv:
        raise ValidationFailed.field("argv", "give the program to run and its arguments")
    return {"argv": list(request.argv), "cwd": request.cwd, **common}


def active_adapters(lib: Library) -> list[dict[str, Any]]:
    """The live, active adapters in compose order: name, weight, sha256 and file name."""
    with lib.db.read() as session:
        rows = session.execute(
            select(Adapter.name, Adapter.weight, Adapter.sha256, Adapter.file_path)
            .where(Adapter.deleted_at.is_(None), Adapter.active.is_(True))
            .order_by(*compose_order())  # type: ignore[arg-type]
        )
        return [
            {"name": r.name, "weight": r.weight, "sha256": r.sha256, "file": basename(r.file_path)}
            for r in rows
        ]


def _target_params(
    lib: Library, target: str, adapters: list[dict[str, Any]] | None
) -> tuple[str, str, dict[str, Any]]:
    target_id, name, mode, config = target_settings(lib, target)
    used = active_adapters(lib) if adapters is None else adapters
    params: dict[str, Any] = {**config, "target": name}
    params["metadata"] = {
        "adapters": [{k: a.get(k) for k in ("name", "weight", "sha256")} for a in used]
    }
    if mode == "comfyui":
        # The app picks the prompt_id so a retry can ask ComfyUI whether it already ran.
        params["prompt_id"] = str(uuid.uuid4())
        params["loras"] = [
            {"lora_name": a.get("file") or f"{a['name']}.safetensors", "weight": a["weight"]}
            for a in used
        ]
    return target_id, mode, params


def _rate_limit(lib: Library, target_id: str, prompt: str) -> None:
    now = time.monotonic()
    key = (id(lib.db), target_id, hash(prompt))
    with _running_lock:
        last = _last_send.get(key)
        if last is not None and now - last < SEND_INTERVAL:
            raise TooSoon(
                f"this prompt was sent to this target {now - last:.1f} s ago; "
                f"wait {SEND_INTERVAL:g} s before sending it again"
            )
        if len(_last_send) > 1000:
            _last_send.clear()
        _last_send[key] = now


def enqueue(
    lib: Library,
    request: DeliveryRequest | dict[str, object] | None = None,
    *,
    target: str | None = None,
    prompt: str | None = None,
    default_prompt: str | None = None,
    metadata: dict[str, Any] | None = None,
    adapters: list[dict[str, Any]] | None = None,
) -> DeliveryJobOut:
    """Record a pending job, from a ``request`` or to a stored ``target`` (id or name).

    The prompt is ``prompt``, else the request's, else ``default_prompt``, else (for
    a target) the composed one. A target's job copies its settings and lists the
    ``adapters`` (default: the active ones) in ``params.metadata``. Sending the
    same prompt to the same target twice within ``SEND_INTERVAL`` is refused.

    Raises:
        ValidationFailed: a bad request (no URL, no program, no prompt), or both or
            neither of ``request`` and ``target``.
        NotFound: no such target.
        TooSoon: the same send was just made.
    """
    if (request is None) == (target is None):
        raise ValidationFailed.field("target", "give either a delivery request or a target")
    target_id: str | None = None
    if request is not None:
        req = validate(DeliveryRequest, request)
        text = prompt if prompt is not None else req.prompt
        params = _params(req)
        mode: str = req.mode
        if metadata:
            params["metadata"] = metadata
    else:
        assert target is not None
        target_id, mode, params = _target_params(lib, target, adapters)
        text = prompt
        if metadata:
            params["metadata"] = metadata
    text = text if text is not None else default_prompt
    if text is None and target_id is not None:
        from lora_desktop.services.compose import compose  # compose imports this module

        text = compose(lib).prompt
    if text is None:
        raise ValidationFailed.field("prompt", "give a prompt to deliver")
    if target_id is not None:
        _rate_limit(lib, target_id, text)
    row = job_rows.add_pending(
        lib, prompt=text, mode=mode, params=params, target_id=target_id, now=utcnow()
    )
    out = job_rows.row_out(row)
    event("delivery.enqueued", out.id, mode=out.mode, target=params.get("target"))
    lib.publish(ChangeSet(jobs=(out.id,)))
    return out


def get_job(lib: Library, job_id: str) -> DeliveryJobOut:
    """Return one job.

    Raises:
        NotFound: no such job.
    """
    with lib.db.read() as session:
        job = session.get(DeliveryJob, job_id)
        if job is None:
            raise NotFound(f"no delivery job with id {job_id!r}")
        return job_out(job)


def list_jobs(lib: Library, *, limit: int = 50, status: str | None = None) -> list[DeliveryJobOut]:
    """Return the newest jobs first.

    Raises:
        ValidationFailed: a limit out of range.
    """
    if not 0 < limit <= JOBS_LIMIT_MAX:
        raise ValidationFailed.field("limit", f"must be between 1 and {JOBS_LIMIT_MAX}")
    stmt = select(DeliveryJob).order_by(DeliveryJob.created_at.desc(), DeliveryJob.id).limit(limit)
    if status:
        stmt = stmt.where(DeliveryJob.status == status)
    with lib.db.read() as session:
        return [job_out(j) for j in session.scalars(stmt)]


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential with full jitter."""
    if retry_after is not None:
        return retry_after
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def run_job(lib: Library, job_id: str, *, cancel: threading.Event | None = None) -> DeliveryJobOut:
    """Run a pending job to its end, retrying transient failures; return its final state.

    A job already running in this process, or finished, is returned as it is.

    Raises:
        NotFound: no such job.
    """
    stop = cancel or threading.Event()
    with _running_lock:
        if job_id in _running:
            busy = True
        else:
            busy = False
            _running[job_id] = stop
    if busy:
        return get_job(lib, job_id)
    try:
        return _run(lib, job_id, stop)
    finally:
        with _running_lock:
            _running.pop(job_id, None)


def _run(lib: Library, job_id: str, stop: threading.Event) -> DeliveryJobOut:
    job = job_rows.claim(lib, job_id, utcnow())
    if job is None:
        return get_job(lib, job_id)
    cancel_asked = bool(job["cancel_requested"])
    if cancel_asked:  # asked while it ran in a process that then ended
        stop.set()
    lib.publish(ChangeSet(jobs=(job_id,)))
    started = time.monotonic()
    mode: str = job["mode"]
    params: dict[str, Any] = job["params"]
    target = params.get("target")
    event("delivery.started", job_id, mode=mode, target=target, attempts=job["attempts"])
    runner = runner_for(mode)
    max_attempts = int(params.get("max_attempts", 3))
    attempts: int = job["attempts"]  # already counting the first attempt (see claim)
    first = attempts - 1
    outcome = Outcome(False, error=f"unknown delivery mode {mode!r}")
    if cancel_asked:
        outcome = Outcome(False, error="cancelled")
    # A cancel asked by another process reaches ``stop`` through the library's one
    # shared watcher thread (no thread of its own per job).
    watch = watch_for(lib.db, CANCEL_POLL)
    watch.add(job_id, stop)
    try:
        while runner is not None and not cancel_asked:
            if attempts - first > 1:
                job_rows.save_attempts(lib, job_id, attempts)
                lib.publish(ChangeSet(jobs=(job_id,)))
            outcome = runner(job["prompt"], dict(params), stop)
            if outcome.succeeded or not outcome.retryable or attempts - first >= max_attempts:
                break
            if stop.wait(backoff_delay(attempts - first, outcome.retry_after)):
                outcome = Outcome(False, outcome.result, "cancelled")
                break
            attempts += 1
    finally:
        watch.remove(job_id)
    status = "succeeded" if outcome.succeeded else "failed"
    if outcome.error == "cancelled":
        status = "cancelled"
    error = scrub(outcome.error) if outcome.error else None
    final: dict[str, Any] = {
        "status": status,
        "result": outcome.result or None,
        "error": error,
        "finished_at": utcnow(),
        "attempts": attempts,
    }
    # One UPDATE, nothing read back: the claimed row (ours while it runs) plus these
    # values is the job as it now stands.
    job_rows.finish(lib, job_id, **final)
    out = job_rows.row_out({**job, **final})
    lib.publish(ChangeSet(jobs=(job_id,)))
    name = {"succeeded": "delivery.completed", "cancelled": "delivery.cancelled"}
    event(
        name.get(status, "delivery.failed"),
        job_id,
        mode=mode,
        target=target,
        attempts=attempts,
        duration_ms=round((time.monotonic() - started) * 1000, 1),
        error=error,
    )
    return out


def retry_job(lib: Library, job_id: str) -> DeliveryJobOut:
    """Put a failed or cancelled job back to pending (the artist pressed Retry).

    Its attempts are kept; the next ``run_job`` gets ``max_attempts`` more. A ComfyUI
    job keeps its ``prompt_id``, so the runner first asks whether it already ran.

    Raises:
        NotFound: no such job.
        Conflict: the job is pending, running or succeeded.
    """
    with lib.db.write() as session:
        changed = session.execute(
            update(DeliveryJob)
            .where(DeliveryJob.id == job_id, DeliveryJob.status.in_(("failed", "cancelled")))
            .values(status="pending", error=None, finished_at=None, cancel_requested=False)
        ).rowcount  # type: ignore[attr-defined]
    if not changed:
        job = get_job(lib, job_id)
        raise Conflict(f"job {job_id} is {job.status}: only a failed or cancelled job is retried")
    event("delivery.retried", job_id)
    lib.publish(ChangeSet(jobs=(job_id,)))
    return get_job(lib, job_id)


def cancel_job(lib: Library, job_id: str) -> DeliveryJobOut:
    """Cancel a job: a pending one at once; a running one is signalled (its attempt stops,
    a CLI program's process group is killed) and ends ``cancelled`` shortly after.

    A finished job is returned unchanged.

    Raises:
        NotFound: no such job.
    """
    now = utcnow()
    with lib.db.write() as session:
        pending = session.execute(
            update(DeliveryJob)
            .where(DeliveryJob.id == job_id, DeliveryJob.status == "pending")
            .values(status="cancelled", error="cancelled", finished_at=now)
        ).rowcount  # type: ignore[attr-defined]
        if not pending:
            session.execute(
                update(DeliveryJob)
                .where(DeliveryJob.id == job_id, DeliveryJob.status == "running")
                .values(cancel_requested=True)
            )
    with _running_lock:
        signal = _running.get(job_id)
    if signal is not None:
        signal.set()
    if pending:
        event("delivery.cancelled", job_id)
    lib.publish(ChangeSet(jobs=(job_id,)))
    return get_job(lib, job_id)


def unfinished_jobs(lib: Library) -> list[str]:
    """Ids of jobs left pending or running (by a previous run that closed or crashed)."""
    with lib.db.read() as session:
        return list(
            session.scalars(
                select(DeliveryJob.id)
                .where(DeliveryJob.status.in_(UNFINISHED))
                .order_by(DeliveryJob.created_at)
            )
        )
