"""The main window's File and Edit menus, wired in one place.

File → Add files…, Add folder… (file dialogs that start from the last folder used)
and Quit; Edit → Undo, Redo, Find, Copy prompt, Toggle active and Delete. Find,
Copy prompt, Undo and Redo are window-wide shortcuts, whatever has focus.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QFileDialog

from lora_desktop.ui import settings as keys

if TYPE_CHECKING:
    from lora_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

KEY_LAST_FOLDER = "paths/lastFolder"
"""Where the add-files and add-folder dialogs open next time."""


class FileEditMenus(QObject):
    """Owns the File and Edit menus' actions and the add-files/add-folder dialogs.

    The actions keep the window as their Qt parent, like the menus they sit in.
    """

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window
        file_menu = window.menuBar().addMenu("&File")
        self.add_files_action = file_menu.addAction("Add &files…")
        self.add_files_action.setShortcut(QKeySequence.StandardKey.Open)
        self.add_files_action.triggered.connect(self._on_add_files_action_triggered)
        self.add_folder_action = file_menu.addAction("Add f&older…")
        self.add_folder_action.setShortcut(QKeySequence("Ctrl+Shift+O"))
        self.add_folder_action.triggered.connect(self._on_add_folder_action_triggered)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("&Quit")
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(window.close)

        edit_menu = window.menuBar().addMenu("&Edit")
        self.undo_action = window.undo_stack.createUndoAction(window, "&Undo")
        self.undo_action.setShortcut(QKeySequence.StandardKey.Undo)
        self.redo_action = window.undo_stack.createRedoAction(window, "&Redo")
        self.redo_action.setShortcut(QKeySequence.StandardKey.Redo)
        edit_menu.addAction(self.undo_action)
        edit_menu.addAction(self.redo_action)
        edit_menu.addSeparator()
        self.find_action = QAction("&Find", window)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(window.focus_search)
        self.copy_prompt_action = QAction("&Copy prompt", window)
        self.copy_prompt_action.setShortcut(QKeySequence("Ctrl+Shift+C"))
        self.copy_prompt_action.triggered.connect(window.compose_panel.copy_prompt)
        self.toggle_action = QAction("&Toggle active\tSpace", window)
        self.toggle_action.triggered.connect(window.toggle_selected)
        self.delete_action = QAction("&Delete\tDel", window)
        self.delete_action.triggered.connect(window.delete_selected)
        for action in (self.find_action, self.copy_prompt_action):
            window.addAction(action)  # window-wide shortcuts, whatever has focus
            edit_menu.addAction(action)
        edit_menu.addSeparator()
        edit_menu.addAction(self.toggle_action)
        edit_menu.addAction(self.delete_action)
        window.addAction(self.undo_action)
        window.addAction(self.redo_action)

    # -- slots ----------------------------------------------------------------

    def _on_add_files_action_triggered(self) -> None:
        from lora_desktop.services.registration import LORA_EXTENSIONS

        settings = keys.app_settings()
        start = keys.read_str(settings, KEY_LAST_FOLDER, str(Path.home()))
        patterns = " ".join(f"*{ext}" for ext in sorted(LORA_EXTENSIONS))
        paths, _ = QFileDialog.getOpenFileNames(
            self._window, "Add LoRA files", start, f"LoRA files ({patterns});;All files (*)"
        )
        if paths:
            settings.setValue(KEY_LAST_FOLDER, os.path.dirname(paths[0]))
            self._window.import_paths(list(paths))

    def _on_add_folder_action_triggered(self) -> None:
        settings = keys.app_settings()
        start = keys.read_str(settings, KEY_LAST_FOLDER, str(Path.home()))
        folder = QFileDialog.getExistingDirectory(self._window, "Add a folder of LoRA files", start)
        if folder:
            settings.setValue(KEY_LAST_FOLDER, folder)
            self._window.import_paths([folder])
