"""Signed, expiring upload URLs (itsdangerous, keyed by Settings.secret_key).

The token carries the upload id, the content type and the most bytes the
client may send; nothing is stored until the bytes arrive."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from itsdangerous import BadData, Serializer, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import base64_encode

from aptmagic.uploads.errors import UploadUrlExpired, UploadUrlInvalid

SALT = "aptmagic.uploads.presign.v1"


class _PlainSerializer(URLSafeTimedSerializer):
    """Never compressed: a token is always payload.timestamp.signature."""

    def dump_payload(self, obj: Any) -> bytes:
        return base64_encode(Serializer.dump_payload(self, obj))


@dataclass(frozen=True)
class Grant:
    upload_id: str
    content_type: str
    size: int
    filename: str | None
    expires_at: datetime
    owner_id: str | None = None


class UploadSigner:
    def __init__(self, secret: str, ttl_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        owner = self

        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(owner.clock())

        self._serializer = _PlainSerializer(secret, salt=SALT, signer=_ClockSigner)

    def sign(
        self, upload_id: str, content_type: str, size: int, filename: str | None, owner_id: str | None = None
    ) -> tuple[str, Grant]:
        now = int(self.clock())
        payload = {"id": upload_id, "ct": content_type, "size": size, "name": filename, "uid": owner_id}
        token = self._serializer.dumps(payload)
        expires_at = datetime.fromtimestamp(now, UTC) + timedelta(seconds=self.ttl_seconds)
        return token, Grant(upload_id, content_type, size, filename, expires_at, owner_id)

    def verify(self, token: str) -> Grant:
        try:
            payload, signed_at = self._serializer.loads(token, max_age=self.ttl_seconds, return_timestamp=True)
        except SignatureExpired as exc:
            when = exc.date_signed + timedelta(seconds=self.ttl_seconds) if exc.date_signed else None
            at = f" at {when.isoformat()}" if when else ""
            raise UploadUrlExpired(
                f"this upload URL expired{at}; ask POST /api/v1/uploads/presign for a new one"
            ) from None
        except BadData:
            raise UploadUrlInvalid("this upload URL is not valid: its signature does not match") from None
        grant = _grant(payload, signed_at + timedelta(seconds=self.ttl_seconds))
        if grant is None:
            raise UploadUrlInvalid("this upload URL is not valid: its contents are malformed")
        return grant


def _grant(payload: Any, expires_at: datetime) -> Grant | None:
    if not isinstance(payload, dict):
        return None
    upload_id, content_type, size, name, owner = (payload.get(k) for k in ("id", "ct", "size", "name", "uid"))
    if not isinstance(upload_id, str) or not isinstance(content_type, str) or type(size) is not int:
        return None
    if name is not None and not isinstance(name, str) or owner is not None and not isinstance(owner, str):
        return None
    return Grant(upload_id, content_type, size, name, expires_at, owner)
