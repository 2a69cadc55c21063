"""Shared set-up of the watcher tests: a library folder, a running watch loop, metadata."""

from __future__ import annotations

from pathlib import Path

from lora_desktop.models.schemas import AdapterOut
from lora_desktop.services import adapters
from lora_desktop.services.library import Library

SETTLE = 0.2
TIMEOUT = 15.0

METADATA = {
    "tags": ["style", "ink"],
    "weight": 0.65,
    "notes": "my favourite",
    "active": True,
    "ordinal": 3,
}


def write_metadata(lib: Library, ref: str) -> AdapterOut:
    """Write the artist's metadata that every test checks afterwards."""
    name = adapters.get(lib, ref).name
    return adapters.update_adapter(lib, ref, {"name": f"{name}-mine", **METADATA})


def assert_metadata_kept(lib: Library, adapter_id: str, name: str) -> AdapterOut:
    """The artist's metadata survived whatever the disk did."""
    adapter = adapters.get(lib, adapter_id)
    assert adapter.name == name
    assert adapter.tags == METADATA["tags"]
    assert adapter.weight == METADATA["weight"]
    assert adapter.notes == METADATA["notes"]
    assert adapter.active is True
    assert adapter.ordinal == METADATA["ordinal"]
    return adapter


def lora_bytes(seed: str, size: int = 4096) -> bytes:
    """Distinct content per seed (the registration doesn't parse it)."""
    head = seed.encode()
    return head + bytes((i * 7 + len(head)) % 251 for i in range(size - len(head)))


def write(path: Path, seed: str, size: int = 4096) -> Path:
    """Write a LoRA-named file atomically enough for a test (one write)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(lora_bytes(seed, size))
    return path


def registered(lib: Library, path: Path, name: str) -> str:
    """Register ``path`` as ``name``, write the artist's metadata; return the id."""
    from lora_desktop.services.registration import register

    adapter = register(lib, {"file_path": str(path), "name": name})
    write_metadata(lib, adapter.id)
    return adapter.id


def path_of(lib: Library, adapter_id: str) -> str:
    """The adapter's current file path."""
    return adapters.get(lib, adapter_id).file_path


def status_of(lib: Library, adapter_id: str) -> str:
    """The adapter's current file status."""
    return adapters.get(lib, adapter_id).file_status
