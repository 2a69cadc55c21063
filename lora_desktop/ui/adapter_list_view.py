"""The adapter list's view: a flat, multi-column list with drag-reorder and key actions."""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QKeyEvent, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableView

from lora_desktop.services.window_busy import WindowBusy
from lora_desktop.ui.adapter_list_model import ID_ROLE
from lora_desktop.ui.adapter_rows import COL_NAME, COL_PREVIEW, COL_STATUS, COL_TAGS, COL_WEIGHT
from lora_desktop.ui.thumbnails import LIST_SIZE

log = logging.getLogger(__name__)

EMPTY_LIBRARY_HINT = "Drop LoRA files or folders here\nor use File → Add files…"
NO_MATCH_HINT = "No adapter matches the filter"


class AdapterListView(QTableView):
    """Rows of adapters: Space toggles active, Delete deletes, Enter opens the editor."""

    toggle_requested = Signal()
    delete_requested = Signal()
    edit_requested = Signal()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setObjectName("adapterList")
        self._paint_marker: WindowBusy | None = None
        # A table, not a tree: a tree asks the model about every row to lay out,
        # which costs a second on 50,000 rows. Every row is one fixed line high,
        # so a 10,000-character name is elided instead of growing its row.
        rows = self.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        # Tall enough for a compact thumbnail; still one line of text.
        rows.setDefaultSectionSize(max(self.fontMetrics().height() + 8, LIST_SIZE + 4))
        self.setIconSize(QSize(LIST_SIZE, LIST_SIZE))
        self.setShowGrid(False)
        self.setWordWrap(False)
        self.setCornerButtonEnabled(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setHighlightSections(False)
        self.horizontalHeader().setDefaultAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setDragEnabled(True)
        self.setAcceptDrops(True)
        self.setDropIndicatorShown(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.setDefaultDropAction(Qt.DropAction.MoveAction)
        self._empty_hint = EMPTY_LIBRARY_HINT

    def setModel(self, model: Any) -> None:
        """QAbstractItemView.setModel, then size the columns."""
        super().setModel(model)
        header = self.horizontalHeader()
        header.setStretchLastSection(False)
        header.setSectionResizeMode(COL_NAME, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(COL_WEIGHT, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_TAGS, QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_STATUS, QHeaderView.ResizeMode.Interactive)
        metrics = self.fontMetrics()
        header.resizeSection(COL_WEIGHT, metrics.horizontalAdvance("Weight") + 28)
        header.resizeSection(COL_TAGS, metrics.horizontalAdvance("x" * 22))
        header.resizeSection(COL_STATUS, metrics.horizontalAdvance("missing · dup") + 24)
        # The thumbnail column is the model's last; it shows first.
        header.setSectionResizeMode(COL_PREVIEW, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(COL_PREVIEW, LIST_SIZE + 8)
        if header.visualIndex(COL_PREVIEW) != 0:
            header.moveSection(header.visualIndex(COL_PREVIEW), 0)

    def set_empty_hint(self, text: str) -> None:
        """The text shown when no row is visible."""
        if text != self._empty_hint:
            self._empty_hint = text
            self.viewport().update()

    def selected_ids(self) -> list[str]:
        """The selected adapters' ids, in list order."""
        selection = self.selectionModel()
        if selection is None:
            return []
        rows = sorted(selection.selectedRows(COL_NAME), key=lambda i: i.row())
        return [str(i.data(ID_ROLE)) for i in rows]

    def current_id(self) -> str | None:
        """The current row's adapter id, if any."""
        index = self.currentIndex()
        return str(index.data(ID_ROLE)) if index.isValid() else None

    def keyPressEvent(self, event: QKeyEvent) -> None:
        """QWidget.keyPressEvent: Space, Delete and Enter act on the selection."""
        key = event.key()
        plain = event.modifiers() in (
            Qt.KeyboardModifier.NoModifier,
            Qt.KeyboardModifier.KeypadModifier,
        )
        if plain and key == Qt.Key.Key_Space:
            self.toggle_requested.emit()
        elif plain and key == Qt.Key.Key_Delete:
            self.delete_requested.emit()
        elif plain and key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.edit_requested.emit()
        else:
            super().keyPressEvent(event)
            return
        event.accept()

    def set_paint_marker(self, marker: WindowBusy | None) -> None:
        """Mark each paint on ``marker`` (background loops step aside meanwhile)."""
        self._paint_marker = marker

    def paintEvent(self, event: QPaintEvent) -> None:
        """QAbstractScrollArea.paintEvent: the rows, or a hint when there are none."""
        marker = self._paint_marker
        if marker is None:
            super().paintEvent(event)
        else:
            with marker.painting():
                super().paintEvent(event)
        model = self.model()
        if model is not None and model.rowCount() > 0:
            return
        painter = QPainter(self.viewport())
        try:
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            font = painter.font()
            font.setPointSizeF(font.pointSizeF() * 1.25)
            painter.setFont(font)
            area = QRect(self.viewport().rect()).adjusted(24, 24, -24, -24)
            painter.drawText(
                area, int(Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap), self._empty_hint
            )
        finally:
            painter.end()
