"""Presigned S3 URLs expire and cannot be altered: checked through a gateway
that judges them as S3 does (moto itself accepts any presigned URL)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest

from aptmagic.storage.s3 import S3BlobStore
from tests.conftest import start_server, wait_for
from tests.storage.conftest import s3_app_settings, s3_client
from tests.storage.sigv4_gateway import Gateway
from tests.support.services import MotoServer
from tests.uploads import error_of, sample


@pytest.fixture(scope="module")
def gateway(moto_server: MotoServer) -> Iterator[Gateway]:
    gate = Gateway(moto_server.url)
    gate.start()
    yield gate
    gate.stop()


@pytest.fixture
def store(gateway: Gateway, make_bucket: Callable[..., str]) -> S3BlobStore:
    return S3BlobStore(s3_client(gateway.url), make_bucket(), prefix="p/")


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def assert_denied(response: httpx.Response, code: str) -> None:
    assert response.status_code == 403, response.text
    assert f"<Code>{code}</Code>" in response.text


def test_a_fresh_url_works_and_expires(store: S3BlobStore) -> None:
    store.put("a.png", b"png", "image/png")
    url = store.presign_get("a.png", 2)  # X-Amz-Date has whole seconds: 2 s leaves at least 1 s to use it
    first = httpx.get(url)
    assert first.content == b"png", first.text
    time.sleep(3.1)
    assert_denied(httpx.get(url), "AccessDenied")


def test_tampered_urls_are_refused(store: S3BlobStore) -> None:
    store.put("a.png", b"png", "image/png")
    store.put("b.png", b"someone else's", "image/png")
    url = store.presign_get("a.png", 600)
    signature = parse_qs(urlsplit(url).query)["X-Amz-Signature"][0]
    assert_denied(httpx.get(with_query(url, **{"X-Amz-Signature": "0" * 64})), "SignatureDoesNotMatch")
    assert_denied(httpx.get(with_query(url, **{"X-Amz-Signature": signature[::-1]})), "SignatureDoesNotMatch")
    assert_denied(httpx.get(with_query(url, **{"X-Amz-Expires": "604800"})), "SignatureDoesNotMatch")
    assert_denied(httpx.get(url.replace("/p/a.png", "/p/b.png")), "SignatureDoesNotMatch")
    assert_denied(httpx.get(with_query(url, **{"response-content-type": "text/html"})), "SignatureDoesNotMatch")
    assert httpx.get(url).status_code == 200  # the untouched URL still works


def test_a_presigned_put_is_bound_to_its_key_type_and_time(store: S3BlobStore) -> None:
    url, headers = store.presign_put("tmp/uploads/x1", "image/png", 3)
    assert_denied(httpx.put(url, content=b"x", headers={"Content-Type": "text/html"}), "SignatureDoesNotMatch")
    assert_denied(httpx.put(url.replace("x1", "x2"), content=b"x", headers=headers), "SignatureDoesNotMatch")
    assert httpx.put(url, content=b"ok", headers=headers).status_code == 200
    time.sleep(4.1)
    assert_denied(httpx.put(url, content=b"late", headers=headers), "AccessDenied")
    assert store.read("tmp/uploads/x1") == b"ok"


def test_the_api_hands_out_short_lived_download_urls(
    tmp_path: Path, models_dir: Path, gateway: Gateway, aws_env: None
) -> None:
    live = start_server(s3_app_settings(tmp_path, models_dir, gateway.url, s3_presign_ttl_seconds=2))
    try:
        with httpx.Client(base_url=live.url, timeout=30, headers=live.auth_headers) as http:
            body = {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": "a cat", "steps": 1, "seed": 77}}
            job = wait_for(http, http.post("/api/v1/jobs", json=body).json()["id"])
            asset_id = job["outputs"][0]["asset_id"]
            url = http.get(f"/api/v1/assets/{asset_id}/url").json()["url"]
            assert "X-Amz-Expires=2" in url
            assert httpx.get(url).status_code == 200
            assert_denied(httpx.get(with_query(url, **{"X-Amz-Expires": "3600"})), "SignatureDoesNotMatch")
            time.sleep(3.1)
            assert_denied(httpx.get(url), "AccessDenied")
            assert http.get(f"/api/v1/assets/{asset_id}").status_code == 200  # the API path itself does not expire
    finally:
        live.stop()


def test_a_direct_upload_url_expires(tmp_path: Path, models_dir: Path, gateway: Gateway, aws_env: None) -> None:
    live = start_server(s3_app_settings(tmp_path, models_dir, gateway.url, presign_ttl_seconds=1))
    try:
        with httpx.Client(base_url=live.url, timeout=30, headers=live.auth_headers) as http:
            data = sample("png")
            grant = http.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": len(data)}).json()
            time.sleep(2.1)
            assert_denied(httpx.put(grant["url"], content=data, headers=grant["headers"]), "AccessDenied")
            late = httpx.post(live.url + grant["complete_url"])
            assert late.status_code == 403 and error_of(late)["code"] == "upload_url_expired"
    finally:
        live.stop()


def test_urls_can_name_a_public_endpoint(
    tmp_path: Path, models_dir: Path, moto_server: MotoServer, gateway: Gateway, aws_env: None
) -> None:
    """aptmagic talks to S3 at one address (moto) and hands out URLs for another (the gateway)."""
    settings = s3_app_settings(tmp_path, models_dir, moto_server.url, s3_public_endpoint_url=gateway.url)
    live = start_server(settings)
    try:
        with httpx.Client(base_url=live.url, timeout=30, headers=live.auth_headers) as http:
            data = sample("png")
            grant = http.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": len(data)}).json()
            assert grant["url"].startswith(gateway.url)
            assert httpx.put(grant["url"], content=data, headers=grant["headers"]).status_code == 200
            asset = httpx.post(live.url + grant["complete_url"]).json()
            url = http.get(f"/api/v1/assets/{asset['id']}/url").json()["url"]
            assert url.startswith(gateway.url)
            assert httpx.get(url).status_code == 200  # the signature holds for the public host
    finally:
        live.stop()
