"""The deliveries table: the newest delivery jobs, updated from the change broadcast."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from lora_desktop.models.schemas import DeliveryJobOut

log = logging.getLogger(__name__)

JOB_ID_ROLE = Qt.ItemDataRole.UserRole + 1
STATUS_ROLE = Qt.ItemDataRole.UserRole + 2

COLUMNS = ("Created", "Target", "Status", "Attempts", "Duration", "Error")
COL_CREATED, COL_TARGET, COL_STATUS, COL_ATTEMPTS, COL_DURATION, COL_ERROR = range(6)
ERROR_SHOWN = 200

Index = QModelIndex | QPersistentModelIndex
JobLoader = Callable[[], Sequence[DeliveryJobOut]]


def target_name(job: DeliveryJobOut) -> str:
    """The job's target name, else what it was sent to."""
    name = job.params.get("target")
    if isinstance(name, str) and name:
        return name
    where = job.params.get("url") or job.params.get("base_url")
    if isinstance(where, str) and where:
        return where
    argv = job.params.get("argv")
    if isinstance(argv, list) and argv:
        return str(argv[0])
    return job.mode


def duration_text(job: DeliveryJobOut) -> str:
    """Start to finish, e.g. ``0.42 s``; empty before the job started."""
    if job.started_at is None:
        return ""
    if job.finished_at is None:
        return "running…" if job.status == "running" else ""
    seconds = (job.finished_at - job.started_at).total_seconds()
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def _local_time(value: datetime) -> str:
    return value.astimezone().strftime("%H:%M:%S")


class JobsModel(QAbstractTableModel):
    """Rows are jobs, newest first: a thin adapter over ``list_jobs``' DTOs.

    ``reload`` takes a fresh list and turns the difference into row removals,
    insertions and ``dataChanged``, so the view keeps its selection and scroll.
    """

    def __init__(self, loader: JobLoader, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._jobs: list[DeliveryJobOut] = []

    # -- reading --------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """QAbstractItemModel.rowCount: one row per job (a table: no children)."""
        return 0 if parent.isValid() else len(self._jobs)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        """QAbstractItemModel.columnCount."""
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(
        self,
        section: int,
        orientation: Qt.Orientation,
        role: int = Qt.ItemDataRole.DisplayRole,
    ) -> object:
        """QAbstractItemModel.headerData: column titles."""
        if (
            orientation == Qt.Orientation.Horizontal
            and role == Qt.ItemDataRole.DisplayRole
            and 0 <= section < len(COLUMNS)
        ):
            return COLUMNS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        """QAbstractItemModel.data: plain text per column; the id and status in roles."""
        if not index.isValid() or not 0 <= index.row() < len(self._jobs):
            return None
        job = self._jobs[index.row()]
        if role == JOB_ID_ROLE:
            return job.id
        if role == STATUS_ROLE:
            return job.status
        column = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(job, column)
        if role == Qt.ItemDataRole.ToolTipRole and column == COL_ERROR and job.error:
            return job.error
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (COL_ATTEMPTS, COL_DURATION):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(job: DeliveryJobOut, column: int) -> str:
        if column == COL_CREATED:
            return _local_time(job.created_at)
        if column == COL_TARGET:
            return target_name(job)
        if column == COL_STATUS:
            return job.status
        if column == COL_ATTEMPTS:
            return str(job.attempts)
        if column == COL_DURATION:
            return duration_text(job)
        if column == COL_ERROR:
            text = (job.error or "").replace("\n", " ")
            return text if len(text) <= ERROR_SHOWN else text[: ERROR_SHOWN - 1] + "…"
        return ""

    def job_at(self, row: int) -> DeliveryJobOut | None:
        """The job shown in ``row`` (None out of range)."""
        return self._jobs[row] if 0 <= row < len(self._jobs) else None

    def row_of(self, job_id: str) -> int:
        """The row showing ``job_id``, or -1."""
        for row, job in enumerate(self._jobs):
            if job.id == job_id:
                return row
        return -1

    def job(self, job_id: str) -> DeliveryJobOut | None:
        """The job ``job_id`` as last loaded (None when not shown)."""
        row = self.row_of(job_id)
        return self._jobs[row] if row >= 0 else None

    # -- updating -------------------------------------------------------------

    def reload(self) -> None:
        """Load the newest jobs again and show the difference."""
        self.apply(list(self._loader()))

    def apply(self, fresh: list[DeliveryJobOut]) -> None:
        """Show ``fresh`` (newest first): rows removed, inserted and changed in place.

        Jobs kept from one list to the next keep their relative order (the list is
        ordered by creation time), so new rows are inserted where they belong.
        """
        wanted = {job.id for job in fresh}
        shown = {job.id for job in self._jobs}
        kept = [job.id for job in self._jobs if job.id in wanted]
        if kept != [job.id for job in fresh if job.id in shown]:  # never expected: start over
            self.beginResetModel()
            self._jobs = list(fresh)
            self.endResetModel()
            return
        row = len(self._jobs) - 1
        while row >= 0:  # removals, from the bottom, in contiguous runs
            if self._jobs[row].id in wanted:
                row -= 1
                continue
            last = row
            while row >= 0 and self._jobs[row].id not in wanted:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row + 1, last)
            del self._jobs[row + 1 : last + 1]
            self.endRemoveRows()
        row = 0
        while row < len(fresh):
            job = fresh[row]
            if row < len(self._jobs) and self._jobs[row].id == job.id:
                if self._jobs[row] != job:
                    self._jobs[row] = job
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
                row += 1
                continue
            end = row + 1  # new jobs come in runs (the newest at the top): insert each run once
            while end < len(fresh) and fresh[end].id not in shown:
                end += 1
            self.beginInsertRows(QModelIndex(), row, end - 1)
            self._jobs[row:row] = fresh[row:end]
            self.endInsertRows()
            row = end
