"""Deliveries: per-job overhead (database + scheduling) for 1,000 jobs to a local HTTP target.

Usage: .venv/bin/python benchmarks/delivery_bench.py [--jobs 1000] [--workers 2]

Starts a local HTTP runtime (http.server in a thread, answers ``{"ok": true}`` at
once), stores a target, enqueues ``--jobs`` jobs (each with a distinct prompt) and
runs them on a thread pool of ``--workers``. The http runner is wrapped to time the
HTTP exchange itself; overhead = ``run_job`` wall time minus that, plus the enqueue.
Wall times swing with the machine's load: the CPU time of the run phase (every
thread of the process, the local runtime's included) is printed too.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from local_runtime import pct, start_runtime

from lora_desktop.services import deliveries, targets
from lora_desktop.services.delivery_stats import delivery_stats
from lora_desktop.services.library import open_library
from lora_desktop.services.runners import Outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    opts = parser.parse_args()

    server, url = start_runtime()

    runner_ms: dict[str, float] = {}
    plain = deliveries.runner_for("http")
    assert plain is not None

    def timed(prompt: str, params: dict[str, Any], cancel: threading.Event) -> Outcome:
        start = time.perf_counter()
        try:
            return plain(prompt, params, cancel)
        finally:
            runner_ms[prompt] = (time.perf_counter() - start) * 1000

    deliveries.runner_for = lambda mode: timed if mode == "http" else None  # type: ignore[assignment]
    with tempfile.TemporaryDirectory() as folder:
        lib = open_library(Path(folder) / "bench.sqlite3")
        targets.create_target(lib, {"name": "local", "mode": "http", "config": {"url": url}})

        enqueue_ms = []
        ids = []
        t0 = time.perf_counter()
        for i in range(opts.jobs):
            start = time.perf_counter()
            ids.append(deliveries.enqueue(lib, target="local", prompt=f"prompt {i}").id)
            enqueue_ms.append((time.perf_counter() - start) * 1000)
        enqueue_total = time.perf_counter() - t0

        job_ms: dict[str, float] = {}

        def run(job_id: str) -> str:
            start = time.perf_counter()
            out = deliveries.run_job(lib, job_id)
            job_ms[out.prompt] = (time.perf_counter() - start) * 1000
            return out.status

        t0, cpu0 = time.perf_counter(), time.process_time()
        with ThreadPoolExecutor(opts.workers) as pool:
            statuses = list(pool.map(run, ids))
        run_total = time.perf_counter() - t0
        run_cpu = time.process_time() - cpu0
        stats = delivery_stats(lib)
        lib.close()
    server.shutdown()

    overhead = [job_ms[p] - runner_ms[p] for p in job_ms]
    http_ms = list(runner_ms.values())
    print(f"jobs: {opts.jobs}, workers: {opts.workers}, succeeded: {statuses.count('succeeded')}")
    print(
        f"enqueue: {enqueue_total:.2f} s total, median {statistics.median(enqueue_ms):.2f} ms, "
        f"p95 {pct(enqueue_ms, 0.95):.2f} ms per job"
    )
    print(
        f"run_job overhead (minus the HTTP exchange): median {statistics.median(overhead):.2f} ms,"
        f" p95 {pct(overhead, 0.95):.2f} ms per job"
    )
    print(f"HTTP exchange: median {statistics.median(http_ms):.2f} ms")
    print(
        f"run: {run_total:.2f} s total, {opts.jobs / run_total:.0f} jobs/s; "
        f"per-job overhead (enqueue + run median): "
        f"{statistics.median(enqueue_ms) + statistics.median(overhead):.2f} ms"
    )
    print(
        f"run CPU (all threads, the local runtime's included): {run_cpu:.2f} s, "
        f"{run_cpu / opts.jobs * 1000:.2f} ms per job"
    )
    print(
        f"delivery_stats latency p50/p99: {stats.latency_ms.p50:.1f}/{stats.latency_ms.p99:.1f} ms"
    )


if __name__ == "__main__":
    main()
