"""The blob store protocol. Keys are made by aptmagic, never by clients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

_KEY_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*(/[a-z0-9][a-z0-9_.-]*)*$")


class BlobNotFound(LookupError):
    pass


class InvalidKey(ValueError):
    pass


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
