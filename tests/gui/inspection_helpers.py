"""Real files and window set-up for the file-inspection GUI tests."""

from __future__ import annotations

import base64
import os
import pickle
import shutil
import struct
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage
from pytestqt.qtbot import QtBot

from lora_desktop.app import create_main_window
from lora_desktop.services import adapters
from lora_desktop.services.inspect.hash_service import hash_pending
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
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


def select(window: MainWindow, library: Library, name: str) -> str:
    """Select the adapter called ``name`` in ``window``; its id."""
    adapter_id = adapters.get(library, name).id
    assert window.select_adapter(adapter_id)
    assert window.editor.adapter_id == adapter_id
    return adapter_id


def register_copies(library: Library, folder: Path) -> None:
    """Register and hash ``alpha``, ``alpha_copy`` (the same file) and ``retitled`` (the
    same weights, other metadata)."""
    data = bytes(range(256)) * 4
    tensors = {"w": ("F16", [512])}
    first = write_safetensors(folder / "alpha.safetensors", kohya_metadata(), tensors, data=data)
    shutil.copyfile(first, folder / "alpha_copy.safetensors")
    write_safetensors(
        folder / "retitled.safetensors",
        kohya_metadata(ss_output_name="other"),
        tensors,
        data=data,
    )
    register_many(library, [folder])
    hash_pending(library)


def register_dangerous(library: Library, folder: Path) -> str:
    """Register ``evil.pt``, a pickle whose loading would run ``os.system``; its id."""

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (os.system, ("true",))

    (folder / "evil.pt").write_bytes(pickle.dumps(Payload()))
    register_many(library, [folder])
    return adapters.get(library, "evil").id


def editor_activating_dangerous(
    library: Library, folder: Path, db_path: Path, qtbot: QtBot
) -> tuple[MainWindow, str]:
    """A window whose editor shows ``evil.pt`` with Active ticked, not saved yet."""
    evil = register_dangerous(library, folder)
    window = build_window(qtbot, db_path)
    window.select_adapter(evil)
    window.editor.active_check.setChecked(True)
    return window, evil


def window_with_lora(
    library: Library, folder: Path, db_path: Path, qtbot: QtBot, name: str
) -> MainWindow:
    """A window on ``library`` after registering ``<name>.safetensors`` (kohya metadata)."""
    write_safetensors(folder / f"{name}.safetensors", kohya_metadata())
    register_many(library, [folder])
    return build_window(qtbot, db_path)
