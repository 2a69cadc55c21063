"""File-inspection commands: ``scan``, ``hash``, ``rescan`` and ``list --duplicates``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from lora_desktop.cli import output
from lora_desktop.services.inspect.hash_service import hash_adapter, hash_pending
from lora_desktop.services.inspect.library_scan import find_duplicates, rescan, scan_path
from lora_desktop.services.library import Library

Printer = Callable[[argparse.Namespace, Any, str], None]


def add_parsers(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add the file-inspection sub-commands to the parser."""
    p = command(
        "scan",
        "with PATH: inspect a registered file, or every one under a folder, again; "
        "without: check every file against the disk (missing, moved, changed, new files "
        "in library folders)",
    )
    p.add_argument("path", nargs="?", metavar="PATH")
    p.add_argument(
        "--reimport", action="store_true", help="let sidecars override fields you edited"
    )
    p = command("hash", "hash one adapter's file, or (--all) every file whose hash is pending")
    p.add_argument("ref", nargs="?", metavar="ID_OR_NAME")
    p.add_argument("--all", action="store_true", help="every pending file (the default)")
    p.add_argument("--workers", type=int, default=2, help="threads: 1 for a spinning disk")
    command("rescan", "stat every file: mark missing ones, re-inspect changed ones")


def cmd_scan(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``scan PATH``: re-inspect registered files; ``scan``: reconcile the library."""
    if args.path is None:
        from lora_desktop.cli.folder_commands import cmd_reconcile

        return cmd_reconcile(lib, args, show)
    items = scan_path(lib, args.path, reimport=args.reimport)
    lines = [f"{a.name}: {a.inspect_error}" if a.inspect_error else f"{a.name}: ok" for a in items]
    lines.append(f"{len(items)} re-inspected")
    show(args, items, "\n".join(lines))
    return 0


def cmd_hash(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``hash [ID_OR_NAME] [--all]``: hash and report."""
    if args.ref and not args.all:
        adapter = hash_adapter(lib, args.ref)
        show(args, adapter, output.adapter_text(adapter))
        return 0

    def progress(files: int, total: int, done: int, size: int) -> None:
        if not args.json and sys.stderr.isatty():
            print(
                f"\r{files}/{total} files, {done / 2**20:,.0f}/{size / 2**20:,.0f} MiB",
                end="",
                file=sys.stderr,
            )

    report = hash_pending(lib, progress=progress, workers=args.workers)
    lines = [f"failed: {line}" for line in report.failed]
    lines.append(
        f"{report.hashed} hashed, {report.incomplete} incomplete, {len(report.failed)} failed "
        f"({report.bytes / 2**20:,.0f} MiB)"
    )
    show(args, report, "\n".join(lines))
    return 0 if not report.failed else 1


def cmd_rescan(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``rescan``: stat every file."""
    report = rescan(lib)
    show(
        args,
        report,
        f"{len(report.reinspected)} re-inspected, {len(report.missing)} missing, "
        f"{len(report.restored)} back, {report.unchanged} unchanged",
    )
    return 0


def print_duplicates(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``list --duplicates``: groups of adapters with the same content."""
    groups = find_duplicates(lib)
    labels = {"same_file": "same file", "same_weights": "same weights, different metadata"}
    lines = [f"{labels[g.kind]} ({g.hash[:12]}): {', '.join(g.names)}" for g in groups]
    show(args, groups, "\n".join(lines) or "no duplicates")
    return 0
