"""Quitting while a big import runs: the window closes fast, the library stays intact."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QUrl
from pytestqt.qtbot import QtBot

from lora_desktop.app import create_main_window
from lora_desktop.services import adapters
from lora_desktop.services.library import open_library
from lora_desktop.services.registration import BATCH_SIZE, FIRST_BATCH_SIZE
from tests.gui.conftest import WindowFactory, drop_urls
from tests.gui.process_helpers import run_until_closed

pytestmark = pytest.mark.gui

BIG = 5_000


@pytest.fixture
def big_folder(tmp_path: Path) -> Path:
    """5,000 (empty) LoRA files in nested folders."""
    folder = tmp_path / "big"
    for i in range(BIG):
        sub = folder / f"set{i // 500:02d}"
        if i % 500 == 0:
            sub.mkdir(parents=True)
        (sub / f"lora_{i:05d}.safetensors").touch()
    return folder


def check_intact(db_path: Path) -> int:
    """Assert the database file is sound and every row is readable; return the row count."""
    with sqlite3.connect(db_path) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    lib = open_library(db_path)
    try:
        rows = adapters.list_rows(lib)
        assert adapters.counts(lib)["adapters"] == len(rows)
        return len(rows)
    finally:
        lib.close()


def test_closing_during_a_big_import_stops_it(
    open_window: WindowFactory, big_folder: Path, db_path: Path, qtbot: QtBot
) -> None:
    window = open_window()
    with qtbot.waitSignal(window.imports.progress, timeout=20_000):
        drop_urls(window, [QUrl.fromLocalFile(str(big_folder))])
    assert window.imports.busy
    started = time.monotonic()
    window.close()
    assert time.monotonic() - started < 5.0
    assert window.is_closed
    assert not window.runner.busy
    count = check_intact(db_path)
    # Files are committed in batches (a small first one, then 1,000 at a time): a
    # stopped import keeps whole batches only.
    assert (count - FIRST_BATCH_SIZE) % BATCH_SIZE == 0 or count in (0, BIG)
    # The lock went with the window: the library opens again.
    again = create_main_window(db_path)
    qtbot.addWidget(again)
    again.close()


SCRIPT = textwrap.dedent(
    """
    import sys, time
    from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication
    from lora_desktop.app import create_main_window

    app = QApplication(sys.argv[:1])
    window = create_main_window(sys.argv[1])
    window.show()

    def close_now(done, total):
        if window.is_closed:
            return
        print("closing", flush=True)
        window.close()
        app.quit()

    window.imports.progress.connect(close_now)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(sys.argv[2])])
    actions = Qt.DropAction.CopyAction
    point = QPointF(10, 10)
    buttons, mods = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
    enter = QDragEnterEvent(point.toPoint(), actions, mime, buttons, mods)
    QApplication.sendEvent(window, enter)
    QApplication.sendEvent(window, QDropEvent(point, actions, mime, buttons, mods))
    sys.exit(app.exec())
    """
)


def test_process_exits_zero_within_five_seconds_during_import(
    big_folder: Path, db_path: Path, tmp_path: Path
) -> None:
    closed = run_until_closed(SCRIPT, [str(db_path), str(big_folder)], tmp_path / "cfg")
    assert closed.line == "closing", closed.stderr
    assert closed.status == 0, closed.stderr
    assert closed.seconds < 5.0
    assert "Traceback" not in closed.stderr
    check_intact(db_path)


def test_second_instance_process_exits_non_zero_with_a_message(
    open_window: WindowFactory, db_path: Path, tmp_path: Path
) -> None:
    open_window()  # this process holds the library
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CONFIG_HOME=str(tmp_path / "cfg"))
    done = subprocess.run(
        [sys.executable, "-m", "lora_desktop", "--database", str(db_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert done.returncode == 1
    assert "already open" in done.stderr
    assert "Traceback" not in done.stderr
