"""The change-set broadcast after each committed change, and problem details of every error."""

from __future__ import annotations

from pathlib import Path

import pytest

from lora_desktop.services import adapters
from lora_desktop.services.errors import (
    Conflict,
    FileProblem,
    InvalidParam,
    LibraryUnavailable,
    NotFound,
    ValidationFailed,
)
from lora_desktop.services.library import ChangeSet, Library
from tests.conftest import add_adapter


def test_an_edit_is_broadcast_and_says_when_the_order_changed(
    library: Library, lora_dir: Path
) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)

    adapters.update_adapter(library, foo.id, {"weight": 0.3})
    adapters.update_adapter(library, foo.id, {"ordinal": 2})
    adapters.update_adapter(library, foo.id, {"name": "renamed"})

    assert changes == [
        ChangeSet(updated=(foo.id,)),
        ChangeSet(updated=(foo.id,), reordered=True),
        ChangeSet(updated=(foo.id,), reordered=True),
    ]


def test_a_failed_call_broadcasts_nothing(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    changes: list[ChangeSet] = []
    library.subscribe(changes.append)
    with pytest.raises(ValidationFailed):
        adapters.update_adapter(library, foo.id, {"weight": 99})
    with pytest.raises(NotFound):
        adapters.delete_adapter(library, "nope")
    assert changes == []


def test_a_failing_listener_neither_breaks_the_call_nor_the_others(
    library: Library, lora_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    foo = add_adapter(library, lora_dir, "foo")
    seen: list[ChangeSet] = []

    def broken(changes: ChangeSet) -> None:
        raise RuntimeError("listener bug")

    library.subscribe(broken)
    library.subscribe(seen.append)

    out = adapters.update_adapter(library, foo.id, {"weight": 0.5})

    assert out.weight == 0.5
    assert seen == [ChangeSet(updated=(foo.id,))]
    assert "change listener failed" in caplog.text


def test_unsubscribe_stops_the_broadcast(library: Library, lora_dir: Path) -> None:
    seen: list[ChangeSet] = []
    library.subscribe(seen.append)
    library.unsubscribe(seen.append)
    add_adapter(library, lora_dir, "foo")
    assert seen == []


def test_an_empty_change_set_is_falsy_and_not_broadcast(library: Library) -> None:
    seen: list[ChangeSet] = []
    library.subscribe(seen.append)
    library.publish(ChangeSet())
    assert not ChangeSet()
    assert seen == []


@pytest.mark.parametrize(
    ("error", "slug", "title"),
    [
        (NotFound("no adapter 'x'"), "not-found", "Not found"),
        (Conflict("name taken", [InvalidParam("name", "taken")]), "conflict", "Conflict"),
        (FileProblem("/x is a folder"), "file-problem", "File problem"),
        (ValidationFailed.field("weight", "must be finite"), "validation", "Invalid input"),
        (LibraryUnavailable("Database path is a folder", "/x is a folder"), "library-unavailable",
         "Database path is a folder"),
    ],
)  # fmt: skip
def test_every_error_renders_problem_details(error: Exception, slug: str, title: str) -> None:
    problem = error.to_problem()  # type: ignore[attr-defined]
    assert problem["type"] == f"urn:lora-desktop:problem:{slug}"
    assert problem["title"] == title
    assert problem["detail"] == str(error)
    params = problem.get("invalid_params", [])
    assert all(set(p) == {"name", "reason"} for p in params)


def test_validation_problem_names_each_field() -> None:
    from lora_desktop.models.schemas import AdapterPatch
    from lora_desktop.services.convert import validate

    with pytest.raises(ValidationFailed) as caught:
        validate(AdapterPatch, {"weight": float("nan"), "archetype_confidence": 3})
    problem = caught.value.to_problem()
    assert [p["name"] for p in problem["invalid_params"]] == ["weight", "archetype_confidence"]
    assert problem["detail"] == (
        "weight: must be a finite number; archetype_confidence: must be between 0 and 1"
    )
