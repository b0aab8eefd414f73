"""A backup under an S3 prefix (AWS S3 or any S3 API), through boto3."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from aptmagic.backup.base import BackupError, BackupFileMissing, Readable, Writable

T = TypeVar("T")
CHUNK = 1024 * 1024


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/some/prefix``; the prefix is '' or ends with '/'."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not uri.startswith("s3://") or not bucket:
        raise BackupError(f"{uri!r} is not an S3 location: s3://bucket or s3://bucket/prefix")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


class S3Target:
    def __init__(self, client: Any, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.location = f"s3://{bucket}/{prefix}"

    def _call(self, call: Callable[[], T], name: str = "") -> T:
        try:
            return call()
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", "an error"))
            if code in ("404", "NoSuchKey", "NotFound") and name:
                raise BackupFileMissing(f"{name} is missing from {self.location}") from None
            if code == "NoSuchBucket":
                raise BackupError(f"the bucket of {self.location} does not exist") from None
            raise BackupError(f"S3 answered {code} for {self.location}{name}") from None
        except BotoCoreError as exc:
            raise BackupError(f"S3 could not be reached for {self.location}: {exc}") from None

    def is_empty(self) -> bool:
        answer = self._call(lambda: self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, MaxKeys=1))
        return not answer.get("KeyCount", 0)

    def write(self, name: str, source: Readable) -> None:
        self._call(lambda: self.client.upload_fileobj(source, self.bucket, self.prefix + name), name)

    def read_into(self, name: str, sink: Writable) -> None:
        answer = self._call(lambda: self.client.get_object(Bucket=self.bucket, Key=self.prefix + name), name)

        def copy() -> None:
            body = answer["Body"]
            while chunk := body.read(CHUNK):
                sink.write(chunk)

        self._call(copy, name)
