"""Registering dropped or chosen files and folders in the background.

``FileDropFilter`` catches external file drops anywhere on the window (forced to
a copy, handled after the drop returns so the file manager is never kept
waiting). ``ImportController`` runs ``services.registration.register_many`` on
the window's thread pool and reports progress and the final per-path report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import cast

from PySide6.QtCore import QEvent, QMimeData, QObject, Qt, QTimer, QUrl, Signal, Slot
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
from PySide6.QtWidgets import QWidget

from lora_desktop.models.schemas import RegisterEntry, RegisterReport
from lora_desktop.services.library import Library
from lora_desktop.ui.adapter_rows import MIME_IDS
from lora_desktop.ui.workers import JobRunner, ProgressReport, StopCheck

log = logging.getLogger(__name__)

NOT_LOCAL = "not a local file"
OWN_DROPS_ATTRIBUTE = "owns_image_drops"
"""A widget (Python) attribute: when true, the widget handles the drops it wants itself.

A plain attribute, not a Qt dynamic property: this filter sees every event of
every widget, and reading a bool property that often from PySide 6.12 corrupts
the reference count of ``True`` (a crash at exit)."""
IMAGE_DROP_ATTRIBUTE = "take_image_drop"
"""A widget (Python) attribute: a callable ``(mime data) -> bool`` that takes a drop
made on the widget or any widget inside it (the detail editor: an image sets the
preview); False lets the drop be imported as usual. A plain attribute, as above."""
_DRAG_EVENTS = (QEvent.Type.DragEnter, QEvent.Type.DragMove, QEvent.Type.Drop)


def _image_drop_taker(widget: QObject) -> Callable[[QMimeData | None], bool] | None:
    """The nearest ``take_image_drop`` of ``widget`` or its parents, if any."""
    current: QObject | None = widget
    while current is not None:
        taker = getattr(current, IMAGE_DROP_ATTRIBUTE, None)
        if callable(taker):
            return cast("Callable[[QMimeData | None], bool]", taker)
        current = current.parent()
    return None


def split_urls(urls: Sequence[QUrl]) -> tuple[list[str], list[RegisterEntry]]:
    """Local paths to register, and a skipped line for each URL that is not a local file."""
    paths: list[str] = []
    skipped: list[RegisterEntry] = []
    for url in urls:
        if url.isLocalFile() and url.toLocalFile():
            paths.append(url.toLocalFile())
        else:
            shown = url.toDisplayString() or url.toString() or "(empty URL)"
            skipped.append(RegisterEntry(path=shown, outcome="skipped", reason=NOT_LOCAL))
    return paths, skipped


def is_file_drop(event: QDragEnterEvent | QDragMoveEvent | QDropEvent) -> bool:
    """Whether a drag carries URLs from outside (not our own row drag)."""
    data = event.mimeData()
    return data is not None and data.hasUrls() and not data.hasFormat(MIME_IDS)


class FileDropFilter(QObject):
    """Event filter: file drops on any watched widget become one ``urls_dropped``."""

    urls_dropped = Signal(list)
    """The dropped URLs (a list of QUrl), emitted after the drop event has returned."""

    def watch(self, widget: QWidget) -> None:
        """Catch file drops on ``widget`` and every widget inside it."""
        widget.setAcceptDrops(True)
        widget.installEventFilter(self)
        for child in widget.findChildren(QWidget):
            child.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """QObject.eventFilter: accept URL drags as copies; defer the drop's work."""
        kind = event.type()
        if kind in _DRAG_EVENTS and getattr(watched, OWN_DROPS_ATTRIBUTE, False):
            return False  # e.g. the preview: it takes images and ignores the rest (which
            # then reach its parents, and this filter, as an ordinary drop)
        if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and isinstance(
            event, QDragEnterEvent | QDragMoveEvent
        ):
            if is_file_drop(event):
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                return True
            return False
        if kind == QEvent.Type.Drop and isinstance(event, QDropEvent) and is_file_drop(event):
            data = event.mimeData()
            taker = _image_drop_taker(watched)
            if taker is not None and taker(data):
                event.setDropAction(Qt.DropAction.CopyAction)
                event.accept()
                return True
            urls = list(data.urls()) if data is not None else []
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
            # The source application waits for the drop to return: do the work later.
            QTimer.singleShot(0, self, lambda: self.urls_dropped.emit(urls))
            return True
        return False


class _ImportTask(QObject):
    """The GUI-thread side of one import: its extra report lines and its slots."""

    def __init__(self, controller: ImportController, extra: list[RegisterEntry]) -> None:
        super().__init__(controller)
        self._controller = controller
        self._extra = extra

    @Slot(int, int)
    def on_progress(self, done: int, total: int) -> None:
        self._controller.progress.emit(done, total)

    @Slot(object)
    def on_succeeded(self, report: object) -> None:
        entries = list(report.entries) if isinstance(report, RegisterReport) else []
        self._controller.finish(RegisterReport(entries=entries + self._extra))
        self.deleteLater()

    @Slot(str)
    def on_failed(self, message: str) -> None:
        self._controller.failed.emit(message)
        self._controller.finish(None)
        self.deleteLater()


class ImportController(QObject):
    """Runs registrations one after another in the background; reports on the GUI thread."""

    started = Signal()
    progress = Signal(int, int)
    finished = Signal(object)
    """A ``RegisterReport`` for each import that ran (with the not-local lines added)."""
    failed = Signal(str)
    idle = Signal()
    """No import is queued or running any more."""

    def __init__(self, library: Library, runner: JobRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._library = library
        self._runner = runner
        self._pending = 0

    @property
    def busy(self) -> bool:
        """Whether an import is queued or running."""
        return self._pending > 0

    def import_urls(self, urls: Sequence[QUrl]) -> None:
        """Register the local files and folders among ``urls``; report the others."""
        paths, skipped = split_urls(urls)
        self.import_paths(paths, skipped)

    def import_paths(self, paths: Sequence[str], extra: Sequence[RegisterEntry] = ()) -> None:
        """Register files and folders (recursively) in the background."""
        lines = list(extra)
        if not paths:
            if lines:
                self.finished.emit(RegisterReport(entries=lines))
            return
        library = self._library
        chosen = list(paths)

        def work(stop: StopCheck, report_progress: ProgressReport) -> RegisterReport:
            # On a pool thread: only the library and plain values. Imported here:
            # registration (file inspection) is not needed before the first paint.
            from lora_desktop.services.registration import register_many

            return register_many(library, chosen, progress=report_progress, should_stop=stop)

        task = _ImportTask(self, lines)
        handle = self._runner.start(
            work,
            succeeded=task.on_succeeded,
            failed=task.on_failed,
            progress=task.on_progress,
        )
        if handle is None:
            task.deleteLater()
            return
        self._pending += 1
        log.info("importing %d path(s)", len(chosen))
        self.started.emit()

    def finish(self, report: RegisterReport | None) -> None:
        """One import ended (called by its task)."""
        self._pending = max(0, self._pending - 1)
        if report is not None:
            self.finished.emit(report)
        if self._pending == 0:
            self.idle.emit()
