"""The public allowlist: the only routes that answer without authentication.

Everything else needs a web session or an API key (``AuthMiddleware``)."""

from __future__ import annotations

PUBLIC_PATHS: frozenset[str] = frozenset(
    {
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/docs",
        "/login",
        "/signup",
        "/api/v1/auth/login",
        "/api/v1/auth/signup",
    }
)
PUBLIC_PREFIXES: tuple[str, ...] = (
    "/static/",
    # A presigned PUT: its signed, expiring, single-use token is the credential.
    "/api/v1/uploads/presigned/",
    # A generated file behind a signed, expiring link (OpenAI's response_format=url).
    "/v1/files/signed/",
)


def is_public(path: str) -> bool:
    return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)
