"""Showing text from files and users literally, never as rich text."""

from __future__ import annotations

import html

TOOLTIP_MAX = 2000


def plain_tooltip(text: str) -> str:
    """A tooltip that shows ``text`` literally.

    Qt renders a tooltip as rich text when it looks like HTML, so a name such as
    ``<b>x</b>`` would turn bold: escape it and wrap it in a paragraph instead.
    """
    if not text:
        return ""
    shown = text if len(text) <= TOOLTIP_MAX else text[:TOOLTIP_MAX] + "…"
    return f"<p style='white-space:pre-wrap'>{html.escape(shown)}</p>"
