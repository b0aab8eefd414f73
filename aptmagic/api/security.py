"""The hardened HTTP surface: security headers, a CORS allowlist and a body limit.

Both middlewares here are pure ASGI: they touch only the ``http.response.start``
message and the ``receive`` channel, so streamed responses (Server-Sent Events,
file downloads) pass through unbuffered.

``install_security`` wires them into an app. The headers wrap the whole
middleware stack, Starlette's ``ServerErrorMiddleware`` included, so even a 500
written by the last-resort handler carries them."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from starlette.datastructures import MutableHeaders
from starlette.middleware.cors import CORSMiddleware

if TYPE_CHECKING:
    from fastapi import FastAPI

    from aptmagic.config import Settings

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP_DIRECTIVES: dict[str, str] = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
# One policy for every path, /docs included: the vendored Swagger UI renders and
# runs "Try it out" under it with no violation (React sets styles through the
# CSSOM, which style-src does not govern), so it needs no 'unsafe-inline'.
CONTENT_SECURITY_POLICY = "; ".join(f"{name} {value}" for name, value in CSP_DIRECTIVES.items())
PERMISSIONS_POLICY = (
    "accelerometer=(), autoplay=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), midi=(), payment=(), usb=()"
)
STATIC_HEADERS: tuple[tuple[str, str], ...] = (
    ("X-Content-Type-Options", "nosniff"),
    # Not no-referrer: with it, browsers send "Origin: null" on same-origin POSTs,
    # which would defeat an Origin check against cross-site requests.
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Permissions-Policy", PERMISSIONS_POLICY),
    ("Cross-Origin-Opener-Policy", "same-origin"),
)


def header_value(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


class SecurityHeadersMiddleware:
    """Adds the security headers to every HTTP response; a header the app set itself is kept.

    HSTS is sent only when the request came over HTTPS: the ASGI scheme is
    ``https``, or ``trust_forwarded_headers`` is on and the last hop of
    ``X-Forwarded-Proto`` says ``https``."""

    def __init__(self, app: ASGIApp, *, hsts_max_age: int = 31_536_000, trust_forwarded_headers: bool = False) -> None:
        self.app = app
        self.hsts = f"max-age={hsts_max_age}" if hsts_max_age > 0 else None
        self.trust_forwarded_headers = trust_forwarded_headers

    def is_https(self, scope: Scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        if self.trust_forwarded_headers:
            forwarded = header_value(scope, b"x-forwarded-proto")
            if forwarded:
                # The proxy next to us appends (or sets) the last entry; earlier ones came from the client.
                return forwarded.split(",")[-1].strip().lower() == "https"
        return False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        hsts = self.hsts if self.is_https(scope) else None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                for name, value in STATIC_HEADERS:
                    headers.setdefault(name, value)
                if hsts:
                    headers.setdefault("Strict-Transport-Security", hsts)
            await send(message)

        await self.app(scope, receive, send_with_headers)


class _BodyTooLarge(Exception):
    pass


def payload_too_large(limit: int) -> tuple[list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(
        {
            "error": {
                "code": "payload_too_large",
                "message": f"the request body is larger than {limit:,} bytes",
                "details": {"max_bytes": limit},
            }
        }
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
    ]
    return headers, body


class BodyLimitMiddleware:
    """Refuses request bodies over ``max_bytes`` with 413 and the usual JSON error.

    A Content-Length over the limit is answered before anything is read; a body
    without one (chunked) is cut off as soon as it passes the limit, and the
    app's own answer, if it has not started one yet, is replaced by the 413.
    Requests for which ``exempt(method, path)`` is true (the upload routes, which
    apply their own limit) pass untouched."""

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, exempt: Callable[[str, str], bool] = lambda m, p: False
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.exempt = exempt

    async def _refuse(self, send: Send) -> None:
        headers, body = payload_too_large(self.max_bytes)
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.exempt(scope.get("method", ""), scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        declared = header_value(scope, b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > self.max_bytes
            except ValueError:
                too_big = False  # the server refuses a malformed Content-Length itself
            if too_big:
                await self._refuse(send)
                return

        received = 0
        exceeded = False
        started = False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise _BodyTooLarge
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded:
                return  # whatever the app makes of the cut-off body is replaced by the 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except _BodyTooLarge:
            pass
        except Exception:
            if not exceeded:
                raise
        if exceeded and not started:
            await self._refuse(send)


def is_upload_route(method: str, path: str) -> bool:
    """The routes that read a whole file under ``upload_max_bytes`` instead of the global limit."""
    return (method == "POST" and path == "/api/v1/uploads") or (
        method == "PUT" and path.startswith("/api/v1/uploads/presigned/")
    )


MEDIA_BODY_ROUTES = frozenset(
    {
        "/v1/images/edits",
        "/v1/images/variations",
        "/v1/audio/transcriptions",
        "/sdapi/v1/img2img",
        "/sdapi/v1/interrogate",
    }
)
BASE64_OVERHEAD = 4 / 3 + 0.01  # A1111 clients send images as base64 inside JSON


def is_media_body_route(method: str, path: str) -> bool:
    """The compat routes that carry a file in their body: bounded by ``upload_max_bytes``."""
    return method == "POST" and path.rstrip("/") in MEDIA_BODY_ROUTES


CORS_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
CORS_EXPOSE_HEADERS = ("Location", "ETag", "Retry-After", "Content-Disposition")


def install_security(app: FastAPI, settings: Settings, extra_cors_headers: Iterable[str] = ()) -> None:
    """Body limit (inner), CORS (around it, so a 413 is readable cross-origin), and the
    security headers around the whole stack."""
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=settings.request_max_bytes,
        exempt=lambda method, path: is_upload_route(method, path) or is_media_body_route(method, path),
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=int(settings.upload_max_bytes * BASE64_OVERHEAD) + 64 * 1024,
        exempt=lambda method, path: not is_media_body_route(method, path),
    )
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_credentials=settings.cors_allow_credentials,
            allow_methods=list(CORS_METHODS),
            allow_headers=[*settings.cors_allow_headers, *extra_cors_headers],
            expose_headers=list(CORS_EXPOSE_HEADERS),
            max_age=600,
        )
    build_stack = app.build_middleware_stack

    def build_with_headers() -> ASGIApp:
        return SecurityHeadersMiddleware(
            build_stack(),
            hsts_max_age=settings.hsts_max_age_seconds,
            trust_forwarded_headers=settings.trust_forwarded_headers,
        )

    app.build_middleware_stack = build_with_headers  # type: ignore[method-assign]
