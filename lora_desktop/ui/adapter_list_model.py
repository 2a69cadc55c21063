"""The adapter list as a Qt item model: the rows of ``services.adapters.list_rows``.

One row per live adapter, in compose order. Column 0 carries the name (display
role) and the active flag (check-state role); the others show the weight, the
tags and the file status. The model keeps the rows only as the services'
frozen DTOs; every change goes through a service and comes back by the
library's change broadcast (``apply_changes``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QBrush, QColor

from lora_desktop.models.schemas import AdapterRow
from lora_desktop.services import adapters as adapter_service
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library
from lora_desktop.ui.adapter_reorder import ReorderMixin
from lora_desktop.ui.adapter_rows import (
    COL_NAME,
    COL_PREVIEW,
    COL_STATUS,
    COL_TAGS,
    COL_WEIGHT,
    HEADERS,
    format_weight,
    row_from_adapter,
)
from lora_desktop.ui.adapter_rows_sync import RowsSyncMixin
from lora_desktop.ui.call_pool import CallPool
from lora_desktop.ui.file_status_look import status_data
from lora_desktop.ui.order_saver import OrderSaver
from lora_desktop.ui.plain_text import plain_tooltip
from lora_desktop.ui.thumbnails import LIST_SIZE, ThumbnailLoader

log = logging.getLogger(__name__)

ID_ROLE = Qt.ItemDataRole.UserRole + 1
SEARCH_TEXT_ROLE = Qt.ItemDataRole.UserRole + 2
TAGS_ROLE = Qt.ItemDataRole.UserRole + 3
ACTIVE_ROLE = Qt.ItemDataRole.UserRole + 4

_MISSING_BRUSH = QBrush(QColor("#c0392b"))

Index = QModelIndex | QPersistentModelIndex

# flags() runs for every row the view lays out: build the values once.
_ROOT_FLAGS = Qt.ItemFlag.ItemIsDropEnabled
_CELL_FLAGS = (
    Qt.ItemFlag.ItemIsEnabled
    | Qt.ItemFlag.ItemIsSelectable
    | Qt.ItemFlag.ItemIsDragEnabled
    | Qt.ItemFlag.ItemNeverHasChildren
)
_NAME_FLAGS = _CELL_FLAGS | Qt.ItemFlag.ItemIsUserCheckable
_DISPLAY = Qt.ItemDataRole.DisplayRole
_CHECK = Qt.ItemDataRole.CheckStateRole
_DECORATION = Qt.ItemDataRole.DecorationRole


class AdapterListModel(ReorderMixin, RowsSyncMixin, QAbstractTableModel):
    """Every live adapter, in compose order, with drag-reorder saved as ordinals."""

    error_occurred = Signal(str)
    """A service refused a change made through the model (the message to show)."""
    order_saved = Signal(int)
    """A drag's new order is in the database (the number of ordinals it changed)."""
    dangerous_activation_requested = Signal(list)
    """Ids of dangerous adapters the artist tried to activate: ask, then
    ``set_active(ids, True, confirm_dangerous=True)``."""
    rows_reloaded = Signal()
    """Rows loaded in the background were applied (counts and tags may have changed)."""

    def __init__(self, library: Library, parent: Any = None) -> None:
        super().__init__(parent)
        self._library = library
        self._rows: list[AdapterRow] = []
        self._positions: dict[str, int] | None = None
        self._own_reorder: frozenset[str] | None = None
        self.generation = 0
        self._counts: tuple[int, tuple[int, int, int]] | None = None
        """Bumped by every change to the rows: filters cache per generation."""
        self._thumbnails: ThumbnailLoader | None = None
        self._shared: tuple[int, frozenset[str]] | None = None
        # Big refreshes (a hash run's results) load their rows on this pool, so the
        # GUI thread never waits for list_rows (0.13 s at 10,000 rows, 0.6 s at 50,000).
        self._loader = CallPool(self)
        self._reload_again = False
        self._saver = OrderSaver(library, self)
        self._saver.saved.connect(self._on_saver_saved)
        self._saver.failed.connect(self._on_saver_failed)
        self._reload_after_save = False

    # -- loading and lookup -------------------------------------------------

    def load(self) -> None:
        """Load every row from the library (a model reset)."""
        rows = adapter_service.list_rows(self._library)
        self.beginResetModel()
        self._rows = rows
        self._positions = None
        self.generation += 1
        self.endResetModel()

    @property
    def rows(self) -> Sequence[AdapterRow]:
        """The rows, in display order (do not mutate)."""
        return self._rows

    def row_at(self, row: int) -> AdapterRow:
        """The DTO shown at ``row``."""
        return self._rows[row]

    def row_of(self, adapter_id: str) -> int:
        """The row showing ``adapter_id``, or -1."""
        if self._positions is None:
            self._positions = {r.id: i for i, r in enumerate(self._rows)}
        return self._positions.get(adapter_id, -1)

    def index_of(self, adapter_id: str, column: int = COL_NAME) -> QModelIndex:
        """The index of ``adapter_id``'s cell (invalid if absent)."""
        row = self.row_of(adapter_id)
        return self.index(row, column) if row >= 0 else QModelIndex()

    def counts(self) -> tuple[int, int, int]:
        """(adapters, active, missing) among the rows."""
        cached = self._counts
        if cached is not None and cached[0] == self.generation:
            return cached[1]
        active = sum(1 for r in self._rows if r.active)
        missing = sum(1 for r in self._rows if r.file_status == "missing")
        result = (len(self._rows), active, missing)
        self._counts = (self.generation, result)
        return result

    def duplicated_hashes(self) -> frozenset[str]:
        """SHA-256 values that more than one row shares."""
        cached = self._shared
        if cached is not None and cached[0] == self.generation:
            return cached[1]
        seen: set[str] = set()
        shared: set[str] = set()
        for r in self._rows:
            if r.sha256 is not None:
                (shared if r.sha256 in seen else seen).add(r.sha256)
        result = frozenset(shared)
        self._shared = (self.generation, result)
        return result

    def set_thumbnail_loader(self, loader: ThumbnailLoader | None) -> None:
        """Show thumbnails from ``loader`` (set after the first paint: none are made before)."""
        if self._thumbnails is not None:
            self._thumbnails.ready.disconnect(self._on_thumbnails_ready)
        self._thumbnails = loader
        if loader is not None:
            loader.ready.connect(self._on_thumbnails_ready)
        if self._rows:
            last = len(self._rows) - 1
            self.dataChanged.emit(
                self.index(0, COL_PREVIEW),
                self.index(last, COL_PREVIEW),
                [Qt.ItemDataRole.DecorationRole],
            )

    def _on_thumbnails_ready(self, adapter_id: str, edge: int) -> None:
        if edge != LIST_SIZE:
            return
        row = self.row_of(adapter_id)
        if row >= 0:
            index = self.index(row, COL_PREVIEW)
            self.dataChanged.emit(index, index, [Qt.ItemDataRole.DecorationRole])

    def all_tags(self) -> list[str]:
        """Every tag used by a row, sorted."""
        return sorted({tag for r in self._rows for tag in r.tags})

    # -- Qt's read interface ------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """QAbstractItemModel.rowCount: the number of adapters (a flat list)."""
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """QAbstractItemModel.columnCount."""
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        """QAbstractItemModel.headerData: the column titles."""
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(HEADERS)
        ):
            return HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        """QAbstractItemModel.data: name/weight/tags/status, check state, ids."""
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == _DISPLAY:
            return self._display(row, column)
        if role == _CHECK and column == COL_NAME:
            return Qt.CheckState.Checked if row.active else Qt.CheckState.Unchecked
        if role == ID_ROLE:
            return row.id
        if role == ACTIVE_ROLE:
            return row.active
        if role == SEARCH_TEXT_ROLE:
            return row.search_text
        if role == TAGS_ROLE:
            return list(row.tags)
        if role == Qt.ItemDataRole.ToolTipRole and column in (COL_NAME, COL_TAGS):
            return plain_tooltip(self._display(row, column))
        if role == Qt.ItemDataRole.TextAlignmentRole and column == COL_WEIGHT:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if row.file_status != "ok" and (
            (look := status_data(row.file_status, role, status_column=column == COL_STATUS))
            is not None
        ):
            return look  # missing greyed, unavailable distinct (issue 5)
        if role == Qt.ItemDataRole.ForegroundRole and (row.file_status != "ok" or row.dangerous):
            return _MISSING_BRUSH
        if role == _DECORATION and column == COL_PREVIEW:
            loader = self._thumbnails
            return loader.pixmap(row.id, row.preview_path, LIST_SIZE) if loader else None
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_STATUS:
            return plain_tooltip(self._status_tip(row))
        return None

    def _status_tip(self, row: AdapterRow) -> str:
        lines = [f"File: {row.file_status}"]
        if row.dangerous:
            lines.append("Dangerous: loading this pickle would run code")
        if row.incomplete:
            lines.append("Incomplete (perhaps still downloading)")
        if row.problem:
            lines.append(f"Problem: {row.problem}")
        if row.sha256 is not None and row.sha256 in self.duplicated_hashes():
            lines.append("Duplicate: another adapter has the same SHA-256")
        if row.sha256 is None:
            lines.append("Not hashed yet")
        return "\n".join(lines)

    def _display(self, row: AdapterRow, column: int) -> str:
        if column == COL_NAME:
            return row.name
        if column == COL_WEIGHT:
            return format_weight(row.weight)
        if column == COL_TAGS:
            return ", ".join(row.tags)
        if column == COL_STATUS:
            marks = [row.file_status]
            if row.dangerous:
                marks.append("dangerous")
            if row.incomplete:
                marks.append("incomplete")
            elif row.problem:  # the editor and this cell's tooltip say what it is
                marks.append("problem")
            if row.sha256 is not None and row.sha256 in self.duplicated_hashes():
                marks.append("duplicate")
            return " · ".join(marks)
        return ""

    def flags(self, index: Index) -> Qt.ItemFlag:
        """QAbstractItemModel.flags: rows drag; drops go between rows, never onto one."""
        if not index.isValid():
            return _ROOT_FLAGS
        return _NAME_FLAGS if index.column() == COL_NAME else _CELL_FLAGS

    # -- editing: the active check box -------------------------------------

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        """QAbstractItemModel.setData: the check box (de)activates through the services."""
        if (
            not index.isValid()
            or role != Qt.ItemDataRole.CheckStateRole
            or index.column() != COL_NAME
        ):
            return False
        checked = value in (Qt.CheckState.Checked, Qt.CheckState.Checked.value, 2, True)
        return self.set_active([self._rows[index.row()].id], checked)

    def set_active(
        self, ids: Sequence[str], active: bool, *, confirm_dangerous: bool = False
    ) -> bool:
        """Activate or deactivate adapters through the services; False if one was refused.

        Dangerous adapters are not activated without ``confirm_dangerous``: their ids
        go out by ``dangerous_activation_requested`` for the window to ask.
        """
        ok = True
        risky: list[str] = []
        for adapter_id in ids:
            position = self.row_of(adapter_id)
            row = self._rows[position] if position >= 0 else None
            if active and not confirm_dangerous and row and row.dangerous and not row.active:
                risky.append(adapter_id)
                continue
            try:
                out = adapter_service.set_active(
                    self._library, adapter_id, active, confirm_dangerous=confirm_dangerous
                )
            except DomainError as exc:
                self.error_occurred.emit(exc.detail)
                ok = False
                continue
            self._replace(row_from_adapter(out))
        if risky:
            self.dangerous_activation_requested.emit(risky)
            ok = False
        return ok

    def _replace(self, row: AdapterRow) -> None:
        position = self.row_of(row.id)
        if position < 0 or self._rows[position] == row:
            return
        self._rows[position] = row
        self.generation += 1
        self.dataChanged.emit(self.index(position, 0), self.index(position, len(HEADERS) - 1))
