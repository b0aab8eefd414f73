"""Every query on jobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from aptmagic.kit.repository import Repository
from aptmagic.db.base import utcnow
from aptmagic.jobs.models import Job, JobOutput, JobStatus


@dataclass(frozen=True)
class JobFilters:
    status: str | None = None
    task: str | None = None
    model_id: str | None = None
    owner_id: str | None = None
    q: str | None = None  # a substring of the prompt, case-insensitive


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class JobRepository(Repository[Job]):
    model = Job

    def page(self, filters: JobFilters, after: tuple[datetime, str] | None, limit: int) -> Sequence[Job]:
        """Newest first, keyset-paginated on (created_at, id)."""
        query = select(Job)
        if filters.status:
            query = query.where(Job.status == filters.status)
        if filters.task:
            query = query.where(Job.task == filters.task)
        if filters.model_id:
            query = query.where(Job.model_id == filters.model_id)
        if filters.owner_id:
            query = query.where(Job.owner_id == filters.owner_id)
        if filters.q:
            prompt = func.lower(Job.params["prompt"].as_string())
            query = query.where(prompt.like(_like_pattern(filters.q.lower()), escape="\\"))
        if after is not None:
            created, job_id = after
            query = query.where(or_(Job.created_at < created, and_(Job.created_at == created, Job.id < job_id)))
        query = query.order_by(Job.created_at.desc(), Job.id.desc()).limit(limit)
        return self.session.scalars(query).all()

    def find_cached(self, cache_key: str, owner_id: str | None) -> Job | None:
        owner = Job.owner_id.is_(None) if owner_id is None else Job.owner_id == owner_id
        query = (
            select(Job)
            .where(Job.cache_key == cache_key, Job.status == JobStatus.succeeded, owner)
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def claim(self, job_id: str, worker: str) -> bool:
        """Atomically move a queued job to running; False if someone else has it or it ended."""
        now = utcnow()
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued, Job.cancel_requested.is_(False))
            .values(
                status=JobStatus.running,
                attempts=Job.attempts + 1,
                claimed_by=worker,
                started_at=now,
                run_after=None,
                progress_step=0,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)

    def set_fields(self, job_id: str, **values: Any) -> None:
        self.session.execute(
            update(Job).where(Job.id == job_id).values(**values).execution_options(synchronize_session=False)
        )

    def requeue_unless_canceled(self, job_id: str, **values: Any) -> bool:
        """Put a job back in the queue for a retry; False if its cancel was requested."""
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.cancel_requested.is_(False))
            .values(status=JobStatus.queued, claimed_by=None, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)

    def cancel_if_queued(self, job_id: str) -> bool:
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(status=JobStatus.canceled, cancel_requested=True, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)

    def is_cancel_requested(self, job_id: str) -> bool:
        return bool(self.session.scalar(select(Job.cancel_requested).where(Job.id == job_id)))

    def with_status(self, status: JobStatus) -> Sequence[Job]:
        return self.session.scalars(select(Job).where(Job.status == status).order_by(Job.created_at)).all()

    def other_uses(self, asset_ids: list[str], job_id: str) -> set[str]:
        """Which of these assets are outputs of a job other than ``job_id`` (cache hits share them)."""
        if not asset_ids:
            return set()
        query = select(JobOutput.asset_id).where(JobOutput.asset_id.in_(asset_ids), JobOutput.job_id != job_id)
        return set(self.session.scalars(query).all())
