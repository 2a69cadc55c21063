"""PySide6 6.12.0 loses a reference to ``True`` on every ``SignalInstance.emit()``
(and successful ``disconnect()``): on Python 3.11 the process then aborts with
``bool_dealloc``. ``lora_desktop.ui`` compensates; these runs would abort without it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui

ROOT = Path(__file__).resolve().parents[2]

# More signals than True has references at start-up (a few thousand), from the GUI
# thread and from pool threads, then a clean exit: without the fix this aborts.
SCRIPT = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QCoreApplication, QObject, QRunnable, QThreadPool, Signal

    import lora_desktop.ui  # installs the work-around

    class Source(QObject):
        ping = Signal(object)
        flag = Signal(bool)

    app = QCoreApplication([])
    source = Source()
    got = []
    source.ping.connect(got.append)
    before = sys.getrefcount(True)
    for i in range(20_000):
        source.ping.emit(i % 2 == 0)
        source.flag.emit(True)
    for _ in range(2_000):
        connection = source.flag.connect(got.append)
        source.flag.disconnect(connection)

    class Job(QRunnable):
        def run(self):
            for _ in range(5_000):
                source.ping.emit(False)

    pool = QThreadPool()
    for _ in range(4):
        pool.start(Job())
    pool.waitForDone()
    app.processEvents()
    lost = before - sys.getrefcount(True)
    print("lost", lost, "delivered", len(got))
    assert lost < 100, lost
    """
)


def test_many_signals_do_not_free_true() -> None:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "delivered 40000" in done.stdout


def test_install_is_idempotent_and_only_patches_what_leaks() -> None:
    from lora_desktop.ui import pyside_refcount

    first = pyside_refcount.patched()
    assert pyside_refcount.install() == first
    assert first <= {"emit", "disconnect"}
