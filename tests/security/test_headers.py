"""Security headers on every response: pages, API answers, errors (a 500 included),
static files, asset downloads and Server-Sent Events; HSTS only behind HTTPS; and
the page and the API docs in Chromium under the policy the server really sends."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from PIL import Image
from starlette.testclient import TestClient

from aptmagic.api.security import CONTENT_SECURITY_POLICY
from aptmagic.app import create_app
from aptmagic.config import Settings
from tests.conftest import LiveServer, create_account, create_asset, start_server
from tests.security import EXPECTED_HEADERS, assert_secure, auth_of
from tests.web.test_page import BROWSER_MISSING, CHROMIUM, CHROMIUM_ARGS

HSTS = "max-age=31536000"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def auth(live: LiveServer) -> dict[str, str]:
    return auth_of(live)


def test_headers_on_pages_api_errors_static_and_assets(
    live: LiveServer, client: httpx.Client, auth: dict[str, str]
) -> None:
    asset_id = create_asset(live, png(), "image/png", "image")
    requests: list[tuple[str, str, dict[str, Any]]] = [
        ("GET", "/", {}),
        ("GET", "/docs", {}),
        ("GET", "/openapi.json", {}),
        ("GET", "/healthz", {}),
        ("GET", "/readyz", {}),
        ("GET", "/api/v1/models", {}),
        ("GET", "/api/v1/jobs", {}),
        ("GET", "/api/v1/jobs/no-such-job", {}),
        ("GET", "/no/such/page", {}),
        ("POST", "/api/v1/jobs", {"json": {"task": "text-to-image", "params": {"prompt": ""}}}),
        ("POST", "/api/v1/jobs", {"content": b"{not json", "headers": {"content-type": "application/json"}}),
        ("DELETE", "/api/v1/models", {}),
        ("GET", "/static/app.css", {}),
        ("GET", "/static/app.js", {}),
        ("GET", "/static/favicon.svg", {}),
        ("GET", "/static/swagger/swagger-ui-bundle.js", {}),
        ("GET", "/static/no-such-file.css", {}),
        ("GET", f"/api/v1/assets/{asset_id}", {}),
        ("GET", f"/api/v1/assets/{asset_id}?download=true", {}),
    ]
    statuses = set()
    for method, path, kwargs in requests:
        headers = {**auth, **kwargs.pop("headers", {})}
        response = client.request(method, path, headers=headers, **kwargs)
        assert response.status_code < 500, f"{method} {path}: {response.status_code} {response.text[:200]}"
        assert_secure(response)
        statuses.add(response.status_code)
    assert {200, 404} <= statuses

    etag = client.get(f"/api/v1/assets/{asset_id}", headers=auth).headers.get("etag")
    if etag:
        cached = client.get(f"/api/v1/assets/{asset_id}", headers={**auth, "If-None-Match": etag})
        assert cached.status_code == 304
        assert_secure(cached)


def test_headers_on_validation_errors_and_unknown_routes(client: httpx.Client, auth: dict[str, str]) -> None:
    bad = client.post("/api/v1/jobs", json={"task": "text-to-image", "params": {"prompt": ""}}, headers=auth)
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_error"
    assert_secure(bad)
    anonymous = httpx.get(str(client.base_url.join("/api/v1/jobs")))
    assert anonymous.status_code in (200, 401)
    assert_secure(anonymous)
    missing = client.get("/api/v1/nothing-here", headers=auth)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    assert_secure(missing)
    wrong_method = client.put("/healthz")
    assert wrong_method.status_code == 405
    assert_secure(wrong_method)


def test_headers_on_server_sent_events(make_settings: Callable[..., Settings]) -> None:
    """With no worker the job stays queued and its stream stays open: the headers and the first
    event arrive anyway, so nothing buffers the stream."""
    server = start_server(make_settings(worker_concurrency=0))
    try:
        with httpx.Client(base_url=server.url, timeout=10) as http:
            auth = auth_of(server)
            body = {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": "a cat"}}
            job = http.post("/api/v1/jobs", json=body, headers=auth)
            assert job.status_code == 202, job.text
            with http.stream("GET", f"/api/v1/jobs/{job.json()['id']}/events", headers=auth) as stream:
                assert stream.status_code == 200
                assert stream.headers["content-type"].startswith("text/event-stream")
                assert_secure(stream)
                lines = stream.iter_lines()
                first = next(line for line in lines if line)
                assert first.startswith(("event:", "data:", "id:", ":")), first
    finally:
        server.stop()


# ---- in process: a 500, HSTS --------------------------------------------------


@pytest.fixture
def app_for(make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        app = create_app(make_settings(**overrides))

        @app.get("/boom", include_in_schema=False)
        def boom() -> None:
            raise RuntimeError("boom")

        return app

    return make


def test_headers_on_unhandled_error(app_for: Callable[..., Any]) -> None:
    """The last-resort handler answers outside every added middleware; the headers still come."""
    with TestClient(app_for(), raise_server_exceptions=False) as started:
        account = create_account(started.app.state.services, "boom")
        response = started.get("/boom", headers=account.headers)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert_secure(response, "500")


def test_no_hsts_over_plain_http(app_for: Callable[..., Any]) -> None:
    plain = TestClient(app_for(), base_url="http://testserver")
    response = plain.get("/healthz", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert "strict-transport-security" not in response.headers


def test_hsts_on_https(app_for: Callable[..., Any]) -> None:
    secure = TestClient(app_for(), base_url="https://testserver")
    for path in ("/healthz", "/no-such-page", "/static/app.css"):
        response = secure.get(path)
        assert response.headers.get("strict-transport-security") == HSTS, path
        for name, value in EXPECTED_HEADERS.items():
            assert response.headers.get(name) == value


def test_hsts_can_be_turned_off(app_for: Callable[..., Any]) -> None:
    secure = TestClient(app_for(hsts_max_age_seconds=0), base_url="https://testserver")
    assert "strict-transport-security" not in secure.get("/healthz").headers


@pytest.mark.parametrize(
    ("trust", "forwarded", "expected"),
    [
        (False, "https", None),
        (True, "https", HSTS),
        (True, "HTTPS", HSTS),
        (True, "http", None),
        (True, None, None),
        # The last entry is the one the proxy in front of us wrote; earlier ones came from the client.
        (True, "https, http", None),
        (True, "http, https", HSTS),
    ],
)
def test_hsts_behind_a_proxy(
    app_for: Callable[..., Any], trust: bool, forwarded: str | None, expected: str | None
) -> None:
    plain = TestClient(app_for(trust_forwarded_headers=trust), base_url="http://testserver")
    headers = {"X-Forwarded-Proto": forwarded} if forwarded else {}
    response = plain.get("/healthz", headers=headers)
    assert response.headers.get("strict-transport-security") == expected


def test_app_headers_are_kept(app_for: Callable[..., Any]) -> None:
    """A route that sets its own policy header keeps it; the middleware only fills in what is missing."""
    from fastapi.responses import PlainTextResponse

    app = app_for()

    @app.get("/framable", include_in_schema=False)
    def framable() -> PlainTextResponse:
        return PlainTextResponse("ok", headers={"X-Frame-Options": "SAMEORIGIN"})

    with TestClient(app) as started:
        account = create_account(started.app.state.services, "framer")
        response = started.get("/framable", headers=account.headers)
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "SAMEORIGIN"
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert len(response.headers.get_list("x-frame-options")) == 1


# ---- in a browser -------------------------------------------------------------

needs_browser = pytest.mark.skipif(BROWSER_MISSING is not None, reason=BROWSER_MISSING or "")

WATCH_VIOLATIONS = (
    "window.__violations = [];"
    "document.addEventListener('securitypolicyviolation',"
    " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
)
INLINE_SCRIPT_PROBE = """() => new Promise(done => {
    document.addEventListener('securitypolicyviolation', () => done(true), { once: true });
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.body.append(s);
    setTimeout(() => done(false), 2000);
})"""


@pytest.fixture
def browser(live: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = chromium.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(60_000)
            yield context
        finally:
            chromium.close()


def open_page(context: Any, url: str) -> tuple[Any, list[str], Any]:
    page = context.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.add_init_script(WATCH_VIOLATIONS)
    response = page.goto(url)
    return page, problems, response


def assert_enforced_and_clean(page: Any, problems: list[str]) -> None:
    assert page.evaluate("() => window.__violations") == []
    assert problems == []
    assert page.evaluate(INLINE_SCRIPT_PROBE), "the policy did not refuse an inline script"


@needs_browser
def test_page_renders_under_the_served_policy(browser: Any, live: LiveServer) -> None:
    page, problems, response = open_page(browser, f"{live.url}/")
    assert response.status < 400
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    # The generator form, or (when the page needs an account) the sign-in form.
    page.wait_for_selector("form")
    page.wait_for_load_state("networkidle")
    assert_enforced_and_clean(page, problems)


@needs_browser
@pytest.mark.timeout(300)
def test_api_docs_render_and_try_it_out_under_the_served_policy(browser: Any, live: LiveServer) -> None:
    page, problems, response = open_page(browser, f"{live.url}/docs")
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    page.wait_for_selector(".opblock")
    assert page.locator(".opblock").count() >= 10
    # One operation of every tag: each kind of body, form and response renders. Expanding all of
    # them (over a hundred) takes minutes on a loaded machine and shows nothing more.
    for section in page.locator(".opblock-tag-section").all():
        section.locator(".opblock-summary").first.click()
    health = page.locator(".opblock-get").filter(has_text="/healthz").first
    health.locator(".try-out__btn").click()
    health.locator(".execute").click()
    health.locator(".live-responses-table tbody .response-col_status").first.wait_for()
    assert "200" in health.locator(".live-responses-table tbody .response-col_status").first.inner_text()
    for toggle in page.locator(".models .model-box-control").all()[:5]:
        toggle.click()
    page.wait_for_load_state("networkidle")
    assert_enforced_and_clean(page, problems)
