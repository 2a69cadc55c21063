"""The settings of each delivery mode as a form, with an error line under each field.

A form turns its fields into a target's ``config`` (unset optional settings as
None, which the services read as "the default") and shows the services'
field-level validation errors next to the field they name.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

log = logging.getLogger(__name__)

WORKFLOW_MAX_BYTES = 10 * 1024 * 1024
ERROR_STYLE = "color: #b00020;"


class FieldError(Exception):
    """A field that cannot even be turned into a setting (bad JSON, a line without ':')."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(reason)
        self.key = key
        self.reason = reason


def parse_headers(text: str) -> dict[str, str]:
    """``Name: value`` lines to a dict (blank lines skipped).

    Raises:
        FieldError: a line without a colon or without a name.
    """
    headers: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, colon, value = line.partition(":")
        if not colon or not name.strip():
            raise FieldError("headers", f"line {number}: write one header per line as Name: value")
        headers[name.strip()] = value.strip()
    return headers


def load_workflow(path_text: str) -> dict[str, Any]:
    """Read a ComfyUI API-format workflow JSON file.

    Raises:
        FieldError: the file is missing, too big, not JSON, or not a JSON object.
    """
    path = Path(path_text).expanduser()
    try:
        if path.stat().st_size > WORKFLOW_MAX_BYTES:
            raise FieldError("workflow", "the file is larger than 10 MiB")
        data = json.loads(path.read_text(encoding="utf-8"))
    except FieldError:
        raise
    except OSError as exc:
        raise FieldError("workflow", f"cannot read the file: {exc.strerror or exc}") from exc
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FieldError("workflow", f"not a JSON file: {exc}") from exc
    if not isinstance(data, dict) or not data:
        raise FieldError(
            "workflow", "not a workflow in API format (ComfyUI: Save (API Format)): give its file"
        )
    return data


def _optional_spin(minimum: int, maximum: int) -> QSpinBox:
    """A spin box whose lowest value reads "default" (the setting is not sent)."""
    spin = QSpinBox()
    spin.setRange(minimum - 1, maximum)
    spin.setSpecialValueText("default")
    spin.setValue(minimum - 1)
    return spin


def _timeout_spin(default: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.1, 3600)
    spin.setDecimals(1)
    spin.setSuffix(" s")
    spin.setValue(default)
    return spin


class ModeForm(QWidget):
    """Base of the four forms: rows of fields, each with its own error label."""

    mode = ""
    default_timeout = 30.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{self.mode}Form")
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self._errors: dict[str, QLabel] = {}
        self.editing = False

    def add_row(self, label: str, key: str, widget: QWidget, button: QWidget | None = None) -> None:
        """A labelled field with an error line under it; errors for ``key`` go there."""
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        if button is None:
            column.addWidget(widget)
        else:
            row = QHBoxLayout()
            row.addWidget(widget, 1)
            row.addWidget(button)
            column.addLayout(row)
        error = QLabel(objectName=f"{self.mode}_{key}_error")
        error.setTextFormat(Qt.TextFormat.PlainText)
        error.setWordWrap(True)
        error.setStyleSheet(ERROR_STYLE)
        error.hide()
        column.addWidget(error)
        self._errors[key] = error
        self.form.addRow(label, box)

    def folder_button(self, edit: QLineEdit, title: str) -> QPushButton:
        """A Browse… button that puts a chosen folder in ``edit``."""
        button = QPushButton("Browse…")

        def choose() -> None:
            folder = QFileDialog.getExistingDirectory(self, title, edit.text())
            if folder:
                edit.setText(folder)

        button.clicked.connect(choose)
        return button

    def has_field(self, key: str) -> bool:
        """Whether errors for ``key`` have a place in this form."""
        return key in self._errors

    def show_error(self, key: str, reason: str) -> None:
        """Show ``reason`` under the field ``key``."""
        label = self._errors[key]
        label.setText(reason)
        label.show()

    def error_text(self, key: str) -> str:
        """The error shown under ``key`` ("" when none)."""
        label = self._errors.get(key)
        return label.text() if label is not None and label.isVisibleTo(self) else ""

    def clear_errors(self) -> None:
        """Hide every error line."""
        for label in self._errors.values():
            label.clear()
            label.hide()

    def load(self, config: dict[str, Any]) -> None:
        """Fill the fields from a target's (masked) settings."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The settings the fields describe; None for "the default".

        Raises:
            FieldError: a field that cannot be read at all.
        """
        raise NotImplementedError


def _headers_text(config: dict[str, Any]) -> str:
    return "\n".join(f"{k}: {v}" for k, v in dict(config.get("headers") or {}).items())


def _headers_edit() -> QPlainTextEdit:
    edit = QPlainTextEdit()
    edit.setPlaceholderText("Authorization: Bearer …  (one header per line; secrets are masked)")
    edit.setMaximumHeight(64)
    return edit


class HttpForm(ModeForm):
    """``http``: URL, headers, timeout."""

    mode = "http"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.url_edit = QLineEdit(objectName="httpUrlEdit")
        self.url_edit.setPlaceholderText("http://127.0.0.1:8000/generate")
        self.headers_edit = _headers_edit()
        self.headers_edit.setObjectName("httpHeadersEdit")
        self.timeout_spin = _timeout_spin(30.0)
        self.timeout_spin.setObjectName("httpTimeoutSpin")
        self.add_row("URL", "url", self.url_edit)
        self.add_row("Headers", "headers", self.headers_edit)
        self.add_row("Timeout", "timeout", self.timeout_spin)

    def load(self, config: dict[str, Any]) -> None:
        """ModeForm.load."""
        self.url_edit.setText(str(config.get("url", "")))
        self.headers_edit.setPlainText(_headers_text(config))
        self.timeout_spin.setValue(float(config.get("timeout", 30.0)))

    def config(self) -> dict[str, Any]:
        """ModeForm.config."""
        return {
            "url": self.url_edit.text().strip(),
            "headers": parse_headers(self.headers_edit.toPlainText()),
            "timeout": self.timeout_spin.value(),
        }


class CliForm(ModeForm):
    """``cli``: the argument vector (one per line), working folder, timeout."""

    mode = "cli"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.argv_edit = QPlainTextEdit(objectName="cliArgvEdit")
        self.argv_edit.setPlaceholderText("/usr/bin/my-generator\n--prompt-file\n{prompt_file}")
        self.argv_edit.setToolTip(
            "One argument per line, no shell. {prompt_file} (a temporary file holding the "
            "prompt) and {prompt} are replaced when they are a whole line."
        )
        self.cwd_edit = QLineEdit(objectName="cliCwdEdit")
        self.cwd_edit.setPlaceholderText("(the app's folder)")
        self.timeout_spin = _timeout_spin(60.0)
        self.timeout_spin.setObjectName("cliTimeoutSpin")
        self.add_row("Program and arguments", "argv", self.argv_edit)
        browse = self.folder_button(self.cwd_edit, "Working folder")
        self.add_row("Working folder", "cwd", self.cwd_edit, browse)
        self.add_row("Timeout", "timeout", self.timeout_spin)

    def load(self, config: dict[str, Any]) -> None:
        """ModeForm.load."""
        self.argv_edit.setPlainText("\n".join(str(a) for a in config.get("argv") or []))
        self.cwd_edit.setText(str(config.get("cwd") or ""))
        self.timeout_spin.setValue(float(config.get("timeout", 60.0)))

    def config(self) -> dict[str, Any]:
        """ModeForm.config: each line is one argument, exactly as typed."""
        argv = [line for line in self.argv_edit.toPlainText().split("\n") if line != ""]
        return {
            "argv": argv,
            "cwd": self.cwd_edit.text().strip() or None,
            "timeout": self.timeout_spin.value(),
        }


class A1111Form(ModeForm):
    """``a1111``: base URL, txt2img settings, output folder."""

    mode = "a1111"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.url_edit = QLineEdit(objectName="a1111UrlEdit")
        self.url_edit.setPlaceholderText("http://127.0.0.1:7860")
        self.output_edit = QLineEdit(objectName="a1111OutputEdit")
        self.negative_edit = QLineEdit(objectName="a1111NegativeEdit")
        self.steps_spin = _optional_spin(1, 500)
        self.width_spin = _optional_spin(64, 8192)
        self.height_spin = _optional_spin(64, 8192)
        self.sampler_edit = QLineEdit(objectName="a1111SamplerEdit")
        self.sampler_edit.setPlaceholderText("default (e.g. Euler a)")
        self.cfg_spin = QDoubleSpinBox()
        self.cfg_spin.setRange(-1, 100)
        self.cfg_spin.setSpecialValueText("default")
        self.cfg_spin.setValue(-1)
        self.seed_edit = QLineEdit(objectName="a1111SeedEdit")
        self.seed_edit.setPlaceholderText("default (-1: random)")
        self.batch_spin = _optional_spin(1, 64)
        self.headers_edit = _headers_edit()
        self.timeout_spin = _timeout_spin(300.0)
        self.add_row("Base URL", "base_url", self.url_edit)
        self.add_row(
            "Output folder",
            "output_dir",
            self.output_edit,
            self.folder_button(self.output_edit, "Folder for the returned images"),
        )
        self.add_row("Negative prompt", "negative_prompt", self.negative_edit)
        self.add_row("Steps", "steps", self.steps_spin)
        self.add_row("Width", "width", self.width_spin)
        self.add_row("Height", "height", self.height_spin)
        self.add_row("Sampler", "sampler_name", self.sampler_edit)
        self.add_row("CFG scale", "cfg_scale", self.cfg_spin)
        self.add_row("Seed", "seed", self.seed_edit)
        self.add_row("Batch size", "batch_size", self.batch_spin)
        self.add_row("Headers", "headers", self.headers_edit)
        self.add_row("Timeout", "timeout", self.timeout_spin)

    def _spins(self) -> dict[str, QSpinBox]:
        return {
            "steps": self.steps_spin,
            "width": self.width_spin,
            "height": self.height_spin,
            "batch_size": self.batch_spin,
        }

    def load(self, config: dict[str, Any]) -> None:
        """ModeForm.load."""
        self.url_edit.setText(str(config.get("base_url", "")))
        self.output_edit.setText(str(config.get("output_dir", "")))
        self.negative_edit.setText(str(config.get("negative_prompt") or ""))
        for key, spin in self._spins().items():
            value = config.get(key)
            spin.setValue(int(value) if value is not None else spin.minimum())
        self.sampler_edit.setText(str(config.get("sampler_name") or ""))
        cfg = config.get("cfg_scale")
        self.cfg_spin.setValue(float(cfg) if cfg is not None else -1)
        seed = config.get("seed")
        self.seed_edit.setText("" if seed is None else str(seed))
        self.headers_edit.setPlainText(_headers_text(config))
        self.timeout_spin.setValue(float(config.get("timeout", 300.0)))

    def config(self) -> dict[str, Any]:
        """ModeForm.config."""
        seed_text = self.seed_edit.text().strip()
        try:
            seed = int(seed_text) if seed_text else None
        except ValueError as exc:
            raise FieldError("seed", "give a whole number, or leave empty") from exc
        config: dict[str, Any] = {
            "base_url": self.url_edit.text().strip(),
            "output_dir": self.output_edit.text().strip(),
            "negative_prompt": self.negative_edit.text(),
            "sampler_name": self.sampler_edit.text().strip() or None,
            "cfg_scale": self.cfg_spin.value() if self.cfg_spin.value() >= 0 else None,
            "seed": seed,
            "headers": parse_headers(self.headers_edit.toPlainText()),
            "timeout": self.timeout_spin.value(),
        }
        for key, spin in self._spins().items():
            config[key] = spin.value() if spin.value() > spin.minimum() else None
        return config


class ComfyUIForm(ModeForm):
    """``comfyui``: base URL, the workflow JSON file, output folder."""

    mode = "comfyui"

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.url_edit = QLineEdit(objectName="comfyUrlEdit")
        self.url_edit.setPlaceholderText("http://127.0.0.1:8188")
        self.workflow_edit = QLineEdit(objectName="comfyWorkflowEdit")
        self.workflow_edit.setPlaceholderText("workflow_api.json (ComfyUI: Save (API Format))")
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._on_browse_clicked)
        self.output_edit = QLineEdit(objectName="comfyOutputEdit")
        self.negative_edit = QLineEdit(objectName="comfyNegativeEdit")
        self.negative_edit.setPlaceholderText("(keep the workflow's)")
        self.headers_edit = _headers_edit()
        self.timeout_spin = _timeout_spin(300.0)
        self.add_row("Base URL", "base_url", self.url_edit)
        self.add_row("Workflow file", "workflow", self.workflow_edit, browse)
        self.add_row(
            "Output folder",
            "output_dir",
            self.output_edit,
            self.folder_button(self.output_edit, "Folder for the returned images"),
        )
        self.add_row("Negative prompt", "negative_prompt", self.negative_edit)
        self.add_row("Headers", "headers", self.headers_edit)
        self.add_row("Timeout", "timeout", self.timeout_spin)

    def load(self, config: dict[str, Any]) -> None:
        """ModeForm.load: the stored workflow is kept unless another file is given."""
        self.url_edit.setText(str(config.get("base_url", "")))
        self.workflow_edit.clear()
        nodes = len(config.get("workflow") or {})
        self.workflow_edit.setPlaceholderText(
            f"(stored workflow, {nodes} nodes: choose a file to replace it)"
        )
        self.output_edit.setText(str(config.get("output_dir", "")))
        self.negative_edit.setText(str(config.get("negative_prompt") or ""))
        self.headers_edit.setPlainText(_headers_text(config))
        self.timeout_spin.setValue(float(config.get("timeout", 300.0)))

    def config(self) -> dict[str, Any]:
        """ModeForm.config."""
        config: dict[str, Any] = {
            "base_url": self.url_edit.text().strip(),
            "output_dir": self.output_edit.text().strip(),
            "negative_prompt": self.negative_edit.text() or None,
            "headers": parse_headers(self.headers_edit.toPlainText()),
            "timeout": self.timeout_spin.value(),
        }
        path = self.workflow_edit.text().strip()
        if path:
            config["workflow"] = load_workflow(path)
        elif not self.editing:
            raise FieldError("workflow", "choose the workflow JSON file exported from ComfyUI")
        return config

    def _on_browse_clicked(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "ComfyUI workflow (API format)", self.workflow_edit.text(), "JSON (*.json)"
        )
        if path:
            self.workflow_edit.setText(path)


FORMS: tuple[type[ModeForm], ...] = (HttpForm, CliForm, A1111Form, ComfyUIForm)
