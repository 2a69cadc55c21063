"""Found by trying the file-inspection features in the real window as an artist would."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QPushButton
from pytestqt.qtbot import QtBot

from lora_desktop.models.schemas import HashReport, RegisterEntry, RegisterReport
from lora_desktop.services import adapters
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.import_report import summary_text
from lora_desktop.ui.main_window import MainWindow
from tests.gui.conftest import drop_urls
from tests.gui.inspection_helpers import (
    build_window,
    kohya_metadata,
    register_copies,
    select,
    window_with_lora,
    write_png,
    write_safetensors,
)

pytestmark = pytest.mark.gui


def _visible_links(window: MainWindow, object_name: str) -> list[str]:
    pane = window.editor.inspection
    return [
        b.text()
        for b in pane.links_box.findChildren(QPushButton)
        if b.objectName() == object_name and b.isVisibleTo(pane)
    ]


def test_an_exact_copy_is_not_called_a_copy_with_different_metadata(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    register_copies(library, lora_dir)
    window = build_window(qtbot, db_path)

    select(window, library, "alpha")
    assert _visible_links(window, "duplicateLink") == ["alpha_copy"]
    # alpha_copy has the very same metadata: only "retitled" differs in metadata.
    assert _visible_links(window, "sameWeightsLink") == ["retitled"]

    select(window, library, "retitled")  # new links show once the event loop runs
    qtbot.waitUntil(lambda: _visible_links(window, "sameWeightsLink") == ["alpha", "alpha_copy"])
    assert _visible_links(window, "duplicateLink") == []


def test_the_editor_says_what_is_wrong_with_the_file(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    (lora_dir / "notobj.safetensors").write_bytes(struct.pack("<Q", 4) + b"[1] ")
    write_safetensors(lora_dir / "fake.safetensors", kohya_metadata())
    (lora_dir / "fake.preview.png").write_text("not a picture at all\n")
    register_many(library, [lora_dir])
    window = build_window(qtbot, db_path)
    state = window.editor.inspection.state_label

    select(window, library, "notobj")
    assert state.isVisibleTo(window.editor)
    assert "header is not a JSON object" in state.text()

    select(window, library, "fake")  # its preview sidecar was refused: say why
    assert state.isVisibleTo(window.editor)
    assert "fake.preview.png" in state.text()
    assert not window.editor.inspection.preview.has_picture


def test_cancelling_hashing_says_it_stopped(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    window = window_with_lora(library, lora_dir, db_path, qtbot, "one")
    report = HashReport(hashed=3, incomplete=0, requeued=0, failed=[], bytes=10, stopped=True)
    window.inspection.hashing.finished.emit(report)  # what a cancelled run reports
    assert "Hashing stopped" in window.statusBar().currentMessage()
    assert "next time" in window.statusBar().currentMessage()


def test_a_refused_dropped_image_says_why(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = window_with_lora(library, lora_dir, db_path, qtbot, "pic")
    select(window, library, "pic")
    adapter = adapters.get(library, "pic")
    preview = window.editor.inspection.preview
    messages: list[str] = []
    preview.message.connect(messages.append)
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture\n")
    assert not preview.set_preview(adapter, str(fake), tmp_path / "out.png")
    assert "not an image" in messages[-1]
    wide = write_png(tmp_path / "wide.png", size=(9000, 8000))  # over the pixel cap
    assert not preview.set_preview(adapter, str(wide), tmp_path / "out.png")
    assert "too large" in messages[-1]
    assert "9,000 × 8,000" in messages[-1]
    assert not (tmp_path / "out.png").exists()


def test_an_image_dropped_anywhere_on_the_editor_sets_the_preview(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot, tmp_path: Path
) -> None:
    window = window_with_lora(library, lora_dir, db_path, qtbot, "pic")
    select(window, library, "pic")
    preview = window.editor.inspection.preview
    image = write_png(tmp_path / "elsewhere" / "shot.png", "#208020", (120, 80))
    name_field = window.editor.name_edit
    drop_urls(name_field, [QUrl.fromLocalFile(str(image))])
    qtbot.waitUntil(lambda: preview.choice_box is not None and preview.choice_box.isVisible())
    assert not window.imports.busy  # not imported as a LoRA
    assert window.last_report is None
    assert name_field.text() == "pic"  # the field did not take the URL as text
    # A LoRA dropped on the editor is still imported.
    new = write_safetensors(tmp_path / "more" / "two.safetensors", kohya_metadata())
    preview.choice_box.reject()
    drop_urls(name_field, [QUrl.fromLocalFile(str(new))])
    qtbot.waitUntil(lambda: window.model.rowCount() == 2, timeout=10_000)


def test_the_import_summary_counts_added_files_with_problems(
    library: Library, lora_dir: Path, db_path: Path, qtbot: QtBot
) -> None:
    paths = []
    for n in range(4):  # each header claims more than the file holds: registered, with a problem
        path = lora_dir / f"cut{n}.safetensors"
        path.write_bytes(struct.pack("<Q", 400) + b'{"__meta')
        paths.append(path)
    window = build_window(qtbot, db_path)
    with qtbot.waitSignal(window.imports.idle, timeout=10_000):
        drop_urls(window, [QUrl.fromLocalFile(str(p)) for p in paths])
    assert window.import_summary.text() == (
        "Import: 4 added (4 with problems) · 0 already registered · 0 skipped"
    )
    assert adapters.list_adapters(library).total == 4
    assert window.import_details_button.isVisible()
    window.import_details_button.click()
    dialog = window.report_dialog
    assert dialog is not None
    shown = {path: (outcome, reason) for outcome, path, reason in dialog.lines()}
    assert set(shown) == {str(p) for p in paths}
    for outcome, reason in shown.values():
        assert outcome == "added"
        assert "header claims 400 bytes" in reason


def test_the_problem_count_groups_thousands_and_says_one() -> None:
    entries = [
        RegisterEntry(path=f"/l/{i}.safetensors", outcome="added", problem="truncated")
        for i in range(1020)
    ]
    assert summary_text(RegisterReport(entries=entries)) == (
        "Import: 1,020 added (1,020 with problems) · 0 already registered · 0 skipped"
    )
    one = [RegisterEntry(path="/l/a.safetensors", outcome="added", problem="truncated")]
    one.append(RegisterEntry(path="/l/b.safetensors", outcome="added"))
    assert summary_text(RegisterReport(entries=one)) == (
        "Import: 2 added (1 with a problem) · 0 already registered · 0 skipped"
    )
