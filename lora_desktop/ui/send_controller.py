"""Send: the compose panel's target picker and Send button, and what a click does.

A click writes the job row (``enqueue``, on a one-thread writer pool so the GUI
thread never waits for the database while deliveries write theirs; a double click
is refused by the services' rate limit and said in the status bar) and then hands
the job to the delivery pool; nothing waits for the runtime on the GUI thread.

Targets can change behind the window's back (``lora-desktop targets add|edit|rm``):
``refresh_targets`` reads them again on a reader pool (when the picker's popup
opens, and when the window is activated) and updates the picker only if they differ.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QPushButton

from lora_desktop.models.delivery import TargetOut
from lora_desktop.models.schemas import DeliveryJobOut
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library
from lora_desktop.ui import settings as keys
from lora_desktop.ui.call_pool import CallPool
from lora_desktop.ui.compose_panel import ComposePanel
from lora_desktop.ui.delivery_pool import DeliveryPool
from lora_desktop.ui.plain_text import plain_tooltip

log = logging.getLogger(__name__)

KEY_LAST_TARGET = "deliveries/lastTarget"
NO_TARGETS_TIP = "Add a delivery target first (Deliveries → Targets…)"
READ_WAIT_MS = 500
"""How long closing waits for a read of the targets already running (they take ms)."""
NO_PROMPT_TIP = "Nothing to send yet: tick adapters active or type a prefix"


class TargetCombo(QComboBox):
    """The target picker; says when its popup is about to open."""

    popup_opening = Signal()

    def showPopup(self) -> None:
        """QComboBox.showPopup: tell listeners (to read the targets again), then open."""
        self.popup_opening.emit()
        super().showPopup()


def _shown(targets: list[TargetOut]) -> list[tuple[str, str]]:
    return [(f"{t.name} ({t.mode})", t.id) for t in targets]


class SendController(QObject):
    """Owns ``targetCombo`` and ``sendButton`` (placed in the compose panel)."""

    message = Signal(str)
    """Plain text for the status bar."""
    sent = Signal(str)
    """The id of the job just enqueued."""

    def __init__(self, library: Library, panel: ComposePanel, pool: DeliveryPool) -> None:
        super().__init__(panel)
        self._library = library
        self._panel = panel
        self._pool = pool
        self._writer = CallPool(self)
        self._reader = CallPool(self)
        self._reading = False
        self._read_again = False
        self.target_combo = TargetCombo(objectName="targetCombo")
        self.target_combo.setToolTip("Where Send delivers the prompt")
        self.target_combo.setPlaceholderText("No target yet: Deliveries → Targets…")
        self.target_combo.setMinimumContentsLength(14)
        self.target_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.send_button = QPushButton("Send", objectName="sendButton")
        panel.add_action_widget(self.target_combo)
        panel.add_action_widget(self.send_button)
        self.send_button.clicked.connect(self._on_send_button_clicked)
        self.target_combo.currentIndexChanged.connect(self._on_target_combo_current_index_changed)
        self.target_combo.popup_opening.connect(self.refresh_targets)
        panel.prompt_changed.connect(self._on_panel_prompt_changed)
        self._update_button()

    @property
    def target_id(self) -> str | None:
        """The id of the chosen target (None without targets)."""
        value = self.target_combo.currentData()
        return value if isinstance(value, str) and value else None

    def reload_targets(self) -> None:
        """List the stored targets again now, keeping the chosen one when it still exists."""
        from lora_desktop.services.targets import list_targets

        try:
            targets = list_targets(self._library)
        except DomainError as exc:
            self.message.emit(f"Delivery targets could not be listed: {exc.detail}")
            targets = []
        self._show_targets(_shown(targets))

    def refresh_targets(self) -> None:
        """Read the targets again on the reader pool; the picker changes only if they did."""
        if self._reading:  # one read at a time; another follows when this one is back
            self._read_again = True
            return
        from lora_desktop.services.targets import list_targets

        library = self._library
        self._reading = True
        self._reader.call(
            lambda: _shown(list_targets(library)),
            self._on_reader_listed,
            self._on_reader_failed,
        )

    @property
    def refreshing(self) -> bool:
        """Whether a read of the targets is on its way."""
        return self._reading

    def _show_targets(self, items: list[tuple[str, str]]) -> None:
        wanted = self.target_id or keys.read_str(keys.app_settings(), KEY_LAST_TARGET)
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        for text, target_id in items:
            self.target_combo.addItem(text, target_id)
        position = self.target_combo.findData(wanted) if wanted else -1
        self.target_combo.setCurrentIndex(max(position, 0) if items else -1)
        self.target_combo.blockSignals(False)
        self._update_button()

    def _listed(self) -> list[tuple[str, str]]:
        combo = self.target_combo
        return [(combo.itemText(i), str(combo.itemData(i))) for i in range(combo.count())]

    @property
    def busy(self) -> bool:
        """Whether a send is still being written."""
        return self._writer.busy

    def send(self, prompt: str | None = None) -> bool:
        """Enqueue ``prompt`` (default: the composed one) to the chosen target, then run it.

        Returns False when nothing is sent (the reason goes to ``message``); otherwise
        ``sent`` follows with the job id once the row is written.
        """
        target = self.target_id
        prompt = self._panel.current_prompt() if prompt is None else prompt
        if target is None or not prompt:
            self.message.emit(NO_TARGETS_TIP if target is None else NO_PROMPT_TIP)
            return False
        from lora_desktop.services.deliveries import enqueue

        library = self._library
        return self._writer.call(
            lambda: enqueue(library, target=target, prompt=prompt),
            self._on_writer_enqueued,
            self._on_writer_refused,
        )

    def shutdown(self, timeout_ms: int = 3000) -> bool:
        """Finish writing the sends already clicked, queued ones too (their rows stay
        ``pending``: the next start delivers them); True if all were written in time.

        Sends not written within ``timeout_ms`` (a library locked by another program)
        are dropped and logged: nothing may write once the library closes.
        """
        self._reader.shutdown(min(timeout_ms, READ_WAIT_MS), drop_queued=True)
        done = self._writer.shutdown(timeout_ms)
        if not done:
            log.warning(
                "%d sends clicked before closing were not saved within %d ms",
                self._writer.unfinished,
                timeout_ms,
            )
        return done

    def _update_button(self) -> None:
        if self.target_id is None:
            self.send_button.setEnabled(False)
            self.send_button.setToolTip(NO_TARGETS_TIP)
        elif not self._panel.prompt:
            self.send_button.setEnabled(False)
            self.send_button.setToolTip(NO_PROMPT_TIP)
        else:
            self.send_button.setEnabled(True)
            self.send_button.setToolTip(
                plain_tooltip(f"Send the prompt to {self.target_combo.currentText()}")
            )

    def _on_writer_enqueued(self, job: object) -> None:
        if not isinstance(job, DeliveryJobOut):
            return
        self._pool.submit(job.id)
        name = job.params.get("target", "the target")
        self.message.emit(f"Sending to {name}…")
        self.sent.emit(job.id)

    def _on_writer_refused(self, error: Exception) -> None:
        from lora_desktop.services.deliveries import TooSoon

        if isinstance(error, TooSoon):  # a double click: say so quietly, no dialog
            self.message.emit(f"Not sent again: {error.detail}")
        elif isinstance(error, DomainError):
            self.message.emit(f"Not sent: {error.detail}")
        else:
            log.error("sending failed", exc_info=error)
            self.message.emit(f"Not sent: unexpected error: {error}")

    def _on_reader_listed(self, items: object) -> None:
        self._reading = False
        if isinstance(items, list) and items != self._listed():
            self._show_targets(items)
        if self._read_again:
            self._read_again = False
            self.refresh_targets()

    def _on_reader_failed(self, error: Exception) -> None:
        self._reading = False
        self._read_again = False
        detail = error.detail if isinstance(error, DomainError) else str(error)
        self.message.emit(f"Delivery targets could not be listed: {detail}")

    def _on_send_button_clicked(self) -> None:
        self.send()

    def _on_panel_prompt_changed(self, _prompt: str) -> None:
        self._update_button()

    def _on_target_combo_current_index_changed(self, _index: int) -> None:
        if self.target_id is not None:
            keys.app_settings().setValue(KEY_LAST_TARGET, self.target_id)
        self._update_button()
