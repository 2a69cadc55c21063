"""Send: the compose panel's target picker and Send button, and what a click does.

A click writes the job row (``enqueue``, on a one-thread writer pool so the GUI
thread never waits for the database while deliveries write theirs; a double click
is refused by the services' rate limit and said in the status bar) and then hands
the job to the delivery pool; nothing waits for the runtime on the GUI thread.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QComboBox, QPushButton

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
NO_PROMPT_TIP = "Nothing to send yet: tick adapters active or type a prefix"


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
        self.target_combo = QComboBox(objectName="targetCombo")
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
        panel.prompt_changed.connect(self._on_panel_prompt_changed)
        self._update_button()

    @property
    def target_id(self) -> str | None:
        """The id of the chosen target (None without targets)."""
        value = self.target_combo.currentData()
        return value if isinstance(value, str) and value else None

    def reload_targets(self) -> None:
        """List the stored targets again, keeping the chosen one when it still exists."""
        from lora_desktop.services.targets import list_targets

        wanted = self.target_id or keys.read_str(keys.app_settings(), KEY_LAST_TARGET)
        try:
            targets = list_targets(self._library)
        except DomainError as exc:
            self.message.emit(f"Delivery targets could not be listed: {exc.detail}")
            targets = []
        self.target_combo.blockSignals(True)
        self.target_combo.clear()
        for target in targets:
            self.target_combo.addItem(f"{target.name} ({target.mode})", target.id)
        position = self.target_combo.findData(wanted) if wanted else -1
        self.target_combo.setCurrentIndex(max(position, 0) if targets else -1)
        self.target_combo.blockSignals(False)
        self._update_button()

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

    def _on_send_button_clicked(self) -> None:
        self.send()

    def _on_panel_prompt_changed(self, _prompt: str) -> None:
        self._update_button()

    def _on_target_combo_current_index_changed(self, _index: int) -> None:
        if self.target_id is not None:
            keys.app_settings().setValue(KEY_LAST_TARGET, self.target_id)
        self._update_button()
