"""The receiver's side: aptmagic.webhooks.verify."""

from __future__ import annotations

import time

import pytest

from aptmagic.webhooks import InvalidSignature, verify
from aptmagic.webhooks.signing import signature, signed_headers

SECRET = "whsec_test"
BODY = b'{"type":"job.succeeded","data":{"id":"abc"}}'


def test_a_fresh_signed_body_verifies() -> None:
    headers = signed_headers(SECRET, BODY, "abc.job.succeeded")
    assert verify(SECRET, headers, BODY) == int(headers["Webhook-Timestamp"])
    lower = {k.lower(): v for k, v in headers.items()}
    verify(SECRET, lower, BODY)


def test_signature_is_hmac_sha256_over_timestamp_and_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, 1700000000, BODY) == "v1=" + expected


def test_a_replay_is_refused() -> None:
    old = signed_headers(SECRET, BODY, "x", now=time.time() - 301)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(SECRET, old, BODY)
    future = signed_headers(SECRET, BODY, "x", now=time.time() + 301)
    with pytest.raises(InvalidSignature, match="tolerance"):
        verify(SECRET, future, BODY)
    verify(SECRET, old, BODY, tolerance=600)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b.replace(b"abc", b"abd")),
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "Webhook-Timestamp": str(int(h["Webhook-Timestamp"]) - 1)}, b),
        lambda h, b: ({**h, "Webhook-Signature": h["Webhook-Signature"].upper()}, b),
        lambda h, b: ({**h, "Webhook-Signature": "v0=" + h["Webhook-Signature"][3:]}, b),
    ],
)
def test_an_altered_delivery_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    headers, body = tamper(signed_headers(SECRET, BODY, "x"), BODY)
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, body)


def test_another_secret_is_refused() -> None:
    with pytest.raises(InvalidSignature, match="does not match"):
        verify("other", signed_headers(SECRET, BODY, "x"), BODY)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Webhook-Timestamp": "1"}, {"Webhook-Signature": "v1=00"},
     {"Webhook-Timestamp": "-5", "Webhook-Signature": "v1=00"},
     {"Webhook-Timestamp": "1e9", "Webhook-Signature": "v1=00"},
     {"Webhook-Timestamp": "9" * 40, "Webhook-Signature": "v1=00"}],
)  # fmt: skip
def test_malformed_headers_are_refused(headers: dict[str, str]) -> None:
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, BODY)


def test_rotation_accepts_any_listed_signature() -> None:
    headers = signed_headers(SECRET, BODY, "x")
    ts = int(headers["Webhook-Timestamp"])
    headers["Webhook-Signature"] = f"{signature('old', ts, BODY)} {headers['Webhook-Signature']}"
    verify(SECRET, headers, BODY)
