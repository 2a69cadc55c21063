"""Real files and window set-up for the file-inspection GUI tests."""

from __future__ import annotations

import base64
import struct
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from lora_desktop.app import create_main_window
from lora_desktop.ui.main_window import MainWindow
from tests.inspect_files import header_bytes, kohya_metadata, write_safetensors

__all__ = ["kohya_metadata", "write_safetensors"]


def write_png(path: Path, color: str = "#c03030", size: tuple[int, int] = (64, 48)) -> Path:
    """A real PNG of one colour."""
    image = QImage(size[0], size[1], QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert image.save(str(path), "PNG")
    return path


def png_data_url(color: str = "#3050c0") -> str:
    """An inline ``data:image/png;base64,…`` thumbnail as modelspec writes it."""
    image = QImage(16, 16, QImage.Format.Format_RGB32)
    image.fill(QColor(color))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    buffer.close()
    return "data:image/png;base64," + base64.b64encode(bytes(data.data())).decode()


def write_big_sparse(path: Path, gib: int = 3) -> Path:
    """A valid safetensors file of ``gib`` GiB whose data is a hole (instant to make)."""
    count = gib * 1024 * 1024 * 1024 // 2
    raw, size = header_bytes({"w": ("F16", [count])}, {"ss_output_name": "big"})
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(raw)) + raw)
        out.truncate(8 + len(raw) + size)
    return path


def build_window(qtbot: QtBot, db_path: Path, *, show: bool = True) -> MainWindow:
    """A main window on ``db_path`` (closed by qtbot at the end of the test)."""
    window = create_main_window(db_path)
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    if show:
        window.show()
        qtbot.waitExposed(window)
    return window


def pixel(image: QImage) -> str:
    """The colour at the middle of ``image``, as ``#rrggbb``."""
    return image.pixelColor(image.width() // 2, image.height() // 2).name()
