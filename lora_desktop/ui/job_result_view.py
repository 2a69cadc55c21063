"""What a delivery job returned: its images as thumbnails, or its reply as plain text.

Images are decoded off the GUI thread (``QImageReader`` in a ``QRunnable``,
scaled while decoding) and come back as ``QImage``; only the GUI thread turns
them into pixmaps. Clicking a thumbnail emits ``image_chosen`` with its path.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QSize, Qt, QThreadPool, Signal, Slot
from PySide6.QtGui import QIcon, QImage, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.schemas import DeliveryJobOut
from lora_desktop.ui.plain_text import plain_tooltip

log = logging.getLogger(__name__)

THUMB_SIZE = 128
PATH_ROLE = Qt.ItemDataRole.UserRole + 1
TEXT_SHOWN_MAX = 256 * 1024


def result_text(job: DeliveryJobOut) -> str:
    """The job's reply as plain text: error, exit code, stdout/stderr, HTTP body."""
    parts: list[str] = []
    if job.error:
        parts.append(f"Error: {job.error}")
    result: dict[str, Any] = dict(job.result or {})
    if "exit_code" in result:
        parts.append(f"Exit code: {result['exit_code']}")
    for stream in ("stdout", "stderr"):
        if stream in result:
            cut = " (cut: only the end is kept)" if result.get(f"{stream}_truncated") else ""
            parts.append(f"--- {stream}{cut} ---\n{result[stream]}")
    if "status_code" in result:
        parts.append(f"HTTP status: {result['status_code']}")
    if "json" in result:
        parts.append(json.dumps(result["json"], indent=2, ensure_ascii=False))
    if "text" in result:
        parts.append(str(result["text"]))
    for warning in result.get("warnings") or []:
        parts.append(f"Warning: {warning}")
    if not parts:
        parts.append(f"{job.status}: nothing returned yet" if not job.result else str(result))
    text = "\n\n".join(parts)
    return text if len(text) <= TEXT_SHOWN_MAX else text[:TEXT_SHOWN_MAX] + "\n… (cut)"


def image_paths(job: DeliveryJobOut | None) -> list[str]:
    """The image files a job returned (A1111, ComfyUI), in order."""
    if job is None or not job.result:
        return []
    images = job.result.get("images")
    return [str(p) for p in images if isinstance(p, str)] if isinstance(images, list) else []


class _DecodeSignals(QObject):
    decoded = Signal(int, str, QImage)
    """Generation, path, and the scaled image (null when it could not be read)."""


class _DecodeImage(QRunnable):
    """Read one image file scaled to a thumbnail, on a pool thread."""

    def __init__(self, generation: int, path: str, signals: _DecodeSignals) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._generation = generation
        self._path = path
        self._signals = signals

    def run(self) -> None:
        """QRunnable.run: decode (never touching a widget) and report."""
        reader = QImageReader(self._path)
        reader.setAutoTransform(True)
        size = reader.size()
        if size.isValid() and (size.width() > THUMB_SIZE or size.height() > THUMB_SIZE):
            keep = Qt.AspectRatioMode.KeepAspectRatio
            reader.setScaledSize(size.scaled(THUMB_SIZE, THUMB_SIZE, keep))
        image = reader.read()
        if image.isNull():
            log.info("cannot read image %s: %s", self._path, reader.errorString())
        self._signals.decoded.emit(self._generation, self._path, image)


class JobResultView(QWidget):
    """Shows the selected job's result; ``image_chosen`` when a thumbnail is clicked."""

    image_chosen = Signal(str)
    """The path of the clicked image."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("jobResultView")
        self._generation = 0
        self._job_id: str | None = None
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._signals = _DecodeSignals(self)
        self._signals.decoded.connect(self._on_signals_decoded)

        self.caption = QLabel("Select a delivery to see what it returned.", objectName="jobCaption")
        self.caption.setTextFormat(Qt.TextFormat.PlainText)
        self.caption.setWordWrap(True)
        self.text_view = QPlainTextEdit(objectName="jobResultText")
        self.text_view.setReadOnly(True)
        self.image_list = QListWidget(objectName="jobImages")
        self.image_list.setViewMode(QListView.ViewMode.IconMode)
        self.image_list.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.image_list.setResizeMode(QListView.ResizeMode.Adjust)
        self.image_list.setMovement(QListView.Movement.Static)
        self.image_list.setSpacing(6)
        self.image_list.setToolTip("Click an image to make it the selected adapter's preview")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.text_view)
        self.stack.addWidget(self.image_list)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.stack, 1)
        self.image_list.itemClicked.connect(self._on_image_list_item_clicked)

    @property
    def job_id(self) -> str | None:
        """The job shown."""
        return self._job_id

    @property
    def showing_images(self) -> bool:
        """Whether thumbnails (not text) are shown."""
        return self.stack.currentWidget() is self.image_list

    def show_job(self, job: DeliveryJobOut | None) -> None:
        """Show ``job``'s result (None: nothing selected)."""
        same = job is not None and job.id == self._job_id
        paths = image_paths(job)
        if same and paths and paths == self._shown_paths():
            self.caption.setText(self._caption(job))
            return  # thumbnails already there: do not decode again
        self._generation += 1
        self._pool.clear()
        self._job_id = job.id if job is not None else None
        self.image_list.clear()
        if job is None:
            self.caption.setText("Select a delivery to see what it returned.")
            self.text_view.setPlainText("")
            self.stack.setCurrentWidget(self.text_view)
            return
        self.caption.setText(self._caption(job))
        if not paths:
            self.text_view.setPlainText(result_text(job))
            self.stack.setCurrentWidget(self.text_view)
            return
        self.stack.setCurrentWidget(self.image_list)
        for path in paths:
            item = QListWidgetItem(Path(path).name)
            item.setData(PATH_ROLE, path)
            item.setToolTip(plain_tooltip(path))
            self.image_list.addItem(item)
            self._pool.start(_DecodeImage(self._generation, path, self._signals))

    def thumbnail_count(self) -> int:
        """How many thumbnails have been decoded and shown."""
        return sum(
            1 for i in range(self.image_list.count()) if not self.image_list.item(i).icon().isNull()
        )

    def shutdown(self) -> None:
        """Drop queued decoding and wait for the running one (the window is closing)."""
        self._generation += 1
        self._signals.blockSignals(True)
        self._pool.clear()
        self._pool.waitForDone(2000)

    def _shown_paths(self) -> list[str]:
        items = (self.image_list.item(i) for i in range(self.image_list.count()))
        return [str(item.data(PATH_ROLE)) for item in items]

    @staticmethod
    def _caption(job: DeliveryJobOut) -> str:
        count = len(image_paths(job))
        what = f"{count} image(s); click one to make it the selected adapter's preview"
        return f"Job {job.id[:8]} · {job.status}" + (f" · {what}" if count else "")

    @Slot(int, str, QImage)
    def _on_signals_decoded(self, generation: int, path: str, image: QImage) -> None:
        if generation != self._generation:
            return  # another job is shown now
        for row in range(self.image_list.count()):
            item = self.image_list.item(row)
            if item.data(PATH_ROLE) == path:
                if image.isNull():
                    item.setText(f"{Path(path).name} (cannot be read)")
                else:
                    item.setIcon(QIcon(QPixmap.fromImage(image)))

    def _on_image_list_item_clicked(self, item: QListWidgetItem) -> None:
        path = item.data(PATH_ROLE)
        if isinstance(path, str) and path:
            self.image_chosen.emit(path)
