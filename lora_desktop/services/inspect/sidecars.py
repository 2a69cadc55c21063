"""The sidecar files other tools write next to a LoRA, and its preview picture.

Four formats, read when present (never written unless the artist asks):

- ``<stem>.civitai.info``: Civitai's model-version JSON (``trainedWords``, ``baseModel``,
  ``model.name``, ``description``, ``files[].hashes``); empty or ``{}`` means "looked
  up on Civitai, not found".
- ``<stem>.metadata.json`` (ComfyUI-Lora-Manager): ``model_name``, ``base_model``,
  ``tags``, ``notes``, ``sha256``, ``usage_tips`` (JSON string with ``strength``),
  ``civitai.trainedWords``.
- ``<stem>.cm-info.json`` (Stability Matrix): ``ModelName``, ``BaseModel``,
  ``TrainedWords``, ``Tags``, ``Hashes``.
- ``<stem>.json`` (A1111 user metadata): ``activation text``, ``preferred weight``,
  ``notes``, ``sd version``, ``description``.

Precedence, per field: the artist's edits (handled by the store), then the A1111
``.json``, then Civitai data (``.civitai.info``, ``.metadata.json``, ``.cm-info.json``
in that order), then the safetensors header.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from lora_desktop.services.inspect.header_json import HeaderError, escaped_lone_surrogate
from lora_desktop.services.inspect.images import ImageProblem, image_size
from lora_desktop.services.inspect.metadata import base_model_label
from lora_desktop.services.inspect.safetensors_header import open_regular, read_exact

SIDECAR_MAX = 4 * 1024 * 1024
"""A sidecar larger than this is not read (real ones are a few KiB)."""
KINDS = ("a1111", "civitai.info", "metadata.json", "cm-info.json")
SUFFIXES = {
    "civitai.info": ".civitai.info",
    "metadata.json": ".metadata.json",
    "cm-info.json": ".cm-info.json",
    "a1111": ".json",
}
PREVIEW_SUFFIXES = tuple(
    f"{middle}.{ext}" for middle in (".preview", "") for ext in ("png", "jpg", "jpeg", "webp")
)
FIELDS = ("trigger_words", "weight", "notes", "description", "base_model", "title", "tags")


@dataclass
class Sidecars:
    """What the sidecars of one LoRA say.

    Attributes:
        files: sidecar kind → ``{"path", "size", "mtime"}`` of each file found.
        values: sidecar kind → field → value read from it.
        civitai_not_found: a ``.civitai.info`` says Civitai has no such file.
        hashes: hash name (``SHA256``, ``AutoV2``…) → value, from any sidecar.
        preview: the preview image's path, or None.
        problems: one readable line per sidecar or image that could not be used.
    """

    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    civitai_not_found: bool = False
    hashes: dict[str, str] = field(default_factory=dict)
    preview: str | None = None
    problems: list[str] = field(default_factory=list)

    def merged(self) -> dict[str, tuple[Any, str]]:
        """Each field's value and the sidecar it came from, by precedence."""
        out: dict[str, tuple[Any, str]] = {}
        for kind in KINDS:
            for name, value in self.values.get(kind, {}).items():
                if name not in out and value not in (None, "", []):
                    out[name] = (value, kind)
        return out


_ALL_SUFFIXES = (*SUFFIXES.values(), *PREVIEW_SUFFIXES)
_ENDINGS = tuple({"." + suffix.rsplit(".", 1)[1] for suffix in _ALL_SUFFIXES})

FolderIndex = dict[str, dict[str, str]]
"""A folder's sidecar and preview names by the lower-cased stem they belong to:
``{stem: {suffix: name as on disk}}`` (a name may belong to two stems: ``a.metadata.json``
is the ``.metadata.json`` of ``a`` and the A1111 ``.json`` of ``a.metadata``)."""


def folder_listing(folder: str) -> FolderIndex:
    """Index a folder's sidecars and previews by stem, names matched case-insensitively.

    One listing per folder; each LoRA then looks up its stem once instead of probing
    twelve names (empty if the folder can't be listed).
    """
    try:
        names = os.listdir(folder or ".")
    except OSError:
        return {}
    index: FolderIndex = {}
    for name in names:
        lowered = name.lower()
        if not lowered.endswith(_ENDINGS):  # most entries: the LoRA files themselves
            continue
        for suffix in _ALL_SUFFIXES:
            if lowered.endswith(suffix):
                index.setdefault(lowered[: -len(suffix)], {})[suffix] = name
    return index


def sidecar_paths(path: str, names: FolderIndex | None = None) -> dict[str, str]:
    """Sidecars and preview candidates of ``path`` present in its folder (case-insensitive).

    ``names`` is the folder's ``folder_listing`` when the caller already has it (a batch).
    In the order of ``SUFFIXES`` then ``PREVIEW_SUFFIXES``: only the names present are
    visited (registration calls this for every file).
    """
    folder, base = os.path.split(path)
    stem = os.path.splitext(base)[0].lower()
    index = folder_listing(folder) if names is None else names
    mine = index.get(stem)
    if not mine:
        return {}
    present = sorted(mine, key=_SUFFIX_RANK.__getitem__) if len(mine) > 1 else list(mine)
    return {_KIND_OF_SUFFIX[suffix]: os.path.join(folder, mine[suffix]) for suffix in present}


_KIND_OF_SUFFIX = {suffix: kind for kind, suffix in SUFFIXES.items()} | {
    suffix: f"preview{suffix}" for suffix in PREVIEW_SUFFIXES
}
_SUFFIX_RANK = {suffix: rank for rank, suffix in enumerate(_KIND_OF_SUFFIX)}


def read_json_file(path: str) -> tuple[Any, int, float]:
    """Read a small JSON file strictly; return (value, size, mtime).

    Raises:
        ValueError: unreadable, too large, not UTF-8 or not JSON (a readable message).
    """
    try:
        fd, st = open_regular(path)
    except HeaderError as exc:
        raise ValueError(exc.message) from None
    try:
        if st.st_size > SIDECAR_MAX:
            raise ValueError(f"too large ({st.st_size / 2**20:.0f} MiB); not read")
        raw = read_exact(fd, st.st_size)
    except HeaderError as exc:
        raise ValueError(exc.message) from None
    finally:
        os.close(fd)
    if not raw.strip():
        return None, st.st_size, st.st_mtime
    try:
        text = raw.decode("utf-8")
        value = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise ValueError("not valid JSON; ignored") from None
    lone = escaped_lone_surrogate(text, value)
    if lone is not None:  # a title or tag holding it could be neither stored nor shown
        raise ValueError(f"holds an escaped lone surrogate ({lone}), not text; ignored")
    return value, st.st_size, st.st_mtime


def _words(value: Any) -> list[str]:
    if isinstance(value, str):
        value = value.split(",")
    if not isinstance(value, list):
        return []
    out: list[str] = []
    for item in value:
        if isinstance(item, str):
            out.extend(w.strip() for w in item.split(",") if w.strip())
    return out


def _text(value: Any, limit: int = 100_000) -> str | None:
    return value.strip()[:limit] or None if isinstance(value, str) else None


def _weight(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number != 0 and -10 <= number <= 10 else None


def _hashes(value: Any) -> dict[str, str]:
    if not isinstance(value, dict):
        return {}
    return {str(k): v.lower() for k, v in value.items() if isinstance(v, str) and len(v) <= 128}


def _civitai_info(data: dict[str, Any], found: Sidecars) -> dict[str, Any]:
    model: dict[str, Any] = data["model"] if isinstance(data.get("model"), dict) else {}
    for item in data.get("files") or []:
        if isinstance(item, dict):
            found.hashes.update(_hashes(item.get("hashes")))
    return {
        "trigger_words": _words(data.get("trainedWords")),
        "base_model": base_model_label(_text(data.get("baseModel"), 100)),
        "title": _text(model.get("name"), 500),
        "description": _text(data.get("description")),
    }


def _lora_manager(data: dict[str, Any], found: Sidecars) -> dict[str, Any]:
    civitai: dict[str, Any] = data["civitai"] if isinstance(data.get("civitai"), dict) else {}
    tips: Any = data.get("usage_tips")
    try:
        tips = json.loads(tips) if isinstance(tips, str) else tips
    except ValueError:
        tips = None
    if isinstance(data.get("sha256"), str):
        found.hashes.setdefault("SHA256", data["sha256"].lower())
    return {
        "trigger_words": _words(civitai.get("trainedWords")),
        "base_model": base_model_label(_text(data.get("base_model"), 100)),
        "title": _text(data.get("model_name"), 500),
        "tags": _words(data.get("tags")),
        "notes": _text(data.get("notes")),
        "weight": _weight(tips.get("strength")) if isinstance(tips, dict) else None,
    }


def _stability_matrix(data: dict[str, Any], found: Sidecars) -> dict[str, Any]:
    found.hashes.update({k.upper(): v for k, v in _hashes(data.get("Hashes")).items()})
    return {
        "trigger_words": _words(data.get("TrainedWords")),
        "base_model": base_model_label(_text(data.get("BaseModel"), 100)),
        "title": _text(data.get("ModelName"), 500),
        "tags": _words(data.get("Tags")),
    }


def _a1111(data: dict[str, Any], found: Sidecars) -> dict[str, Any]:
    version = _text(data.get("sd version"), 100)
    labels = {"SD1": "SD 1.5", "SD2": "SD 2.x", "SDXL": "SDXL 1.0"}
    return {
        "trigger_words": _words(data.get("activation text")),
        "weight": _weight(data.get("preferred weight")),
        "notes": _text(data.get("notes")),
        "description": _text(data.get("description")),
        "base_model": labels.get(version or "", None if version in (None, "Unknown") else version),
    }


_READERS = {
    "civitai.info": _civitai_info,
    "metadata.json": _lora_manager,
    "cm-info.json": _stability_matrix,
    "a1111": _a1111,
}


def read_sidecars(path: str, names: FolderIndex | None = None) -> Sidecars:
    """Read every sidecar and the first usable preview of the LoRA at ``path``. Never raises."""
    found = Sidecars()
    for kind, sidecar in sidecar_paths(path, names).items():
        shown = os.path.basename(sidecar)
        if kind.startswith("preview"):
            if found.preview is None:
                try:
                    image_size(sidecar)
                    found.preview = sidecar
                except ImageProblem as exc:
                    found.problems.append(f"{shown}: {exc}")
            continue
        try:
            data, size, mtime = read_json_file(sidecar)
        except ValueError as exc:
            found.problems.append(f"{shown}: {exc}")
            continue
        found.files[kind] = {"path": sidecar, "size": size, "mtime": mtime}
        if kind == "civitai.info" and (data is None or data == {}):  # blank or {} only
            found.civitai_not_found = True
            continue
        if not isinstance(data, dict):
            if data is not None:
                found.problems.append(f"{shown}: not a JSON object; ignored")
            continue
        found.values[kind] = _READERS[kind](data, found)
    return found
