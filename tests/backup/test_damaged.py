"""A damaged, partial or foreign backup is refused with a clear error, and nothing is half-restored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from aptmagic.backup.base import BackupError
from aptmagic.backup.folder import FolderTarget
from aptmagic.wiring.backup import backup_service
from tests.backup.conftest import Made, embedded_settings


@pytest.fixture
def restore_into(made: Made, tmp_path: Path) -> Any:
    settings = embedded_settings(tmp_path / "restored", made.settings.models_dir)

    def restore(backup: Path, force: bool = False) -> None:
        backup_service(settings).restore(FolderTarget(backup), force=force)

    restore.data_dir = settings.data_dir  # type: ignore[attr-defined]
    return restore


def untouched(data_dir: Path) -> bool:
    """Nothing restored and no staging left: at most empty folders."""
    return not data_dir.exists() or not any(path.is_file() for path in data_dir.rglob("*"))


def first_blob(backup: Path) -> Path:
    return sorted((backup / "blobs").rglob("*.*"))[0]


def edit_manifest(backup: Path, change: Any) -> None:
    path = backup / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def test_a_flipped_byte_in_a_blob(backup_copy: Path, restore_into: Any) -> None:
    blob = first_blob(backup_copy)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    name = blob.relative_to(backup_copy).as_posix()
    with pytest.raises(BackupError, match=rf"{name} in .* is damaged: .* nothing was restored"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


def test_a_truncated_database(backup_copy: Path, restore_into: Any) -> None:
    database = backup_copy / "aptmagic.db"
    database.write_bytes(database.read_bytes()[:-4096])
    with pytest.raises(BackupError, match=r"aptmagic.db in .* is damaged"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


def test_a_missing_blob_file(backup_copy: Path, restore_into: Any) -> None:
    blob = first_blob(backup_copy)
    blob.unlink()
    with pytest.raises(BackupError, match=rf"{blob.relative_to(backup_copy).as_posix()} is missing from .*partial"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


def test_no_manifest_is_an_unfinished_backup(backup_copy: Path, restore_into: Any) -> None:
    (backup_copy / "manifest.json").unlink()
    with pytest.raises(BackupError, match=r"has no manifest.json: .* unfinished"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("not json {", "is damaged or not a backup manifest"),
        ('{"format": "something-else"}', "format"),
        ("[]", "is damaged or not a backup manifest"),
    ],
)
def test_a_corrupt_manifest(backup_copy: Path, restore_into: Any, damage: str, message: str) -> None:
    (backup_copy / "manifest.json").write_text(damage)
    with pytest.raises(BackupError, match=message):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


def test_a_checksum_changed_in_the_manifest(backup_copy: Path, restore_into: Any) -> None:
    edit_manifest(backup_copy, lambda m: m["files"][0].update(sha256="0" * 64))
    with pytest.raises(BackupError, match="aptmagic.db in .* is damaged"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


@pytest.mark.parametrize("path", ["blobs/../../outside", "/etc/passwd", "blobs/Upper/Case", "other.db"])
def test_a_manifest_cannot_name_a_path_outside_the_data(backup_copy: Path, restore_into: Any, path: str) -> None:
    edit_manifest(backup_copy, lambda m: m["files"][1].update(path=path))
    with pytest.raises(BackupError, match="neither aptmagic.db nor blobs/<key>"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


def test_a_row_whose_blob_the_backup_lacks(backup_copy: Path, restore_into: Any) -> None:
    """Checksums fine, but the file list leaves out a blob a row names: not a consistent backup."""
    blob = first_blob(backup_copy)
    name = blob.relative_to(backup_copy).as_posix()
    blob.unlink()
    edit_manifest(backup_copy, lambda m: m.update(files=[f for f in m["files"] if f["path"] != name]))
    with pytest.raises(BackupError, match="lacks the blobs of 1 asset rows"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


def test_a_backup_from_a_newer_aptmagic(backup_copy: Path, restore_into: Any) -> None:
    edit_manifest(backup_copy, lambda m: m.update(alembic_revision="9999", aptmagic_version="9.0.0"))
    with pytest.raises(BackupError, match="revision 9999, which this aptmagic .* does not know.* 9.0.0 or newer"):
        restore_into(backup_copy)
    assert untouched(restore_into.data_dir)


def test_a_non_empty_data_folder_needs_force(made: Made, restore_into: Any) -> None:
    data_dir: Path = restore_into.data_dir
    (data_dir / "blobs" / "outputs").mkdir(parents=True)
    (data_dir / "blobs" / "outputs" / "stale.png").write_bytes(b"old")
    with pytest.raises(BackupError, match="blob folder .* is not empty: .* --force"):
        restore_into(made.backup)
    (data_dir / "aptmagic.db").write_bytes(b"old database")
    (data_dir / "aptmagic.db-wal").write_bytes(b"old wal")
    with pytest.raises(BackupError, match="already a database at .* --force"):
        restore_into(made.backup)
    assert (data_dir / "aptmagic.db").read_bytes() == b"old database"
    restore_into(made.backup, force=True)
    assert (data_dir / "aptmagic.db").read_bytes() == (made.backup / "aptmagic.db").read_bytes()
    assert not (data_dir / "aptmagic.db-wal").exists()  # a stale WAL would be replayed into it
    assert not (data_dir / "blobs" / "outputs" / "stale.png").exists()
    assert sorted(p.name for p in data_dir.iterdir()) == ["aptmagic.db", "blobs"]


def test_backing_up_into_a_used_folder_is_refused(made: Made, tmp_path: Path) -> None:
    used = tmp_path / "used"
    used.mkdir()
    (used / "something").write_text("x")
    with pytest.raises(BackupError, match="is not empty: back up into a new folder"):
        backup_service(made.settings).backup(FolderTarget(used))


def test_nothing_to_back_up(tmp_path: Path, made: Made) -> None:
    settings = embedded_settings(tmp_path / "never-started", made.settings.models_dir)
    with pytest.raises(BackupError, match="nothing to back up: there is no database"):
        backup_service(settings).backup(FolderTarget(tmp_path / "out"))
