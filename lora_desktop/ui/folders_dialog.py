"""Library → Folders…: the folders the app watches, each with "import new files" on or off."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.schemas import LibraryFolderOut
from lora_desktop.services import folders as folder_service
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library

log = logging.getLogger(__name__)

PATH_ROLE = Qt.ItemDataRole.UserRole + 1
COL_PATH, COL_AUTO, COL_STATE = range(3)


class FoldersDialog(QDialog):
    """Add and remove library folders; toggle auto-import. Changes are saved at once."""

    folders_changed = Signal()
    """A folder was added, removed or toggled (the watcher must follow)."""

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("foldersDialog")
        self.setWindowTitle("Library folders")
        self._library = library
        self.table = QTableWidget(0, 3, objectName="foldersTable")
        self.table.setHorizontalHeaderLabels(["Folder", "Import new files", "State"])
        self.table.horizontalHeader().setSectionResizeMode(COL_PATH, QHeaderView.ResizeMode.Stretch)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.add_button = QPushButton("&Add folder…", objectName="addFolderButton")
        self.remove_button = QPushButton("&Remove", objectName="removeFolderButton")
        self.error_label = QLabel(objectName="foldersError")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #c0392b")
        hint = QLabel(
            "The app follows files moved, renamed or deleted in these folders. "
            "With “Import new files” on, files copied in are added once fully written."
        )
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.error_label)
        layout.addLayout(buttons)
        layout.addWidget(close)
        self.resize(640, 320)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.table.itemChanged.connect(self._on_table_item_changed)
        self.refresh()

    def refresh(self) -> None:
        """Show the stored folders."""
        items = folder_service.list_folders(self._library)
        self.table.blockSignals(True)
        self.table.setRowCount(len(items))
        for row, folder in enumerate(items):
            self._fill(row, folder)
        self.table.blockSignals(False)

    def _fill(self, row: int, folder: LibraryFolderOut) -> None:
        path = QTableWidgetItem(folder.path)
        path.setData(PATH_ROLE, folder.path)
        path.setToolTip(folder.path)
        auto = QTableWidgetItem()
        auto.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsUserCheckable)
        auto.setCheckState(Qt.CheckState.Checked if folder.auto_import else Qt.CheckState.Unchecked)
        auto.setData(PATH_ROLE, folder.path)
        state = QTableWidgetItem("watched" if folder.exists else "unavailable")
        self.table.setItem(row, COL_PATH, path)
        self.table.setItem(row, COL_AUTO, auto)
        self.table.setItem(row, COL_STATE, state)

    def add_path(self, path: str, *, auto_import: bool = True) -> bool:
        """Add ``path`` as a library folder; a refusal is shown in the dialog."""
        try:
            folder_service.add_folder(self._library, path, auto_import=auto_import)
        except DomainError as exc:
            self.error_label.setText(exc.detail)
            return False
        self.error_label.clear()
        self.refresh()
        self.folders_changed.emit()
        return True

    def remove_path(self, path: str) -> bool:
        """Stop watching ``path`` (its adapters stay in the library)."""
        try:
            folder_service.remove_folder(self._library, path)
        except DomainError as exc:
            self.error_label.setText(exc.detail)
            return False
        self.error_label.clear()
        self.refresh()
        self.folders_changed.emit()
        return True

    def set_auto_import(self, path: str, on: bool) -> None:
        """Turn importing of new files on or off for ``path``."""
        for row in range(self.table.rowCount()):
            item = self.table.item(row, COL_AUTO)
            if item is not None and item.data(PATH_ROLE) == path:
                item.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def _on_add_button_clicked(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Watch a folder of LoRA files", str(Path.home())
        )
        if folder:
            self.add_path(folder)

    def _on_remove_button_clicked(self) -> None:
        row = self.table.currentRow()
        item = self.table.item(row, COL_PATH) if row >= 0 else None
        if item is not None:
            self.remove_path(str(item.data(PATH_ROLE)))

    def _on_table_item_changed(self, item: QTableWidgetItem) -> None:
        if item.column() != COL_AUTO:
            return
        on = item.checkState() == Qt.CheckState.Checked
        try:
            folder_service.set_auto_import(self._library, str(item.data(PATH_ROLE)), on)
        except DomainError as exc:
            self.error_label.setText(exc.detail)
            return
        self.folders_changed.emit()
