"""The main window's file-inspection features, wired in one place.

Thumbnails in the list and the editor's preview (started after the first paint:
no thumbnail work delays it), background hashing at start-up and after every
import with its status-bar progress, Library → Find duplicates, Library → Hash
pending files, and the confirmation before a dangerous adapter is activated.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QMessageBox

from lora_desktop.services import adapters as adapter_service
from lora_desktop.services.errors import NotFound
from lora_desktop.services.library import Library
from lora_desktop.ui.dangerous_confirm import ask_activate_dangerous
from lora_desktop.ui.duplicates_dialog import DuplicatesDialog
from lora_desktop.ui.first_paint import FirstPaint
from lora_desktop.ui.hash_progress import HashController, HashProgressWidget
from lora_desktop.ui.idle_start import WhenIdle
from lora_desktop.ui.thumbnails import InlineLookup, ThumbnailLoader

if TYPE_CHECKING:
    from lora_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

LIBRARY_MENU = "&Library"
START_HASH_IDLE_MS = 2000
"""Start-up hashing begins this long after the first paint."""


def library_menu(window: MainWindow) -> QMenu:
    """The window's Library menu (made on first use, shared by every feature)."""
    bar = window.menuBar()
    for action in bar.actions():
        menu = action.menu()
        if isinstance(menu, QMenu) and action.text() == LIBRARY_MENU:
            return menu
    return bar.addMenu(LIBRARY_MENU)


def inline_lookup(library: Library) -> InlineLookup:
    """A pool-thread lookup of an adapter's file path and inline header thumbnail."""
    from lora_desktop.services.thumbnail_source import thumbnail_source

    def lookup(adapter_id: str) -> tuple[str, bytes | None] | None:
        return thumbnail_source(library, adapter_id)

    return lookup


class InspectionFeatures(QObject):
    """Owns the thumbnail loader, the hash controller and the duplicates dialog."""

    def __init__(self, window: MainWindow, *, hash_at_start: bool = True) -> None:
        super().__init__(window)
        self._window = window
        self._library = window.library
        self._hash_at_start = hash_at_start
        self.thumbnails = ThumbnailLoader(inline=inline_lookup(self._library), parent=self)
        self.hashing = HashController(self._library, self)
        self.hash_widget = HashProgressWidget(self.hashing)
        window.statusBar().addPermanentWidget(self.hash_widget)
        self.duplicates_dialog: DuplicatesDialog | None = None
        self.dangerous_box: QMessageBox | None = None

        menu = library_menu(window)
        self.find_duplicates_action = QAction("Find &duplicates…", self)
        self.find_duplicates_action.triggered.connect(self.show_duplicates)
        self.hash_action = QAction("&Hash pending files", self)
        self.hash_action.triggered.connect(self.hashing.start)
        menu.addAction(self.find_duplicates_action)
        menu.addAction(self.hash_action)

        window.model.dangerous_activation_requested.connect(
            self._on_model_dangerous_activation_requested
        )
        window.editor.inspection.adapter_link_activated.connect(self._on_link_activated)
        window.imports.idle.connect(self._on_imports_idle)
        self.hashing.finished.connect(self._on_hashing_finished)
        self.hashing.failed.connect(self._on_hashing_failed)
        # Thumbnails and start-up hashing begin once the list has painted.
        self._first_paint = FirstPaint(window.list_view.viewport(), self._on_first_paint, self)
        self._hash_when_idle = WhenIdle(
            self._on_start_hash_timeout, self, idle_ms=START_HASH_IDLE_MS
        )

    def _on_first_paint(self) -> None:
        self.start()
        # Hashing waits for the artist's first pause of START_HASH_IDLE_MS: the first
        # seconds of typing and dragging stay fluid.
        self._hash_when_idle.start()

    def start(self) -> None:
        """Show thumbnails and hash what is pending (normally right after the first paint)."""
        if self._window.is_closed:
            return
        self._first_paint.cancel()
        self._window.model.set_thumbnail_loader(self.thumbnails)
        self._window.editor.inspection.preview.set_loader(self.thumbnails)

    def _on_start_hash_timeout(self) -> None:
        if self._hash_at_start and not self._window.is_closed:
            self.hashing.start()

    def shutdown(self) -> None:
        """Cancel hashing and drop thumbnail work (before the library closes)."""
        self._first_paint.cancel()
        self._hash_when_idle.cancel()
        self.hashing.shutdown()
        self.thumbnails.shutdown()
        if self.duplicates_dialog is not None:
            self.duplicates_dialog.close()

    def show_duplicates(self) -> DuplicatesDialog:
        """Library → Find duplicates: open (or raise) the non-modal list of groups."""
        if self.duplicates_dialog is None:
            self.duplicates_dialog = DuplicatesDialog(self._library, self._window)
            self.duplicates_dialog.adapter_activated.connect(self._on_link_activated)
        self.duplicates_dialog.refresh()
        if self.duplicates_dialog.isVisible():
            self.duplicates_dialog.raise_()  # open behind the window: bring it up
        else:
            self.duplicates_dialog.show()
        return self.duplicates_dialog

    # -- slots ----------------------------------------------------------------

    def _on_link_activated(self, adapter_id: str) -> None:
        window = self._window
        if not window.select_adapter(adapter_id):
            window.search_field.clear()  # it may be filtered out: show everything
            window.active_only_toggle.setChecked(False)
            if not window.select_adapter(adapter_id):
                window.statusBar().showMessage("That adapter is not in the list.", 5000)

    def _on_imports_idle(self) -> None:
        if not self._window.is_closed:
            self.hashing.start()

    def _on_hashing_finished(self, report: object) -> None:
        failed = getattr(report, "failed", [])
        if getattr(report, "stopped", False):
            hashed = getattr(report, "hashed", 0)
            self._window.statusBar().showMessage(
                f"Hashing stopped after {hashed:,} file(s); the rest are hashed next time", 5000
            )
        elif failed:
            self._window.statusBar().showMessage(
                f"Hashing: {len(failed)} file(s) could not be read", 5000
            )

    def _on_hashing_failed(self, message: str) -> None:
        self._window.statusBar().showMessage(f"Hashing failed: {message}", 5000)

    def _on_model_dangerous_activation_requested(self, ids: list[str]) -> None:
        names: list[str] = []
        offending: list[str] = []
        for adapter_id in ids:
            try:
                adapter = adapter_service.get(self._library, adapter_id)
            except NotFound:
                continue
            names.append(adapter.name)
            offending.extend(adapter.dangerous_globals)
        if not names:
            return
        model = self._window.model
        chosen = list(ids)

        def confirmed() -> None:
            self.dangerous_box = None
            if not self._window.is_closed:
                model.set_active(chosen, True, confirm_dangerous=True)

        self.dangerous_box = ask_activate_dangerous(self._window, names, offending, confirmed)
