"""GUI test set-up: settings in a temporary folder, the clipboard cleared, windows closed."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication, QWidget
from pytestqt.qtbot import QtBot

from lora_desktop.app import create_main_window
from lora_desktop.ui.main_window import MainWindow

pytestmark = pytest.mark.gui


@pytest.fixture(scope="session", autouse=True)
def _clear_clipboard_at_exit() -> Iterator[None]:
    """A QMimeData left on the clipboard crashes Python at exit under offscreen."""
    yield
    if QGuiApplication.instance() is not None:
        QGuiApplication.clipboard().clear()


@pytest.fixture(autouse=True)
def _temporary_settings(tmp_path: Path) -> Path:
    """Every test reads and writes its own settings, never the user's."""
    folder = tmp_path / "settings"
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(folder))
    return folder


WindowFactory = Callable[[], MainWindow]


@pytest.fixture
def open_window(qtbot: QtBot, db_path: Path) -> Iterator[WindowFactory]:
    """Build (and afterwards close) main windows on the test's library."""
    windows: list[MainWindow] = []

    def factory() -> MainWindow:
        window = create_main_window(db_path)
        assert isinstance(window, MainWindow)
        windows.append(window)
        qtbot.addWidget(window)
        window.show()
        qtbot.waitExposed(window)
        return window

    yield factory
    for window in windows:
        window.close()
        assert not window.runner.busy or window.is_closed


def drop_urls(target: QWidget, urls: Sequence[QUrl]) -> QDropEvent:
    """Drag URLs from outside onto ``target`` and drop them; return the drop event."""
    mime = QMimeData()
    mime.setUrls(list(urls))
    position = QPointF(target.rect().center())
    enter = QDragEnterEvent(
        position.toPoint(),  # QDragEnterEvent takes a QPoint, QDropEvent a QPointF
        Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, enter)
    assert enter.isAccepted(), "the window refused the drag"
    drop = QDropEvent(
        position,
        Qt.DropAction.CopyAction | Qt.DropAction.MoveAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    QApplication.sendEvent(target, drop)
    # ``mime`` must outlive the events: keep it referenced until here.
    del mime
    return drop


def activate(qtbot: QtBot, window: QWidget) -> None:
    """Make ``window`` the active window (shortcuts only reach the active window)."""
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
