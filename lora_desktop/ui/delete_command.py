"""Soft delete as an undoable command: Delete removes, Ctrl+Z restores."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from PySide6.QtGui import QUndoCommand

from lora_desktop.services import adapters as adapter_service
from lora_desktop.services.errors import DomainError
from lora_desktop.services.library import Library

log = logging.getLogger(__name__)


class DeleteAdaptersCommand(QUndoCommand):
    """Soft-delete adapters (redo) and restore them (undo) through the services."""

    def __init__(
        self, library: Library, ids: Sequence[str], names: Sequence[str],
        report: Callable[[str], None],
    ) -> None:  # fmt: skip
        shown = names[0] if len(names) == 1 else f"{len(names)} adapters"
        super().__init__(f"Delete {shown}")
        self._library = library
        self._ids = list(ids)
        self._report = report

    def redo(self) -> None:
        """QUndoCommand.redo: soft-delete every adapter."""
        for adapter_id in self._ids:
            try:
                adapter_service.delete_adapter(self._library, adapter_id)
            except DomainError as exc:
                self._report(f"Not deleted: {exc.detail}")

    def undo(self) -> None:
        """QUndoCommand.undo: restore every adapter."""
        for adapter_id in self._ids:
            try:
                adapter_service.restore_adapter(self._library, adapter_id)
            except DomainError as exc:
                self._report(f"Not restored: {exc.detail}")
