"""The job-row writes every delivery makes, as prebuilt Core statements.

A send writes its row (``pending``); the delivery claims it (``pending`` →
``running``) and records its end. With a quick runtime these writes were most of
a job's cost. ORM-enabled
``UPDATE``s rebuilt and re-analysed the statement on every call (0.5–0.8 ms of
CPU each); these are built once, run on the unit of work's connection with bound
parameters (about 0.2 ms), and give back plain column values.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Insert, Table, Update, bindparam, case, insert, select, update

from lora_desktop.models.base import new_id
from lora_desktop.models.schemas import DeliveryJobOut
from lora_desktop.models.tables import DeliveryJob
from lora_desktop.services.library import Library
from lora_desktop.services.targets import redact

UNFINISHED = ("pending", "running")
_jobs: Table = DeliveryJob.__table__  # type: ignore[assignment]


@functools.cache
def _insert_statement() -> Insert:
    c = _jobs.c
    names = ("id", "prompt", "mode", "params", "status", "attempts", "created_at", "target_id")
    return insert(_jobs).values({n: bindparam(n, type_=c[n].type) for n in names})


@functools.cache
def _claim_statement() -> Update:
    c = _jobs.c
    return (
        update(_jobs)
        .where(c.id == bindparam("job_id"), c.status.in_(UNFINISHED))
        # The first attempt is counted here: one write fewer per job. A job whose
        # cancel was asked while it ran elsewhere is claimed only to be ended.
        .values(
            status="running",
            started_at=bindparam("started_at", type_=c.started_at.type),
            attempts=case((c.cancel_requested.is_(True), c.attempts), else_=c.attempts + 1),
        )
    )


@functools.cache
def _finish_statement() -> Update:
    c = _jobs.c
    return (
        update(_jobs)
        .where(c.id == bindparam("job_id"))
        .values(
            status=bindparam("status", type_=c.status.type),
            # No result is SQL NULL, as the ORM wrote it (not the JSON text 'null').
            result=bindparam("result", type_=JSON(none_as_null=True)),
            error=bindparam("error", type_=c.error.type),
            finished_at=bindparam("finished_at", type_=c.finished_at.type),
            attempts=bindparam("attempts", type_=c.attempts.type),
            cancel_requested=False,
        )
    )


@functools.cache
def _attempts_statement() -> Update:
    c = _jobs.c
    return (
        update(_jobs)
        .where(c.id == bindparam("job_id"))
        .values(attempts=bindparam("attempts", type_=c.attempts.type))
    )


def add_pending(
    lib: Library,
    *,
    prompt: str,
    mode: str,
    params: dict[str, Any],
    target_id: str | None,
    now: datetime,
) -> dict[str, Any]:
    """Write a new ``pending`` job created ``now``; return its row's values."""
    values: dict[str, Any] = {
        "id": new_id(),
        "prompt": prompt,
        "mode": mode,
        "params": params,
        "status": "pending",
        "attempts": 0,
        "created_at": now,
        "target_id": target_id,
    }
    with lib.db.write() as session:
        session.connection().execute(_insert_statement(), values)
    return {
        **values,
        "result": None,
        "error": None,
        "started_at": None,
        "finished_at": None,
        "cancel_requested": False,
    }


def claim(lib: Library, job_id: str, now: datetime) -> dict[str, Any] | None:
    """Mark a pending (or left running) job ``running`` as of ``now``, counting its first
    attempt; return its row's values, or None when it is not pending or running."""
    stmt = _claim_statement()
    params = {"job_id": job_id, "started_at": now}
    with lib.db.write() as session:
        connection = session.connection()
        if lib.db.engine.dialect.update_returning:  # SQLite 3.35+, PostgreSQL: one statement
            row = connection.execute(stmt.returning(*_jobs.c), params).one_or_none()
            return None if row is None else dict(row._mapping)
        if not connection.execute(stmt, params).rowcount:
            return None
        row = connection.execute(select(_jobs).where(_jobs.c.id == job_id)).one()
        return dict(row._mapping)


def save_attempts(lib: Library, job_id: str, attempts: int) -> None:
    """Record that attempt number ``attempts`` starts."""
    with lib.db.write() as session:
        session.connection().execute(
            _attempts_statement(), {"job_id": job_id, "attempts": attempts}
        )


def finish(
    lib: Library,
    job_id: str,
    *,
    status: str,
    result: dict[str, Any] | None,
    error: str | None,
    finished_at: datetime,
    attempts: int,
) -> None:
    """Record how a job ended (its cancel request, answered, is cleared)."""
    params = {
        "job_id": job_id,
        "status": status,
        "result": result,
        "error": error,
        "finished_at": finished_at,
        "attempts": attempts,
    }
    with lib.db.write() as session:
        session.connection().execute(_finish_statement(), params)


def row_out(values: Mapping[str, Any]) -> DeliveryJobOut:
    """The contract's view of a job from its row's values (secrets masked)."""
    return DeliveryJobOut(
        id=values["id"],
        prompt=values["prompt"],
        mode=values["mode"],
        params=redact(values["params"], tail=False),
        status=values["status"],
        result=values["result"],
        error=values["error"],
        attempts=values["attempts"],
        created_at=values["created_at"],
        started_at=values["started_at"],
        finished_at=values["finished_at"],
    )
