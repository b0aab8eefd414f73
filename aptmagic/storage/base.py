"""The blob store protocol. Keys are made by aptmagic, never by clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from aptmagic.kit.errors import Unavailable

TEMP_PREFIX = "tmp/"  # staging objects of direct uploads; a lifecycle rule expires them on S3
_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$")


class BlobNotFound(LookupError):
    pass


class InvalidKey(ValueError):
    pass


class StorageUnavailable(Unavailable, ConnectionError):
    """The store cannot be reached (or refused the call): 503 with Retry-After.
    A ConnectionError too, so a job that meets it is retried as transient."""

    code = "storage_unavailable"

    def __init__(self, reason: str, retry_after: int = 5) -> None:
        super().__init__(
            f"the blob store cannot be reached: {reason}; try again in {retry_after} seconds",
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )


@dataclass(frozen=True)
class BlobInfo:
    key: str
    size: int


def check_key(key: str) -> str:
    """Refuse anything that could leave the store: '..', absolute paths, odd characters."""
    if len(key) > 255 or not _KEY_RE.match(key) or ".." in key:
        raise InvalidKey(f"invalid blob key: {key!r}")
    return key


class BlobStore(Protocol):
    def put(self, key: str, data: bytes, content_type: str) -> None: ...

    def iter_bytes(self, key: str, chunk_size: int = 65536) -> Iterator[bytes]: ...

    def read(self, key: str) -> bytes: ...

    def stat(self, key: str) -> BlobInfo: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def check(self) -> None:
        """Raise if the store cannot be reached or written."""
        ...


@dataclass(frozen=True)
class BlobVersion:
    version_id: str
    size: int
    last_modified: datetime
    is_latest: bool
    is_delete_marker: bool = False


@runtime_checkable
class VersionedBlobStore(Protocol):
    """A store that keeps earlier versions of a key (S3 with versioning)."""

    def list_versions(self, key: str) -> list[BlobVersion]:
        """Newest first, delete markers included."""
        ...

    def restore_version(self, key: str, version_id: str) -> BlobVersion:
        """Make a copy of ``version_id`` the current version; return the new version."""
        ...


@runtime_checkable
class PresigningBlobStore(Protocol):
    """A store that can hand out URLs for reading and writing one key directly."""

    def presign_get(self, key: str, expires_in: int, download_name: str | None = None) -> str: ...

    def presign_put(self, key: str, content_type: str, expires_in: int) -> tuple[str, dict[str, str]]:
        """The URL and the headers the PUT must send (they are signed)."""
        ...
