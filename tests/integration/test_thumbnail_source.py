"""The thumbnail column's lookup: the file path and the inline thumbnail, nothing else."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

from lora_desktop.services import adapters, registration
from lora_desktop.services.library import Library
from lora_desktop.services.thumbnail_source import thumbnail_source
from tests.inspect_files import kohya_metadata, write_safetensors

# A real 1x1 PNG, as modelspec writers embed one.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)


def _register(library: Library, folder: Path, name: str, **extra: str) -> str:
    path = write_safetensors(folder / f"{name}.safetensors", kohya_metadata(**extra))
    registration.register(library, {"file_path": str(path)})
    return adapters.get(library, name).id


def test_the_inline_thumbnail_and_the_path(library: Library, lora_dir: Path) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    inline = _register(library, lora_dir, "inline", **{"modelspec.thumbnail": url})
    plain = _register(library, lora_dir, "plain")
    remote = _register(
        library, lora_dir, "remote", **{"modelspec.thumbnail": "https://example.com/x.png"}
    )
    assert thumbnail_source(library, inline) == (str(lora_dir / "inline.safetensors"), PNG)
    assert thumbnail_source(library, plain) == (str(lora_dir / "plain.safetensors"), None)
    # A value that names something elsewhere is never fetched.
    assert thumbnail_source(library, remote) == (str(lora_dir / "remote.safetensors"), None)


def test_no_source_for_a_deleted_or_unknown_adapter(library: Library, lora_dir: Path) -> None:
    gone = _register(library, lora_dir, "gone")
    adapters.delete_adapter(library, gone)
    assert thumbnail_source(library, gone) is None
    assert thumbnail_source(library, "no-such-id") is None


def test_metadata_the_database_cannot_read_gives_no_thumbnail(
    library: Library, lora_dir: Path, db_path: Path
) -> None:
    broken = _register(library, lora_dir, "broken")
    raw = sqlite3.connect(db_path)
    with raw:
        raw.execute(
            "UPDATE adapter_details SET training_metadata = '{not json' WHERE adapter_id = ?",
            (broken,),
        )
    raw.close()
    assert thumbnail_source(library, broken) is None  # logged; the list shows no picture
