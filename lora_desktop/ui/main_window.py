"""The main window: adapter list (left), detail editor (right), compose panel (bottom)."""

from __future__ import annotations

import logging
import os

from PySide6.QtCore import QLockFile, QModelIndex, QSettings, Qt, QTimer, QUrl
from PySide6.QtGui import QCloseEvent, QShowEvent, QUndoStack
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.schemas import RegisterReport
from lora_desktop.services.library import ChangeSet, Library, open_library
from lora_desktop.ui import window_settings
from lora_desktop.ui.adapter_filter import AdapterFilterProxy
from lora_desktop.ui.adapter_list_model import AdapterListModel
from lora_desktop.ui.adapter_list_view import EMPTY_LIBRARY_HINT, NO_MATCH_HINT, AdapterListView
from lora_desktop.ui.compose_panel import ComposePanel
from lora_desktop.ui.delete_command import DeleteAdaptersCommand
from lora_desktop.ui.deliveries_wiring import DeliveryFeatures
from lora_desktop.ui.detail_editor import DetailEditor
from lora_desktop.ui.drop_import import FileDropFilter, ImportController
from lora_desktop.ui.file_edit_menus import FileEditMenus
from lora_desktop.ui.first_paint import FirstPaint
from lora_desktop.ui.import_report import ImportReportDialog
from lora_desktop.ui.import_status import ImportStatus
from lora_desktop.ui.inspection_wiring import InspectionFeatures
from lora_desktop.ui.instance_lock import acquire_library_lock
from lora_desktop.ui.library_bridge import LibraryBridge
from lora_desktop.ui.watch_wiring import WatchFeatures
from lora_desktop.ui.workers import JobRunner

log = logging.getLogger(__name__)

MESSAGE_MS = 5000
ALL_TAGS = ""


def build_main_window(database: str | os.PathLike[str] | None) -> MainWindow:
    """Open the library at ``database`` (path, URL, or None for the default) in a window.

    The window holds the library's lock until it is closed. A QApplication must exist.

    Raises:
        lora_desktop.services.errors.LibraryUnavailable: the library cannot be opened.
        lora_desktop.ui.instance_lock.LibraryAlreadyOpen: another window has it open.
    """
    library = open_library(database)
    try:
        lock = acquire_library_lock(library.db.path)
    except Exception:
        library.close()
        raise
    library.start_background_checkpoints()  # commits never wait for a log checkpoint
    return MainWindow(library, lock)


class MainWindow(QMainWindow):
    """The window an artist lives in; closing it stops background work and frees the lock."""

    def __init__(self, library: Library, lock: QLockFile | None = None) -> None:
        super().__init__()
        self.setObjectName("MainWindow")
        self._library = library
        self._lock = lock
        self._closed = False
        self._pending_changes: list[ChangeSet] = []
        name = library.db.path.name if library.db.path else library.db.url
        self.setWindowTitle(f"LoRA Desk — {name}")

        self.runner = JobRunner(self)
        self.imports = ImportController(library, self.runner, self)
        self.model = AdapterListModel(library, self)
        self.model.load()
        self.proxy = AdapterFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.undo_stack = QUndoStack(self)
        self._changes_timer = QTimer(self)
        self._changes_timer.setSingleShot(True)
        self._changes_timer.setInterval(0)
        self._changes_timer.timeout.connect(self._on_changes_timer_timeout)

        self._build_widgets()
        self.menus = FileEditMenus(self)  # File and Edit, before the features' menus
        self.import_status = ImportStatus(self)
        status = self.import_status  # its widgets keep their names on the window
        self.import_summary, self.import_details_button = status.summary, status.details_button
        self.import_progress = status.progress
        self.counts_label = QLabel(objectName="countsLabel")
        self.counts_label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addPermanentWidget(self.counts_label)
        self._splitter_states, self._wanted_tag = window_settings.restore_settings(self)
        self._refresh_tags()
        self._refresh_counts()
        self.compose_panel.schedule_refresh()  # after the first paint
        self._warm_saves = FirstPaint(self.list_view.viewport(), self.model.warm_up_saves, self)
        self.model.rows_reloaded.connect(self._on_model_rows_reloaded)

        self.bridge = LibraryBridge(library, self)
        self.bridge.changed.connect(self._on_bridge_changed)
        self.bridge.attach()
        self.drop_filter = FileDropFilter(self)
        self.drop_filter.watch(self)
        self.drop_filter.urls_dropped.connect(self._on_drop_filter_urls_dropped)
        self.inspection = InspectionFeatures(self)
        self.watch = WatchFeatures(self)  # library folders (issue 5)
        self.deliveries = DeliveryFeatures(self)

    # -- construction -------------------------------------------------------

    def _build_widgets(self) -> None:
        self.search_field = QLineEdit(objectName="searchField")
        self.search_field.setPlaceholderText("Search name, tags, version, trigger words  (Ctrl+F)")
        self.search_field.setClearButtonEnabled(True)
        self.active_only_toggle = QCheckBox("Active only", objectName="activeOnlyToggle")
        self.active_only_toggle.setToolTip("Show only the compose stack")
        self.tag_filter = QComboBox(objectName="tagFilter")
        self.tag_filter.setMinimumContentsLength(12)
        self.tag_filter.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.tag_filter.addItem("All tags", ALL_TAGS)
        self.list_view = AdapterListView()
        self.list_view.setModel(self.proxy)
        self.list_view.set_paint_marker(self._library.window_busy)

        filters = QHBoxLayout()
        filters.setSpacing(8)
        filters.addWidget(self.search_field, 1)
        filters.addWidget(self.tag_filter)
        filters.addWidget(self.active_only_toggle)
        left = QWidget(objectName="listPanel")
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 4)
        left_layout.setSpacing(6)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.list_view, 1)

        self.editor = DetailEditor(self._library)
        self.compose_panel = ComposePanel(self._library)

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal, objectName="mainSplitter")
        self.main_splitter.addWidget(left)
        self.main_splitter.addWidget(self.editor)
        self.main_splitter.setStretchFactor(0, 3)
        self.main_splitter.setStretchFactor(1, 2)
        self.main_splitter.setChildrenCollapsible(False)
        self.side_splitter = QSplitter(Qt.Orientation.Vertical, objectName="sideSplitter")
        self.side_splitter.addWidget(self.main_splitter)
        self.side_splitter.addWidget(self.compose_panel)
        self.side_splitter.setStretchFactor(0, 3)
        self.side_splitter.setStretchFactor(1, 1)
        self.side_splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.side_splitter)
        self.resize(1180, 760)
        self.main_splitter.setSizes([680, 500])
        self.side_splitter.setSizes([560, 200])

        self.search_field.textChanged.connect(self._on_search_field_text_changed)
        self.active_only_toggle.toggled.connect(self._on_active_only_toggle_toggled)
        self.tag_filter.currentIndexChanged.connect(self._on_tag_filter_current_index_changed)
        self.list_view.selectionModel().currentRowChanged.connect(
            self._on_list_view_current_row_changed
        )
        self.list_view.toggle_requested.connect(self.toggle_selected)
        self.list_view.delete_requested.connect(self.delete_selected)
        self.list_view.edit_requested.connect(self.focus_editor)
        self.list_view.doubleClicked.connect(lambda _index: self.focus_editor())
        self.model.error_occurred.connect(self._show_message)
        self.editor.message.connect(self._show_message)
        self.compose_panel.copied.connect(self._on_compose_panel_copied)

    def save_settings(self, settings: QSettings | None = None) -> None:
        """Remember geometry, splitters, the filter and the compose fields."""
        window_settings.save_settings(self, settings)

    # -- actions ------------------------------------------------------------

    def toggle_selected(self) -> None:
        """Space: activate the selection, or deactivate it if all of it is active."""
        ids = self.list_view.selected_ids()
        if not ids:
            return
        rows = [self.model.row_at(self.model.row_of(i)) for i in ids]
        self.model.set_active(ids, not all(r.active for r in rows))

    def delete_selected(self) -> None:
        """Delete: soft-delete the selection (Ctrl+Z restores it)."""
        ids = self.list_view.selected_ids()
        if not ids:
            return
        names = [self.model.row_at(self.model.row_of(i)).name for i in ids]
        self.undo_stack.push(DeleteAdaptersCommand(self._library, ids, names, self._show_message))
        shown = names[0] if len(names) == 1 else f"{len(names)} adapters"
        self._show_message(f"Deleted {shown}. Ctrl+Z restores.")

    def focus_editor(self) -> None:
        """Enter: put the keyboard in the editor's name field."""
        if self.editor.adapter_id is None:
            return
        self.editor.name_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.editor.name_edit.selectAll()

    def focus_search(self) -> None:
        """Ctrl+F: put the keyboard in the search field."""
        self.search_field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search_field.selectAll()

    def select_adapter(self, adapter_id: str) -> bool:
        """Make ``adapter_id`` the current, only selected row (False if not shown)."""
        index = self.proxy.mapFromSource(self.model.index_of(adapter_id))
        if not index.isValid():
            return False
        self.list_view.setCurrentIndex(index)
        self.list_view.scrollTo(index)
        return True

    def import_paths(self, paths: list[str]) -> None:
        """Register files and folders in the background (what a drop does)."""
        self.imports.import_paths(paths)

    def import_urls(self, urls: list[QUrl]) -> None:
        """Register dropped URLs: local files and folders; others are reported."""
        self.imports.import_urls(urls)

    def show_import_report(self) -> None:
        """Open (or raise) the non-modal list of the last import's reasons."""
        self.import_status.show_report()

    @property
    def last_report(self) -> RegisterReport | None:
        """What the last import did (None before the first)."""
        return self.import_status.last_report

    @property
    def report_dialog(self) -> ImportReportDialog | None:
        """The import report dialog, once opened."""
        return self.import_status.report_dialog

    # -- closing ------------------------------------------------------------

    def showEvent(self, event: QShowEvent) -> None:
        """QWidget.showEvent: put the remembered splitter positions back, once."""
        super().showEvent(event)
        states, self._splitter_states = self._splitter_states, []
        window_settings.restore_splitters(self, states)

    def closeEvent(self, event: QCloseEvent) -> None:
        """QWidget.closeEvent: stop background work, save state, release the library."""
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Stop workers (late results ignored), save settings, close the library, unlock."""
        if self._closed:
            return
        self._closed = True
        self._warm_saves.cancel()
        self._changes_timer.stop()
        self.compose_panel.cancel_refresh()
        self.bridge.detach()
        self.watch.shutdown()
        self.inspection.shutdown()
        self.deliveries.shutdown()
        self.runner.shutdown()
        self.model.shutdown()
        try:
            self.save_settings()
        except Exception:  # never keep a window from closing
            log.exception("could not save the window's settings")
        self.import_status.shutdown()
        self.undo_stack.clear()
        self._library.close()
        if self._lock is not None:
            self._lock.unlock()
            self._lock = None

    @property
    def library(self) -> Library:
        """The library this window shows (changes made through it show at once)."""
        return self._library

    @property
    def is_closed(self) -> bool:
        """Whether the window let go of its library."""
        return self._closed

    # -- refreshing ---------------------------------------------------------

    def _refresh_counts(self) -> None:
        total, active, missing = self.model.counts()
        shown = self.proxy.rowCount()
        text = f"{total:,} adapters · {active:,} active · {missing:,} missing"
        if shown != total:
            text = f"{shown:,} shown · " + text
        self.counts_label.setText(text)
        self.list_view.set_empty_hint(NO_MATCH_HINT if total else EMPTY_LIBRARY_HINT)

    def _refresh_tags(self) -> None:
        wanted = self.proxy.tag or getattr(self, "_wanted_tag", "")
        tags = self.model.all_tags()
        if [self.tag_filter.itemData(i) for i in range(1, self.tag_filter.count())] != tags:
            self.tag_filter.blockSignals(True)
            self.tag_filter.clear()
            self.tag_filter.addItem("All tags", ALL_TAGS)
            for tag in tags:
                self.tag_filter.addItem(tag, tag)
            self.tag_filter.blockSignals(False)
        position = self.tag_filter.findData(wanted) if wanted else 0
        self.tag_filter.setCurrentIndex(max(position, 0))
        self.proxy.set_filter(tag=wanted if position > 0 else ALL_TAGS)
        self._wanted_tag = ""

    def _show_message(self, text: str) -> None:
        self.statusBar().showMessage(text, MESSAGE_MS)

    # -- slots ------------------------------------------------------------

    def _on_bridge_changed(self, changes: object) -> None:
        if self._closed or not isinstance(changes, ChangeSet):
            return
        if not (changes.added or changes.updated or changes.removed or changes.reordered):
            return  # delivery jobs only: the deliveries panel follows those
        self._pending_changes.append(changes)
        self._changes_timer.start()

    def _on_changes_timer_timeout(self) -> None:
        if self._closed:
            return
        pending, self._pending_changes = self._pending_changes, []
        current = self.list_view.current_id()
        touched: set[str] = set()
        for changes in pending:
            self.model.apply_changes(changes)
            touched.update(changes.updated, changes.added, changes.removed)
        if current is not None and self.list_view.current_id() != current:
            self.select_adapter(current)
        editing = self.editor.adapter_id
        if editing is not None and (editing in touched or any(c.reordered for c in pending)):
            if self.model.row_of(editing) < 0:
                self.editor.show_adapter(self.list_view.current_id())
            else:
                self.editor.refresh()
        self._refresh_tags()
        self._refresh_counts()
        self.compose_panel.schedule_refresh()

    def _on_model_rows_reloaded(self) -> None:
        if not self._closed:
            self._refresh_tags()
            self._refresh_counts()
            self.compose_panel.schedule_refresh()

    def _on_list_view_current_row_changed(
        self, current: QModelIndex, _previous: QModelIndex
    ) -> None:
        adapter_id = self.list_view.current_id() if current.isValid() else None
        if adapter_id != self.editor.adapter_id:
            if self.editor.is_dirty:
                self._show_message("Unsaved edits were discarded (Save before moving on).")
            self.editor.show_adapter(adapter_id)

    def _on_search_field_text_changed(self, text: str) -> None:
        self.proxy.set_filter(search=text)
        self._refresh_counts()

    def _on_active_only_toggle_toggled(self, checked: bool) -> None:
        self.proxy.set_filter(active_only=checked)
        self._refresh_counts()

    def _on_tag_filter_current_index_changed(self, _index: int) -> None:
        tag = self.tag_filter.currentData()
        self.proxy.set_filter(tag=tag if isinstance(tag, str) else ALL_TAGS)
        self._refresh_counts()

    def _on_compose_panel_copied(self, prompt: str) -> None:
        shown = prompt if len(prompt) <= 80 else prompt[:77] + "…"
        self._show_message(f"Copied to the clipboard: {shown}")

    def _on_drop_filter_urls_dropped(self, urls: list[QUrl]) -> None:
        if not self._closed:
            self.import_urls(urls)
