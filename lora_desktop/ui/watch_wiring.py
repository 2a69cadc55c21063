"""The main window's library-folder features, wired in one place (issue 5).

Library → Folders…, Rescan and Locate missing…; a status-bar label saying what
the watcher is doing and how many rows are missing or unavailable; the watcher
started after the list's first paint and stopped when the window closes.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog, QLabel

from lora_desktop.ui.first_paint import FirstPaint
from lora_desktop.ui.idle_start import WhenIdle
from lora_desktop.ui.inspection_wiring import library_menu
from lora_desktop.ui.watch_bridge import WatchBridge

if TYPE_CHECKING:
    from lora_desktop.ui.folders_dialog import FoldersDialog
    from lora_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

MESSAGE_MS = 5000


class WatchFeatures(QObject):
    """Owns the watch bridge, the folders dialog and the Library menu's folder actions."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self._library = window.library
        self.bridge = WatchBridge(self._library, self)
        self.dialog: FoldersDialog | None = None
        self.status_label = QLabel(objectName="watchStatusLabel")
        self.status_label.setTextFormat(Qt.TextFormat.PlainText)
        window.statusBar().addPermanentWidget(self.status_label)

        menu = library_menu(window)
        menu.addSeparator()
        self.folders_action = QAction("&Folders…", self, objectName="foldersAction")
        self.folders_action.triggered.connect(self.show_folders)
        self.rescan_action = QAction("&Rescan", self, objectName="rescanAction")
        self.rescan_action.setShortcut(QKeySequence("F5"))
        self.rescan_action.triggered.connect(self.bridge.rescan)
        self.locate_action = QAction("&Locate missing…", self, objectName="locateMissingAction")
        self.locate_action.triggered.connect(self._on_locate_action_triggered)
        for action in (self.folders_action, self.rescan_action, self.locate_action):
            menu.addAction(action)
        window.addAction(self.rescan_action)

        self.bridge.status_changed.connect(self._on_bridge_status_changed)
        self.bridge.message.connect(self._on_bridge_message)
        window.bridge.changed.connect(self._on_library_changed)
        self._refresh_label()
        # Watching starts after the list's first paint (never before), at the artist's
        # first pause: the start-up reconcile reads and stats every row.
        self._idle = WhenIdle(self.start, self)
        self._first_paint = FirstPaint(window.list_view.viewport(), self._idle.start, self)

    def start(self) -> None:
        """Start the watcher and the start-up reconcile, in the background."""
        if not self._window.is_closed:
            self._first_paint.cancel()
            self._idle.cancel()
            self.bridge.start()

    def shutdown(self) -> None:
        """Stop the watcher and its work (before the library closes)."""
        self._first_paint.cancel()
        self._idle.cancel()
        self.bridge.shutdown()
        if self.dialog is not None:
            self.dialog.close()

    def show_folders(self) -> FoldersDialog:
        """Library → Folders…: open (or raise) the folders dialog."""
        if self.dialog is None:
            from lora_desktop.ui.folders_dialog import FoldersDialog  # not before first paint

            self.dialog = FoldersDialog(self._library, self._window)
            self.dialog.folders_changed.connect(self._on_dialog_folders_changed)
        self.dialog.refresh()
        if self.dialog.isVisible():
            self.dialog.raise_()  # open behind the window: bring it up
        else:
            self.dialog.show()
        return self.dialog

    def counts(self) -> tuple[int, int, int]:
        """(missing, unavailable, changed) rows in the list."""
        rows = self._window.model.rows
        missing = sum(1 for r in rows if r.file_status == "missing")
        unavailable = sum(1 for r in rows if r.file_status == "unavailable")
        changed = sum(1 for r in rows if r.file_status == "changed")
        return missing, unavailable, changed

    def _refresh_label(self) -> None:
        _missing, unavailable, changed = self.counts()
        parts = [self.bridge.last_status] if self.bridge.last_status else []
        if unavailable:
            parts.append(f"{unavailable:,} unavailable")
        if changed:
            parts.append(f"{changed:,} changed")
        self.status_label.setText(" · ".join(parts))

    # -- slots ----------------------------------------------------------------

    def _on_bridge_status_changed(self, _text: str) -> None:
        self._refresh_label()

    def _on_bridge_message(self, text: str) -> None:
        if not self._window.is_closed:
            self._window.statusBar().showMessage(text, MESSAGE_MS)

    def _on_library_changed(self, _changes: object) -> None:
        # After the window's own (zero-delay) update of the rows.
        QTimer.singleShot(0, self, self._refresh_label)

    def _on_dialog_folders_changed(self) -> None:
        self.bridge.refresh_folders()

    def _on_locate_action_triggered(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self._window, "Look for missing files in…", str(Path.home())
        )
        if folder:
            self.bridge.locate_missing(folder)
