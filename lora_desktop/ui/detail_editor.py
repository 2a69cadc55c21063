"""The detail editor: every editable field of the selected adapter, Save and Revert.

Values go to ``services.adapters.update_adapter`` as a patch of the fields that
changed. A validation error comes back per field and is shown under that field;
nothing is saved then (the services validate before they write).
"""

from __future__ import annotations

import logging
import os
from datetime import datetime
from typing import Any

from PySide6.QtCore import QSignalBlocker, Qt, QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.schemas import ORDINAL_MAX, WEIGHT_MAX, WEIGHT_MIN, AdapterOut
from lora_desktop.services import adapters as adapter_service
from lora_desktop.services.errors import Conflict, DomainError, NotFound
from lora_desktop.services.library import Library
from lora_desktop.ui.dangerous_confirm import ask_activate_dangerous
from lora_desktop.ui.inspection_pane import InspectionPane

log = logging.getLogger(__name__)

SLIDER_SCALE = 100  # the slider moves in hundredths of a weight unit
NO_ORDINAL = -1
NO_CONFIDENCE = -0.01

# Service field name -> the object name prefix of its editor (its error label adds "Error").
FIELD_OBJECTS = {
    "name": "name",
    "version": "version",
    "tags": "tags",
    "trigger_words": "triggerWords",
    "weight": "weight",
    "active": "active",
    "ordinal": "ordinal",
    "archetype": "archetype",
    "archetype_confidence": "archetypeConfidence",
    "notes": "notes",
}


def _plain_label(text: str = "", object_name: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if object_name:
        label.setObjectName(object_name)
    return label


def _local_time(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def split_tags(text: str) -> list[str]:
    """Tags typed as a comma-separated list."""
    return [part.strip() for part in text.split(",") if part.strip()]


def split_lines(text: str) -> list[str]:
    """Trigger words typed one per line."""
    return [line.strip() for line in text.splitlines() if line.strip()]


class DetailEditor(QWidget):
    """Edits one adapter; ``saved`` carries the adapter as stored after Save."""

    saved = Signal(object)
    message = Signal(str)

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("detailEditor")
        self._library = library
        self._adapter: AdapterOut | None = None
        self._error_labels: dict[str, QLabel] = {}
        self._build()
        self.show_adapter(None)

    # -- construction -------------------------------------------------------

    def _build(self) -> None:
        self.title = _plain_label("", "detailTitle")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

        self.name_edit = QLineEdit(objectName="nameEdit")
        self.version_edit = QLineEdit(objectName="versionEdit")
        self.tags_edit = QLineEdit(objectName="tagsEdit")
        self.tags_edit.setPlaceholderText("comma-separated, e.g. style, anime")
        self.trigger_words_edit = QPlainTextEdit(objectName="triggerWordsEdit")
        self.trigger_words_edit.setPlaceholderText("one per line")
        self.trigger_words_edit.setTabChangesFocus(True)
        self.trigger_words_edit.setFixedHeight(self.fontMetrics().lineSpacing() * 4 + 12)
        self.weight_spin = QDoubleSpinBox(objectName="weightSpin")
        self.weight_spin.setRange(WEIGHT_MIN, WEIGHT_MAX)
        self.weight_spin.setDecimals(3)
        self.weight_spin.setSingleStep(0.05)
        self.weight_slider = QSlider(Qt.Orientation.Horizontal, objectName="weightSlider")
        self.weight_slider.setRange(int(WEIGHT_MIN * SLIDER_SCALE), int(WEIGHT_MAX * SLIDER_SCALE))
        self.weight_slider.setSingleStep(5)
        self.weight_slider.setPageStep(25)
        self.active_check = QCheckBox("Active (in the composed prompt)", objectName="activeCheck")
        self.ordinal_spin = QSpinBox(objectName="ordinalSpin")
        self.ordinal_spin.setRange(NO_ORDINAL, ORDINAL_MAX)
        self.ordinal_spin.setSpecialValueText("none")
        self.archetype_edit = QLineEdit(objectName="archetypeEdit")
        self.confidence_spin = QDoubleSpinBox(objectName="archetypeConfidenceSpin")
        self.confidence_spin.setRange(NO_CONFIDENCE, 1.0)
        self.confidence_spin.setDecimals(2)
        self.confidence_spin.setSingleStep(0.05)
        self.confidence_spin.setSpecialValueText("none")
        self.notes_edit = QPlainTextEdit(objectName="notesEdit")
        self.notes_edit.setTabChangesFocus(True)
        # 4 to 7 lines (it scrolls): a taller box pushed the file's hashes, duplicates
        # and suggestions out of sight below it.
        self.notes_edit.setMinimumHeight(self.fontMetrics().lineSpacing() * 4)
        self.notes_edit.setMaximumHeight(self.fontMetrics().lineSpacing() * 7)
        self.file_path_edit = QLineEdit(objectName="filePathEdit")
        self.file_path_edit.setReadOnly(True)
        self.show_folder_button = QPushButton("Show in folder", objectName="showInFolderButton")
        self.file_info = _plain_label("", "fileInfoLabel")
        self.times_label = _plain_label("", "timesLabel")
        for label in (self.file_info, self.times_label):
            label.setWordWrap(True)  # a narrow editor wraps them instead of scrolling sideways
            # A wrapping label's height is reckoned for its narrowest width: keep the text
            # at its top rather than centred in that height.
            label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.general_error = _plain_label("", "editorError")
        self.general_error.setWordWrap(True)
        self.general_error.setStyleSheet("color: #c0392b;")
        self.general_error.hide()
        self.save_button = QPushButton("Save", objectName="saveButton")
        self.save_button.setDefault(True)
        self.revert_button = QPushButton("Revert", objectName="revertButton")
        self.inspection = InspectionPane(self._library)
        # An image dropped anywhere on the editor sets the preview (drop_import's filter).
        self.take_image_drop = self.inspection.preview.take_drop
        # A drag over a child that takes no drops (a label) stops here, where the
        # window's filter sees it as a drop on the editor, not on the window.
        self.setAcceptDrops(True)
        self.dangerous_box: QMessageBox | None = None

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        weight_row = QHBoxLayout()
        weight_row.addWidget(self.weight_spin)
        weight_row.addWidget(self.weight_slider, 1)
        archetype_row = QHBoxLayout()
        archetype_row.addWidget(self.archetype_edit, 1)
        archetype_row.addWidget(QLabel("confidence"))
        archetype_row.addWidget(self.confidence_spin)
        file_row = QHBoxLayout()
        file_row.addWidget(self.file_path_edit, 1)
        file_row.addWidget(self.show_folder_button)
        form.addRow("&Name", self._with_error("name", self.name_edit))
        form.addRow("&Version", self._with_error("version", self.version_edit))
        form.addRow("&Tags", self._with_error("tags", self.tags_edit))
        form.addRow("T&rigger words", self._with_error("trigger_words", self.trigger_words_edit))
        form.addRow("&Weight", self._with_error("weight", weight_row))
        form.addRow("", self._with_error("active", self.active_check))
        form.addRow("&Order", self._with_error("ordinal", self.ordinal_spin))
        form.addRow("&Archetype", self._with_error("archetype", archetype_row))
        self._error_labels["archetype_confidence"] = self._error_labels["archetype"]
        form.addRow("N&otes", self._with_error("notes", self.notes_edit))
        form.addRow("File", file_row)
        form.addRow("", self.file_info)
        form.addRow("", self.times_label)

        buttons = QHBoxLayout()
        buttons.addWidget(self.general_error, 1)
        buttons.addStretch(0)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.save_button)

        body = QWidget()
        body_layout = QVBoxLayout(body)
        body_layout.setContentsMargins(12, 10, 12, 10)
        body_layout.addWidget(self.title)
        body_layout.addWidget(self.inspection.preview)
        body_layout.addLayout(form)
        body_layout.addWidget(self.inspection)
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll, 1)
        button_bar = QWidget()
        button_bar.setLayout(buttons)
        buttons.setContentsMargins(12, 4, 12, 8)
        outer.addWidget(button_bar)

        self.weight_spin.valueChanged.connect(self._on_weight_spin_value_changed)
        self.weight_slider.valueChanged.connect(self._on_weight_slider_value_changed)
        for line in (self.name_edit, self.version_edit, self.tags_edit, self.archetype_edit):
            line.textChanged.connect(self._on_field_changed)
        for text in (self.trigger_words_edit, self.notes_edit):
            text.textChanged.connect(self._on_field_changed)
        self.weight_spin.valueChanged.connect(self._on_field_changed)
        self.active_check.toggled.connect(self._on_field_changed)
        self.ordinal_spin.valueChanged.connect(self._on_field_changed)
        self.confidence_spin.valueChanged.connect(self._on_field_changed)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.revert_button.clicked.connect(self._on_revert_button_clicked)
        self.show_folder_button.clicked.connect(self._on_show_folder_button_clicked)
        self.name_edit.returnPressed.connect(self._on_save_button_clicked)
        self.inspection.trigger_accepted.connect(self._on_inspection_trigger_accepted)
        self.inspection.tag_accepted.connect(self._on_inspection_tag_accepted)
        self.inspection.preview.message.connect(self.message)

    def _with_error(self, field: str, content: QWidget | QHBoxLayout) -> QWidget:
        """``content`` with its (hidden until needed) error label under it."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        if isinstance(content, QWidget):
            layout.addWidget(content)
        else:
            layout.addLayout(content)
        error = _plain_label("", f"{FIELD_OBJECTS[field]}Error")
        error.setWordWrap(True)
        error.setStyleSheet("color: #c0392b;")
        error.hide()
        layout.addWidget(error)
        self._error_labels[field] = error
        return box

    # -- showing an adapter -------------------------------------------------

    @property
    def adapter_id(self) -> str | None:
        """The adapter being edited."""
        return self._adapter.id if self._adapter else None

    @property
    def is_dirty(self) -> bool:
        """Whether a field differs from what is stored."""
        return bool(self._adapter and self.patch())

    def show_adapter(self, adapter_id: str | None) -> None:
        """Load ``adapter_id`` from the library into the fields (None: nothing selected)."""
        adapter = None
        if adapter_id is not None:
            try:
                adapter = adapter_service.get(self._library, adapter_id)
            except NotFound:
                adapter = None
        self._fill(adapter)

    def refresh(self) -> None:
        """Reload the adapter after a change elsewhere, unless the artist is editing it."""
        if self._adapter is not None and not self.is_dirty:
            self.show_adapter(self._adapter.id)

    def _fill(self, adapter: AdapterOut | None) -> None:
        self._adapter = adapter
        self._clear_errors()
        widgets: list[QWidget] = [
            self.name_edit, self.version_edit, self.tags_edit, self.trigger_words_edit,
            self.weight_spin, self.weight_slider, self.active_check, self.ordinal_spin,
            self.archetype_edit, self.confidence_spin, self.notes_edit, self.file_path_edit,
        ]  # fmt: skip
        blockers = [QSignalBlocker(w) for w in widgets]
        try:
            a = adapter
            self.title.setText(a.name if a else "No adapter selected")
            self.name_edit.setText(a.name if a else "")
            self.version_edit.setText((a.version or "") if a else "")
            self.tags_edit.setText(", ".join(a.tags) if a else "")
            self.trigger_words_edit.setPlainText("\n".join(a.trigger_words) if a else "")
            self.weight_spin.setValue(a.weight if a else 1.0)
            self.weight_slider.setValue(round((a.weight if a else 1.0) * SLIDER_SCALE))
            self.active_check.setChecked(bool(a and a.active))
            ordinal = a.ordinal if a and a.ordinal is not None else NO_ORDINAL
            self.ordinal_spin.setValue(ordinal)
            self.archetype_edit.setText((a.archetype or "") if a else "")
            confidence = a.archetype_confidence if a else None
            self.confidence_spin.setValue(NO_CONFIDENCE if confidence is None else confidence)
            self.notes_edit.setPlainText(a.notes if a else "")
            self.file_path_edit.setText(a.file_path if a else "")
            self.file_path_edit.setCursorPosition(0)
        finally:
            del blockers
        if adapter is None:
            self.file_info.setText("")
            self.times_label.setText("")
        else:
            size = f"{adapter.file_size:,} bytes" if adapter.file_size is not None else "size ?"
            digest = f"SHA-256 {adapter.sha256[:10]}…" if adapter.sha256 else "not hashed yet"
            self.file_info.setText(f"File {adapter.file_status} · {size} · {digest}")
            self.times_label.setText(
                f"Created {_local_time(adapter.created_at)} · "
                f"updated {_local_time(adapter.updated_at)}"
            )
        if adapter is None:
            self.inspection.show_adapter(None)
        else:
            self.inspection.show_adapter(adapter, adapter.trigger_words, adapter.tags)
        for widget in widgets:
            widget.setEnabled(adapter is not None)
        self.show_folder_button.setEnabled(adapter is not None)
        self._update_buttons()

    # -- editing --------------------------------------------------------------

    def patch(self) -> dict[str, object]:
        """The fields that differ from the stored adapter, as an update patch."""
        a = self._adapter
        if a is None:
            return {}
        ordinal = self.ordinal_spin.value()
        confidence = self.confidence_spin.value()
        current: dict[str, object] = {
            "name": self.name_edit.text(),
            "version": self.version_edit.text().strip() or None,
            "tags": split_tags(self.tags_edit.text()),
            "trigger_words": split_lines(self.trigger_words_edit.toPlainText()),
            "weight": round(self.weight_spin.value(), 3),
            "active": self.active_check.isChecked(),
            "ordinal": None if ordinal == NO_ORDINAL else ordinal,
            "archetype": self.archetype_edit.text().strip() or None,
            "archetype_confidence": None if confidence < 0 else round(confidence, 2),
            "notes": self.notes_edit.toPlainText(),
        }
        stored: dict[str, object] = {
            "name": a.name,
            "version": a.version,
            "tags": list(a.tags),
            "trigger_words": list(a.trigger_words),
            "weight": round(a.weight, 3),
            "active": a.active,
            "ordinal": a.ordinal,
            "archetype": a.archetype,
            "archetype_confidence": (
                None if a.archetype_confidence is None else round(a.archetype_confidence, 2)
            ),
            "notes": a.notes,
        }
        return {k: v for k, v in current.items() if v != stored[k]}

    def save(self, *, confirm_dangerous: bool = False) -> bool:
        """Save the changed fields; on refusal show why, beside each field. True if saved.

        Activating a dangerous adapter first asks (``dangerous_box``); only
        "Activate anyway" saves, with ``confirm_dangerous``. Cancel saves nothing
        (as the list's check box) and unticks Active again, so the box shows what is
        stored; the artist's other edits stay in their fields, still unsaved.
        """
        if self._adapter is None:
            return False
        patch = self.patch()
        if not patch:
            return True
        a = self._adapter
        if patch.get("active") is True and a.dangerous and not confirm_dangerous:
            self.dangerous_box = ask_activate_dangerous(
                self,
                [a.name],
                a.dangerous_globals,
                lambda: self._save_confirmed(a.id),
                lambda: self._activation_refused(a.id),
            )
            return False
        self._clear_errors()
        try:
            adapter = adapter_service.update_adapter(
                self._library, a.id, patch, confirm_dangerous=confirm_dangerous
            )
        except DomainError as exc:
            self._show_error(exc, patch)
            return False
        self._fill(adapter)
        self.saved.emit(adapter)
        self.message.emit(f"Saved {adapter.name}")
        return True

    def _save_confirmed(self, adapter_id: str) -> None:
        self.dangerous_box = None
        if self.adapter_id == adapter_id:
            self.save(confirm_dangerous=True)

    def _activation_refused(self, adapter_id: str) -> None:
        self.dangerous_box = None
        a = self._adapter
        if a is None or a.id != adapter_id:
            return
        self.active_check.setChecked(a.active)  # what is stored (toggled updates the buttons)
        if self.is_dirty:
            self.message.emit(f"{a.name} not activated; your other changes are not saved yet")
        else:
            self.message.emit(f"{a.name} not activated: it stays inactive")

    def revert(self) -> None:
        """Show the stored values again."""
        self.show_adapter(self.adapter_id)

    def _show_error(self, exc: DomainError, patch: dict[str, Any]) -> None:
        fields = exc.field_errors()
        if not fields and isinstance(exc, Conflict) and "name" in patch:
            fields = {"name": exc.detail}
        placed = False
        for field, reason in fields.items():
            label = self._error_labels.get(field.split(".")[0])
            if label is not None:
                label.setText(reason)
                label.show()
                placed = True
        if not placed:
            self.general_error.setText(exc.detail)
            self.general_error.show()
        else:
            self.general_error.setText("Not saved: fix the fields marked in red.")
            self.general_error.show()
        self.message.emit(f"Not saved: {exc.detail}")

    def _clear_errors(self) -> None:
        for label in {id(lbl): lbl for lbl in self._error_labels.values()}.values():
            label.clear()
            label.hide()
        self.general_error.clear()
        self.general_error.hide()

    def error_text(self, field: str) -> str:
        """The error shown beside ``field`` ("" if none)."""
        label = self._error_labels.get(field)
        return label.text() if label is not None and not label.isHidden() else ""

    def _update_buttons(self) -> None:
        dirty = self.is_dirty
        self.save_button.setEnabled(dirty)
        self.revert_button.setEnabled(dirty)

    # -- slots ----------------------------------------------------------------

    def _on_field_changed(self, *_args: object) -> None:
        self._update_buttons()

    def _on_inspection_trigger_accepted(self, word: str) -> None:
        words = split_lines(self.trigger_words_edit.toPlainText())
        if word.lower() not in {w.lower() for w in words}:
            self.trigger_words_edit.setPlainText("\n".join([*words, word]))

    def _on_inspection_tag_accepted(self, tag: str) -> None:
        tags = split_tags(self.tags_edit.text())
        if tag.lower() not in {t.lower() for t in tags}:
            self.tags_edit.setText(", ".join([*tags, tag]))

    def _on_weight_spin_value_changed(self, value: float) -> None:
        with QSignalBlocker(self.weight_slider):
            self.weight_slider.setValue(round(value * SLIDER_SCALE))

    def _on_weight_slider_value_changed(self, value: int) -> None:
        self.weight_spin.setValue(value / SLIDER_SCALE)

    def _on_save_button_clicked(self) -> None:
        self.save()

    def _on_revert_button_clicked(self) -> None:
        self.revert()

    def _on_show_folder_button_clicked(self) -> None:
        if self._adapter is None:
            return
        folder = os.path.dirname(self._adapter.file_path)
        if not QDesktopServices.openUrl(QUrl.fromLocalFile(folder)):
            self.message.emit(f"Cannot open the folder {folder}")
