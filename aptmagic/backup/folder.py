"""A backup in a local folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from aptmagic.backup.base import BackupError, BackupFileMissing, Readable, Writable


class FolderTarget:
    def __init__(self, root: Path) -> None:
        self.root = root.absolute()
        self.location = str(self.root)

    def _path(self, name: str) -> Path:
        path = (self.root / name).resolve()
        if not path.is_relative_to(self.root.resolve()) or path == self.root.resolve():
            raise BackupError(f"{name!r} is not a file name inside the backup")
        return path

    def is_empty(self) -> bool:
        if self.root.exists() and not self.root.is_dir():
            raise BackupError(f"{self.location} is a file, not a folder")
        return not self.root.exists() or not any(self.root.iterdir())

    def write(self, name: str, source: Readable) -> None:
        path = self._path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as handle:
                shutil.copyfileobj(source, handle)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def read_into(self, name: str, sink: Writable) -> None:
        try:
            with self._path(name).open("rb") as handle:
                shutil.copyfileobj(handle, sink)
        except (FileNotFoundError, IsADirectoryError):
            raise BackupFileMissing(f"{name} is missing from {self.location}") from None
