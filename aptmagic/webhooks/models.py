"""A job's callback URL and every attempt to deliver to it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aptmagic.db.base import Base, TimestampMixin, UTCDateTime


class JobWebhook(TimestampMixin, Base):
    """``state``: pending (job not ended yet, or a retry is due), sending (claimed by
    one process), delivered, or failed (attempts used up / refused)."""

    __tablename__ = "job_webhooks"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    url: Mapped[str] = mapped_column(String(2048))
    state: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_job_webhooks_state_next", "state", "next_attempt_at"),)


class WebhookDelivery(TimestampMixin, Base):
    """One delivery attempt: what was sent where, and what came back."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    attempt: Mapped[int] = mapped_column(Integer)
    url: Mapped[str] = mapped_column(String(2048))
    event: Mapped[str] = mapped_column(String(32))
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16), doc="delivered, retry, failed or refused")
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float | None] = mapped_column(Float)

    __table_args__ = (Index("ix_webhook_deliveries_job_id", "job_id", "id"),)
