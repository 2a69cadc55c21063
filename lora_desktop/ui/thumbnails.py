"""Preview thumbnails, decoded off the GUI thread and cached on disk.

The list asks for a thumbnail when Qt paints a row (so only visible rows are
ever asked); the loader answers at once with what it has in memory, or None,
and queues the work. A pool thread reads the disk cache
(``user_cache_dir/thumbnails``, keyed by the image's path, mtime, size and the
thumbnail size) or decodes the picture scaled with ``QImageReader`` and writes
the cache. Only ``QImage`` is used off the GUI thread; the pixmap is made on
the GUI thread when ``ready`` arrives.

When an adapter has no preview file, the inline ``modelspec.thumbnail`` of its
header is used (looked up on the pool thread through the services).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import (
    QBuffer,
    QByteArray,
    QIODevice,
    QObject,
    QRunnable,
    Qt,
    QThreadPool,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QImage, QImageReader, QPixmap

log = logging.getLogger(__name__)

LIST_SIZE = 28
"""Edge of the list's thumbnails, in pixels (fits a compact row)."""
PREVIEW_SIZE = 200
"""Edge of the detail editor's large preview."""
PIXELS_MAX = 8192 * 8192
"""Pictures larger than this are not decoded (a 20,000 × 20,000 PNG would need 1.6 GB)."""
MEMORY_ITEMS = 2000

InlineLookup = Callable[[str], tuple[str, bytes | None] | None]
"""``lookup(adapter_id) -> (file_path, inline image bytes or None)``; runs on a pool thread."""


def default_cache_folder() -> Path:
    """``platformdirs.user_cache_dir("lora-desktop")/thumbnails``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("lora-desktop")) / "thumbnails"


def cache_key(path: str, edge: int) -> str | None:
    """The disk-cache name of ``path``'s thumbnail at ``edge`` pixels (None: no such file)."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    raw = f"{path}\0{st.st_mtime_ns}\0{st.st_size}\0{edge}".encode("utf-8", "surrogatepass")
    return hashlib.sha1(raw, usedforsecurity=False).hexdigest()


def _scaled(reader: QImageReader, edge: int) -> QImage | None:
    """Decode what ``reader`` points at, scaled to fit ``edge`` (None if unusable)."""
    size = reader.size()
    if not size.isValid() or size.width() * size.height() > PIXELS_MAX:
        return None
    if size.width() > edge or size.height() > edge:
        reader.setScaledSize(size.scaled(edge, edge, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else image


def decode_file(path: str, edge: int) -> QImage | None:
    """An image file scaled to fit ``edge`` pixels (None if it is not a usable image)."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    return _scaled(reader, edge)


def decode_bytes(data: bytes, edge: int) -> QImage | None:
    """Image bytes (an inline thumbnail) scaled to fit ``edge`` pixels."""
    buffer = QBuffer()
    buffer.setData(QByteArray(data))
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    image = _scaled(reader, edge)
    buffer.close()
    return image


def make_thumbnail(
    adapter_id: str,
    preview_path: str | None,
    edge: int,
    folder: Path,
    inline: InlineLookup | None,
) -> QImage | None:
    """The thumbnail of one adapter (on a pool thread): from the disk cache, else decoded."""
    source = preview_path
    data: bytes | None = None
    if not source and inline is not None:
        found = inline(adapter_id)
        if found is None or found[1] is None:
            return None
        source, data = found
    if not source:
        return None
    key = cache_key(source, edge)
    if key is None:
        return None
    cached = folder / f"{key}.png"
    if cached.is_file():
        image = decode_file(str(cached), edge)
        if image is not None:
            return image
    image = decode_bytes(data, edge) if data is not None else decode_file(source, edge)
    if image is None:
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        partial = folder / f"{key}.{os.getpid()}.tmp"
        if image.save(str(partial), "PNG"):
            os.replace(partial, cached)
    except OSError as exc:  # a full or read-only cache only costs speed
        log.debug("thumbnail cache not written: %s", exc)
    return image


class _ThumbnailSignals(QObject):
    done = Signal(str, int, object)
    """(adapter id, edge, QImage or None)."""


class _ThumbnailJob(QRunnable):
    def __init__(
        self,
        signals: _ThumbnailSignals,
        request: tuple[str, str | None, int],
        folder: Path,
        inline: InlineLookup | None,
    ) -> None:
        super().__init__()
        self.setAutoDelete(True)
        self._signals = signals
        self._request = request
        self._folder = folder
        self._inline = inline

    def run(self) -> None:
        """QRunnable.run, on a pool thread: make the thumbnail and report it."""
        adapter_id, preview, edge = self._request
        try:
            image = make_thumbnail(adapter_id, preview, edge, self._folder, self._inline)
        except Exception:  # a bug must not kill the pool thread silently
            log.exception("thumbnail of %s failed", adapter_id)
            image = None
        self._signals.done.emit(adapter_id, edge, image)


class ThumbnailLoader(QObject):
    """Thumbnails by adapter id, made in the background; ``ready`` says one arrived."""

    ready = Signal(str, int)
    """(adapter id, edge): ``pixmap(id, preview, edge)`` now has an answer."""

    def __init__(
        self,
        folder: Path | None = None,
        inline: InlineLookup | None = None,
        parent: QObject | None = None,
        *,
        threads: int = 1,
    ) -> None:
        super().__init__(parent)
        self._folder = folder if folder is not None else default_cache_folder()
        self._inline = inline
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._signals = _ThumbnailSignals(self)
        self._signals.done.connect(self._on_signals_done)
        # (id, edge) -> (preview path it was made for, pixmap or None for "nothing to show").
        self._memory: OrderedDict[tuple[str, int], tuple[str | None, QPixmap | None]] = (
            OrderedDict()
        )
        self._wanted: dict[tuple[str, int], str | None] = {}
        self._running: set[tuple[str, int]] = set()
        self._queue: list[tuple[str, str | None, int]] = []
        self._closed = False
        # Requests made while Qt paints are started once the paint is over.
        self._dispatch = QTimer(self)
        self._dispatch.setSingleShot(True)
        self._dispatch.setInterval(0)
        self._dispatch.timeout.connect(self._on_dispatch_timeout)

    @property
    def folder(self) -> Path:
        """The disk cache folder."""
        return self._folder

    @property
    def busy(self) -> bool:
        """Whether thumbnails are queued or being made."""
        return bool(self._queue or self._running)

    def pixmap(self, adapter_id: str, preview_path: str | None, edge: int) -> QPixmap | None:
        """The thumbnail if known; otherwise None now, and ``ready`` later. Never blocks."""
        key = (adapter_id, edge)
        known = self._memory.get(key)
        if known is not None and known[0] == preview_path:
            self._memory.move_to_end(key)
            return known[1]
        if self._closed or self._wanted.get(key, 0) == preview_path:
            return None  # already asked for this very picture
        self._wanted[key] = preview_path
        self._queue.append((adapter_id, preview_path, edge))
        self._dispatch.start()
        return None

    def forget(self, adapter_id: str) -> None:
        """Drop what is known about ``adapter_id`` (its preview changed)."""
        for key in [k for k in self._memory if k[0] == adapter_id]:
            del self._memory[key]
        for key in [k for k in self._wanted if k[0] == adapter_id]:
            del self._wanted[key]

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Drop queued work and wait for the running jobs (late results ignored)."""
        self._closed = True
        self._dispatch.stop()
        self._queue.clear()
        self._signals.blockSignals(True)
        self._pool.clear()
        return self._pool.waitForDone(timeout_ms)

    @Slot()
    def _on_dispatch_timeout(self) -> None:
        # Newest requests first: they are the rows the artist is looking at now.
        queue, self._queue = self._queue, []
        for adapter_id, preview, edge in reversed(queue):
            key = (adapter_id, edge)
            if key in self._running or self._wanted.get(key, 0) != preview:
                continue
            self._running.add(key)
            job = _ThumbnailJob(
                self._signals, (adapter_id, preview, edge), self._folder, self._inline
            )
            self._pool.start(job)

    @Slot(str, int, object)
    def _on_signals_done(self, adapter_id: str, edge: int, image: object) -> None:
        key = (adapter_id, edge)
        self._running.discard(key)
        if self._closed or key not in self._wanted:
            return
        preview = self._wanted.pop(key)
        pixmap = QPixmap.fromImage(image) if isinstance(image, QImage) else None
        self._memory[key] = (preview, pixmap)
        while len(self._memory) > MEMORY_ITEMS:
            self._memory.popitem(last=False)
        self.ready.emit(adapter_id, edge)


__all__ = [
    "LIST_SIZE",
    "PREVIEW_SIZE",
    "ThumbnailLoader",
    "cache_key",
    "decode_bytes",
    "decode_file",
    "default_cache_folder",
    "make_thumbnail",
]
