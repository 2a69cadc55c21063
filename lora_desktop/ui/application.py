"""Running the app: the QApplication, the main window, the event loop, the exit status."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from lora_desktop.services.errors import DomainError
from lora_desktop.ui.main_window import build_main_window
from lora_desktop.ui.settings import APPLICATION, ORGANISATION

log = logging.getLogger(__name__)

HEADLESS_PLATFORMS = ("offscreen", "minimal")


def _headless(app: QApplication) -> bool:
    return app.platformName() in HEADLESS_PLATFORMS


def _start_delivery_log() -> None:
    """Delivery events go to their rotating log file (at GUI start-up, never at import)."""
    from lora_desktop.services.delivery_log import setup_delivery_log

    try:
        setup_delivery_log()
    except OSError as exc:  # a read-only home must not keep the window from opening
        log.warning("delivery log unavailable: %s", exc)


def run_application(database: str | os.PathLike[str] | None) -> int:
    """Show the window on ``database`` and run until it closes; return the exit status.

    A library that cannot be opened (or is open in another window) is reported in
    a message box (on stderr too) and gives status 1.
    """
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv[:1])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationDisplayName("LoRA Desk")
    _start_delivery_log()
    try:
        window = build_main_window(database)
    except DomainError as exc:
        problem = exc.to_problem()
        print(f"lora-desktop: {problem['title']}: {exc.detail}", file=sys.stderr)  # noqa: T201
        if not _headless(app):  # nobody could dismiss a box without a display
            box = QMessageBox(QMessageBox.Icon.Critical, str(problem["title"]), exc.detail)
            box.setTextFormat(Qt.TextFormat.PlainText)  # a path may look like HTML
            box.exec()
        return 1
    # Ctrl+C in the terminal quits cleanly: Python handles signals only when it
    # runs, so wake it up now and then.
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    wake = QTimer()
    wake.timeout.connect(lambda: None)
    wake.start(250)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    # Objects made at start-up (Qt wrappers, modules, the ORM) live as long as the app:
    # keep them out of full collections, whose pauses would otherwise make the window
    # late while deliveries churn out short-lived objects.
    gc.freeze()
    status = app.exec()
    window.shutdown()
    return int(status)
