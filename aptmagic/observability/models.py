"""Tables of the observability domain: hourly API request counts, and the
request that submitted each job."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from aptmagic.db.base import Base, UTCDateTime


class ApiRequestCount(Base):
    """API requests per UTC hour; a day's count is the sum of its 24 rows.
    Incremented atomically (INSERT ... ON CONFLICT DO UPDATE)."""

    __tablename__ = "api_request_counts"

    hour: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)


class JobTrace(Base):
    """The request id of the HTTP request that submitted a job, for its worker's log lines."""

    __tablename__ = "job_traces"

    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    request_id: Mapped[str] = mapped_column(String(64))
