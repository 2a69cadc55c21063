"""The adapter list's drag-and-drop reordering, and saving the new order.

A mixin of ``AdapterListModel`` (which holds ``_rows``, ``_positions``,
``generation``, ``_own_reorder``, ``_saver``, ``_library`` and the signals): the
rows move at once, the whole new order is written by ``OrderSaver`` off the GUI
thread, and the change set is published from the GUI thread once it is in.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import QMimeData, QModelIndex, QPersistentModelIndex, Qt

from lora_desktop.models.schemas import AdapterRow
from lora_desktop.services.library import ChangeSet
from lora_desktop.ui.adapter_rows import MIME_IDS, decode_ids, encode_ids

if TYPE_CHECKING:
    from lora_desktop.ui.adapter_list_model import AdapterListModel

    _Base = AdapterListModel
else:
    _Base = object

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex


class ReorderMixin(_Base):
    """Drag and drop (ids in a private MIME type), ``moveRows``, and the order's save."""

    def supportedDropActions(self) -> Qt.DropAction:
        """QAbstractItemModel.supportedDropActions: rows only move."""
        return Qt.DropAction.MoveAction

    def supportedDragActions(self) -> Qt.DropAction:
        """QAbstractItemModel.supportedDragActions: rows only move."""
        return Qt.DropAction.MoveAction

    def mimeTypes(self) -> list[str]:
        """QAbstractItemModel.mimeTypes: our private id list."""
        return [MIME_IDS]

    def mimeData(self, indexes: Sequence[QModelIndex]) -> QMimeData:
        """QAbstractItemModel.mimeData: the dragged rows' ids, in list order."""
        rows = sorted({i.row() for i in indexes if i.isValid()})
        data = QMimeData()
        data.setData(MIME_IDS, encode_ids(self._rows[r].id for r in rows))
        return data

    def canDropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        """QAbstractItemModel.canDropMimeData: our ids, moved."""
        return data.hasFormat(MIME_IDS) and action == Qt.DropAction.MoveAction

    def dropMimeData(
        self, data: QMimeData, action: Qt.DropAction, row: int, column: int, parent: Index
    ) -> bool:
        """QAbstractItemModel.dropMimeData: move the dropped ids before ``row`` and save."""
        if action == Qt.DropAction.IgnoreAction:
            return True
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        if parent.isValid():  # dropped onto a row: before it
            row = parent.row()
        if row < 0 or row > len(self._rows):
            row = len(self._rows)
        return self.move_ids(decode_ids(data), row)

    def moveRows(
        self,
        sourceParent: Index,
        sourceRow: int,
        count: int,
        destinationParent: Index,
        destinationChild: int,
    ) -> bool:
        """QAbstractItemModel.moveRows: move a block of rows and save the new order."""
        size = len(self._rows)
        if (
            sourceParent.isValid()
            or destinationParent.isValid()
            or count <= 0
            or sourceRow < 0
            or sourceRow + count > size
            or not 0 <= destinationChild <= size
            or sourceRow <= destinationChild <= sourceRow + count  # a no-op
        ):
            return False
        if not self.beginMoveRows(
            QModelIndex(), sourceRow, sourceRow + count - 1, QModelIndex(), destinationChild
        ):
            return False
        block = self._rows[sourceRow : sourceRow + count]
        del self._rows[sourceRow : sourceRow + count]
        insert_at = destinationChild - count if destinationChild > sourceRow else destinationChild
        self._rows[insert_at:insert_at] = block
        self._positions = None
        self.generation += 1
        self.endMoveRows()
        return self._save_order(count)

    def move_ids(self, ids: Sequence[str], destination: int) -> bool:
        """Move the rows of ``ids`` (kept in list order) to sit before ``destination``.

        ``destination`` counts rows before the move (``rowCount()`` means the end),
        so a filtered view can pass its visible neighbour's row. The new order is
        saved in the background (``order_saved`` says when).
        """
        moving = {i for i in ids if self.row_of(i) >= 0}
        if not moving:
            return False
        destination = max(0, min(destination, len(self._rows)))
        kept = [r for r in self._rows if r.id not in moving]
        block = [r for r in self._rows if r.id in moving]
        insert_at = sum(1 for r in self._rows[:destination] if r.id not in moving)
        new_rows = kept[:insert_at] + block + kept[insert_at:]
        if [r.id for r in new_rows] == [r.id for r in self._rows]:
            return False
        self._relayout(new_rows)
        return self._save_order(len(block))

    def _relayout(self, new_rows: list[AdapterRow]) -> None:
        """Show ``new_rows`` (same ids, new order), keeping selection and current row."""
        self.layoutAboutToBeChanged.emit()
        new_position = {r.id: i for i, r in enumerate(new_rows)}
        old_indexes = self.persistentIndexList()
        new_indexes = [
            self.index(new_position[self._rows[i.row()].id], i.column()) for i in old_indexes
        ]
        self._rows = new_rows
        self._positions = new_position
        self.generation += 1
        self.changePersistentIndexList(old_indexes, new_indexes)
        self.layoutChanged.emit()

    @property
    def saving(self) -> bool:
        """Whether a drag's new order is still being written."""
        return self._saver.saving

    def warm_up_saves(self) -> None:
        """Prepare the first drag's save in the background (after the first paint)."""
        self._saver.warm_up()

    def _save_order(self, moved: int) -> bool:
        """Save the full order shown, in the background; the rows already show it."""
        order = [r.id for r in self._rows]
        log.debug("moved %d of %d rows; saving the order", moved, len(order))
        self._saver.save(order)
        return True

    def _on_saver_saved(self, order: list[str], changed: list[str]) -> None:
        self.order_saved.emit(len(changed))  # in the database; the rows follow below
        if changed:
            # Our own change set comes back through the broadcast: no reload for it.
            self._own_reorder = (self._own_reorder or frozenset()) | frozenset(changed)
            saved_at = {adapter_id: n for n, adapter_id in enumerate(order)}
            for adapter_id in changed:
                position = self.row_of(adapter_id)
                if position >= 0:
                    row = self._rows[position]
                    self._rows[position] = row._replace(ordinal=saved_at[adapter_id])
            self.generation += 1
            self._library.publish(ChangeSet(updated=tuple(changed), reordered=True))
        if self._reload_after_save and not self._saver.saving:
            self._reload_after_save = False
            self.reload_in_background()

    def _on_saver_failed(self, message: str) -> None:
        """The save was refused: say so and show the order the library has."""
        self._reload_after_save = False
        self.error_occurred.emit(message)
        self.reload_in_background()
