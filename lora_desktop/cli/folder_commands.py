"""Library-folder commands: ``folders add|rm|list``, ``scan`` (no path), ``locate-missing``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from lora_desktop.services import folders
from lora_desktop.services.library import Library
from lora_desktop.services.reconcile import reconcile
from lora_desktop.services.relink import confirm_relinked, locate_missing

Printer = Callable[[argparse.Namespace, Any, str], None]


def add_parsers(command: Callable[[str, str], argparse.ArgumentParser]) -> None:
    """Add ``folders`` and ``locate-missing`` to the parser."""
    p = command("folders", "library folders the window watches: folders add|rm|list")
    sub = p.add_subparsers(dest="folders_action", metavar="ACTION")
    add = sub.add_parser("add", help="watch a folder (new files imported unless --no-auto-import)")
    add.add_argument("path", metavar="PATH")
    add.add_argument(
        "--no-auto-import", action="store_true", help="follow files, but don't import new ones"
    )
    add.add_argument("--auto-import", action="store_true", help="turn importing back on")
    rm = sub.add_parser("rm", help="stop watching a folder (its adapters stay)")
    rm.add_argument("path", metavar="PATH_OR_ID")
    sub.add_parser("list", help="list the library folders")
    p = command("locate-missing", "search a folder for missing files and relink them by hash")
    p.add_argument("folder", metavar="FOLDER")


def _line(folder: Any) -> str:
    auto = "auto-import" if folder.auto_import else "no auto-import"
    state = "" if folder.exists else "  (unavailable)"
    return f"{folder.path}  [{auto}]{state}"


def cmd_folders(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``folders add|rm|list``."""
    action = args.folders_action or "list"
    if action == "add":
        existing = {f.path: f for f in folders.list_folders(lib)}
        from lora_desktop.services.registration import normalise_path

        path = normalise_path(args.path)
        if path in existing and (args.no_auto_import or args.auto_import):
            # Already there: the option toggles auto-import.
            folder = folders.set_auto_import(lib, path, not args.no_auto_import)
        else:
            folder = folders.add_folder(lib, args.path, auto_import=not args.no_auto_import)
        show(args, folder, f"watching {_line(folder)}")
        return 0
    if action == "rm":
        folder = folders.remove_folder(lib, args.path)
        show(args, folder, f"no longer watching {folder.path}")
        return 0
    items = folders.list_folders(lib)
    show(args, items, "\n".join(_line(f) for f in items) or "no library folders")
    return 0


def cmd_reconcile(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``scan`` without a path: check every row against the disk, import new files."""
    report = reconcile(lib)
    confirm_relinked(lib, report.relinked)
    counts = (
        f"{len(report.missing)} missing, {len(report.unavailable)} unavailable, "
        f"{len(report.restored)} back, {len(report.changed)} changed, "
        f"{len(report.relinked)} relinked, {len(report.added)} added, "
        f"{report.unchanged} unchanged"
    )
    show(args, report, counts)
    return 0


def cmd_locate_missing(lib: Library, args: argparse.Namespace, show: Printer) -> int:
    """``locate-missing FOLDER``: relink missing files found in FOLDER (by size and hash)."""
    import os

    if not os.path.isdir(args.folder):
        from lora_desktop.services.errors import FileProblem

        raise FileProblem(f"{args.folder} is not a folder")
    ids = locate_missing(lib, args.folder)
    differed = confirm_relinked(lib, ids)
    text = f"{len(ids)} relinked"
    if differed:
        text += f" ({len(differed)} with a different full hash: stored anew)"
    show(args, {"relinked": ids, "hash_differed": differed}, text)
    return 0
