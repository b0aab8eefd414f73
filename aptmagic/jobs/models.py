"""The job table: the source of truth for every piece of AI work."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from aptmagic.assets.models import Asset
from aptmagic.db.base import Base, IdMixin, TimestampMixin, UTCDateTime, utcnow


class JobStatus(enum.StrEnum):
    queued = "queued"
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    canceled = "canceled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset({JobStatus.succeeded, JobStatus.failed, JobStatus.canceled})


class Job(IdMixin, TimestampMixin, Base):
    __tablename__ = "jobs"

    task: Mapped[str] = mapped_column(String(32))
    model_id: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    seed: Mapped[int | None] = mapped_column(BigInteger)
    queue_name: Mapped[str] = mapped_column(String(32), default="default")
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.queued)
    progress_step: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    cache_key: Mapped[str] = mapped_column(String(64))
    cache_hit: Mapped[bool] = mapped_column(Boolean, default=False)
    cached_from_id: Mapped[str | None] = mapped_column(String(32))
    fallback_key: Mapped[str | None] = mapped_column(
        String(64), doc="cache_key without the seed: finds a stored result when the model's engines are down."
    )
    served_from: Mapped[str | None] = mapped_column(
        String(80), doc="Who made the outputs: engine, failover:<model id>, or fallback (a stored result)."
    )
    error_code: Mapped[str | None] = mapped_column(String(64))
    error_message: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    run_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), doc="While running: the claim holds until then unless renewed; past it the worker is dead."
    )
    queued_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), default=utcnow, doc="When the job last entered queued; the re-dispatch sweep resends old ones."
    )
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    inference_ms: Mapped[float | None] = mapped_column(Float)
    owner_id: Mapped[str | None] = mapped_column(String(32), doc="The user who submitted it; None when auth is off.")

    outputs: Mapped[list[JobOutput]] = relationship(
        order_by="JobOutput.position", cascade="all, delete-orphan", lazy="selectin"
    )

    __table_args__ = (
        Index("ix_jobs_status_created", "status", "created_at"),
        Index("ix_jobs_created_id", "created_at", "id"),
        Index("ix_jobs_cache_key_status", "cache_key", "status"),
        Index("ix_jobs_fallback_key_status", "fallback_key", "status"),
        Index("ix_jobs_owner_created", "owner_id", "created_at"),
    )


class IdempotencyKey(Base):
    """A submit's Idempotency-Key, with a hash of its body and the job it made (see jobs.idempotency)."""

    __tablename__ = "idempotency_keys"

    owner: Mapped[str] = mapped_column(String(32), primary_key=True, doc="User id, or '-' with authentication off.")
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_idempotency_keys_expires_at", "expires_at"),)


class JobOutput(Base):
    """Links a job to the assets it produced; a cache hit links to existing assets."""

    __tablename__ = "job_outputs"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="RESTRICT"), index=True)

    asset: Mapped[Asset] = relationship(lazy="joined")
