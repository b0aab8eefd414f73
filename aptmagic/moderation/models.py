"""Reports of posts by users, resolved when an admin acts on the post."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from aptmagic.db.base import Base, IdMixin, TimestampMixin, UTCDateTime


class ReasonCode(enum.StrEnum):
    spam = "spam"
    nsfw = "nsfw"
    harassment = "harassment"
    illegal = "illegal"
    other = "other"


class ReportStatus(enum.StrEnum):
    open = "open"
    resolved = "resolved"


class Report(IdMixin, TimestampMixin, Base):
    __tablename__ = "post_reports"

    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    reporter_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    reason: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.open)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_by: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_post_reports_status_created", "status", "created_at", "id"),
        # At most one open report per user and post, even under concurrent requests.
        Index(
            "uq_post_reports_open",
            "post_id",
            "reporter_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
