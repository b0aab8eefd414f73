"""GET /api/v1/assets/{id}: the PNG, its cache headers, conditional requests, downloads, bad ids."""

from __future__ import annotations

import hashlib
import io
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from PIL import Image

from aptmagic.config import Settings
from tests.conftest import LiveServer, start_server, wait_for

ASSETS = "/api/v1/assets"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    settings = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("assets"),
        models_dir=models_dir,
        demo=True,
        progress_write_interval=0.0,
        shutdown_timeout=10.0,
    )
    live = start_server(settings)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as http:
        yield http


@pytest.fixture(scope="module")
def output(client: httpx.Client) -> dict[str, Any]:
    """The one output of a small succeeded job."""
    body = {
        "task": "text-to-image",
        "model": "tiny-sd",
        "params": {"prompt": "a cat", "steps": 1, "seed": 5, "height": 72},
    }
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"])
    assert job["status"] == "succeeded", job
    (out,) = job["outputs"]
    return dict(out)


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"], error


def test_asset_is_a_png_with_cache_headers(client: httpx.Client, output: dict[str, Any]) -> None:
    response = client.get(output["url"])
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    content = response.content
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    assert int(response.headers["content-length"]) == len(content) == output["size_bytes"]
    assert response.headers["etag"] == f'"{hashlib.sha256(content).hexdigest()}"'
    cache_control = [part.strip() for part in response.headers["cache-control"].split(",")]
    assert "immutable" in cache_control
    max_age = next(int(part.split("=", 1)[1]) for part in cache_control if part.startswith("max-age="))
    assert max_age >= 86400
    assert "content-disposition" not in response.headers
    image = Image.open(io.BytesIO(content))
    assert image.size == (64, 72) == (output["width"], output["height"])


def test_same_asset_twice_is_the_same_bytes_and_etag(client: httpx.Client, output: dict[str, Any]) -> None:
    first, second = client.get(output["url"]), client.get(output["url"])
    assert first.content == second.content
    assert first.headers["etag"] == second.headers["etag"]


def test_if_none_match_with_the_etag_is_304(client: httpx.Client, output: dict[str, Any]) -> None:
    etag = client.get(output["url"]).headers["etag"]
    for header in (etag, f'"other", {etag}', f'{etag} , "x"', f"W/{etag}", "*"):
        response = client.get(output["url"], headers={"If-None-Match": header})
        assert response.status_code == 304, (header, response.status_code)
        assert response.content == b""
        assert response.headers["etag"] == etag
        assert "immutable" in response.headers["cache-control"]


def test_if_none_match_with_another_etag_is_200(client: httpx.Client, output: dict[str, Any]) -> None:
    etag = client.get(output["url"]).headers["etag"]
    for header in ('"0000"', etag.strip('"'), f'"{etag}"', ""):
        response = client.get(output["url"], headers={"If-None-Match": header})
        assert response.status_code == 200, (header, response.status_code)
        assert response.content.startswith(b"\x89PNG")


def test_download_true_asks_the_browser_to_save(client: httpx.Client, output: dict[str, Any]) -> None:
    response = client.get(output["url"], params={"download": "true"})
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.startswith("attachment")
    assert f'filename="{output["asset_id"]}.png"' in disposition
    assert response.headers["content-type"] == "image/png"
    assert response.content == client.get(output["url"]).content
    plain = client.get(output["url"], params={"download": "false"})
    assert "content-disposition" not in plain.headers


def test_download_not_a_boolean_is_422(client: httpx.Client, output: dict[str, Any]) -> None:
    assert_error(client.get(output["url"], params={"download": "maybe"}), 422, "validation_error")


def test_unknown_asset_is_404(client: httpx.Client) -> None:
    for asset_id in ("0" * 32, "nope", "x" * 10_000):
        assert_error(client.get(f"{ASSETS}/{asset_id}"), 404, "not_found")


def test_asset_id_is_not_a_storage_path(client: httpx.Client, output: dict[str, Any]) -> None:
    asset_id = output["asset_id"]
    for path in (
        f"{ASSETS}/outputs%2F{asset_id[:2]}%2F{asset_id}.png",
        f"{ASSETS}/{asset_id}.png",
        f"{ASSETS}/{asset_id.upper()}",
        f"{ASSETS}/%20{asset_id}",
    ):
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert not response.content.startswith(b"\x89PNG")


TRAVERSALS = [
    "..%2F..%2Fetc%2Fpasswd",
    "..%2F..%2F..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
    "..",
    "..%5C..%5Cetc%5Cpasswd",
    "%2Fetc%2Fpasswd",
    "%2F%2Fetc%2Fpasswd",
    "C:%5CWindows%5Cwin.ini",
    "file:%2F%2F%2Fetc%2Fpasswd",
    "%252e%252e%252fetc%252fpasswd",
    "..%00",
    "%00",
]


@pytest.mark.parametrize("asset_id", TRAVERSALS)
def test_traversal_looking_ids_are_404(client: httpx.Client, asset_id: str) -> None:
    response = client.get(f"{ASSETS}/{asset_id}")
    assert response.status_code == 404, (asset_id, response.status_code, response.text[:200])
    assert b"root:" not in response.content
    assert response.json()["error"]["code"] == "not_found"


def raw_get(server: LiveServer, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as given (no client-side path normalisation)."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as conn:
        auth = "".join(f"{name}: {value}\r\n" for name, value in server.auth_headers.items())
        conn.sendall(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n{auth}Connection: close\r\n\r\n".encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body


@pytest.mark.parametrize(
    "target",
    [
        f"{ASSETS}/../../../../../../etc/passwd",
        f"{ASSETS}/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        f"{ASSETS}//etc/passwd",
        f"{ASSETS}/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "/static/../../../../etc/passwd",
        "/static/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "/static/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    ],
)
def test_raw_traversal_requests_never_return_files(server: LiveServer, target: str) -> None:
    status, body = raw_get(server, target)
    assert status in (400, 404), (target, status, body[:200])
    assert b"root:" not in body


def test_missing_blob_is_404_not_500(server: LiveServer, client: httpx.Client) -> None:
    body = {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": "a dog", "steps": 1, "seed": 6}}
    job = wait_for(client, client.post("/api/v1/jobs", json=body).json()["id"])
    asset_id = job["outputs"][0]["asset_id"]
    with server.services.session_factory() as session:
        key = server.services.assets.get(session, asset_id).storage_key
    server.services.store.delete(key)
    assert_error(client.get(f"{ASSETS}/{asset_id}"), 404, "not_found")


def test_openapi_describes_the_asset_route(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    route = spec["paths"][f"{ASSETS}/{{asset_id}}"]["get"]
    assert {"200", "304", "404"} <= set(route["responses"])
    assert "image/png" in route["responses"]["200"]["content"]
