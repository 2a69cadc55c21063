"""Thumbnails: decoded off the GUI thread for the visible rows only, cached on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.adapter_rows import COL_PREVIEW
from lora_desktop.ui.thumbnails import LIST_SIZE, cache_key, default_cache_folder, make_thumbnail
from tests.gui.inspection_helpers import (
    build_window,
    kohya_metadata,
    pixel,
    png_data_url,
    write_png,
    write_safetensors,
)

pytestmark = pytest.mark.gui

DECORATION = Qt.ItemDataRole.DecorationRole


def _library_with_previews(library: Library, folder: Path, count: int) -> None:
    for n in range(count):
        write_safetensors(folder / f"lora_{n:03}.safetensors", kohya_metadata())
        write_png(folder / f"lora_{n:03}.preview.png", "#c03030", (300, 200))
    register_many(library, [folder])


def test_visible_rows_get_thumbnails_and_only_they_are_cached(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    _library_with_previews(library, lora_dir, 80)
    window = build_window(qtbot, db_path, show=False)
    window.resize(900, 420)
    window.show()
    qtbot.waitExposed(window)
    view = window.list_view
    first, last = view.rowAt(0), view.rowAt(view.viewport().height() - 1)
    assert 0 <= first < last < 79, "the test needs rows below the fold"

    def visible_have_thumbnails() -> bool:
        for row in range(first, last + 1):
            source = window.proxy.mapToSource(window.proxy.index(row, COL_PREVIEW))
            if not isinstance(source.data(DECORATION), QPixmap):
                return False
        return True

    qtbot.waitUntil(visible_have_thumbnails, timeout=10_000)
    pixmap = window.model.index(first, COL_PREVIEW).data(DECORATION)
    assert max(pixmap.width(), pixmap.height()) == LIST_SIZE
    assert pixel(pixmap.toImage()) == "#c03030"
    cached = list(default_cache_folder().glob("*.png"))
    assert len(cached) >= last - first + 1
    assert len(cached) < 80, "rows never shown must not be decoded"
    row = window.model.row_at(first)
    assert row.preview_path is not None
    assert (default_cache_folder() / f"{cache_key(row.preview_path, LIST_SIZE)}.png").is_file()


def test_the_disk_cache_is_used_and_a_changed_picture_is_made_again(
    lora_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    folder = tmp_path / "thumbs"
    preview = write_png(lora_dir / "a.png", "#c03030", (120, 120))
    first = make_thumbnail("id", str(preview), LIST_SIZE, folder, None)
    assert first is not None
    assert pixel(first) == "#c03030"
    key = cache_key(str(preview), LIST_SIZE)
    # Paint the cached file green: a second request must come from the cache.
    write_png(folder / f"{key}.png", "#20a020", (LIST_SIZE, LIST_SIZE))
    again = make_thumbnail("id", str(preview), LIST_SIZE, folder, None)
    assert again is not None
    assert pixel(again) == "#20a020"
    # The picture changes (size and mtime): the cache key changes, it is decoded again.
    write_png(preview, "#3030c0", (150, 100))
    changed = make_thumbnail("id", str(preview), LIST_SIZE, folder, None)
    assert changed is not None
    assert pixel(changed) == "#3030c0"
    assert changed.width() == LIST_SIZE
    assert changed.height() in (18, 19)


def test_an_inline_modelspec_thumbnail_is_used_without_a_preview_file(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    meta = kohya_metadata()
    meta["modelspec.thumbnail"] = png_data_url("#3050c0")
    write_safetensors(lora_dir / "inline.safetensors", meta)
    write_safetensors(lora_dir / "plain.safetensors", kohya_metadata())
    write_png(lora_dir / "broken.preview.png", "#000000").write_bytes(b"not a png at all")
    write_safetensors(lora_dir / "broken.safetensors", kohya_metadata())
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    inline_id = adapters.get(library, "inline").id

    def decoration(name: str) -> object:
        return window.model.index_of(adapters.get(library, name).id, COL_PREVIEW).data(DECORATION)

    qtbot.waitUntil(lambda: isinstance(decoration("inline"), QPixmap), timeout=10_000)
    assert pixel(decoration("inline").toImage()) == "#3050c0"
    qtbot.waitUntil(lambda: not window.inspection.thumbnails.busy, timeout=10_000)
    assert decoration("plain") is None
    assert decoration("broken") is None
    # The editor's large preview shows the same inline picture.
    window.select_adapter(inline_id)
    preview = window.editor.inspection.preview
    qtbot.waitUntil(lambda: preview.has_picture, timeout=10_000)
    image: QImage = preview.pixmap().toImage()
    assert pixel(image) == "#3050c0"
