"""What an import did: a one-line summary and a non-modal dialog with every reason."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.schemas import RegisterEntry, RegisterReport
from lora_desktop.ui.plain_text import plain_tooltip

log = logging.getLogger(__name__)

OUTCOME_TEXT = {
    "added": "added",
    "already_registered": "already registered",
    "skipped": "skipped",
}


def with_problems(report: RegisterReport) -> int:
    """How many added files were registered with a problem (a truncated header...)."""
    return sum(1 for e in report.entries if e.outcome == "added" and e.problem)


def summary_text(report: RegisterReport) -> str:
    """One line: how many were added (and how many of them with problems), already
    registered and skipped."""
    troubled = with_problems(report)
    if troubled:
        which = "with a problem" if troubled == 1 else "with problems"
        added = f"{report.added:,} added ({troubled:,} {which})"
    else:
        added = f"{report.added:,} added"
    return (
        f"Import: {added} · {report.already_registered:,} already registered · "
        f"{report.skipped:,} skipped"
    )


def entry_reason(entry: RegisterEntry) -> str:
    """What the report says of one path: why it was not added, or what is wrong with it."""
    return "; ".join(part for part in (entry.reason, entry.problem) if part)


def has_details(report: RegisterReport) -> bool:
    """Whether some path was not simply added (skipped, renamed, or with a problem)."""
    return any(e.outcome != "added" or entry_reason(e) for e in report.entries)


class ImportReportDialog(QDialog):
    """Lists the last import's paths that were not simply added, with the reason."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("importReportDialog")
        self.setWindowTitle("Import report")
        self.setModal(False)
        self.resize(760, 420)
        self.summary = QLabel(objectName="importReportSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.tree = QTreeWidget(objectName="importReportList")
        self.tree.setHeaderLabels(["Outcome", "Path", "Reason"])
        self.tree.setRootIsDecorated(False)
        self.tree.setUniformRowHeights(True)
        self.tree.setAlternatingRowColors(True)
        self.tree.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        header = self.tree.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Interactive)
        header.resizeSection(1, 320)
        header.setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tree, 1)
        layout.addWidget(buttons)

    def show_report(self, report: RegisterReport) -> None:
        """Fill the list with the report's lines (the added ones only if renamed or with
        a problem)."""
        self.summary.setText(summary_text(report))
        self.tree.clear()
        items = []
        for entry in report.entries:
            reason = entry_reason(entry)
            if entry.outcome == "added" and not reason:
                continue
            item = QTreeWidgetItem([OUTCOME_TEXT[entry.outcome], entry.path, reason])
            item.setToolTip(1, plain_tooltip(entry.path))
            item.setToolTip(2, plain_tooltip(reason))
            items.append(item)
        self.tree.addTopLevelItems(items)

    def lines(self) -> list[tuple[str, str, str]]:
        """The rows shown: (outcome, path, reason)."""
        return [
            (self.tree.topLevelItem(i).text(0), self.tree.topLevelItem(i).text(1),
             self.tree.topLevelItem(i).text(2))
            for i in range(self.tree.topLevelItemCount())
        ]  # fmt: skip
