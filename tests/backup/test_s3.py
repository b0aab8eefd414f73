"""Backups to s3://bucket/prefix on a moto server, and restores from there."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from aptmagic.backup.base import BackupError
from aptmagic.config import Settings
from aptmagic.wiring.backup import backup_service, open_location
from tests.backup.conftest import Made, assets_of, embedded_settings, integrity, sha256
from tests.support.services import MotoServer

REGION = "us-east-1"


@pytest.fixture
def aws(moto_server: MotoServer, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return {"aws_endpoint_url": moto_server.url, "aws_region": REGION}


@pytest.fixture
def s3(aws: dict[str, str]) -> Any:
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    return boto3.session.Session().client("s3", endpoint_url=aws["aws_endpoint_url"], region_name=REGION, config=config)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"backups-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


def source(made: Made, aws: dict[str, str]) -> Settings:
    return embedded_settings(made.settings.data_dir, made.settings.models_dir, **aws)


def test_backup_to_s3_and_restore_from_it(
    made: Made, aws: dict[str, str], bucket: str, s3: Any, tmp_path: Path
) -> None:
    settings = source(made, aws)
    location = f"s3://{bucket}/nightly/2026-01-01"
    manifest = backup_service(settings).backup(open_location(settings, location))
    stored = {obj["Key"] for obj in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert stored == {f"nightly/2026-01-01/{entry.path}" for entry in manifest.files} | {
        "nightly/2026-01-01/manifest.json"
    }
    target = embedded_settings(tmp_path / "restored", made.settings.models_dir, **aws)
    backup_service(target).restore(open_location(target, location + "/"))
    database = target.data_dir / "aptmagic.db"
    assert integrity(database) == "ok"
    rows = assets_of(database)
    assert {sha256(data) for data in made.blobs.values()} <= {digest for _, digest in rows}  # the drill may add one
    for key, digest in rows:
        assert sha256((target.data_dir / "blobs" / key).read_bytes()) == digest


def test_a_used_prefix_is_refused(made: Made, aws: dict[str, str], bucket: str, s3: Any) -> None:
    s3.put_object(Bucket=bucket, Key="taken/manifest.json", Body=b"{}")
    settings = source(made, aws)
    with pytest.raises(BackupError, match=rf"s3://{bucket}/taken/ is not empty"):
        backup_service(settings).backup(open_location(settings, f"s3://{bucket}/taken"))


def test_a_missing_bucket_is_named(made: Made, aws: dict[str, str]) -> None:
    settings = source(made, aws)
    with pytest.raises(BackupError, match="the bucket of s3://no-such-bucket-here/x/ does not exist"):
        backup_service(settings).backup(open_location(settings, "s3://no-such-bucket-here/x"))


def test_damaged_and_partial_backups_on_s3(
    made: Made, aws: dict[str, str], bucket: str, s3: Any, tmp_path: Path
) -> None:
    settings = source(made, aws)
    manifest = backup_service(settings).backup(open_location(settings, f"s3://{bucket}/b"))
    target = embedded_settings(tmp_path / "restored", made.settings.models_dir, **aws)
    blob = manifest.files[1].path
    s3.put_object(Bucket=bucket, Key=f"b/{blob}", Body=b"not the original bytes")
    with pytest.raises(BackupError, match=rf"{blob} in s3://{bucket}/b/ is damaged"):
        backup_service(target).restore(open_location(target, f"s3://{bucket}/b"))
    s3.delete_object(Bucket=bucket, Key=f"b/{blob}")
    with pytest.raises(BackupError, match=rf"{blob} is missing from s3://{bucket}/b/"):
        backup_service(target).restore(open_location(target, f"s3://{bucket}/b"))
    s3.delete_object(Bucket=bucket, Key="b/manifest.json")
    with pytest.raises(BackupError, match="has no manifest.json: .* unfinished"):
        backup_service(target).restore(open_location(target, f"s3://{bucket}/b"))
    assert not any(path.is_file() for path in target.data_dir.rglob("*"))


@pytest.mark.parametrize("uri", ["s3://", "s3:///prefix"])
def test_a_bad_s3_uri(made: Made, aws: dict[str, str], uri: str) -> None:
    with pytest.raises(BackupError, match="is not an S3 location"):
        open_location(source(made, aws), uri)
