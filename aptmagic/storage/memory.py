"""Blob store in memory: the twin used by tests and throw-away instances."""

from __future__ import annotations

import threading
from collections.abc import Iterator

from aptmagic.storage.base import BlobInfo, BlobNotFound, check_key


class MemoryBlobStore:
    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, key: str, data: bytes, content_type: str) -> None:
        with self._lock:
            self._blobs[check_key(key)] = bytes(data)

    def read(self, key: str) -> bytes:
        with self._lock:
            try:
                return self._blobs[check_key(key)]
            except KeyError as exc:
                raise BlobNotFound(key) from exc

    def iter_bytes(self, key: str, chunk_size: int = 65536) -> Iterator[bytes]:
        data = self.read(key)
        return iter([data[i : i + chunk_size] for i in range(0, len(data), chunk_size)] or [b""])

    def stat(self, key: str) -> BlobInfo:
        return BlobInfo(key=key, size=len(self.read(key)))

    def exists(self, key: str) -> bool:
        with self._lock:
            return check_key(key) in self._blobs

    def delete(self, key: str) -> None:
        with self._lock:
            self._blobs.pop(check_key(key), None)

    def check(self) -> None:
        return None
