"""Asset payloads as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from aptmagic.storage.base import BlobVersion


class VersionRead(BaseModel):
    version_id: str
    size: int
    last_modified: datetime
    is_latest: bool
    is_delete_marker: bool = Field(description="The asset's file was deleted at this point.")

    @classmethod
    def of(cls, version: BlobVersion) -> VersionRead:
        return cls(
            version_id=version.version_id, size=version.size, last_modified=version.last_modified,
            is_latest=version.is_latest, is_delete_marker=version.is_delete_marker,
        )  # fmt: skip


class VersionList(BaseModel):
    asset_id: str
    items: list[VersionRead] = Field(description="Newest first.")


class VersionRestored(BaseModel):
    asset_id: str
    restored_from: str = Field(description="The version whose bytes are current again.")
    version: VersionRead = Field(description="The new current version (a copy of restored_from).")
    sha256: str
    size: int


class AssetUrl(BaseModel):
    url: str = Field(description="Where to GET the file. A presigned store URL needs no credential.")
    presigned: bool
    expires_at: datetime | None = Field(description="When a presigned URL stops working; None for the API path.")
