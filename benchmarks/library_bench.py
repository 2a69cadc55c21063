"""Library services at scale: bulk registration, listing pages, counts and compose.

Usage: .venv/bin/python benchmarks/library_bench.py [--sizes 10000 50000] [--repeat 20]

Fills a temporary library with real (empty) .safetensors files registered through
``register_many``, tags a fraction of them and gives every tenth a version, then
times the operations the issue names. Prints one table per size; the median of
``--repeat`` runs is reported for the fast operations.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import insert, select, update

from lora_desktop.models.tables import Adapter, AdapterTag
from lora_desktop.services import adapters, compose, registration
from lora_desktop.services.library import Library, open_library

TAGS = ["style", "character", "concept", "anime", "photo", "pose", "clothing", "background"]


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def make_files(folder: Path, count: int) -> None:
    """Write ``count`` empty LoRA files in 100 sub-folders."""
    for i in range(count):
        sub = folder / f"set{i % 100:03d}"
        sub.mkdir(exist_ok=True)
        (sub / f"lora_{i:06d}.safetensors").touch()


def decorate(lib: Library) -> None:
    """Give every adapter one or two tags, and every tenth a version, in bulk."""
    rng = random.Random(7)
    with lib.db.write() as session:
        ids = list(session.scalars(select(Adapter.id)))
        rows = []
        for adapter_id in ids:
            for position, tag in enumerate(rng.sample(TAGS, rng.choice((1, 2)))):
                rows.append({"adapter_id": adapter_id, "tag": tag, "position": position})
        session.execute(insert(AdapterTag), rows)
        session.execute(
            update(Adapter)
            .where(Adapter.name.like("%0"))
            .values(version="v2", search_text=Adapter.search_text + "\nv2")
        )


def run(size: int, repeat: int) -> dict[str, float]:
    """Measure one library size; return the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        files = root / "loras"
        files.mkdir()
        make_files(files, size)
        lib = open_library(root / "library.sqlite3")
        try:
            start = time.perf_counter()
            report = registration.register_many(lib, [files])
            elapsed = time.perf_counter() - start
            assert report.added == size, report.added
            decorate(lib)
            names = [f"lora_{i:06d}" for i in range(0, size, size // 20)][:20]
            for position, name in enumerate(names):
                adapters.activate(lib, name, ordinal=position)
            figures = {
                "registration (files/s)": size / elapsed,
                "page of 50, unfiltered (ms)": median_ms(
                    lambda: adapters.list_adapters(lib, {"limit": 50}), repeat
                ),
                "page of 50, by tag (ms)": median_ms(
                    lambda: adapters.list_adapters(lib, {"limit": 50, "tag": "anime"}), repeat
                ),
                "page of 50, by search text (ms)": median_ms(
                    lambda: adapters.list_adapters(lib, {"limit": 50, "search": "lora_0012"}),
                    repeat,
                ),
                "total count (ms)": median_ms(lambda: adapters.counts(lib), repeat),
                "compose, 20 active (ms)": median_ms(lambda: compose.compose(lib), repeat),
                "all list rows for the window (ms)": median_ms(
                    lambda: adapters.list_rows(lib), max(3, repeat // 5)
                ),
            }
        finally:
            lib.close()
    return figures


def main() -> None:
    """Parse arguments, measure each size, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    for size in args.sizes:
        figures = run(size, args.repeat)
        print(f"\n{size:,} adapters")
        for label, value in figures.items():
            print(f"  {label:<36} {value:>10.1f}")


if __name__ == "__main__":
    main()
