from __future__ import annotations

import logging

from aptmagic.config import Settings
from aptmagic.storage.base import BlobStore
from aptmagic.storage.local import LocalBlobStore

log = logging.getLogger(__name__)


def create_blob_store(settings: Settings) -> BlobStore:
    if settings.storage_backend == "local":
        return LocalBlobStore(settings.resolved_storage_dir)
    if settings.storage_backend == "s3":
        from aptmagic.storage.s3 import S3BlobStore  # boto3 is loaded only when S3 is used

        return S3BlobStore.from_settings(settings)
    raise ValueError(f"unknown storage backend {settings.storage_backend!r}")


def prepare_blob_store(store: BlobStore, settings: Settings) -> None:
    """At start-up, with s3_configure_bucket: turn versioning on and apply the lifecycle rules."""
    if settings.storage_backend != "s3" or not settings.s3_configure_bucket:
        return
    from aptmagic.storage.s3 import S3BlobStore

    assert isinstance(store, S3BlobStore)
    store.enable_versioning()
    store.apply_lifecycle(settings.s3_temp_expire_days, settings.s3_noncurrent_expire_days)
    log.info("S3 bucket versioning and lifecycle rules applied", extra={"bucket": store.bucket})
