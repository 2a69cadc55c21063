"""The training metadata (a header's ``__metadata__``) as a collapsible, copyable table.

Keys and values come from files, so they are shown as plain text only (tree
items never interpret markup; tooltips are escaped), long values are elided in
the cell and shortened in the tooltip, and Ctrl+C (or the context menu) copies
the full ``key<TAB>value`` lines of the selected rows.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QToolButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.ui.plain_text import plain_tooltip

CELL_MAX = 300
"""Characters kept in a cell (the rest is elided; Copy gives the full value)."""
FULL_ROLE = Qt.ItemDataRole.UserRole + 1


def _one_line(text: str) -> str:
    shown = " ".join(text.split()) if "\n" in text or "\t" in text else text
    return shown if len(shown) <= CELL_MAX else shown[: CELL_MAX - 1] + "…"


class MetadataTable(QTreeWidget):
    """Key/value rows of the training metadata, sorted by key."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("metadataTable")
        self.setColumnCount(2)
        self.setHeaderLabels(["Key", "Value"])
        self.setRootIsDecorated(False)
        self.setUniformRowHeights(True)
        self.setWordWrap(False)
        self.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.setAlternatingRowColors(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.header().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.header().setStretchLastSection(True)
        self.header().resizeSection(0, self.fontMetrics().horizontalAdvance("x" * 24))
        self.setMinimumHeight(self.fontMetrics().lineSpacing() * 8)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.copy_action = QAction("Copy", self)
        self.copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        self.copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.copy_action.triggered.connect(self.copy_selection)
        self.addAction(self.copy_action)

    def show_metadata(self, metadata: dict[str, str] | None) -> None:
        """Show ``metadata`` (None or empty: no rows)."""
        self.clear()
        items = []
        for key in sorted(metadata or {}):
            value = (metadata or {})[key]
            item = QTreeWidgetItem([_one_line(key), _one_line(value)])
            item.setData(0, FULL_ROLE, key)
            item.setData(1, FULL_ROLE, value)
            item.setToolTip(1, plain_tooltip(value))
            item.setToolTip(0, plain_tooltip(key))
            items.append(item)
        self.addTopLevelItems(items)

    def value_of(self, key: str) -> str | None:
        """The full value shown for ``key`` (None if absent)."""
        for row in range(self.topLevelItemCount()):
            item = self.topLevelItem(row)
            if item.data(0, FULL_ROLE) == key:
                value = item.data(1, FULL_ROLE)
                return value if isinstance(value, str) else None
        return None

    def copy_selection(self) -> str:
        """Put the selected rows (all rows if none) on the clipboard; return the text."""
        items = self.selectedItems() or [
            self.topLevelItem(r) for r in range(self.topLevelItemCount())
        ]
        text = "\n".join(f"{i.data(0, FULL_ROLE)}\t{i.data(1, FULL_ROLE)}" for i in items)
        if text:
            QGuiApplication.clipboard().setText(text)
        return text


class MetadataSection(QWidget):
    """A "Training metadata (n)" toggle over the table, collapsed by default."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.toggle = QToolButton(objectName="metadataToggle")
        self.toggle.setCheckable(True)
        self.toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.toggle.setArrowType(Qt.ArrowType.RightArrow)
        self.toggle.setAutoRaise(True)
        self.table = MetadataTable()
        self.table.hide()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.toggle)
        layout.addWidget(self.table)
        self.toggle.toggled.connect(self._on_toggle_toggled)
        self.show_metadata(None)

    def show_metadata(self, metadata: dict[str, str] | None, *, empty: str = "none") -> None:
        """Fill the table; the toggle says how many keys there are (or, ``empty``, why none)."""
        self.table.show_metadata(metadata)
        if metadata:
            self.toggle.setText(f"Training metadata ({len(metadata)})")
        else:
            self.toggle.setText(f"Training metadata: {empty}")
        self.toggle.setEnabled(bool(metadata))

    def set_expanded(self, expanded: bool) -> None:
        """Open or close the table."""
        self.toggle.setChecked(expanded)

    def _on_toggle_toggled(self, checked: bool) -> None:
        self.toggle.setArrowType(Qt.ArrowType.DownArrow if checked else Qt.ArrowType.RightArrow)
        self.table.setVisible(checked)
