"""Activate (idempotent, optional ordinal), deactivate, and reorder."""

from __future__ import annotations

from pathlib import Path

import pytest

from lora_desktop.services import adapters
from lora_desktop.services.adapters import activate, list_rows
from lora_desktop.services.errors import NotFound, ValidationFailed
from lora_desktop.services.library import ChangeSet, Library
from lora_desktop.services.ordering import save_order
from lora_desktop.services.registration import register_many
from tests.conftest import add_adapter, db_snapshot, make_lora


def _ordinals(lib: Library) -> dict[str, int | None]:
    return {a.name: a.ordinal for a in adapters.list_adapters(lib, {"order_by": "name"}).items}


def test_activate_is_idempotent(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    first = adapters.activate(library, "foo")
    second = adapters.activate(library, foo.id)

    assert first.active
    assert second.active
    assert first.updated_at > foo.updated_at
    assert second.updated_at == first.updated_at
    assert adapters.get(library, foo.id).updated_at == first.updated_at
    assert changes == [ChangeSet(updated=(foo.id,))]  # the no-op told no one


def test_activate_without_ordinal_keeps_the_ordinal(library: Library, lora_dir: Path) -> None:
    placed = add_adapter(library, lora_dir, "placed", ordinal=4)
    fresh = add_adapter(library, lora_dir, "fresh")

    assert adapters.activate(library, placed.id).ordinal == 4
    assert adapters.activate(library, fresh.id).ordinal is None


def test_activate_with_an_ordinal_sets_it(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo", active=True, ordinal=1)
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    out = adapters.activate(library, foo.id, ordinal=7)
    again = adapters.activate(library, foo.id, ordinal=7)

    assert (out.active, out.ordinal) == (True, 7)
    assert again.updated_at == out.updated_at
    assert changes == [ChangeSet(updated=(foo.id,), reordered=True)]


def test_activate_with_a_bad_ordinal_changes_nothing(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    before = db_snapshot(library)
    with pytest.raises(ValidationFailed) as caught:
        adapters.activate(library, foo.id, ordinal=-1)
    assert "ordinal" in caught.value.field_errors()
    assert db_snapshot(library) == before


def test_deactivate_is_idempotent_and_keeps_the_ordinal(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo", active=True, ordinal=2)

    first = adapters.deactivate(library, "foo")
    second = adapters.deactivate(library, "foo")

    assert (first.active, first.ordinal) == (False, 2)
    assert second.updated_at == first.updated_at > foo.updated_at
    assert adapters.list_adapters(library, {"active": True}).total == 0


@pytest.fixture
def stack(library: Library, lora_dir: Path) -> dict[str, str]:
    """a, b, c with ordinals 0, 1, 2; d and e without one."""
    ids = {}
    for name, ordinal in (("a", 0), ("b", 1), ("c", 2), ("d", None), ("e", None)):
        ids[name] = add_adapter(library, lora_dir, name, ordinal=ordinal).id
    return ids


def test_reorder_puts_the_listed_first_and_the_rest_follow(
    library: Library, stack: dict[str, str]
) -> None:
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    out = adapters.reorder(library, [stack["c"], "e"])

    assert [(a.name, a.ordinal) for a in out] == [("c", 0), ("e", 1)]
    # a and b had ordinals: they follow in their previous order; d had none and keeps none.
    assert _ordinals(library) == {"a": 2, "b": 3, "c": 0, "d": None, "e": 1}
    assert changes == [ChangeSet(updated=(stack["c"], stack["e"]), reordered=True)]


def test_reorder_of_the_whole_stack(library: Library, stack: dict[str, str]) -> None:
    adapters.reorder(library, ["e", "d", "c", "b", "a"])
    assert _ordinals(library) == {"e": 0, "d": 1, "c": 2, "b": 3, "a": 4}


def test_reorder_leaves_unchanged_rows_untouched(library: Library, stack: dict[str, str]) -> None:
    before = {a.name: a.updated_at for a in adapters.list_adapters(library).items}
    adapters.reorder(library, ["a", "b"])
    after = {a.name: a.updated_at for a in adapters.list_adapters(library).items}
    assert after == before


def test_reorder_then_compose_order(library: Library, stack: dict[str, str]) -> None:
    from lora_desktop.services.compose import compose

    for name in stack:
        adapters.activate(library, name)
    adapters.reorder(library, ["d", "b"])
    assert compose(library).tokens == [f"<lora:{n}:1>" for n in ("d", "b", "a", "c", "e")]


@pytest.mark.parametrize(
    ("refs", "error", "field"),
    [
        (["a", "b", "a"], ValidationFailed, "ids"),
        (["a", "A-missing"], NotFound, None),
        ([], ValidationFailed, "ids"),
    ],
)
def test_reorder_refuses_bad_lists_and_changes_nothing(
    library: Library, stack: dict[str, str], refs: list[str], error: type[Exception], field: str
) -> None:
    before = db_snapshot(library)
    with pytest.raises(error) as caught:
        adapters.reorder(library, refs)
    if field is not None:
        assert isinstance(caught.value, ValidationFailed)
        assert field in caught.value.field_errors()
    assert db_snapshot(library) == before


def test_reorder_by_id_and_name_of_the_same_adapter_is_a_duplicate(
    library: Library, stack: dict[str, str]
) -> None:
    with pytest.raises(ValidationFailed):
        adapters.reorder(library, [stack["a"], "a"])


def test_reorder_refuses_a_deleted_adapter(library: Library, stack: dict[str, str]) -> None:
    adapters.delete_adapter(library, "b")
    with pytest.raises(NotFound):
        adapters.reorder(library, [stack["b"]])


def _register_many_named(library: Library, lora_dir: Path, count: int) -> list[str]:
    for i in range(count):
        make_lora(lora_dir, f"a{i:03d}")
    register_many(library, [lora_dir])
    return [row.id for row in list_rows(library)]


def test_save_order_moves_a_block_by_range_and_keeps_exact_ordinals(
    library: Library, lora_dir: Path
) -> None:
    """A drag from the middle to the top shifts a long block: every ordinal ends exact."""
    ids = _register_many_named(library, lora_dir, 120)
    save_order(library, ids)  # ordinals 0..119 in name order
    moved = ids.pop(80)
    ids.insert(3, moved)  # rows 3..79 shift by one: a run long enough for one UPDATE
    changed = save_order(library, ids)
    assert set(changed) == set(ids[3:81])
    assert [row.id for row in list_rows(library)] == ids
    assert [row.ordinal for row in list_rows(library)] == list(range(120))


def test_save_order_with_repeated_ordinals_writes_row_by_row(
    library: Library, lora_dir: Path
) -> None:
    """Ordinals repeated by the command line keep a range from catching a stray row."""
    ids = _register_many_named(library, lora_dir, 80)
    save_order(library, ids)
    stray = ids[-1]
    activate(library, stray, ordinal=10)  # two rows now have ordinal 10
    order = [i for i in ids if i != stray]
    order.insert(0, order.pop(70))  # old 9..69 shift by two: the longest run
    order.insert(10, stray)  # ...and the stray keeps ordinal 10, inside that range
    save_order(library, order)
    assert [row.id for row in list_rows(library)] == order
    assert [row.ordinal for row in list_rows(library)] == list(range(80))
