"""Backup -> wipe -> restore: the same jobs, outputs and logins work."""

from __future__ import annotations

import json
import shutil

import httpx

from aptmagic.backup.folder import FolderTarget
from aptmagic.migrations.migrate import head_revision
from aptmagic.wiring.backup import backup_service
from tests.backup.conftest import Made, assets_of, integrity, sha256
from tests.conftest import start_server, submit, wait_for


def test_the_backup_holds_every_named_blob_with_its_checksum(made: Made) -> None:
    manifest = json.loads((made.backup / "manifest.json").read_text())
    assert manifest["alembic_revision"] == head_revision() and manifest["missing_blobs"] == []
    listed = {entry["path"]: entry for entry in manifest["files"]}
    assert integrity(made.backup / "aptmagic.db") == "ok"
    rows = assets_of(made.backup / "aptmagic.db")
    assert len(rows) == len(made.blobs) == 3
    for key, digest in rows:
        data = (made.backup / "blobs" / key).read_bytes()
        assert sha256(data) == digest == listed[f"blobs/{key}"]["sha256"]
    assert sha256((made.backup / "aptmagic.db").read_bytes()) == listed["aptmagic.db"]["sha256"]


def test_backup_wipe_restore_gives_back_jobs_outputs_and_logins(made: Made) -> None:
    settings = made.settings
    shutil.rmtree(settings.data_dir)
    restored = backup_service(settings).restore(FolderTarget(made.backup))
    assert restored.blob_count == 3
    assert sorted(p.name for p in settings.data_dir.iterdir()) == ["aptmagic.db", "blobs"]  # no staging left
    live = start_server(settings, account=False)
    try:
        with httpx.Client(base_url=live.url, headers={"Authorization": f"Bearer {made.api_key}"}, timeout=60) as http:
            for job_id, before in made.jobs.items():
                after = http.get(f"/api/v1/jobs/{job_id}").json()
                assert {k: after[k] for k in ("status", "params", "seed", "outputs", "model")} == {
                    k: before[k] for k in ("status", "params", "seed", "outputs", "model")
                }
            for asset_id, data in made.blobs.items():
                answer = http.get(f"/api/v1/assets/{asset_id}")
                assert answer.status_code == 200 and answer.content == data
            login = httpx.post(f"{live.url}/api/v1/auth/login", json={"login": "tester", "password": made.password})
            assert login.status_code == 200, login.text
            wrong = httpx.post(f"{live.url}/api/v1/auth/login", json={"login": "tester", "password": "not it at all"})
            assert wrong.status_code == 401
            again = wait_for(http, submit(http, seed=99, width=64, height=64, steps=2)["id"])  # the store takes writes
            assert again["status"] == "succeeded"
    finally:
        live.stop()
