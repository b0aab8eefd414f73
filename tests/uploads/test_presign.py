"""Presigned uploads: ask for a URL, PUT the bytes there once, before it expires."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import datetime

import httpx
import pytest

from aptmagic.uploads.presign import UploadSigner
from tests.conftest import LiveServer
from tests.uploads import (
    error_of,
    http,  # noqa: F401  (fixture)
    raw_request,
    sample,
    shared_server,
)

MAX_BYTES = 500_000
TTL = 600
server = shared_server(upload_max_bytes=MAX_BYTES, presign_ttl_seconds=TTL)


def presign(http: httpx.Client, content_type: str, size: int, filename: str | None = None) -> dict:
    response = http.post(
        "/api/v1/uploads/presign", json={"content_type": content_type, "size": size, "filename": filename}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def clock(server: LiveServer) -> Iterator[list[float]]:
    """Shift the signer's clock by clock[0] seconds."""
    signer = server.services.uploads.signer
    shift = [0.0]
    signer.clock = lambda: time.time() + shift[0]
    yield shift
    signer.clock = time.time


def test_presigned_happy_path(http: httpx.Client) -> None:
    data = sample("png")
    grant = presign(http, "image/png", len(data), "holiday/beach.png")

    assert grant["method"] == "PUT"
    assert grant["url"].startswith("/api/v1/uploads/presigned/")
    assert grant["headers"] == {"Content-Type": "image/png"}
    assert grant["max_bytes"] == len(data)
    assert abs((datetime.fromisoformat(grant["expires_at"]).timestamp() - time.time()) - TTL) < 5

    response = http.put(grant["url"], content=data, headers=grant["headers"])

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["id"] == grant["upload_id"]
    assert (body["content_type"], body["media_kind"], body["width"], body["height"]) == ("image/png", "image", 40, 20)
    assert body["original_name"] == "beach.png"
    assert http.get(body["url"]).status_code == 200


def test_presigned_audio_and_video(http: httpx.Client) -> None:
    for name, content_type in (("flac", "audio/flac"), ("webm", "video/webm")):
        data = sample(name)
        grant = presign(http, content_type, len(data))
        response = http.put(grant["url"], content=data)
        assert response.status_code == 201, response.text
        assert response.json()["duration_seconds"] > 0


def test_a_smaller_body_than_declared_is_fine(http: httpx.Client) -> None:
    grant = presign(http, "image/png", 10_000)

    assert http.put(grant["url"], content=sample("png")).status_code == 201


def test_a_url_works_once(http: httpx.Client) -> None:
    data = sample("png")
    grant = presign(http, "image/png", len(data))
    assert http.put(grant["url"], content=data).status_code == 201

    again = http.put(grant["url"], content=data)

    assert again.status_code == 409
    assert error_of(again)["code"] == "upload_url_used"
    assert "already" in error_of(again)["message"]


def test_an_expired_url_is_refused(http: httpx.Client, clock: list[float]) -> None:
    grant = presign(http, "image/png", len(sample("png")))
    clock[0] = TTL + 5

    response = http.put(grant["url"], content=sample("png"))

    assert response.status_code == 403
    assert error_of(response)["code"] == "upload_url_expired"
    assert "expired" in error_of(response)["message"]


def test_a_url_is_good_until_it_expires(http: httpx.Client, clock: list[float]) -> None:
    grant = presign(http, "image/png", len(sample("png")))
    clock[0] = TTL - 5

    assert http.put(grant["url"], content=sample("png")).status_code == 201


@pytest.mark.parametrize("where", ["payload", "signature", "garbage"])
def test_a_tampered_url_is_refused(http: httpx.Client, where: str) -> None:
    grant = presign(http, "image/png", 100)
    prefix, token = grant["url"].rsplit("/", 1)
    payload, timestamp, signature = token.split(".")
    if where == "payload":  # ask for more bytes than were granted
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["size"] = 10**9
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        token = f"{payload}.{timestamp}.{signature}"
    elif where == "signature":
        token = f"{payload}.{timestamp}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    else:
        token = "not-a-token"

    response = http.put(f"{prefix}/{token}", content=sample("png"))

    assert response.status_code == 403
    assert error_of(response)["code"] == "upload_url_invalid"
    assert "signature" in error_of(response)["message"]


def test_a_url_signed_with_another_key_is_refused(http: httpx.Client) -> None:
    token, _ = UploadSigner("another-secret", TTL).sign("0" * 32, "image/png", 100, None)

    response = http.put(f"/api/v1/uploads/presigned/{token}", content=sample("png"))

    assert response.status_code == 403


def test_a_body_bigger_than_declared_is_refused(http: httpx.Client) -> None:
    grant = presign(http, "image/png", 100)

    response = http.put(grant["url"], content=sample("png") + b"\x00" * 200)

    assert response.status_code == 413
    assert error_of(response)["code"] == "upload_too_large"


def test_a_body_bigger_than_declared_is_refused_before_it_is_read(server: LiveServer, http: httpx.Client) -> None:
    grant = presign(http, "image/png", 100)
    head = f"PUT {grant['url']} HTTP/1.1\r\nHost: test\r\nContent-Length: 900000000\r\n\r\n".encode()

    status, reply = raw_request(server.url, head, b"\x89PNG")

    assert status == 413 and b"upload_too_large" in reply


def test_a_chunked_body_bigger_than_declared_is_refused(http: httpx.Client) -> None:
    grant = presign(http, "image/png", 1000)

    response = http.put(grant["url"], content=iter([sample("png")] + [b"\x00" * 500] * 4))

    assert response.status_code == 413


def test_bytes_that_disagree_with_the_signed_type_are_refused(http: httpx.Client) -> None:
    grant = presign(http, "image/jpeg", 10_000)

    response = http.put(grant["url"], content=sample("png"))

    assert response.status_code == 415
    assert error_of(response)["code"] == "content_type_mismatch"


def test_a_put_content_type_other_than_the_signed_one_is_refused(http: httpx.Client) -> None:
    grant = presign(http, "image/png", 10_000)

    response = http.put(grant["url"], content=sample("png"), headers={"Content-Type": "image/webp"})

    assert response.status_code == 415


def test_a_refused_put_does_not_use_up_the_url(http: httpx.Client) -> None:
    grant = presign(http, "image/png", 10_000)
    assert http.put(grant["url"], content=b"").status_code == 422

    assert http.put(grant["url"], content=sample("png")).status_code == 201


def test_presign_refuses_types_outside_the_allowlist(http: httpx.Client) -> None:
    response = http.post("/api/v1/uploads/presign", json={"content_type": "image/gif", "size": 100})

    assert response.status_code == 415
    assert error_of(response)["code"] == "unsupported_media_type"
    assert "image/gif" in error_of(response)["message"]


def test_presign_refuses_a_size_over_the_limit(http: httpx.Client) -> None:
    response = http.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": MAX_BYTES + 1})

    assert response.status_code == 413
    assert error_of(response)["code"] == "upload_too_large"


@pytest.mark.parametrize("body", [{"content_type": "image/png", "size": 0}, {"content_type": "image/png"}, {"size": 5}])
def test_presign_validates_its_body(http: httpx.Client, body: dict) -> None:
    response = http.post("/api/v1/uploads/presign", json=body)

    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"
