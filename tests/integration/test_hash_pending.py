"""The background hash pass over a real library: batches, changes during the pass, cancel."""

from __future__ import annotations

import hashlib
import os
import sys
import threading
from pathlib import Path

import pytest

from lora_desktop.services import adapters, gil_handoff, registration
from lora_desktop.services.inspect import hash_service, hash_store
from lora_desktop.services.inspect.hash_service import hash_pending, pending
from lora_desktop.services.inspect.read_ahead import read_ahead
from lora_desktop.services.library import ChangeSet, Library
from tests.inspect_files import header_bytes, kohya_metadata, write_safetensors


def _library_of(library: Library, folder: Path, count: int) -> list[Path]:
    paths = [
        write_safetensors(folder / f"l{i}.safetensors", kohya_metadata(ss_output_name=f"l{i}"))
        for i in range(count)
    ]
    registration.register_many(library, [folder])
    return paths


def test_every_file_is_stored_across_batches_and_broadcast_once(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hash_service, "STORE_BATCH", 2)
    paths = _library_of(library, lora_dir, 5)
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    report = hash_pending(library, workers=2)

    assert (report.hashed, report.failed, report.stopped) == (5, [], False)
    for path in paths:
        shown = adapters.get(library, path.stem)
        assert shown.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
        assert [c.word for c in shown.trigger_candidates][:1] == ["ohwx woman"]
    assert [len(c.updated) for c in changes] == [5]
    assert pending(library) == []


def test_files_go_on_being_hashed_while_a_batch_is_written(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A batch's transaction is written beside the run: the hashing threads are not
    # left waiting for it. Here the first write waits until every file is hashed,
    # which never happens if writing holds up handing out the next files.
    monkeypatch.setattr(hash_service, "STORE_BATCH", 2)
    _library_of(library, lora_dir, 6)
    all_hashed = threading.Event()
    hashed: list[str] = []
    real_hash, real_store = hash_service.hash_file, hash_service.store_results

    def counting_hash(path: str, **options: object) -> hash_service.HashResult:
        result = real_hash(path, **options)  # type: ignore[arg-type]
        hashed.append(path)
        if len(hashed) == 6:
            all_hashed.set()
        return result

    waited: list[bool] = []

    def slow_store(lib: Library, results: list[tuple[str, hash_service.HashResult]]) -> None:
        if not waited:
            waited.append(all_hashed.wait(timeout=20))
        real_store(lib, results)

    monkeypatch.setattr(hash_service, "hash_file", counting_hash)
    monkeypatch.setattr(hash_service, "store_results", slow_store)

    report = hash_pending(library, workers=2)

    assert waited == [True]
    assert (report.hashed, report.failed) == (6, [])
    assert pending(library) == []


def test_a_file_touched_while_it_is_hashed_is_hashed_again(
    library: Library, lora_dir: Path
) -> None:
    (path,) = _library_of(library, lora_dir, 1)
    touched: list[bool] = []

    def touch_once() -> bool:  # the hashing thread asks before each read of the open file
        if not touched and threading.current_thread().name.startswith("hash"):
            touched.append(True)
            os.utime(path, ns=(1_000_000_000, 1_000_000_000))
        return False

    report = hash_pending(library, should_stop=touch_once, workers=1)

    assert (report.hashed, report.requeued, report.failed) == (1, 1, [])
    shown = adapters.get(library, path.stem)
    assert shown.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert pending(library) == []  # stored for the file's new modification time


def test_cancel_keeps_what_was_hashed_and_leaves_the_rest_pending(
    library: Library, lora_dir: Path
) -> None:
    _library_of(library, lora_dir, 6)
    results: list[int] = []

    report = hash_pending(
        library,
        progress=lambda done, _total, _b, _bt: results.append(done),
        should_stop=lambda: bool(results),
        workers=1,
    )

    assert report.stopped
    assert report.hashed == 1
    hashed = [r for r in adapters.list_rows(library) if r.sha256 is not None]
    assert len(hashed) == 1
    assert len(pending(library)) == 5
    assert hash_pending(library).hashed == 5  # the next run picks up the rest


def test_small_files_take_one_thread_while_a_large_one_is_hashed_beside_them(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    small = _library_of(library, lora_dir, 6)
    large = write_safetensors(
        lora_dir / "large.safetensors", {}, {"w": ("F32", [64 * 1024])}
    )  # 256 KiB of data: "large" below
    registration.register_many(library, [large])
    monkeypatch.setattr(hash_service, "SMALL_FILE", large.stat().st_size - 1)
    lock = threading.Lock()
    now: list[str] = []
    seen_together: list[tuple[str, ...]] = []
    real = hash_service.hash_file

    def recording(path: str, **kwargs: object) -> object:
        with lock:
            now.append(path)
            seen_together.append(tuple(sorted(now)))
        try:
            return real(path, **kwargs)  # type: ignore[arg-type]
        finally:
            with lock:
                now.remove(path)

    monkeypatch.setattr(hash_service, "hash_file", recording)

    report = hash_pending(library, workers=2)

    assert report.hashed == 7
    small_names = {str(p) for p in small}
    assert all(sum(p in small_names for p in group) <= 1 for group in seen_together)
    assert str(large) in {path for group in seen_together[:2] for path in group}  # at once


def test_the_gil_changes_hands_quickly_during_a_run_and_as_before_after(
    library: Library, lora_dir: Path
) -> None:
    _library_of(library, lora_dir, 2)
    before = sys.getswitchinterval()
    during: list[float] = []

    hash_pending(library, progress=lambda *_: during.append(sys.getswitchinterval()))

    assert during
    assert max(during) <= gil_handoff.GIL_SWITCH_S
    assert sys.getswitchinterval() == before


def test_reading_ahead_never_blocks_or_fails(tmp_path: Path) -> None:
    # Asking the kernel to read a queued file ahead is a hint: a file gone since it was
    # queued, a FIFO (opening one for reading would wait for a writer) or a folder is
    # passed over quietly.
    fifo = tmp_path / "pipe.safetensors"
    os.mkfifo(fifo)
    real = tmp_path / "real.safetensors"
    real.write_bytes(b"\x00" * 64)
    for path in (tmp_path / "gone.safetensors", fifo, tmp_path, real):
        read_ahead(str(path))
    assert real.read_bytes() == b"\x00" * 64


def test_suggestions_are_not_stored_over_metadata_read_again_meanwhile(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The hash pass derives trigger-word suggestions outside the write lock; if the
    # row's metadata changed in between (the file was inspected again), they are stale.
    from lora_desktop.models.tables import AdapterDetails

    _library_of(library, lora_dir, 1)
    ((adapter_id, _path, _size),) = pending(library)
    newer = kohya_metadata(ss_output_name="newer")
    real = hash_store.trigger_candidates

    def racing(metadata: dict[str, str], problems: list[str]) -> object:
        with library.db.write() as session:
            session.get(AdapterDetails, adapter_id).training_metadata = newer
        return real(metadata, problems)

    monkeypatch.setattr(hash_store, "trigger_candidates", racing)
    report = hash_pending(library, workers=1)

    shown = adapters.get(library, adapter_id)
    assert report.hashed == 1
    assert shown.sha256 is not None  # the hash is the file's, stored all the same
    assert shown.trigger_candidates == []  # not the suggestions of the older metadata


def test_one_worker_takes_the_small_files_first(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A spinning disk (one worker), tables checked in helpers: rows still fill in early.
    count = hash_service.WORKER_MIN_TABLES + 2
    _library_of(library, lora_dir, count)
    big = lora_dir / "big.safetensors"
    raw, size = header_bytes({"w": ("F16", [3 * 1024 * 1024])}, {"ss_output_name": "big"})
    big.write_bytes(len(raw).to_bytes(8, "little") + raw + bytes(size))
    registration.register_many(library, [lora_dir])
    order: list[str] = []
    real = hash_service.hash_file

    def noting(path: str, **options: object) -> hash_service.HashResult:
        order.append(os.path.basename(path))
        return real(path, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(hash_service, "hash_file", noting)
    report = hash_pending(library, workers=1)
    assert report.hashed == count + 1
    assert order[-1] == "big.safetensors"


def test_a_failing_write_ends_the_run_and_what_was_written_is_announced(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hash_service, "STORE_BATCH", 2)
    _library_of(library, lora_dir, 8)
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)
    real = hash_service.store_results
    written: list[str] = []

    def full_after_one(lib: Library, results: list[tuple[str, hash_service.HashResult]]) -> None:
        if written:
            raise OSError(28, "No space left on device")
        real(lib, results)
        written.extend(adapter_id for adapter_id, _ in results)

    monkeypatch.setattr(hash_service, "store_results", full_after_one)
    with pytest.raises(OSError, match="No space left"):
        hash_pending(library, workers=2)
    assert [set(c.updated) for c in changes] == [set(written)]
    assert len(pending(library)) == 8 - len(written)  # the rest is hashed next time
