"""Concurrent read-modify-write units on one SQLite file: no "database is locked", exact count."""

from __future__ import annotations

import threading
from pathlib import Path

from lora_desktop.models.tables import Adapter
from lora_desktop.services import adapters
from lora_desktop.services.library import Library, open_library
from tests.conftest import add_adapter

THREADS = 8
UNITS = 50


def _hammer(lib: Library, adapter_id: str, errors: list[BaseException], start: threading.Barrier):
    try:
        start.wait()
        for _ in range(UNITS):
            # Read, then write what was read plus one: the race BEGIN IMMEDIATE prevents.
            with lib.db.write() as session:
                row = session.get(Adapter, adapter_id)
                assert row is not None
                row.file_size = (row.file_size or 0) + 1
    except BaseException as exc:
        errors.append(exc)


def _run(libs: list[Library], adapter_id: str) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    threads = [
        threading.Thread(target=_hammer, args=(libs[i % len(libs)], adapter_id, errors, start))
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def _reset(lib: Library, adapter_id: str) -> None:
    with lib.db.write() as session:
        row = session.get(Adapter, adapter_id)
        assert row is not None
        row.file_size = 0


def test_eight_threads_of_read_modify_write_units(library: Library, lora_dir: Path) -> None:
    counter = add_adapter(library, lora_dir, "counter").id
    _reset(library, counter)

    errors = _run([library], counter)

    assert errors == []
    assert adapters.get(library, counter).file_size == THREADS * UNITS


def test_two_engines_on_one_file_like_the_window_and_the_command_line(
    library: Library, lora_dir: Path
) -> None:
    counter = add_adapter(library, lora_dir, "counter").id
    _reset(library, counter)
    assert library.db.path is not None
    other = open_library(library.db.path)
    try:
        errors = _run([library, other], counter)
    finally:
        other.close()

    assert errors == []
    assert adapters.get(library, counter).file_size == THREADS * UNITS
