"""Rescan of an unchanged library, warm and from a cold cache (issue 4).

    sudo .venv/bin/python benchmarks/rescan_bench.py /tmp/synth/small [--repeat 3]

The target: "rescanning an unchanged 10,000-file library reads no file (size +
mtime decide): at most 0.5 s warm, 1 s cold". The folder is registered once in a
temporary library. Each cold run then drops the page, dentry and inode caches (root
only: ``sync; echo 3 > /proc/sys/vm/drop_caches``; without it the run is warm and
says so) and times ``library_scan.rescan`` in a new process, so that the library
file, the folders and every file's inode come from the disk. Each run also checks
that the rescan opened no LoRA file (a Python audit hook on ``open``) and found every
file unchanged.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from cold_bench import drop_caches  # noqa: E402  (the same drop as the cold import's)


def child(database: str, folder: str) -> None:
    """Open the library, rescan it once, report the time and what was opened as JSON."""
    from lora_desktop.services.inspect.library_scan import rescan
    from lora_desktop.services.library import open_library

    lib = open_library(database)
    opened: list[str] = []

    def audit(event: str, args: tuple[object, ...]) -> None:
        if event == "open" and isinstance(args[0], str) and args[0].startswith(folder):
            opened.append(args[0])

    sys.addaudithook(audit)
    start = time.perf_counter()
    result = rescan(lib)
    seconds = time.perf_counter() - start
    lib.close()
    print(json.dumps({"seconds": seconds, "unchanged": result.unchanged, "opened": len(opened)}))


def run_once(database: str, folder: str, cold: bool) -> dict[str, object]:
    note = drop_caches() if cold else None
    done = subprocess.run(
        [sys.executable, __file__, folder, "--child", database, folder],
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    if note:
        result["note"] = note
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description="rescan of an unchanged library, warm and cold")
    parser.add_argument("folder", type=Path, help="a folder of LoRAs (synth_library.py)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    from lora_desktop.services.library import open_library
    from lora_desktop.services.registration import register_many

    folder = str(args.folder.resolve())
    with tempfile.TemporaryDirectory() as tmp:
        database = os.path.join(tmp, "library.sqlite3")
        lib = open_library(database)
        files = register_many(lib, [folder]).added
        lib.close()
        print(f"{files:,} files registered from {folder}")
        for kind, cold in (("warm", False), ("cold", True)):
            runs = [run_once(database, folder, cold) for _ in range(args.repeat)]
            seconds = [float(r["seconds"]) for r in runs]  # type: ignore[arg-type]
            notes = {str(r["note"]) for r in runs if "note" in r}
            noted = f"; {', '.join(notes)}" if notes else ""
            print(
                f"{kind}: rescan {statistics.median(seconds):.3f} s median "
                f"({', '.join(f'{s:.3f}' for s in seconds)}); unchanged "
                f"{sorted({r['unchanged'] for r in runs})}, LoRA files opened "
                f"{sorted({r['opened'] for r in runs})}{noted}"
            )


if __name__ == "__main__":
    main()
