"""Bad input gets a specific error naming its field, and the library stays exactly as it was."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from lora_desktop.services import adapters, registration
from lora_desktop.services.errors import Conflict, FileProblem, NotFound, ValidationFailed
from lora_desktop.services.health import health
from lora_desktop.services.library import Library
from tests.conftest import add_adapter, db_snapshot, make_lora

BAD_NAMES = [
    ("", "must not be empty"),
    ("   ", "must not be empty"),
    ("foo:bar", "':'"),
    ("foo<bar", "'<'"),
    ("foo>bar", "'>'"),
    ("foo\nbar", "control characters or line breaks"),
    ("foo\tbar", "control characters"),
    ("foo\x00bar", "control characters"),
    ("foo\u2028bar", "line breaks"),
    ("x" * 201, "at most 200 characters"),
]

BAD_FIELDS: list[tuple[str, Any, str]] = [
    ("weight", float("nan"), "finite"),
    ("weight", float("inf"), "finite"),
    ("weight", float("-inf"), "finite"),
    ("weight", 10.001, "between -10 and 10"),
    ("weight", -10.5, "between -10 and 10"),
    ("weight", "heavy", "number"),
    ("archetype_confidence", 1.01, "between 0 and 1"),
    ("archetype_confidence", -0.1, "between 0 and 1"),
    ("archetype_confidence", float("nan"), "between 0 and 1"),
    ("ordinal", -1, "greater than or equal to 0"),
    ("version", "v1\nv2", "control characters"),
]


@pytest.fixture
def existing(library: Library, lora_dir: Path) -> str:
    """A registered adapter: every failing call below must leave it alone."""
    return add_adapter(library, lora_dir, "existing", tags=["Style"], weight=0.5).id


def _counts(lib: Library) -> tuple[int, int, int, int]:
    h = health(lib)
    return h.adapters, h.active, h.deleted, h.pending_jobs


def _assert_unchanged(lib: Library, before: dict[str, Any], adapter_id: str, updated: Any) -> None:
    assert db_snapshot(lib) == before
    assert _counts(lib) == (1, 0, 0, 0)
    assert adapters.get(lib, adapter_id).updated_at == updated


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES)
def test_register_refuses_a_bad_name(
    library: Library, lora_dir: Path, existing: str, name: str, reason: str
) -> None:
    before = db_snapshot(library)
    updated = adapters.get(library, existing).updated_at
    path = make_lora(lora_dir, "ok.safetensors")

    with pytest.raises(ValidationFailed) as caught:
        registration.register(library, {"file_path": str(path), "name": name})

    errors = caught.value.field_errors()
    assert list(errors) == ["name"]
    assert reason in errors["name"]
    _assert_unchanged(library, before, existing, updated)


@pytest.mark.parametrize(("name", "reason"), BAD_NAMES)
def test_edit_refuses_a_bad_name(library: Library, existing: str, name: str, reason: str) -> None:
    before = db_snapshot(library)
    updated = adapters.get(library, existing).updated_at

    with pytest.raises(ValidationFailed) as caught:
        adapters.update_adapter(library, existing, {"name": name})

    assert reason in caught.value.field_errors()["name"]
    _assert_unchanged(library, before, existing, updated)


def test_a_name_of_exactly_200_characters_is_accepted(library: Library, lora_dir: Path) -> None:
    path = make_lora(lora_dir, "long.safetensors")
    assert registration.register(library, {"file_path": str(path), "name": "n" * 200}).name == (
        "n" * 200
    )


def test_a_file_stem_that_breaks_the_token_is_refused(library: Library, lora_dir: Path) -> None:
    path = make_lora(lora_dir, "a:b.safetensors")
    with pytest.raises(ValidationFailed) as caught:
        registration.register(library, {"file_path": str(path)})
    assert "name" in caught.value.field_errors()
    assert health(library).adapters == 0


@pytest.mark.parametrize(("field", "value", "reason"), BAD_FIELDS)
def test_register_refuses_a_bad_field(
    library: Library, lora_dir: Path, existing: str, field: str, value: Any, reason: str
) -> None:
    before = db_snapshot(library)
    updated = adapters.get(library, existing).updated_at
    path = make_lora(lora_dir, "ok.safetensors")

    with pytest.raises(ValidationFailed) as caught:
        registration.register(library, {"file_path": str(path), field: value})

    errors = caught.value.field_errors()
    assert list(errors) == [field]
    assert reason in errors[field]
    problem = caught.value.to_problem()
    assert problem["type"].endswith(":validation")
    assert problem["invalid_params"][0]["name"] == field
    _assert_unchanged(library, before, existing, updated)


@pytest.mark.parametrize(("field", "value", "reason"), BAD_FIELDS)
def test_edit_refuses_a_bad_field(
    library: Library, existing: str, field: str, value: Any, reason: str
) -> None:
    before = db_snapshot(library)
    updated = adapters.get(library, existing).updated_at

    with pytest.raises(ValidationFailed) as caught:
        adapters.update_adapter(library, existing, {field: value})

    assert reason in caught.value.field_errors()[field]
    _assert_unchanged(library, before, existing, updated)


@pytest.mark.parametrize("value", [-10, 10, 0, 0.333])
def test_weight_limits_are_inclusive(library: Library, existing: str, value: float) -> None:
    assert adapters.update_adapter(library, existing, {"weight": value}).weight == value


@pytest.mark.parametrize("value", [0, 1, 0.5])
def test_confidence_limits_are_inclusive(library: Library, existing: str, value: float) -> None:
    out = adapters.update_adapter(library, existing, {"archetype_confidence": value})
    assert out.archetype_confidence == value


def test_edit_refuses_clearing_a_required_field(library: Library, existing: str) -> None:
    before = db_snapshot(library)
    for field in ("name", "weight", "active", "tags", "notes"):
        with pytest.raises(ValidationFailed) as caught:
            adapters.update_adapter(library, existing, {field: None})
        assert field in caught.value.field_errors()
    assert db_snapshot(library) == before


def test_an_unknown_field_is_refused(library: Library, existing: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        adapters.update_adapter(library, existing, {"colour": "red"})
    assert "colour" in caught.value.field_errors()


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": -5}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"offset": -1}, "offset"),
        ({"order_by": "size"}, "order_by"),
        ({"order_by": "name; DROP TABLE adapters"}, "order_by"),
    ],
)
def test_listing_refuses_bad_paging_and_order(
    library: Library, existing: str, query: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        adapters.list_adapters(library, query)
    assert list(caught.value.field_errors()) == [field]
    assert adapters.list_adapters(library).total == 1


def test_listing_accepts_the_documented_maximum(library: Library, existing: str) -> None:
    page = adapters.list_adapters(library, {"limit": 1000})
    assert (page.limit, page.total) == (1000, 1)


@pytest.mark.parametrize(
    "call",
    [
        lambda lib: adapters.get(lib, "00000000-0000-4000-8000-000000000000"),
        lambda lib: adapters.get(lib, "no-such-name"),
        lambda lib: adapters.update_adapter(lib, "no-such-name", {"weight": 0.5}),
        lambda lib: adapters.delete_adapter(lib, "00000000-0000-4000-8000-000000000000"),
        lambda lib: adapters.restore_adapter(lib, "00000000-0000-4000-8000-000000000000"),
        lambda lib: adapters.restore_adapter(lib, "not-a-uuid"),
        lambda lib: adapters.activate(lib, "no-such-name"),
        lambda lib: adapters.deactivate(lib, "no-such-name"),
    ],
)
def test_an_unknown_id_is_not_found(library: Library, existing: str, call: Any) -> None:
    before = db_snapshot(library)
    with pytest.raises(NotFound) as caught:
        call(library)
    assert caught.value.to_problem()["type"].endswith(":not-found")
    assert db_snapshot(library) == before


def test_a_duplicate_name_is_a_conflict_on_name(
    library: Library, lora_dir: Path, existing: str
) -> None:
    other = add_adapter(library, lora_dir, "other")
    before = db_snapshot(library)
    path = make_lora(lora_dir, "third.safetensors")

    with pytest.raises(Conflict) as on_register:
        registration.register(library, {"file_path": str(path), "name": "existing"})
    with pytest.raises(Conflict) as on_edit:
        adapters.update_adapter(library, other.id, {"name": "existing"})

    for caught in (on_register, on_edit):
        assert "'existing' is already used" in caught.value.detail
        assert caught.value.field_errors().keys() == {"name"}
    assert db_snapshot(library) == before


def test_renaming_to_its_own_name_is_no_conflict(library: Library, existing: str) -> None:
    assert adapters.update_adapter(library, existing, {"name": "existing"}).name == "existing"


def test_an_already_registered_path_is_a_conflict_on_file_path(
    library: Library, lora_dir: Path, existing: str
) -> None:
    before = db_snapshot(library)
    path = lora_dir / "existing.safetensors"
    # The same file reached through another spelling of its path.
    spelled = f"{lora_dir}/./sub/../existing.safetensors"
    (lora_dir / "sub").mkdir()

    for given in (str(path), spelled):
        with pytest.raises(Conflict) as caught:
            registration.register(library, {"file_path": given, "name": "another"})
        assert "already registered as 'existing'" in caught.value.detail
        assert caught.value.field_errors().keys() == {"file_path"}
    assert db_snapshot(library) == before


def _file_problem(library: Library, path: str | Path) -> FileProblem:
    with pytest.raises(FileProblem) as caught:
        registration.register(library, {"file_path": str(path)})
    assert caught.value.field_errors().keys() == {"file_path"}
    assert caught.value.to_problem()["type"].endswith(":file-problem")
    return caught.value


def test_file_problems_name_the_file_and_change_nothing(
    library: Library, lora_dir: Path, existing: str
) -> None:
    before = db_snapshot(library)
    wrong = make_lora(lora_dir, "notes.txt")
    folder = lora_dir / "folder.safetensors"
    folder.mkdir()
    broken = lora_dir / "broken.safetensors"
    broken.symlink_to(lora_dir / "gone.safetensors")

    assert "does not exist" in _file_problem(library, lora_dir / "absent.safetensors").detail
    assert "is a folder" in _file_problem(library, folder).detail
    assert "is a folder" in _file_problem(library, lora_dir).detail
    message = _file_problem(library, wrong).detail
    assert "not a LoRA file" in message
    assert ".txt" in message
    assert ".safetensors" in message
    assert "broken symbolic link" in _file_problem(library, broken).detail
    assert db_snapshot(library) == before


def test_a_device_is_not_a_regular_file(library: Library, tmp_path: Path) -> None:
    link = tmp_path / "device.safetensors"
    link.symlink_to("/dev/null")
    assert "not a regular file" in _file_problem(library, link).detail


def test_an_unreadable_file_is_refused(
    library: Library, lora_dir: Path, existing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Root may read anything, so the denial is simulated at the one call that asks.
    path = make_lora(lora_dir, "locked.safetensors")
    real_access = os.access

    def access(target: Any, mode: int, **kwargs: Any) -> bool:
        if os.fspath(target) == str(path) and mode & os.R_OK:
            return False
        return real_access(target, mode, **kwargs)

    monkeypatch.setattr(registration.os, "access", access)
    before = db_snapshot(library)

    assert "not readable" in _file_problem(library, path).detail
    assert db_snapshot(library) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a file whatever its mode")
def test_an_unreadable_file_is_refused_for_real(library: Library, lora_dir: Path) -> None:
    path = make_lora(lora_dir, "locked.safetensors")
    path.chmod(0)
    assert "not readable" in _file_problem(library, path).detail
    assert health(library).adapters == 0
