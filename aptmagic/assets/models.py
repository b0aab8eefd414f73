"""Stored files: generated outputs and checked uploads."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aptmagic.db.base import Base, IdMixin, TimestampMixin, UTCDateTime


class Asset(IdMixin, TimestampMixin, Base):
    __tablename__ = "assets"

    kind: Mapped[str] = mapped_column(String(16), default="output")
    storage_key: Mapped[str] = mapped_column(String(255), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    source_job_id: Mapped[str | None] = mapped_column(String(32), index=True)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    media_kind: Mapped[str | None] = mapped_column(String(16), doc="image, audio or video")
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    original_name: Mapped[str | None] = mapped_column(
        String(255), doc="The client's file name, for display only; never a storage key."
    )
    expires_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), index=True, doc="Temporary uploads are swept after this; None keeps the asset."
    )
    owner_id: Mapped[str | None] = mapped_column(
        String(32), index=True, doc="The user who uploaded it or whose job made it; None when auth is off."
    )
