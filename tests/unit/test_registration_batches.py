"""Bulk registration announces its first rows at once, then now and then."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from lora_desktop.services import gil_handoff, registration
from lora_desktop.services.adapters import list_rows
from lora_desktop.services.library import ChangeSet, Library
from tests.conftest import make_lora


def test_the_first_small_batch_is_announced_before_the_rest_is_read(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registration, "FIRST_BATCH_SIZE", 2)
    monkeypatch.setattr(registration, "BATCH_SIZE", 3)
    for i in range(9):
        make_lora(lora_dir, f"lora_{i}")
    seen: list[tuple[int, int]] = []  # (ids announced, rows in the library then)

    def listener(changes: ChangeSet) -> None:
        seen.append((len(changes.added), len(list_rows(library))))

    library.subscribe(listener)
    report = registration.register_many(library, [lora_dir])
    assert report.added == 9
    # The first 2 were announced when only they were committed; the other 7 (batches
    # of 3, 3 and 1, well within a second) together at the end.
    assert seen == [(2, 2), (7, 9)]


def test_later_batches_are_announced_at_most_once_a_second(
    library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registration, "FIRST_BATCH_SIZE", 1)
    monkeypatch.setattr(registration, "BATCH_SIZE", 1)
    monkeypatch.setattr(registration, "PUBLISH_INTERVAL_S", 0.0)  # every batch, then
    for i in range(4):
        make_lora(lora_dir, f"lora_{i}")
    announced: list[tuple[str, ...]] = []
    library.subscribe(lambda changes: announced.append(changes.added))
    registration.register_many(library, [lora_dir])
    assert [len(ids) for ids in announced] == [1, 1, 1, 1]
    assert len({i for ids in announced for i in ids}) == 4  # each id once


def test_the_gil_changes_hands_quickly_during_an_import_and_as_before_after(
    library: Library, lora_dir: Path
) -> None:
    make_lora(lora_dir, "one")
    before = sys.getswitchinterval()
    during: list[float] = []
    registration.register_many(
        library, [lora_dir], progress=lambda *_: during.append(sys.getswitchinterval())
    )
    assert during[-1] <= gil_handoff.GIL_SWITCH_S < before
    assert sys.getswitchinterval() == before
