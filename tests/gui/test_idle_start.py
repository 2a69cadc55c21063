"""WhenIdle: background start-up work waits for the artist's first pause."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from lora_desktop.ui.idle_start import WhenIdle

pytestmark = pytest.mark.gui


def test_typing_puts_the_start_off_until_a_pause(qtbot: QtBot) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    calls: list[float] = []
    idle = WhenIdle(lambda: calls.append(time.monotonic()), field, idle_ms=300, at_most_ms=10_000)
    began = time.monotonic()
    idle.start()
    assert idle.pending
    typed_until = began
    for _ in range(8):  # a key every 100 ms for about 0.8 s: never a 300 ms pause
        QTest.keyClick(field, Qt.Key.Key_A)
        typed_until = time.monotonic()
        qtbot.wait(100)
        assert calls == []
    qtbot.waitUntil(lambda: len(calls) == 1, timeout=3000)
    assert calls[0] - typed_until >= 0.25  # after the pause, not before
    assert not idle.pending
    qtbot.wait(400)
    assert len(calls) == 1  # once


def test_it_starts_at_the_latest_after_at_most_ms(qtbot: QtBot) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    calls: list[int] = []
    idle = WhenIdle(lambda: calls.append(1), field, idle_ms=400, at_most_ms=700)
    idle.start()
    for _ in range(12):  # typing on and on
        QTest.keyClick(field, Qt.Key.Key_B)
        qtbot.wait(100)
    assert calls == [1]


def test_cancel_means_never(qtbot: QtBot) -> None:
    field = QLineEdit()
    qtbot.addWidget(field)
    calls: list[int] = []
    idle = WhenIdle(lambda: calls.append(1), field, idle_ms=100, at_most_ms=200)
    idle.start()
    idle.cancel()
    qtbot.wait(400)
    assert calls == []
