"""Deliveries at once: the panel's spin box limits the running pool at once and is
remembered for the next window."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from lora_desktop.ui.delivery_pool import DEFAULT_CONCURRENCY, KEY_CONCURRENCY
from lora_desktop.ui.settings import app_settings
from tests.gui.conftest import WindowFactory
from tests.gui.delivery_helpers import (
    HOLD_WHILE_FLAG,
    WAIT_MS,
    add_target,
    fast_deliveries,  # noqa: F401  (a fixture)
    python_program,
    ready_window,
    send_and_get_id,
    set_prompt,
    wait_status,
)

pytestmark = [pytest.mark.gui, pytest.mark.usefixtures("fast_deliveries")]


def _runs(path: Path) -> int:
    return len(path.read_text().split()) if path.exists() else 0


def test_deliveries_at_once_applies_to_the_running_pool_and_survives_a_new_window(
    qtbot: QtBot, open_window: WindowFactory, tmp_path: Path
) -> None:
    flag, runs = tmp_path / "hold", tmp_path / "runs"
    flag.touch()
    window = ready_window(qtbot, open_window)
    spin = window.deliveries.panel.concurrency_spin
    pool = window.deliveries.pool
    assert spin.value() == DEFAULT_CONCURRENCY == pool.max_threads
    assert (spin.minimum(), spin.maximum()) == (1, 8)

    spin.setValue(1)
    assert pool.max_threads == 1
    add_target(window, "slow", "cli", argv=[*python_program(HOLD_WHILE_FLAG), str(flag), str(runs)])
    ids = []
    for text in ("first", "second"):
        set_prompt(qtbot, window, text)
        ids.append(send_and_get_id(qtbot, window))
    wait_status(qtbot, window, ids[0], "running")
    qtbot.waitUntil(lambda: _runs(runs) == 1, timeout=WAIT_MS)
    assert pool.active == 1  # the second waits its turn
    wait_status(qtbot, window, ids[1], "pending")

    spin.setValue(2)  # no restart: the waiting job starts now
    assert pool.max_threads == 2
    qtbot.waitUntil(lambda: _runs(runs) == 2, timeout=WAIT_MS)
    wait_status(qtbot, window, ids[1], "running")
    flag.unlink()
    for job_id in ids:
        wait_status(qtbot, window, job_id, "succeeded")

    spin.setValue(3)
    window.close()
    app_settings().sync()
    stored = QSettings(app_settings().fileName(), QSettings.Format.IniFormat)
    assert int(stored.value(KEY_CONCURRENCY)) == 3
    again = ready_window(qtbot, open_window)
    assert again.deliveries.panel.concurrency_spin.value() == 3
    assert again.deliveries.pool.max_threads == 3
