"""An online copy of a SQLite database, consistent while other connections write to it."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from aptmagic.backup.base import BackupError


def take_snapshot(source: Path, dest: Path) -> None:
    """Copy ``source`` into a new single-file database at ``dest``.

    One step of SQLite's backup API reads every page inside one read transaction, so the copy
    is the database as of one commit; in WAL mode writers go on meanwhile."""
    dest.unlink(missing_ok=True)
    src = sqlite3.connect(source, timeout=30)
    try:
        dst = sqlite3.connect(dest)
        try:
            src.backup(dst)  # pages=-1: all pages in one step
            dst.execute("PRAGMA journal_mode=DELETE")  # a self-contained file, no -wal beside it
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"the database {source} could not be copied: {exc}") from None
    finally:
        src.close()


def check_integrity(path: Path) -> None:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path.name} is not a readable SQLite database: {exc}") from None
    if rows != [("ok",)]:
        problems = "; ".join(str(row[0]) for row in rows[:3])
        raise BackupError(f"{path.name} fails SQLite's integrity check: {problems}")
