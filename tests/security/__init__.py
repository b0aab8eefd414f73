"""The hardened HTTP surface: security headers, CORS, body limits, and fuzzing of the
whole API from its OpenAPI schema."""

from __future__ import annotations

from typing import Any

import httpx

from aptmagic.api.security import CONTENT_SECURITY_POLICY, PERMISSIONS_POLICY

EXPECTED_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "permissions-policy": PERMISSIONS_POLICY,
    "cross-origin-opener-policy": "same-origin",
}


def assert_secure(response: Any, where: str = "") -> None:
    """Every security header with its value, and no HSTS (these requests are plain HTTP)."""
    where = where or f"{response.request.method} {response.request.url}"
    for name, value in EXPECTED_HEADERS.items():
        assert response.headers.get(name) == value, f"{where} ({response.status_code}): {name}"
    assert "strict-transport-security" not in response.headers, where


def auth_of(server: Any) -> dict[str, str]:
    """The Bearer header of a live server's test account, when the server has one."""
    return dict(getattr(server, "auth_headers", None) or {})


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]
