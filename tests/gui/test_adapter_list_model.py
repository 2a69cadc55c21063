"""The adapter list model and its filter: Qt's model rules, roles, reordering, filtering."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QModelIndex, Qt
from pytestqt.qtbot import QtBot

from lora_desktop.services import adapters
from lora_desktop.services.library import Library, open_library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.adapter_filter import AdapterFilterProxy
from lora_desktop.ui.adapter_list_model import ID_ROLE, AdapterListModel
from lora_desktop.ui.adapter_rows import COL_NAME, COL_TAGS, COL_WEIGHT, MIME_IDS, encode_ids
from tests.conftest import make_lora

pytestmark = pytest.mark.gui

NAMES = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot"]


@pytest.fixture
def filled(library: Library, lora_dir: Path) -> Library:
    """Six adapters, alpha..foxtrot, in that order, with tags on some."""
    for name in NAMES:
        make_lora(lora_dir, name)
    register_many(library, [lora_dir])
    ids = {r.name: r.id for r in adapters.list_rows(library)}
    adapters.update_adapter(library, ids["bravo"], {"tags": ["style"], "weight": 0.5})
    adapters.update_adapter(library, ids["delta"], {"tags": ["style", "anime"]})
    adapters.update_adapter(library, ids["echo"], {"trigger_words": ["glowing eyes"]})
    adapters.reorder(library, [ids[n] for n in NAMES])
    return library


def names_of(model: AdapterListModel | AdapterFilterProxy) -> list[str]:
    return [model.index(r, COL_NAME).data() for r in range(model.rowCount())]


def saved_order(db_path: Path) -> list[str]:
    """The compose order as stored, read through a fresh connection."""
    lib = open_library(db_path)
    try:
        return [r.name for r in adapters.list_rows(lib)]
    finally:
        lib.close()


def ids_mime(model: AdapterListModel, *names: str) -> QMimeData:
    data = QMimeData()
    by_name = {r.name: r.id for r in model.rows}
    data.setData(MIME_IDS, encode_ids(by_name[n] for n in names))
    return data


def test_model_passes_qt_model_tester(filled: Library, qtmodeltester) -> None:
    model = AdapterListModel(filled)
    model.load()
    qtmodeltester.check(model)
    proxy = AdapterFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter(search="a")
    qtmodeltester.check(proxy)


def test_rows_show_name_check_weight_tags(filled: Library) -> None:
    model = AdapterListModel(filled)
    model.load()
    assert names_of(model) == NAMES
    bravo = model.index(1, COL_NAME)
    assert bravo.data(Qt.ItemDataRole.DisplayRole) == "bravo"
    assert bravo.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert model.index(1, COL_WEIGHT).data() == "0.5"
    assert model.index(3, COL_TAGS).data() == "style, anime"
    assert model.flags(bravo) & Qt.ItemFlag.ItemIsUserCheckable


def test_check_box_activates_through_services(filled: Library, db_path: Path) -> None:
    model = AdapterListModel(filled)
    model.load()
    index = model.index(2, COL_NAME)
    assert model.setData(index, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert adapters.get(filled, "charlie").active is True
    assert model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert adapters.get(filled, "charlie").active is False


def test_reorder_by_drop_mime_data_persists(filled: Library, db_path: Path, qtbot: QtBot) -> None:
    model = AdapterListModel(filled)
    model.load()
    data = ids_mime(model, "echo")
    assert model.canDropMimeData(data, Qt.DropAction.MoveAction, 1, 0, QModelIndex())
    with qtbot.waitSignal(model.order_saved):
        assert model.dropMimeData(data, Qt.DropAction.MoveAction, 1, 0, QModelIndex())
    expected = ["alpha", "echo", "bravo", "charlie", "delta", "foxtrot"]
    assert names_of(model) == expected
    filled.close()
    assert saved_order(db_path) == expected


def test_reorder_by_move_rows_persists(filled: Library, db_path: Path, qtbot: QtBot) -> None:
    model = AdapterListModel(filled)
    model.load()
    # Move bravo+charlie to the end.
    with qtbot.waitSignal(model.order_saved):
        assert model.moveRows(QModelIndex(), 1, 2, QModelIndex(), 6)
    expected = ["alpha", "delta", "echo", "foxtrot", "bravo", "charlie"]
    assert names_of(model) == expected
    assert saved_order(db_path) == expected
    # Moving onto itself is a no-op Qt would refuse: the model says so.
    assert not model.moveRows(QModelIndex(), 0, 1, QModelIndex(), 1)
    assert saved_order(db_path) == expected


def test_multi_row_drag_moves_rows_together(filled: Library, db_path: Path, qtbot: QtBot) -> None:
    model = AdapterListModel(filled)
    model.load()
    view_order = ["bravo", "delta"]  # a non-contiguous selection
    data = model.mimeData([model.index(NAMES.index(n), COL_NAME) for n in view_order])
    with qtbot.waitSignal(model.order_saved):
        assert model.dropMimeData(data, Qt.DropAction.MoveAction, 0, 0, QModelIndex())
    expected = ["bravo", "delta", "alpha", "charlie", "echo", "foxtrot"]
    assert names_of(model) == expected
    assert saved_order(db_path) == expected


def test_filtered_reorder_moves_relative_to_visible_neighbours(
    filled: Library, db_path: Path, qtbot: QtBot
) -> None:
    model = AdapterListModel(filled)
    model.load()
    proxy = AdapterFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter(tag="style")
    assert names_of(proxy) == ["bravo", "delta"]
    # Drop delta above bravo in the filtered view: delta lands just before bravo.
    data = proxy.mimeData([proxy.index(1, COL_NAME)])
    with qtbot.waitSignal(model.order_saved):
        assert proxy.dropMimeData(data, Qt.DropAction.MoveAction, 0, 0, QModelIndex())
    assert names_of(proxy) == ["delta", "bravo"]
    expected = ["alpha", "delta", "bravo", "charlie", "echo", "foxtrot"]
    assert names_of(model) == expected
    assert saved_order(db_path) == expected


def test_quick_drags_then_close_keep_the_last_order(filled: Library, db_path: Path) -> None:
    model = AdapterListModel(filled)
    model.load()
    # Three drags faster than their saves, then the window closes at once.
    assert model.moveRows(QModelIndex(), 5, 1, QModelIndex(), 0)  # foxtrot to the top
    assert model.moveRows(QModelIndex(), 5, 1, QModelIndex(), 1)  # echo after it
    assert model.moveRows(QModelIndex(), 5, 1, QModelIndex(), 2)  # delta after echo
    expected = ["foxtrot", "echo", "delta", "alpha", "bravo", "charlie"]
    assert names_of(model) == expected
    model.shutdown()
    filled.close()
    assert saved_order(db_path) == expected


def test_a_refused_save_says_so_and_shows_the_stored_order(
    filled: Library, db_path: Path, qtbot: QtBot
) -> None:
    model = AdapterListModel(filled)
    model.load()
    filled.subscribe(model.apply_changes)
    # Another process deletes charlie; this window has not heard of it yet.
    other = open_library(db_path)
    adapters.delete_adapter(other, adapters.get(other, "charlie").id)
    other.close()
    with qtbot.waitSignal(model.error_occurred) as refused:
        assert model.moveRows(QModelIndex(), 4, 1, QModelIndex(), 0)  # echo to the top
    assert refused.args[0].startswith("The new order was not saved")
    assert "charlie" in refused.args[0] or "no live adapter" in refused.args[0]
    # The list goes back to what the library holds: the old order, without charlie.
    stored = ["alpha", "bravo", "delta", "echo", "foxtrot"]
    qtbot.waitUntil(lambda: names_of(model) == stored)
    assert saved_order(db_path) == stored


def test_search_filters_name_tags_and_trigger_words(filled: Library) -> None:
    model = AdapterListModel(filled)
    model.load()
    proxy = AdapterFilterProxy()
    proxy.setSourceModel(model)
    proxy.set_filter(search="ECHO")
    assert names_of(proxy) == ["echo"]
    proxy.set_filter(search="glowing")
    assert names_of(proxy) == ["echo"]
    proxy.set_filter(search="style")
    assert names_of(proxy) == ["bravo", "delta"]
    proxy.set_filter(search="style anime")
    assert names_of(proxy) == ["delta"]
    proxy.set_filter(search="")
    adapters.activate(filled, "foxtrot")
    model.reload()
    proxy.set_filter(active_only=True)
    assert names_of(proxy) == ["foxtrot"]


def test_model_follows_library_changes(filled: Library, lora_dir: Path, qtbot: QtBot) -> None:
    model = AdapterListModel(filled)
    model.load()
    filled.subscribe(model.apply_changes)
    adapters.update_adapter(filled, "charlie", {"weight": 0.25})
    assert model.index(2, COL_WEIGHT).data() == "0.25"
    adapters.delete_adapter(filled, "alpha")
    assert names_of(model)[0] == "bravo"
    make_lora(lora_dir, "golf")
    register_many(filled, [lora_dir / "golf.safetensors"])
    assert "golf" in names_of(model)
    assert model.index(0, COL_NAME).data(ID_ROLE) == adapters.get(filled, "bravo").id


@pytest.mark.parametrize("weight", [0.75, 1.0, 1 / 3, -0.5, 0.0, -0.0004, 2.0005, 10.0])
def test_weight_column_writes_weights_like_the_token(weight: float) -> None:
    from lora_desktop.services.compose import format_weight as token_weight
    from lora_desktop.ui.adapter_rows import format_weight

    assert format_weight(weight) == token_weight(weight)


def test_save_order_keeps_unlisted_ordinals_after_the_listed(filled: Library) -> None:
    from lora_desktop.services.ordering import save_order

    ids = {r.name: r.id for r in adapters.list_rows(filled)}
    changed = save_order(filled, [ids["foxtrot"], ids["charlie"]])
    assert set(changed) >= {ids["foxtrot"], ids["charlie"]}
    order = [r.name for r in adapters.list_rows(filled)]
    assert order == ["foxtrot", "charlie", "alpha", "bravo", "delta", "echo"]
    assert [r.ordinal for r in adapters.list_rows(filled)] == [0, 1, 2, 3, 4, 5]
    assert save_order(filled, [ids[n] for n in order]) == []  # nothing to write


def test_a_big_change_reloads_the_rows_off_the_gui_thread(
    qtbot: QtBot, library: Library, lora_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A hash run's results (hundreds of updated ids) never make the GUI thread wait."""
    import threading

    from sqlalchemy import update

    from lora_desktop.models.tables import Adapter
    from lora_desktop.services.library import ChangeSet
    from lora_desktop.ui import adapter_list_model

    for i in range(250):
        make_lora(lora_dir, f"lora{i:03d}")
    register_many(library, [lora_dir])
    model = AdapterListModel(library)
    model.load()
    assert model.rowCount() == 250
    with library.db.write() as session:  # as a hash run would: no broadcast yet
        session.execute(update(Adapter).values(weight=0.25))
    threads: list[threading.Thread] = []
    real_list_rows = adapter_list_model.adapter_service.list_rows

    def recording_list_rows(lib: Library) -> list[adapters.AdapterRow]:
        threads.append(threading.current_thread())
        return real_list_rows(lib)

    monkeypatch.setattr(adapter_list_model.adapter_service, "list_rows", recording_list_rows)
    model.apply_changes(ChangeSet(updated=tuple(r.id for r in model.rows)))
    qtbot.waitUntil(lambda: all(r.weight == 0.25 for r in model.rows), timeout=5000)
    assert threads
    assert all(t is not threading.main_thread() for t in threads)
    model.shutdown()
