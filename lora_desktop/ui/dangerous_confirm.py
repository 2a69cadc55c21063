"""Asking before a dangerous adapter (a pickle that would run code) is activated.

The box is window-modal and opened without blocking; its "Activate anyway"
button calls back, and the caller then passes ``confirm_dangerous=True`` to the
service. Cancel (or Escape) calls the optional ``on_cancelled``. Names and
globals come from files: shown as plain text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

GLOBALS_SHOWN = 12
ACTIVATE_ANYWAY = "Activate anyway"


def ask_activate_dangerous(
    parent: QWidget,
    names: Sequence[str],
    offending: Sequence[str],
    on_confirmed: Callable[[], None],
    on_cancelled: Callable[[], None] | None = None,
) -> QMessageBox:
    """Open the warning; ``on_confirmed`` runs only if "Activate anyway" is clicked.

    ``on_cancelled`` runs when the artist refuses (Cancel, Escape or closing the box).
    """
    box = QMessageBox(parent)
    box.setObjectName("dangerousConfirmBox")
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle("Dangerous adapter")
    box.setTextFormat(Qt.TextFormat.PlainText)
    who = names[0] if len(names) == 1 else f"{len(names)} adapters"
    box.setText(
        f"{who}: loading this pickle file would run code from outside the safe list. "
        "Activate it only if you trust where it came from."
    )
    listed = list(dict.fromkeys(offending))
    lines = listed[:GLOBALS_SHOWN]
    if len(listed) > GLOBALS_SHOWN:
        lines.append(f"… and {len(listed) - GLOBALS_SHOWN} more")
    box.setInformativeText("It would import:\n" + "\n".join(lines or ["(unknown)"]))
    anyway = box.addButton(ACTIVATE_ANYWAY, QMessageBox.ButtonRole.DestructiveRole)
    anyway.setObjectName("activateAnywayButton")
    cancel = box.addButton(QMessageBox.StandardButton.Cancel)
    cancel.setObjectName("dangerousCancelButton")
    box.setDefaultButton(cancel)
    box.setEscapeButton(cancel)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

    def clicked(button: QAbstractButton) -> None:
        if button is anyway:
            on_confirmed()
        elif on_cancelled is not None:
            on_cancelled()

    box.buttonClicked.connect(clicked)
    box.open()
    return box
