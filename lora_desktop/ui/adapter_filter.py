"""Filtering the adapter list: search words, "active only", one tag.

A ``QSortFilterProxyModel`` matching a regular expression against every column
costs hundreds of milliseconds per keystroke on 10,000 rows; this one tests
each row's precomputed lower-case ``search_text`` (name, version, tags, trigger
words) with plain substring checks.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QSortFilterProxyModel

from lora_desktop.ui.adapter_list_model import AdapterListModel

log = logging.getLogger(__name__)


class AdapterFilterProxy(QSortFilterProxyModel):
    """Shows the rows of an ``AdapterListModel`` that match the current filter."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._words: tuple[str, ...] = ()
        self._active_only = False
        self._tag = ""
        self._adapters: AdapterListModel | None = None

    def setSourceModel(self, model: Any) -> None:
        """QAbstractProxyModel.setSourceModel: an ``AdapterListModel``."""
        self._adapters = model if isinstance(model, AdapterListModel) else None
        super().setSourceModel(model)

    @property
    def search(self) -> str:
        """The search words, space-separated."""
        return " ".join(self._words)

    @property
    def active_only(self) -> bool:
        """Whether only active adapters are shown."""
        return self._active_only

    @property
    def tag(self) -> str:
        """The tag every shown row must have ("" for any)."""
        return self._tag

    @property
    def is_filtering(self) -> bool:
        """Whether any filter hides rows."""
        return bool(self._words or self._active_only or self._tag)

    def set_filter(
        self, search: str | None = None, active_only: bool | None = None, tag: str | None = None
    ) -> None:
        """Change any part of the filter (None keeps it) and refilter once."""
        words = self._words if search is None else tuple(search.lower().split())
        active = self._active_only if active_only is None else active_only
        wanted_tag = self._tag if tag is None else tag
        if (words, active, wanted_tag) == (self._words, self._active_only, self._tag):
            return
        self.beginFilterChange()
        self._words, self._active_only, self._tag = words, active, wanted_tag
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(
        self, source_row: int, source_parent: QModelIndex | QPersistentModelIndex
    ) -> bool:
        """QSortFilterProxyModel.filterAcceptsRow: every word in the row's search text."""
        if self._adapters is None:
            return True
        row = self._adapters.rows[source_row]
        if self._active_only and not row.active:
            return False
        if self._tag and self._tag not in row.tags:
            return False
        text = row.search_text
        return all(word in text for word in self._words)
