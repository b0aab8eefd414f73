"""Stores outputs as assets and serves them back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

from PIL import Image
from sqlalchemy.orm import Session

from aptmagic.assets.images import encode_png
from aptmagic.assets.models import Asset
from aptmagic.assets.repository import AssetRepository
from aptmagic.auth.principal import Principal
from aptmagic.db.base import new_id, utcnow
from aptmagic.kit.errors import AppError, Conflict, InvalidRequest, NotFound
from aptmagic.storage.base import BlobNotFound, BlobStore, BlobVersion, PresigningBlobStore, VersionedBlobStore


class NoVersions(AppError):
    status_code = 409
    code = "versions_unsupported"


class NotOwner(AppError):
    status_code = 403
    code = "forbidden"


class AssetService:
    def __init__(self, store: BlobStore) -> None:
        self.store = store

    def write_image(
        self, image: Image.Image, metadata: dict[str, Any], source_job_id: str, owner_id: str | None = None
    ) -> Asset:
        """Write the blob now; the returned row is added to a session by the caller."""
        asset_id = new_id()
        data = encode_png(image, metadata)
        key = f"outputs/{asset_id[:2]}/{asset_id}.png"
        self.store.put(key, data, "image/png")
        return Asset(
            id=asset_id,
            kind="output",
            storage_key=key,
            content_type="image/png",
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            width=image.width,
            height=image.height,
            media_kind="image",
            source_job_id=source_job_id,
            meta=metadata,
            owner_id=owner_id,
        )

    def get(self, session: Session, asset_id: str, viewer: Principal | None = None) -> Asset:
        """``viewer``: who asks; another user's asset is answered as not found."""
        asset = AssetRepository(session).get(asset_id) if len(asset_id) <= 64 else None
        if asset is None or viewer is not None and not viewer.can_see(asset.owner_id):
            raise NotFound(f"asset {asset_id!r} not found")
        return asset

    def use_as_source(
        self, session: Session, asset_id: str, kinds: tuple[str, ...], loc: list[str | int], *,
        viewer: Principal | None = None,
    ) -> Asset:  # fmt: skip
        """Check that a job may read this asset, and keep it as long as the job's outputs."""
        asset = self.get(session, asset_id, viewer)
        if asset.expires_at is not None and asset.expires_at <= utcnow():
            raise NotFound(f"upload {asset_id!r} has expired; upload the file again")
        if asset.media_kind not in kinds:
            raise InvalidRequest.field(
                loc, f"asset {asset_id!r} is {asset.media_kind or 'unknown'}; expected {' or '.join(kinds)}"
            )
        asset.expires_at = None
        return asset

    def open(self, asset: Asset) -> Iterator[bytes]:
        try:
            return self.store.iter_bytes(asset.storage_key)
        except BlobNotFound:
            raise NotFound(f"the file of asset {asset.id!r} is missing from storage") from None

    def read(self, asset: Asset) -> bytes:
        try:
            return self.store.read(asset.storage_key)
        except BlobNotFound:
            raise NotFound(f"the file of asset {asset.id!r} is missing from storage") from None

    def blobs_present(self, assets: list[Asset]) -> bool:
        return all(self.store.exists(asset.storage_key) for asset in assets)

    # versions (S3 with versioning)

    def _versioned(self) -> VersionedBlobStore:
        if not isinstance(self.store, VersionedBlobStore):
            raise NoVersions(
                f"this storage backend ({type(self.store).__name__}) keeps no versions; "
                "versions need storage_backend 's3' on a bucket with versioning enabled"
            )
        return self.store

    @property
    def keeps_versions(self) -> bool:
        return isinstance(self.store, VersionedBlobStore)

    def versions(self, asset: Asset) -> list[BlobVersion]:
        return self._versioned().list_versions(asset.storage_key)

    def restore(self, asset: Asset, version_id: str, viewer: Principal | None) -> tuple[BlobVersion, bytes]:
        """Owner only. The restored bytes become current; the caller updates the row from them."""
        store = self._versioned()
        if viewer is not None and viewer.user_id is not None and asset.owner_id != viewer.user_id:
            raise NotOwner("only the asset's owner may restore a version")
        known = {v.version_id: v for v in store.list_versions(asset.storage_key)}
        if version_id not in known:
            raise NotFound(f"asset {asset.id!r} has no version {version_id[:100]!r}")
        if known[version_id].is_delete_marker:
            raise Conflict(f"version {version_id!r} is a deletion, not a file; restore a version before it")
        restored = store.restore_version(asset.storage_key, version_id)
        data = self.read(asset)
        asset.size_bytes = len(data)
        asset.sha256 = hashlib.sha256(data).hexdigest()
        return restored, data

    # presigned downloads

    def presigned_url(self, asset: Asset, expires_in: int, download: bool = False) -> str | None:
        """A URL straight to the store, or None when the store cannot make one."""
        if not isinstance(self.store, PresigningBlobStore):
            return None
        name = f"{asset.id}.{asset.content_type.split('/')[-1]}" if download else None
        return self.store.presign_get(asset.storage_key, expires_in, name)
