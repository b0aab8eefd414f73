"""Back up and restore the embedded default: the SQLite database and the local blob folder.

Why a backup is consistent while jobs run. aptmagic writes a blob before it commits the
asset row that names it, and deletes a blob only after the commit that deleted its row. So
every row in a database snapshot names a blob that existed when the snapshot was taken.
``backup`` snapshots the database (one read transaction of SQLite's backup API), then copies
exactly the blobs the snapshot's rows name. A blob that is gone by then had its row deleted
after the snapshot: a fresh snapshot no longer names it, so the backup snapshots again and
copies what the new rows name (a few rounds at most). Blobs no row names (a job still
writing its outputs) are left out: in the restored database nothing would point at them.
The manifest is written last, so a backup without one is unfinished.

``restore`` downloads every file into staging folders beside the data, checks each size and
sha256 against the manifest, runs SQLite's integrity check and checks every asset row's blob
is there; only then does it move the database and the blob folder into place. A damaged or
partial backup stops it before anything in the data folder changes."""

from __future__ import annotations

import hashlib
import io
import logging
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from pydantic import ValidationError

from aptmagic.backup.base import MANIFEST, BackupError, BackupFileMissing, BackupTarget
from aptmagic.backup.repository import open_snapshot
from aptmagic.backup.schemas import BLOBS, DATABASE, FORMAT_VERSION, BackupFile, Manifest
from aptmagic.backup.snapshot import check_integrity, take_snapshot

log = logging.getLogger(__name__)
SNAPSHOT_ROUNDS = 5
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


@dataclass(frozen=True)
class EmbeddedData:
    database: Path  # the SQLite file
    blobs: Path  # the local blob store's folder


class HashingReader:
    """Reads a binary file and keeps its sha256 and size. No seek: S3 uploads read it in order."""

    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        self.digest.update(chunk)
        self.size += len(chunk)
        return chunk


class HashingWriter:
    def __init__(self, handle: BinaryIO) -> None:
        self.handle = handle
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.handle.write(data)


class BackupService:
    def __init__(self, data: EmbeddedData, app_version: str, known_revision: Callable[[str], bool]) -> None:
        """``known_revision``: whether this code's migrations know a revision (restore refuses newer data)."""
        self.data = data
        self.app_version = app_version
        self.known_revision = known_revision

    # -- backup ------------------------------------------------------------------------------

    def backup(self, target: BackupTarget) -> Manifest:
        if not self.data.database.is_file():
            raise BackupError(f"nothing to back up: there is no database at {self.data.database}")
        if not target.is_empty():
            raise BackupError(f"{target.location} is not empty: back up into a new folder or prefix")
        with self._workdir(self.data.database.parent, ".backup-") as work:
            snapshot = work / DATABASE
            copied: dict[str, BackupFile] = {}
            keys, missing, revision = self._snapshot_and_copy(snapshot, target, copied)
            check_integrity(snapshot)
            with snapshot.open("rb") as handle:
                database = self._put(target, DATABASE, handle)
        manifest = Manifest(
            aptmagic_version=self.app_version,
            alembic_revision=revision,
            created_at=datetime.now(UTC),
            files=[database, *(copied[key] for key in sorted(keys - missing))],
            missing_blobs=sorted(missing),
        )
        target.write(MANIFEST, io.BytesIO(manifest.model_dump_json(indent=2).encode()))
        log.info(
            "backup written",
            extra={"location": target.location, "blobs": manifest.blob_count, "bytes": manifest.total_bytes},
        )
        return manifest

    def _snapshot_and_copy(
        self, snapshot: Path, target: BackupTarget, copied: dict[str, BackupFile]
    ) -> tuple[set[str], set[str], str]:
        """Snapshot, copy the named blobs; again while a named blob vanished (its row was deleted)."""
        for round_ in range(1, SNAPSHOT_ROUNDS + 1):
            keys, revision = self._snapshot(snapshot)
            missing = {key for key in sorted(keys - copied.keys()) if not self._copy_blob(key, target, copied)}
            if not missing:
                return keys, missing, revision
            log.info("blobs deleted during the backup; taking a new snapshot", extra={"round": round_})
        log.warning("asset rows name blobs the store does not have", extra={"keys": sorted(missing)[:20]})
        return keys, missing, revision

    def _snapshot(self, snapshot: Path) -> tuple[set[str], str]:
        take_snapshot(self.data.database, snapshot)
        with open_snapshot(snapshot) as repo:
            keys, revision = repo.storage_keys(), repo.revision()
        if revision is None:
            raise BackupError(f"the database at {self.data.database} was never migrated: run `aptmagic migrate`")
        return keys, revision

    def _copy_blob(self, key: str, target: BackupTarget, copied: dict[str, BackupFile]) -> bool:
        try:
            handle = (self.data.blobs / key).open("rb")
        except FileNotFoundError:
            return False
        with handle:
            copied[key] = self._put(target, BLOBS + key, handle)
        return True

    @staticmethod
    def _put(target: BackupTarget, name: str, handle: BinaryIO) -> BackupFile:
        reader = HashingReader(handle)
        target.write(name, reader)
        return BackupFile(path=name, size=reader.size, sha256=reader.digest.hexdigest())

    # -- restore -----------------------------------------------------------------------------

    def restore(self, source: BackupTarget, *, force: bool = False) -> Manifest:
        manifest = self.read_manifest(source)
        if not self.known_revision(manifest.alembic_revision):
            raise BackupError(
                f"the backup's database is at revision {manifest.alembic_revision}, which this aptmagic "
                f"({self.app_version}) does not know: restore it with aptmagic {manifest.aptmagic_version} or newer"
            )
        if not force:
            self._check_empty()
        self.data.database.parent.mkdir(parents=True, exist_ok=True)
        self.data.blobs.parent.mkdir(parents=True, exist_ok=True)
        with (
            self._workdir(self.data.database.parent, ".restore-") as db_stage,
            self._workdir(self.data.blobs.parent, ".restore-blobs-") as blob_stage,
        ):
            for entry in manifest.files:
                self._fetch(source, entry, (db_stage if entry.path == DATABASE else blob_stage) / entry.path)
            self._check_staged(manifest, db_stage / DATABASE, blob_stage / BLOBS)
            self._swap_in(db_stage / DATABASE, blob_stage / BLOBS)
        log.info("backup restored", extra={"location": source.location, "blobs": manifest.blob_count})
        return manifest

    @staticmethod
    def read_manifest(source: BackupTarget) -> Manifest:
        buffer = io.BytesIO()
        try:
            source.read_into(MANIFEST, buffer)
        except BackupFileMissing:
            raise BackupError(
                f"{source.location} has no {MANIFEST}: it is not a backup, or an unfinished one "
                "(the manifest is written last)"
            ) from None
        try:
            manifest = Manifest.model_validate_json(buffer.getvalue())
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the document"
            raise BackupError(
                f"{source.location}/{MANIFEST} is damaged or not a backup manifest: {where}: {first['msg']}"
            ) from None
        if manifest.format_version > FORMAT_VERSION:
            raise BackupError(f"backup format {manifest.format_version} is newer than this aptmagic reads")
        return manifest

    def _check_empty(self) -> None:
        database = self.data.database
        if database.exists() or any(Path(f"{database}{suffix}").exists() for suffix in SQLITE_SIDE_FILES):
            raise BackupError(f"there is already a database at {database}: restore into an empty data folder, "
                              "or stop aptmagic and pass --force to replace it")  # fmt: skip
        if self.data.blobs.exists() and any(path.is_file() for path in self.data.blobs.rglob("*")):
            raise BackupError(f"the blob folder {self.data.blobs} is not empty: restore into an empty data folder, "
                              "or stop aptmagic and pass --force to replace it")  # fmt: skip

    @staticmethod
    def _fetch(source: BackupTarget, entry: BackupFile, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with dest.open("wb") as handle:
            writer = HashingWriter(handle)
            try:
                source.read_into(entry.path, writer)
            except BackupFileMissing:
                raise BackupError(
                    f"{entry.path} is missing from {source.location} (a partial or damaged backup); nothing was restored"
                ) from None
        if writer.size != entry.size or writer.digest.hexdigest() != entry.sha256:
            raise BackupError(
                f"{entry.path} in {source.location} is damaged: {writer.size} bytes with sha256 "
                f"{writer.digest.hexdigest()[:16]}…, the manifest says {entry.size} bytes with "
                f"{entry.sha256[:16]}…; nothing was restored"
            )

    @staticmethod
    def _check_staged(manifest: Manifest, database: Path, blobs: Path) -> None:
        check_integrity(database)
        with open_snapshot(database) as repo:
            keys, revision = repo.storage_keys(), repo.revision()
        if revision != manifest.alembic_revision:
            raise BackupError(f"the database is at revision {revision}, the manifest says {manifest.alembic_revision}")
        absent = sorted(key for key in keys - set(manifest.missing_blobs) if not (blobs / key).is_file())
        if absent:
            raise BackupError(
                f"the backup lacks the blobs of {len(absent)} asset rows (e.g. {absent[0]}); nothing was restored"
            )

    def _swap_in(self, database: Path, blobs: Path) -> None:
        """Renames only: the data folder holds the old data until the new files are complete."""
        blobs.mkdir(parents=True, exist_ok=True)
        old_blobs = self.data.blobs.with_name(f".{self.data.blobs.name}-replaced-{os.getpid()}")
        if self.data.blobs.exists():
            os.replace(self.data.blobs, old_blobs)
        for suffix in SQLITE_SIDE_FILES:  # a stale -wal would be replayed into the restored file
            Path(f"{self.data.database}{suffix}").unlink(missing_ok=True)
        os.replace(database, self.data.database)
        os.replace(blobs, self.data.blobs)
        shutil.rmtree(old_blobs, ignore_errors=True)

    @staticmethod
    @contextmanager
    def _workdir(parent: Path, prefix: str) -> Iterator[Path]:
        parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
