"""Composition: order, de-duplication, weight formatting, templates, prefix/suffix, triggers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lora_desktop.models.tables import Adapter
from lora_desktop.services import adapters
from lora_desktop.services.compose import compose, format_weight
from lora_desktop.services.errors import ValidationFailed
from lora_desktop.services.library import Library
from tests.conftest import add_adapter, db_snapshot


def _set_column(lib: Library, adapter_id: str, **values: object) -> None:
    """Set columns no service writes yet (sha256, file_status) directly, in one write unit."""
    with lib.db.write() as session:
        row = session.get(Adapter, adapter_id)
        assert row is not None
        for key, value in values.items():
            setattr(row, key, value)


def test_seed_example(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True, ordinal=0)
    add_adapter(library, lora_dir, "bar", weight=0.5, active=True, ordinal=1)

    result = compose(library, {"prefix": "masterprompt"})

    assert result.prompt == "masterprompt <lora:foo:0.75> <lora:bar:0.5>"
    assert result.tokens == ["<lora:foo:0.75>", "<lora:bar:0.5>"]
    assert result.warnings == []
    assert result.delivery is None


def test_order_is_ordinal_then_name_and_unordered_adapters_come_last(
    library: Library, lora_dir: Path
) -> None:
    add_adapter(library, lora_dir, "alpha", active=True)  # no ordinal
    add_adapter(library, lora_dir, "zeta", active=True, ordinal=5)
    add_adapter(library, lora_dir, "beta", active=True, ordinal=1)
    add_adapter(library, lora_dir, "aardvark", active=True, ordinal=1)  # ties with beta
    add_adapter(library, lora_dir, "omega", active=True)  # no ordinal
    add_adapter(library, lora_dir, "first", active=True, ordinal=0)

    tokens = compose(library).tokens

    names = [t.split(":")[1] for t in tokens]
    assert names == ["first", "aardvark", "beta", "zeta", "alpha", "omega"]


def test_order_is_deterministic_across_calls(library: Library, lora_dir: Path) -> None:
    for name in ("c", "a", "b"):
        add_adapter(library, lora_dir, name, active=True, ordinal=3)
    first = compose(library).prompt
    assert first == "<lora:a:1> <lora:b:1> <lora:c:1>"
    assert compose(library).prompt == first


def test_identical_content_gives_one_token_with_the_highest_weight(
    library: Library, lora_dir: Path
) -> None:
    foo = add_adapter(library, lora_dir, "foo", weight=0.4, active=True, ordinal=0)
    other = add_adapter(library, lora_dir, "other", weight=0.7, active=True, ordinal=1)
    copy = add_adapter(library, lora_dir, "foo-copy", weight=0.9, active=True, ordinal=2)
    low = add_adapter(library, lora_dir, "foo-low", weight=0.1, active=True, ordinal=3)
    for adapter in (foo, copy, low):
        _set_column(library, adapter.id, sha256="ab" * 32)
    _set_column(library, other.id, sha256="cd" * 32)

    result = compose(library)

    # One token at the first one's place, the highest weight of the three.
    assert result.tokens == ["<lora:foo:0.9>", "<lora:other:0.7>"]
    assert result.prompt == "<lora:foo:0.9> <lora:other:0.7>"
    assert any("foo-copy" in w and "same content" in w for w in result.warnings)
    assert any("foo-low" in w for w in result.warnings)


def test_unknown_hashes_are_never_merged(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "a", active=True)
    add_adapter(library, lora_dir, "b", active=True)
    assert compose(library).tokens == ["<lora:a:1>", "<lora:b:1>"]


@pytest.mark.parametrize(
    ("weight", "text"),
    [
        (0.75, "0.75"),
        (1, "1"),
        (1.0, "1"),
        (1 / 3, "0.333"),
        (2 / 3, "0.667"),
        (-0.5, "-0.5"),
        (0.1235, "0.123" if round(0.1235, 3) == 0.123 else "0.124"),
        (-0.0004, "0"),
        (0.0004, "0"),
        (-0.0006, "-0.001"),
        (0.1 + 0.2, "0.3"),
        (10, "10"),
        (-10, "-10"),
        (2.5, "2.5"),
        (0.05, "0.05"),
        (1e-12, "0"),
    ],
)
def test_weight_formatting(weight: float, text: str) -> None:
    assert format_weight(weight) == text


def test_formatted_weight_reaches_the_token(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "third", weight=1 / 3, active=True, ordinal=0)
    add_adapter(library, lora_dir, "neg", weight=-0.5, active=True, ordinal=1)
    add_adapter(library, lora_dir, "tiny", weight=-0.0004, active=True, ordinal=2)
    assert compose(library).tokens == ["<lora:third:0.333>", "<lora:neg:-0.5>", "<lora:tiny:0>"]


@pytest.mark.parametrize(
    "template",
    [
        "<lora:{weight}>",  # no {name}
        "plain text",  # no placeholder at all
        "<lora:{{name}}:{weight}>",  # escaped braces are not a placeholder
        "<lora:{name}:{strength}>",  # unknown placeholder
        "<lora:{name}:{}>",  # positional
        "<lora:{name}:{0}>",  # positional by index
        "<lora:{name.upper}:{weight}>",  # attribute access
        "<lora:{name}:{weight:.2f}>",  # format spec
        "<lora:{name!r}:{weight}>",  # conversion
        "<lora:{name:{weight}>",  # unbalanced: missing }
        "<lora:{name}}:{weight}>",  # unbalanced: stray }
        "<lora:name}:{weight}>",  # unbalanced: stray } only
        "<lora:{name",  # unterminated
    ],
)
def test_bad_template_is_a_validation_error_on_template(
    library: Library, lora_dir: Path, template: str
) -> None:
    add_adapter(library, lora_dir, "foo", active=True)
    before = db_snapshot(library)

    with pytest.raises(ValidationFailed) as caught:
        compose(library, {"template": template})

    assert list(caught.value.field_errors()) == ["template"]
    assert caught.value.to_problem()["invalid_params"][0]["name"] == "template"
    assert db_snapshot(library) == before


def test_custom_template(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True, ordinal=0)
    add_adapter(library, lora_dir, "bar", weight=0.5, active=True, ordinal=1)

    assert compose(library, {"template": "({name}:{weight})"}).prompt == "(foo:0.75) (bar:0.5)"
    # {weight} is optional; {name} may repeat.
    assert compose(library, {"template": "<lora:{name}> {name}"}).tokens == [
        "<lora:foo> foo",
        "<lora:bar> bar",
    ]


def test_prefix_and_suffix_are_joined_by_single_spaces_and_empty_parts_skipped(
    library: Library, lora_dir: Path
) -> None:
    assert compose(library, {"prefix": "masterprompt", "suffix": "best"}).prompt == (
        "masterprompt best"
    )
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True)

    assert compose(library, {"prefix": "  a cat ", "suffix": " night  "}).prompt == (
        "a cat <lora:foo:0.75> night"
    )
    assert compose(library, {"prefix": "", "suffix": "night"}).prompt == "<lora:foo:0.75> night"
    assert compose(library, {"prefix": "   ", "suffix": ""}).prompt == "<lora:foo:0.75>"


def test_trigger_words_follow_their_token_when_included(library: Library, lora_dir: Path) -> None:
    add_adapter(
        library,
        lora_dir,
        "foo",
        weight=0.75,
        active=True,
        ordinal=0,
        trigger_words=["red hair", "smile"],
    )
    add_adapter(library, lora_dir, "bar", weight=0.5, active=True, ordinal=1)

    on = compose(library, {"prefix": "masterprompt", "include_trigger_words": True})
    off = compose(library, {"prefix": "masterprompt", "include_trigger_words": False})

    assert on.prompt == "masterprompt <lora:foo:0.75> red hair, smile <lora:bar:0.5>"
    assert on.tokens == ["<lora:foo:0.75>", "<lora:bar:0.5>"]
    assert off.prompt == "masterprompt <lora:foo:0.75> <lora:bar:0.5>"
    assert off.tokens == on.tokens


def test_without_trigger_words_the_option_changes_nothing(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "foo", weight=0.75, active=True, ordinal=0)
    add_adapter(library, lora_dir, "bar", weight=0.5, active=True, ordinal=1)
    seed = "masterprompt <lora:foo:0.75> <lora:bar:0.5>"
    for include in (True, False):
        request = {"prefix": "masterprompt", "include_trigger_words": include}
        assert compose(library, request).prompt == seed


def test_deleted_and_inactive_adapters_are_left_out(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "kept", active=True, ordinal=2)
    add_adapter(library, lora_dir, "idle", active=False, ordinal=0)
    gone = add_adapter(library, lora_dir, "gone", active=True, ordinal=1)
    off = add_adapter(library, lora_dir, "off", active=True, ordinal=3)
    adapters.delete_adapter(library, gone.id)
    adapters.deactivate(library, off.id)

    assert compose(library).tokens == ["<lora:kept:1>"]


def test_no_active_adapter_warns_and_gives_prefix_and_suffix(library: Library) -> None:
    result = compose(library, {"prefix": "masterprompt", "suffix": "end"})
    assert result.prompt == "masterprompt end"
    assert result.tokens == []
    assert len(result.warnings) == 1
    assert "no active adapters" in result.warnings[0]


def test_a_missing_file_is_composed_with_a_warning(library: Library, lora_dir: Path) -> None:
    foo = add_adapter(library, lora_dir, "foo", active=True)
    _set_column(library, foo.id, file_status="missing")
    result = compose(library)
    assert result.tokens == ["<lora:foo:1>"]
    assert result.warnings == ["foo: its file is missing"]


def test_compose_with_a_delivery_enqueues_a_pending_job(library: Library, lora_dir: Path) -> None:
    from lora_desktop.services.deliveries import get_job

    add_adapter(library, lora_dir, "foo", weight=0.75, active=True)
    result = compose(
        library,
        {"prefix": "p", "delivery": {"mode": "http", "url": "http://127.0.0.1:9/x"}},
    )
    assert result.delivery is not None
    assert result.delivery.status == "pending"
    job = get_job(library, result.delivery.id)
    assert job.prompt == "p <lora:foo:0.75>"
    assert job.mode == "http"


def test_compose_with_a_bad_delivery_enqueues_nothing(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "foo", active=True)
    before = db_snapshot(library)
    with pytest.raises(ValidationFailed) as caught:
        compose(library, {"delivery": {"mode": "http", "url": "ftp://example.org"}})
    assert "url" in caught.value.field_errors()
    assert db_snapshot(library) == before
