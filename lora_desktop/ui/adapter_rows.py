"""The adapter list's columns and rows as plain values: no Qt model here.

Shared by the list model and its mixins: column numbers and titles, the list's
view of an adapter (``AdapterRow``), the weight as the token writes it, and the
private MIME payload of a drag (adapter ids).
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QByteArray, QMimeData

from lora_desktop.models.schemas import AdapterOut, AdapterRow
from lora_desktop.services.convert import search_text

MIME_IDS = "application/x-lora-desktop-ids"

COL_NAME, COL_WEIGHT, COL_TAGS, COL_STATUS, COL_PREVIEW = range(5)
HEADERS = ("Name", "Weight", "Tags", "File", "")
"""The preview column is last in the model; the view shows it first."""


def format_weight(weight: float) -> str:
    """A weight as the token writes it: at most 3 decimals, trailing zeros dropped.

    The same rule as ``services.compose.format_weight`` (a test pins them equal);
    importing that module here would pull in the delivery runners before the
    list first paints.
    """
    text = f"{round(weight, 3):.3f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def row_from_adapter(adapter: AdapterOut) -> AdapterRow:
    """The list's view of a full adapter (what ``list_rows`` would return for it)."""
    return AdapterRow(
        id=adapter.id,
        name=adapter.name,
        version=adapter.version,
        tags=tuple(adapter.tags),
        trigger_words=tuple(adapter.trigger_words),
        weight=adapter.weight,
        active=adapter.active,
        ordinal=adapter.ordinal,
        file_status=adapter.file_status,
        search_text=search_text(adapter.name, adapter.version, adapter.tags, adapter.trigger_words),
        base_model=adapter.base_model,
        sha256=adapter.sha256,
        preview_path=adapter.preview_path,
        dangerous=adapter.dangerous,
        incomplete=adapter.incomplete,
        problem=adapter.inspect_error,
    )


def encode_ids(ids: Iterable[str]) -> QByteArray:
    """The private MIME payload: ids, one per line."""
    return QByteArray("\n".join(ids).encode("utf-8"))


def decode_ids(data: QMimeData) -> list[str]:
    """The ids of a private MIME payload (empty if absent)."""
    if not data.hasFormat(MIME_IDS):
        return []
    raw = bytes(data.data(MIME_IDS).data()).decode("utf-8", errors="replace")
    return [line for line in raw.split("\n") if line]
