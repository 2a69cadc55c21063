"""Hashing registered adapters: one, or every pending one on a pool of threads.

A hash is stored with the file's size and modification time; it is pending again
when those change (``rescan`` records the change). A file that changes while it
is hashed is queued again (up to ``RETRIES`` times). A file found complete after
being incomplete, or changed since it was inspected, is inspected again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Text, bindparam, cast, or_, select, update
from sqlalchemy.orm import Session, selectinload

from lora_desktop.models.base import utcnow
from lora_desktop.models.schemas import AdapterOut, HashReport
from lora_desktop.models.tables import Adapter, AdapterDetails
from lora_desktop.services.adapters import load
from lora_desktop.services.convert import adapter_out
from lora_desktop.services.errors import FileProblem
from lora_desktop.services.gil_handoff import quick_gil_handoff
from lora_desktop.services.inspect.apply import apply_inspection
from lora_desktop.services.inspect.hashing import (
    FileChanged,
    HashResult,
    HashStopped,
    StopCheck,
    TableChecker,
    hash_file,
)
from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.inspection import FileInspection, inspect_file
from lora_desktop.services.inspect.metadata import trigger_candidates
from lora_desktop.services.inspect.read_ahead import read_ahead
from lora_desktop.services.inspect.table_worker import TableWorkers
from lora_desktop.services.inspect.tensor_table import check_table
from lora_desktop.services.library import ChangeSet, Library

log = logging.getLogger(__name__)

RETRIES = 3
SMALL_FILE = 4 * 1024 * 1024
"""Files up to this size are hashed by one thread at a time (see ``hash_pending``)."""
STORE_BATCH = 100
STORE_INTERVAL_S = 0.5
WRITES_PENDING_MAX = 4
"""Batches handed to the writer thread and not yet written, at most."""
"""Results are written in one transaction per this many files, or this often."""
WORKER_MIN_TABLES = 16
"""A run with at least this many safetensors files checks their tables in a helper
process (starting one costs about as much as checking this many here)."""


@contextmanager
def _table_checker(
    jobs: Sequence[tuple[str, str, int]], workers: int
) -> Iterator[TableChecker | None]:
    """The tensor-table check for a run: in helper processes (one per hashing thread)
    when the run has enough safetensors files to repay starting them
    (``table_worker``); None: in this process (``check_table``)."""
    tables = sum(1 for _id, path, _size in jobs if path.lower().endswith(".safetensors"))
    if tables < WORKER_MIN_TABLES:
        yield None
        return
    pool = TableWorkers(workers)
    pool.start()
    try:
        yield pool.check
    finally:
        pool.close()


PREFETCH_AHEAD = 8
"""The kernel is asked to read the small file this many places ahead in the queue."""


HashProgress = Callable[[int, int, int, int], None]
"""``progress(files_done, files_total, bytes_done, bytes_total)``, on the calling thread."""


def _store(lib: Library, adapter_id: str, result: HashResult) -> None:
    """Write one hash result (see ``_store_many``)."""
    _store_many(lib, [(adapter_id, result)])


def _store_many(lib: Library, results: Sequence[tuple[str, HashResult]]) -> None:
    """Write hash results in one transaction; re-inspect files that changed or were incomplete,
    and those whose header the hash pass found faulty after their metadata was indexed.

    What does not need the write lock is done first, outside it: the re-inspections
    and the trigger-word candidates (JSON inside strings) that bulk registration
    leaves to this pass. Re-inspected rows are written through the ORM
    (``apply_inspection``); the others, nearly all of them, by two executemany UPDATEs
    (through the ORM, loading and flushing each row took more processor time than the
    hashing of a small file).
    """
    ids = [adapter_id for adapter_id, _ in results]
    reinspect: dict[str, FileInspection] = {}
    derived: dict[str, tuple[str, list[dict[str, Any]], list[str]]] = {}
    with lib.db.read() as session:
        rows = session.execute(
            select(
                Adapter.id,
                Adapter.file_path,
                Adapter.incomplete,
                Adapter.file_size,
                Adapter.file_mtime,
                _METADATA_TEXT,
            )
            .outerjoin(AdapterDetails, AdapterDetails.adapter_id == Adapter.id)
            .where(Adapter.id.in_(ids))
        ).all()
    facts = {row[0]: row for row in rows}
    for adapter_id, result in results:
        row = facts.get(adapter_id)
        if row is None:
            continue
        lib.window_busy.wait_turn()  # JSON inside strings, or a whole file read again
        _id, path, was_incomplete, size, mtime, metadata_text = row
        metadata = None if metadata_text is None else json.loads(metadata_text)
        if (
            was_incomplete
            or (size, mtime) != (result.size, result.mtime)
            # Bulk registration read only the leading __metadata__; a problem in the rest
            # of the header: read as one-file registration reads it, stored as it stores it.
            or (result.header_problem is not None and metadata is not None)
        ):
            reinspect[adapter_id] = inspect_file(path)
        elif isinstance(metadata, dict):
            problems: list[str] = []
            found = [c.as_json() for c in trigger_candidates(metadata, problems)]
            derived[adapter_id] = (metadata_text, found, problems)
    with lib.db.write() as session:
        if reinspect:
            batch = (
                select(Adapter)
                .options(selectinload(Adapter.details))
                .where(Adapter.id.in_(list(reinspect)))
            )
            for adapter in session.scalars(batch):
                apply_inspection(session, adapter, reinspect[adapter.id])
                _set_hash(adapter, dict(results)[adapter.id])
        plain = [(i, r) for i, r in results if i not in reinspect and i in facts]
        if plain:
            _store_plain(session, plain, derived)


_METADATA_TEXT = cast(AdapterDetails.training_metadata, Text)
"""The stored metadata's JSON text: compared as is to tell a row re-inspected meanwhile."""
_A = Adapter.__table__.c
_HASH_UPDATE = (
    update(Adapter.__table__)  # type: ignore[arg-type]
    .where(_A.id == bindparam("row_id"))
    .values(
        sha256=bindparam("sha256"),
        sha256_weights=bindparam("sha256_weights"),
        hash_size=bindparam("size"),
        hash_mtime=bindparam("mtime"),
        file_size=bindparam("size"),
        file_mtime=bindparam("mtime"),
        file_inode=bindparam("inode"),
        hashed_at=bindparam("now", type_=_A.hashed_at.type),
        file_status=bindparam("status"),
        incomplete=bindparam("incomplete"),
        inspect_error=bindparam("error"),
        updated_at=bindparam("now", type_=_A.updated_at.type),
    )
)
_D = AdapterDetails.__table__.c
_CANDIDATES_UPDATE = (
    update(AdapterDetails.__table__)  # type: ignore[arg-type]
    .where(_D.adapter_id == bindparam("row_id"))
    .values(trigger_candidates=bindparam("candidates", type_=_D.trigger_candidates.type))
)


def _store_plain(
    session: Session,
    results: Sequence[tuple[str, HashResult]],
    derived: dict[str, tuple[str, list[dict[str, Any]], list[str]]],
) -> None:
    """The hash (and the derived trigger-word candidates) of rows not re-inspected, as
    ``_set_hash`` writes them (and the candidates, with their problems noted), from
    the rows as they are now."""
    ids = [adapter_id for adapter_id, _ in results]
    now = {
        row[0]: row
        for row in session.execute(
            select(
                Adapter.id,
                Adapter.file_status,
                Adapter.inspect_error,
                _METADATA_TEXT,
                AdapterDetails.trigger_candidates,
            )
            .outerjoin(AdapterDetails, AdapterDetails.adapter_id == Adapter.id)
            .where(Adapter.id.in_(ids))
            # A server database: the rows stay as read until written (SQLite's write
            # transactions are exclusive already; it ignores this).
            .with_for_update(of=Adapter.__table__)
        )
    }
    hashes: list[dict[str, Any]] = []
    candidates: list[dict[str, Any]] = []
    stamp = utcnow()
    for adapter_id, result in results:
        row = now.get(adapter_id)
        if row is None:
            continue  # deleted meanwhile
        _id, status, error, metadata_text, stored = row
        if adapter_id in derived and derived[adapter_id][0] == metadata_text:
            _text, found, problems = derived[adapter_id]  # not re-inspected meanwhile
            if found != (stored or []):
                candidates.append({"row_id": adapter_id, "candidates": found})
            new = [p for p in problems if p not in (error or "")]
            if new:
                error = "; ".join([*filter(None, [error]), *new])[:2000]
        problem = result.incomplete or result.header_problem
        if problem and problem not in (error or ""):  # beside the others
            error = "; ".join(filter(None, [error, problem]))[:2000]
        hashes.append(
            {
                "row_id": adapter_id,
                "sha256": result.sha256,
                "sha256_weights": result.sha256_weights,
                "size": result.size,
                "mtime": result.mtime,
                "inode": result.inode,
                "now": stamp,
                # the watcher's "changed" lasts until re-hashed
                "status": "ok" if status == "changed" else status,
                "incomplete": result.incomplete is not None,
                "error": error,
            }
        )
    if hashes:
        session.execute(_HASH_UPDATE, hashes)
    if candidates:
        session.execute(_CANDIDATES_UPDATE, candidates)


def _set_hash(adapter: Adapter, result: HashResult) -> None:
    adapter.sha256 = result.sha256
    adapter.sha256_weights = result.sha256_weights
    adapter.hash_size, adapter.hash_mtime = result.size, result.mtime
    adapter.file_size, adapter.file_mtime = result.size, result.mtime
    adapter.file_inode = result.inode
    adapter.hashed_at = utcnow()
    if adapter.file_status == "changed":  # the watcher's "changed" lasts until re-hashed
        adapter.file_status = "ok"
    adapter.incomplete = result.incomplete is not None
    problem = result.incomplete or result.header_problem
    if problem and problem not in (adapter.inspect_error or ""):  # beside the others
        adapter.inspect_error = "; ".join(filter(None, [adapter.inspect_error, problem]))[:2000]
    adapter.updated_at = utcnow()


def hash_adapter(
    lib: Library,
    ref: str,
    *,
    bytes_done: Callable[[int], None] | None = None,
    should_stop: StopCheck | None = None,
    unless_moved_here: bool = False,
) -> AdapterOut:
    """Hash one adapter's file now and store the result.

    ``unless_moved_here`` (the watcher's re-hash of a changed file): store nothing
    when the file now at the adapter's path is another live adapter's file, moved
    over it (same inode, size and modification time as that adapter last hashed);
    the watcher relinks that one and marks this one missing, its hash kept.

    Raises:
        NotFound: no such adapter.
        FileProblem: the file can't be read, kept changing while it was hashed, or
            (``unless_moved_here``) is another adapter's file.
    """
    with lib.db.read() as session:
        adapter = load(session, ref)
        adapter_id, path = adapter.id, adapter.file_path
    for _attempt in range(RETRIES):
        try:
            result = hash_file(path, bytes_done=bytes_done, should_stop=should_stop)
            break
        except FileChanged:
            continue
        except HeaderError as exc:
            raise FileProblem(f"{path}: {exc.message}") from None
    else:
        raise FileProblem(f"{path} kept changing while it was hashed; try again later")
    if unless_moved_here and (other := _hashed_elsewhere(lib, adapter_id, result)):
        raise FileProblem(f"{path} now holds the file of adapter {other} (moved over it)")
    _store(lib, adapter_id, result)
    with lib.db.read() as session:
        out = adapter_out(load(session, adapter_id))
    lib.publish(ChangeSet(updated=(adapter_id,)))
    return out


def _hashed_elsewhere(lib: Library, adapter_id: str, result: HashResult) -> str | None:
    """Another live adapter whose last hash was of this very file (inode, size, mtime)
    and whose own path no longer leads to it: the file was moved here. (A hard link,
    both paths still there, is not a move.)"""
    with lib.db.read() as session:
        rows = session.execute(
            select(Adapter.id, Adapter.file_path).where(
                Adapter.deleted_at.is_(None),
                Adapter.id != adapter_id,
                Adapter.file_inode == result.inode,
                Adapter.hash_size == result.size,
                Adapter.hash_mtime == result.mtime,
            )
        ).all()
    for other_id, other_path in rows:
        try:
            still_there = os.stat(other_path).st_ino == result.inode
        except OSError:
            still_there = False
        if not still_there:
            return str(other_id)
    return None


def pending(lib: Library) -> list[tuple[str, str, int]]:
    """(id, path, size) of live adapters whose hash is missing or stale, smallest first."""
    with lib.db.read() as session:
        rows = session.execute(
            select(Adapter.id, Adapter.file_path, Adapter.file_size)
            .where(
                Adapter.deleted_at.is_(None),
                Adapter.file_status.in_(("ok", "changed")),
                or_(
                    Adapter.hashed_at.is_(None),
                    Adapter.hash_size.is_distinct_from(Adapter.file_size),
                    Adapter.hash_mtime.is_distinct_from(Adapter.file_mtime),
                ),
            )
            .order_by(Adapter.file_size, Adapter.id)
        ).all()
    return [(i, p, s or 0) for i, p, s in rows]


def hash_pending(
    lib: Library,
    *,
    progress: HashProgress | None = None,
    should_stop: StopCheck | None = None,
    workers: int = 2,
) -> HashReport:
    """Hash every pending adapter on ``workers`` threads (1 for a spinning disk, 2 for SSD).

    Results are stored in batches (one transaction per ``STORE_BATCH`` files or
    ``STORE_INTERVAL_S``) and broadcast in one change set at the end, once the run is
    over (``Library.hashing`` false again). ``should_stop`` cancels: files being hashed
    stop at their next read, nothing partial is stored.
    """
    updated: list[str] = []
    try:
        with lib.hash_run():
            return _hash_pending(lib, updated, progress, should_stop, workers)
    finally:
        if updated:
            lib.publish(ChangeSet(updated=tuple(updated)))


def _hash_pending(
    lib: Library,
    updated: list[str],
    progress: HashProgress | None,
    should_stop: StopCheck | None,
    workers: int,
) -> HashReport:
    """``hash_pending``'s run; the ids of the rows written are added to ``updated``."""
    jobs = pending(lib)
    total_bytes = sum(size for _, _, size in jobs)
    done_bytes = 0
    lock = threading.Lock()
    stop = threading.Event()

    def stopping() -> bool:
        if should_stop is not None and should_stop():
            stop.set()
        return stop.is_set()

    def count(n: int) -> None:
        nonlocal done_bytes
        with lock:
            done_bytes += n

    hashed = incomplete = requeued = files_done = 0
    failed: list[str] = []
    unwritten: list[tuple[str, HashResult]] = []
    written_at = time.monotonic()

    writes: deque[tuple[Future[None], list[str]]] = deque()

    def write_results() -> None:
        # On the writer thread: the loop goes on handing out files meanwhile (a batch's
        # transaction takes tens of milliseconds; the hashing threads would wait).
        nonlocal written_at
        if unwritten:
            while len(writes) >= WRITES_PENDING_MAX:  # writing slower than hashing: wait
                settle_write()
            batch = list(unwritten)
            unwritten.clear()
            writes.append((writer.submit(_store_many, lib, batch), [i for i, _ in batch]))
        written_at = time.monotonic()

    def settle_write() -> None:
        """Wait for the oldest write; its rows are then announced (raises its error)."""
        future, ids = writes.popleft()
        future.result()
        updated.extend(ids)

    def settle_finished_writes() -> None:
        while writes and writes[0][0].done():
            settle_write()

    # Large files are hashed from the large end of the queue by one worker (all but
    # one when tables are checked here), small ones from the small end by the others
    # (rows fill in early). A large file is mostly hashing and reading, both without
    # the GIL, and read with O_DIRECT when not cached; a small one is mostly its table
    # check: in a helper process (the usual case), or here holding the GIL, so then
    # only one worker takes small files. The two kinds overlap on the two cores.
    queue = deque(jobs)
    retry: list[tuple[str, str, int]] = []  # files that changed: last, they may still be written
    attempts: dict[str, int] = {}
    slots = max(1, workers)
    with (
        quick_gil_handoff(),
        _table_checker(jobs, slots) as table_check,
        ThreadPoolExecutor(max_workers=slots, thread_name_prefix="hash") as pool,
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="hash-store") as writer,
    ):
        running: dict[Future[HashResult], tuple[tuple[str, str, int], bool]] = {}
        # One worker on a spinning disk: it takes the small files first, like the others.
        large_end = min(1, slots - 1) if table_check is not None else slots - 1

        def next_job() -> tuple[tuple[str, str, int], bool] | None:
            if not queue and retry and not running:
                queue.extend(retry)
                retry.clear()
            if not queue:
                return None
            on_small = sum(1 for _, from_small_end in running.values() if from_small_end)
            on_large = len(running) - on_small
            if on_large < large_end and queue[-1][2] > SMALL_FILE:
                return queue.pop(), False
            if table_check is not None or on_small == 0:
                if len(queue) > PREFETCH_AHEAD and queue[PREFETCH_AHEAD][2] <= SMALL_FILE:
                    read_ahead(queue[PREFETCH_AHEAD][1])
                return queue.popleft(), True
            return None

        def top_up() -> None:
            while len(running) < slots and not stopping() and (taken := next_job()):
                job, from_small_end = taken
                future = pool.submit(
                    hash_file,
                    job[1],
                    bytes_done=count,
                    should_stop=stopping,
                    table_check=table_check or check_table,
                    direct=slots > 1,  # not on a spinning disk: its read-ahead is better
                )
                running[future] = (job, from_small_end)

        def _run_loop() -> None:
            nonlocal hashed, incomplete, requeued, files_done
            while queue or retry or running:
                top_up()
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                done = [(future, running.pop(future)[0]) for future in finished]
                top_up()  # the next files start before these results are written
                for future, (adapter_id, path, _size) in done:
                    try:
                        result = future.result()
                    except HashStopped:
                        continue
                    except FileChanged:
                        attempts[adapter_id] = attempts.get(adapter_id, 0) + 1
                        if attempts[adapter_id] < RETRIES:
                            requeued += 1
                            retry.append((adapter_id, path, _size))
                        else:
                            failed.append(f"{path}: kept changing while it was hashed")
                        continue
                    except (HeaderError, OSError) as exc:
                        failed.append(f"{path}: {getattr(exc, 'message', None) or exc}")
                        files_done += 1
                        continue
                    unwritten.append((adapter_id, result))
                    files_done += 1
                    hashed += result.incomplete is None
                    incomplete += result.incomplete is not None
                    if progress is not None:
                        with lock:
                            seen = done_bytes
                        progress(files_done, len(jobs), seen, total_bytes)
                # One transaction per batch: a commit per small file cost more than its hashing.
                if (
                    len(unwritten) >= STORE_BATCH
                    or time.monotonic() - written_at >= STORE_INTERVAL_S
                ):
                    write_results()
                settle_finished_writes()  # a failed write ends the run now
            write_results()
            while writes:
                settle_write()

        try:
            _run_loop()
        except BaseException:
            stop.set()  # files being hashed stop at their next read
            while writes:  # the writes already handed over end; those that did are announced
                with contextlib.suppress(Exception):
                    settle_write()
            raise

    log.info("hashed %d files (%d incomplete, %d failed)", hashed, incomplete, len(failed))
    return HashReport(
        hashed=hashed,
        incomplete=incomplete,
        requeued=requeued,
        failed=failed,
        bytes=done_bytes,
        stopped=stop.is_set(),
    )


__all__ = ["hash_adapter", "hash_pending", "pending"]
