"""The filter proxy: what it shows after any sequence of changes, and what stays selected."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QItemSelectionModel, Qt
from PySide6.QtWidgets import QTableView

from lora_desktop.services import adapters
from lora_desktop.services.library import Library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.adapter_filter import AdapterFilterProxy
from lora_desktop.ui.adapter_list_model import COL_NAME, COL_WEIGHT, AdapterListModel
from tests.conftest import make_lora

pytestmark = pytest.mark.gui

NAMES = ["anna", "annabel", "bob", "bobby", "carla", "dana", "danny", "ann-2"]


@pytest.fixture
def model(library: Library, lora_dir: Path) -> AdapterListModel:
    for name in NAMES:
        make_lora(lora_dir, name)
    register_many(library, [lora_dir])
    ids = {r.name: r.id for r in adapters.list_rows(library)}
    adapters.update_adapter(library, ids["annabel"], {"tags": ["style"], "active": True})
    adapters.update_adapter(library, ids["bobby"], {"tags": ["style"]})
    adapters.update_adapter(library, ids["danny"], {"active": True})
    adapters.reorder(library, [ids[n] for n in NAMES])
    built = AdapterListModel(library)
    built.load()
    library.subscribe(built.apply_changes)
    return built


def shown(proxy: AdapterFilterProxy) -> list[str]:
    return [proxy.index(r, COL_NAME).data() for r in range(proxy.rowCount())]


def fresh(model: AdapterListModel, search: str, active: bool, tag: str) -> list[str]:
    """What a proxy made for this filter alone shows."""
    proxy = AdapterFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter(search, active, tag)
    return shown(proxy)


def test_typing_on_and_erasing_shows_what_a_fresh_filter_shows(model: AdapterListModel) -> None:
    proxy = AdapterFilterProxy()
    proxy.setSourceModel(model)
    steps = [
        ("a", False, ""),
        ("an", False, ""),
        ("ann", False, ""),
        ("anna", False, ""),
        ("annab", False, ""),
        ("anna", False, ""),  # erasing widens again
        ("an", False, ""),
        ("an", True, ""),  # active only narrows
        ("an", True, "style"),
        ("an", False, "style"),  # and widens
        ("", False, "style"),
        ("b y", False, ""),  # two words
        ("b", False, ""),
        ("", False, ""),
        ("zzz", False, ""),
        ("", False, ""),
    ]
    for search, active, tag in steps:
        proxy.set_filter(search, active, tag)
        assert shown(proxy) == fresh(model, search, active, tag), (search, active, tag)
    assert shown(proxy) == NAMES


def test_a_row_that_stops_matching_leaves_and_one_that_starts_joins(
    model: AdapterListModel, library: Library
) -> None:
    proxy = AdapterFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter(active_only=True)
    assert shown(proxy) == ["annabel", "danny"]
    adapters.deactivate(library, model.row_at(NAMES.index("danny")).id)
    assert shown(proxy) == ["annabel"]
    adapters.activate(library, model.row_at(NAMES.index("carla")).id)
    assert shown(proxy) == ["annabel", "carla"]
    # A change that keeps the row matching updates it in place.
    adapters.update_adapter(library, model.row_at(NAMES.index("carla")).id, {"weight": 0.25})
    assert proxy.index(1, COL_WEIGHT).data() == "0.25"


def test_selection_and_current_row_follow_their_adapter(
    model: AdapterListModel, qtbot: object
) -> None:
    proxy = AdapterFilterProxy()
    proxy.setSourceModel(model)
    view = QTableView()
    view.setModel(proxy)
    selection = view.selectionModel()
    bobby = proxy.index(NAMES.index("bobby"), COL_NAME)
    flags = QItemSelectionModel.SelectionFlag.ClearAndSelect
    selection.setCurrentIndex(bobby, flags | QItemSelectionModel.SelectionFlag.Rows)
    proxy.set_filter(search="b")
    current = view.currentIndex()
    assert current.data() == "bobby"
    assert current.row() == shown(proxy).index("bobby") == 2  # annabel, bob, bobby
    assert [i.data() for i in selection.selectedRows(COL_NAME)] == ["bobby"]
    proxy.set_filter(search="anna")  # bobby hidden: nothing selected
    assert selection.selectedRows(COL_NAME) == []
    proxy.set_filter(search="")
    assert proxy.index(3, COL_NAME).data(Qt.ItemDataRole.DisplayRole) == "bobby"
