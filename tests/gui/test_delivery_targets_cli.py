"""Targets added, renamed or removed with the command line while the window is open show
in the target picker when its popup opens or when the window is activated again."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from lora_desktop.ui.main_window import MainWindow
from tests.conftest import ScriptedServer
from tests.gui.conftest import WindowFactory, activate
from tests.gui.delivery_helpers import WAIT_MS, ready_window, set_prompt
from tests.integration.cli_helpers import run_cli

pytestmark = pytest.mark.gui


def _picker(window: MainWindow) -> list[str]:
    combo = window.deliveries.send.target_combo
    return [combo.itemText(i) for i in range(combo.count())]


def _cli(db_path: Path, *args: str) -> None:
    result = run_cli(db_path, *args)
    assert result.returncode == 0, result.stderr


# The offscreen platform cannot raise a popup or grab the keyboard for it.
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")
def test_targets_edited_with_the_cli_show_in_the_open_window(
    qtbot: QtBot, open_window: WindowFactory, db_path: Path, http_server: ScriptedServer
) -> None:
    window = ready_window(qtbot, open_window)
    send = window.deliveries.send
    assert _picker(window) == []
    window.compose_panel.prefix_edit.setText("a prompt")
    assert not send.send_button.isEnabled()

    # Added from a terminal: the popup opening reads the targets again.
    _cli(db_path, "targets", "add", "webhook", "--mode", "http", "--url", http_server.url)
    assert _picker(window) == []  # nothing polls behind the artist's back
    send.target_combo.showPopup()
    qtbot.waitUntil(lambda: _picker(window) == ["webhook (http)"], timeout=WAIT_MS)
    send.target_combo.hidePopup()
    set_prompt(qtbot, window, "a prompt")  # Send is usable with the new target
    chosen = send.target_id

    # Renamed and another added: coming back to the window shows both.
    _cli(db_path, "targets", "edit", "webhook", "--rename", "hook")
    _cli(db_path, "targets", "add", "render", "--mode", "cli", "--", "true", "{prompt_file}")
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    qtbot.waitExposed(other)
    activate(qtbot, other)
    activate(qtbot, window)
    qtbot.waitUntil(lambda: _picker(window) == ["hook (http)", "render (cli)"], timeout=WAIT_MS)
    assert send.target_id == chosen  # the artist's choice kept through the rename

    # Removed: gone from the picker, and Send says why it cannot send.
    _cli(db_path, "targets", "rm", "hook")
    _cli(db_path, "targets", "rm", "render")
    send.target_combo.showPopup()
    qtbot.waitUntil(lambda: _picker(window) == [], timeout=WAIT_MS)
    send.target_combo.hidePopup()
    assert not send.send_button.isEnabled()
    assert "Add a delivery target" in send.send_button.toolTip()


def test_the_targets_dialog_lists_cli_edits_when_it_is_activated(
    qtbot: QtBot, open_window: WindowFactory, db_path: Path, http_server: ScriptedServer
) -> None:
    window = ready_window(qtbot, open_window)
    dialog = window.deliveries.show_targets()
    qtbot.waitExposed(dialog)

    def listed() -> list[str]:
        return [dialog.target_list.item(i).text() for i in range(dialog.target_list.count())]

    assert listed() == []
    _cli(db_path, "targets", "add", "webhook", "--mode", "http", "--url", http_server.url)
    assert listed() == []  # nothing polls behind the artist's back
    activate(qtbot, window)
    activate(qtbot, dialog)  # coming back to the dialog reads them again
    qtbot.waitUntil(lambda: listed() == ["webhook  (http)"], timeout=WAIT_MS)
    dialog.target_list.setCurrentRow(0)
    _cli(db_path, "targets", "add", "render", "--mode", "cli", "--", "true", "{prompt_file}")
    activate(qtbot, window)
    activate(qtbot, dialog)
    qtbot.waitUntil(lambda: listed() == ["render  (cli)", "webhook  (http)"], timeout=WAIT_MS)
    assert dialog.target_list.currentItem().text() == "webhook  (http)"  # the choice kept
