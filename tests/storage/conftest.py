"""S3 on a moto server: a fresh bucket per test, dummy credentials in the environment."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from aptmagic.config import Settings
from aptmagic.storage.s3 import S3BlobStore
from tests.support.services import MotoServer

REGION = "us-east-1"


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)


def s3_client(endpoint: str) -> Any:
    config = Config(signature_version="s3v4", s3={"addressing_style": "path"})
    # A session of its own: boto3's default session keeps the first credentials it saw, which may be
    # another test's.
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=REGION, config=config)


@pytest.fixture
def make_bucket(moto_server: MotoServer, aws_env: None) -> Callable[..., str]:
    """A new bucket on the shared moto server; versioned unless told otherwise."""

    def make(versioned: bool = True) -> str:
        name = f"b-{uuid.uuid4().hex[:20]}"
        client = s3_client(moto_server.url)
        client.create_bucket(Bucket=name)
        if versioned:
            client.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        return name

    return make


@pytest.fixture
def s3_settings(moto_server: MotoServer, make_bucket: Callable[..., str]) -> Callable[..., dict[str, Any]]:
    """Settings keywords for an app on a fresh bucket."""

    def make(**overrides: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "storage_backend": "s3",
            "s3_bucket": make_bucket(versioned=overrides.pop("versioned", True)),
            "s3_endpoint_url": moto_server.url,
            "s3_region": REGION,
            "s3_path_style": True,
        }
        values.update(overrides)
        return values

    return make


@pytest.fixture
def s3_store(moto_server: MotoServer, make_bucket: Callable[..., str]) -> Iterator[S3BlobStore]:
    yield S3BlobStore(s3_client(moto_server.url), make_bucket(), prefix="pre/")


def s3_app_settings(root: Path, models_dir: Path, endpoint: str, **overrides: Any) -> Settings:
    bucket = f"b-{uuid.uuid4().hex[:20]}"
    s3_client(endpoint).create_bucket(Bucket=bucket)
    values: dict[str, Any] = {
        "environment": "test", "data_dir": root, "models_dir": models_dir, "demo": True, "progress_write_interval": 0.0,
        "shutdown_timeout": 10.0, "storage_backend": "s3", "s3_bucket": bucket, "s3_endpoint_url": endpoint,
        "s3_region": REGION, "s3_path_style": True, "s3_configure_bucket": True, "s3_prefix": "apt/",
        "upload_max_bytes": 500_000,
    }  # fmt: skip
    values.update(overrides)
    return Settings(**values)
