"""Queries behind the admin dashboard."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, or_, select
from sqlalchemy.orm import Session

from aptmagic.jobs.models import Job, JobStatus


class DashboardRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def jobs_touching(self, since: datetime) -> Sequence[Row[tuple[str, str, datetime, datetime | None, datetime | None]]]:
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
