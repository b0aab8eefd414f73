"""Stored files: generated outputs (and, later, uploads)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aptmagic.db.base import Base, IdMixin, TimestampMixin


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
