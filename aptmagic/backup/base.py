"""Where a backup lives: a narrow protocol over a folder or an S3 prefix, and the errors."""

from __future__ import annotations

from typing import Protocol

MANIFEST = "manifest.json"


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


class BackupFileMissing(BackupError):
    pass


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class BackupTarget(Protocol):
    location: str  # for messages: a folder path or s3://bucket/prefix

    def is_empty(self) -> bool: ...

    def write(self, name: str, source: Readable) -> None:
        """Store everything ``source.read()`` yields under ``name`` (a relative path with '/')."""
        ...

    def read_into(self, name: str, sink: Writable) -> None:
        """Write the stored ``name`` into ``sink``; BackupFileMissing when there is none."""
        ...
