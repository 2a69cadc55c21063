"""Hashing in the background, with a status-bar progress bar and a Cancel button.

``HashController`` runs ``hash_service.hash_pending`` as one job on its own
one-thread pool (the service hashes on two threads of its own); results reach
the list through the library's change broadcast. Asked again while a run is
going, it runs once more afterwards (files registered meanwhile are pending).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from lora_desktop.models.schemas import HashReport
from lora_desktop.services.library import Library
from lora_desktop.ui.workers import JobHandle, JobRunner, ProgressReport, StopCheck

log = logging.getLogger(__name__)

PROGRESS_INTERVAL_S = 0.2
"""At most 5 progress reports a second reach the GUI thread."""
HASH_WORKERS = 2


def format_bytes(count: int) -> str:
    """``1.5 GB``, ``12 MB``, ``800 KB``, ``5 B``."""
    value = float(count)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} TB"  # pragma: no cover - the loop returns first


class _HashSignals(QObject):
    progress = Signal(object)
    """(files done, files total, bytes done, bytes total)."""


class HashController(QObject):
    """Hashes every pending adapter on demand; one run at a time, cancellable."""

    started = Signal()
    progress = Signal(int, int, object, object)
    """(files done, files total, bytes done, bytes total)."""
    finished = Signal(object)
    """The run's ``HashReport`` (``stopped`` set when it was cancelled)."""
    failed = Signal(str)
    idle = Signal()

    def __init__(
        self, library: Library, parent: QObject | None = None, *, workers: int = HASH_WORKERS
    ) -> None:
        super().__init__(parent)
        self._library = library
        self._workers = workers
        self._runner = JobRunner(self)
        self._signals = _HashSignals(self)
        self._signals.progress.connect(self._on_signals_progress)
        self._handle: JobHandle | None = None
        self._again = False
        self._closed = False

    @property
    def busy(self) -> bool:
        """Whether a run is going."""
        return self._handle is not None

    def start(self) -> None:
        """Hash what is pending now (or right after the current run)."""
        if self._closed:
            return
        if self._handle is not None:
            self._again = True
            return
        library, workers, signals = self._library, self._workers, self._signals
        last = [0.0]
        lock = threading.Lock()

        def report(files: int, total: int, done: int, total_bytes: int) -> None:
            now = time.monotonic()
            with lock:  # called on the service's threads: throttle the queued signals
                if files < total and now - last[0] < PROGRESS_INTERVAL_S:
                    return
                last[0] = now
            signals.progress.emit((files, total, done, total_bytes))

        def work(stop: StopCheck, _progress: ProgressReport) -> HashReport:
            from lora_desktop.services.inspect.hash_service import hash_pending

            return hash_pending(library, progress=report, should_stop=stop, workers=workers)

        handle = self._runner.start(
            work, succeeded=self._on_job_succeeded, failed=self._on_job_failed
        )
        if handle is None:
            return
        self._handle = handle
        self.started.emit()

    def cancel(self) -> None:
        """Stop the run at the files' next read; nothing partial is stored."""
        self._again = False
        if self._handle is not None:
            self._handle.request_stop()

    def shutdown(self, timeout_ms: int = 4000) -> bool:
        """Cancel and wait for the run to end (late results ignored)."""
        self._closed = True
        self.cancel()
        self._signals.blockSignals(True)
        return self._runner.shutdown(timeout_ms)

    @Slot(object)
    def _on_signals_progress(self, values: Any) -> None:
        if self._handle is not None:
            self.progress.emit(*values)

    @Slot(object)
    def _on_job_succeeded(self, report: object) -> None:
        self._end()
        if isinstance(report, HashReport):
            self.finished.emit(report)
        self._next()

    @Slot(str)
    def _on_job_failed(self, message: str) -> None:
        self._end()
        self.failed.emit(message)
        self._next()

    def _end(self) -> None:
        self._handle = None

    def _next(self) -> None:
        if self._again and not self._closed:
            self._again = False
            self.start()
        else:
            self.idle.emit()


class HashProgressWidget(QWidget):
    """The status bar's view of a hash run: a bar with files and bytes, and Cancel."""

    def __init__(self, controller: HashController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("hashProgressPanel")
        self._controller = controller
        self.bar = QProgressBar(objectName="hashProgress")
        self.bar.setTextVisible(True)
        self.label = QLabel(objectName="hashProgressLabel")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        # Fixed sizes: a widget whose size can change asks the whole main window to lay
        # itself out again on every new text (20-40 ms each, several times a second
        # during a hash run); one of fixed size does not.
        widest = self.label.fontMetrics().horizontalAdvance("Hashing 9999.9 GB of 9999.9 GB")
        self.label.setFixedSize(widest + 8, self.label.sizeHint().height())
        self.bar.setFixedSize(200, self.bar.sizeHint().height())
        self.cancel_button = QPushButton("Cancel", objectName="hashCancelButton")
        self.cancel_button.setFlat(True)
        self.cancel_button.setToolTip("Stop hashing (files not yet hashed are hashed next time)")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addWidget(self.label)
        layout.addWidget(self.bar)
        layout.addWidget(self.cancel_button)
        self.hide()
        controller.started.connect(self._on_controller_started)
        controller.progress.connect(self._on_controller_progress)
        controller.idle.connect(self._on_controller_idle)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)

    def _on_controller_started(self) -> None:
        self.bar.setRange(0, 0)  # busy until the first count
        self.label.setText("Hashing…")
        self.cancel_button.setEnabled(True)
        self.show()

    def _on_controller_progress(self, files: int, total: int, done: object, size: object) -> None:
        self.bar.setRange(0, max(total, 1))
        self.bar.setValue(files)
        self.bar.setFormat(f"{files:,} / {total:,} files")
        done_bytes = done if isinstance(done, int) else 0
        total_bytes = size if isinstance(size, int) else 0
        self.label.setText(f"Hashing {format_bytes(done_bytes)} of {format_bytes(total_bytes)}")

    def _on_controller_idle(self) -> None:
        self.hide()

    def _on_cancel_button_clicked(self) -> None:
        self.cancel_button.setEnabled(False)
        self.label.setText("Stopping…")
        self._controller.cancel()
