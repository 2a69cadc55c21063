"""The inspection pane's words: what the app knows about an adapter's file, as plain text.

Pure functions of an ``AdapterOut`` (no widgets), so they are tested without a window.
"""

from __future__ import annotations

import html
import os
import re
from typing import Any

from lora_desktop.models.schemas import AdapterOut
from lora_desktop.services.inspect.inspection import PICKLE_EXTENSIONS
from lora_desktop.services.inspect.safetensors_header import INDEX_CAP

SIDECAR_NAMES = {
    "civitai.info": "Civitai info",
    "a1111": "A1111 .json",
    "metadata.json": "Lora Manager .metadata.json",
    "cm-info.json": "Stability Matrix .cm-info.json",
}
"""The sidecar kinds as the artist knows them, in the order shown."""
_HIDDEN_ELEMENTS = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BREAKS = re.compile(r"<(br|/p|/div|/li|/h[1-6])\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]*>")


def hash_text(adapter: AdapterOut) -> str:
    """The hashes as shown (or why there are none yet)."""
    if adapter.sha256 is None:
        return "Incomplete: not hashed" if adapter.incomplete else "Not hashed yet"
    lines = [f"SHA-256  {adapter.sha256}", f"AutoV2  {adapter.autov2 or adapter.sha256[:10]}"]
    if adapter.autov3:
        lines.append(f"AutoV3  {adapter.autov3}")
    return "\n".join(lines)


def state_lines(adapter: AdapterOut) -> list[str]:
    """Warnings about the file, most serious first."""
    lines = []
    if adapter.dangerous:
        shown = ", ".join(adapter.dangerous_globals[:8]) or "unknown code"
        lines.append(f"Dangerous: loading this pickle would import {shown}")
    if adapter.inspect_error:
        lines.append(f"Problem: {adapter.inspect_error}")
    if adapter.incomplete:
        lines.append("Incomplete (perhaps still downloading); checked again when it changes")
    missing = missing_metadata_line(adapter)
    if missing:
        lines.append(missing)
    if adapter.file_status != "ok":
        lines.append(f"File {adapter.file_status}")
    return lines


def is_pickle(adapter: AdapterOut) -> bool:
    """Whether the file is a pickle (.pt, .ckpt, .pth, .bin): never loaded, no header."""
    return os.path.splitext(adapter.file_path)[1].lower() in PICKLE_EXTENSIONS


def missing_metadata_line(adapter: AdapterOut) -> str | None:
    """Why the editor has no training metadata to show (None: it has been read).

    "Not indexed" is only said of a header over the cap; a pickle has none, and a
    header that could not be read is explained by the Problem line.
    """
    if adapter.metadata_indexed:
        return None
    if is_pickle(adapter):
        return "Pickle file: no training metadata (never loaded)"
    if adapter.header_size is not None and adapter.header_size > INDEX_CAP:
        return f"Metadata not indexed (header over {INDEX_CAP // 2**20} MiB)"
    if adapter.inspect_error:
        return "No training metadata: the header could not be read (see Problem)"
    return "No training metadata: the header has not been read yet"


def metadata_toggle_reason(adapter: AdapterOut) -> str:
    """The metadata toggle's words when there is nothing in the table."""
    if adapter.metadata_indexed:
        return "none"
    if is_pickle(adapter):
        return "none (pickle file)"
    if adapter.header_size is not None and adapter.header_size > INDEX_CAP:
        return "not indexed"
    return "none (header not read)"


def sidecar_text(adapter: AdapterOut) -> tuple[str, str]:
    """The sidecars line and its tooltip (each file's name), both plain text."""
    summary: dict[str, Any] = adapter.sidecars or {}
    files = summary.get("files")
    files = files if isinstance(files, dict) else {}
    kinds = [k for k in SIDECAR_NAMES if k in files] + [k for k in files if k not in SIDECAR_NAMES]
    found = [
        (SIDECAR_NAMES.get(kind, kind), os.path.basename(str(files[kind].get("path", ""))))
        for kind in kinds
        if isinstance(files[kind], dict)
    ]
    # A preview beside the LoRA is a sidecar; one kept in the app's folder is not.
    preview = adapter.preview_path
    if preview and os.path.dirname(preview) == os.path.dirname(adapter.file_path):
        found.append(("preview", os.path.basename(preview)))
    if not found:
        return "Sidecars: none", ""
    text = "Sidecars: " + " · ".join(name for name, _ in found)
    if summary.get("civitai_not_found"):
        text += "\nCivitai: looked up, not found"
    return text, "\n".join(f"{name}: {file}" for name, file in found)


def description_text(description: str | None) -> str:
    """A description (often Civitai's HTML) as plain text: tags dropped, entities decoded."""
    if not description:
        return ""
    text = _HIDDEN_ELEMENTS.sub(" ", description)
    text = _TAGS.sub("", _BREAKS.sub("\n", text))
    lines = (" ".join(html.unescape(line).split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def facts_text(adapter: AdapterOut) -> str:
    """Base model, network and resolution, as one line."""
    parts = []
    if adapter.base_model:
        parts.append(adapter.base_model)
    if adapter.network_module:
        net = adapter.network_module
        if adapter.network_dim is not None:
            net += f" dim {adapter.network_dim}"
        if adapter.network_alpha is not None:
            net += f" alpha {adapter.network_alpha:g}"
        parts.append(net)
    if adapter.resolution:
        parts.append(adapter.resolution)
    if adapter.title and adapter.title != adapter.name:
        parts.insert(0, adapter.title)
    return " · ".join(parts)
