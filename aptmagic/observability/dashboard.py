"""The numbers behind /admin/dashboard, for the last 24 hours, by UTC hour."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aptmagic.jobs.models import JobStatus
from aptmagic.observability.repository import DashboardRepository, RequestCountRepository

HOURS = 24
STATUSES = ("succeeded", "failed", "canceled")


@dataclass(frozen=True)
class ModelTiming:
    model: str
    jobs: int
    p50: float
    p95: float


@dataclass(frozen=True)
class Dashboard:
    hours: list[datetime]
    requests: list[int]
    jobs_by_status: dict[str, list[int]]
    queue_depth: list[int]
    queued_now: int
    running_now: int
    requests_today: int
    timings: list[ModelTiming]


def _percentile(values: list[float], q: int) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def build_dashboard(session: Session, now: datetime) -> Dashboard:
    current = now.replace(minute=0, second=0, microsecond=0)
    hours = [current - timedelta(hours=HOURS - 1 - i) for i in range(HOURS)]
    index = {hour: i for i, hour in enumerate(hours)}
    counts = RequestCountRepository(session)
    requests = [0] * HOURS
    for hour, count in counts.hourly(hours[0]):
        if hour in index:
            requests[index[hour]] += count
    rows = DashboardRepository(session).jobs_touching(hours[0])
    by_status: dict[str, list[int]] = {status: [0] * HOURS for status in STATUSES}
    durations: defaultdict[str, list[float]] = defaultdict(list)
    now_status: Counter[str] = Counter()
    for model, status, _created, started, finished in rows:
        now_status[status] += 1
        if finished is not None and status in by_status:
            slot = index.get(finished.replace(minute=0, second=0, microsecond=0))
            if slot is not None:
                by_status[status][slot] += 1
                if status == JobStatus.succeeded and started is not None and finished > started:
                    durations[model].append((finished - started).total_seconds())
    depth = [_queued_at(rows, hour + timedelta(hours=1) if hour != current else now) for hour in hours]
    timings = [
        ModelTiming(model, len(values), _percentile(sorted(values), 50), _percentile(sorted(values), 95))
        for model, values in sorted(durations.items())
    ]
    return Dashboard(
        hours, requests, by_status, depth, now_status[JobStatus.queued], now_status[JobStatus.running],
        counts.day_total(now.date()), timings,
    )  # fmt: skip


def _queued_at(rows: Sequence[Any], moment: datetime) -> int:
    """Jobs submitted by ``moment`` that had neither started nor ended by then."""
    return sum(
        1
        for _model, _status, created, started, finished in rows
        if created <= moment and (started is None or started > moment) and (finished is None or finished > moment)
    )
