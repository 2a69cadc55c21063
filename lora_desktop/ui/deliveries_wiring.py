"""The main window's delivery features, wired in one place.

Send in the compose panel, the deliveries panel (a dock), Deliveries → Targets…,
the delivery pool, and resuming jobs a previous run left pending or running.
Loading jobs and resuming start after the window's first paint, so neither the
job list nor the delivery runners' imports delay it.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QAction, QGuiApplication

from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import ChangeSet
from lora_desktop.ui.deliveries_panel import DeliveriesPanel
from lora_desktop.ui.delivery_pool import DeliveryPool
from lora_desktop.ui.first_paint import FirstPaint
from lora_desktop.ui.send_controller import SendController
from lora_desktop.ui.targets_dialog import TargetsDialog

if TYPE_CHECKING:
    from lora_desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)

MESSAGE_MS = 5000


CLOSE_BUDGET_S = 3.0
"""How long closing may wait for the deliveries in all (the app must exit within 5 s)."""


def _ms_left(deadline: float) -> int:
    return max(0, round((deadline - time.monotonic()) * 1000))


DOCK_HEIGHT = 170
"""Default height of the deliveries dock, in pixels."""


class DeliveryFeatures(QObject):
    """Owns the delivery pool, Send, the deliveries panel and the targets dialog."""

    def __init__(self, window: MainWindow, *, resume_at_start: bool = True) -> None:
        super().__init__(window)
        self._window = window
        self._library = window.library
        self._resume_at_start = resume_at_start
        self.ready = False
        """Whether targets and jobs are listed (set after the first paint)."""
        self.resumed: list[str] = []
        self.pool = DeliveryPool(self._library, self)
        self.send = SendController(self._library, window.compose_panel, self.pool)
        self.panel = DeliveriesPanel(self._library, self.pool, window)
        window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.panel)
        # A modest default height: the list and the editor matter more until the
        # artist sends something (the dock can be dragged taller, or closed).
        window.resizeDocks([self.panel], [DOCK_HEIGHT], Qt.Orientation.Vertical)
        self.targets_dialog: TargetsDialog | None = None

        menu = window.menuBar().addMenu("&Deliveries")
        menu.setObjectName("deliveriesMenu")
        self.targets_action = QAction("&Targets…", self)
        self.targets_action.setObjectName("targetsAction")
        self.targets_action.triggered.connect(self.show_targets)
        self.send_action = QAction("&Send prompt", self)
        self.send_action.setObjectName("sendAction")
        self.send_action.triggered.connect(self._on_send_action_triggered)
        panel_action = self.panel.toggleViewAction()
        panel_action.setText("Deliveries &panel")
        menu.addAction(self.send_action)
        menu.addAction(self.targets_action)
        menu.addAction(panel_action)

        self.send.message.connect(self._show_message)
        self.send.sent.connect(self._on_send_sent)
        self.panel.message.connect(self._show_message)
        self.panel.image_chosen.connect(self._on_panel_image_chosen)
        self.pool.failed.connect(self._on_pool_failed)
        window.bridge.changed.connect(self._on_bridge_changed)
        # Targets edited from the command line show when the artist comes back.
        window.installEventFilter(self)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.connect(self._on_app_application_state_changed)
        # The compose panel's first paint starts the deliveries.
        self._first_paint = FirstPaint(window.compose_panel, self.start, self)

    def start(self) -> None:
        """List targets and jobs, and resume unfinished jobs (after the first paint)."""
        if self._window.is_closed:
            return
        self._first_paint.cancel()
        self.send.reload_targets()
        self.panel.load()
        if self._resume_at_start:
            self.resume_unfinished()
        self.ready = True

    def resume_unfinished(self) -> list[str]:
        """Run the jobs a previous run left pending or running; return their ids."""
        from lora_desktop.services.deliveries import unfinished_jobs

        try:
            ids = unfinished_jobs(self._library)
        except DomainError as exc:
            self._show_message(f"Unfinished deliveries could not be resumed: {exc.detail}")
            return []
        for job_id in ids:
            self.pool.submit(job_id)
        if ids:
            self._show_message(f"Resuming {len(ids)} unfinished deliveries")
        self.resumed = ids
        return ids

    def show_targets(self) -> TargetsDialog:
        """Deliveries → Targets…: open (or raise) the non-modal targets dialog."""
        if self.targets_dialog is None:
            self.targets_dialog = TargetsDialog(self._library, self._window)
            self.targets_dialog.targets_changed.connect(self._on_targets_dialog_targets_changed)
        if self.targets_dialog.isVisible():
            self.targets_dialog.raise_()
        else:
            self.targets_dialog.show()
        return self.targets_dialog

    def shutdown(self) -> None:
        """Stop the deliveries (interrupted ones resume next start); before the library closes.

        Within ``CLOSE_BUDGET_S`` in all: the pool first stops starting jobs and signals
        the running ones (so they wind down while the sends are written, and no delivery
        starts while the window closes), then the sends already clicked are written
        (they are pending, resumed next start), then the interrupted jobs are waited for
        and put back to pending.
        """
        deadline = time.monotonic() + CLOSE_BUDGET_S
        self._first_paint.cancel()
        self._window.removeEventFilter(self)
        app = QGuiApplication.instance()
        if isinstance(app, QGuiApplication):
            app.applicationStateChanged.disconnect(self._on_app_application_state_changed)
        self.panel.shutdown()
        self.pool.interrupt()
        self.send.shutdown(_ms_left(deadline))
        self.pool.shutdown(_ms_left(deadline))
        if self.targets_dialog is not None:
            self.targets_dialog.close()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """QObject.eventFilter: the window activated → read the targets again."""
        if (
            watched is self._window
            and event.type() == QEvent.Type.WindowActivate
            and self.ready
            and not self._window.is_closed
        ):
            self.send.refresh_targets()
        return False

    def _show_message(self, text: str) -> None:
        self._window.statusBar().showMessage(text, MESSAGE_MS)

    # -- slots ----------------------------------------------------------------

    def _on_bridge_changed(self, changes: object) -> None:
        if isinstance(changes, ChangeSet) and not self._window.is_closed:
            self.panel.apply_changes(changes)

    def _on_app_application_state_changed(self, state: Qt.ApplicationState) -> None:
        active = state == Qt.ApplicationState.ApplicationActive
        if active and self.ready and not self._window.is_closed:
            self.send.refresh_targets()

    def _on_send_action_triggered(self) -> None:
        self.send.send()

    def _on_send_sent(self, job_id: str) -> None:
        self.panel.follow(job_id)

    def _on_targets_dialog_targets_changed(self) -> None:
        self.send.reload_targets()

    def _on_pool_failed(self, job_id: str, message: str) -> None:
        self._show_message(f"Delivery {job_id[:8]} could not run: {message}")

    def _on_panel_image_chosen(self, path: str) -> None:
        from lora_desktop.services.adapters import update_adapter

        window = self._window
        adapter_id = window.editor.adapter_id or window.list_view.current_id()
        if adapter_id is None:
            self._show_message("Select an adapter first, then click the image for its preview.")
            return
        try:
            adapter = update_adapter(self._library, adapter_id, {"preview_path": path})
        except DomainError as exc:
            self._show_message(f"Preview not set: {exc.detail}")
            return
        self._show_message(f"Preview of {adapter.name} set")
