from __future__ import annotations

from aptmagic.config import Settings
from aptmagic.storage.base import BlobStore
from aptmagic.storage.local import LocalBlobStore


def create_blob_store(settings: Settings) -> BlobStore:
    if settings.storage_backend == "local":
        return LocalBlobStore(settings.resolved_storage_dir)
    raise ValueError(f"unknown storage backend {settings.storage_backend!r}")
