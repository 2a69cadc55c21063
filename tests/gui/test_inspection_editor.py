"""The detail editor's file facts: metadata table, suggestions, hashes, duplicates, preview drop."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLabel, QPushButton
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters
from lora_desktop.services.inspect.hash_service import hash_pending
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.preview_pane import app_preview_folder
from tests.gui.conftest import drop_urls
from tests.gui.inspection_helpers import (
    build_window,
    kohya_metadata,
    pixel,
    register_copies,
    select,
    write_png,
    write_safetensors,
)

pytestmark = pytest.mark.gui


def test_training_metadata_is_a_collapsible_plain_text_table(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    long_value = "x" * 5000
    meta = kohya_metadata(ss_output_name="<b>x</b>", ss_note=long_value)
    write_safetensors(lora_dir / "bold.safetensors", meta)
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    select(window, library, "bold")
    section = window.editor.inspection.metadata
    table = window.editor.inspection.metadata_table
    assert table.objectName() == "metadataTable"
    assert table.isHidden()
    assert section.toggle.text() == f"Training metadata ({len(meta)})"
    section.toggle.click()
    assert table.isVisible()
    keys = [table.topLevelItem(r).text(0) for r in range(table.topLevelItemCount())]
    assert keys == sorted(meta)
    row = keys.index("ss_output_name")
    item = table.topLevelItem(row)
    assert item.text(1) == "<b>x</b>"  # literal: tree items never render markup
    assert "&lt;b&gt;x&lt;/b&gt;" in item.toolTip(1)
    assert table.value_of("ss_note") == long_value
    assert len(table.topLevelItem(keys.index("ss_note")).text(1)) < 400  # elided in the cell
    table.clearSelection()
    item.setSelected(True)
    table.copy_action.trigger()
    assert QGuiApplication.clipboard().text() == "ss_output_name\t<b>x</b>"
    facts = window.editor.inspection.facts_label
    assert facts.textFormat().name == "PlainText"
    assert "<b>x</b>" in facts.text()
    assert "SDXL 1.0" in facts.text()


def test_accepting_suggestions_fills_the_fields_and_save_keeps_them(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    write_safetensors(lora_dir / "red.safetensors", kohya_metadata())
    register_many(library, [lora_dir])
    hash_pending(library)  # the suggestions come with the hash pass
    window = build_window(qtbot, db_path)
    adapter_id = select(window, library, "red")
    pane = window.editor.inspection
    triggers = [c.property("word") for c in pane.chips("trigger")]
    assert triggers[:2] == ["ohwx woman", "ohwx"]
    tags = [c.property("word") for c in pane.chips("tag")]
    assert tags[:2] == ["red hair", "1girl"]
    assert window.editor.trigger_words_edit.toPlainText() == ""  # never applied on its own

    pane.chips("trigger")[0].click()
    pane.chips("tag")[0].click()
    assert window.editor.trigger_words_edit.toPlainText() == "ohwx woman"
    assert window.editor.tags_edit.text() == "red hair"
    assert not pane.chips("trigger")[0].isEnabled()
    assert window.editor.save_button.isEnabled()
    window.editor.save_button.click()
    stored = adapters.get(library, adapter_id)
    assert (stored.trigger_words, stored.tags) == (["ohwx woman"], ["red hair"])
    # Shown again: what is already in the fields is no longer suggested.
    qtbot.waitUntil(lambda: "ohwx woman" not in [c.property("word") for c in pane.chips("trigger")])


def test_hashes_duplicates_and_same_weights_are_shown_and_linked(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    register_copies(library, lora_dir)
    window = build_window(qtbot, db_path)
    select(window, library, "alpha")
    stored = adapters.get(library, "alpha")
    assert stored.sha256
    assert stored.autov3
    hashes = window.editor.inspection.hashes_label.text()
    assert stored.sha256 in hashes
    assert stored.sha256[:10] in hashes
    assert stored.autov3 in hashes

    pane = window.editor.inspection
    marks = {w.objectName() for w in pane.links_box.findChildren(QLabel) if w.isVisibleTo(pane)}
    assert {"duplicateMark", "sameWeightsMark"} <= marks
    links = {
        b.objectName(): b.text()
        for b in pane.links_box.findChildren(QPushButton)
        if b.isVisibleTo(pane)
    }
    assert links == {"duplicateLink": "alpha_copy", "sameWeightsLink": "retitled"}
    copy_link = next(
        b
        for b in pane.links_box.findChildren(QPushButton)
        if b.objectName() == "duplicateLink" and b.isVisibleTo(pane)
    )
    copy_link.click()
    copy_id = adapters.get(library, "alpha_copy").id
    assert window.list_view.current_id() == copy_id
    assert window.editor.adapter_id == copy_id
    status = window.model.index_of(copy_id, 3).data()
    assert "duplicate" in status


def test_dropping_an_image_asks_where_to_keep_it_then_sets_the_preview(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    write_safetensors(lora_dir / "pic.safetensors", kohya_metadata())
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    adapter_id = select(window, library, "pic")
    preview = window.editor.inspection.preview
    assert not preview.has_picture

    dropped = write_png(tmp_path / "elsewhere" / "shot.jpg", "#208020", (200, 100))
    drop_urls(preview, [QUrl.fromLocalFile(str(dropped))])
    qtbot.waitUntil(lambda: preview.choice_box is not None and preview.choice_box.isVisible())
    assert not window.imports.busy  # an image on the preview is not an import
    box = preview.choice_box
    assert box is not None
    box.findChild(QPushButton, "previewBesideButton").click()
    beside = lora_dir / "pic.preview.png"
    assert beside.is_file()
    assert adapters.get(library, adapter_id).preview_path == str(beside)
    qtbot.waitUntil(lambda: preview.has_picture, timeout=10_000)
    assert pixel(preview.pixmap().toImage()) == "#208020"

    second = write_png(tmp_path / "elsewhere" / "other.png", "#2020a0", (80, 80))
    drop_urls(preview, [QUrl.fromLocalFile(str(second))])
    qtbot.waitUntil(lambda: preview.choice_box is not None and preview.choice_box.isVisible())
    box = preview.choice_box
    assert box is not None
    box.findChild(QPushButton, "previewAppFolderButton").click()
    kept = app_preview_folder() / f"{adapter_id}.png"
    assert kept.is_file()
    stored = adapters.get(library, adapter_id)
    assert stored.preview_path == str(kept)
    assert "preview_path" in stored.edited_fields
    qtbot.waitUntil(
        lambda: preview.has_picture and pixel(preview.pixmap().toImage()) == "#2020a0",
        timeout=10_000,
    )


def test_a_lora_dropped_on_the_preview_is_still_imported(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    write_safetensors(lora_dir / "one.safetensors", kohya_metadata())
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    select(window, library, "one")
    new = write_safetensors(tmp_path / "more" / "two.safetensors", kohya_metadata())
    drop_urls(window.editor.inspection.preview, [QUrl.fromLocalFile(str(new))])
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=10_000)
    assert window.editor.inspection.preview.choice_box is None
