"""The claim/lease state machine on the job row.

    queued --claim--> running(token, lease) --finish--> succeeded | failed | canceled
    running --renew--> running (lease pushed on)          (only by the token's holder)
    running --release--> queued (graceful shutdown; the attempt is given back)
    running, lease expired --reclaim or sweep--> running / queued (counts an attempt)
    running, lease expired, attempts >= max_attempts --> failed (too_many_deliveries)

Every transition is one conditional UPDATE, so two workers holding the same id
(a duplicate delivery, a message redelivered after a visibility timeout)
cannot both hold the job: the second finds nothing to claim and drops its copy,
and a worker whose lease was taken over cannot write a result."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, false, or_, select, update
from sqlalchemy.orm import Session

from aptmagic.jobs.models import Job, JobStatus

DEAD_LETTER_CODE = "too_many_deliveries"


class Refusal(enum.StrEnum):
    """Why a delivery was dropped instead of run (the message is acknowledged in every case)."""

    missing = "missing"
    ended = "ended"
    held = "held"  # running under another worker's live lease
    dead_lettered = "dead_lettered"
    not_ready = "not_ready"


def _reclaimable(now: datetime) -> Any:
    return and_(Job.status == JobStatus.running, Job.lease_expires_at < now, Job.attempts < Job.max_attempts)


def claim(session: Session, job_id: str, token: str, lease_seconds: float, now: datetime) -> bool:
    """Take a queued job, or one whose worker's lease expired; counts an attempt."""
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.cancel_requested.is_(False),
            or_(Job.status == JobStatus.queued, _reclaimable(now)),
        )
        .values(
            status=JobStatus.running,
            attempts=Job.attempts + 1,
            claimed_by=token,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            started_at=now,
            run_after=None,
            progress_step=0,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def refuse(session: Session, job_id: str, now: datetime) -> Refusal:
    """After a failed claim: say why, and end a job that has used up its deliveries."""
    row = session.execute(
        select(Job.status, Job.lease_expires_at, Job.attempts, Job.max_attempts).where(Job.id == job_id)
    ).first()
    if row is None:
        return Refusal.missing
    if JobStatus(row.status).is_terminal:
        return Refusal.ended
    if row.status == JobStatus.running and row.lease_expires_at is not None and row.lease_expires_at < now:
        return Refusal.dead_lettered if dead_letter(session, job_id, now) else Refusal.held
    return Refusal.held if row.status == JobStatus.running else Refusal.not_ready


def dead_letter(session: Session, job_id: str, now: datetime) -> bool:
    """Fail a job whose lease expired on its last allowed attempt (or cancel it if asked)."""
    base = update(Job).where(Job.id == job_id, Job.status == JobStatus.running, Job.lease_expires_at < now)
    canceled = session.execute(
        base.where(Job.cancel_requested.is_(True))
        .values(status=JobStatus.canceled, finished_at=now, claimed_by=None, lease_expires_at=None)
        .execution_options(synchronize_session=False)
    )
    if canceled.rowcount:
        return True
    result = session.execute(
        base.where(Job.attempts >= Job.max_attempts)
        .values(
            status=JobStatus.failed,
            finished_at=now,
            claimed_by=None,
            lease_expires_at=None,
            error_code=DEAD_LETTER_CODE,
            error_message=(
                "the job was delivered to a worker that stopped before finishing it, "
                "every time it was tried; giving up"
            ),
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def renew(session: Session, job_id: str, token: str, lease_seconds: float, now: datetime) -> bool:
    """Push the lease on; False when this worker no longer holds the job."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.claimed_by == token, Job.status == JobStatus.running)
        .values(lease_expires_at=now + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def finish(session: Session, job_id: str, token: str, *, unless_canceled: bool = False, **values: Any) -> bool:
    """Write the job's end (or its retry) only if this worker still holds it."""
    query = update(Job).where(Job.id == job_id, Job.claimed_by == token, Job.status == JobStatus.running)
    if unless_canceled:
        query = query.where(Job.cancel_requested.is_(False))
    result = session.execute(
        query
        .values(lease_expires_at=None, **values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def release(session: Session, job_id: str, token: str, now: datetime) -> bool:
    """Give a running job back to the queue without counting the attempt (graceful stop)."""
    return finish(
        session, job_id, token,
        status=JobStatus.queued, claimed_by=None, attempts=Job.attempts - 1, queued_at=now, progress_step=0,
    )  # fmt: skip


def stale_queued(session: Session, cutoff: datetime, now: datetime, limit: int) -> Sequence[tuple[str, str]]:
    """Queued jobs that should have started by now: their message may be lost."""
    waiting = or_(Job.queued_at < cutoff, and_(Job.queued_at.is_(None), Job.created_at < cutoff))
    due = or_(Job.run_after.is_(None), Job.run_after <= now)
    rows = session.execute(
        select(Job.id, Job.queue_name)
        .where(Job.status == JobStatus.queued, Job.cancel_requested.is_(False), waiting, due)
        .order_by(Job.created_at)
        .limit(limit)
    ).all()
    return [(row.id, row.queue_name) for row in rows]


def mark_redispatched(session: Session, job_id: str, cutoff: datetime, now: datetime) -> bool:
    """Only one process resends a given job per period: the first to move its queued_at on."""
    result = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            Job.status == JobStatus.queued,
            or_(Job.queued_at.is_(None), Job.queued_at < cutoff),
        )
        .values(queued_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)


def expired_running(session: Session, now: datetime, limit: int) -> Sequence[tuple[str, str]]:
    rows = session.execute(
        select(Job.id, Job.queue_name)
        .where(Job.status == JobStatus.running, Job.lease_expires_at < now)
        .order_by(Job.lease_expires_at)
        .limit(limit)
    ).all()
    return [(row.id, row.queue_name) for row in rows]


def requeue_expired(session: Session, job_id: str, now: datetime) -> bool:
    """Put a dead worker's job back in the queue (its attempt stays counted)."""
    result = session.execute(
        update(Job)
        .where(Job.id == job_id, _reclaimable(now), Job.cancel_requested == false())
        .values(status=JobStatus.queued, claimed_by=None, lease_expires_at=None, queued_at=now, progress_step=0)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)
