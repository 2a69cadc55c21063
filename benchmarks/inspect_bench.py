"""File inspection benchmark (issue 4): registration, rescan and hashing against yardsticks.

    .venv/bin/python benchmarks/synth_library.py /tmp/synth --count 10000 --big 8 --big-mb 100
    .venv/bin/python benchmarks/inspect_bench.py /tmp/synth --repeat 3

Warm cache: every file is read once before timing. Yardsticks, measured in the
same run on the same files:

- registration: read the header prefix (the 8-byte length and that many bytes of JSON,
  strict UTF-8, as the issue's header reader), parse ``__metadata__`` (raw_decode at its
  key), one sqlite3 ``executemany`` of (id, path, name, metadata JSON) and a commit, with
  the library's WAL and ``synchronous=NORMAL``;
- hashing: a bare two-thread hashlib loop computing the same two digests (whole
  file, bytes after the header) with 4 MiB reads; the single-digest loop is shown too.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sqlite3
import statistics
import struct
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lora_desktop.services.inspect.hash_service import hash_pending
from lora_desktop.services.inspect.library_scan import rescan
from lora_desktop.services.library import open_library
from lora_desktop.services.registration import register_many

DECODER = json.JSONDecoder()


def files_under(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*.safetensors"))


def warm(paths: list[str]) -> None:
    for path in paths:
        with open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass


def yardstick_register(paths: list[str], db: str) -> tuple[float, float]:
    """(wall, CPU) seconds of the bare-Python yardstick."""
    start, cpu = time.perf_counter(), time.process_time()
    rows = []
    for path in paths:
        with open(path, "rb") as handle:
            n = struct.unpack("<Q", handle.read(8))[0]
            text = handle.read(n).decode("utf-8")
        at = text.index('"__metadata__"') + len('"__metadata__"')
        at = text.index(":", at) + 1
        meta, _ = DECODER.raw_decode(text, at + (text[at] == " "))
        rows.append((str(uuid.uuid4()), path, Path(path).stem, json.dumps(meta)))
    connection = sqlite3.connect(db)
    connection.execute("PRAGMA journal_mode=WAL")
    # As the library's own connections (the default FULL syncs at each commit; it made no
    # measurable difference to this one commit, but the yardstick should not differ).
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE t (id TEXT PRIMARY KEY, path TEXT, name TEXT, meta JSON)")
    connection.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    connection.commit()
    connection.close()
    return time.perf_counter() - start, time.process_time() - cpu


def bench_register(
    small: list[str], folder: Path, repeat: int
) -> tuple[float, float, float, float]:
    """Medians: registration wall s, yardstick wall s, rescan s, and the median per-run
    ratio of CPU seconds (registration / yardstick: less sensitive to a loaded machine)."""
    ours, bare, scans, cpu_ratios = [], [], [], []
    for i in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            wall, bare_cpu = yardstick_register(small, os.path.join(tmp, "y.db"))
            bare.append(wall)
            lib = open_library(os.path.join(tmp, "lib.sqlite3"))
            start, cpu = time.perf_counter(), time.process_time()
            report = register_many(lib, [folder])
            ours.append(time.perf_counter() - start)
            ours_cpu = time.process_time() - cpu
            cpu_ratios.append(ours_cpu / bare_cpu)
            assert report.added == len(small), report.skipped
            start = time.perf_counter()
            result = rescan(lib)
            scans.append(time.perf_counter() - start)
            assert (result.unchanged, result.reinspected) == (len(small), [])
            lib.close()
        print(
            f"  run {i + 1}: register {ours[-1]:.2f} s ({ours_cpu:.2f} s CPU), yardstick "
            f"{bare[-1]:.2f} s ({bare_cpu:.2f} s CPU), rescan {scans[-1]:.3f} s"
        )
    return (
        statistics.median(ours),
        statistics.median(bare),
        statistics.median(scans),
        statistics.median(cpu_ratios),
    )


def bare_hash(path: str, both: bool) -> None:
    buffer = bytearray(1 << 22)
    view = memoryview(buffer)
    whole, weights = hashlib.sha256(), hashlib.sha256()
    with open(path, "rb", buffering=0) as handle:
        head = handle.read(8)
        n = struct.unpack("<Q", head)[0]
        whole.update(head)
        whole.update(handle.read(n))
        while count := handle.readinto(view):
            whole.update(view[:count])
            if both:
                weights.update(view[:count])


def bench_hash(big: list[str], repeat: int) -> tuple[float, float, float, int]:
    size = sum(os.path.getsize(p) for p in big)
    ours, bare2, bare1 = [], [], []
    for _ in range(repeat):
        for both, out in ((True, bare2), (False, bare1)):
            start = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda p, b=both: bare_hash(p, b), big))
            out.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory() as tmp:
            lib = open_library(os.path.join(tmp, "lib.sqlite3"))
            register_many(lib, big)
            start = time.perf_counter()
            report = hash_pending(lib, workers=2)
            ours.append(time.perf_counter() - start)
            assert report.hashed == len(big), report
            lib.close()
    return statistics.median(ours), statistics.median(bare2), statistics.median(bare1), size


def main() -> None:
    parser = argparse.ArgumentParser(description="file inspection benchmark")
    parser.add_argument("root", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-hash", action="store_true", help="registration and rescan only")
    args = parser.parse_args()
    small = files_under(args.root / "small")
    big = files_under(args.root / "big")
    warm(small + big)
    print(f"{len(small)} small files, {len(big)} large files; warm cache")
    ours, bare, scan, cpu_ratio = bench_register(small, args.root / "small", args.repeat)
    print(
        f"registration: {ours:.2f} s ({len(small) / ours:,.0f} files/s); yardstick {bare:.2f} s; "
        f"ratio {ours / bare:.2f} (CPU-time ratio {cpu_ratio:.2f})"
    )
    print(f"rescan of the unchanged library: {scan:.3f} s")
    if big and not args.no_hash:
        ours_h, bare2, bare1, size = bench_hash(big, args.repeat)
        gb = size / 1e9
        print(
            f"hashing {gb:.2f} GB: {gb / ours_h:.2f} GB/s; bare two-thread loop, same two "
            f"digests {gb / bare2:.2f} GB/s ({bare2 / ours_h:.0%}); "
            f"one digest {gb / bare1:.2f} GB/s"
        )


if __name__ == "__main__":
    main()
