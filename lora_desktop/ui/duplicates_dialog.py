"""Library → Find duplicates: the groups of adapters with the same content.

Non-modal. Each group (same SHA-256, or the same weights with different
metadata) is a branch listing its adapters; double-clicking an adapter selects
it in the main list (``adapter_activated``).
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.schemas import DuplicateGroup
from lora_desktop.services.library import Library
from lora_desktop.ui.plain_text import plain_tooltip

ID_ROLE = Qt.ItemDataRole.UserRole + 1


def group_title(group: DuplicateGroup) -> str:
    """How a group is named in the tree."""
    count = len(group.adapter_ids)
    if group.kind == "same_file":
        return f"Same file (SHA-256 {group.hash[:10]}…): {count} adapters"
    return f"Same weights, different metadata (AutoV3 {group.hash}): {count} adapters"


class DuplicatesDialog(QDialog):
    """The duplicate groups of the library, refreshed each time it is shown."""

    adapter_activated = Signal(str)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("duplicatesDialog")
        self.setWindowTitle("Duplicates")
        self._library = library
        self.summary = QLabel(objectName="duplicatesSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.tree = QTreeWidget(objectName="duplicatesTree")
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)
        self.tree.itemActivated.connect(self._on_tree_item_activated)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)
        self.resize(520, 420)

    def refresh(self) -> list[DuplicateGroup]:
        """Ask the library for the groups and show them."""
        from lora_desktop.services.inspect.library_scan import find_duplicates

        groups = find_duplicates(self._library)
        self.tree.clear()
        for group in groups:
            branch = QTreeWidgetItem([group_title(group)])
            branch.setFlags(Qt.ItemFlag.ItemIsEnabled)
            for adapter_id, name in zip(group.adapter_ids, group.names, strict=True):
                leaf = QTreeWidgetItem([name])
                leaf.setData(0, ID_ROLE, adapter_id)
                leaf.setToolTip(0, plain_tooltip(f"{name}\nDouble-click to select it"))
                branch.addChild(leaf)
            self.tree.addTopLevelItem(branch)
        self.tree.expandAll()
        if groups:
            self.summary.setText(
                f"{len(groups)} group(s). Double-click an adapter to select it in the list."
            )
        else:
            self.summary.setText("No duplicates among the hashed adapters.")
        return groups

    def _on_tree_item_activated(self, item: QTreeWidgetItem, _column: int) -> None:
        adapter_id = item.data(0, ID_ROLE)
        if isinstance(adapter_id, str):
            self.adapter_activated.emit(adapter_id)
