"""Every query of the alerts domain: request counts, job outcomes, sent alerts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aptmagic.alerts.models import AlertSent
from aptmagic.db.base import utcnow
from aptmagic.jobs.models import Job, JobStatus
from aptmagic.observability.models import ApiRequestCount


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
        return [(row.hour, int(row.count)) for row in self.session.execute(query.order_by(ApiRequestCount.hour))]


class JobStatsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def finished_since(self, since: datetime) -> dict[str, int]:
        query = (
            select(Job.status, func.count())
            .where(Job.finished_at >= since, Job.status.in_([JobStatus.succeeded, JobStatus.failed]))
            .group_by(Job.status)
        )
        return {str(status): int(count) for status, count in self.session.execute(query)}

    def count_with_status(self, status: JobStatus) -> int:
        return int(self.session.scalar(select(func.count()).select_from(Job).where(Job.status == status)) or 0)


class AlertRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def claim(self, period: str, kind: str, channel: str, message: str) -> int | None:
        """The new row's id, or None when this (period, kind, channel) was claimed before."""
        row = AlertSent(period=period, kind=kind, channel=channel, status="sending", message=message, created_at=utcnow())
        try:
            with self.session.begin_nested():
                self.session.add(row)
        except IntegrityError:
            return None
        return row.id

    def finish(self, alert_id: int, status: str, error: str | None) -> None:
        self.session.execute(
            update(AlertSent).where(AlertSent.id == alert_id).values(status=status, error=error, finished_at=utcnow())
        )

    def sent(self, kind: str | None = None) -> Sequence[AlertSent]:
        query = select(AlertSent).order_by(AlertSent.id)
        if kind:
            query = query.where(AlertSent.kind == kind)
        return self.session.scalars(query).all()
