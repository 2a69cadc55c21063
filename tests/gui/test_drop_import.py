"""Dropping files and folders on the window registers them and reports every skip."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from lora_desktop.models.schemas import RegisterEntry, RegisterReport
from lora_desktop.services import adapters, registration
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui import adapter_rows_sync
from lora_desktop.ui.drop_import import NOT_LOCAL
from lora_desktop.ui.import_report import summary_text
from tests.conftest import make_lora
from tests.gui.conftest import WindowFactory, drop_urls

pytestmark = pytest.mark.gui


def outcomes(window) -> dict[str, tuple[str, str]]:
    """path -> (outcome, reason) of the last import."""
    assert window.last_report is not None
    return {e.path: (e.outcome, e.reason or "") for e in window.last_report.entries}


def test_drop_files_registers_and_reports_skips(
    open_window: WindowFactory, library: Library, lora_dir: Path, tmp_path: Path, qtbot: QtBot
) -> None:
    good = make_lora(lora_dir, "good_one")
    known = make_lora(lora_dir, "known")
    register_many(library, [known])
    text = lora_dir / "readme.txt"
    text.write_text("not a lora")
    broken = lora_dir / "gone.safetensors"
    broken.symlink_to(tmp_path / "nowhere.safetensors")
    window = open_window()
    urls = [QUrl.fromLocalFile(str(p)) for p in (good, known, text, broken)]
    urls.append(QUrl("https://example.com/model.safetensors"))

    with qtbot.waitSignal(window.imports.idle, timeout=10_000):
        drop = drop_urls(window, urls)
        assert drop.isAccepted()

    lines = outcomes(window)
    assert lines[str(good)][0] == "added"
    assert lines[str(known)][0] == "already_registered"
    assert lines[str(text)] == ("skipped", lines[str(text)][1])
    assert "not a LoRA file" in lines[str(text)][1]
    assert "broken symbolic link" in lines[str(broken)][1]
    assert lines["https://example.com/model.safetensors"] == ("skipped", NOT_LOCAL)
    qtbot.waitUntil(lambda: window.model.row_of(adapters.get(library, "good_one").id) >= 0)
    summary = window.import_summary.text()
    assert "1 added" in summary
    assert "1 already registered" in summary
    assert "3 skipped" in summary
    # The reasons are one click away, in one non-modal dialog.
    assert window.import_details_button.isVisible()
    window.import_details_button.click()
    dialog = window.report_dialog
    assert dialog is not None
    assert dialog.isVisible()
    assert not dialog.isModal()
    shown = {path: (outcome, reason) for outcome, path, reason in dialog.lines()}
    assert shown["https://example.com/model.safetensors"] == ("skipped", NOT_LOCAL)
    assert shown[str(known)][0] == "already registered"


def test_drop_folder_registers_recursively(
    open_window: WindowFactory, library: Library, lora_dir: Path, qtbot: QtBot
) -> None:
    for name in ("a", "sub/b", "sub/deeper/c"):
        make_lora(lora_dir, name)
    (lora_dir / "sub" / "notes.txt").write_text("ignored: not a LoRA extension")
    window = open_window()
    assert window.model.rowCount() == 0
    with qtbot.waitSignal(window.imports.idle, timeout=10_000):
        drop_urls(window.list_view.viewport(), [QUrl.fromLocalFile(str(lora_dir))])
    qtbot.waitUntil(lambda: window.model.rowCount() == 3)
    assert sorted(r.name for r in adapters.list_rows(library)) == ["a", "b", "c"]
    assert window.last_report is not None
    assert window.last_report.added == 3
    assert "3 adapters" in window.counts_label.text()


def test_drop_unreadable_file_is_skipped(
    open_window: WindowFactory, lora_dir: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    locked = make_lora(lora_dir, "locked")
    locked.chmod(0)
    fine = make_lora(lora_dir, "fine")
    if os.geteuid() == 0:
        # Root reads a chmod 000 file anyway; make the permission check answer as it
        # would for an ordinary user, for this one file only.
        real_access = os.access

        def access(path: object, mode: int, *args: object, **kwargs: object) -> bool:
            if os.fspath(path) == str(locked):  # type: ignore[arg-type]
                return False
            return real_access(path, mode, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(os, "access", access)
    window = open_window()
    try:
        with qtbot.waitSignal(window.imports.idle, timeout=10_000):
            drop_urls(window, [QUrl.fromLocalFile(str(locked)), QUrl.fromLocalFile(str(fine))])
    finally:
        locked.chmod(0o644)
    lines = outcomes(window)
    assert lines[str(locked)][0] == "skipped"
    assert "not readable" in lines[str(locked)][1]
    assert lines[str(fine)][0] == "added"


def test_only_non_local_urls_report_without_a_job(open_window: WindowFactory, qtbot: QtBot) -> None:
    window = open_window()
    with qtbot.waitSignal(window.imports.finished, timeout=5_000):
        drop_urls(window.editor, [QUrl("ftp://host/x.safetensors")])
    assert window.last_report is not None
    assert [(e.outcome, e.reason) for e in window.last_report.entries] == [("skipped", NOT_LOCAL)]
    assert "0 added" in window.import_summary.text()


def test_drop_of_own_row_drag_is_not_an_import(
    open_window: WindowFactory, library: Library, lora_dir: Path
) -> None:
    from PySide6.QtCore import QMimeData, Qt
    from PySide6.QtGui import QDragEnterEvent
    from PySide6.QtWidgets import QApplication

    from lora_desktop.ui.adapter_rows import MIME_IDS

    window = open_window()
    data = QMimeData()
    data.setData(MIME_IDS, b"some-id")
    enter = QDragEnterEvent(
        window.editor.rect().center(),
        Qt.DropAction.MoveAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(window.editor, enter)
    assert not enter.isAccepted()


@pytest.mark.parametrize(
    ("list_rows", "new_rows"),
    [(4, 200), (10_000, 5)],
    ids=["big list", "many new rows"],
)
def test_a_big_import_fills_the_list_in_the_background_in_batches(
    open_window: WindowFactory,
    library: Library,
    lora_dir: Path,
    qtbot: QtBot,
    monkeypatch: pytest.MonkeyPatch,
    list_rows: int,
    new_rows: int,
) -> None:
    # Scaled down: a first batch of 3 files, and "big" meaning a list of more than
    # ``list_rows`` rows or a batch of more than ``new_rows`` new ones (the 6 after the
    # first 3): either is loaded off the GUI thread, then ``rows_reloaded``.
    monkeypatch.setattr(registration, "FIRST_BATCH_SIZE", 3)
    monkeypatch.setattr(adapter_rows_sync, "SYNC_RELOAD_ROWS", list_rows)
    monkeypatch.setattr(adapter_rows_sync, "PER_ROW_REFRESH_LIMIT", new_rows)
    for i in range(9):
        make_lora(lora_dir, f"set/lora_{i}")
    window = open_window()
    announced: list[int] = []
    window.library.subscribe(lambda c: c.added and announced.append(len(c.added)))
    on_gui_thread: list[str] = []  # reloads on the GUI thread
    reload_now = window.model.reload
    monkeypatch.setattr(
        window.model, "reload", lambda: (on_gui_thread.append("reload"), reload_now())
    )
    with (
        qtbot.waitSignal(window.model.rows_reloaded, timeout=10_000),
        qtbot.waitSignal(window.imports.idle, timeout=10_000),
    ):
        drop_urls(window, [QUrl.fromLocalFile(str(lora_dir))])
    assert announced == [3, 6]  # the first rows at once, the rest at the end
    assert on_gui_thread == ["reload"]  # the first batch now; the other 6 in the background
    assert window.model.rowCount() == 9
    assert "9 adapters" in window.counts_label.text()  # refreshed when the rows arrived


def test_the_import_summary_groups_thousands_like_the_counts() -> None:
    entries = [RegisterEntry(path=f"/l/{i}.safetensors", outcome="added") for i in range(1020)]
    entries.append(RegisterEntry(path="/l/x.txt", outcome="skipped", reason="not a LoRA file"))
    assert summary_text(RegisterReport(entries=entries)) == (
        "Import: 1,020 added · 0 already registered · 1 skipped"
    )
