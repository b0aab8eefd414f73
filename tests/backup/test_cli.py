"""aptmagic backup / restore on the command line."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

from aptmagic import cli
from aptmagic.migrations.migrate import head_revision

runner = CliRunner()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli, "console", Console(width=300))
    for key in [k for k in os.environ if k.startswith("APTMAGIC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)


def run(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli.app, list(args), env={"APTMAGIC_NEW_USER_PASSWORD": "a long enough password"})
    return result.exit_code, " ".join(result.output.split())


def usernames(data_dir: Path) -> list[str]:
    with sqlite3.connect(data_dir / "aptmagic.db") as conn:
        return [row[0] for row in conn.execute("SELECT username FROM users ORDER BY username")]


def test_backup_and_restore_commands(tmp_path: Path) -> None:
    source, target = tmp_path / "source", tmp_path / "target"
    assert run("user", "create", "--username", "alice", "--email", "a@example.com", "--data-dir", str(source))[0] == 0
    code, out = run("backup", str(tmp_path / "b"), "--data-dir", str(source))
    assert code == 0 and f"backed up the database (revision {head_revision()}) and 0 blobs" in out, out
    code, out = run("restore", str(tmp_path / "b"), "--data-dir", str(target))
    assert code == 0 and f"restored the database (revision {head_revision()})" in out, out
    assert usernames(target) == ["alice"]
    code, out = run("restore", str(tmp_path / "b"), "--data-dir", str(source))
    assert code == 1 and "Not restored: there is already a database" in out and "--force" in out
    assert run("user", "create", "--username", "bob", "--email", "b@example.com", "--data-dir", str(target))[0] == 0
    code, out = run("restore", str(tmp_path / "b"), "--data-dir", str(target), "--force")
    assert code == 0, out
    assert usernames(target) == ["alice"]


def test_backup_into_a_used_folder_fails(tmp_path: Path) -> None:
    assert run("migrate", "--data-dir", str(tmp_path / "d"))[0] == 0
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("x")
    code, out = run("backup", str(tmp_path / "b"), "--data-dir", str(tmp_path / "d"))
    assert code == 1 and "Backup failed:" in out and "is not empty" in out


def test_a_damaged_backup_is_not_restored(tmp_path: Path) -> None:
    assert run("migrate", "--data-dir", str(tmp_path / "d"))[0] == 0
    assert run("backup", str(tmp_path / "b"), "--data-dir", str(tmp_path / "d"))[0] == 0
    database = tmp_path / "b" / "aptmagic.db"
    database.write_bytes(database.read_bytes()[:1000])
    code, out = run("restore", str(tmp_path / "b"), "--data-dir", str(tmp_path / "e"))
    assert code == 1 and "Not restored: aptmagic.db in" in out and "is damaged" in out
    assert not (tmp_path / "e" / "aptmagic.db").exists()


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({"APTMAGIC_DATABASE_URL": "postgresql+psycopg://u:p@db.invalid:5432/aptmagic"}, "a postgresql database"),
        ({"APTMAGIC_STORAGE_BACKEND": "s3", "APTMAGIC_S3_BUCKET": "b"}, "s3 storage"),
    ],
)
@pytest.mark.parametrize("command", ["backup", "restore"])
def test_a_cluster_is_pointed_to_pitr_and_versioning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], where: str, command: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    code, out = run(command, str(tmp_path / "b"))
    assert code == 2
    assert f"keeps its data in {where}" in out
    assert "point-in-time recovery" in out and "versioning" in out and "docs/operations/backup.md" in out
    assert not (tmp_path / "b").exists()
