"""Soft delete keeps the row; restore brings it back unless its name or file was reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from lora_desktop.services import adapters, registration
from lora_desktop.services.compose import compose
from lora_desktop.services.errors import Conflict, NotFound
from lora_desktop.services.health import health
from lora_desktop.services.library import ChangeSet, Library
from tests.conftest import add_adapter, db_snapshot, make_lora


def test_delete_hides_the_adapter_and_restore_brings_it_back(
    library: Library, lora_dir: Path
) -> None:
    foo = add_adapter(library, lora_dir, "foo", active=True, ordinal=3, tags=["x"], weight=0.7)
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    deleted = adapters.delete_adapter(library, "foo")

    assert deleted.deleted_at is not None
    assert deleted.deleted_at.utcoffset() is not None
    with pytest.raises(NotFound):
        adapters.get(library, foo.id)
    with pytest.raises(NotFound):
        adapters.get(library, "foo")
    assert adapters.get(library, foo.id, include_deleted=True).deleted_at == deleted.deleted_at
    assert adapters.list_adapters(library).total == 0
    assert adapters.list_adapters(library, {"include_deleted": True}).total == 1
    assert (health(library).adapters, health(library).deleted) == (0, 1)
    assert compose(library).tokens == []

    restored = adapters.restore_adapter(library, foo.id)

    assert restored.deleted_at is None
    # Everything it had comes back.
    kept = ("name", "active", "ordinal", "tags", "weight", "file_path", "created_at")
    assert {k: getattr(restored, k) for k in kept} == {k: getattr(foo, k) for k in kept}
    assert compose(library).tokens == ["<lora:foo:0.7>"]
    assert (health(library).adapters, health(library).deleted) == (1, 0)
    assert changes == [ChangeSet(removed=(foo.id,)), ChangeSet(added=(foo.id,))]


def test_deleting_twice_is_not_found(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    adapters.delete_adapter(library, foo.id)
    before = db_snapshot(library)
    with pytest.raises(NotFound):
        adapters.delete_adapter(library, foo.id)
    assert db_snapshot(library) == before


def test_restoring_a_live_adapter_changes_nothing(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    before = db_snapshot(library)
    assert adapters.restore_adapter(library, foo.id) == foo
    assert db_snapshot(library) == before


def test_a_deleted_adapter_frees_its_name_and_file(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    adapters.delete_adapter(library, foo.id)

    again = registration.register(library, {"file_path": foo.file_path})

    assert again.name == "foo"
    assert again.id != foo.id


def test_restore_conflicts_when_the_name_was_reused(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    adapters.delete_adapter(library, foo.id)
    other = make_lora(lora_dir, "elsewhere.safetensors")
    registration.register(library, {"file_path": str(other), "name": "foo"})
    before = db_snapshot(library)

    with pytest.raises(Conflict) as caught:
        adapters.restore_adapter(library, foo.id)

    assert "'foo' is already used" in caught.value.detail
    assert db_snapshot(library) == before


def test_restore_conflicts_when_the_file_was_registered_again(
    library: Library, lora_dir: Path
) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    adapters.delete_adapter(library, foo.id)
    registration.register(library, {"file_path": foo.file_path, "name": "foo2"})
    before = db_snapshot(library)

    with pytest.raises(Conflict) as caught:
        adapters.restore_adapter(library, foo.id)

    assert "registered again as 'foo2'" in caught.value.detail
    assert db_snapshot(library) == before


def test_a_deleted_adapter_cannot_be_edited_or_activated(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    adapters.delete_adapter(library, foo.id)
    before = db_snapshot(library)
    with pytest.raises(NotFound):
        adapters.update_adapter(library, foo.id, {"weight": 0.2})
    with pytest.raises(NotFound):
        adapters.activate(library, foo.id)
    assert db_snapshot(library) == before
