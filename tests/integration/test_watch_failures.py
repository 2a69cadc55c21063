"""When watching fails or the disk does something unusual (issue 5): real watchdog, real files.

An inotify queue overflow (watchdog only logs it), the watch limit (ENOSPC: polling
instead), sidecars and previews written next to a LoRA, and a file renamed over
another registered file. Every wait is on the watch loop's pass notifications or a
``threading.Event`` with a timeout; nothing sleeps.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import struct
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from watchdog.events import FileSystemEvent
from watchdog.observers.inotify import InotifyObserver

from lora_desktop.services import adapters, folders
from lora_desktop.services.inspect.hash_service import hash_adapter
from lora_desktop.services.library import Library
from lora_desktop.services.watch_loop import WatchLoop, rehash
from lora_desktop.services.watcher import LibraryWatcher
from tests.integration.watch_helpers import (
    SETTLE,
    TIMEOUT,
    assert_metadata_kept,
    path_of,
    registered,
    status_of,
    write,
)


@pytest.fixture
def watched(tmp_path: Path, library: Library) -> Path:
    folder = tmp_path / "watched"
    folder.mkdir()
    folders.add_folder(library, str(folder))
    return folder


def _loop(library: Library, statuses: list[str] | None = None) -> WatchLoop:
    watcher = LibraryWatcher(
        library,
        settle=SETTLE,
        polling_interval=0.1,
        on_status=None if statuses is None else statuses.append,
    )
    return WatchLoop(watcher, idle_interval=0, root_check=0.2)


@pytest.fixture
def loop(library: Library, watched: Path) -> Iterator[WatchLoop]:
    runner = _loop(library)
    runner.start()
    try:
        yield runner
    finally:
        runner.stop()
    assert runner.errors == []


def _has_quick_key(lib: Library, adapter_id: str) -> bool:
    from lora_desktop.models.tables import Adapter

    with lib.db.read() as session:
        row = session.get(Adapter, adapter_id)
        return row is not None and row.quick_key is not None


def _count(lib: Library) -> int:
    return adapters.list_adapters(lib, {"limit": 500}).total


# -- inotify queue overflow ----------------------------------------------------


def test_an_overflow_warning_reconciles_the_folder_after_lost_events(
    library: Library, watched: Path, loop: WatchLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter_id = registered(library, write(watched / "a.safetensors", "a"), "a")
    assert loop.wait_for(lambda: _has_quick_key(library, adapter_id), TIMEOUT)
    target = watched / "renamed.safetensors"

    # The kernel drops the rename's events: the handler never sees them.
    handler = loop.watcher._handler
    dropped = threading.Event()

    def lose(event: FileSystemEvent) -> None:
        if os.fsdecode(event.dest_path or event.src_path) == str(target):
            dropped.set()

    monkeypatch.setattr(handler, "dispatch", lose)
    os.rename(watched / "a.safetensors", target)
    assert dropped.wait(TIMEOUT)
    monkeypatch.undo()
    passes = loop.passes
    assert loop.wait_for(lambda: loop.passes > passes, TIMEOUT)  # a root check went by
    assert path_of(library, adapter_id) == str(watched / "a.safetensors")  # nothing noticed

    # What watchdog's inotify code logs on IN_Q_OVERFLOW, through its own logger.
    logging.getLogger("watchdog.observers.inotify_c").warning(
        "Inotify queue overflowed; filesystem events were lost"
    )
    assert loop.wait_for(lambda: path_of(library, adapter_id) == str(target), TIMEOUT)
    assert status_of(library, adapter_id) == "ok"
    assert _count(library) == 1
    assert_metadata_kept(library, adapter_id, "a-mine")


# -- watch limit reached ---------------------------------------------------------


def test_the_watch_limit_falls_back_to_polling_with_one_hint(
    tmp_path: Path,
    library: Library,
    watched: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    second = tmp_path / "second"
    second.mkdir()
    folders.add_folder(library, str(second))

    def full(*_args: Any, **_kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "inotify watch limit reached")

    monkeypatch.setattr(InotifyObserver, "schedule", full)
    statuses: list[str] = []
    runner = _loop(library, statuses)
    first = registered(library, write(watched / "a.safetensors", "a"), "a")
    other = registered(library, write(second / "b.safetensors", "b"), "b")
    with caplog.at_level(logging.WARNING, logger="lora_desktop.services.watcher"):
        runner.start()
    try:
        assert runner.watcher.polled == {str(watched), str(second)}
        assert runner.watcher.watched == sorted([str(watched), str(second)])
        hints = [s for s in statuses if "max_user_watches" in s]
        assert len(hints) == 1, statuses
        logged = [r for r in caplog.records if "max_user_watches" in r.getMessage()]
        assert len(logged) == 1
        # Polled folders are still followed.
        os.rename(watched / "a.safetensors", watched / "renamed.safetensors")
        os.rename(second / "b.safetensors", second / "sub.safetensors")
        assert runner.wait_for(
            lambda: path_of(library, first) == str(watched / "renamed.safetensors"), TIMEOUT
        )
        assert runner.wait_for(
            lambda: path_of(library, other) == str(second / "sub.safetensors"), TIMEOUT
        )
        (watched / "renamed.safetensors").unlink()
        assert runner.wait_for(lambda: status_of(library, first) == "missing", TIMEOUT)
        # A polled folder unplugged and back is polled again, without a second hint.
        os.rename(second, tmp_path / "parked")
        assert runner.wait_for(lambda: status_of(library, other) == "unavailable", TIMEOUT)
        assert str(second) not in runner.watcher.polled
        os.rename(tmp_path / "parked", second)
        assert runner.wait_for(lambda: status_of(library, other) == "ok", TIMEOUT)
        assert runner.wait_for(lambda: str(second) in runner.watcher.polled, TIMEOUT)
        assert len([s for s in statuses if "max_user_watches" in s]) == 1
    finally:
        runner.stop()
    assert runner.errors == []
    assert _count(library) == 2
    assert_metadata_kept(library, first, "a-mine")
    assert_metadata_kept(library, other, "b-mine")


# -- sidecars and previews -----------------------------------------------------


def test_sidecars_and_previews_written_later_are_read_without_touching_edits(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    adapter_id = registered(library, write(watched / "a.safetensors", "a"), "a")
    adapters.update_adapter(library, adapter_id, {"base_model": "My base"})
    info = watched / "a.civitai.info"
    info.write_text(
        json.dumps({"trainedWords": ["inkstyle"], "baseModel": "SDXL 1.0", "model": {}}),
        encoding="utf-8",
    )
    assert loop.wait_for(
        lambda: adapters.get(library, adapter_id).trigger_words == ["inkstyle"], TIMEOUT
    )
    preview = watched / "a.preview.png"
    ihdr = struct.pack(">IIBBBBB", 4, 4, 8, 2, 0, 0, 0)
    crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    preview.write_bytes(b"\x89PNG\r\n\x1a\n" + struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr + crc)
    assert loop.wait_for(
        lambda: adapters.get(library, adapter_id).preview_path == str(preview), TIMEOUT
    )
    # Changed: read again.
    info.write_text(
        json.dumps({"trainedWords": ["inkstyle", "bold lines"], "model": {}}), encoding="utf-8"
    )
    assert loop.wait_for(
        lambda: adapters.get(library, adapter_id).trigger_words == ["inkstyle", "bold lines"],
        TIMEOUT,
    )
    adapter = assert_metadata_kept(library, adapter_id, "a-mine")
    assert adapter.base_model == "My base"  # the artist's value wins
    assert adapter.file_status == "ok"
    assert _count(library) == 1


# -- a file renamed over another registered file ----------------------------------------


def test_a_file_renamed_over_another_registered_file(
    library: Library, watched: Path, loop: WatchLoop
) -> None:
    moved = registered(library, write(watched / "a.safetensors", "a"), "a")
    replaced = registered(library, write(watched / "b.safetensors", "b", 8192), "b")
    # Both files seen (and b hashed again) by the loop before the rename: a rename
    # landing while the loop still hashes b's own writing is another story (noted).
    hash_adapter(library, replaced)
    paths = {str(watched / "a.safetensors"), str(watched / "b.safetensors")}
    assert loop.wait_for(lambda: paths <= loop.checked, TIMEOUT)
    with loop._cond:
        loop.checked.clear()
    before = adapters.get(library, replaced)
    os.replace(watched / "a.safetensors", watched / "b.safetensors")
    assert loop.wait_for(lambda: path_of(library, moved) == str(watched / "b.safetensors"), TIMEOUT)
    assert loop.wait_for(lambda: status_of(library, replaced) == "missing", TIMEOUT)
    assert loop.wait_for(lambda: str(watched / "b.safetensors") in loop.checked, TIMEOUT)
    assert status_of(library, moved) == "ok"
    assert _count(library) == 2  # never deleted
    assert_metadata_kept(library, moved, "a-mine")
    after = assert_metadata_kept(library, replaced, "b-mine")
    assert after.sha256 == before.sha256
    assert after.file_size == before.file_size
    assert not os.path.exists(after.file_path)
    # Its file found again (restored from a backup) → relinked.
    write(watched / "restored" / "b.safetensors", "b", 8192)
    assert loop.wait_for(
        lambda: path_of(library, replaced) == str(watched / "restored" / "b.safetensors"),
        TIMEOUT,
    )
    assert status_of(library, replaced) == "ok"
    assert _count(library) == 2


def test_a_rehash_racing_a_rename_over_the_file_keeps_the_replaced_hash(
    library: Library, tmp_path: Path
) -> None:
    # The watcher saw b being written and re-hashes it; before that, a (registered
    # and hashed) is renamed over b. The re-hash must not give b a's hash: the move,
    # processed next, relinks a and marks b missing with its own hash.
    folder = tmp_path / "race"
    a = registered(library, write(folder / "a.safetensors", "a"), "a")
    b = registered(library, write(folder / "b.safetensors", "b", 8192), "b")
    hash_adapter(library, a)
    b_hash = hash_adapter(library, b).sha256
    os.replace(folder / "a.safetensors", folder / "b.safetensors")
    rehash(library, [b])  # the watcher's follow-up, before the move is processed
    assert adapters.get(library, b).sha256 == b_hash


def test_a_rehash_of_a_hard_link_to_another_adapter_is_stored(
    library: Library, tmp_path: Path
) -> None:
    # Two registered paths for one file (a hard link): both exist, nothing moved.
    folder = tmp_path / "links"
    a = registered(library, write(folder / "a.safetensors", "a"), "a")
    os.link(folder / "a.safetensors", folder / "b.safetensors")
    b = registered(library, folder / "b.safetensors", "b")
    a_hash = hash_adapter(library, a).sha256
    rehash(library, [b])
    assert adapters.get(library, b).sha256 == a_hash
