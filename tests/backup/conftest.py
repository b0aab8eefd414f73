"""An embedded app (SQLite and a local blob folder) with jobs, outputs and a login, and its backup."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from aptmagic.backup.folder import FolderTarget
from aptmagic.config import Settings
from aptmagic.wiring.backup import backup_service
from tests.conftest import LiveServer, create_asset, start_server, submit, wait_for


def embedded_settings(data_dir: Path, models_dir: Path, **overrides: Any) -> Settings:
    """Always SQLite and local blobs, whatever --db the suite runs with: backups are for those."""
    values: dict[str, Any] = {
        "environment": "test", "data_dir": data_dir, "models_dir": models_dir, "demo": True,
        "retry_base_seconds": 0.05, "retry_max_seconds": 0.2, "progress_write_interval": 0.0,
        "shutdown_timeout": 10.0, **overrides,
    }  # fmt: skip
    return Settings(**values)


@dataclass
class Made:
    """What the source app held when it was backed up. One per session: the restore drill wipes
    ``settings.data_dir`` and restores it within its test, the others only read it."""

    settings: Settings
    backup: Path
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> JobRead as JSON
    blobs: dict[str, bytes] = field(default_factory=dict)  # asset id -> bytes
    api_key: str = ""
    password: str = ""


def fill(live: LiveServer, made: Made) -> None:
    """Two image jobs and one uploaded file, their bytes as served."""
    with httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=60) as http:
        for seed in (1, 2):
            job = wait_for(http, submit(http, seed=seed, width=64, height=64, steps=2)["id"])
            assert job["status"] == "succeeded", job
            made.jobs[job["id"]] = job
            for output in job["outputs"]:
                made.blobs[output["asset_id"]] = http.get(output["url"]).content
        upload = create_asset(live, b"uploaded bytes " * 100, "application/octet-stream", "image")
        made.blobs[upload] = http.get(f"/api/v1/assets/{upload}").content
    assert live.account is not None
    made.api_key, made.password = live.account.api_key, live.account.password


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[Made]:
    root = tmp_path_factory.mktemp("source")
    settings = embedded_settings(root / "data", models_dir)
    result = Made(settings, root / "backup")
    live = start_server(settings)
    try:
        fill(live, result)
        backup_service(settings).backup(FolderTarget(result.backup))  # while the server runs
    finally:
        live.stop()
    yield result


@pytest.fixture
def backup_copy(made: Made, tmp_path: Path) -> Path:
    """A copy of the module's backup that a test may damage."""
    return Path(shutil.copytree(made.backup, tmp_path / "backup"))


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def assets_of(database: Path) -> list[tuple[str, str]]:
    """(storage_key, sha256) of every asset row."""
    with sqlite3.connect(database) as conn:
        return list(conn.execute("SELECT storage_key, sha256 FROM assets"))


def integrity(database: Path) -> str:
    with sqlite3.connect(database) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
