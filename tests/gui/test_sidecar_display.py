"""The editor says which sidecar files were read, and shows the description as plain text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.main_window import MainWindow
from tests.gui.inspection_helpers import (
    build_window,
    kohya_metadata,
    window_with_lora,
    write_png,
    write_safetensors,
)

pytestmark = pytest.mark.gui


def _editor_label(
    window: MainWindow, library: Library, qtbot: QtBot, name: str, object_name: str
) -> QLabel:
    adapter_id = adapters.get(library, name).id
    assert window.select_adapter(adapter_id)
    qtbot.waitUntil(lambda: window.editor.adapter_id == adapter_id)
    label = window.editor.findChild(QLabel, object_name)
    assert label is not None, object_name
    return label


def test_the_sidecar_files_read_are_named_with_their_file_names(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    write_safetensors(lora_dir / "ink.safetensors", kohya_metadata())
    civitai = {"trainedWords": ["inkstyle"], "model": {"name": "Ink"}, "baseModel": "SDXL 1.0"}
    (lora_dir / "ink.civitai.info").write_text(json.dumps(civitai))
    (lora_dir / "ink.json").write_text(json.dumps({"activation text": "inky"}))
    write_png(lora_dir / "ink.preview.png")
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    label = _editor_label(window, library, qtbot, "ink", "sidecarsLabel")
    qtbot.waitUntil(lambda: label.isVisible() and label.text().startswith("Sidecars:"))
    assert label.textFormat().name == "PlainText"
    assert label.text() == "Sidecars: Civitai info · A1111 .json · preview"
    assert "not found" not in label.text()
    tip = label.toolTip()
    assert "Civitai info: ink.civitai.info" in tip
    assert "A1111 .json: ink.json" in tip
    assert "preview: ink.preview.png" in tip


def test_an_empty_civitai_info_says_looked_up_not_found(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    write_safetensors(lora_dir / "lost.safetensors", kohya_metadata())
    (lora_dir / "lost.civitai.info").write_text("{}")
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    label = _editor_label(window, library, qtbot, "lost", "sidecarsLabel")
    qtbot.waitUntil(lambda: label.isVisible() and "Civitai" in label.text())
    assert label.text() == "Sidecars: Civitai info\nCivitai: looked up, not found"
    assert "lost.civitai.info" in label.toolTip()


def test_a_description_is_plain_text_without_its_tags(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    write_safetensors(lora_dir / "html.safetensors", kohya_metadata())
    description = (
        "<p>A <b>bold</b> ink style &amp; more.</p><script>alert('x')</script>"
        "<p>Use &lt;weight&gt; 0.8.</p>" + "<p>Long tail.</p>" * 200
    )
    (lora_dir / "html.civitai.info").write_text(json.dumps({"description": description}))
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    label = _editor_label(window, library, qtbot, "html", "descriptionLabel")
    qtbot.waitUntil(lambda: label.isVisible() and "bold" in label.text())
    assert label.textFormat().name == "PlainText"
    assert label.wordWrap()
    text = label.text()
    assert text.startswith("Description: A bold ink style & more. Use <weight> 0.8.")
    for tag in ("<p>", "<b>", "</b>", "<script>", "alert"):
        assert tag not in text
    assert text.endswith("…")  # the long tail is cut: the label is a few lines high
    assert label.heightForWidth(label.width()) <= label.fontMetrics().lineSpacing() * 4 + 4
    window.resize(window.width() - 200, window.height())  # narrower: still a few lines
    qtbot.waitUntil(lambda: label.text() != text)
    assert label.text().endswith("…")
    assert label.heightForWidth(label.width()) <= label.fontMetrics().lineSpacing() * 4 + 4
    # The tooltip shows the paragraphs literally (escaped, never rendered as markup).
    assert "Use &lt;weight&gt; 0.8." in label.toolTip()
    assert "<b>" not in label.toolTip()


def test_no_sidecars_says_none_and_no_description(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    window = window_with_lora(library, lora_dir, db_path, qtbot, "bare")
    label = _editor_label(window, library, qtbot, "bare", "sidecarsLabel")
    qtbot.waitUntil(lambda: label.isVisible() and label.text() == "Sidecars: none")
    description = window.editor.findChild(QLabel, "descriptionLabel")
    assert description is not None
    assert description.isHidden()
