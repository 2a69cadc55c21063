"""Shared test set-up: offscreen Qt, a temporary library per test, no user settings touched."""

from __future__ import annotations

import os

# Before any QApplication exists: tests never need a display.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator
from pathlib import Path

import pytest

from lora_desktop.models.schemas import AdapterOut
from lora_desktop.services.library import Library, open_library


@pytest.fixture(autouse=True)
def _isolated_environment(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Keep every test away from the user's library, data and settings folders."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    monkeypatch.delenv("LORA_DESKTOP_DATABASE", raising=False)
    monkeypatch.delenv("DATABASE_URL", raising=False)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Where the test's library file lives (a real file: tests may cross threads)."""
    return tmp_path / "db" / "library.sqlite3"


@pytest.fixture
def library(db_path: Path) -> Iterator[Library]:
    """An open, empty library on a temporary SQLite file."""
    lib = open_library(db_path)
    try:
        yield lib
    finally:
        lib.close()


@pytest.fixture
def lora_dir(tmp_path: Path) -> Path:
    """A folder for the test's LoRA files."""
    folder = tmp_path / "loras"
    folder.mkdir()
    return folder


def make_lora(folder: Path, name: str, content: bytes = b"\x00" * 16) -> Path:
    """Write a small file with a LoRA extension (the content is opaque to registration)."""
    path = folder / name
    if path.suffix == "":
        path = path.with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return path


def add_adapter(lib: Library, folder: Path, name: str, **fields: object) -> AdapterOut:
    """Register a new file ``<name>.safetensors`` in ``folder`` as ``name``, with ``fields``."""
    from lora_desktop.services.registration import register

    path = make_lora(folder, f"{name}.safetensors", name.encode() + b"\x00" * 8)
    return register(lib, {"file_path": str(path), "name": name, **fields})


def db_snapshot(lib: Library) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every library table, in a stable order: compare two to prove nothing changed."""
    from sqlalchemy import text

    tables = ("adapters", "adapter_tags", "delivery_jobs", "alembic_version")
    with lib.db.engine.connect() as connection:
        return {
            table: sorted(
                (tuple(row) for row in connection.execute(text(f"SELECT * FROM {table}"))), key=repr
            )
            for table in tables
        }
