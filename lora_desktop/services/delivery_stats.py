"""Delivery metrics for the deliveries panel: counts and latency percentiles."""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import func, select

from lora_desktop.models.delivery import DeliveryStats, Latency
from lora_desktop.models.tables import DeliveryJob
from lora_desktop.services.library import Library

WINDOW = 1000
"""Latency is measured over this many most recently finished jobs."""


def _percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def delivery_stats(lib: Library) -> DeliveryStats:
    """Jobs per status and per target, attempts, and the duration (start to finish) of
    the last ``WINDOW`` finished jobs as percentiles in milliseconds."""
    with lib.db.read() as session:
        target = DeliveryJob.params["target"].as_string()  # portable JSON path
        rows = session.execute(
            select(
                DeliveryJob.status,
                target,
                func.count(),
                func.coalesce(func.sum(DeliveryJob.attempts), 0),
                func.sum(DeliveryJob.attempts > 1),
            ).group_by(DeliveryJob.status, target)
        ).all()
        times = session.execute(
            select(DeliveryJob.started_at, DeliveryJob.finished_at)
            .where(DeliveryJob.finished_at.is_not(None), DeliveryJob.started_at.is_not(None))
            .order_by(DeliveryJob.finished_at.desc())
            .limit(WINDOW)
        ).all()
    by_status: Counter[str] = Counter()
    by_target: dict[str, Counter[str]] = defaultdict(Counter)
    attempts = retried = 0
    for status, name, count, tries, multi in rows:
        by_status[status] += count
        by_target[str(name) if name else "(none)"][status] += count
        attempts += int(tries or 0)
        retried += int(multi or 0)
    durations = sorted(
        (finished - started).total_seconds() * 1000
        for started, finished in times
        if started is not None and finished is not None
    )
    latency = Latency(
        count=len(durations),
        p50=_percentile(durations, 0.5) if durations else None,
        p90=_percentile(durations, 0.9) if durations else None,
        p99=_percentile(durations, 0.99) if durations else None,
        max=durations[-1] if durations else None,
    )
    return DeliveryStats(
        total=sum(by_status.values()),
        by_status=dict(by_status),
        by_target={k: dict(v) for k, v in by_target.items()},
        attempts=attempts,
        retried=retried,
        latency_ms=latency,
    )
