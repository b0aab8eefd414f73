"""The claim/lease state machine on the job row.

    queued --claim--> running(token, lease) --finish--> succeeded | failed | canceled
    running --renew--> running (lease pushed on)          (only by the token's holder)
    running --release--> queued (graceful shutdown; the attempt is given back)
    running, lease expired --reclaim or sweep--> running / queued (counts an attempt)
    running, lease expired, attempts >= max_attempts --> failed (too_many_deliveries)

Every transition is one conditional UPDATE (``LeaseRepository``), so two workers
holding the same id (a duplicate delivery, a message redelivered after a
visibility timeout) cannot both hold the job: the second finds nothing to claim
and drops its copy, and a worker whose lease was taken over cannot write a result."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from aptmagic.jobs.models import JobStatus
from aptmagic.jobs.repository import LeaseRepository

DEAD_LETTER_CODE = "too_many_deliveries"
DEAD_LETTER_MESSAGE = (
    "the job was delivered to a worker that stopped before finishing it, every time it was tried; giving up"
)


class Refusal(enum.StrEnum):
    """Why a delivery was dropped instead of run (the message is acknowledged in every case)."""

    missing = "missing"
    ended = "ended"
    held = "held"  # running under another worker's live lease
    dead_lettered = "dead_lettered"
    not_ready = "not_ready"


def claim(session: Session, job_id: str, token: str, lease_seconds: float, now: datetime) -> bool:
    """Take a queued job, or one whose worker's lease expired; counts an attempt."""
    return LeaseRepository(session).claim(job_id, token, now, now + timedelta(seconds=lease_seconds))


def renew(session: Session, job_id: str, token: str, lease_seconds: float, now: datetime) -> bool:
    """Push the lease on; False when this worker no longer holds the job."""
    return LeaseRepository(session).renew(job_id, token, now + timedelta(seconds=lease_seconds))


def refuse(session: Session, job_id: str, now: datetime) -> Refusal:
    """After a failed claim: say why, and end a job that has used up its deliveries."""
    row = LeaseRepository(session).state(job_id)
    if row is None:
        return Refusal.missing
    if JobStatus(row.status).is_terminal:
        return Refusal.ended
    if row.status == JobStatus.running and row.lease_expires_at is not None and row.lease_expires_at < now:
        return Refusal.dead_lettered if dead_letter(session, job_id, now) else Refusal.held
    return Refusal.held if row.status == JobStatus.running else Refusal.not_ready


def dead_letter(session: Session, job_id: str, now: datetime) -> bool:
    """Fail a job whose lease expired on its last allowed attempt (or cancel it if asked)."""
    leases = LeaseRepository(session)
    return leases.cancel_expired(job_id, now) or leases.fail_expired(job_id, now, DEAD_LETTER_CODE, DEAD_LETTER_MESSAGE)
