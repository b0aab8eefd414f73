"""Queries on upload assets."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select

from aptmagic.assets.models import Asset
from aptmagic.kit.repository import Repository

UPLOAD = "upload"


class UploadRepository(Repository[Asset]):
    model = Asset

    def exists(self, asset_id: str) -> bool:
        return self.session.scalar(select(Asset.id).where(Asset.id == asset_id)) is not None

    def expired(self, now: datetime, limit: int) -> Sequence[tuple[str, str]]:
        """(id, storage_key) of temporary uploads whose time is up, oldest first."""
        rows = self.session.execute(
            select(Asset.id, Asset.storage_key)
            .where(Asset.kind == UPLOAD, Asset.expires_at.is_not(None), Asset.expires_at < now)
            .order_by(Asset.expires_at)
            .limit(limit)
        )
        return [(row.id, row.storage_key) for row in rows]

    def delete_if_expired(self, asset_id: str, now: datetime) -> bool:
        """Delete the row only if it is still an expired upload (a job may have just pinned it)."""
        result = self.session.execute(
            delete(Asset).where(
                Asset.id == asset_id, Asset.kind == UPLOAD, Asset.expires_at.is_not(None), Asset.expires_at < now
            )
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]
