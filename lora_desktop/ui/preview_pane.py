"""The detail editor's large preview; dropping an image on it sets the adapter's preview.

The picture is made off the GUI thread by the shared ``ThumbnailLoader``. A
dropped image asks (a window-modal box opened without blocking, so tests and
the event loop go on) where to keep it: next to the LoRA as
``<stem>.preview.png``, or in the app's data folder as ``previews/<id>.png``.
Either way it is written as PNG and stored with
``update_adapter(..., {"preview_path": ...})``.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from PySide6.QtCore import QMimeData, Qt, QTimer, Signal
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent, QImageReader
from PySide6.QtWidgets import QLabel, QMessageBox, QPushButton, QSizePolicy, QWidget

from lora_desktop.models.schemas import AdapterOut
from lora_desktop.services import adapters as adapter_service
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library
from lora_desktop.ui.thumbnails import PIXELS_MAX, PREVIEW_SIZE, ThumbnailLoader

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp"})
NO_PREVIEW = "No preview\n\nDrop an image here to set one"


def dropped_image(data: QMimeData | None) -> str | None:
    """The local image file a drag carries (exactly one), else None."""
    if data is None or not data.hasUrls():
        return None
    urls = data.urls()
    if len(urls) != 1 or not urls[0].isLocalFile():
        return None
    path = urls[0].toLocalFile()
    return path if Path(path).suffix.lower() in IMAGE_SUFFIXES else None


def several_images(data: QMimeData | None) -> int:
    """How many local image files a drag carries when it carries two or more and
    nothing else (0 otherwise: one image, or a LoRA among them, is not this case)."""
    if data is None or not data.hasUrls():
        return 0
    urls = data.urls()
    if len(urls) < 2:
        return 0
    for url in urls:
        if not url.isLocalFile() or Path(url.toLocalFile()).suffix.lower() not in IMAGE_SUFFIXES:
            return 0
    return len(urls)


def app_preview_folder() -> Path:
    """``platformdirs.user_data_dir("lora-desktop")/previews``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("lora-desktop")) / "previews"


def write_png(source: str, target: Path) -> None:
    """Write ``source`` (any readable image) as a PNG at ``target``, atomically.

    Raises:
        OSError: the image can't be read or the file can't be written.
    """
    reader = QImageReader(source)
    reader.setAutoTransform(True)
    size = reader.size()
    if not size.isValid():
        raise OSError(f"{source} is not an image this app can use")
    if size.width() * size.height() > PIXELS_MAX:
        raise OSError(
            f"{source} is too large ({size.width():,} × {size.height():,} pixels; "
            f"at most {PIXELS_MAX:,} pixels)"
        )
    image = reader.read()
    if image.isNull():
        raise OSError(f"{source} could not be read: {reader.errorString()}")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    if not image.save(str(partial), "PNG"):
        partial.unlink(missing_ok=True)
        raise OSError(f"could not write {target}")
    os.replace(partial, target)


class PreviewPane(QLabel):
    """The selected adapter's preview picture, and a drop target for a new one."""

    message = Signal(str)
    preview_set = Signal(str)
    """The adapter id whose preview was just stored."""

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("previewLabel")
        self._library = library
        self._adapter: AdapterOut | None = None
        self._loader: ThumbnailLoader | None = None
        self._dropped: str | None = None
        self.choice_box: QMessageBox | None = None
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setMinimumSize(160, 160)
        self.setMaximumHeight(PREVIEW_SIZE + 8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setStyleSheet("QLabel#previewLabel { border: 1px dashed palette(mid); }")
        self.setAcceptDrops(True)
        self.owns_image_drops = True  # the window's file-drop filter lets our drops through
        self.setText(NO_PREVIEW)

    def set_loader(self, loader: ThumbnailLoader | None) -> None:
        """Make pictures with ``loader`` (shared with the list)."""
        if self._loader is not None:
            self._loader.ready.disconnect(self._on_loader_ready)
        self._loader = loader
        if loader is not None:
            loader.ready.connect(self._on_loader_ready)
        self._show_picture()

    def show_adapter(self, adapter: AdapterOut | None) -> None:
        """Show ``adapter``'s preview (or say there is none)."""
        self._adapter = adapter
        self._show_picture()

    @property
    def has_picture(self) -> bool:
        """Whether a picture (not the hint text) is shown."""
        pixmap = self.pixmap()
        return pixmap is not None and not pixmap.isNull()

    def _show_picture(self) -> None:
        a = self._adapter
        pixmap = None
        if a is not None and self._loader is not None:
            pixmap = self._loader.pixmap(a.id, a.preview_path, PREVIEW_SIZE)
        if pixmap is None:
            self.clear()
            loading = a is not None and self._loader is not None and a.preview_path
            self.setText("Loading preview…" if loading else NO_PREVIEW)
        else:
            self.setPixmap(pixmap)

    def _on_loader_ready(self, adapter_id: str, edge: int) -> None:
        if edge == PREVIEW_SIZE and self._adapter is not None and adapter_id == self._adapter.id:
            self._show_picture()

    # -- dropping an image ----------------------------------------------------

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """QWidget.dragEnterEvent: accept one image file, or several to say a preview is
        one (others go to the window)."""
        if self._wants(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        """QWidget.dragMoveEvent: as dragEnterEvent."""
        if self._wants(event.mimeData()):
            event.setDropAction(Qt.DropAction.CopyAction)
            event.accept()
        else:
            event.ignore()

    def _wants(self, data: QMimeData | None) -> bool:
        return bool(several_images(data)) or (
            self._adapter is not None and dropped_image(data) is not None
        )

    def dropEvent(self, event: QDropEvent) -> None:
        """QWidget.dropEvent: remember the image; ask where to keep it once the drop returns."""
        if not self.take_drop(event.mimeData()):
            event.ignore()
            return
        event.setDropAction(Qt.DropAction.CopyAction)
        event.accept()

    def take_drop(self, data: QMimeData | None) -> bool:
        """Take a drop carrying one image (False: no adapter shown, or not one image).

        The "where to keep it" box opens once the drop has returned. Several images
        (and nothing else) are taken too, only to say that a preview is one image:
        imported, they would be skipped one by one as "not a LoRA file".
        """
        count = several_images(data)
        if count:
            self.message.emit(f"A preview takes one image ({count} were dropped): drop just one")
            return True
        path = dropped_image(data)
        if self._adapter is None or path is None:
            return False
        self._dropped = path
        QTimer.singleShot(0, self, self.ask_where)
        return True

    def ask_where(self) -> QMessageBox | None:
        """Open the "where to keep it" box for the dropped image (non-blocking)."""
        if self._adapter is None or self._dropped is None:
            return None
        stem = Path(self._adapter.file_path).stem
        box = QMessageBox(self)
        box.setObjectName("previewChoiceBox")
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Set the preview")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(f"Use {Path(self._dropped).name} as the preview of {self._adapter.name}?")
        box.setInformativeText(
            f"Copy it next to the LoRA as {stem}.preview.png (other tools see it too), "
            "or keep it in LoRA Desk's own folder (nothing is written beside the LoRA)."
        )
        beside = box.addButton("Copy next to the LoRA", QMessageBox.ButtonRole.AcceptRole)
        beside.setObjectName("previewBesideButton")
        own = box.addButton("Keep in LoRA Desk", QMessageBox.ButtonRole.AcceptRole)
        own.setObjectName("previewAppFolderButton")
        cancel = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(own)
        box.setEscapeButton(cancel)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.buttonClicked.connect(self._on_choice_box_button_clicked)
        self.choice_box = box
        box.open()
        return box

    def _on_choice_box_button_clicked(self, button: QPushButton) -> None:
        self.choice_box = None
        source, self._dropped = self._dropped, None
        adapter = self._adapter
        name = button.objectName()
        if (
            adapter is None
            or source is None
            or name
            not in (
                "previewBesideButton",
                "previewAppFolderButton",
            )
        ):
            return
        if name == "previewBesideButton":
            target = Path(adapter.file_path).with_name(
                Path(adapter.file_path).stem + ".preview.png"
            )
        else:
            target = app_preview_folder() / f"{adapter.id}.png"
        self.set_preview(adapter, source, target)

    def set_preview(self, adapter: AdapterOut, source: str, target: Path) -> bool:
        """Write ``source`` as PNG at ``target`` and make it ``adapter``'s preview."""
        try:
            write_png(source, target)
            adapter_service.update_adapter(self._library, adapter.id, {"preview_path": str(target)})
        except OSError as exc:
            self.message.emit(f"Preview not set: {exc}")
            return False
        except DomainError as exc:
            self.message.emit(f"Preview not set: {exc.detail}")
            return False
        if self._loader is not None:
            self._loader.forget(adapter.id)
        self.message.emit(f"Preview of {adapter.name} set ({target})")
        self.preview_set.emit(adapter.id)
        return True
