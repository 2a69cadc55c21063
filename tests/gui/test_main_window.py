"""The main window: object names, keyboard, editing, compose and copy, state, the lock."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices, QGuiApplication
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.qtbot import QtBot

from lora_desktop.app import create_main_window
from lora_desktop.services import adapters
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library, open_library
from lora_desktop.services.registration import register_many
from lora_desktop.ui.adapter_rows import COL_NAME, COL_TAGS
from lora_desktop.ui.instance_lock import LibraryAlreadyOpen
from lora_desktop.ui.main_window import MainWindow
from tests.conftest import make_lora
from tests.gui.conftest import WindowFactory, activate

pytestmark = pytest.mark.gui

OBJECT_NAMES = [
    "adapterList", "searchField", "activeOnlyToggle", "detailEditor", "nameEdit",
    "versionEdit", "tagsEdit", "triggerWordsEdit", "weightSpin", "activeCheck", "ordinalSpin",
    "notesEdit", "saveButton", "revertButton", "composePanel", "prefixEdit", "suffixEdit",
    "includeTriggersCheck", "composedPrompt", "copyButton",
]  # fmt: skip


@pytest.fixture
def three(library: Library, lora_dir: Path) -> Library:
    """Adapters ant, bee, cat in that order; bee has a trigger word."""
    for name in ("ant", "bee", "cat"):
        make_lora(lora_dir, name)
    register_many(library, [lora_dir])
    adapters.update_adapter(library, "bee", {"trigger_words": ["buzzing"], "weight": 0.5})
    adapters.reorder(library, [adapters.get(library, n).id for n in ("ant", "bee", "cat")])
    return library


def child(window: MainWindow, name: str) -> QWidget:
    found = window.findChild(QWidget, name)
    assert found is not None, name
    return found


def test_object_names_are_stable(open_window: WindowFactory) -> None:
    window = open_window()
    assert window.objectName() == "MainWindow"
    for name in OBJECT_NAMES:
        child(window, name)


def test_empty_library_shows_the_drop_hint(open_window: WindowFactory) -> None:
    window = open_window()
    assert window.model.rowCount() == 0
    assert "Drop LoRA files or folders here" in window.list_view._empty_hint
    assert "0 adapters" in window.counts_label.text()


def test_space_toggles_active_and_compose_follows(
    open_window: WindowFactory, three: Library, qtbot: QtBot
) -> None:
    window = open_window()
    window.select_adapter(adapters.get(three, "bee").id)
    window.list_view.setFocus()
    qtbot.keyClick(window.list_view, Qt.Key.Key_Space)
    assert adapters.get(three, "bee").active is True
    qtbot.waitUntil(lambda: window.compose_panel.prompt == "<lora:bee:0.5> buzzing")
    prompt_view = child(window, "composedPrompt")
    assert prompt_view.toPlainText() == "<lora:bee:0.5> buzzing"
    assert prompt_view.isReadOnly()
    assert "1 active" in window.counts_label.text()
    qtbot.keyClick(window.list_view, Qt.Key.Key_Space)
    assert adapters.get(three, "bee").active is False
    qtbot.waitUntil(lambda: window.compose_panel.prompt == "")


def test_compose_options_and_copy_fill_the_clipboard(
    open_window: WindowFactory, three: Library, qtbot: QtBot
) -> None:
    adapters.activate(three, "bee")
    adapters.activate(three, "ant")
    window = open_window()
    panel = window.compose_panel
    qtbot.keyClicks(child(window, "prefixEdit"), "masterpiece")
    child(window, "suffixEdit").setText("night")
    child(window, "includeTriggersCheck").setChecked(False)
    expected = "masterpiece <lora:ant:1> <lora:bee:0.5> night"
    qtbot.waitUntil(lambda: panel.prompt == expected)
    assert panel.tokens == ["<lora:ant:1>", "<lora:bee:0.5>"]
    assert panel.token_list.count() == 2
    QGuiApplication.clipboard().clear()
    qtbot.mouseClick(child(window, "copyButton"), Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == expected
    assert "Copied" in window.statusBar().currentMessage()
    # Ctrl+Shift+C from anywhere in the window (here: the search field).
    QGuiApplication.clipboard().clear()
    child(window, "includeTriggersCheck").setChecked(True)
    activate(qtbot, window)
    window.search_field.setFocus()
    qtbot.keyClick(
        window.search_field,
        Qt.Key.Key_C,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert (
        QGuiApplication.clipboard().text()
        == "masterpiece <lora:ant:1> <lora:bee:0.5> buzzing night"
    )
    QGuiApplication.clipboard().clear()


def test_delete_then_undo_restores(
    open_window: WindowFactory, three: Library, qtbot: QtBot
) -> None:
    window = open_window()
    cat = adapters.get(three, "cat").id
    window.select_adapter(cat)
    window.list_view.setFocus()
    qtbot.keyClick(window.list_view, Qt.Key.Key_Delete)
    with pytest.raises(DomainError):
        adapters.get(three, "cat")
    qtbot.waitUntil(lambda: window.model.row_of(cat) < 0)
    assert window.model.rowCount() == 2
    activate(qtbot, window)
    qtbot.keyClick(window.list_view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert adapters.get(three, "cat").deleted_at is None
    qtbot.waitUntil(lambda: window.model.row_of(cat) == 2)


def test_search_field_filters_and_ctrl_f_focuses_it(
    open_window: WindowFactory, three: Library, qtbot: QtBot
) -> None:
    window = open_window()
    activate(qtbot, window)
    window.list_view.setFocus()
    qtbot.keyClick(window.list_view, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert window.focusWidget() is window.search_field
    qtbot.keyClicks(window.search_field, "BUZZ")
    shown = [window.proxy.index(r, COL_NAME).data() for r in range(window.proxy.rowCount())]
    assert shown == ["bee"]
    assert "1 shown" in window.counts_label.text()
    window.search_field.clear()
    adapters.activate(window.library, "cat")  # the window hears its own library's changes
    qtbot.waitUntil(lambda: window.model.counts()[1] == 1)
    child(window, "activeOnlyToggle").click()
    assert window.proxy.rowCount() == 1


def test_enter_focuses_the_editor(open_window: WindowFactory, three: Library, qtbot: QtBot) -> None:
    window = open_window()
    window.select_adapter(adapters.get(three, "ant").id)
    activate(qtbot, window)
    window.list_view.setFocus()
    qtbot.keyClick(window.list_view, Qt.Key.Key_Return)
    assert window.focusWidget() is child(window, "nameEdit")


def test_edit_and_save(open_window: WindowFactory, three: Library, qtbot: QtBot) -> None:
    window = open_window()
    window.select_adapter(adapters.get(three, "ant").id)
    editor = window.editor
    assert editor.name_edit.text() == "ant"
    assert not editor.save_button.isEnabled()
    editor.name_edit.clear()
    qtbot.keyClicks(editor.name_edit, "ant_v2")
    editor.version_edit.setText("2.0")
    editor.tags_edit.setText("Style, insects, style")
    editor.trigger_words_edit.setPlainText("six legs\nant queen")
    editor.weight_spin.setValue(0.75)
    assert editor.weight_slider.value() == 75
    editor.weight_slider.setValue(60)
    assert editor.weight_spin.value() == pytest.approx(0.6)
    editor.notes_edit.setPlainText("<b>not bold</b>")
    assert editor.save_button.isEnabled()
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    stored = adapters.get(three, "ant_v2")
    assert stored.version == "2.0"
    assert stored.tags == ["style", "insects"]
    assert stored.trigger_words == ["six legs", "ant queen"]
    assert stored.weight == pytest.approx(0.6)
    assert stored.notes == "<b>not bold</b>"
    assert not editor.save_button.isEnabled()
    qtbot.waitUntil(lambda: window.model.row_at(0).name == "ant_v2")
    # Revert puts back what is stored.
    editor.version_edit.setText("3")
    qtbot.mouseClick(editor.revert_button, Qt.MouseButton.LeftButton)
    assert editor.version_edit.text() == "2.0"


@pytest.mark.parametrize(
    ("field", "widget", "value"),
    [
        ("name", "nameEdit", "bad:name"),
        ("name", "nameEdit", "x" * 10_000),
        ("tags", "tagsEdit", "t" * 150),
    ],
)
def test_validation_error_beside_its_field_nothing_saved(
    open_window: WindowFactory, three: Library, field: str, widget: str, value: str
) -> None:
    window = open_window()
    window.select_adapter(adapters.get(three, "cat").id)
    before = adapters.get(three, "cat")
    child(window, widget).setText(value)
    window.editor.weight_spin.setValue(0.3)
    assert not window.editor.save()
    error = window.findChild(QLabel, f"{field}Error")
    assert error is not None
    assert error.isVisible()
    assert error.text()
    assert error.textFormat() == Qt.TextFormat.PlainText
    assert window.editor.error_text(field) == error.text()
    assert adapters.get(three, "cat") == before  # nothing saved, not even the weight


def test_name_clash_shown_beside_name(open_window: WindowFactory, three: Library) -> None:
    window = open_window()
    window.select_adapter(adapters.get(three, "cat").id)
    window.editor.name_edit.setText("ant")
    assert not window.editor.save()
    assert "already used" in window.editor.error_text("name")


def test_odd_names_display_elided_and_plain(
    open_window: WindowFactory, library: Library, lora_dir: Path, qtbot: QtBot
) -> None:
    make_lora(lora_dir, "plain")
    make_lora(lora_dir, "rtl")
    register_many(library, [lora_dir])
    window = open_window()
    view = window.list_view
    height = view.sizeHintForRow(0)
    emoji = "🎨 brush ✨ " + "long " * 36  # near the 200-character limit
    rtl = "فن الرسم بالألوان المائية"
    lib = window.library
    adapters.update_adapter(lib, "plain", {"name": emoji.strip(), "tags": ["<b>x</b>"]})
    adapters.update_adapter(lib, "rtl", {"name": rtl, "notes": "<a href='http://x'>x</a>"})
    qtbot.waitUntil(lambda: {r.name for r in window.model.rows} == {emoji.strip(), rtl})
    assert view.sizeHintForRow(0) == height
    assert view.sizeHintForRow(1) == height
    assert view.textElideMode() == Qt.TextElideMode.ElideRight
    window.select_adapter(adapters.get(library, rtl).id)
    title = window.editor.title
    assert title.text() == rtl
    assert title.textFormat() == Qt.TextFormat.PlainText
    assert window.editor.notes_edit.toPlainText() == "<a href='http://x'>x</a>"
    window.select_adapter(adapters.get(library, emoji.strip()).id)
    assert window.editor.tags_edit.text() == "<b>x</b>"
    emoji_id = adapters.get(lib, emoji.strip()).id
    tooltip = window.model.index_of(emoji_id, COL_TAGS).data(Qt.ItemDataRole.ToolTipRole)
    assert "&lt;b&gt;x&lt;/b&gt;" in tooltip


class _UrlCatcher(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url)


def test_show_in_folder_opens_the_file_folder(
    open_window: WindowFactory, three: Library, lora_dir: Path
) -> None:
    window = open_window()
    window.select_adapter(adapters.get(three, "ant").id)
    assert window.editor.file_path_edit.isReadOnly()
    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    try:
        window.editor.show_folder_button.click()
    finally:
        QDesktopServices.unsetUrlHandler("file")
    assert [u.toLocalFile() for u in catcher.urls] == [str(lora_dir)]


def test_window_state_is_restored(open_window: WindowFactory, three: Library) -> None:
    adapters.update_adapter(three, "bee", {"tags": ["insect"]})
    first = open_window()
    first.tag_filter.setCurrentIndex(first.tag_filter.findData("insect"))
    assert first.proxy.tag == "insect"
    first.resize(720, 540)  # within the offscreen screen (800x600)
    first.layout().activate()  # the splitter takes the new width before we move it
    first.main_splitter.setSizes([420, 296])  # both above their minimum widths
    first.search_field.setText("bee")
    first.active_only_toggle.setChecked(True)
    first.compose_panel.prefix_edit.setText("portrait")
    sizes = first.main_splitter.sizes()
    first.close()
    second = open_window()
    assert second.size().width() == 720
    assert second.size().height() == 540
    assert second.main_splitter.sizes() == sizes
    assert second.search_field.text() == "bee"
    assert second.active_only_toggle.isChecked()
    assert second.proxy.search == "bee"
    assert second.proxy.active_only
    assert second.compose_panel.prefix_edit.text() == "portrait"
    assert second.tag_filter.currentData() == "insect"
    assert second.proxy.tag == "insect"


def test_second_window_on_the_same_library_is_refused(
    open_window: WindowFactory, db_path: Path
) -> None:
    first = open_window()
    with pytest.raises(LibraryAlreadyOpen) as refused:
        create_main_window(db_path)
    assert "already open" in refused.value.detail
    assert refused.value.to_problem()["title"] == "Library already open"
    first.close()
    again = open_window()  # the lock went with the first window
    assert again.isVisible()


def test_drag_in_the_view_reorders_and_persists(
    open_window: WindowFactory, three: Library, db_path: Path, qtbot: QtBot
) -> None:
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent
    from PySide6.QtWidgets import QAbstractItemView

    window = open_window()
    view = window.list_view
    # A synthetic drop has no source widget, which InternalMove requires.
    view.setDragDropMode(QAbstractItemView.DragDropMode.DragDrop)
    data = window.proxy.mimeData([window.proxy.index(2, COL_NAME)])  # cat
    target = view.visualRect(window.proxy.index(0, COL_NAME))
    point = QPointF(target.center().x(), target.top() + 2)  # the upper edge of "ant"
    args = (
        Qt.DropAction.MoveAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    at = point.toPoint()  # the drag events take a QPoint, the drop a QPointF
    for event in (QDragEnterEvent(at, *args), QDragMoveEvent(at, *args)):
        QApplication.sendEvent(view.viewport(), event)
        assert event.isAccepted()
    drop = QDropEvent(point, *args)
    QApplication.sendEvent(view.viewport(), drop)
    assert [window.model.row_at(i).name for i in range(3)] == ["cat", "ant", "bee"]
    window.close()
    lib = open_library(db_path)
    try:
        assert [r.name for r in adapters.list_rows(lib)] == ["cat", "ant", "bee"]
    finally:
        lib.close()
