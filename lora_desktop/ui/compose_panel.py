"""The compose panel: prefix, suffix, trigger words option, the live prompt and Copy."""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library

log = logging.getLogger(__name__)


class ComposePanel(QWidget):
    """Shows the prompt composed from the active adapters, live; Copy puts it on the clipboard."""

    copied = Signal(str)
    """The prompt just copied."""
    prompt_changed = Signal(str)
    """The prompt after each refresh (empty when there is none)."""

    def __init__(self, library: Library, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("composePanel")
        self._library = library
        self._prompt = ""
        self._tokens: list[str] = []
        # Many changes may arrive in one burst (a drag, an import): compose once.
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self.refresh)
        self._build()

    def _build(self) -> None:
        self.prefix_edit = QLineEdit(objectName="prefixEdit")
        self.prefix_edit.setPlaceholderText("before the tokens, e.g. masterpiece, best quality")
        self.suffix_edit = QLineEdit(objectName="suffixEdit")
        self.suffix_edit.setPlaceholderText("after the tokens")
        self.include_triggers_check = QCheckBox(
            "Include trigger words", objectName="includeTriggersCheck"
        )
        self.include_triggers_check.setChecked(True)
        self.prompt_view = QPlainTextEdit(objectName="composedPrompt")
        self.prompt_view.setReadOnly(True)
        self.prompt_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.prompt_view.setPlaceholderText("Tick adapters active to compose a prompt")
        self.prompt_view.setMinimumHeight(self.fontMetrics().lineSpacing() * 3 + 12)
        self.token_list = QListWidget(objectName="tokenList")
        self.token_list.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.token_list.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.token_list.setUniformItemSizes(True)
        self.token_list.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.warnings_label = QLabel(objectName="composeWarnings")
        self.warnings_label.setTextFormat(Qt.TextFormat.PlainText)
        self.warnings_label.setWordWrap(True)
        self.warnings_label.setStyleSheet("color: #a86000;")
        self.copy_button = QPushButton("Copy", objectName="copyButton")
        self.copy_button.setToolTip("Copy the prompt to the clipboard (Ctrl+Shift+C)")

        title = QLabel("Compose")
        font = title.font()
        font.setBold(True)
        title.setFont(font)
        fields = QGridLayout()
        fields.setHorizontalSpacing(8)
        fields.setVerticalSpacing(6)
        fields.addWidget(QLabel("Prefix"), 0, 0)
        fields.addWidget(self.prefix_edit, 0, 1)
        fields.addWidget(QLabel("Suffix"), 1, 0)
        fields.addWidget(self.suffix_edit, 1, 1)
        fields.addWidget(self.include_triggers_check, 2, 1)
        fields.addWidget(QLabel("Tokens"), 3, 0, Qt.AlignmentFlag.AlignTop)
        fields.addWidget(self.token_list, 3, 1)
        fields.setColumnStretch(1, 1)
        fields.setRowStretch(3, 1)

        prompt_column = QVBoxLayout()
        prompt_column.addWidget(self.prompt_view, 1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.warnings_label, 1)
        bottom.addWidget(self.copy_button, 0, Qt.AlignmentFlag.AlignTop)
        self._actions_row = bottom
        prompt_column.addLayout(bottom)

        body = QHBoxLayout()
        body.setSpacing(16)
        body.addLayout(fields, 2)
        body.addLayout(prompt_column, 3)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 8, 12, 8)
        outer.addWidget(title)
        outer.addLayout(body, 1)

        self.prefix_edit.textChanged.connect(self._on_input_changed)
        self.suffix_edit.textChanged.connect(self._on_input_changed)
        self.include_triggers_check.toggled.connect(self._on_input_changed)
        self.copy_button.clicked.connect(self._on_copy_button_clicked)

    @property
    def prompt(self) -> str:
        """The prompt shown."""
        return self._prompt

    @property
    def tokens(self) -> list[str]:
        """The tokens shown, in order."""
        return list(self._tokens)

    def schedule_refresh(self) -> None:
        """Compose again once the current burst of events is handled."""
        self._timer.start()

    def cancel_refresh(self) -> None:
        """Drop a scheduled refresh (the window is closing)."""
        self._timer.stop()

    def refresh(self) -> None:
        """Compose now from the library and the fields."""
        self._timer.stop()
        request = {
            "prefix": self.prefix_edit.text(),
            "suffix": self.suffix_edit.text(),
            "include_trigger_words": self.include_triggers_check.isChecked(),
        }
        # Imported on first use: it brings the delivery runners (httpx), which the
        # window does not need before its first paint.
        from lora_desktop.services.compose import compose

        try:
            result = compose(self._library, request)
        except DomainError as exc:
            self._prompt, self._tokens = "", []
            self.prompt_view.setPlainText("")
            self.token_list.clear()
            self.warnings_label.setText(exc.detail)
            self.copy_button.setEnabled(False)
            self.prompt_changed.emit("")
            return
        self._prompt, self._tokens = result.prompt, list(result.tokens)
        if self.prompt_view.toPlainText() != result.prompt:
            self.prompt_view.setPlainText(result.prompt)
        self.token_list.clear()
        self.token_list.addItems(result.tokens)
        self.warnings_label.setText("\n".join(result.warnings))
        self.copy_button.setEnabled(bool(result.prompt))
        self.prompt_changed.emit(result.prompt)

    def current_prompt(self) -> str:
        """The prompt, composed now if a refresh is still scheduled."""
        if self._timer.isActive():
            self.refresh()
        return self._prompt

    def add_action_widget(self, widget: QWidget) -> None:
        """Put ``widget`` in the button row, before Copy (the deliveries' Send)."""
        self._actions_row.insertWidget(
            self._actions_row.indexOf(self.copy_button), widget, 0, Qt.AlignmentFlag.AlignTop
        )

    def copy_prompt(self) -> str:
        """Put the current prompt on the clipboard and return it ("" if there is none)."""
        if self._timer.isActive():
            self.refresh()
        if not self._prompt:
            return ""
        QGuiApplication.clipboard().setText(self._prompt)
        self.copied.emit(self._prompt)
        return self._prompt

    def _on_input_changed(self, *_args: object) -> None:
        self.schedule_refresh()

    def _on_copy_button_clicked(self) -> None:
        self.copy_prompt()
