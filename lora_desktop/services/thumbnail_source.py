"""What the list's thumbnail column needs of an adapter, read without loading it whole.

The list asks for every visible row without a preview file: its file path (the
thumbnail cache's key) and the header's inline ``modelspec.thumbnail``. Loading
the adapter (its row, details, tags, and the Pydantic copy) for that cost 1-3 ms
of Python a row on a pool thread, GIL held, while the window paints; one query
for the two values costs a fraction of it.
"""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from lora_desktop.models.tables import Adapter, AdapterDetails
from lora_desktop.services.inspect.inspection import inline_thumbnail
from lora_desktop.services.library import Library

log = logging.getLogger(__name__)

THUMBNAIL_KEY = "modelspec.thumbnail"

_QUERY = (
    select(Adapter.file_path, AdapterDetails.training_metadata[THUMBNAIL_KEY].as_string())
    .outerjoin(AdapterDetails, AdapterDetails.adapter_id == Adapter.id)
    .where(Adapter.deleted_at.is_(None))
)


def thumbnail_source(lib: Library, adapter_id: str) -> tuple[str, bytes | None] | None:
    """(file path, inline thumbnail image bytes or None) of a live adapter; None if none.

    Nothing is fetched: the inline value is used only as a ``data:image/...;base64``
    value under the size cap (``inspection.inline_thumbnail``).
    """
    try:
        with lib.db.read() as session:
            row = session.execute(_QUERY.where(Adapter.id == adapter_id)).first()
    except SQLAlchemyError as exc:  # e.g. metadata the database cannot read as JSON
        log.warning("no thumbnail source for %s: %s", adapter_id, exc)
        return None
    if row is None:
        return None
    path, inline = row
    return path, inline_thumbnail({THUMBNAIL_KEY: inline} if inline else None)
