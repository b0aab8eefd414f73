"""Upload checks, in order: size, type from the bytes, declared type, virus
scan, decode (images re-encoded, audio/video probed), then storage as a
temporary asset."""

from __future__ import annotations

import hashlib
import logging
import unicodedata
from datetime import timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from aptmagic.assets.models import Asset
from aptmagic.config import Settings
from aptmagic.db.base import new_id, utcnow
from aptmagic.storage.base import BlobStore
from aptmagic.uploads.errors import EmptyUpload, TypeMismatch, UnsupportedType, UploadUrlUsed
from aptmagic.uploads.images import clean_image
from aptmagic.uploads.media import probe_media
from aptmagic.uploads.presign import Grant, UploadSigner
from aptmagic.uploads.receive import too_large
from aptmagic.uploads.repository import UPLOAD, UploadRepository
from aptmagic.uploads.scan import ClamdScanner
from aptmagic.uploads.sniff import (
    SIBLINGS,
    UNDECLARED,
    FileType,
    allowed_content_types,
    by_content_type,
    normalise_content_type,
    resolve,
    sniff,
)

log = logging.getLogger(__name__)
MAX_NAME_CHARS = 255


class UploadService:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        store: BlobStore,
        scanner: ClamdScanner | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.store = store
        self.scanner = scanner
        self.signer = UploadSigner(settings.secret_key.get_secret_value(), settings.presign_ttl_seconds)

    @classmethod
    def from_settings(
        cls, settings: Settings, session_factory: sessionmaker[Session], store: BlobStore
    ) -> UploadService:
        scanner = (
            ClamdScanner(settings.clamav_socket, settings.clamav_timeout_seconds) if settings.clamav_socket else None
        )
        return cls(settings, session_factory, store, scanner)

    def start(self) -> None:
        if self.scanner is None:
            log.info("uploads are not virus-scanned: set APTMAGIC_CLAMAV_SOCKET to scan them with ClamAV")
        else:
            log.info("uploads are virus-scanned by ClamAV", extra={"clamd": str(self.scanner.address)})

    # presigned uploads

    def presign(
        self, content_type: str, size: int, filename: str | None, owner_id: str | None = None
    ) -> tuple[str, Grant]:
        """The signed token carries the owner: the PUT (which has no other credential) uploads as them."""
        file_type = by_content_type(content_type)
        if file_type is None:
            raise _unsupported(f"content type {normalise_content_type(content_type)!r} is not allowed")
        if size > self.settings.upload_max_bytes:
            raise too_large(self.settings.upload_max_bytes)
        return self.signer.sign(new_id(), file_type.content_type, size, display_name(filename), owner_id)

    def verify(self, token: str) -> Grant:
        return self.signer.verify(token)

    def check_unused(self, upload_id: str) -> None:
        with self.session_factory() as session:
            if UploadRepository(session).exists(upload_id):
                raise _used(upload_id)

    # the checks

    def accept(
        self,
        data: bytes,
        declared: str | None,
        filename: str | None,
        upload_id: str | None = None,
        owner_id: str | None = None,
    ) -> Asset:
        """Check an upload and store it as a temporary asset; raise an AppError saying why not."""
        settings = self.settings
        if not data:
            raise EmptyUpload("the upload is empty (0 bytes)")
        if len(data) > settings.upload_max_bytes:
            raise too_large(settings.upload_max_bytes)
        sniffed = sniff(data)
        if sniffed is None:
            raise _unsupported("the file is not of an allowed type (told from its bytes; its name does not count)")
        file_type = resolve(sniffed, declared)
        if file_type is None:
            raise TypeMismatch(
                f"the declared content type {normalise_content_type(declared)!r} does not match the file, "
                f"which is {sniffed.content_type}",
                details={"declared": normalise_content_type(declared), "detected": sniffed.content_type},
            )
        if upload_id is not None:
            self.check_unused(upload_id)
        if self.scanner is not None:
            self.scanner.scan(data)
        meta: dict[str, Any] = {"received_bytes": len(data), "received_sha256": hashlib.sha256(data).hexdigest()}
        width = height = duration = None
        if file_type.media_kind == "image":
            image = clean_image(data, file_type, settings.upload_max_pixels)
            stored, width, height = image.data, image.width, image.height
            meta.update(reencoded=True, mode=image.mode, frames=image.frames)
        else:
            file_type, info = self._probe(data, file_type, declared)
            stored, width, height, duration = data, info.width, info.height, info.duration
            meta.update(reencoded=False, codecs=info.codecs)
        return self._store(upload_id or new_id(), stored, file_type, filename, width, height, duration, meta, owner_id)

    def _probe(self, data: bytes, file_type: FileType, declared: str | None) -> tuple[FileType, Any]:
        """Audio/video: the streams decide between siblings (MP4/M4A, WebM video/audio) unless declared."""
        sibling = SIBLINGS.get(file_type)
        undeclared = normalise_content_type(declared) in UNDECLARED
        kinds = (file_type.media_kind, sibling.media_kind) if sibling and undeclared else (file_type.media_kind,)
        info = probe_media(
            data,
            file_type,
            kinds=kinds,
            max_seconds=self.settings.upload_max_media_seconds,
            max_pixels=self.settings.upload_max_pixels,
            timeout=self.settings.upload_probe_timeout_seconds,
        )
        has = {"audio": info.has_audio, "video": info.has_video}
        if sibling is not None and not has[file_type.media_kind]:
            file_type = sibling
        return file_type, info

    def _store(
        self,
        asset_id: str,
        data: bytes,
        file_type: FileType,
        filename: str | None,
        width: int | None,
        height: int | None,
        duration: float | None,
        meta: dict[str, Any],
        owner_id: str | None = None,
    ) -> Asset:
        blob_id = new_id()
        key = f"uploads/{blob_id[:2]}/{blob_id}"
        self.store.put(key, data, file_type.content_type)
        now = utcnow()
        asset = Asset(
            id=asset_id,
            kind=UPLOAD,
            storage_key=key,
            content_type=file_type.content_type,
            size_bytes=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            width=width,
            height=height,
            media_kind=file_type.media_kind,
            duration_seconds=duration,
            original_name=display_name(filename),
            expires_at=now + timedelta(seconds=self.settings.upload_ttl_seconds),
            created_at=now,
            meta={"upload": meta},
            owner_id=owner_id,
        )
        try:
            with self.session_factory.begin() as session:
                session.add(asset)
        except IntegrityError:
            self.store.delete(key)
            raise _used(asset_id) from None
        except BaseException:
            self.store.delete(key)
            raise
        log.info(
            "upload accepted",
            extra={"asset_id": asset_id, "content_type": file_type.content_type, "size_bytes": len(data)},
        )
        return asset


def display_name(name: str | None) -> str | None:
    """The last path segment, without control characters, trimmed to 255 characters; None if nothing is left."""
    if not name:
        return None
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C"))
    name = " ".join(name.split()).strip(" .")
    if len(name) > MAX_NAME_CHARS:
        stem, dot, ext = name.rpartition(".")
        name = f"{stem[: MAX_NAME_CHARS - len(ext) - 1]}.{ext}" if dot and 0 < len(ext) <= 16 else name[:MAX_NAME_CHARS]
    return name or None


def _unsupported(reason: str) -> UnsupportedType:
    allowed = allowed_content_types()
    return UnsupportedType(f"{reason}; allowed: {', '.join(allowed)}", details={"allowed": allowed})


def _used(upload_id: str) -> UploadUrlUsed:
    return UploadUrlUsed(f"upload {upload_id!r} was already made with this URL; ask for a new one to upload again")
