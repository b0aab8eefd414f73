"""Blob store in an S3 bucket (AWS S3 or any S3 API), through boto3.

Credentials come from the standard AWS chain (environment, shared files,
instance or task role). Every call has bounded timeouts and botocore's
standard retries; a store that cannot be reached raises StorageUnavailable
(503 with Retry-After), a missing key BlobNotFound."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from aptmagic.storage.base import TEMP_PREFIX, BlobInfo, BlobNotFound, BlobVersion, StorageUnavailable, check_key

T = TypeVar("T")
MAX_VERSIONS = 1000
NOT_FOUND = {"404", "NoSuchKey", "NotFound", "NoSuchVersion"}


def s3_config(connect_timeout: float, read_timeout: float, max_attempts: int, path_style: bool) -> Config:
    return Config(
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        retries={"max_attempts": max_attempts, "mode": "standard"},
        signature_version="s3v4",
        s3={"addressing_style": "path" if path_style else "auto"},
    )


class S3BlobStore:
    def __init__(
        self, client: Any, bucket: str, prefix: str = "", sse: str | None = None, kms_key_id: str | None = None,
        presign_client: Any = None,
    ) -> None:  # fmt: skip
        """``presign_client``: signs the URLs handed to clients (another endpoint); default ``client``."""
        self.client = client
        self.presign_client = presign_client or client
        self.bucket = bucket
        self.prefix = prefix
        self.sse_params: dict[str, str] = {}
        if sse:
            self.sse_params["ServerSideEncryption"] = sse
        if kms_key_id:
            self.sse_params["SSEKMSKeyId"] = kms_key_id

    @classmethod
    def from_settings(cls, settings: Any) -> S3BlobStore:
        config = s3_config(
            settings.s3_connect_timeout_seconds, settings.s3_read_timeout_seconds, settings.s3_max_attempts,
            settings.s3_path_style,
        )  # fmt: skip
        session = boto3.session.Session()
        client = session.client(
            "s3", region_name=settings.s3_region, endpoint_url=settings.s3_endpoint_url, config=config
        )
        public = settings.s3_public_endpoint_url
        presigner = (
            session.client("s3", region_name=settings.s3_region, endpoint_url=public, config=config) if public else None
        )
        return cls(
            client, settings.s3_bucket, settings.s3_prefix, settings.s3_sse, settings.s3_sse_kms_key_id, presigner
        )

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def _call(self, key: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if str(error.get("Code")) in NOT_FOUND:
                raise BlobNotFound(key) from None
            raise StorageUnavailable(f"S3 answered {error.get('Code', 'an error')}") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(type(exc).__name__) from exc

    # the BlobStore protocol

    def put(self, key: str, data: bytes, content_type: str) -> None:
        full = self._key(key)
        self._call(key, lambda: self.client.put_object(
            Bucket=self.bucket, Key=full, Body=bytes(data), ContentType=content_type, **self.sse_params))  # fmt: skip

    def iter_bytes(self, key: str, chunk_size: int = 65536) -> Iterator[bytes]:
        """The object is opened now (so a missing key raises here); the bytes are read as iterated."""
        full = self._key(key)
        body = self._call(key, lambda: self.client.get_object(Bucket=self.bucket, Key=full))["Body"]
        return self._chunks(key, body, chunk_size)

    def _chunks(self, key: str, body: Any, chunk_size: int) -> Iterator[bytes]:
        with body:
            while chunk := self._call(key, lambda: body.read(chunk_size)):
                yield chunk

    def read(self, key: str) -> bytes:
        return b"".join(self.iter_bytes(key))

    def stat(self, key: str) -> BlobInfo:
        full = self._key(key)
        head = self._call(key, lambda: self.client.head_object(Bucket=self.bucket, Key=full))
        return BlobInfo(key=key, size=int(head["ContentLength"]))

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except BlobNotFound:
            return False
        return True

    def delete(self, key: str) -> None:
        full = self._key(key)
        self._call(key, lambda: self.client.delete_object(Bucket=self.bucket, Key=full))

    def check(self) -> None:
        self._call("", lambda: self.client.head_bucket(Bucket=self.bucket))

    # versions

    def list_versions(self, key: str) -> list[BlobVersion]:
        full = self._key(key)
        found: list[BlobVersion] = []
        pages = self.client.get_paginator("list_object_versions").paginate(Bucket=self.bucket, Prefix=full)
        for page in self._call(key, lambda: _bounded(pages)):
            found += [_version(v, False) for v in page.get("Versions", []) if v["Key"] == full]
            found += [_version(v, True) for v in page.get("DeleteMarkers", []) if v["Key"] == full]
        return sorted(found, key=lambda v: (v.is_latest, v.last_modified), reverse=True)[:MAX_VERSIONS]

    def restore_version(self, key: str, version_id: str) -> BlobVersion:
        full = self._key(key)
        source = {"Bucket": self.bucket, "Key": full, "VersionId": version_id}
        copied = self._call(key, lambda: self.client.copy_object(
            Bucket=self.bucket, Key=full, CopySource=source, MetadataDirective="COPY", **self.sse_params))  # fmt: skip
        head = self._call(key, lambda: self.client.head_object(Bucket=self.bucket, Key=full))
        new_id = str(copied.get("VersionId") or head.get("VersionId") or "null")
        return BlobVersion(new_id, int(head["ContentLength"]), head["LastModified"], is_latest=True)

    def versioning_enabled(self) -> bool:
        status = self._call("", lambda: self.client.get_bucket_versioning(Bucket=self.bucket)).get("Status")
        return bool(status == "Enabled")

    # presigned URLs

    def presign_get(self, key: str, expires_in: int, download_name: str | None = None) -> str:
        params: dict[str, str] = {"Bucket": self.bucket, "Key": self._key(key)}
        if download_name:
            params["ResponseContentDisposition"] = f'attachment; filename="{download_name}"'
        return str(self.presign_client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_in))

    def presign_put(self, key: str, content_type: str, expires_in: int) -> tuple[str, dict[str, str]]:
        params = {"Bucket": self.bucket, "Key": self._key(key), "ContentType": content_type, **self.sse_params}
        url = self.presign_client.generate_presigned_url("put_object", Params=params, ExpiresIn=expires_in)
        headers = {"Content-Type": content_type}
        if "ServerSideEncryption" in self.sse_params:
            headers["x-amz-server-side-encryption"] = self.sse_params["ServerSideEncryption"]
        if "SSEKMSKeyId" in self.sse_params:
            headers["x-amz-server-side-encryption-aws-kms-key-id"] = self.sse_params["SSEKMSKeyId"]
        return str(url), headers

    # bucket set-up

    def enable_versioning(self) -> None:
        self._call("", lambda: self.client.put_bucket_versioning(
            Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"}))  # fmt: skip

    def apply_lifecycle(self, temp_days: int, noncurrent_days: int) -> dict[str, Any]:
        """Replace the bucket's lifecycle rules with aptmagic's two; return them."""
        rules = lifecycle_rules(self.prefix, temp_days, noncurrent_days)
        self._call(
            "", lambda: self.client.put_bucket_lifecycle_configuration(Bucket=self.bucket, LifecycleConfiguration=rules)
        )
        return rules


def lifecycle_rules(prefix: str, temp_days: int, noncurrent_days: int) -> dict[str, Any]:
    return {
        "Rules": [
            {
                "ID": "aptmagic-temporary-uploads",
                "Filter": {"Prefix": prefix + TEMP_PREFIX},
                "Status": "Enabled",
                "Expiration": {"Days": temp_days},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": temp_days},
            },
            {
                "ID": "aptmagic-noncurrent-versions",
                "Filter": {"Prefix": prefix},
                "Status": "Enabled",
                "NoncurrentVersionExpiration": {"NoncurrentDays": noncurrent_days},
                "Expiration": {"ExpiredObjectDeleteMarker": True},  # a deletion with no versions left goes too
            },
        ]
    }


def _bounded(pages: Any) -> list[dict[str, Any]]:
    collected = []
    for page in pages:
        collected.append(page)
        if sum(len(p.get("Versions", [])) + len(p.get("DeleteMarkers", [])) for p in collected) >= MAX_VERSIONS:
            break
    return collected


def _version(entry: dict[str, Any], marker: bool) -> BlobVersion:
    return BlobVersion(
        version_id=str(entry.get("VersionId") or "null"),
        size=0 if marker else int(entry.get("Size", 0)),
        last_modified=entry["LastModified"],
        is_latest=bool(entry.get("IsLatest")),
        is_delete_marker=marker,
    )
