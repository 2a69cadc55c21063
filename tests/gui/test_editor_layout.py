"""The detail editor fits its pane: long facts wrap instead of scrolling sideways."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QScrollArea
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from tests.conftest import make_lora
from tests.gui.conftest import WindowFactory

pytestmark = pytest.mark.gui


def test_editor_never_scrolls_sideways_in_the_default_window(
    open_window: WindowFactory, library: Library, lora_dir: Path, qtbot: QtBot
) -> None:
    make_lora(lora_dir, "a_rather_long_adapter_name_for_the_title_v2")
    register_many(library, [lora_dir])
    adapter_id = adapters.list_rows(library)[0].id
    library.close()
    window = open_window()
    assert window.select_adapter(adapter_id)
    qtbot.waitUntil(lambda: window.editor.adapter_id == adapter_id)
    scroll = window.editor.findChild(QScrollArea)
    assert scroll is not None
    times = window.editor.times_label.text()
    assert times.startswith("Created ")  # the facts that used to widen the pane are shown
    qtbot.waitUntil(lambda: scroll.widget().minimumSizeHint().width() <= scroll.viewport().width())
    assert not scroll.horizontalScrollBar().isVisible()


def test_long_notes_scroll_in_their_box_and_the_file_facts_stay_close(
    open_window: WindowFactory, library: Library, lora_dir: Path, qtbot: QtBot
) -> None:
    make_lora(lora_dir, "noted")
    register_many(library, [lora_dir])
    adapter_id = adapters.list_rows(library)[0].id
    adapters.update_adapter(
        library, adapter_id, {"notes": "\n".join(f"line {i}" for i in range(40))}
    )
    library.close()
    window = open_window()
    assert window.select_adapter(adapter_id)
    qtbot.waitUntil(lambda: window.editor.notes_edit.toPlainText().startswith("line 0"))
    window.resize(1280, 860)  # the README's size: without a cap the box took ~11 lines
    notes = window.editor.notes_edit
    line = notes.fontMetrics().lineSpacing()
    # A box of at most 7 lines, not one as tall as the pane: the file's facts and hashes
    # below it stay within reach.
    assert notes.height() <= 7 * line
    assert notes.verticalScrollBar().maximum() > 0  # the rest of the notes scroll inside it
