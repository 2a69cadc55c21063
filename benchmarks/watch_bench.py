"""Library folders (issue 5): how fast the disk's changes reach the database.

Usage: .venv/bin/python benchmarks/watch_bench.py [--renames 40] [--library 10000]
       [--cold] [--startup-only]

``--cold`` drops the kernel's page, dentry and inode caches (``sync; echo 3 >
/proc/sys/vm/drop_caches``: root only, and it slows every process on the machine
for a moment) before the start-up reconcile, so the stats and the folder walk
read the disk. The temporary folder must be on a disk (not tmpfs) for that to mean anything.

Measures, with real watchdog on a temporary folder: a rename inside a watched
folder shown in the database (p50/p95, and that nothing was hashed again); a
1,600-file folder rename applied in one transaction; 100 files moved out and
back relinked by size and quick key; 1,000 new files copied in, each registered
exactly once; a start-up reconcile of an unchanged 10,000-row library; the idle
watcher's CPU time.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import threading
import time
from pathlib import Path

from lora_desktop.services import adapters, folders
from lora_desktop.services.library import ChangeSet, Library, open_library
from lora_desktop.services.reconcile import reconcile
from lora_desktop.services.registration import register_many
from lora_desktop.services.relink import fill_quick_keys
from lora_desktop.services.watch_loop import WatchLoop
from lora_desktop.services.watcher import LibraryWatcher


def _files(folder: Path, count: int, prefix: str, size: int = 2048) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        (folder / f"{prefix}{i:05}.safetensors").write_bytes(
            f"{prefix}{i}".encode() + os.urandom(size)
        )


def _wait(loop: WatchLoop, predicate: object, timeout: float = 60.0) -> bool:
    return loop.wait_for(predicate, timeout)  # type: ignore[arg-type]


def bench_events(root: Path, renames: int) -> None:
    lib = open_library(root / "db" / "lib.sqlite3")
    watched = root / "w"
    _files(watched / "single", 50, "s")
    _files(watched / "big", 1600, "b", 256)
    _files(watched / "moving", 100, "m", 3 * 1024 * 1024 // 2)
    register_many(lib, [str(watched)])
    fill_quick_keys(lib)
    folders.add_folder(lib, str(watched))
    loop = WatchLoop(LibraryWatcher(lib, settle=0.3), idle_interval=0, root_check=1.0)
    loop.start()
    try:
        # 1. renames: time from rename to the row's new path being committed.
        seen = threading.Event()
        times: list[float] = []
        for i in range(renames):
            src = watched / "single" / f"s{i:05}.safetensors"
            dest = watched / "single" / f"renamed{i:05}.safetensors"
            adapter_id = adapters.get(lib, f"s{i:05}").id
            seen.clear()

            def listener(changes: ChangeSet, wanted: str = adapter_id) -> None:
                if wanted in changes.updated:
                    seen.set()

            lib.subscribe(listener)
            start = time.perf_counter()
            os.rename(src, dest)
            assert seen.wait(10), "rename not seen"
            times.append(time.perf_counter() - start)
            lib.unsubscribe(listener)
            assert adapters.get(lib, adapter_id).file_path == str(dest)
        times.sort()
        p95 = times[int(len(times) * 0.95) - 1]
        print(
            f"rename → database: p50 {statistics.median(times) * 1000:.1f} ms, "
            f"p95 {p95 * 1000:.1f} ms over {len(times)} renames"
        )
        # 2. folder of 1,600 files renamed.
        done = threading.Event()
        big_ids: list[tuple[str, ...]] = []

        def on_big(changes: ChangeSet) -> None:
            if len(changes.updated) >= 1600:
                big_ids.append(changes.updated)
                done.set()

        lib.subscribe(on_big)
        start = time.perf_counter()
        os.rename(watched / "big", watched / "big-renamed")
        assert done.wait(30), "folder rename not seen"
        print(
            f"1,600-file folder rename applied (one transaction, one change set): "
            f"{(time.perf_counter() - start) * 1000:.0f} ms"
        )
        lib.unsubscribe(on_big)
        # 3. 100 files (1.5 MiB each) moved out and back: relinked by quick key.
        outside = root / "outside"
        shutil.move(watched / "moving", outside)
        assert _wait(
            loop,
            lambda: (
                adapters.list_adapters(lib, {"file_status": "missing", "limit": 500}).total == 100
            ),
        )
        start = time.perf_counter()
        shutil.move(outside, watched / "moving-back")
        assert _wait(
            loop,
            lambda: (
                adapters.list_adapters(lib, {"file_status": "missing", "limit": 500}).total == 0
            ),
        )
        print(
            f"100 files moved out and back, relinked: "
            f"{(time.perf_counter() - start) * 1000:.0f} ms (settle delay 0.3 s, twice)"
        )
        # 4. 1,000 new files copied in: each registered exactly once.
        added: list[str] = []
        lib.subscribe(lambda c: added.extend(c.added))
        source = root / "incoming"
        _files(source, 1000, "n", 1024)
        start = time.perf_counter()
        shutil.copytree(source, watched / "incoming")
        assert _wait(loop, lambda: len(added) >= 1000, 120)
        elapsed = time.perf_counter() - start
        total = adapters.list_adapters(lib, {"limit": 1}).total
        print(
            f"1,000 files copied in: {len(added)} registrations, {len(set(added))} distinct, "
            f"library {total} rows, {elapsed:.2f} s"
        )
        # 5. idle CPU, once the last batch's follow-up work is over.
        passes = loop.passes
        loop.wait_for(lambda: loop.passes > passes + 1 and len(loop.watcher.queue) == 0, 30)
        cpu = time.process_time()
        wall = time.perf_counter()
        loop.wait_for(lambda: False, 5.0)
        print(
            f"idle watcher: {(time.process_time() - cpu) * 1000:.0f} ms CPU in "
            f"{time.perf_counter() - wall:.1f} s (whole process)"
        )
        assert loop.errors == []
    finally:
        loop.stop()
        lib.close()


def bench_startup(root: Path, count: int, cold_too: bool = False) -> None:
    lib: Library = open_library(root / "db2" / "lib.sqlite3")
    watched = root / "lib"
    _files(watched, count, "r", 64)
    register_many(lib, [str(watched)])
    folders.add_folder(lib, str(watched))
    lib.close()
    for cold in (False, True) if cold_too else (False,):
        if cold:
            _drop_caches()
        start = time.perf_counter()
        lib = open_library(root / "db2" / "lib.sqlite3")
        opened = time.perf_counter() - start
        start = time.perf_counter()
        report = reconcile(lib)
        elapsed = time.perf_counter() - start
        print(
            f"start-up reconcile of an unchanged {count:,}-row library (stat + folder walk): "
            f"{elapsed:.2f} s {'cold' if cold else 'warm'} ({report.unchanged:,} unchanged; "
            f"opening the library {opened:.2f} s)"
        )
        lib.close()


def _cached_kib() -> int:
    with open("/proc/meminfo", encoding="ascii") as meminfo:
        for line in meminfo:
            if line.startswith("Cached:"):
                return int(line.split()[1])
    return -1


def _drop_caches() -> None:
    """Empty the page, dentry and inode caches (root only); raise when not permitted."""
    before = _cached_kib()
    os.sync()
    with open("/proc/sys/vm/drop_caches", "w", encoding="ascii") as control:
        control.write("3\n")
    print(f"dropped caches: page cache {before // 1024:,} MiB -> {_cached_kib() // 1024:,} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--renames", type=int, default=40)
    parser.add_argument("--library", type=int, default=10_000)
    parser.add_argument("--cold", action="store_true", help="also measure with caches dropped")
    parser.add_argument("--startup-only", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        if not args.startup_only:
            bench_events(Path(folder), args.renames)
        bench_startup(Path(folder), args.library, args.cold)


if __name__ == "__main__":
    main()
