"""Every route of the app, called without credentials, is refused, except the public allowlist."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from aptmagic.auth.public import PUBLIC_PATHS, is_public
from tests.auth.conftest import browser, error_code
from tests.conftest import LiveServer

ODD_METHODS = ("PATCH", "DELETE", "PUT", "POST", "TRACE")


def all_routes(app: Any) -> list[tuple[str, set[str]]]:
    """(path, methods) of every route, including those of included routers and mounts."""
    found: list[tuple[str, set[str]]] = []

    def walk(routes: Any) -> None:
        for route in routes:
            if hasattr(route, "effective_route_contexts"):
                for ctx in route.effective_route_contexts():
                    found.append((ctx.path, set(ctx.methods or {"GET"})))
            elif hasattr(route, "methods") and getattr(route, "path", None) is not None:
                found.append((route.path, set(route.methods or {"GET"})))
            elif hasattr(route, "path"):  # a mount
                found.append((route.path + "/x", {"GET"}))

    walk(app.routes)
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)


def assert_refused(response: httpx.Response, path: str, method: str) -> None:
    if response.status_code == 303:
        assert method in ("GET", "HEAD") and not path.startswith("/api/"), (method, path)
        assert response.headers["location"].startswith("/login?next="), response.headers
        return
    assert response.status_code in (401, 403), (method, path, response.status_code, response.text)
    if path.startswith("/sdapi/"):  # the A1111-compatible API answers in A1111's error shape (aptmagic.compat)
        assert response.json()["detail"], response.text
        return
    # The OpenAI-compatible API (/v1) answers in OpenAI's error shape, whose 401 code is invalid_api_key.
    assert error_code(response) in ("unauthorized", "forbidden", "csrf_failed", "invalid_api_key")


def test_the_allowlist_is_small_and_known() -> None:
    assert {
        "/healthz", "/readyz", "/openapi.json", "/docs", "/login", "/signup", "/api/v1/auth/login", "/api/v1/auth/signup",
    } == PUBLIC_PATHS  # fmt: skip
    assert is_public("/static/app.js") and is_public("/api/v1/uploads/presigned/tok")
    assert not is_public("/api/v1/uploads/presign") and not is_public("/") and not is_public("/api/v1/jobs")


def test_every_route_without_credentials_is_refused(auth_live: LiveServer) -> None:
    routes = all_routes(auth_live.app)
    paths = {path for path, _ in routes}
    assert {"/api/v1/jobs", "/api/v1/jobs/{job_id}", "/api/v1/assets/{asset_id}", "/api/v1/admin/audit", "/"} <= paths
    checked = 0
    with browser(auth_live) as client:
        for path, methods in routes:
            target = concrete(path)
            if is_public(target):
                continue
            for method in sorted(methods | set(ODD_METHODS)):
                response = client.request(method, target)  # no Origin, no cookie, no key
                assert_refused(response, target, method)
                checked += 1
    assert checked > 50


@pytest.mark.parametrize("path", ["/api/v1/nothing-here", "/admin", "/api/v1/admin/users/x"])
def test_unknown_paths_are_refused_too(auth_live: LiveServer, path: str) -> None:
    with browser(auth_live) as client:
        assert client.post(path).status_code == 401


def test_api_401_has_the_error_shape_and_pages_redirect(auth_live: LiveServer) -> None:
    with browser(auth_live) as client:
        response = client.get("/api/v1/jobs")
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
        page = client.get("/")
        assert page.status_code == 303 and page.headers["location"] == "/login?next=/"


@pytest.mark.parametrize(
    "path", ["/healthz", "/readyz", "/openapi.json", "/docs", "/login", "/signup", "/static/app.js"]
)
def test_the_allowlist_answers_without_credentials(auth_live: LiveServer, path: str) -> None:
    with browser(auth_live) as client:
        assert client.get(path).status_code == 200
