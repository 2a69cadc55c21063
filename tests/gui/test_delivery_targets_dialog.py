"""Deliveries → Targets…: add, edit and remove targets of every mode; errors beside fields."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from lora_desktop.services import targets
from lora_desktop.ui.main_window import MainWindow
from lora_desktop.ui.target_forms import A1111Form, CliForm, ComfyUIForm, HttpForm
from lora_desktop.ui.targets_dialog import TargetsDialog
from tests.gui.conftest import WindowFactory
from tests.gui.delivery_helpers import ready_window
from tests.integration.delivery_fakes import API_WORKFLOW

pytestmark = pytest.mark.gui

SECRET = "Bearer abcdefghijklmnopqrstuvwxyz"


def _dialog(qtbot: QtBot, window: MainWindow) -> TargetsDialog:
    window.deliveries.targets_action.trigger()
    dialog = window.deliveries.targets_dialog
    assert dialog is not None
    assert dialog.objectName() == "targetsDialog"
    qtbot.waitExposed(dialog)
    return dialog


def _new(dialog: TargetsDialog, name: str, mode: str) -> None:
    qtbot_click(dialog.add_button)
    dialog.mode_combo.setCurrentIndex(dialog.mode_combo.findData(mode))
    dialog.name_edit.setText(name)


def qtbot_click(button: object) -> None:
    from PySide6.QtTest import QTest

    QTest.mouseClick(button, Qt.MouseButton.LeftButton)  # type: ignore[call-overload]


def test_an_http_target_is_added_with_a_field_error_first_then_edited_and_removed(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = ready_window(qtbot, open_window)
    dialog = _dialog(qtbot, window)
    _new(dialog, "webhook", "http")
    form = dialog.form
    assert isinstance(form, HttpForm)
    form.url_edit.setText("ftp://example.org/hook")
    form.headers_edit.setPlainText(f"Authorization: {SECRET}")
    qtbot_click(dialog.save_button)
    assert "http" in dialog.error_text("url")
    assert not targets.list_targets(window.library)
    form.url_edit.setText("http://127.0.0.1:9/hook")
    qtbot_click(dialog.save_button)
    assert dialog.error_text("url") == ""
    (stored,) = targets.list_targets(window.library)
    assert stored.name == "webhook"
    # The picker in the compose panel lists it at once.
    assert window.deliveries.send.target_combo.currentText() == "webhook (http)"
    # The secret is shown masked, and saving it unchanged keeps it.
    assert SECRET not in form.headers_edit.toPlainText()
    assert form.headers_edit.toPlainText() == "Authorization: ***wxyz"
    form.timeout_spin.setValue(12.5)
    qtbot_click(dialog.save_button)
    _, _, _, config = targets.target_settings(window.library, "webhook")
    assert config["headers"] == {"Authorization": SECRET}
    assert config["timeout"] == 12.5
    assert dialog.target_list.count() == 1
    # Remove, confirming in the box.
    dialog.target_list.setCurrentRow(0)
    qtbot_click(dialog.remove_button)
    box = dialog.confirm_box
    assert isinstance(box, QMessageBox)
    qtbot_click(box.button(QMessageBox.StandardButton.Yes))
    qtbot.waitUntil(lambda: dialog.target_list.count() == 0)
    assert not targets.list_targets(window.library)
    assert window.deliveries.send.target_combo.count() == 0
    assert not window.deliveries.send.send_button.isEnabled()


def test_a_taken_name_is_shown_beside_the_name_field(
    qtbot: QtBot, open_window: WindowFactory
) -> None:
    window = ready_window(qtbot, open_window)
    targets.create_target(
        window.library, {"name": "taken", "mode": "http", "config": {"url": "http://a.example"}}
    )
    dialog = _dialog(qtbot, window)
    _new(dialog, "taken", "http")
    dialog.form.url_edit.setText("http://b.example")  # type: ignore[attr-defined]
    qtbot_click(dialog.save_button)
    assert "already used" in dialog.error_text("name")


def test_a_cli_target_with_a_placeholder_inside_an_argument_is_refused_beside_argv(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = ready_window(qtbot, open_window)
    dialog = _dialog(qtbot, window)
    _new(dialog, "script", "cli")
    form = dialog.form
    assert isinstance(form, CliForm)
    form.argv_edit.setPlainText(f"{sys.executable}\n--file={{prompt_file}}")
    qtbot_click(dialog.save_button)
    assert "whole argument" in dialog.error_text("argv")
    form.argv_edit.setPlainText(f"{sys.executable}\n--file\n{{prompt_file}}")
    form.cwd_edit.setText(str(tmp_path))
    qtbot_click(dialog.save_button)
    _, _, mode, config = targets.target_settings(window.library, "script")
    assert mode == "cli"
    assert config["argv"] == [sys.executable, "--file", "{prompt_file}"]
    assert config["cwd"] == str(tmp_path)


def test_a1111_and_comfyui_targets_keep_their_settings(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    window = ready_window(qtbot, open_window)
    dialog = _dialog(qtbot, window)
    _new(dialog, "forge", "a1111")
    form = dialog.form
    assert isinstance(form, A1111Form)
    form.url_edit.setText("127.0.0.1:7860")  # no scheme
    form.output_edit.setText(str(tmp_path / "out"))
    form.steps_spin.setValue(25)
    form.width_spin.setValue(512)
    form.seed_edit.setText("not a number")
    qtbot_click(dialog.save_button)
    assert "whole number" in dialog.error_text("seed")
    form.seed_edit.setText("42")
    qtbot_click(dialog.save_button)
    assert "http" in dialog.error_text("base_url")
    assert dialog.error_text("seed") == ""
    form.url_edit.setText("http://127.0.0.1:7860")
    qtbot_click(dialog.save_button)
    _, _, _, config = targets.target_settings(window.library, "forge")
    assert (config["steps"], config["width"], config["seed"]) == (25, 512, 42)
    assert config.get("height") is None
    # Unset again: back to the runtime's default.
    form.steps_spin.setValue(form.steps_spin.minimum())
    qtbot_click(dialog.save_button)
    _, _, _, config = targets.target_settings(window.library, "forge")
    assert config.get("steps") is None

    _new(dialog, "comfy", "comfyui")
    comfy = dialog.form
    assert isinstance(comfy, ComfyUIForm)
    comfy.url_edit.setText("http://127.0.0.1:8188")
    comfy.output_edit.setText(str(tmp_path / "comfy"))
    qtbot_click(dialog.save_button)
    assert "workflow" in dialog.error_text("workflow")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    comfy.workflow_edit.setText(str(bad))
    qtbot_click(dialog.save_button)
    assert "not a JSON file" in dialog.error_text("workflow")
    good = tmp_path / "workflow_api.json"
    good.write_text(json.dumps(API_WORKFLOW))
    comfy.workflow_edit.setText(str(good))
    qtbot_click(dialog.save_button)
    _, _, _, config = targets.target_settings(window.library, "comfy")
    assert config["workflow"] == API_WORKFLOW
    # Editing without choosing a file again keeps the stored workflow.
    comfy.timeout_spin.setValue(99)
    qtbot_click(dialog.save_button)
    _, _, _, config = targets.target_settings(window.library, "comfy")
    assert config["workflow"] == API_WORKFLOW
    assert config["timeout"] == 99
    assert dialog.target_list.count() == 2
    assert not dialog.mode_combo.isEnabled()  # a stored target keeps its mode
