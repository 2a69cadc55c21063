"""Deliveries → Targets…: add, edit and remove delivery targets of every mode.

Each save goes through the targets service; its field-level validation errors
are shown under the field they name. Header values come back masked and are
kept as stored when saved unchanged.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.models.delivery import TargetOut
from lora_desktop.services import targets as target_service
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library
from lora_desktop.ui.target_forms import ERROR_STYLE, FORMS, FieldError, ModeForm

log = logging.getLogger(__name__)

ID_ROLE = Qt.ItemDataRole.UserRole + 1
MODE_LABELS = {
    "http": "HTTP (POST JSON)",
    "cli": "Command-line program",
    "a1111": "AUTOMATIC1111 / Forge / SD.Next",
    "comfyui": "ComfyUI",
}


class TargetsDialog(QDialog):
    """A list of targets on the left, the selected (or new) target's form on the right."""

    targets_changed = Signal()
    """A target was added, changed or removed."""

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("targetsDialog")
        self.setWindowTitle("Delivery targets")
        self.resize(820, 560)
        self._library = library
        self._editing: str | None = None
        self.confirm_box: QMessageBox | None = None
        self._build()
        self.reload()

    def _build(self) -> None:
        self.target_list = QListWidget(objectName="targetList")
        self.add_button = QPushButton("Add", objectName="addTargetButton")
        self.remove_button = QPushButton("Remove", objectName="removeTargetButton")
        left = QVBoxLayout()
        left.addWidget(self.target_list, 1)
        row = QHBoxLayout()
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        left.addLayout(row)

        self.name_edit = QLineEdit(objectName="targetNameEdit")
        self.mode_combo = QComboBox(objectName="targetModeCombo")
        self.attempts_spin = QSpinBox(objectName="targetAttemptsSpin")
        self.attempts_spin.setRange(1, 10)
        self.attempts_spin.setValue(3)
        self.attempts_spin.setToolTip("Attempts when the runtime could not be reached")
        self.name_error = self._error_label("targetNameError")
        self.attempts_error = self._error_label("targetAttemptsError")
        self.forms: dict[str, ModeForm] = {}
        self.stack = QStackedWidget()
        for form_type in FORMS:
            form = form_type()
            self.forms[form.mode] = form
            self.stack.addWidget(form)
            self.mode_combo.addItem(MODE_LABELS[form.mode], form.mode)
        common = QFormLayout()
        common.addRow("Name", self._with_error(self.name_edit, self.name_error))
        common.addRow("Mode", self.mode_combo)
        common.addRow("Attempts", self._with_error(self.attempts_spin, self.attempts_error))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(self.stack)
        self.general_error = self._error_label("targetErrorLabel")
        self.save_button = QPushButton("Save", objectName="saveTargetButton")
        self.save_button.setDefault(True)
        right = QVBoxLayout()
        right.addLayout(common)
        right.addWidget(scroll, 1)
        right.addWidget(self.general_error)
        right.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        body = QHBoxLayout()
        body.addLayout(left, 1)
        body.addLayout(right, 2)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.reject)
        outer = QVBoxLayout(self)
        outer.addLayout(body, 1)
        outer.addWidget(close)

        self.target_list.currentItemChanged.connect(self._on_target_list_current_item_changed)
        self.mode_combo.currentIndexChanged.connect(self._on_mode_combo_current_index_changed)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.save_button.clicked.connect(self._on_save_button_clicked)
        self.start_new()

    @staticmethod
    def _error_label(name: str) -> QLabel:
        label = QLabel(objectName=name)
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setStyleSheet(ERROR_STYLE)
        label.hide()
        return label

    @staticmethod
    def _with_error(widget: QWidget, error: QLabel) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(widget)
        column.addWidget(error)
        return box

    # -- public ---------------------------------------------------------------

    @property
    def form(self) -> ModeForm:
        """The form of the chosen mode."""
        return self.forms[str(self.mode_combo.currentData())]

    def reload(self, select: str | None = None) -> None:
        """List the targets again; select ``select`` (an id) when given."""
        try:
            targets = target_service.list_targets(self._library)
        except DomainError as exc:
            self._show_general(f"Targets could not be listed: {exc.detail}")
            return
        self.target_list.blockSignals(True)
        self.target_list.clear()
        for target in targets:
            item = QListWidgetItem(f"{target.name}  ({target.mode})")
            item.setData(ID_ROLE, target.id)
            self.target_list.addItem(item)
            if target.id == select:
                self.target_list.setCurrentItem(item)
        self.target_list.blockSignals(False)
        self.remove_button.setEnabled(self.target_list.currentItem() is not None)

    def changeEvent(self, event: QEvent) -> None:
        """QWidget.changeEvent: coming back to the dialog lists the targets again, so
        targets added, renamed or removed with ``lora-desktop targets`` show (the form
        being edited is left alone)."""
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.reload(select=self._current_id())

    def _current_id(self) -> str | None:
        item = self.target_list.currentItem()
        return None if item is None else str(item.data(ID_ROLE))

    def start_new(self, mode: str = "http") -> None:
        """Clear the form for a new target of ``mode``."""
        self._editing = None
        self.target_list.blockSignals(True)
        self.target_list.setCurrentItem(None)
        self.target_list.clearSelection()
        self.target_list.blockSignals(False)
        self.remove_button.setEnabled(False)
        self.name_edit.clear()
        self.attempts_spin.setValue(3)
        self.mode_combo.setEnabled(True)
        self.mode_combo.setCurrentIndex(max(self.mode_combo.findData(mode), 0))
        for form in self.forms.values():
            form.editing = False
            form.load({})
        self._clear_errors()
        self.name_edit.setFocus()

    def edit_target(self, target: TargetOut) -> None:
        """Show ``target``'s settings (secrets masked) to edit them."""
        self._editing = target.id
        self.name_edit.setText(target.name)
        self.mode_combo.setCurrentIndex(max(self.mode_combo.findData(target.mode), 0))
        self.mode_combo.setEnabled(False)  # a target keeps its mode
        self.attempts_spin.setValue(int(target.config.get("max_attempts", 3)))
        form = self.forms[target.mode]
        form.editing = True
        form.load(target.config)
        self._clear_errors()
        self.remove_button.setEnabled(True)

    def save(self) -> TargetOut | None:
        """Create or update the target from the fields; None (errors shown) if refused."""
        self._clear_errors()
        try:
            config = self.form.config()
        except FieldError as exc:
            self._show_field_error(exc.key, exc.reason)
            return None
        config["max_attempts"] = self.attempts_spin.value()
        name = self.name_edit.text()
        try:
            if self._editing is None:
                out = target_service.create_target(
                    self._library,
                    {
                        "name": name,
                        "mode": self.form.mode,
                        "config": {k: v for k, v in config.items() if v is not None},
                    },
                )
            else:
                out = target_service.update_target(
                    self._library, self._editing, {"name": name, "config": config}
                )
        except DomainError as exc:
            self._show_domain_error(exc)
            return None
        self.reload(select=out.id)
        self.edit_target(out)
        self.targets_changed.emit()
        return out

    def remove_selected(self) -> bool:
        """Delete the selected target (queued jobs keep their own copy); True if removed."""
        item = self.target_list.currentItem()
        if item is None:
            return False
        try:
            target_service.delete_target(self._library, str(item.data(ID_ROLE)))
        except DomainError as exc:
            self._show_general(exc.detail)
            return False
        self.reload()
        self.start_new()
        self.targets_changed.emit()
        return True

    def error_text(self, key: str) -> str:
        """The error shown beside field ``key`` (``name``, ``max_attempts``, a setting)."""
        if key == "name":
            return self.name_error.text() if not self.name_error.isHidden() else ""
        if key == "max_attempts":
            return self.attempts_error.text() if not self.attempts_error.isHidden() else ""
        return self.form.error_text(key)

    # -- errors ---------------------------------------------------------------

    def _clear_errors(self) -> None:
        for label in (self.name_error, self.attempts_error, self.general_error):
            label.clear()
            label.hide()
        for form in self.forms.values():
            form.clear_errors()

    def _show_general(self, text: str) -> None:
        self.general_error.setText(text)
        self.general_error.show()

    def _show_field_error(self, key: str, reason: str) -> bool:
        label = {"name": self.name_error, "max_attempts": self.attempts_error}.get(key)
        if label is not None:
            label.setText(reason)
            label.show()
            return True
        if self.form.has_field(key):
            self.form.show_error(key, reason)
            return True
        return False

    def _show_domain_error(self, exc: DomainError) -> None:
        unplaced: list[str] = []
        for param in exc.invalid_params:
            key = param.name.removeprefix("config.").split(".", 1)[0]
            if not self._show_field_error(key, param.reason):
                unplaced.append(f"{param.name}: {param.reason}")
        if unplaced or not exc.invalid_params:
            self._show_general("\n".join(unplaced) or exc.detail)

    # -- slots ----------------------------------------------------------------

    def _on_target_list_current_item_changed(
        self, current: QListWidgetItem | None, _previous: QListWidgetItem | None
    ) -> None:
        if current is None:
            return
        try:
            target = target_service.get_target(self._library, str(current.data(ID_ROLE)))
        except DomainError as exc:
            self._show_general(exc.detail)
            self.reload()
            return
        self.edit_target(target)

    def _on_mode_combo_current_index_changed(self, _index: int) -> None:
        self.stack.setCurrentWidget(self.form)

    def _on_add_button_clicked(self) -> None:
        self.start_new(str(self.mode_combo.currentData()) if self._editing is None else "http")

    def _on_remove_button_clicked(self) -> None:
        item = self.target_list.currentItem()
        if item is None:
            return
        box = QMessageBox(
            QMessageBox.Icon.Question,
            "Remove target",
            f"Remove the target {item.text()}? Queued deliveries keep their settings.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            self,
        )
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setObjectName("removeTargetConfirm")
        self.confirm_box = box

        def answered(_result: int) -> None:
            self.confirm_box = None
            if box.standardButton(box.clickedButton()) == QMessageBox.StandardButton.Yes:
                self.remove_selected()

        box.finished.connect(answered)
        box.open()

    def _on_save_button_clicked(self) -> None:
        self.save()
