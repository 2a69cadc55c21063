"""The watcher with real watchdog on real temporary folders: each case of issue 5.

Every wait is on the watch loop's pass notifications (a threading condition) with a
timeout; nothing sleeps. After each case the metadata written beforehand is intact.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchdog.events import FileSystemEvent

from lora_desktop.services import adapters, folders
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.services.watch_loop import WatchLoop
from lora_desktop.services.watcher import LibraryWatcher
from tests.integration.watch_helpers import (
    SETTLE,
    TIMEOUT,
    assert_metadata_kept,
    path_of,
    registered,
    status_of,
    write,
    write_metadata,
)


@pytest.fixture
def watched(tmp_path: Path, library: Library) -> Path:
    folder = tmp_path / "watched"
    folder.mkdir()
    folders.add_folder(library, str(folder))
    return folder


@pytest.fixture
def loop(library: Library, watched: Path) -> Iterator[WatchLoop]:
    runner = WatchLoop(
        LibraryWatcher(library, settle=SETTLE, polling_interval=0.2),
        idle_interval=0,
        root_check=0.2,
    )
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
    assert runner.errors == []


def adapters_quick_key(lib: Library, adapter_id: str) -> str | None:
    from lora_desktop.models.tables import Adapter

    with lib.db.read() as session:
        row = session.get(Adapter, adapter_id)
        return None if row is None else row.quick_key


def _count(lib: Library) -> int:
    return adapters.list_adapters(lib, {"limit": 500}).total


def test_a_renamed_file_keeps_its_row_and_metadata(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    adapter_id = registered(library, write(watched / "a.safetensors", "a"), "a")
    target = watched / "renamed.safetensors"
    os.rename(watched / "a.safetensors", target)
    assert loop.wait_for(lambda: path_of(library, adapter_id) == str(target), TIMEOUT)
    assert status_of(library, adapter_id) == "ok"
    assert_metadata_kept(library, adapter_id, "a-mine")
    assert _count(library) == 1


def test_a_file_moved_to_a_subfolder_follows(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    adapter_id = registered(library, write(watched / "a.safetensors", "a"), "a")
    # The new row's quick key is computed in the background: then a move the
    # observer reports as delete + create (the new subfolder not watched yet) relinks.
    assert loop.wait_for(lambda: adapters_quick_key(library, adapter_id) is not None, TIMEOUT)
    (watched / "sub").mkdir()
    target = watched / "sub" / "a.safetensors"
    shutil.move(watched / "a.safetensors", target)
    assert loop.wait_for(lambda: path_of(library, adapter_id) == str(target), TIMEOUT)
    assert loop.wait_for(lambda: str(target) in loop.checked, TIMEOUT)
    assert _count(library) == 1
    assert_metadata_kept(library, adapter_id, "a-mine")


def test_a_folder_of_200_files_moved_takes_every_row_along(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    source = watched / "pack"
    from lora_desktop.services.registration import register_many

    for i in range(200):
        write(source / f"f{i:03}.safetensors", f"f{i}", 256)
    register_many(library, [str(source)])
    keep = adapters.list_adapters(library, {"search": "f007"}).items[0].id
    assert loop.wait_for(lambda: adapters_quick_key(library, keep) is not None, TIMEOUT)
    write_metadata(library, keep)
    (watched / "moved").mkdir()
    target = watched / "moved" / "pack2"
    os.rename(source, target)
    assert loop.wait_for(
        lambda: all(
            a.file_path.startswith(str(target) + os.sep)
            for a in adapters.list_adapters(library, {"limit": 500}).items
        ),
        TIMEOUT,
    )
    assert _count(library) == 200
    assert path_of(library, keep) == str(target / "f007.safetensors")
    assert_metadata_kept(library, keep, "f007-mine")


def test_deleted_then_restored(library: Library, watched: Path, loop: WatchLoop) -> None:
    path = write(watched / "a.safetensors", "a")
    adapter_id = registered(library, path, "a")
    content = path.read_bytes()
    stat = path.stat()
    path.unlink()
    assert loop.wait_for(lambda: status_of(library, adapter_id) == "missing", TIMEOUT)
    assert _count(library) == 1  # never deleted
    path.write_bytes(content)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert loop.wait_for(lambda: status_of(library, adapter_id) == "ok", TIMEOUT)
    assert _count(library) == 1
    assert_metadata_kept(library, adapter_id, "a-mine")


def test_created_files_are_imported_only_where_auto_import_is_on(
    tmp_path: Path, library: Library, watched: Path, loop: WatchLoop
) -> None:
    quiet = tmp_path / "quiet"
    quiet.mkdir()
    folders.add_folder(library, str(quiet), auto_import=False)
    loop.watcher.refresh()
    off = write(quiet / "off.safetensors", "off")
    on = write(watched / "on.safetensors", "on")
    assert loop.wait_for(lambda: {str(off), str(on)} <= loop.checked, TIMEOUT)
    paths = [a.file_path for a in adapters.list_adapters(library, {}).items]
    assert paths == [str(on)]


def test_a_file_grown_in_several_writes_is_registered_once_after_it_settles(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    added: list[tuple[str, ...]] = []
    library.subscribe(lambda changes: added.append(changes.added) if changes.added else None)
    path = watched / "big.safetensors"
    with path.open("wb") as handle:
        for _i in range(5):
            handle.write(os.urandom(64 * 1024))
            handle.flush()
            os.fsync(handle.fileno())
            # Each write is awaited as an event seen (not slept on): the file is still open.
            passes = loop.passes
            loop.wait_for(lambda p=passes: loop.passes > p or len(loop.watcher.queue) > 0, 2)
    assert loop.wait_for(lambda: _count(library) == 1, TIMEOUT)
    assert loop.wait_for(lambda: str(path) in loop.checked, TIMEOUT)
    assert len(added) == 1
    assert len(added[0]) == 1
    assert adapters.list_adapters(library, {}).items[0].file_size == 5 * 64 * 1024


def test_a_save_by_temp_file_and_rename_is_a_modification(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    path = write(watched / "a.safetensors", "a")
    adapter_id = registered(library, path, "a")
    temp = watched / "a.safetensors.tmp"
    write(temp, "edited", 8192)
    os.replace(temp, path)
    assert loop.wait_for(
        lambda: (
            adapters.get(library, adapter_id).file_size == 8192
            and status_of(library, adapter_id) == "ok"
        ),
        TIMEOUT,
    )
    assert _count(library) == 1
    adapter = assert_metadata_kept(library, adapter_id, "a-mine")
    assert adapter.sha256 is not None  # hashed again


def test_relinked_by_hash_after_a_move_outside_and_back(
    tmp_path: Path, library: Library, watched: Path, loop: WatchLoop
) -> None:
    path = write(watched / "a.safetensors", "a")
    adapter_id = registered(library, path, "a")
    assert loop.wait_for(lambda: adapters_quick_key(library, adapter_id) is not None, TIMEOUT)
    outside = tmp_path / "outside.safetensors"
    shutil.move(path, outside)
    assert loop.wait_for(lambda: status_of(library, adapter_id) == "missing", TIMEOUT)
    back = watched / "elsewhere" / "renamed.safetensors"
    back.parent.mkdir()
    shutil.move(outside, back)
    assert loop.wait_for(lambda: path_of(library, adapter_id) == str(back), TIMEOUT)
    assert status_of(library, adapter_id) == "ok"
    assert _count(library) == 1
    assert_metadata_kept(library, adapter_id, "a-mine")


def test_a_deleted_library_folder_makes_rows_unavailable_then_back(
    tmp_path: Path, library: Library, watched: Path, loop: WatchLoop
) -> None:
    adapter_id = registered(library, write(watched / "a.safetensors", "a"), "a")
    parked = tmp_path / "parked"
    os.rename(watched, parked)  # the drive is unplugged
    assert loop.wait_for(lambda: status_of(library, adapter_id) == "unavailable", TIMEOUT)
    os.rename(parked, watched)
    assert loop.wait_for(lambda: status_of(library, adapter_id) == "ok", TIMEOUT)
    assert loop.wait_for(lambda: str(watched) in loop.watcher.watched, TIMEOUT)
    # Watching again: a rename is followed.
    os.rename(watched / "a.safetensors", watched / "b.safetensors")
    assert loop.wait_for(
        lambda: path_of(library, adapter_id) == str(watched / "b.safetensors"), TIMEOUT
    )
    assert_metadata_kept(library, adapter_id, "a-mine")


def test_temporary_download_names_are_ignored(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    for name in ("x.safetensors.part", "y.crdownload", "~$z.safetensors", ".~lock.w#"):
        write(watched / name, name)
    real = write(watched / "real.safetensors", "real")
    assert loop.wait_for(lambda: _count(library) == 1, TIMEOUT)
    assert adapters.list_adapters(library, {}).items[0].file_path == str(real)


def test_a_subfolder_moved_out_of_the_library_marks_its_rows_missing(
    tmp_path: Path, library: Library, watched: Path, loop: WatchLoop
) -> None:
    adapter_id = registered(library, write(watched / "pack" / "a.safetensors", "a"), "a")
    shutil.move(watched / "pack", tmp_path / "pack")
    assert loop.wait_for(lambda: status_of(library, adapter_id) == "missing", TIMEOUT)
    assert_metadata_kept(library, adapter_id, "a-mine")


def test_reading_files_in_a_watched_folder_makes_no_events(library: Library, watched: Path) -> None:
    # The app reads every file it registers and hashes; inotify reports each open and
    # close of a watched file unless told not to, and watchdog's thread would decode
    # thousands of events only to drop them. Only changes come through.
    paths = [write(watched / f"r{i}.safetensors", f"r{i}") for i in range(20)]
    watcher = LibraryWatcher(library, settle=SETTLE, polling_interval=0.2)
    seen: list[tuple[str, str]] = []
    marker_seen = threading.Event()
    marker = watched / "marker.safetensors"
    record = watcher._handler.dispatch

    def dispatch(event: FileSystemEvent) -> None:
        seen.append((event.event_type, str(event.src_path)))
        if str(event.src_path) == str(marker):
            marker_seen.set()
        record(event)

    watcher._handler.dispatch = dispatch  # type: ignore[method-assign]
    watcher.start()
    try:
        for path in paths:
            assert path.read_bytes()
        write(marker, "marker")  # events arrive in order: the reads' would come first
        assert marker_seen.wait(TIMEOUT)
    finally:
        watcher.stop()
    kinds = {kind for kind, _path in seen}
    assert "created" in kinds
    assert not kinds & {"opened", "closed_no_write"}, seen


def test_a_file_whose_time_alone_changed_is_checked(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    # touch, rsync -t: only an attribute event (inotify IN_ATTRIB) says so.
    path = write(watched / "a.safetensors", "a")
    registered(library, path, "a")
    assert loop.wait_for(lambda: str(path) in loop.checked, TIMEOUT)  # its creation
    loop.checked.clear()
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert loop.wait_for(lambda: str(path) in loop.checked, TIMEOUT)


def test_quick_keys_wait_for_a_hash_run_going(
    library: Library, watched: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A hash run reads the same files and its hashes come first: the new rows' quick
    # keys are computed when it is over (its results announced), not beside it.
    from lora_desktop.services.inspect import hash_service
    from lora_desktop.services.registration import register_many

    for i in range(3):
        write(watched / f"k{i}.safetensors", f"k{i}")
    watcher = LibraryWatcher(library, settle=SETTLE, polling_interval=0.2)
    woken: list[bool] = []
    monkeypatch.setattr(watcher, "_notify", lambda: woken.append(True))
    watcher.start()
    try:
        report = register_many(library, [watched])
        ids = [e.adapter_id for e in report.entries if e.adapter_id]
        seen_during: list[str | None] = []
        real_store = hash_service.store_results

        def store_and_process(lib: Library, results: list[object]) -> None:
            watcher.process()  # the watcher's turn comes while the run goes on
            seen_during.extend(adapters_quick_key(library, i) for i in ids)
            real_store(lib, results)  # type: ignore[arg-type]

        monkeypatch.setattr(hash_service, "store_results", store_and_process)
        woken.clear()
        hash_service.hash_pending(library, workers=1)
        assert seen_during
        assert set(seen_during) == {None}
        assert woken  # the run's results woke the watcher: the keys are due
        watcher.process()
        assert all(adapters_quick_key(library, i) for i in ids)
    finally:
        watcher.stop()


def test_missing_keys_filled_at_start_wait_for_a_hash_run_going(
    library: Library, watched: Path
) -> None:
    # The window's start-up reconcile fills the keys rows lack; during a hash run that
    # waits for the run's end, and its results wake the watcher to do it.
    from lora_desktop.services.registration import register_many

    for i in range(3):
        write(watched / f"m{i}.safetensors", f"m{i}")
    ids = [e.adapter_id for e in register_many(library, [watched]).entries if e.adapter_id]
    watcher = LibraryWatcher(library, settle=SETTLE, polling_interval=0.2)
    watcher.start()
    try:
        with library.hash_run():
            assert watcher.fill_missing_keys() == 0
            watcher.process()
        assert {adapters_quick_key(library, i) for i in ids} == {None}
        library.publish(ChangeSet(updated=tuple(ids)))  # the run's results
        watcher.process()
        assert all(adapters_quick_key(library, i) for i in ids)
    finally:
        watcher.stop()
