"""Deliveries from the window: is the GUI thread still responsive while 1,000 jobs go out?

Usage: QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/delivery_window_bench.py
       [--jobs 1000] [--per-tick 1] [--workers 2] [--probe-ms 10] [--runtime-in-process]

Opens the real main window (offscreen) on a fresh library, stores an ``http`` target
pointing at a local ``http.server`` runtime (answers at once; in its own process, as a
real runtime is, unless ``--runtime-in-process``) and
sends ``--jobs`` prompts through the window's Send path (``SendController.send``: the
job row is written on the GUI thread, the delivery runs on the window's delivery
pool), ``--per-tick`` per turn of the event loop. Meanwhile a ``--probe-ms`` timer on
the GUI thread records how late each tick comes. The run ends when the deliveries
panel lists every job as succeeded. Target: no tick late by more than 100 ms.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from local_runtime import pct, start_runtime, start_runtime_process
from PySide6.QtCore import QEventLoop, QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

TARGET_MS = 100.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--per-tick", type=int, default=1)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--probe-ms", type=int, default=10)
    parser.add_argument("--runtime-in-process", action="store_true")
    opts = parser.parse_args()

    if opts.runtime_in_process:
        server, url = start_runtime()
        stop_runtime = server.shutdown
    else:
        process, url = start_runtime_process()
        stop_runtime = process.kill

    work = Path(tempfile.mkdtemp(prefix="delivery-window-bench-"))
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, str(work / "cfg"))
    app = QApplication(sys.argv[:1])
    app.setApplicationName("lora-desktop-bench")
    from lora_desktop.app import create_main_window
    from lora_desktop.services import targets
    from lora_desktop.ui.delivery_pool import KEY_CONCURRENCY
    from lora_desktop.ui.main_window import MainWindow
    from lora_desktop.ui.settings import app_settings

    app_settings().setValue(KEY_CONCURRENCY, opts.workers)
    window = create_main_window(work / "library.sqlite3")
    assert isinstance(window, MainWindow)
    window.show()
    loop = QEventLoop()
    while not window.deliveries.ready:
        QTimer.singleShot(10, loop.quit)
        loop.exec()
    targets.create_target(window.library, {"name": "bench", "mode": "http", "config": {"url": url}})
    features = window.deliveries
    features.send.reload_targets()
    model = features.panel.model

    # Time the panel's GUI-thread work (applying a reloaded list) to see where lateness goes.
    spent: dict[str, list[float]] = {"apply": []}
    apply = model.apply

    def timed_apply(jobs: list[Any]) -> None:
        began = time.perf_counter()
        apply(jobs)
        spent["apply"].append((time.perf_counter() - began) * 1000)

    model.apply = timed_apply  # type: ignore[method-assign]

    gaps: list[float] = []
    last = [time.perf_counter()]

    when: list[float] = []

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - opts.probe_ms)
        when.append(now)
        last[0] = now

    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(opts.probe_ms)
    probe.timeout.connect(tick)

    sent: list[str] = []
    enqueue_ms: list[float] = []
    done_at: list[float] = []

    def send_some() -> None:
        for _ in range(opts.per_tick):
            if len(sent) >= opts.jobs:
                feeder.stop()
                done_at.append(time.perf_counter())
                return
            began = time.perf_counter()
            if not features.send.send(prompt=f"benchmark prompt #{len(sent)}"):
                raise SystemExit(f"not sent: {window.statusBar().currentMessage()}")
            enqueue_ms.append((time.perf_counter() - began) * 1000)
            sent.append(str(len(sent)))

    written = [0]
    rows_at: list[float] = []

    def on_sent(_job_id: str) -> None:
        written[0] += 1
        if written[0] == opts.jobs:
            rows_at.append(time.perf_counter())

    features.send.sent.connect(on_sent)
    feeder = QTimer()
    feeder.setInterval(0)
    feeder.timeout.connect(send_some)

    import gc

    gc.freeze()  # as ui/application.py does once the window is shown
    gc_pauses: list[tuple[float, float, int]] = []
    gc_began = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        now = time.perf_counter()
        if phase == "start":
            gc_began[0] = now
        else:
            gc_pauses.append((now, (now - gc_began[0]) * 1000, info["generation"]))

    gc.callbacks.append(on_gc)
    started = time.perf_counter()
    probe.start()
    feeder.start()
    deadline = started + 600
    while time.perf_counter() < deadline:
        QTimer.singleShot(50, loop.quit)
        loop.exec()
        if written[0] >= opts.jobs and not features.pool.in_flight:
            rows = [model.job_at(r) for r in range(model.rowCount())]
            shown = sum(1 for job in rows if job is not None and job.status == "succeeded")
            label = features.panel.stats_label.text()
            if f"{opts.jobs:,} succeeded" in label and shown == model.rowCount():
                break
    finished = time.perf_counter()
    probe.stop()
    label = features.panel.stats_label.text()
    window.close()
    stop_runtime()

    late = [max(g, 0.0) for g in gaps[1:]]
    print(f"jobs: {len(sent)}  per tick: {opts.per_tick}  workers: {opts.workers}")
    print(f"all Send clicks handled after {(done_at[0] - started):.2f} s" if done_at else "")
    print(f"all job rows written after {(rows_at[0] - started):.2f} s" if rows_at else "")
    print(f"all succeeded (panel) after {finished - started:.2f} s")
    print(f"panel: {label}")
    print(
        f"Send click on the GUI thread per job: median {statistics.median(enqueue_ms):.2f} ms, "
        f"p95 {pct(enqueue_ms, 0.95):.2f} ms, max {max(enqueue_ms):.1f} ms"
    )
    print(
        f"probe ({opts.probe_ms} ms timer, {len(late)} ticks) lateness: "
        f"median {statistics.median(late):.1f} ms, p99 {pct(late, 0.99):.1f} ms, "
        f"max {max(late):.1f} ms (target < {TARGET_MS:.0f} ms)"
    )
    for name, values in spent.items():
        if values:
            print(
                f"panel {name} on the GUI thread: {len(values)} times, median "
                f"{statistics.median(values):.1f} ms, max {max(values):.1f} ms"
            )
    worst = sorted(range(1, len(gaps)), key=lambda i: gaps[i])[-3:]
    print(
        "worst ticks (lateness ms @ s after start): "
        + ", ".join(f"{gaps[i]:.0f} @ {when[i] - started:.2f}" for i in reversed(worst))
    )
    long_gc = sorted(gc_pauses, key=lambda p: p[1])[-3:]
    print(
        f"garbage collections: {len(gc_pauses)}, longest (ms, generation @ s): "
        + ", ".join(f"{ms:.0f} gen{gen} @ {at - started:.2f}" for at, ms, gen in reversed(long_gc))
    )
    ok = max(late) < TARGET_MS
    print("target met" if ok else "target NOT met")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
