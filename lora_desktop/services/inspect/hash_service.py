"""Hashing registered adapters: one, or every pending one on a pool of threads.

A hash is stored with the file's size and modification time; it is pending again
when those change (``rescan`` records the change). A file that changes while it
is hashed is queued again (up to ``RETRIES`` times). A file found complete after
being incomplete, or changed since it was inspected, is inspected again. The results
are written by ``hash_store``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager

from sqlalchemy import or_, select

from lora_desktop.models.schemas import AdapterOut, HashReport
from lora_desktop.models.tables import Adapter
from lora_desktop.services.adapters import load
from lora_desktop.services.convert import adapter_out
from lora_desktop.services.errors import FileProblem
from lora_desktop.services.gil_handoff import quick_gil_handoff
from lora_desktop.services.inspect.hash_store import store_results
from lora_desktop.services.inspect.hashing import (
    FileChanged,
    HashResult,
    HashStopped,
    StopCheck,
    TableChecker,
    hash_file,
)
from lora_desktop.services.inspect.header_json import HeaderError
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
"""Results are written in one transaction per this many files, or this often."""
WRITES_PENDING_MAX = 4
"""Batches handed to the writer thread and not yet written, at most."""
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
    store_results(lib, [(adapter_id, result)])
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
            writes.append((writer.submit(store_results, lib, batch), [i for i, _ in batch]))
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
