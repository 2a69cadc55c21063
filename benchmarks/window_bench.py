"""Main window benchmark: first paint, keystroke refilter, drag-reorder save, memory.

Usage:
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/window_bench.py [N ...]
    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/window_bench.py --files /tmp/synth/small

Default sizes: 10000 and 50000 adapters. Each library is built once (empty
``.safetensors`` files registered with ``register_many``) under
``$TMPDIR/lora-desk-window-bench``; the measured part runs in a fresh Python
process per size, so "first paint" counts from a real process start (the
parent takes the time just before it starts the child). A reorder save counts
from the drop to the model's ``order_saved`` (the order is in the database);
``reorder_drop_ms`` is the part the GUI thread spends on the drop itself.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGETS = {
    10_000: {"first_paint_s": 1.0, "keystroke_ms": 50, "reorder_save_ms": 100, "rss_mb": 300},
    50_000: {"first_paint_s": 2.0, "keystroke_ms": 100},
}
WORK = Path(tempfile.gettempdir()) / "lora-desk-window-bench"


def build_library(n: int, real_files: Path | None = None) -> Path:
    """A library of ``n`` adapters (reused when it already holds them).

    Without ``real_files``: ``n`` empty ``.safetensors`` files. Being empty, they are
    "incomplete" and checked again at every start, so each measured start also runs
    a hash pass over them in the background: the worst case. With ``real_files`` (a
    folder made by ``synth_library.py``): those files, registered and hashed once
    before measuring, as an artist's library is on a usual start.
    """
    from lora_desktop.services import adapters
    from lora_desktop.services.inspect.hash_service import hash_pending
    from lora_desktop.services.library import open_library
    from lora_desktop.services.registration import register_many

    if real_files is not None:
        root = WORK / f"real-{real_files.name}"
        files = real_files
        root.mkdir(parents=True, exist_ok=True)
    else:
        root = WORK / f"n{n}"
        files = root / "files"
        files.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            path = files / f"d{i // 1000:03d}" / f"lora_{i:06d}.safetensors"
            if i % 1000 == 0:
                path.parent.mkdir(exist_ok=True)
            if not path.exists():
                path.touch()
    database = root / "library.sqlite3"
    lib = open_library(database)
    try:
        have = adapters.counts(lib)["adapters"]
        if have == 0 if real_files is not None else have != n:
            started = time.perf_counter()
            register_many(lib, [files])
            print(f"  registered {adapters.counts(lib)['adapters']} adapters in "
                  f"{time.perf_counter() - started:.1f} s")  # fmt: skip
            if real_files is not None:
                started = time.perf_counter()
                report = hash_pending(lib)
                print(f"  hashed {report} in {time.perf_counter() - started:.1f} s")
            rows = adapters.list_rows(lib)
            # Give some rows tags and activity so filters have something to do.
            for row in rows[:: max(1, n // 50)]:
                adapters.update_adapter(lib, row.id, {"tags": ["style"], "active": True})
    finally:
        lib.close()
    return database


def child(database: str, started_at: float) -> None:
    """The measured process: open the window, paint, type, drag; print one JSON line."""
    from PySide6.QtCore import QEvent, QEventLoop, QObject, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from lora_desktop.ui.main_window import build_main_window

    settings_dir = tempfile.mkdtemp(prefix="lora-desk-bench-settings-")
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, settings_dir)
    app = QApplication(sys.argv[:1])
    window = build_main_window(database)
    painted: dict[str, float] = {}

    class PaintWatch(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if event.type() == QEvent.Type.Paint and "paint" not in painted:
                # Stamp once this paint (and everything queued before it) is done.
                QTimer.singleShot(0, lambda: painted.setdefault("paint", time.time()))
            return False

    watch = PaintWatch()
    window.list_view.viewport().installEventFilter(watch)
    window.show()
    gc.freeze()  # as ui/application.py does right after showing the window
    while "paint" not in painted:
        app.processEvents()
    first_paint = painted["paint"] - started_at
    rows = window.model.rowCount()

    from PySide6.QtTest import QTest  # the app never loads it: not part of first paint

    # Keystrokes: type a query one key at a time, then erase it.
    field = window.search_field
    field.setFocus()
    timings: list[float] = []
    for key in "lora_0012":
        begin = time.perf_counter()
        QTest.keyClicks(field, key)
        app.processEvents()
        timings.append(time.perf_counter() - begin)
    for _ in range(9):
        begin = time.perf_counter()
        QTest.keyClick(field, Qt.Key.Key_Backspace)
        app.processEvents()
        timings.append(time.perf_counter() - begin)

    # Drag-reorder saves: move a row from the middle near the top, several times.
    # The drop returns at once (the GUI thread's part); the order is then written
    # on the model's save thread: a save counts until its order_saved signal.
    model = window.model
    from PySide6.QtCore import QModelIndex

    saves: list[float] = []
    drops: list[float] = []
    saved: list[float] = []
    model.order_saved.connect(lambda _count: saved.append(time.perf_counter()))
    viewport = window.list_view.viewport()
    for step in range(5):
        source = rows // 2 + step * 7
        # A real drag moves the mouse over the list before the drop: the app sees it
        # as the artist being busy (background start-up work waits for a pause).
        QTest.mouseMove(viewport, viewport.rect().center())
        begin = time.perf_counter()
        ok = model.moveRows(QModelIndex(), source, 1, QModelIndex(), 3 + step)
        drops.append(time.perf_counter() - begin)
        assert ok
        while len(saved) <= step:
            # Wait in the event loop, as the app does: a processEvents() spin would keep
            # the GIL busy on this thread and slow the save thread down.
            waiting = QEventLoop()
            model.order_saved.connect(waiting.quit)
            QTimer.singleShot(50, waiting.quit)
            if len(saved) <= step:
                waiting.exec()
            model.order_saved.disconnect(waiting.quit)
        saves.append(saved[step] - begin)
    rss_kb = peak_kb = 0
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss_kb = int(line.split()[1])
            elif line.startswith("VmHWM:"):
                peak_kb = int(line.split()[1])
    window.close()
    print(
        json.dumps(
            {
                "rows": rows,
                "first_paint_s": round(first_paint, 3),
                "keystroke_ms_median": round(statistics.median(timings) * 1000, 1),
                "keystroke_ms_max": round(max(timings) * 1000, 1),
                "reorder_save_ms_median": round(statistics.median(saves) * 1000, 1),
                "reorder_save_ms_max": round(max(saves) * 1000, 1),
                "reorder_drop_ms_max": round(max(drops) * 1000, 1),
                "rss_mb": round(rss_kb / 1024),
                "peak_rss_mb": round(peak_kb / 1024),
            }
        )
    )


def measure(n: int, real_files: Path | None = None) -> dict[str, float]:
    """Run the measured child on the library of ``n`` adapters (or of ``real_files``)."""
    database = build_library(n, real_files)
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    # Warm the file cache once, as on a desktop where the app ran before.
    subprocess.run(
        [sys.executable, __file__, "--child", str(database), str(time.time())],
        env=env, capture_output=True, check=True,
    )  # fmt: skip
    started = time.time()
    done = subprocess.run(
        [sys.executable, __file__, "--child", str(database), str(started)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def main(argv: list[str]) -> int:
    """Measure each size and compare with its targets."""
    if len(argv) > 1 and argv[1] == "--child":
        child(argv[2], float(argv[3]))
        return 0
    args = argv[1:]
    real_files: Path | None = None
    if "--files" in args:  # a synthetic library of real files instead of empty ones
        at = args.index("--files")
        real_files = Path(args[at + 1]).resolve()
        del args[at : at + 2]
    sizes = [int(a) for a in args] or ([10_000] if real_files else [10_000, 50_000])
    failed = False
    for n in sizes:
        print(f"{n} adapters" + (f" (files of {real_files})" if real_files else "") + ":")
        result = measure(n, real_files)
        for key, value in result.items():
            print(f"  {key:24} {value}")
        for key, limit in TARGETS.get(n, {}).items():
            measured = next(v for k, v in result.items() if k.startswith(key))
            if key in ("keystroke_ms", "reorder_save_ms"):
                measured = result[f"{key}_max"]
            verdict = "ok" if measured <= limit else "MISSED"
            failed |= verdict != "ok"
            print(f"  target {key} <= {limit}: {measured} {verdict}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
