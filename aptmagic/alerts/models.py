"""Alerts sent: one row per (period, kind, channel), so nothing goes out twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from aptmagic.db.base import Base, TimestampMixin, UTCDateTime


class AlertSent(TimestampMixin, Base):
    """Claimed (status ``sending``) before the send, so that two processes never
    both send; ``period`` is the UTC day for the daily request alert, the start of
    the repeat window for the others."""

    __tablename__ = "alerts_sent"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    period: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="sending")
    message: Mapped[str] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (UniqueConstraint("period", "kind", "channel", name="uq_alerts_sent_period_kind_channel"),)
