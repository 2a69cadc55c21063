"""Storing what a file says about itself on its adapter, without overwriting the artist.

Per field, the artist's edits win (``edited_fields``), then the A1111 ``.json``,
then Civitai data from any sidecar, then the header; ``reimport=True`` forgets the
edits and takes the files' values.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Collection
from typing import Any

from lora_desktop.models.base import utcnow
from lora_desktop.models.schemas import AdapterOut
from lora_desktop.models.tables import Adapter
from lora_desktop.services.adapters import load
from lora_desktop.services.convert import adapter_out, refresh_search_text, set_tags
from lora_desktop.services.inspect.inspection import FileInspection, inspect_file
from lora_desktop.services.library import ChangeSet, Library

log = logging.getLogger(__name__)


def file_columns(found: FileInspection) -> dict[str, Any]:
    """The columns that always follow the file (nothing the artist edits)."""
    derived = found.derived
    return {
        "network_module": derived.network_module,
        "network_dim": derived.network_dim,
        "network_alpha": derived.network_alpha,
        "resolution": derived.resolution,
        "trigger_phrase": derived.trigger_phrase,
        "trigger_candidates": [c.as_json() for c in derived.candidates],
        "training_metadata": found.metadata,
        "metadata_indexed": found.metadata_indexed,
        "header_size": found.header_size,
        "incomplete": found.incomplete,
        "dangerous": found.dangerous,
        "dangerous_globals": list(found.dangerous_globals),
        "sidecars": found.sidecar_summary(),
        "inspect_error": found.error,
        "inspected_at": utcnow(),
    }


def filled_values(found: FileInspection, edited: Collection[str]) -> dict[str, Any]:
    """Fillable fields (tags included) the files provide and the artist has not edited."""
    values = {name: value for name, (value, _source) in found.values.items() if name not in edited}
    if found.sidecars.preview and "preview_path" not in edited:
        values["preview_path"] = found.sidecars.preview
    return values


def apply_inspection(
    session: Any, adapter: Adapter, found: FileInspection, *, reimport: bool = False
) -> None:
    """Write ``found`` onto an ORM adapter in an open unit of work."""
    if reimport:
        adapter.edited_fields = []
    edited = set(adapter.edited_fields or [])
    for name, value in file_columns(found).items():
        setattr(adapter, name, value)
    for name, value in filled_values(found, edited).items():
        if name == "tags":
            set_tags(adapter, list(value))
        elif name == "trigger_words":
            adapter.trigger_words = list(value)
        else:
            setattr(adapter, name, value)
    if found.size is not None and os.path.exists(adapter.file_path):
        st = os.stat(adapter.file_path)
        adapter.file_size, adapter.file_mtime = st.st_size, st.st_mtime
    refresh_search_text(adapter)
    adapter.updated_at = utcnow()


def inspect_adapter(lib: Library, ref: str, *, reimport: bool = False) -> AdapterOut:
    """Read an adapter's file and sidecars again and store what they say.

    Fields the artist edited keep their values unless ``reimport`` is True.

    Raises:
        NotFound: no such adapter.
    """
    with lib.db.read() as session:
        path = load(session, ref).file_path
    found = inspect_file(path)  # outside the write lock: reading files may be slow
    with lib.db.write() as session:
        adapter = load(session, ref)
        apply_inspection(session, adapter, found, reimport=reimport)
        session.flush()
        out = adapter_out(adapter)
    lib.publish(ChangeSet(updated=(out.id,)))
    return out
