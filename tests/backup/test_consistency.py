"""A backup taken while jobs run, finish and are deleted is consistent with itself."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aptmagic.backup.folder import FolderTarget
from aptmagic.backup.service import BackupService
from aptmagic.wiring.backup import backup_service
from tests.backup.conftest import assets_of, embedded_settings, integrity, sha256
from tests.conftest import LiveServer, start_server, submit, wait_for


@pytest.fixture
def live(tmp_path: Path, models_dir: Path) -> Iterator[LiveServer]:
    server = start_server(embedded_settings(tmp_path / "data", models_dir, worker_concurrency=2))
    yield server
    server.stop()


def check_consistent(backup: Path) -> int:
    """Every asset row of the backed-up database has its blob, with the row's checksum; returns the row count."""
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["missing_blobs"] == []
    listed = {entry["path"]: entry["sha256"] for entry in manifest["files"]}
    assert integrity(backup / "aptmagic.db") == "ok"
    rows = assets_of(backup / "aptmagic.db")
    for key, digest in rows:
        blob = backup / "blobs" / key
        assert blob.is_file(), f"asset row {key} has no blob in the backup"
        assert sha256(blob.read_bytes()) == digest == listed[f"blobs/{key}"]
    assert len(listed) == len(rows) + 1  # the database and exactly the blobs its rows name
    return len(rows)


class Churn(threading.Thread):
    """Submits jobs and deletes finished ones until stopped."""

    def __init__(self, live: LiveServer) -> None:
        super().__init__(daemon=True)
        self.http = httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=60)
        self.stop_event = threading.Event()
        self.deleted = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        pending: list[str] = []
        try:
            while not self.stop_event.is_set():
                if len(pending) < 4:  # keep the workers busy, not the queue long
                    pending.append(submit(self.http, seed=random.randrange(2**31), width=64, height=64, steps=2)["id"])
                for job_id in list(pending):
                    if self.http.get(f"/api/v1/jobs/{job_id}").json()["status"] == "succeeded":
                        if random.random() < 0.5:
                            assert self.http.delete(f"/api/v1/jobs/{job_id}").status_code == 204
                            self.deleted += 1
                        pending.remove(job_id)
        except BaseException as exc:  # reported by the test
            self.error = exc

    def finish(self) -> None:
        self.stop_event.set()
        self.join(60)
        self.http.close()
        assert self.error is None, self.error


class DeletingTarget(FolderTarget):
    """Deletes the other jobs through the API when the first blob is written: between the
    database snapshot and the copy of their blobs."""

    def __init__(self, root: Path, delete: Any) -> None:
        super().__init__(root)
        self.delete = delete

    def write(self, name: str, source: Any) -> None:
        if name.startswith("blobs/") and self.delete is not None:
            self.delete(name.removeprefix("blobs/"))
            self.delete = None
        super().write(name, source)


def test_blobs_deleted_after_the_snapshot_make_a_new_snapshot(
    live: LiveServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=60) as http:
        jobs = [wait_for(http, submit(http, seed=seed, width=64, height=64, steps=2)["id"]) for seed in range(4)]
        keys = {job["id"]: storage_key(live, job["outputs"][0]["asset_id"]) for job in jobs}

        def delete_others(copying: str) -> None:
            for job_id, key in keys.items():
                if key != copying:
                    assert http.delete(f"/api/v1/jobs/{job_id}").status_code == 204

        caplog.set_level("INFO", logger="aptmagic.backup.service")
        service: BackupService = backup_service(live.services.settings)
        manifest = service.backup(DeletingTarget(tmp_path / "backup", delete_others))
    assert check_consistent(tmp_path / "backup") == 1  # only the job whose blob was being copied
    assert manifest.blob_count == 1
    assert "taking a new snapshot" in caplog.text


def storage_key(live: LiveServer, asset_id: str) -> str:
    from aptmagic.assets.models import Asset

    with live.services.session_factory() as session:
        asset = session.get(Asset, asset_id)
        assert asset is not None
        return asset.storage_key


@pytest.mark.slow
def test_backups_taken_while_jobs_run_and_are_deleted(live: LiveServer, tmp_path: Path) -> None:
    churn = Churn(live)
    churn.start()
    service = backup_service(live.services.settings)
    counts: list[int] = []
    start = time.monotonic()
    try:
        while time.monotonic() - start < 60:
            backup = tmp_path / f"backup-{len(counts)}"
            service.backup(FolderTarget(backup))
            counts.append(check_consistent(backup))
            if len(counts) >= 3 and counts[-1] > 0 and churn.deleted >= 2:
                break
            time.sleep(0.1)
    finally:
        churn.finish()
    assert len(counts) >= 3 and counts[-1] > 0 and churn.deleted >= 2, (counts, churn.deleted)
