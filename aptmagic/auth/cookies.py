"""The session cookie: HttpOnly, SameSite=Lax, Secure over HTTPS or when configured."""

from __future__ import annotations

from fastapi import Request, Response

from aptmagic.auth.middleware import SESSION_COOKIE
from aptmagic.config import Settings


def set_session_cookie(response: Response, request: Request, settings: Settings, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_ttl_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure or request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request, settings: Settings) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax",
        secure=settings.cookie_secure or request.url.scheme == "https",
    )  # fmt: skip
