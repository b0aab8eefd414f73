"""The CORS allowlist: off by default, exact origins only, and never '*' with credentials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError
from starlette.testclient import TestClient

from aptmagic.app import create_app
from aptmagic.config import Settings
from tests.security import assert_secure

ALLOWED = "https://app.example.com"
OTHER = "https://evil.example.net"


@pytest.fixture
def cors_client(make_settings: Callable[..., Settings]) -> Callable[..., TestClient]:
    def make(**overrides: Any) -> TestClient:
        return TestClient(create_app(make_settings(**overrides)))

    return make


def preflight(client: TestClient, origin: str, method: str = "POST", headers: str = "content-type") -> Any:
    return client.options(
        "/api/v1/jobs",
        headers={"Origin": origin, "Access-Control-Request-Method": method, "Access-Control-Request-Headers": headers},
    )


def test_no_cors_headers_by_default(cors_client: Callable[..., TestClient]) -> None:
    client = cors_client()
    simple = client.get("/healthz", headers={"Origin": ALLOWED})
    assert simple.status_code == 200
    assert "access-control-allow-origin" not in simple.headers
    response = preflight(client, ALLOWED)
    assert "access-control-allow-origin" not in response.headers
    assert_secure(response)


def test_preflight_from_an_allowed_origin(cors_client: Callable[..., TestClient]) -> None:
    client = cors_client(cors_origins=[ALLOWED])
    response = preflight(client, ALLOWED, "POST", "content-type, authorization, x-csrf-token")
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed_headers = response.headers["access-control-allow-headers"].lower()
    for name in ("content-type", "authorization", "x-csrf-token"):
        assert name in allowed_headers
    assert "access-control-allow-credentials" not in response.headers
    assert response.headers["access-control-max-age"] == "600"
    assert_secure(response)


def test_preflight_from_another_origin_is_refused(cors_client: Callable[..., TestClient]) -> None:
    client = cors_client(cors_origins=[ALLOWED])
    for origin in (OTHER, ALLOWED + ".evil.net", "http://app.example.com", "null"):
        response = preflight(client, origin)
        assert response.status_code == 400, origin
        assert "access-control-allow-origin" not in response.headers
        assert_secure(response)


def test_preflight_for_a_header_not_allowed(cors_client: Callable[..., TestClient]) -> None:
    response = preflight(cors_client(cors_origins=[ALLOWED]), ALLOWED, "POST", "x-something-else")
    assert response.status_code == 400


def test_simple_requests(cors_client: Callable[..., TestClient]) -> None:
    client = cors_client(cors_origins=[ALLOWED, "http://localhost:5173"])
    allowed = client.get("/healthz", headers={"Origin": "http://localhost:5173"})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://localhost:5173"
    assert "origin" in allowed.headers.get("vary", "").lower()
    assert "location" in allowed.headers["access-control-expose-headers"].lower()
    assert_secure(allowed)

    other = client.get("/healthz", headers={"Origin": OTHER})
    assert other.status_code == 200  # the browser, not the server, withholds the answer
    assert "access-control-allow-origin" not in other.headers
    assert_secure(other)

    unauthenticated = client.get("/api/v1/jobs", headers={"Origin": ALLOWED})
    assert unauthenticated.headers["access-control-allow-origin"] == ALLOWED  # errors stay readable


def test_credentials_for_listed_origins(cors_client: Callable[..., TestClient]) -> None:
    client = cors_client(cors_origins=[ALLOWED], cors_allow_credentials=True)
    response = preflight(client, ALLOWED)
    assert response.headers["access-control-allow-origin"] == ALLOWED
    assert response.headers["access-control-allow-credentials"] == "true"
    simple = client.get("/healthz", headers={"Origin": ALLOWED, "Cookie": "a=b"})
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    assert simple.headers["access-control-allow-credentials"] == "true"


def test_wildcard_without_credentials(cors_client: Callable[..., TestClient]) -> None:
    client = cors_client(cors_origins=["*"])
    response = client.get("/healthz", headers={"Origin": OTHER})
    assert response.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in response.headers


def test_wildcard_with_credentials_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValidationError, match="cannot be combined with cors_allow_credentials"):
        make_settings(cors_origins=["*"], cors_allow_credentials=True)
    with pytest.raises(ValidationError, match="cannot be combined"):
        make_settings(cors_origins=[ALLOWED, "*"], cors_allow_credentials=True)


@pytest.mark.parametrize(
    "origin", ["https://app.example.com/", "app.example.com", "https://a.example/path", "ftp://a.b", ""]
)
def test_malformed_origins_are_refused(make_settings: Callable[..., Settings], origin: str) -> None:
    with pytest.raises(ValidationError, match="CORS origin"):
        make_settings(cors_origins=[origin])


def test_origins_from_the_environment(monkeypatch: pytest.MonkeyPatch, make_settings: Callable[..., Settings]) -> None:
    monkeypatch.setenv("APTMAGIC_CORS_ORIGINS", f"{ALLOWED}, http://localhost:5173")
    assert Settings().cors_origins == [ALLOWED, "http://localhost:5173"]
    monkeypatch.setenv("APTMAGIC_CORS_ORIGINS", f'["{ALLOWED}"]')
    assert Settings().cors_origins == [ALLOWED]
    monkeypatch.setenv("APTMAGIC_CORS_ALLOW_HEADERS", "Content-Type,X-Custom")
    assert Settings().cors_allow_headers == ["Content-Type", "X-Custom"]
    monkeypatch.setenv("APTMAGIC_CORS_ORIGINS", "")
    assert Settings().cors_origins == []
