"""Authenticates every request that is not on the public allowlist.

Credentials, in order: ``Authorization: Bearer <API key>``, then the session
cookie. Without valid ones, API routes answer 401 and pages redirect to
/login. A key's scopes limit what it may do (read: safe methods, generate:
everything else, admin: /api/v1/admin). A request authenticated by the
session cookie that changes state must carry the session's CSRF token, in
the X-CSRF-Token header or (for HTML forms) a ``csrf_token`` form field."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from urllib.parse import parse_qs, quote

from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aptmagic.api.deps import Provided, provided_of
from aptmagic.auth.errors import CsrfFailed, Forbidden, Unauthorized
from aptmagic.auth.principal import ANONYMOUS, Principal
from aptmagic.auth.public import is_public
from aptmagic.auth.service import AuthService
from aptmagic.config import Settings
from aptmagic.kit.errors import AppError, error_json

SESSION_COOKIE = "aptmagic_session"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ADMIN_PREFIX = "/api/v1/admin"
MAX_FORM_BYTES = 64 * 1024


def required_scope(method: str, path: str) -> str:
    if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
        return "admin"
    return "read" if method in SAFE_METHODS else "generate"


def _error(exc: AppError) -> Response:
    return error_json(exc.status_code, exc.code, exc.message, exc.details, exc.headers)


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        provided = provided_of(scope["app"].state)
        path: str = scope["path"]
        method: str = scope["method"]
        headers = Headers(scope=scope)
        public = is_public(path)
        state = scope.setdefault("state", {})
        if provided is None:  # not started: only the public routes can answer
            state["principal"] = None
            if public:
                await self.app(scope, receive, send)
            else:
                await _error(Unauthorized())(scope, receive, send)
            return

        principal, failure = await self._authenticate(provided, headers)
        if principal is None and not provided.get(Settings).auth_required and failure is None:
            principal = ANONYMOUS
        state["principal"] = principal
        if public:
            await self.app(scope, receive, send)
            return
        if principal is None:
            if method in ("GET", "HEAD") and not path.startswith("/api/"):
                target = path + (("?" + scope["query_string"].decode("latin-1")) if scope.get("query_string") else "")
                response: Response = RedirectResponse("/login?next=" + quote(target, safe="/"), status_code=303)
            else:
                response = _error(Unauthorized(failure) if failure else Unauthorized())
            await response(scope, receive, send)
            return
        if principal.via == "key":
            scope_needed = required_scope(method, path)
            if scope_needed not in principal.scopes:
                await _error(Forbidden(f"this API key lacks the {scope_needed!r} scope"))(scope, receive, send)
                return
        if principal.via == "session" and method not in SAFE_METHODS:
            sent = headers.get(CSRF_HEADER)
            if sent is None and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                sent, receive = await _form_field(receive, CSRF_FIELD)
            if not sent or not principal.csrf_token or not hmac.compare_digest(sent, principal.csrf_token):
                message = "missing or wrong CSRF token: send the page's token in the X-CSRF-Token header"
                await _error(CsrfFailed(message))(scope, receive, send)
                return
        await self.app(scope, receive, send)

    async def _authenticate(self, provided: Provided, headers: Headers) -> tuple[Principal | None, str | None]:
        auth = provided.get(AuthService)
        factory = provided.get(sessionmaker)
        authorization = headers.get("authorization")
        if authorization is not None:
            scheme, _, credential = authorization.partition(" ")
            if scheme.lower() != "bearer" or not credential.strip():
                return None, "unsupported Authorization header: send 'Authorization: Bearer <API key>'"
            principal = await run_in_threadpool(_with_session, factory, auth.authenticate_key, credential.strip())
            return (principal, None) if principal else (None, "invalid, expired or revoked API key (Bearer)")
        token = _cookie(headers, SESSION_COOKIE)
        if token:
            principal = await run_in_threadpool(_with_session, factory, auth.authenticate_session, token)
            return (principal, None) if principal else (None, "your session has ended; sign in again")
        return None, None


def _with_session(
    factory: sessionmaker[Session], action: Callable[[Session, str], Principal | None], value: str
) -> Principal | None:
    """Authentication runs before any request session exists, so it owns a short transaction of
    its own: it commits what the check wrote (a key's last-used time) before the route runs."""
    with factory.begin() as session:
        return action(session, value)


def _cookie(headers: Headers, name: str) -> str | None:
    for raw in headers.getlist("cookie"):
        for part in raw.split(";"):
            key, _, value = part.strip().partition("=")
            if key == name:
                return value.strip('"')
    return None


async def _form_field(receive: Receive, name: str) -> tuple[str | None, Receive]:
    """Read a small urlencoded body to find one field, then hand the same body on."""
    chunks: list[bytes] = []
    size = 0
    more = True
    messages: list[Message] = []
    while more:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            break
        body = message.get("body", b"")
        size += len(body)
        if size > MAX_FORM_BYTES:
            return None, _replay(messages, receive)
        chunks.append(body)
        more = message.get("more_body", False)
    values = parse_qs(b"".join(chunks).decode("utf-8", "replace"), max_num_fields=100)
    found = values.get(name, [None])[0]
    return found, _replay(messages, receive)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay
