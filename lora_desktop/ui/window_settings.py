"""The main window's remembered state: what is saved at close and put back at start.

Geometry, the two splitters, the list's filter and the compose panel's fields, in
the user's QSettings (see ``lora_desktop.ui.settings`` for the keys). Splitter
positions only stick once the window has its real size, so they are handed back
to the window and put back at its first show.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtWidgets import QSplitter

from lora_desktop.ui import settings as keys

if TYPE_CHECKING:
    from lora_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

SplitterStates = list[tuple[QSplitter, QByteArray]]


def restore_settings(window: MainWindow) -> tuple[SplitterStates, str]:
    """Put back geometry, filter and compose fields; return (splitter states, wanted tag).

    The splitter states wait for ``restore_splitters`` at the window's first show; the
    tag waits for the tag list to be filled.
    """
    settings = keys.app_settings()
    geometry = keys.read_bytes(settings, keys.KEY_GEOMETRY)
    if geometry is not None:
        window.restoreGeometry(geometry)
    splitter_states = [
        (splitter, state)
        for key, splitter in (
            (keys.KEY_MAIN_SPLITTER, window.main_splitter),
            (keys.KEY_SIDE_SPLITTER, window.side_splitter),
        )
        if (state := keys.read_bytes(settings, key)) is not None
    ]
    wanted = keys.load_filter(settings)
    window.search_field.setText(wanted.search)
    window.active_only_toggle.setChecked(wanted.active_only)
    window.proxy.set_filter(wanted.search, wanted.active_only, "")
    panel = window.compose_panel
    panel.prefix_edit.setText(keys.read_str(settings, keys.KEY_PREFIX))
    panel.suffix_edit.setText(keys.read_str(settings, keys.KEY_SUFFIX))
    panel.include_triggers_check.setChecked(
        keys.read_bool(settings, keys.KEY_INCLUDE_TRIGGERS, True)
    )
    return splitter_states, wanted.tag


def restore_splitters(window: MainWindow, states: SplitterStates) -> None:
    """Put remembered splitter positions back (once the window has its real size)."""
    if states:
        window.layout().activate()  # give the splitters their final size first
    for splitter, state in states:
        splitter.restoreState(state)


def save_settings(window: MainWindow, settings: QSettings | None = None) -> None:
    """Remember geometry, splitters, the filter and the compose fields."""
    settings = settings or keys.app_settings()
    settings.setValue(keys.KEY_GEOMETRY, window.saveGeometry())
    settings.setValue(keys.KEY_MAIN_SPLITTER, window.main_splitter.saveState())
    settings.setValue(keys.KEY_SIDE_SPLITTER, window.side_splitter.saveState())
    keys.save_filter(
        settings,
        keys.FilterState(
            window.search_field.text(), window.active_only_toggle.isChecked(), window.proxy.tag
        ),
    )
    panel = window.compose_panel
    settings.setValue(keys.KEY_PREFIX, panel.prefix_edit.text())
    settings.setValue(keys.KEY_SUFFIX, panel.suffix_edit.text())
    settings.setValue(keys.KEY_INCLUDE_TRIGGERS, panel.include_triggers_check.isChecked())
    settings.sync()
