"""Upload payloads as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aptmagic.assets.models import Asset


class PresignCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"content_type": "image/png", "size": 524288, "filename": "cat.png"}]},
    )

    content_type: str = Field(max_length=100, description="What the file is; the bytes must agree.")
    size: int = Field(gt=0, description="The most bytes the PUT will send.")
    filename: str | None = Field(None, max_length=1024, description="Kept for display only.")


class PresignRead(BaseModel):
    upload_id: str = Field(description="The id the asset will have.")
    url: str = Field(description="Where to PUT the raw bytes; works once, until expires_at.")
    method: Literal["PUT"] = "PUT"
    headers: dict[str, str] = Field(description="Headers to send with the PUT.")
    max_bytes: int
    expires_at: datetime
    complete_url: str | None = Field(
        None, description="Set when the URL goes straight to the blob store: POST here after the PUT to finish."
    )


class UploadRead(BaseModel):
    id: str
    url: str
    content_type: str
    media_kind: str
    size: int = Field(description="Bytes stored (images are re-encoded, so this may differ from what was sent).")
    sha256: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    original_name: str | None = Field(description="The client's file name, sanitised; for display only.")
    created_at: datetime
    expires_at: datetime | None = Field(description="Deleted after this unless a job uses it; None keeps it.")

    @classmethod
    def of(cls, asset: Asset) -> UploadRead:
        return cls(
            id=asset.id,
            url=f"/api/v1/assets/{asset.id}",
            content_type=asset.content_type,
            media_kind=asset.media_kind or "",
            size=asset.size_bytes,
            sha256=asset.sha256,
            width=asset.width,
            height=asset.height,
            duration_seconds=asset.duration_seconds,
            original_name=asset.original_name,
            created_at=asset.created_at,
            expires_at=asset.expires_at,
        )
