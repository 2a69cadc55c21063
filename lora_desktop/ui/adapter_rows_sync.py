"""Keeping the adapter list up to date: the library's change broadcast and reloads.

A mixin of ``AdapterListModel``: small changes update rows in place, big ones
reload every row on a pool thread; a reload never undoes a drag whose order is
still being saved.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QModelIndex

from lora_desktop.models.schemas import AdapterRow
from lora_desktop.services import adapters as adapter_service
from lora_desktop.services.errors import NotFound
from lora_desktop.services.library import ChangeSet
from lora_desktop.ui.adapter_rows import HEADERS, row_from_adapter

if TYPE_CHECKING:
    from lora_desktop.ui.adapter_list_model import AdapterListModel

    _Base = AdapterListModel
else:
    _Base = object

log = logging.getLogger(__name__)

# Beyond this many updated ids one reload is cheaper than one query each.
PER_ROW_REFRESH_LIMIT = 200
# Beyond this many rows, or PER_ROW_REFRESH_LIMIT new ones, rows are loaded off the GUI
# thread (``rows_reloaded`` then). Loading 1,000 rows on it beside an import's threads
# made it up to 57 ms late (benchmarks/cold_bench.py).
SYNC_RELOAD_ROWS = 2000


class RowsSyncMixin(_Base):
    """``apply_changes`` for the library's broadcast; ``reload`` now or in the background.

    Rows loaded in the background are followed by ``rows_reloaded``.
    """

    def apply_changes(self, changes: ChangeSet) -> None:
        """Bring the rows up to date after a change (on the GUI thread)."""
        own = self._own_reorder
        self._own_reorder = None
        if (
            own is not None
            and changes.reordered
            and not changes.added
            and not changes.removed
            and set(changes.updated) <= own
        ):
            return  # the echo of our own drag: the rows already show it
        if changes.added or changes.reordered:
            added = len(changes.added)
            if added > PER_ROW_REFRESH_LIMIT or (
                added and len(self._rows) + added > SYNC_RELOAD_ROWS
            ):
                self.reload_in_background()  # an import's batches: the window stays fluid
            else:
                self.reload()
            return
        if len(changes.updated) > PER_ROW_REFRESH_LIMIT:
            self.reload_in_background()
            return
        for adapter_id in changes.removed:
            self._remove(adapter_id)
        for adapter_id in changes.updated:
            try:
                out = adapter_service.get(self._library, adapter_id)
            except NotFound:
                self._remove(adapter_id)
                continue
            self._replace(row_from_adapter(out))

    def _remove(self, adapter_id: str) -> None:
        position = self.row_of(adapter_id)
        if position < 0:
            return
        self.beginRemoveRows(QModelIndex(), position, position)
        del self._rows[position]
        self._positions = None
        self.generation += 1
        self.endRemoveRows()

    def reload_in_background(self) -> None:
        """Reload every row off the GUI thread; the rows are applied when they arrive.

        A local change made meanwhile (a newer generation) makes it load again, so
        stale rows never overwrite newer ones.
        """
        if self._loader.busy:
            self._reload_again = True
            return
        generation = self.generation
        library = self._library
        self._loader.call(
            lambda: adapter_service.list_rows(library),
            lambda rows: self._on_rows_loaded(rows, generation),
            self._on_rows_failed,
        )

    def _on_rows_loaded(self, rows: list[AdapterRow], generation: int) -> None:
        if self._reload_again or generation != self.generation:
            self._reload_again = False
            self.reload_in_background()
            return
        if self._apply_rows(rows):
            self.rows_reloaded.emit()

    def _on_rows_failed(self, error: Exception) -> None:
        log.error("could not reload the adapter list: %s", error)

    def shutdown(self) -> None:
        """Finish saving the order, stop background reloads; before the library closes."""
        self._loader.shutdown(drop_queued=True)
        self._saver.shutdown(timeout_ms=2000)

    def reload(self) -> None:
        """Reload every row now, with the least disruptive signal that fits the change."""
        self._apply_rows(adapter_service.list_rows(self._library))

    def _apply_rows(self, new_rows: list[AdapterRow]) -> bool:
        """Show ``new_rows``; False when they were set aside until an order is saved."""
        if self._saver.saving:
            # Rows read before our order is written would undo the drag on screen:
            # read them again once it is.
            self._reload_after_save = True
            return False
        old_ids = [r.id for r in self._rows]
        new_ids = [r.id for r in new_rows]
        if new_ids == old_ids:
            changed = [
                i for i, (a, b) in enumerate(zip(self._rows, new_rows, strict=True)) if a != b
            ]
            self._rows = new_rows
            self.generation += 1
            if changed:
                last = len(HEADERS) - 1
                self.dataChanged.emit(self.index(changed[0], 0), self.index(changed[-1], last))
            return True
        if set(new_ids) == set(old_ids):
            self._relayout(new_rows)
            return True
        self.beginResetModel()
        self._rows = new_rows
        self._positions = None
        self.generation += 1
        self.endResetModel()
        return True
