"""Helpers for the delivery GUI tests: a window ready to send, targets, waiting for jobs."""

from __future__ import annotations

import sys
from typing import Any

import pytest
from pytestqt.qtbot import QtBot

from lora_desktop.models.schemas import DeliveryJobOut
from lora_desktop.services import deliveries, targets
from lora_desktop.ui.jobs_model import COL_STATUS
from lora_desktop.ui.main_window import MainWindow
from tests.gui.conftest import WindowFactory

WAIT_MS = 20_000


@pytest.fixture
def fast_deliveries(monkeypatch: pytest.MonkeyPatch) -> None:
    """No backoff waits and no double-send guard unless a test asks for them."""
    monkeypatch.setattr(deliveries, "BACKOFF_BASE", 0.001)
    monkeypatch.setattr(deliveries, "SEND_INTERVAL", 0.0)


def ready_window(qtbot: QtBot, open_window: WindowFactory) -> MainWindow:
    """A shown window whose deliveries have started (after its first paint)."""
    window = open_window()
    qtbot.waitUntil(lambda: window.deliveries.ready, timeout=WAIT_MS)
    return window


def add_target(window: MainWindow, name: str, mode: str, **config: Any) -> str:
    """Store a target through the services and show it in the picker; return its id."""
    out = targets.create_target(window.library, {"name": name, "mode": mode, "config": config})
    window.deliveries.send.reload_targets()
    return out.id


def set_prompt(qtbot: QtBot, window: MainWindow, text: str) -> None:
    """Type a prefix (the prompt without adapters) and wait for Send to be usable."""
    window.compose_panel.prefix_edit.setText(text)
    qtbot.waitUntil(lambda: window.deliveries.send.send_button.isEnabled(), timeout=WAIT_MS)


def shown_status(window: MainWindow, job_id: str) -> str | None:
    """The status the deliveries panel shows for ``job_id`` (None when not listed)."""
    model = window.deliveries.panel.model
    row = model.row_of(job_id)
    return None if row < 0 else str(model.data(model.index(row, COL_STATUS)))


def wait_status(qtbot: QtBot, window: MainWindow, job_id: str, status: str) -> DeliveryJobOut:
    """Wait until the panel shows ``job_id`` with ``status``; return the job as listed."""
    qtbot.waitUntil(lambda: shown_status(window, job_id) == status, timeout=WAIT_MS)
    job = window.deliveries.panel.model.job(job_id)
    assert job is not None
    return job


def send_and_get_id(qtbot: QtBot, window: MainWindow) -> str:
    """Click Send; return the new job's id."""
    with qtbot.waitSignal(window.deliveries.send.sent, timeout=WAIT_MS) as sent:
        qtbot.mouseClick(window.deliveries.send.send_button, _left())
    job_id = sent.args[0]
    assert isinstance(job_id, str)
    return job_id


def _left() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


HOLD_WHILE_FLAG = (
    "import os, sys, time\n"
    "open(sys.argv[2], 'a').write('run\\n')\n"
    "while os.path.exists(sys.argv[1]):\n"
    "    time.sleep(0.02)\n"
    "print('done')\n"
)
"""A CLI program (args: flag file, log file): notes its run in the log, waits while the
flag file exists, prints ``done``."""


def python_program(code: str) -> list[str]:
    """An argument vector running ``code`` with this Python."""
    return [sys.executable, "-c", code]
