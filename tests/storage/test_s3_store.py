"""S3BlobStore beyond the common contract: versions, presigned URLs, lifecycle
rules, server-side encryption, and an unreachable endpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from aptmagic.config import Settings
from aptmagic.storage.base import (
    BlobNotFound,
    PresigningBlobStore,
    StorageUnavailable,
    VersionedBlobStore,
)
from aptmagic.storage.s3 import S3BlobStore, s3_config
from aptmagic.wiring.lifecycle import apply
from tests.storage.conftest import REGION, s3_client
from tests.support.services import MotoServer, free_port


def test_s3_store_has_the_optional_capabilities(s3_store: S3BlobStore) -> None:
    assert isinstance(s3_store, VersionedBlobStore)
    assert isinstance(s3_store, PresigningBlobStore)


def test_keys_live_under_the_prefix(s3_store: S3BlobStore) -> None:
    s3_store.put("a/b.png", b"x", "image/png")
    listed = s3_store.client.list_objects_v2(Bucket=s3_store.bucket)["Contents"]
    assert [o["Key"] for o in listed] == ["pre/a/b.png"]
    head = s3_store.client.head_object(Bucket=s3_store.bucket, Key="pre/a/b.png")
    assert head["ContentType"] == "image/png"


def test_versions_list_and_restore(s3_store: S3BlobStore) -> None:
    s3_store.put("k.bin", b"one", "application/octet-stream")
    s3_store.put("k.bin", b"two!", "application/octet-stream")
    s3_store.put("other.bin", b"not mine", "application/octet-stream")
    versions = s3_store.list_versions("k.bin")
    assert [v.size for v in versions] == [4, 3]
    assert [v.is_latest for v in versions] == [True, False]

    restored = s3_store.restore_version("k.bin", versions[1].version_id)

    assert s3_store.read("k.bin") == b"one"
    assert restored.is_latest and restored.size == 3
    after = s3_store.list_versions("k.bin")
    assert len(after) == 3 and after[0].version_id == restored.version_id


def test_a_deleted_blob_can_be_restored(s3_store: S3BlobStore) -> None:
    s3_store.put("gone.bin", b"keep me", "application/octet-stream")
    s3_store.delete("gone.bin")
    assert not s3_store.exists("gone.bin")
    versions = s3_store.list_versions("gone.bin")
    assert [v.is_delete_marker for v in versions] == [True, False]
    s3_store.restore_version("gone.bin", versions[1].version_id)
    assert s3_store.read("gone.bin") == b"keep me"


def test_restoring_an_unknown_version_is_not_found(s3_store: S3BlobStore) -> None:
    s3_store.put("k.bin", b"one", "application/octet-stream")
    with pytest.raises((BlobNotFound, StorageUnavailable)):
        s3_store.restore_version("k.bin", "no-such-version")
    assert s3_store.read("k.bin") == b"one"


def test_presigned_get_and_put(s3_store: S3BlobStore) -> None:
    s3_store.put("p.png", b"png bytes", "image/png")
    url = s3_store.presign_get("p.png", 60, download_name="p.png")
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["60"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    response = httpx.get(url)
    assert response.status_code == 200 and response.content == b"png bytes"
    assert response.headers["content-disposition"] == 'attachment; filename="p.png"'

    put_url, headers = s3_store.presign_put("tmp/uploads/abc", "image/png", 60)
    assert headers == {"Content-Type": "image/png"}
    assert httpx.put(put_url, content=b"direct", headers=headers).status_code == 200
    assert s3_store.read("tmp/uploads/abc") == b"direct"


def test_presigned_urls_carry_their_expiry_and_signature(s3_store: S3BlobStore) -> None:
    s3_store.put("p.png", b"x", "image/png")
    url = s3_store.presign_get("p.png", 1)
    query = parse_qs(urlsplit(url).query)
    assert query["X-Amz-Expires"] == ["1"]
    assert len(query["X-Amz-Signature"][0]) == 64
    assert query["X-Amz-SignedHeaders"] == ["host"]
    assert (
        query["X-Amz-Credential"][0].startswith("testing/")
        and f"/{REGION}/s3/aws4_request" in query["X-Amz-Credential"][0]
    )


def _captured_headers(store: S3BlobStore, operation: str) -> list[dict[str, str]]:
    seen: list[dict[str, str]] = []

    def capture(request: Any, **_: Any) -> None:
        seen.append({k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()})

    store.client.meta.events.register(f"before-send.s3.{operation}", capture)
    return seen


def test_sse_aes256_is_requested_and_kept(moto_server: MotoServer, make_bucket: Callable[..., str]) -> None:
    store = S3BlobStore(s3_client(moto_server.url), make_bucket(), sse="AES256")
    seen = _captured_headers(store, "PutObject")
    store.put("enc.bin", b"secret", "application/octet-stream")
    assert seen[0]["x-amz-server-side-encryption"] == "AES256"
    head = store.client.head_object(Bucket=store.bucket, Key="enc.bin")
    assert head["ServerSideEncryption"] == "AES256"
    _, headers = store.presign_put("tmp/uploads/x", "image/png", 60)
    assert headers["x-amz-server-side-encryption"] == "AES256"


def test_sse_kms_with_a_key_id_is_requested(moto_server: MotoServer, make_bucket: Callable[..., str]) -> None:
    store = S3BlobStore(s3_client(moto_server.url), make_bucket(), sse="aws:kms", kms_key_id="alias/aptmagic")
    seen = _captured_headers(store, "PutObject")
    store.put("enc.bin", b"secret", "application/octet-stream")
    assert seen[0]["x-amz-server-side-encryption"] == "aws:kms"
    assert seen[0]["x-amz-server-side-encryption-aws-kms-key-id"] == "alias/aptmagic"
    copies = _captured_headers(store, "CopyObject")
    store.put("enc.bin", b"second", "application/octet-stream")
    store.restore_version("enc.bin", store.list_versions("enc.bin")[1].version_id)
    assert copies[0]["x-amz-server-side-encryption"] == "aws:kms"


def test_sse_settings_are_checked(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="aws:kms"):
        Settings(data_dir=tmp_path, storage_backend="s3", s3_bucket="b", s3_sse="AES256", s3_sse_kms_key_id="k")
    with pytest.raises(ValueError, match="s3_bucket"):
        Settings(data_dir=tmp_path, storage_backend="s3")
    with pytest.raises(ValueError):
        Settings(data_dir=tmp_path, storage_backend="s3", s3_bucket="b", s3_sse="DES")


def test_lifecycle_rules_and_versioning_applied(
    moto_server: MotoServer, make_bucket: Callable[..., str], tmp_path: Any
) -> None:
    bucket = make_bucket(versioned=False)
    settings = Settings(
        data_dir=tmp_path, storage_backend="s3", s3_bucket=bucket, s3_endpoint_url=moto_server.url, s3_region=REGION,
        s3_path_style=True, s3_prefix="apt/", s3_noncurrent_expire_days=7,
    )  # fmt: skip
    apply(settings)
    client = s3_client(moto_server.url)
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    rules = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    temporary = rules["aptmagic-temporary-uploads"]
    assert temporary["Filter"]["Prefix"] == "apt/tmp/" and temporary["Expiration"]["Days"] == 1
    assert temporary["Status"] == "Enabled"
    noncurrent = rules["aptmagic-noncurrent-versions"]
    assert noncurrent["Filter"]["Prefix"] == "apt/"
    assert noncurrent["NoncurrentVersionExpiration"]["NoncurrentDays"] == 7
    assert noncurrent["Expiration"] == {"ExpiredObjectDeleteMarker": True}


def test_lifecycle_refuses_a_local_store(tmp_path: Any) -> None:
    with pytest.raises(SystemExit, match="not s3"):
        apply(Settings(data_dir=tmp_path))


def test_unreachable_endpoint_fails_fast_as_unavailable(aws_env: None) -> None:
    import boto3

    dead = f"http://127.0.0.1:{free_port()}"
    client = boto3.session.Session().client(
        "s3", endpoint_url=dead, region_name=REGION, config=s3_config(0.5, 0.5, 2, True)
    )
    store = S3BlobStore(client, "bucket")
    started = time.monotonic()
    for call in (
        lambda: store.put("k", b"x", "text/plain"),
        lambda: store.read("k"),
        store.check,
        lambda: store.list_versions("k"),
    ):
        with pytest.raises(StorageUnavailable) as caught:
            call()
        assert caught.value.status_code == 503 and caught.value.headers == {"Retry-After": "5"}
    assert time.monotonic() - started < 10
    assert isinstance(caught.value, ConnectionError)  # a job that meets it is retried as transient


def test_a_refusal_by_s3_is_unavailable_not_a_crash(s3_store: S3BlobStore) -> None:
    store = S3BlobStore(s3_store.client, "no-such-bucket-here")
    with pytest.raises(StorageUnavailable, match="NoSuchBucket"):
        store.put("k", b"x", "text/plain")


def test_lifecycle_command_line(moto_server: MotoServer, make_bucket: Callable[..., str], tmp_path: Any) -> None:
    import json
    import os
    import subprocess
    import sys

    bucket = make_bucket(versioned=False)
    env = {
        **os.environ, "APTMAGIC_STORAGE_BACKEND": "s3", "APTMAGIC_S3_BUCKET": bucket, "APTMAGIC_DATA_DIR": str(tmp_path),
        "APTMAGIC_S3_ENDPOINT_URL": moto_server.url, "APTMAGIC_S3_REGION": REGION, "APTMAGIC_S3_PATH_STYLE": "true",
        "APTMAGIC_S3_TEMP_EXPIRE_DAYS": "2",
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-m", "aptmagic.wiring.lifecycle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    printed = json.loads(done.stdout)
    assert printed["Rules"][0]["Expiration"] == {"Days": 2}
    client = s3_client(moto_server.url)
    assert client.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    assert len(client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]) == 2
