"""The error-shape hook on its own: what it rewrites, and what it leaves alone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from aptmagic.compat.errors import CompatErrorMiddleware
from aptmagic.kit.errors import error_json


def app() -> Starlette:
    async def refused(_request: Request) -> Response:
        return error_json(404, "not_found", "nothing here", [{"loc": ["body", "model"], "msg": "m", "type": "t"}])

    async def invalid(_request: Request) -> Response:
        return error_json(422, "validation_error", "size: bad", [{"loc": ["body", "size"], "msg": "bad", "type": "t"}])

    async def fine(_request: Request) -> Response:
        return JSONResponse({"error": {"code": "x"}})  # a 200 whose body only looks like an error

    async def plain(_request: Request) -> Response:
        return PlainTextResponse("teapot", status_code=418)

    async def huge(_request: Request) -> Response:
        async def body() -> AsyncIterator[bytes]:
            for _ in range(100):
                yield b'"' + b"x" * 10_000 + b'"'

        return StreamingResponse(body(), status_code=400, media_type="application/json")

    handlers = {"refused": refused, "invalid": invalid, "fine": fine, "plain": plain, "huge": huge}
    routes = [
        Route(f"{prefix}/{name}", handler)
        for prefix in ("/v1", "/sdapi/v1", "/api/v1")
        for name, handler in handlers.items()
    ]
    starlette = Starlette(routes=routes)
    starlette.add_middleware(CompatErrorMiddleware)
    return starlette


def test_openai_and_a1111_shapes() -> None:
    with TestClient(app()) as client:
        openai = client.get("/v1/refused")
        assert openai.status_code == 404
        assert openai.json() == {
            "error": {"message": "nothing here", "type": "invalid_request_error", "param": "model", "code": "not_found"}
        }
        assert int(openai.headers["content-length"]) == len(openai.content)
        assert client.get("/v1/invalid").status_code == 400
        assert client.get("/sdapi/v1/invalid").json() == {
            "detail": [{"loc": ["body", "size"], "msg": "bad", "type": "t"}]
        }
        a1111 = client.get("/sdapi/v1/refused").json()
        assert a1111 == {"error": "HTTPException", "detail": "nothing here", "body": "", "errors": "nothing here"}


def test_what_is_left_alone() -> None:
    with TestClient(app()) as client:
        assert client.get("/api/v1/refused").json()["error"]["code"] == "not_found"  # aptmagic's own routes
        assert client.get("/v1/fine").json() == {"error": {"code": "x"}}
        assert client.get("/v1/plain").text == "teapot"
        huge = client.get("/v1/huge")
        assert huge.status_code == 400 and len(huge.content) == 100 * 10_002
        assert json.loads(huge.content[:10_002]) == "x" * 10_000
