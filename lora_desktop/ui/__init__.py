"""Qt widgets and item models over the services."""

from lora_desktop.ui import pyside_refcount

# Before any signal is emitted: PySide6 6.12.0 loses a reference to True per emit.
pyside_refcount.install()
