"""Delivery jobs: a row first (pending), then the work, then its outcome.

``run_job`` may be called on any thread; it claims the job so two workers
never run the same one. Transient failures are retried with exponential
backoff and jitter, up to the request's ``max_attempts``.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select, update

from lora_desktop.models.base import utcnow
from lora_desktop.models.schemas import DeliveryJobOut, DeliveryRequest
from lora_desktop.models.tables import DeliveryJob
from lora_desktop.services.convert import validate
from lora_desktop.services.errors import NotFound, ValidationFailed
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.services.runners import Outcome
from lora_desktop.services.runners.a1111 import run_a1111
from lora_desktop.services.runners.cli import run_cli
from lora_desktop.services.runners.comfyui import run_comfyui
from lora_desktop.services.runners.http import run_http

log = logging.getLogger(__name__)

Runner = Callable[[str, dict[str, Any], threading.Event], Outcome]
RUNNERS: dict[str, Runner] = {
    "http": run_http,
    "cli": run_cli,
    "a1111": run_a1111,
    "comfyui": run_comfyui,
}
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0
JOBS_LIMIT_MAX = 1000


def job_out(job: DeliveryJob) -> DeliveryJobOut:
    """Return the contract's view of a job; secrets in headers are masked."""
    params = dict(job.params)
    if params.get("headers"):
        params["headers"] = dict.fromkeys(params["headers"], "***")
    return DeliveryJobOut(
        id=job.id,
        prompt=job.prompt,
        mode=job.mode,
        params=params,
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


def enqueue(
    lib: Library,
    request: DeliveryRequest | dict[str, object],
    *,
    default_prompt: str | None = None,
    metadata: dict[str, Any] | None = None,
) -> DeliveryJobOut:
    """Record a pending job; its prompt is the request's, else ``default_prompt``.

    Raises:
        ValidationFailed: a bad request (no URL, no program, no prompt).
    """
    req = validate(DeliveryRequest, request)
    prompt = req.prompt if req.prompt is not None else default_prompt
    if prompt is None:
        raise ValidationFailed.field("prompt", "give a prompt to deliver")
    params = _params(req)
    if metadata:
        params["metadata"] = metadata
    with lib.db.write() as session:
        job = DeliveryJob(prompt=prompt, mode=req.mode, params=params, status="pending")
        session.add(job)
        session.flush()
        out = job_out(job)
    log.info("delivery.enqueued id=%s mode=%s", out.id, out.mode)
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


def _claim(lib: Library, job_id: str) -> DeliveryJob | None:
    with lib.db.write() as session:
        claimed = session.execute(
            update(DeliveryJob)
            .where(DeliveryJob.id == job_id, DeliveryJob.status.in_(("pending", "running")))
            .values(status="running", started_at=utcnow())
        ).rowcount  # type: ignore[attr-defined]
        if not claimed:
            return None
        return session.get(DeliveryJob, job_id)


def _record(lib: Library, job_id: str, **values: Any) -> DeliveryJobOut:
    with lib.db.write() as session:
        job = session.get(DeliveryJob, job_id)
        assert job is not None
        for key, value in values.items():
            setattr(job, key, value)
        session.flush()
        out = job_out(job)
    lib.publish(ChangeSet(jobs=(job_id,)))
    return out


def backoff_delay(attempt: int, retry_after: float | None = None) -> float:
    """Seconds to wait before attempt ``attempt + 1``: exponential with full jitter."""
    if retry_after is not None:
        return retry_after
    return random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1)))


def run_job(lib: Library, job_id: str, *, cancel: threading.Event | None = None) -> DeliveryJobOut:
    """Run a pending job to its end, retrying transient failures; return its final state.

    Raises:
        NotFound: no such job.
    """
    job = _claim(lib, job_id)
    if job is None:
        return get_job(lib, job_id)
    lib.publish(ChangeSet(jobs=(job_id,)))
    log.info("delivery.started id=%s mode=%s", job_id, job.mode)
    runner = RUNNERS.get(job.mode)
    max_attempts = int(job.params.get("max_attempts", 3))
    attempts = job.attempts
    outcome = Outcome(False, error=f"unknown delivery mode {job.mode!r}")
    stop = cancel or threading.Event()
    while runner is not None:
        attempts += 1
        _record(lib, job_id, attempts=attempts)
        outcome = runner(job.prompt, dict(job.params), stop)
        if outcome.succeeded or not outcome.retryable or attempts >= max_attempts:
            break
        if stop.wait(backoff_delay(attempts, outcome.retry_after)):
            outcome = Outcome(False, error="cancelled")
            break
    status = "succeeded" if outcome.succeeded else "failed"
    if outcome.error == "cancelled":
        status = "cancelled"
    out = _record(
        lib,
        job_id,
        status=status,
        result=outcome.result or None,
        error=outcome.error,
        finished_at=utcnow(),
    )
    event = "delivery.completed" if outcome.succeeded else "delivery.failed"
    log.info("%s id=%s attempts=%d", event, job_id, attempts)
    return out


def unfinished_jobs(lib: Library) -> list[str]:
    """Ids of jobs left pending or running (by a previous run that closed or crashed)."""
    with lib.db.read() as session:
        return list(
            session.scalars(
                select(DeliveryJob.id)
                .where(DeliveryJob.status.in_(("pending", "running")))
                .order_by(DeliveryJob.created_at)
            )
        )
