"""Blob store in a local folder (the embedded default)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from aptmagic.storage.base import BlobInfo, BlobNotFound, check_key


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / check_key(key)).resolve()
        if not path.is_relative_to(self.root):
            raise BlobNotFound(key)
        return path

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def iter_bytes(self, key: str, chunk_size: int = 65536) -> Iterator[bytes]:
        path = self._path(key)
        try:
            handle = path.open("rb")
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc
        return _chunks(handle, chunk_size)

    def read(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def stat(self, key: str) -> BlobInfo:
        try:
            return BlobInfo(key=key, size=self._path(key).stat().st_size)
        except FileNotFoundError as exc:
            raise BlobNotFound(key) from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def check(self) -> None:
        probe = self.root / ".probe"
        probe.write_bytes(b"ok")
        probe.unlink()


def _chunks(handle, chunk_size: int) -> Iterator[bytes]:  # type: ignore[no-untyped-def]
    with handle:
        while chunk := handle.read(chunk_size):
            yield chunk
