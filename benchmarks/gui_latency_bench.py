"""GUI responsiveness during a registration and a hash run (issue 4).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_latency_bench.py /tmp/synth

Opens the real main window offscreen on a fresh library, drops the synthetic
library's folders on it (``import_paths``), and lets the background hashing that
follows every import run to its end. A 10 ms ``QTimer`` on the GUI thread records
how late each tick arrives; the target is "never late by more than 50 ms".
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TICK_MS = 10


def main() -> None:
    parser = argparse.ArgumentParser(description="GUI timer lateness during import + hashing")
    parser.add_argument("root", type=Path, help="a library made by synth_library.py")
    parser.add_argument("--folders", type=int, default=0, help="only this many small folders")
    args = parser.parse_args()

    from PySide6.QtCore import QElapsedTimer, QSettings, Qt, QTimer
    from PySide6.QtWidgets import QApplication

    from lora_desktop.ui.main_window import build_main_window

    app = QApplication(sys.argv)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")
        os.environ["XDG_DATA_HOME"] = os.path.join(tmp, "data")
        QSettings.setDefaultFormat(QSettings.Format.IniFormat)
        QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, tmp)
        small = sorted(p for p in (args.root / "small").iterdir() if p.is_dir())
        if args.folders:
            small = small[: args.folders]
        paths = [str(p) for p in small] + [str(args.root / "big")]
        window = build_main_window(os.path.join(tmp, "lib.sqlite3"))
        window.show()
        gc.freeze()  # as ui/application.py does right after showing the window
        late: list[float] = []
        clock = QElapsedTimer()
        phase = {"name": "start", "import_s": 0.0, "hash_s": 0.0}
        marks: dict[str, float] = {}

        by_phase: dict[str, float] = {}

        def tick() -> None:
            elapsed = clock.restart()
            late.append(max(0.0, elapsed - TICK_MS))
            name = "hashing" if "hash" in marks else "registration"
            by_phase[name] = max(by_phase.get(name, 0.0), late[-1])

        timer = QTimer()
        timer.setTimerType(Qt.TimerType.PreciseTimer)
        timer.setInterval(TICK_MS)
        timer.timeout.connect(tick)

        def begin() -> None:
            clock.start()
            timer.start()
            marks["import"] = time.perf_counter()
            window.import_paths(paths)

        def imports_idle() -> None:
            phase["import_s"] = time.perf_counter() - marks["import"]
            marks["hash"] = time.perf_counter()

        def hashing_idle() -> None:
            if "hash" not in marks:
                return  # the start-up run on the empty library
            phase["hash_s"] = time.perf_counter() - marks["hash"]
            timer.stop()
            window.close()
            app.quit()

        window.imports.idle.connect(imports_idle)
        window.inspection.hashing.idle.connect(hashing_idle)
        QTimer.singleShot(300, begin)
        app.exec()
    rows = window.model.rowCount()
    ordered = sorted(late)
    p99 = ordered[int(len(ordered) * 0.99)] if ordered else 0.0
    print(
        f"{rows:,} adapters registered in {phase['import_s']:.2f} s, hashed in "
        f"{phase['hash_s']:.2f} s; {len(late):,} ticks of {TICK_MS} ms: lateness max "
        f"{max(late, default=0):.0f} ms, p99 {p99:.0f} ms, median "
        f"{statistics.median(late) if late else 0:.0f} ms"
    )
    print(
        "max lateness by phase: "
        + ", ".join(f"{name} {value:.0f} ms" for name, value in by_phase.items())
    )


if __name__ == "__main__":
    main()
