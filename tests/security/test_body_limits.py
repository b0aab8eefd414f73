"""The global request body limit: 413 from Content-Length before reading, 413 once a
chunked body passes it; the upload routes keep their own, larger limit."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from aptmagic.api.security import BodyLimitMiddleware
from tests.conftest import LiveServer, start_server
from tests.security import assert_secure, auth_of, error_of

LIMIT = 4096
UPLOAD_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    from aptmagic.config import Settings

    settings = Settings(
        environment="test",
        data_dir=tmp_path_factory.mktemp("limits") / "data",
        models_dir=models_dir,
        demo=True,
        worker_concurrency=0,
        request_max_bytes=LIMIT,
        upload_max_bytes=UPLOAD_LIMIT,
    )
    live = start_server(settings)
    yield live
    live.stop()


@pytest.fixture(scope="module")
def http(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30, headers=auth_of(server)) as client:
        yield client


def job_body(prompt_bytes: int) -> bytes:
    body = {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": "x" * prompt_bytes}}
    return json.dumps(body).encode()


def chunks(data: bytes, size: int = 1000) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def png(side: int) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((side, side), 64).convert("RGB").save(out, "PNG")
    return out.getvalue()


def assert_payload_too_large(response: httpx.Response) -> None:
    assert response.status_code == 413, response.text
    error = error_of(response)
    assert error["code"] == "payload_too_large"
    assert error["details"] == {"max_bytes": LIMIT}
    assert_secure(response)


def test_under_the_limit_passes(http: httpx.Client) -> None:
    response = http.post("/api/v1/jobs", content=job_body(100), headers={"content-type": "application/json"})
    assert response.status_code == 202, response.text


def test_content_length_over_the_limit(http: httpx.Client) -> None:
    data = job_body(LIMIT)
    response = http.post("/api/v1/jobs", content=data, headers={"content-type": "application/json"})
    assert response.request.headers["content-length"] == str(len(data))
    assert_payload_too_large(response)


def test_chunked_body_over_the_limit(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/jobs", content=chunks(job_body(3 * LIMIT)), headers={"content-type": "application/json"}
    )
    assert response.request.headers.get("transfer-encoding") == "chunked"
    assert "content-length" not in response.request.headers
    assert_payload_too_large(response)


def test_chunked_body_under_the_limit_passes(http: httpx.Client) -> None:
    response = http.post(
        "/api/v1/jobs", content=chunks(job_body(100), 30), headers={"content-type": "application/json"}
    )
    assert response.status_code == 202, response.text


def test_limit_applies_before_authentication_and_routing(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for method, path in (("POST", "/api/v1/jobs"), ("POST", "/no/such/route"), ("PUT", "/api/v1/uploads/presign")):
            assert_payload_too_large(anonymous.request(method, path, content=b"x" * (LIMIT + 1)))


def test_presign_request_is_under_the_global_limit(http: httpx.Client) -> None:
    body = {"content_type": "image/png", "size": 100, "filename": "a" * (2 * LIMIT)}
    assert_payload_too_large(http.post("/api/v1/uploads/presign", json=body))


def test_uploads_use_their_own_limit(http: httpx.Client) -> None:
    data = png(96)
    assert LIMIT < len(data) < UPLOAD_LIMIT
    posted = http.post("/api/v1/uploads", files={"file": ("a.png", data, "image/png")})
    assert posted.status_code == 201, posted.text

    grant = http.post(
        "/api/v1/uploads/presign", json={"content_type": "image/png", "size": len(data), "filename": "b.png"}
    )
    assert grant.status_code == 201, grant.text
    put = http.put(grant.json()["url"], content=data, headers={"content-type": "image/png"})
    assert put.status_code == 201, put.text

    huge = http.post("/api/v1/uploads", files={"file": ("c.png", b"\x89PNG" + b"\0" * UPLOAD_LIMIT * 2, "image/png")})
    assert huge.status_code == 413
    assert error_of(huge)["details"]["max_bytes"] >= UPLOAD_LIMIT  # the upload limit (plus multipart slack)
    assert_secure(huge)


# ---- the middleware alone ------------------------------------------------------


def run_asgi(
    middleware: Any, scope: dict[str, Any], messages: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """Run one request; return what was sent and how many times receive was called."""
    sent: list[dict[str, Any]] = []
    calls = 0

    async def receive() -> dict[str, Any]:
        nonlocal calls
        calls += 1
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, receive, send))
    return sent, calls


def scope_for(headers: list[tuple[bytes, bytes]], method: str = "POST", path: str = "/api/v1/jobs") -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": headers}


def test_content_length_is_refused_before_reading() -> None:
    called = False

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal called
        called = True

    middleware = BodyLimitMiddleware(app, max_bytes=10)
    sent, receive_calls = run_asgi(middleware, scope_for([(b"content-length", b"11")]), [])
    assert not called
    assert receive_calls == 0
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"])["error"]["code"] == "payload_too_large"


def test_streamed_body_is_cut_off_and_the_app_answer_replaced() -> None:
    seen: list[bytes] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        try:
            while True:
                message = await receive()
                seen.append(message.get("body", b""))
                if not message.get("more_body"):
                    break
        except Exception:
            pass  # an app that swallows the error and answers anyway
        await send({"type": "http.response.start", "status": 400, "headers": []})
        await send({"type": "http.response.body", "body": b"bad"})

    middleware = BodyLimitMiddleware(app, max_bytes=10)
    body = [{"type": "http.request", "body": b"123456", "more_body": True} for _ in range(5)]
    sent, receive_calls = run_asgi(middleware, scope_for([]), body)
    assert receive_calls == 2  # stopped at the chunk that passed the limit
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [413]


def test_exempt_routes_pass_untouched() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        await send({"type": "http.response.start", "status": 201, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    middleware = BodyLimitMiddleware(app, max_bytes=10, exempt=lambda method, path: path == "/upload")
    sent, _ = run_asgi(
        middleware,
        scope_for([(b"content-length", b"100")], path="/upload"),
        [{"type": "http.request", "body": b"x" * 100}],
    )
    assert sent[0]["status"] == 201
