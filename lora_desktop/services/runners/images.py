"""Saving the images a runtime returned into the artist's output folder."""

from __future__ import annotations

import os
import re
import uuid
from datetime import UTC, datetime
from pathlib import Path

from lora_desktop.services.runners import png

FORMATS = ((png.SIGNATURE, ".png"), (b"\xff\xd8\xff", ".jpg"), (b"RIFF", ".webp"))
UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def extension(data: bytes) -> str | None:
    """The file extension for an image's bytes (PNG, JPEG, WebP), or None."""
    for magic, ext in FORMATS:
        if data.startswith(magic):
            return ext
    return None


def batch_stem() -> str:
    """A file-name prefix unique to one delivery: UTC time and a short random part."""
    return f"{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"


def save_image(folder: Path, stem: str, data: bytes, parameters: str | None) -> Path:
    """Write ``data`` as ``folder/stem.ext``; a PNG keeps ``parameters`` in its text.

    The file appears complete or not at all (written beside, then renamed).

    Raises:
        ValueError: the bytes are not a PNG, JPEG or WebP image.
        OSError: the folder cannot be written.
    """
    ext = extension(data)
    if ext is None:
        raise ValueError("the runtime returned something that is not a PNG, JPEG or WebP image")
    if ext == ".png" and parameters is not None:
        data = png.with_text(data, "parameters", parameters)
    folder.mkdir(parents=True, exist_ok=True)
    safe = UNSAFE.sub("_", stem).strip("._") or "image"
    target = folder / f"{safe}{ext}"
    counter = 1
    while target.exists():
        target = folder / f"{safe}-{counter}{ext}"
        counter += 1
    partial = target.with_name(f".{target.name}.part")
    partial.write_bytes(data)
    os.replace(partial, target)
    return target
