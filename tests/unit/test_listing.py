"""Listing: paging totals, active/tag/search filters, order_by variants."""

from __future__ import annotations

from pathlib import Path

import pytest

from lora_desktop.services import adapters
from lora_desktop.services.library import Library
from tests.conftest import add_adapter


def _names(lib: Library, **query: object) -> list[str]:
    return [a.name for a in adapters.list_adapters(lib, query).items]


def test_paging_reports_the_total_of_every_match(library: Library, lora_dir: Path) -> None:
    for i in range(7):
        add_adapter(library, lora_dir, f"lora{i}")

    pages = [adapters.list_adapters(library, {"limit": 3, "offset": o}) for o in (0, 3, 6, 9)]

    assert [p.total for p in pages] == [7, 7, 7, 7]
    assert [(p.limit, p.offset) for p in pages] == [(3, 0), (3, 3), (3, 6), (3, 9)]
    assert [len(p.items) for p in pages] == [3, 3, 1, 0]
    seen = [a.name for p in pages for a in p.items]
    assert seen == [f"lora{i}" for i in range(7)]


def test_defaults_are_a_page_of_50_from_the_start(library: Library, lora_dir: Path) -> None:
    page = adapters.list_adapters(library)
    assert (page.items, page.total, page.limit, page.offset) == ([], 0, 50, 0)


def test_active_filter_and_total(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "on1", active=True)
    add_adapter(library, lora_dir, "on2", active=True)
    add_adapter(library, lora_dir, "off")

    on = adapters.list_adapters(library, {"active": True, "limit": 1})
    assert (on.total, [a.name for a in on.items]) == (2, ["on1"])
    assert _names(library, active=False) == ["off"]
    assert _names(library, active=None) == ["off", "on1", "on2"]


def test_tag_filter_is_normalised(library: Library, lora_dir: Path) -> None:
    tagged = add_adapter(library, lora_dir, "a", tags=["  Anime   Style ", "anime style", "Cat"])
    add_adapter(library, lora_dir, "b", tags=["anime"])
    add_adapter(library, lora_dir, "c")

    assert tagged.tags == ["anime style", "cat"]
    for given in ("anime style", "ANIME STYLE", "  anime\tstyle  "):
        page = adapters.list_adapters(library, {"tag": given})
        assert ([a.name for a in page.items], page.total) == (["a"], 1)
    assert _names(library, tag="anime") == ["b"]  # whole tags only, not prefixes
    assert _names(library, tag="dog") == []


def test_search_matches_name_tags_and_version(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "CyberCity", version="v2-XL", tags=["night"])
    add_adapter(library, lora_dir, "forest", version="v1", tags=["nature", "day"])
    add_adapter(library, lora_dir, "portrait", tags=["face"], trigger_words=["freckles"])

    assert _names(library, search="cyber") == ["CyberCity"]  # name, case-insensitive
    assert _names(library, search="NATURE") == ["forest"]  # tag
    assert _names(library, search="xl") == ["CyberCity"]  # version
    assert _names(library, search="freckles") == ["portrait"]  # trigger word
    assert _names(library, search="v") == ["CyberCity", "forest"]


def test_several_search_words_must_all_match(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "cyber-night", tags=["city"])
    add_adapter(library, lora_dir, "cyber-day", tags=["city"])
    add_adapter(library, lora_dir, "night-forest")

    assert _names(library, search="cyber night") == ["cyber-night"]
    assert _names(library, search="  night   cyber ") == ["cyber-night"]
    assert _names(library, search="city cyber") == ["cyber-day", "cyber-night"]
    assert _names(library, search="cyber moon") == []
    page = adapters.list_adapters(library, {"search": "cyber", "limit": 1})
    assert page.total == 2
    assert _names(library, search="   ") == ["cyber-day", "cyber-night", "night-forest"]


def test_percent_and_underscore_are_literal(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "100%_real")
    add_adapter(library, lora_dir, "1000-fake")
    add_adapter(library, lora_dir, "a_b")
    add_adapter(library, lora_dir, "axb")
    add_adapter(library, lora_dir, "back\\slash")

    assert _names(library, search="%") == ["100%_real"]
    assert _names(library, search="100%") == ["100%_real"]
    assert _names(library, search="_") == ["100%_real", "a_b"]
    assert _names(library, search="a_b") == ["a_b"]
    assert _names(library, search="\\") == ["back\\slash"]


def test_filters_combine(library: Library, lora_dir: Path) -> None:
    add_adapter(library, lora_dir, "cat-on", tags=["pet"], active=True)
    add_adapter(library, lora_dir, "cat-off", tags=["pet"])
    add_adapter(library, lora_dir, "dog-on", tags=["pet"], active=True)
    add_adapter(library, lora_dir, "cat-wild", active=True)

    page = adapters.list_adapters(library, {"active": True, "tag": "pet", "search": "cat"})
    assert ([a.name for a in page.items], page.total) == (["cat-on"], 1)


@pytest.fixture
def ordered(library: Library, lora_dir: Path) -> Library:
    """Four adapters whose name, weight, ordinal and creation orders all differ."""
    add_adapter(library, lora_dir, "charlie", weight=0.2, ordinal=1)
    add_adapter(library, lora_dir, "alpha", weight=0.9)
    add_adapter(library, lora_dir, "delta", weight=-1.0, ordinal=0)
    add_adapter(library, lora_dir, "bravo", weight=0.5)
    return library


@pytest.mark.parametrize(
    ("order_by", "expected"),
    [
        ("compose", ["delta", "charlie", "alpha", "bravo"]),
        ("name", ["alpha", "bravo", "charlie", "delta"]),
        ("-name", ["delta", "charlie", "bravo", "alpha"]),
        ("weight", ["delta", "charlie", "bravo", "alpha"]),
        ("-weight", ["alpha", "bravo", "charlie", "delta"]),
        ("created_at", ["charlie", "alpha", "delta", "bravo"]),
        ("-created_at", ["bravo", "delta", "alpha", "charlie"]),
        ("ordinal", ["delta", "charlie", "alpha", "bravo"]),  # no ordinal: last, by name
        ("-ordinal", ["charlie", "delta", "alpha", "bravo"]),
    ],
)
def test_order_by(ordered: Library, order_by: str, expected: list[str]) -> None:
    assert _names(ordered, order_by=order_by) == expected


def test_order_by_updated_at_follows_the_last_edit(ordered: Library) -> None:
    adapters.update_adapter(ordered, "alpha", {"notes": "touched"})
    assert _names(ordered, order_by="updated_at")[-1] == "alpha"
    assert _names(ordered, order_by="-updated_at")[0] == "alpha"


def test_the_default_order_is_the_compose_order(ordered: Library) -> None:
    assert _names(ordered) == _names(ordered, order_by="compose")


def test_an_adapter_object_has_the_contract_fields(library: Library, lora_dir: Path) -> None:
    added = add_adapter(library, lora_dir, "foo", version="v1", tags=["x"])
    item = adapters.list_adapters(library).items[0]
    assert item == added
    assert set(item.model_dump()) >= {
        "id",
        "name",
        "version",
        "tags",
        "file_path",
        "weight",
        "active",
        "ordinal",
        "archetype",
        "archetype_confidence",
        "created_at",
        "updated_at",
    }
