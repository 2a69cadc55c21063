"""The main window's import feedback in the status bar, wired in one place.

A progress bar while files are registered, a one-line summary of the last import
with a Details… button when some file was skipped, gave a reason or has a problem, and the
non-modal report dialog that button opens.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QLabel, QProgressBar, QPushButton

from lora_desktop.models.schemas import RegisterReport
from lora_desktop.ui.import_report import ImportReportDialog, has_details, summary_text

if TYPE_CHECKING:
    from lora_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

MESSAGE_MS = 5000


class ImportStatus(QObject):
    """Owns the import summary, its Details… button, the progress bar and the report."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        self.last_report: RegisterReport | None = None
        self.report_dialog: ImportReportDialog | None = None
        bar = window.statusBar()
        self.summary = QLabel(objectName="importSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.details_button = QPushButton("Details…", objectName="importDetailsButton")
        self.details_button.setFlat(True)
        self.details_button.clicked.connect(window.show_import_report)
        self.summary.hide()
        self.details_button.hide()
        bar.addWidget(self.summary)
        bar.addWidget(self.details_button)
        self.progress = QProgressBar(objectName="importProgress")
        self.progress.setMaximumWidth(220)
        self.progress.setFormat("Importing %v / %m")
        self.progress.hide()
        bar.addPermanentWidget(self.progress)

        window.imports.started.connect(self._on_imports_started)
        window.imports.progress.connect(self._on_imports_progress)
        window.imports.finished.connect(self._on_imports_finished)
        window.imports.failed.connect(self._on_imports_failed)
        window.imports.idle.connect(self._on_imports_idle)

    def show_report(self) -> None:
        """Open (or raise) the non-modal list of the last import's reasons."""
        if self.last_report is None:
            return
        if self.report_dialog is None:
            self.report_dialog = ImportReportDialog(self._window)
        self.report_dialog.show_report(self.last_report)
        if self.report_dialog.isVisible():
            self.report_dialog.raise_()  # already open behind the window: bring it up
        else:
            self.report_dialog.show()

    def shutdown(self) -> None:
        """Close the report dialog (the window is closing)."""
        if self.report_dialog is not None:
            self.report_dialog.close()

    # -- slots ----------------------------------------------------------------

    def _on_imports_started(self) -> None:
        self.progress.setRange(0, 0)  # busy until the first count arrives
        self.progress.show()

    def _on_imports_progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, max(total, 1))
        self.progress.setValue(done)

    def _on_imports_finished(self, report: object) -> None:
        if not isinstance(report, RegisterReport):
            return
        self.last_report = report
        self.summary.setText(summary_text(report))
        self.summary.show()
        self.details_button.setVisible(has_details(report))
        if self.report_dialog is not None and self.report_dialog.isVisible():
            self.report_dialog.show_report(report)

    def _on_imports_failed(self, message: str) -> None:
        self._window.statusBar().showMessage(f"Import failed: {message}", MESSAGE_MS)

    def _on_imports_idle(self) -> None:
        self.progress.hide()
