"""Signed, expiring download links for generated files (itsdangerous).

OpenAI's ``response_format: url`` gives a link that works without the API
key, for an hour. The token carries the asset id and its owner and is signed
with Settings.secret_key; expired or tampered tokens answer 403."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from aptmagic.compat.errors import Forbidden

SALT = "aptmagic.compat.download.v1"
LINK_TTL_SECONDS = 3600
SIGNED_PATH = "/v1/files/signed/"


@dataclass(frozen=True)
class LinkGrant:
    asset_id: str
    owner_id: str | None


class LinkSigner:
    def __init__(
        self, secret: str, ttl_seconds: int = LINK_TTL_SECONDS, clock: Callable[[], float] = time.time
    ) -> None:
        self.ttl_seconds = ttl_seconds
        owner = self

        class _ClockSigner(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(owner.clock())

        self.clock = clock
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT, signer=_ClockSigner)

    def sign(self, asset_id: str, owner_id: str | None) -> str:
        token = self._serializer.dumps({"a": asset_id, "o": owner_id})
        return token if isinstance(token, str) else token.decode()

    def verify(self, token: str) -> LinkGrant:
        try:
            payload: Any = self._serializer.loads(token, max_age=self.ttl_seconds)
        except SignatureExpired:
            raise Forbidden("this download link has expired; request the image again") from None
        except BadData:
            raise Forbidden("this download link is not valid") from None
        asset_id, owner = (payload.get("a"), payload.get("o")) if isinstance(payload, dict) else (None, None)
        if not isinstance(asset_id, str) or (owner is not None and not isinstance(owner, str)):
            raise Forbidden("this download link is not valid")
        return LinkGrant(asset_id, owner)
