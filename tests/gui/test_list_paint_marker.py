"""The list marks its paints on the library, so background loops step aside."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from lora_desktop.services import registration, window_busy
from lora_desktop.services.library import Library
from tests.conftest import make_lora
from tests.gui.conftest import WindowFactory

pytestmark = pytest.mark.gui


def test_each_list_paint_is_marked_busy_and_cleared_after(
    open_window: WindowFactory, library: Library, lora_dir: Path, qtbot: QtBot
) -> None:
    for i in range(5):
        make_lora(lora_dir, f"lora_{i}")
    registration.register_many(library, [lora_dir])
    window = open_window()
    busy = window.library.window_busy
    seen: list[bool] = []
    real = busy.painting

    @contextmanager
    def spy() -> Iterator[None]:
        with real():
            seen.append(busy.is_painting)
            yield

    busy.painting = spy  # type: ignore[method-assign]
    window.show()
    qtbot.waitExposed(window)
    seen.clear()
    window.list_view.viewport().update()
    qtbot.waitUntil(lambda: bool(seen), timeout=5000)
    assert set(seen) == {True}  # the rows were painted inside the mark
    assert not busy.is_painting


def test_a_registration_waits_while_the_list_paints(
    open_window: WindowFactory, lora_dir: Path, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(window_busy, "MAX_WAIT_S", 30.0)
    make_lora(lora_dir, "late")
    window = open_window()
    busy = window.library.window_busy
    done = threading.Event()

    def register() -> None:
        registration.register_many(window.library, [lora_dir])
        done.set()

    with busy.painting():  # as if a long paint were going on
        worker = threading.Thread(target=register)
        worker.start()
        assert not done.wait(0.3)  # held while the paint goes on
    assert done.wait(10)
    worker.join()
