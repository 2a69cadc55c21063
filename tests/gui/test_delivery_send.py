"""Send from the compose panel: the job runs on the pool and the panel shows it live."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from lora_desktop.services import deliveries
from lora_desktop.ui.jobs_model import COL_ATTEMPTS, COL_ERROR
from lora_desktop.ui.send_controller import NO_PROMPT_TIP, NO_TARGETS_TIP
from tests.conftest import ScriptedServer
from tests.gui.conftest import WindowFactory
from tests.gui.delivery_helpers import (
    WAIT_MS,
    add_target,
    fast_deliveries,  # noqa: F401  (a fixture)
    ready_window,
    send_and_get_id,
    set_prompt,
    shown_status,
    wait_status,
)

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("fast_deliveries")]


def test_send_is_disabled_with_a_reason_until_there_is_a_target_and_a_prompt(
    qtbot: QtBot, open_window: WindowFactory, http_server: ScriptedServer
) -> None:
    window = ready_window(qtbot, open_window)
    send = window.deliveries.send
    assert window.findChild(type(send.target_combo), "targetCombo") is send.target_combo
    assert not send.send_button.isEnabled()
    assert send.send_button.toolTip() == NO_TARGETS_TIP
    add_target(window, "webhook", "http", url=http_server.url)
    assert send.target_combo.currentText() == "webhook (http)"
    assert not send.send_button.isEnabled()
    assert send.send_button.toolTip() == NO_PROMPT_TIP
    set_prompt(qtbot, window, "a red fox")
    assert "webhook" in send.send_button.toolTip()


def test_send_reaches_a_local_http_server_and_the_panel_shows_succeeded(
    qtbot: QtBot, open_window: WindowFactory, http_server: ScriptedServer
) -> None:
    window = ready_window(qtbot, open_window)
    add_target(window, "webhook", "http", url=http_server.url)
    set_prompt(qtbot, window, 'a red fox; $(echo "hi")')
    job_id = send_and_get_id(qtbot, window)
    qtbot.waitUntil(lambda: shown_status(window, job_id) is not None, timeout=WAIT_MS)
    job = wait_status(qtbot, window, job_id, "succeeded")
    assert job.attempts == 1
    body = json.loads(http_server.requests[0]["body"])  # type: ignore[arg-type]
    assert body["prompt"] == 'a red fox; $(echo "hi")'
    panel = window.deliveries.panel
    # The job just sent is selected and its reply shown as plain text.
    qtbot.waitUntil(lambda: panel.result_view.job_id == job_id, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: "HTTP status: 200" in panel.result_view.text_view.toPlainText())
    qtbot.waitUntil(lambda: "1 succeeded" in panel.stats_label.text(), timeout=WAIT_MS)
    assert "latency p50" in panel.stats_label.text()
    assert not panel.retry_button.isEnabled()
    assert not panel.cancel_button.isEnabled()


def test_a_double_click_is_refused_with_a_status_message_not_a_dialog(
    qtbot: QtBot,
    open_window: WindowFactory,
    http_server: ScriptedServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveries, "SEND_INTERVAL", 60.0)
    window = ready_window(qtbot, open_window)
    add_target(window, "webhook", "http", url=http_server.url)
    set_prompt(qtbot, window, "double click test")
    button = window.deliveries.send.send_button
    with qtbot.waitSignal(window.deliveries.send.sent, timeout=WAIT_MS):
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "Not sent again" in window.statusBar().currentMessage())
    assert QApplication.activeModalWidget() is None
    assert len(deliveries.list_jobs(window.library)) == 1


def test_a_failing_server_shows_the_error_and_retry_succeeds(
    qtbot: QtBot, open_window: WindowFactory, http_server: ScriptedServer
) -> None:
    http_server.replies = [(500, {}, b'{"detail": "boom"}'), (200, {}, b'{"ok": true}')]
    window = ready_window(qtbot, open_window)
    add_target(window, "flaky", "http", url=http_server.url)
    set_prompt(qtbot, window, "retry me")
    job_id = send_and_get_id(qtbot, window)
    wait_status(qtbot, window, job_id, "failed")
    panel = window.deliveries.panel
    model = panel.model
    row = model.row_of(job_id)
    error = str(model.data(model.index(row, COL_ERROR)))
    assert "500" in error
    assert "may have run" in error
    assert panel.select_job(job_id)
    qtbot.waitUntil(lambda: "may have run" in panel.result_view.text_view.toPlainText())
    assert panel.retry_button.isEnabled()
    qtbot.mouseClick(panel.retry_button, Qt.MouseButton.LeftButton)
    job = wait_status(qtbot, window, job_id, "succeeded")
    assert job.attempts == 2
    assert model.data(model.index(model.row_of(job_id), COL_ATTEMPTS)) == "2"
    assert len(http_server.requests) == 2
