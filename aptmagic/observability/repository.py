"""Every query of the observability domain: request counts, job traces, the dashboard's jobs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Row, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from aptmagic.jobs.models import Job, JobStatus
from aptmagic.observability.models import ApiRequestCount, JobTrace


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), UTC)
    return start, start + timedelta(days=1)


class RequestCountRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def increment(self, hour: datetime, count: int) -> None:
        """Atomic: ``INSERT ... ON CONFLICT (hour) DO UPDATE SET count = count + n``."""
        dialect = self.session.get_bind().dialect.name
        insert: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        stmt = insert(ApiRequestCount).values(hour=hour, count=count)
        stmt = stmt.on_conflict_do_update(
            index_elements=["hour"], set_={"count": ApiRequestCount.count + stmt.excluded.count}
        )
        self.session.execute(stmt)

    def day_total(self, day: date) -> int:
        start, end = day_bounds(day)
        query = select(func.coalesce(func.sum(ApiRequestCount.count), 0)).where(
            ApiRequestCount.hour >= start, ApiRequestCount.hour < end
        )
        return int(self.session.scalar(query) or 0)

    def hourly(self, since: datetime) -> Sequence[tuple[datetime, int]]:
        query = select(ApiRequestCount.hour, ApiRequestCount.count).where(ApiRequestCount.hour >= since)
        return [(hour, int(count)) for hour, count in self.session.execute(query.order_by(ApiRequestCount.hour))]


class TraceRepository:
    """The request id that submitted each job."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, job_id: str, request_id: str) -> None:
        self.session.add(JobTrace(job_id=job_id, request_id=request_id))

    def request_id(self, job_id: str) -> str | None:
        return self.session.scalar(select(JobTrace.request_id).where(JobTrace.job_id == job_id))


class DashboardRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def jobs_touching(self, since: datetime) -> Sequence[Row[str, str, datetime, datetime | None, datetime | None]]:
        """(model, status, created, started, finished) of every job created since
        ``since`` or still queued or running then (for the queue-depth history)."""
        query = select(Job.model_id, Job.status, Job.created_at, Job.started_at, Job.finished_at).where(
            or_(
                Job.created_at >= since,
                Job.finished_at >= since,
                Job.status.in_([JobStatus.queued, JobStatus.running]),
            )
        )
        return self.session.execute(query).all()
