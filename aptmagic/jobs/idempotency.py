"""Idempotency-Key on job submit: the same user and key give back the same job.

A key is stored with a hash of the request body in the submit's own
transaction, under a primary key of (owner, key). Two concurrent submits with
one key cannot both commit: the second insert waits for the first (PostgreSQL's
unique index; SQLite's write lock) and fails, and the caller then answers with
the job the first one made. A key is remembered for ``ttl`` seconds; after
that the same key starts a new job."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aptmagic.db.base import utcnow
from aptmagic.jobs.models import IdempotencyKey
from aptmagic.jobs.repository import IdempotencyRepository
from aptmagic.kit.errors import AppError, Conflict, InvalidRequest

if TYPE_CHECKING:
    from aptmagic.auth.principal import Principal
    from aptmagic.jobs.models import Job
    from aptmagic.jobs.service import JobService
    from aptmagic.jobs.tasks import JobCreateBase

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x21-\x7e]{1,255}")
ANONYMOUS_OWNER = "-"  # authentication off: every caller is one owner


class IdempotencyMismatch(AppError):
    status_code = 422
    code = "idempotency_key_reused"


@dataclass(frozen=True)
class IdempotentRequest:
    owner: str
    key: str
    request_hash: str


def parse_key(raw: str | None) -> str | None:
    """The header's value, or None when absent; 422 when malformed."""
    if raw is None:
        return None
    if not KEY_PATTERN.fullmatch(raw):
        raise InvalidRequest.field(
            ["header", HEADER], "must be 1-255 printable ASCII characters without spaces", "idempotency_key"
        )
    return raw


def request_hash(body: dict[str, Any]) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def make_request(owner_id: str | None, key: str, body: dict[str, Any]) -> IdempotentRequest:
    return IdempotentRequest(owner_id or ANONYMOUS_OWNER, key, request_hash(body))


def find_job_id(session: Session, request: IdempotentRequest, now: datetime | None = None) -> str | None:
    """The job an earlier request with this key made, if the key is still remembered.
    The same key with another body is refused (422): a key names one request."""
    row = IdempotencyRepository(session).find(request.owner, request.key)
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    if row.request_hash != request.request_hash:
        raise IdempotencyMismatch(
            f"{HEADER} {request.key!r} was already used for a different request body; "
            "use a new key for a new job, or resend the original body to get its job",
            details={"job_id": row.job_id},
        )
    return row.job_id


def remember(session: Session, request: IdempotentRequest, job_id: str, ttl_seconds: int) -> None:
    """Store the key with the job in the current transaction; flushes, so a concurrent
    duplicate fails here (IntegrityError) rather than at commit."""
    now = utcnow()
    row = IdempotencyKey(
        owner=request.owner,
        key=request.key,
        request_hash=request.request_hash,
        job_id=job_id,
        created_at=now,
        expires_at=now + timedelta(seconds=ttl_seconds),
    )
    IdempotencyRepository(session).save(row, now)


def submit_once(
    session: Session, jobs: JobService, body: JobCreateBase, viewer: Principal | None, raw_key: str | None, ttl: int
) -> tuple[Job, bool]:
    """Submit, or with a key already used by this user for the same body, return that job.
    Returns (job, replayed). The caller commits."""
    key = parse_key(raw_key)
    if key is None:
        return jobs.submit(session, body, viewer), False
    request = make_request(viewer.user_id if viewer else None, key, body.model_dump(mode="json"))
    if (job_id := find_job_id(session, request)) is not None:
        return jobs.get(session, job_id, viewer), True
    job = jobs.submit(session, body, viewer)
    try:
        remember(session, request, job.id, ttl)
    except IntegrityError:  # a concurrent submit with this key committed first: its job is the one
        session.rollback()
        job_id = find_job_id(session, request)
        if job_id is None:
            raise Conflict(f"another request with {HEADER} {key!r} is in progress; retry it shortly") from None
        return jobs.get(session, job_id, viewer), True
    return job, False
