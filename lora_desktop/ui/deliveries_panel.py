"""The deliveries panel: jobs live (status, target, attempts, duration, error), counts
and latency, Retry and Cancel, and the selected job's result.

The job list and the counts are read on a one-thread reader pool (a reload while two
deliveries write would otherwise make the window late); the GUI thread only applies
the difference to the table.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QItemSelection, QModelIndex, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDockWidget,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.delivery import DeliveryStats
from lora_desktop.models.schemas import DeliveryJobOut
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.ui.call_pool import CallPool
from lora_desktop.ui.delivery_pool import MAX_CONCURRENCY, DeliveryPool
from lora_desktop.ui.job_result_view import JobResultView
from lora_desktop.ui.jobs_model import COL_ERROR, JobsModel

log = logging.getLogger(__name__)

JOBS_SHOWN = 200
RELOAD_MS = 100
"""Job changes arrive in bursts (three per job): reload at most this often."""
STATS_MS = 1000
"""Counts and latency are recomputed at most this often."""
RETRYABLE = ("failed", "cancelled")
CANCELLABLE = ("pending", "running")


def stats_text(stats: DeliveryStats) -> str:
    """One line: counts per status and latency percentiles."""
    if not stats.total:
        return "No deliveries yet"
    order = ("pending", "running", "succeeded", "failed", "cancelled")
    counts = [f"{stats.by_status[s]:,} {s}" for s in order if stats.by_status.get(s)]
    text = f"{stats.total:,} deliveries · " + " · ".join(counts)
    latency = stats.latency_ms
    if latency.count and latency.p50 is not None and latency.p90 is not None:
        text += f" · latency p50 {latency.p50:,.0f} ms, p90 {latency.p90:,.0f} ms"
    if stats.retried:
        text += f" · {stats.retried:,} retried"
    return text


class DeliveriesPanel(QDockWidget):
    """A dock listing delivery jobs, newest first, with Retry/Cancel and the result view."""

    message = Signal(str)
    """Plain text for the status bar."""
    image_chosen = Signal(str)
    """A returned image was clicked: its path."""

    def __init__(self, library: Library, pool: DeliveryPool, parent: QWidget | None = None) -> None:
        super().__init__("Deliveries", parent)
        self.setObjectName("deliveriesPanel")
        self.setFeatures(
            QDockWidget.DockWidgetFeature.DockWidgetClosable
            | QDockWidget.DockWidgetFeature.DockWidgetMovable
        )
        self._library = library
        self._pool = pool
        self._loaded = False
        self._follow: str | None = None
        self._loading = False
        self._dirty = False
        self._stats_due = True
        self._reader = CallPool(self)
        self.model = JobsModel(self._load_jobs, self)
        self._reload_timer = QTimer(self)
        self._reload_timer.setSingleShot(True)
        self._reload_timer.setInterval(RELOAD_MS)
        self._reload_timer.timeout.connect(self._on_reload_timer_timeout)
        self._stats_timer = QTimer(self)
        self._stats_timer.setSingleShot(True)
        self._stats_timer.setInterval(STATS_MS)
        self._stats_timer.timeout.connect(self._on_stats_timer_timeout)
        self._build()

    def _build(self) -> None:
        self.table = QTableView(objectName="jobsTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSectionResizeMode(COL_ERROR, QHeaderView.ResizeMode.Stretch)
        self.stats_label = QLabel("No deliveries yet", objectName="deliveryStatsLabel")
        self.stats_label.setTextFormat(Qt.TextFormat.PlainText)
        self.retry_button = QPushButton("Retry", objectName="retryButton")
        self.retry_button.setToolTip("Send the selected failed or cancelled delivery again")
        self.cancel_button = QPushButton("Cancel", objectName="cancelButton")
        self.cancel_button.setToolTip("Stop the selected pending or running delivery")
        self.concurrency_spin = QSpinBox(objectName="concurrencySpin")
        self.concurrency_spin.setRange(1, MAX_CONCURRENCY)
        self.concurrency_spin.setValue(self._pool.max_threads)
        self.concurrency_spin.setToolTip(
            "How many deliveries run at the same time (the others wait their turn)"
        )
        concurrency_label = QLabel("Deliveries at once:")
        concurrency_label.setBuddy(self.concurrency_spin)
        self.result_view = JobResultView()

        buttons = QHBoxLayout()
        buttons.addWidget(self.stats_label, 1)
        buttons.addWidget(concurrency_label)
        buttons.addWidget(self.concurrency_spin)
        buttons.addWidget(self.retry_button)
        buttons.addWidget(self.cancel_button)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.table, 1)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, objectName="deliveriesSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.result_view)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.splitter)
        self.setWidget(body)

        self.table.selectionModel().selectionChanged.connect(self._on_table_selection_changed)
        self.model.dataChanged.connect(self._on_model_data_changed)
        self.retry_button.clicked.connect(self._on_retry_button_clicked)
        self.cancel_button.clicked.connect(self._on_cancel_button_clicked)
        self.concurrency_spin.valueChanged.connect(self._on_concurrency_spin_value_changed)
        self.result_view.image_chosen.connect(self.image_chosen)
        self._update_buttons()

    # -- public ---------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """Whether a reload is on its way."""
        return self._loading or self._dirty or self._reload_timer.isActive()

    def load(self) -> None:
        """Start showing the jobs and counts (after the window's first paint)."""
        self._loaded = True
        self._reload_timer.stop()
        self._stats_timer.stop()
        self._stats_due = True
        self._reload()

    def apply_changes(self, changes: ChangeSet) -> None:
        """A change broadcast (GUI thread): reload soon when it touched jobs."""
        if changes.jobs and self._loaded and not self._reload_timer.isActive():
            self._reload_timer.start()

    def follow(self, job_id: str) -> None:
        """Select ``job_id`` as soon as it is listed (a job just sent)."""
        self._follow = job_id
        if self._loaded and not self._reload_timer.isActive():
            self._reload_timer.start()

    def selected_job(self) -> DeliveryJobOut | None:
        """The job selected in the table (None when none is)."""
        rows = self.table.selectionModel().selectedRows()
        return self.model.job_at(rows[0].row()) if rows else None

    def select_job(self, job_id: str) -> bool:
        """Select the row of ``job_id`` (False when it is not listed)."""
        row = self.model.row_of(job_id)
        if row < 0:
            return False
        self.table.selectRow(row)
        self.table.scrollTo(self.model.index(row, 0))
        return True

    def shutdown(self) -> None:
        """Stop timers, reads and image decoding (the window is closing)."""
        self._loaded = False
        self._reload_timer.stop()
        self._stats_timer.stop()
        self._reader.shutdown(drop_queued=True)
        self.result_view.shutdown()

    # -- internals ------------------------------------------------------------

    def _load_jobs(self) -> list[DeliveryJobOut]:
        from lora_desktop.services.deliveries import list_jobs

        return list_jobs(self._library, limit=JOBS_SHOWN)

    def _reload(self) -> None:
        if self._loading:  # one read at a time; another follows when this one is back
            self._dirty = True
            return
        from lora_desktop.services.delivery_stats import delivery_stats

        self._loading = True
        library, with_stats = self._library, self._stats_due
        self._stats_due = False

        def read() -> tuple[list[DeliveryJobOut], DeliveryStats | None]:
            jobs = self._load_jobs()
            return jobs, delivery_stats(library) if with_stats else None

        self._reader.call(read, self._on_reader_loaded, self._on_reader_failed)

    def _on_reader_loaded(self, result: object) -> None:
        self._loading = False
        if not self._loaded or not isinstance(result, tuple):
            return
        jobs, stats = result
        self.model.apply(jobs)
        if stats is not None:
            self.stats_label.setText(stats_text(stats))
        elif not self._stats_timer.isActive():
            self._stats_timer.start()  # counts are stale: recompute them soon
        if self._follow is not None and self.select_job(self._follow):
            self._follow = None
        self._show_selected()
        if self._dirty:
            self._dirty = False
            self._reload_timer.start()

    def _on_reader_failed(self, error: Exception) -> None:
        self._loading = False
        detail = error.detail if isinstance(error, DomainError) else str(error)
        self.message.emit(f"Deliveries could not be listed: {detail}")

    def _show_selected(self) -> None:
        self.result_view.show_job(self.selected_job())
        self._update_buttons()

    def _update_buttons(self) -> None:
        job = self.selected_job()
        self.retry_button.setEnabled(job is not None and job.status in RETRYABLE)
        self.cancel_button.setEnabled(job is not None and job.status in CANCELLABLE)

    # -- slots ----------------------------------------------------------------

    def _on_reload_timer_timeout(self) -> None:
        if self._loaded:
            self._reload()

    def _on_stats_timer_timeout(self) -> None:
        if self._loaded:
            self._stats_due = True
            self._reload()

    def _on_table_selection_changed(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self._show_selected()

    def _on_model_data_changed(self, top: QModelIndex, bottom: QModelIndex) -> None:
        job = self.selected_job()
        if job is not None and top.row() <= self.model.row_of(job.id) <= bottom.row():
            self._show_selected()

    def _on_retry_button_clicked(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        from lora_desktop.services.deliveries import retry_job

        try:
            retry_job(self._library, job.id)
        except DomainError as exc:
            self.message.emit(f"Not retried: {exc.detail}")
            return
        self._pool.submit(job.id)
        self.message.emit(f"Sending delivery {job.id[:8]} again")

    def _on_concurrency_spin_value_changed(self, value: int) -> None:
        # Applied to the running pool at once and remembered for the next start.
        self._pool.set_max_threads(value)

    def _on_cancel_button_clicked(self) -> None:
        job = self.selected_job()
        if job is None:
            return
        try:
            self._pool.cancel(job.id)
        except DomainError as exc:
            self.message.emit(f"Not cancelled: {exc.detail}")
            return
        self.message.emit(f"Cancelling delivery {job.id[:8]}")
