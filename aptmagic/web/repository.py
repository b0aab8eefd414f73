"""The few queries only the admin pages need."""

from __future__ import annotations

from sqlalchemy import func, select

from aptmagic.jobs.models import Job, JobStatus
from aptmagic.kit.repository import Repository


class QueueStatsRepository(Repository[Job]):
    model = Job

    def depth(self) -> dict[str, int]:
        """How many jobs are queued and running now."""
        query = (
            select(Job.status, func.count())
            .where(Job.status.in_([JobStatus.queued, JobStatus.running]))
            .group_by(Job.status)
        )
        counts = {str(status): int(count) for status, count in self.session.execute(query).all()}
        return {"queued": counts.get("queued", 0), "running": counts.get("running", 0)}
