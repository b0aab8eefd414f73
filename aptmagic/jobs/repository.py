"""Every query on jobs: the rows, their leases, idempotency keys and counts."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple

from sqlalchemy import ColumnElement, Row, and_, delete, false, func, null, or_, select, update
from sqlalchemy.orm import Session

from aptmagic.assets.models import Asset
from aptmagic.db.base import utcnow
from aptmagic.jobs.models import IdempotencyKey, Job, JobOutput, JobStatus
from aptmagic.kit.repository import Repository

ACTIVE_STATUSES = (JobStatus.queued, JobStatus.running)


class _Anyone(enum.Enum):
    anyone = "anyone"


ANYONE = _Anyone.anyone
# Whose jobs to count: a user id, None for the jobs nobody owns (authentication off), or ANYONE.
Owner = str | None | Literal[_Anyone.anyone]


@dataclass(frozen=True)
class JobFilters:
    status: str | None = None
    task: str | None = None
    model_id: str | None = None
    owner_id: str | None = None
    q: str | None = None  # a substring of the prompt, case-insensitive


@dataclass(frozen=True)
class ActiveJobs:
    """Jobs queued and running now."""

    queued: int = 0
    running: int = 0

    @property
    def total(self) -> int:
        return self.queued + self.running

    def by_status(self) -> dict[str, int]:
        return {str(JobStatus.queued): self.queued, str(JobStatus.running): self.running}


class JobTiming(NamedTuple):
    task: str
    model_id: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class LeaseState(NamedTuple):
    status: str
    lease_expires_at: datetime | None
    attempts: int
    max_attempts: int


def _owned_by(owner_id: str | None) -> ColumnElement[bool]:
    return Job.owner_id.is_(None) if owner_id is None else Job.owner_id == owner_id


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
        query = (
            select(Job)
            .where(Job.cache_key == cache_key, Job.status == JobStatus.succeeded, _owned_by(owner_id))
            .order_by(Job.created_at.desc())
            .limit(1)
        )
        return self.session.scalars(query).first()

    def find_fallbacks(self, fallback_key: str, owner_id: str | None, limit: int = 5) -> Sequence[Job]:
        """The owner's newest succeeded jobs of the same request, any seed, made by an engine (not fallbacks)."""
        query = (
            select(Job)
            .where(Job.fallback_key == fallback_key, Job.status == JobStatus.succeeded, _owned_by(owner_id))
            .where(or_(Job.served_from.is_(None), Job.served_from != "fallback"))
            .order_by(Job.created_at.desc())
            .limit(limit)
        )
        return self.session.scalars(query).all()

    def set_fields(self, job_id: str, **values: Any) -> None:
        self.session.execute(
            update(Job).where(Job.id == job_id).values(**values).execution_options(synchronize_session=False)
        )

    def cancel_if_queued(self, job_id: str) -> bool:
        result = self.session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(status=JobStatus.canceled, cancel_requested=True, finished_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

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

    def add_outputs(self, job_id: str, assets: Sequence[Asset]) -> None:
        """Insert new output assets, then the links that make them the job's outputs, in order."""
        self.session.add_all(assets)
        self.session.flush()
        self.session.add_all(JobOutput(job_id=job_id, position=i, asset_id=a.id) for i, a in enumerate(assets))

    def link_outputs(self, job_id: str, asset_ids: Sequence[str]) -> None:
        """Make existing assets the job's outputs, in order (a stored result answering it)."""
        self.session.add_all(JobOutput(job_id=job_id, position=i, asset_id=a) for i, a in enumerate(asset_ids))

    def snapshot(self, job_id: str) -> Row[Any]:
        """What a worker needs to run the job: the columns only, not the row with its outputs."""
        query = select(
            Job.task, Job.model_id, Job.model_version, Job.params, Job.seed,
            Job.attempts, Job.max_attempts, Job.queue_name, Job.progress_total, Job.owner_id,
        ).where(Job.id == job_id)  # fmt: skip
        return self.session.execute(query).one()

    def timing(self, job_id: str) -> JobTiming | None:
        """None when the job is gone."""
        query = select(Job.task, Job.model_id, Job.status, Job.created_at, Job.started_at, Job.finished_at)
        row = self.session.execute(query.where(Job.id == job_id)).first()
        return None if row is None else JobTiming(*row)

    # counts

    def active(self, owner: Owner = ANYONE) -> ActiveJobs:
        """Jobs queued and running now: what concurrent limits, the queue view and the gauges count."""
        query = select(Job.status, func.count()).where(Job.status.in_(ACTIVE_STATUSES))
        if owner is not ANYONE:
            query = query.where(_owned_by(owner))
        counts = {str(status): int(n) for status, n in self.session.execute(query.group_by(Job.status))}
        return ActiveJobs(counts.get(JobStatus.queued, 0), counts.get(JobStatus.running, 0))

    def created_since(self, owner_id: str | None, since: datetime) -> int:
        query = select(func.count()).select_from(Job).where(_owned_by(owner_id), Job.created_at >= since)
        return int(self.session.scalar(query) or 0)

    def finished_since(self, since: datetime) -> dict[str, int]:
        """Jobs succeeded and failed since ``since``, by status."""
        query = (
            select(Job.status, func.count())
            .where(Job.finished_at >= since, Job.status.in_([JobStatus.succeeded, JobStatus.failed]))
            .group_by(Job.status)
        )
        return {str(status): int(count) for status, count in self.session.execute(query)}


def _reclaimable(now: datetime) -> ColumnElement[bool]:
    return and_(Job.status == JobStatus.running, Job.lease_expires_at < now, Job.attempts < Job.max_attempts)


class LeaseRepository(Repository[Job]):
    """The conditional UPDATEs of the claim/lease state machine (see jobs.lease). Each
    returns whether its row matched: a False is another process winning the race."""

    model = Job

    def _update(self, *conditions: Any, **values: Any) -> bool:
        query = update(Job).where(*conditions).values(**values).execution_options(synchronize_session=False)
        return bool(self.session.execute(query).rowcount)  # type: ignore[attr-defined]

    def claim(self, job_id: str, token: str, now: datetime, lease_until: datetime) -> bool:
        """Take a queued job, or one whose worker's lease expired; counts an attempt."""
        return self._update(
            Job.id == job_id,
            Job.cancel_requested.is_(False),
            or_(Job.status == JobStatus.queued, _reclaimable(now)),
            status=JobStatus.running,
            attempts=Job.attempts + 1,
            claimed_by=token,
            lease_expires_at=lease_until,
            started_at=now,
            run_after=None,
            progress_step=0,
        )

    def state(self, job_id: str) -> LeaseState | None:
        """None when the job is gone."""
        query = select(Job.status, Job.lease_expires_at, Job.attempts, Job.max_attempts).where(Job.id == job_id)
        row = self.session.execute(query).first()
        return None if row is None else LeaseState(*row)

    def cancel_expired(self, job_id: str, now: datetime) -> bool:
        """End as canceled a job whose lease expired and whose cancel was asked for."""
        return self._update(
            *_expired(job_id, now), Job.cancel_requested.is_(True),
            status=JobStatus.canceled, finished_at=now, claimed_by=None, lease_expires_at=None,
        )  # fmt: skip

    def fail_expired(self, job_id: str, now: datetime, code: str, message: str) -> bool:
        """End as failed a job whose lease expired on its last allowed attempt."""
        return self._update(
            *_expired(job_id, now), Job.attempts >= Job.max_attempts,
            status=JobStatus.failed, finished_at=now, claimed_by=None, lease_expires_at=None,
            error_code=code, error_message=message,
        )  # fmt: skip

    def renew(self, job_id: str, token: str, lease_until: datetime) -> bool:
        """Push the lease on; False when this worker no longer holds the job."""
        return self._update(*_held(job_id, token), lease_expires_at=lease_until)

    def finish(self, job_id: str, token: str, *, unless_canceled: bool = False, **values: Any) -> bool:
        """Write the job's end (or its retry) only if this worker still holds it."""
        conditions = [*_held(job_id, token)] + ([Job.cancel_requested.is_(False)] if unless_canceled else [])
        return self._update(*conditions, lease_expires_at=None, **values)

    def succeed(
        self, job_id: str, token: str, *, now: datetime, inference_ms: float | None, result: Any,
        served_from: str, cached_from_id: str | None = None,
    ) -> bool:  # fmt: skip
        """``finish`` as succeeded, every step done; ``result`` None stores SQL NULL."""
        values: dict[str, Any] = {"cached_from_id": cached_from_id} if cached_from_id else {}
        return self.finish(
            job_id, token, status=JobStatus.succeeded, progress_step=Job.progress_total, finished_at=now,
            inference_ms=inference_ms, result=null() if result is None else result, error_code=None, error_message=None,
            served_from=served_from, **values,
        )  # fmt: skip

    def release(self, job_id: str, token: str, now: datetime) -> bool:
        """Give a running job back to the queue without counting the attempt (graceful stop)."""
        return self.finish(
            job_id, token,
            status=JobStatus.queued, claimed_by=None, attempts=Job.attempts - 1, queued_at=now, progress_step=0,
        )  # fmt: skip

    def stale_queued(self, cutoff: datetime, now: datetime, limit: int) -> list[tuple[str, str]]:
        """Queued jobs that should have started by now: their message may be lost."""
        waiting = or_(Job.queued_at < cutoff, and_(Job.queued_at.is_(None), Job.created_at < cutoff))
        due = or_(Job.run_after.is_(None), Job.run_after <= now)
        rows = self.session.execute(
            select(Job.id, Job.queue_name)
            .where(Job.status == JobStatus.queued, Job.cancel_requested.is_(False), waiting, due)
            .order_by(Job.created_at)
            .limit(limit)
        ).all()
        return [(row.id, row.queue_name) for row in rows]

    def mark_redispatched(self, job_id: str, cutoff: datetime, now: datetime) -> bool:
        """Only one process resends a given job per period: the first to move its queued_at on."""
        return self._update(
            Job.id == job_id,
            Job.status == JobStatus.queued,
            or_(Job.queued_at.is_(None), Job.queued_at < cutoff),
            queued_at=now,
        )

    def expired_running(self, now: datetime, limit: int) -> list[tuple[str, str]]:
        rows = self.session.execute(
            select(Job.id, Job.queue_name)
            .where(Job.status == JobStatus.running, Job.lease_expires_at < now)
            .order_by(Job.lease_expires_at)
            .limit(limit)
        ).all()
        return [(row.id, row.queue_name) for row in rows]

    def requeue_expired(self, job_id: str, now: datetime) -> bool:
        """Put a dead worker's job back in the queue (its attempt stays counted)."""
        return self._update(
            Job.id == job_id, _reclaimable(now), Job.cancel_requested == false(),
            status=JobStatus.queued, claimed_by=None, lease_expires_at=None, queued_at=now, progress_step=0,
        )  # fmt: skip


def _held(job_id: str, token: str) -> tuple[ColumnElement[bool], ...]:
    return Job.id == job_id, Job.claimed_by == token, Job.status == JobStatus.running


def _expired(job_id: str, now: datetime) -> tuple[ColumnElement[bool], ...]:
    return Job.id == job_id, Job.status == JobStatus.running, Job.lease_expires_at < now


class IdempotencyRepository:
    """Idempotency keys, under their (owner, key) primary key."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def find(self, owner: str, key: str) -> IdempotencyKey | None:
        """Read fresh from the database, never the session's copy (a concurrent submit may have written it)."""
        return self.session.get(IdempotencyKey, (owner, key), populate_existing=True)

    def save(self, row: IdempotencyKey, now: datetime) -> None:
        """Insert the key, first dropping an expired row of the same key; flushes, so a
        concurrent duplicate fails here (IntegrityError) rather than at commit."""
        self.session.execute(
            delete(IdempotencyKey).where(
                IdempotencyKey.owner == row.owner, IdempotencyKey.key == row.key, IdempotencyKey.expires_at <= now
            )
        )
        self.session.add(row)
        self.session.flush()

    def purge_expired(self, now: datetime) -> int:
        result = self.session.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
