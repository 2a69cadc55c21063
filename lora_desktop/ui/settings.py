"""The window's remembered state (geometry, splitters, last filter) in QSettings."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from PySide6.QtCore import QByteArray, QSettings

log = logging.getLogger(__name__)

ORGANISATION = "lora-desktop"
APPLICATION = "lora-desktop"

KEY_GEOMETRY = "window/geometry"
KEY_STATE = "window/state"
KEY_MAIN_SPLITTER = "window/mainSplitter"
KEY_SIDE_SPLITTER = "window/sideSplitter"
KEY_SEARCH = "filter/search"
KEY_ACTIVE_ONLY = "filter/activeOnly"
KEY_TAG = "filter/tag"
KEY_PREFIX = "compose/prefix"
KEY_SUFFIX = "compose/suffix"
KEY_INCLUDE_TRIGGERS = "compose/includeTriggerWords"


def app_settings() -> QSettings:
    """Return the user's settings (an INI file in the per-user config folder).

    The INI format is explicit so tests can move it with ``QSettings.setPath``.
    """
    return QSettings(
        QSettings.Format.IniFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION
    )


def read_bytes(settings: QSettings, key: str) -> QByteArray | None:
    """Return a stored byte array, or None when absent or of another type."""
    value = settings.value(key)
    return value if isinstance(value, QByteArray) and not value.isEmpty() else None


def read_str(settings: QSettings, key: str, default: str = "") -> str:
    """Return a stored string (anything else gives ``default``)."""
    value = settings.value(key, default)
    return value if isinstance(value, str) else default


def read_bool(settings: QSettings, key: str, default: bool = False) -> bool:
    """Return a stored boolean; INI files give it back as the text "true"/"false"."""
    value = settings.value(key, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return default


@dataclass(frozen=True)
class FilterState:
    """The list's filter as the artist left it."""

    search: str = ""
    active_only: bool = False
    tag: str = ""


def load_filter(settings: QSettings) -> FilterState:
    """Return the last filter."""
    return FilterState(
        search=read_str(settings, KEY_SEARCH),
        active_only=read_bool(settings, KEY_ACTIVE_ONLY),
        tag=read_str(settings, KEY_TAG),
    )


def save_filter(settings: QSettings, state: FilterState) -> None:
    """Remember the filter."""
    settings.setValue(KEY_SEARCH, state.search)
    settings.setValue(KEY_ACTIVE_ONLY, state.active_only)
    settings.setValue(KEY_TAG, state.tag)
