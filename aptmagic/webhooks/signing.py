"""Webhook signatures, in the manner of Stripe and Replicate.

The sender adds ``Webhook-Id``, ``Webhook-Timestamp`` (Unix seconds) and
``Webhook-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">``. A receiver
calls ``verify``: it refuses a missing or malformed header, a timestamp outside
the tolerance (a replay), and a body or timestamp that does not match the
signature (an alteration). Several ``v1=`` entries, space-separated, are
accepted while a secret is being rotated."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
DEFAULT_TOLERANCE_SECONDS = 300


class InvalidSignature(ValueError):
    pass


def _key(secret: str | bytes) -> bytes:
    return secret.encode() if isinstance(secret, str) else secret


def signature(secret: str | bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(_key(secret), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signed_headers(secret: str | bytes, body: bytes, message_id: str, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        ID_HEADER: message_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
        "Content-Type": "application/json",
    }


def _get(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    tolerance: float = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> int:
    """The signed timestamp when ``body`` was signed with ``secret`` within
    ``tolerance`` seconds of ``now``; raises InvalidSignature otherwise."""
    sent_ts, sent_sig = _get(headers, TIMESTAMP_HEADER), _get(headers, SIGNATURE_HEADER)
    if not sent_ts or not sent_sig:
        raise InvalidSignature(f"missing {TIMESTAMP_HEADER} or {SIGNATURE_HEADER} header")
    if not sent_ts.isdigit() or len(sent_ts) > 12:
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not a Unix time in seconds")
    timestamp = int(sent_ts)
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        raise InvalidSignature("the timestamp is outside the tolerance (a replay, or a skewed clock)")
    expected = signature(secret, timestamp, body)
    candidates = [part for part in sent_sig.split() if part.startswith("v1=")]
    if not any(hmac.compare_digest(expected, candidate) for candidate in candidates):
        raise InvalidSignature("the signature does not match the body")
    return timestamp
