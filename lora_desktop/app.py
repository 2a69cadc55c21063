"""The composition root: parse the command line, open the library, run the window or a command.

Only this module sees every layer. Nothing heavy is imported until it is needed:
a command never loads Qt, and the window loads it only once.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from lora_desktop.cli.commands import parse, run

if TYPE_CHECKING:
    from PySide6.QtWidgets import QMainWindow


def create_main_window(database: str | os.PathLike[str]) -> QMainWindow:
    """Build the main window on the library at ``database`` (a file path or a database URL).

    The window holds the library's single-instance lock until it is closed. A
    QApplication must exist.

    Raises:
        lora_desktop.services.errors.DomainError: the library cannot be opened or is
            already open in another window.
    """
    from lora_desktop.ui.main_window import build_main_window

    return build_main_window(os.fspath(database) if isinstance(database, Path) else database)


def run_gui(database: str | None) -> int:
    """Start the window on ``database`` (None: the default library) and run the event loop."""
    from lora_desktop.ui.application import run_application

    return run_application(database)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``lora-desktop``: the window with no command, else the command line."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = parse(list(sys.argv[1:] if argv is None else argv))
    if args.command is None:
        return run_gui(args.database)
    return run(args)
