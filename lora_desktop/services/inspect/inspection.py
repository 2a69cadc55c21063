"""``inspect_file``: one file's header, derived fields, sidecars and pickle verdict (no database).

Never raises for a bad file: each problem becomes a readable line in ``problems``,
so a batch goes on with the next file.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from lora_desktop.models.schemas import TAG_MAX, TAGS_PER_ADAPTER_MAX, normalise_tag
from lora_desktop.services.inspect.header_json import HeaderError
from lora_desktop.services.inspect.metadata import Derived, derive
from lora_desktop.services.inspect.pickle_scan import scan_pickle_file
from lora_desktop.services.inspect.safetensors_header import read_header, read_header_prefix
from lora_desktop.services.inspect.sidecars import FolderIndex, Sidecars, read_sidecars

log = logging.getLogger(__name__)

PICKLE_EXTENSIONS = frozenset({".pt", ".ckpt", ".pth", ".bin"})
THUMBNAIL_MAX = 1024 * 1024
"""Largest inline ``modelspec.thumbnail`` kept (characters of its data URL)."""
_DATA_IMAGE = re.compile(r"^data:image/(png|jpeg|jpg|webp);base64,", re.IGNORECASE)
FILLABLE = ("title", "base_model", "trigger_words", "weight", "notes", "description", "tags")
"""Fields a sidecar or the header may fill, unless the artist edited them."""


@dataclass
class FileInspection:
    """What one file says about itself.

    Attributes:
        kind: ``safetensors`` or ``pickle``.
        metadata: ``__metadata__`` (string → string); None when not read or not indexed.
        metadata_json: the same as JSON text straight from the header, when it decodes
            to exactly ``metadata`` (bulk registration stores it without re-encoding).
        metadata_indexed: the header's metadata was read (False for pickles, unreadable
            headers and headers over the indexing cap).
        values: fillable field → (value, source), by the documented precedence.
        incomplete: the file looks truncated or still downloading.
        dangerous_globals: for pickles, what loading it would import outside the allow-list.
        problems: readable lines, one per problem (shown as ``inspect_error``).
    """

    path: str
    kind: str
    size: int | None = None
    mtime: float | None = None
    header_size: int | None = None
    metadata: dict[str, str] | None = None
    metadata_json: str | None = None
    metadata_indexed: bool = False
    derived: Derived = field(default_factory=Derived)
    sidecars: Sidecars = field(default_factory=Sidecars)
    values: dict[str, tuple[Any, str]] = field(default_factory=dict)
    incomplete: bool = False
    dangerous: bool = False
    dangerous_globals: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        """All problems on one line, or None."""
        return "; ".join(self.problems)[:2000] or None

    def sidecar_summary(self) -> dict[str, Any]:
        """The stored ``sidecars`` value: files found, their values, hashes, not-found flag."""
        return {
            "files": self.sidecars.files,
            "values": self.sidecars.values,
            "hashes": self.sidecars.hashes,
            "civitai_not_found": self.sidecars.civitai_not_found,
        }


def clean_tags(values: list[str]) -> list[str]:
    """Tags from a sidecar as the adapter stores them; unusable ones dropped."""
    seen: dict[str, None] = {}
    for raw in values:
        tag = normalise_tag(raw)
        if tag and len(tag) <= TAG_MAX and "," not in tag and tag.isprintable():
            seen.setdefault(tag, None)
    return list(seen)[:TAGS_PER_ADAPTER_MAX]


def clean_words(values: list[str]) -> list[str]:
    """Trigger words as the adapter stores them: trimmed, de-duplicated, bounded."""
    seen: dict[str, None] = {}
    for raw in values:
        word = " ".join(raw.split())
        if word and len(word) <= 500 and word.isprintable():
            seen.setdefault(word, None)
    return list(seen)


def _bounded_thumbnail(metadata: dict[str, str]) -> str | None:
    """Keep ``modelspec.thumbnail`` only as a small inline image; never fetch a URL.

    Returns the replacement when the value was replaced (else None).
    """
    value = metadata.get("modelspec.thumbnail")
    if value is None:
        return None
    if not _DATA_IMAGE.match(value) or len(value) > THUMBNAIL_MAX:
        shown = f"(not kept: {len(value):,} characters, not inline)"[:80]
        metadata["modelspec.thumbnail"] = shown
        return shown
    return None


def inline_thumbnail(metadata: dict[str, str] | None) -> bytes | None:
    """The image bytes of an inline ``modelspec.thumbnail``, or None (nothing is fetched)."""
    value = (metadata or {}).get("modelspec.thumbnail") or ""
    match = _DATA_IMAGE.match(value)
    if match is None or len(value) > THUMBNAIL_MAX:
        return None
    try:
        return base64.b64decode(value[match.end() :], validate=True)
    except (binascii.Error, ValueError):
        return None


def _fill(found: FileInspection) -> None:
    merged = found.sidecars.merged()
    header = {"title": found.derived.title, "base_model": found.derived.base_model}
    for name, value in header.items():
        if name not in merged and value:
            merged[name] = (value, "header")
    if "tags" in merged:
        merged["tags"] = (clean_tags(merged["tags"][0]), merged["tags"][1])
    if "trigger_words" in merged:
        merged["trigger_words"] = (
            clean_words(merged["trigger_words"][0]),
            merged["trigger_words"][1],
        )
    found.values = {k: v for k, v in merged.items() if v[0] not in (None, "", [])}


_NOTHING_DERIVED = Derived()
"""Shared by every file whose metadata says nothing (frozen; its lists are only read)."""
_NOT_READ_YET = Sidecars()
"""A placeholder, replaced before ``inspect_file`` returns."""


def inspect_file(
    path: str,
    *,
    names: FolderIndex | None = None,
    candidates: bool = True,
    before: os.stat_result | None = None,
    whole_header: bool | None = None,
) -> FileInspection:
    """Inspect one LoRA file: header (or pickle scan), derived fields and sidecars.

    ``names`` is its folder's ``sidecars.folder_listing`` when the caller already has it.
    ``candidates=False`` leaves the trigger-word suggestions to the hash pass (bulk
    registration: they parse JSON inside strings, the slowest part of a header).
    ``before`` is the file's ``os.stat`` when the caller has just taken it (a batch checks
    each file first): the header reader then does not stat it again before opening it.
    ``whole_header=False`` reads a safetensors header only as far as its leading
    ``__metadata__`` (``read_header_prefix``), leaving the check of the rest to the hash
    pass; None (the default) means the same as ``candidates``, so bulk registration
    (``candidates=False``) reads the prefix and everything else the whole header.
    """
    suffix = os.path.splitext(path)[1].lower()
    found = FileInspection(
        path,
        "pickle" if suffix in PICKLE_EXTENSIONS else "safetensors",
        derived=_NOTHING_DERIVED,  # not a fresh default each time: replaced or kept empty
        sidecars=_NOT_READ_YET,
    )
    if found.kind == "safetensors":
        try:
            whole = candidates if whole_header is None else whole_header
            header = (read_header if whole else read_header_prefix)(path, before)
        except HeaderError as exc:
            found.problems.append(exc.message)
            found.incomplete = exc.incomplete
        else:
            found.size, found.header_size = header.file_size, header.header_size
            found.metadata_indexed = header.metadata is not None
            if header.note:
                found.problems.append(header.note)
            if header.metadata is not None:
                found.metadata = header.metadata
                if _bounded_thumbnail(found.metadata) is None:
                    found.metadata_json = header.metadata_json
                found.derived = derive(found.metadata, candidates=candidates)
                found.problems.extend(found.derived.problems)
    else:
        try:
            verdict = scan_pickle_file(path)
        except HeaderError as exc:  # not scanned is not safe
            found.problems.append(exc.message)
            found.dangerous = True
            found.dangerous_globals = [f"(unscannable: {exc.message})"]
        else:
            found.dangerous = verdict.dangerous
            found.dangerous_globals = verdict.offending
            if verdict.dangerous:
                found.problems.append("dangerous: loading it would run code it names")
    found.sidecars = read_sidecars(path, names)
    found.problems.extend(found.sidecars.problems)
    _fill(found)
    return found
