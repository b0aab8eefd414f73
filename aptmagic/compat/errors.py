"""Errors in the shapes other APIs' clients expect.

Every aptmagic error leaves the app as ``{"error": {"code", "message", "details"}}``
(``aptmagic.kit.errors``), including the ones that middleware writes itself (401,
413, 429). ``CompatErrorMiddleware`` sits outside all of them and, for responses
under a dialect's path prefix, rewrites that body into the dialect's shape:

- OpenAI (``/v1``): ``{"error": {"message", "type", "param", "code"}}``; request
  validation errors answer 400 as OpenAI does, not 422.
- AUTOMATIC1111 (``/sdapi/v1``): FastAPI's ``{"detail": [...]}`` for validation
  errors (422), else A1111's ``{"error", "detail", "body", "errors"}``.

Only JSON error bodies (status >= 400) are touched; streams pass through."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aptmagic.kit.errors import AppError

MAX_ERROR_BODY = 256 * 1024
LOGIN_REDIRECT = "/login?"
OPENAI_PREFIX = "/v1"
A1111_PREFIX = "/sdapi/v1"

Rewrite = Callable[[int, dict[str, Any]], tuple[int, dict[str, Any]]]


class CompatError(AppError):
    """An error raised by the compat services; ``param`` names the request field."""

    def __init__(self, message: str, *, param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, details={"param": param} if param else None, headers=headers)


class BadRequest(CompatError):
    status_code = 400
    code = "invalid_request"


class Unprocessable(CompatError):
    status_code = 422
    code = "validation_error"


class ModelNotFound(CompatError):
    status_code = 404
    code = "model_not_found"


class Forbidden(CompatError):
    status_code = 403
    code = "forbidden"


class RateLimited(CompatError):
    status_code = 429
    code = "rate_limited"


class JobFailed(CompatError):
    """The job ended failed; a failure the input caused answers 400, anything else 500."""

    code = "job_failed"

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class JobTimeout(CompatError):
    status_code = 504
    code = "timeout"


class JobCanceled(CompatError):
    status_code = 409
    code = "job_canceled"


def field_param(loc: list[Any]) -> str | None:
    """``["body", "messages", 0, "role"]`` -> ``"messages.0.role"``."""
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form")]
    return ".".join(parts) or None


def _param_of(details: Any) -> str | None:
    if isinstance(details, dict) and isinstance(details.get("param"), str):
        return str(details["param"])
    if isinstance(details, list) and details and isinstance(details[0], dict):
        return field_param(list(details[0].get("loc", [])))
    return None


OPENAI_TYPES = {
    400: "invalid_request_error",
    401: "invalid_request_error",
    403: "permission_error",
    404: "invalid_request_error",
    409: "invalid_request_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def openai_shape(status: int, error: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    code = str(error.get("code") or "error")
    if status == 401:
        code = "invalid_api_key"
    elif status == 429:
        code = "rate_limit_exceeded"
    elif status == 422:
        status = 400  # OpenAI answers bad parameters with 400
    kind = OPENAI_TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    body = {
        "message": str(error.get("message") or code),
        "type": kind,
        "param": _param_of(error.get("details")),
        "code": code,
    }
    return status, {"error": body}


def a1111_shape(status: int, error: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    message = str(error.get("message") or "error")
    details = error.get("details")
    if status == 422 and isinstance(details, list):
        return status, {"detail": details}
    return status, {"error": "HTTPException", "detail": message, "body": "", "errors": message}


DIALECTS: tuple[tuple[str, Rewrite], ...] = ((A1111_PREFIX, a1111_shape), (OPENAI_PREFIX, openai_shape))


def dialect_for(path: str) -> Rewrite | None:
    for prefix, rewrite in DIALECTS:
        if path == prefix or path.startswith(prefix + "/"):
            return rewrite
    return None


class CompatErrorMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        rewrite = dialect_for(scope.get("path", "")) if scope["type"] == "http" else None
        if rewrite is None:
            await self.app(scope, receive, send)
            return
        held: Message | None = None
        chunks: list[bytes] = []

        async def rewriting_send(message: Message) -> None:
            nonlocal held
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if message["status"] == 303 and headers.get("location", "").startswith(LOGIN_REDIRECT):
                    # AuthMiddleware sends signed-out GETs outside /api/ to the log-in page; an API answers 401.
                    held = _unauthorized(message, scope)
                    return
                content_type = headers.get("content-type", "")
                if message["status"] >= 400 and content_type.startswith("application/json"):
                    held = message
                    return
            elif message["type"] == "http.response.body" and held is not None:
                chunks.append(message.get("body", b""))
                more = message.get("more_body", False)
                if more and sum(map(len, chunks)) <= MAX_ERROR_BODY:
                    return
                if more:  # not a small error body after all: pass it on as it came
                    await send(held)
                    held = None
                    await send({"type": "http.response.body", "body": b"".join(chunks), "more_body": True})
                    return
                raw = held.pop("_body", None) if "_body" in held else b"".join(chunks)
                start, body = _rewritten(held, raw, rewrite)
                held = None
                await send(start)
                await send({"type": "http.response.body", "body": body})
                return
            await send(message)

        await self.app(scope, receive, rewriting_send)


def _unauthorized(redirect: Message, scope: Scope) -> Message:
    has_key = any(name.lower() == b"authorization" for name, _ in scope.get("headers", ()))
    message = (
        "invalid, expired or revoked API key (Bearer)"
        if has_key
        else "authentication required: send an API key as 'Authorization: Bearer <key>'"
    )
    body = json.dumps({"error": {"code": "unauthorized", "message": message, "details": None}}).encode()
    headers = [(b"content-type", b"application/json"), (b"www-authenticate", b'Bearer realm="aptmagic"')]
    headers += [
        (k, v)
        for k, v in redirect.get("headers", [])
        if k.lower() not in (b"location", b"content-type", b"content-length")
    ]
    return {"type": "http.response.start", "status": 401, "headers": headers, "_body": body}


def _rewritten(start: Message, raw: bytes, rewrite: Rewrite) -> tuple[Message, bytes]:
    try:
        parsed = json.loads(raw)
        error = parsed["error"]
        if not isinstance(error, dict) or "code" not in error:
            raise ValueError("not the aptmagic error shape")
    except (ValueError, KeyError, TypeError):
        return start, raw
    status, shaped = rewrite(start["status"], error)
    body = json.dumps(shaped).encode()
    message = dict(start)
    message["status"] = status
    headers = MutableHeaders(raw=list(start.get("headers", [])))
    headers["content-length"] = str(len(body))
    message["headers"] = headers.raw
    return message, body
