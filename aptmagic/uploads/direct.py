"""Presigned uploads straight to S3: the client PUTs the bytes to a staging
object, then completes the upload through the API, which checks them exactly
as a POST upload (size, type from the bytes, scan, re-encode) and stores the
result as a normal upload. Staging objects live under the store's ``tmp/``
prefix; the staging object is deleted once completed, and a lifecycle rule
expires any that are never completed."""

from __future__ import annotations

import logging

from aptmagic.assets.models import Asset
from aptmagic.kit.errors import Conflict
from aptmagic.storage.base import TEMP_PREFIX, BlobNotFound, BlobStore, PresigningBlobStore
from aptmagic.uploads.presign import Grant
from aptmagic.uploads.receive import too_large
from aptmagic.uploads.service import UploadService

log = logging.getLogger(__name__)


class NothingUploaded(Conflict):
    code = "upload_missing"


def staging_key(upload_id: str) -> str:
    return f"{TEMP_PREFIX}uploads/{upload_id}"


def direct_store(store: BlobStore, enabled: bool) -> PresigningBlobStore | None:
    return store if enabled and isinstance(store, PresigningBlobStore) else None


def presign_direct(store: PresigningBlobStore, grant: Grant, expires_in: int) -> tuple[str, dict[str, str]]:
    return store.presign_put(staging_key(grant.upload_id), grant.content_type, expires_in)


def complete_direct(uploads: UploadService, grant: Grant) -> Asset:
    """Check the staged bytes and keep them as the upload; the staging object goes either way."""
    uploads.check_unused(grant.upload_id)
    key = staging_key(grant.upload_id)
    store = uploads.store
    try:
        size = store.stat(key).size
    except BlobNotFound:
        raise NothingUploaded("nothing was uploaded to this URL yet: PUT the file to it first") from None
    try:
        if size > grant.size:
            raise too_large(grant.size)
        try:
            data = store.read(key)
        except BlobNotFound:  # another request completed it first and removed the staging object
            raise NothingUploaded("the staged file is gone: this upload was completed by another request") from None
        return uploads.accept(data, grant.content_type, grant.filename, grant.upload_id, grant.owner_id)
    finally:
        try:
            store.delete(key)
        except OSError:  # StorageUnavailable is one too; the lifecycle rule removes it later
            log.warning("could not delete a staging object", extra={"upload_id": grant.upload_id})
