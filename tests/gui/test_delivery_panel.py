"""The deliveries panel: Cancel of a running CLI job, A1111 images as thumbnails whose click
sets the adapter's preview, and a window that stays responsive while a delivery hangs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QTimer
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters
from lora_desktop.ui.deliveries_panel import DeliveriesPanel
from lora_desktop.ui.jobs_model import JobsModel
from tests.conftest import ScriptedServer, add_adapter
from tests.gui.conftest import WindowFactory
from tests.gui.delivery_helpers import (
    WAIT_MS,
    add_target,
    fast_deliveries,  # noqa: F401  (a fixture)
    python_program,
    ready_window,
    send_and_get_id,
    set_prompt,
    wait_status,
)
from tests.integration.delivery_fakes import FakeRuntime, install_a1111

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("fast_deliveries")]

WAITER = "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()))\ntime.sleep(120)\n"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A killed child not yet reaped by its parent is a zombie: dead for our purpose.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split()[2]
    except OSError:
        return False
    return state != "Z"


def test_the_jobs_model_passes_the_model_tester(
    qtbot: QtBot, open_window: WindowFactory, http_server: ScriptedServer, qtmodeltester: object
) -> None:
    window = ready_window(qtbot, open_window)
    add_target(window, "webhook", "http", url=http_server.url)
    for text in ("one", "two", "three"):
        set_prompt(qtbot, window, text)
        job_id = send_and_get_id(qtbot, window)
        wait_status(qtbot, window, job_id, "succeeded")
    model = window.deliveries.panel.model
    assert isinstance(model, JobsModel)
    assert model.rowCount() == 3
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_cancel_of_a_running_cli_job_kills_it_and_shows_cancelled(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    pid_file = tmp_path / "pid"
    window = ready_window(qtbot, open_window)
    add_target(window, "waiter", "cli", argv=[*python_program(WAITER), str(pid_file)], timeout=120)
    set_prompt(qtbot, window, "wait for me")
    job_id = send_and_get_id(qtbot, window)
    wait_status(qtbot, window, job_id, "running")
    qtbot.waitUntil(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=WAIT_MS)
    pid = int(pid_file.read_text())
    panel: DeliveriesPanel = window.deliveries.panel
    assert panel.select_job(job_id)
    assert panel.cancel_button.isEnabled()
    assert not panel.retry_button.isEnabled()
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    wait_status(qtbot, window, job_id, "cancelled")
    qtbot.waitUntil(lambda: not _alive(pid), timeout=WAIT_MS)
    qtbot.waitUntil(panel.retry_button.isEnabled, timeout=WAIT_MS)
    assert not panel.cancel_button.isEnabled()


def test_a1111_images_show_as_thumbnails_and_a_click_sets_the_adapters_preview(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path, lora_dir: Path
) -> None:
    runtime = FakeRuntime()
    try:
        install_a1111(runtime, loras=["fox"], images=2)
        window = ready_window(qtbot, open_window)
        adapter = add_adapter(window.library, lora_dir, "fox")
        qtbot.waitUntil(lambda: window.select_adapter(adapter.id), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: window.editor.adapter_id == adapter.id, timeout=WAIT_MS)
        output = tmp_path / "out"
        add_target(
            window,
            "forge",
            "a1111",
            base_url=runtime.base_url,
            output_dir=str(output),
            batch_size=2,
        )
        set_prompt(qtbot, window, "a fox in the snow")
        job_id = send_and_get_id(qtbot, window)
        job = wait_status(qtbot, window, job_id, "succeeded")
        assert job.result is not None
        paths = job.result["images"]
        assert len(paths) == 2
        view = window.deliveries.panel.result_view
        qtbot.waitUntil(lambda: view.job_id == job_id and view.showing_images, timeout=WAIT_MS)
        qtbot.waitUntil(lambda: view.thumbnail_count() == 2, timeout=WAIT_MS)
        item = view.image_list.item(0)
        rect = view.image_list.visualItemRect(item)
        qtbot.mouseClick(view.image_list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        chosen = adapters.get(window.library, adapter.id).preview_path
        assert chosen == paths[0]
        assert "Preview of fox set" in window.statusBar().currentMessage()
    finally:
        runtime.close()


def test_the_window_stays_responsive_while_a_delivery_hangs_and_cancel_stops_it(
    qtbot: QtBot, open_window: WindowFactory, http_server: ScriptedServer
) -> None:
    http_server.replies = [(0, {}, b"")]  # the runtime never answers (until released)
    window = ready_window(qtbot, open_window)
    add_target(window, "stuck", "http", url=http_server.url, timeout=60)
    set_prompt(qtbot, window, "hang please")
    job_id = send_and_get_id(qtbot, window)
    wait_status(qtbot, window, job_id, "running")
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    qtbot.keyClicks(window.search_field, "fox")
    qtbot.waitUntil(lambda: len(ticks) >= 20, timeout=WAIT_MS)
    timer.stop()
    assert window.search_field.text() == "fox"
    assert window.deliveries.panel.model.job(job_id).status == "running"  # type: ignore[union-attr]
    # Cancel does not wait for the runtime's reply.
    panel = window.deliveries.panel
    assert panel.select_job(job_id)
    qtbot.mouseClick(panel.cancel_button, Qt.MouseButton.LeftButton)
    wait_status(qtbot, window, job_id, "cancelled")
    assert not http_server.release.is_set()
