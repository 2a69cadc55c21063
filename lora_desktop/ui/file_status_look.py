"""How a row shows its file's status: missing greyed with an icon, unavailable distinct.

``missing``: the file is gone (greyed, warning icon). ``unavailable``: its library
folder is gone, e.g. an unplugged drive (slate blue, italic, drive icon).
``changed``: modified on disk, hash being computed again (reload icon).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont, QIcon
from PySide6.QtWidgets import QApplication, QStyle

_BRUSHES = {
    "missing": QBrush(QColor("#8a8a8a")),
    "unavailable": QBrush(QColor("#5b6f8f")),
}
_ICONS = {
    "missing": QStyle.StandardPixmap.SP_MessageBoxWarning,
    "unavailable": QStyle.StandardPixmap.SP_DriveNetIcon,
    "changed": QStyle.StandardPixmap.SP_BrowserReload,
}
_icon_cache: dict[str, QIcon] = {}


def status_data(status: str, role: int, *, status_column: bool) -> Any:
    """The value of ``role`` for a row whose file has ``status`` (None: no opinion)."""
    if role == Qt.ItemDataRole.ForegroundRole:
        return _BRUSHES.get(status)
    if role == Qt.ItemDataRole.FontRole and status == "unavailable":
        font = QFont()
        font.setItalic(True)
        return font
    if role == Qt.ItemDataRole.DecorationRole and status_column and status in _ICONS:
        icon = _icon_cache.get(status)
        if icon is None:
            app = QApplication.instance()
            if not isinstance(app, QApplication):
                return None
            icon = app.style().standardIcon(_ICONS[status])
            _icon_cache[status] = icon
        return icon
    return None
