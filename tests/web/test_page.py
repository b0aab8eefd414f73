"""The first page: its server-rendered HTML, and the page driven in a real browser.

The browser tests use Debian's chromium through Playwright and skip, saying
why, when either is missing (scripts/setup.sh installs both where it can)."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import TERMINAL, LiveServer, submit

FIELDS = ("prompt", "negative_prompt", "model", "width", "height", "steps", "guidance", "num_images", "seed")
EVIL = "<script>alert(1)</script>"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# What the page must keep working under: no inline script, handler or style.
STRICT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class Page(HTMLParser):
    """Every start tag with its attributes, and the text inside each <li> of #recent."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.inline_script = False
        self._in_script = False
        self._recent_depth = 0
        self.recent_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.tags.append((tag, values))
        if tag == "script":
            self._in_script = True
            if not values.get("src"):
                self.inline_script = True
        if values.get("id") == "recent":
            self._recent_depth = 1
        elif self._recent_depth and tag not in ("img", "input", "br"):
            self._recent_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False
        if self._recent_depth:
            self._recent_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_script = True
        if self._recent_depth and data.strip():
            self.recent_text.append(data.strip())

    def find(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.tags if t == tag and all(a.get(k) == v for k, v in attrs.items())]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


# ---- without a browser ------------------------------------------------------


def test_page_serves_form_script_and_local_assets(client: httpx.Client) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)

    labelled = {a.get("for") for a in page.find("label")}
    for name in FIELDS:
        controls = [a for t, a in page.tags if t in ("input", "select", "textarea") and a.get("id") == name]
        assert len(controls) == 1, f"one #{name} control"
        assert controls[0].get("name") == name
        assert name in labelled, f"#{name} has a <label for>"
    assert page.find("form", id="generate-form")
    assert page.find("button", id="submit", type="submit")
    assert page.find("progress", id="progress")
    assert page.find("a", href="/docs")
    assert "tiny-sd" in [o["value"] for o in page.find("option")]

    scripts = page.find("script")
    assert [s.get("src") for s in scripts] == ["/static/app.js", "/static/generate.js"]
    assert not page.inline_script, "no inline <script>: a strict CSP is coming"
    for tag, attrs in page.tags:
        assert "style" not in attrs, f"inline style on <{tag}>"
        assert not [a for a in attrs if a.startswith("on")], f"inline handler on <{tag}>"
        for key in ("src", "href"):
            if key in attrs:
                assert attrs[key].startswith(("/", "#")), f"<{tag} {key}={attrs[key]!r}> is not local"
    assert not page.find("style"), "styles live in static/app.css"

    for asset in ("/static/app.js", "/static/generate.js", "/static/app.css", "/static/favicon.svg"):
        assert client.get(asset).status_code == 200, asset


@pytest.mark.timeout(300)
def test_prompt_with_html_is_escaped_in_recent_list(client: httpx.Client) -> None:
    prompt = EVIL + " \"quoted\" & 'single'"
    job = submit(client, prompt=prompt, width=64, height=64, steps=1)
    html = client.get("/").text
    assert EVIL not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    page = parse(html)
    assert not page.inline_script
    assert prompt in page.recent_text, "the prompt shows, as text, in the recent list"
    recent = page.find("li", **{"data-id": job["id"]})
    assert recent, "the new job is in the server-rendered recent list"
    # Let it end here rather than in teardown; the first job of a session also
    # builds the tiny model, slow on a busy machine, so allow each poll a while.
    deadline = time.monotonic() + 180
    while client.get(f"/api/v1/jobs/{job['id']}", timeout=120).json()["status"] not in TERMINAL:
        assert time.monotonic() < deadline, "the job did not end"
        time.sleep(0.05)


# ---- in a browser -----------------------------------------------------------


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return (
            f"browser test: {CHROMIUM} is missing "
            "(Debian: apt-get install chromium; scripts/setup.sh does it when run as root)"
        )
    if importlib.util.find_spec("playwright") is None:
        return "browser test: the playwright package is missing (pip install -e '.[test]')"
    return None


BROWSER_MISSING = _browser_missing()
needs_browser = pytest.mark.skipif(BROWSER_MISSING is not None, reason=BROWSER_MISSING or "")


@pytest.fixture
def browser_page(live: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(90_000)
            page = context.new_page()
            page.problems = []  # type: ignore[attr-defined]
            page.remote = []  # type: ignore[attr-defined]

            def on_console(message: Any) -> None:
                # Failed loads are judged by on_response, which knows the method.
                if message.type == "error" and "Failed to load resource" not in message.text:
                    page.problems.append(message.text)

            def on_response(response: Any) -> None:
                refused_job = response.request.method == "POST" and response.status == 422
                if response.status >= 400 and not refused_job:
                    page.problems.append(f"{response.status} {response.request.method} {response.url}")

            page.on("console", on_console)
            page.on("response", on_response)
            page.on("pageerror", lambda exc: page.problems.append(f"page error: {exc}"))
            page.on("request", lambda req: None if req.url.startswith(live.url) else page.remote.append(req.url))

            def with_csp(route: Any) -> None:
                response = route.fetch()
                headers = {**response.headers, "content-security-policy": STRICT_CSP}
                route.fulfill(response=response, headers=headers)

            page.route(f"{live.url}/", with_csp)
            page.add_init_script(
                "window.__violations = [];"
                "document.addEventListener('securitypolicyviolation',"
                " e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));"
            )
            sign_up_in_browser(page, live.url)
            yield page
        finally:
            browser.close()


def sign_up_in_browser(page: Any, url: str) -> None:
    """Make an account through the real sign-up page; the browser then holds its session cookie."""
    page.goto(f"{url}/login")
    page.click("a[href='/signup']")
    page.fill("#email", "browser@example.com")
    page.fill("#username", "browser")
    page.fill("#password", "a long browser test password")
    page.click("#submit")
    page.wait_for_url(f"{url}/")
    assert page.text_content("#signed-in-as") == "browser"


def assert_clean(page: Any) -> None:
    """No console errors or page errors, no CSP violations, and the CSP was really on."""
    assert page.problems == []
    assert page.evaluate("() => window.__violations") == []
    probe = """() => new Promise(done => {
        document.addEventListener('securitypolicyviolation', () => done(true), { once: true });
        const s = document.createElement('script');
        s.textContent = 'window.__inlineRan = true';
        document.body.append(s);
        setTimeout(() => done(false), 2000);
    })"""
    assert page.evaluate(probe), "the strict CSP was not enforced, so the test proved nothing"


def _fill(page: Any, **values: Any) -> None:
    for name, value in values.items():
        page.fill(f"#{name}", str(value))


@needs_browser
@pytest.mark.timeout(300)
def test_generate_in_browser(browser_page: Any, live: LiveServer) -> None:
    page = browser_page
    page.goto(f"{live.url}/")
    assert page.locator("#progress-wrap").is_hidden()
    prompt = "a tiny test <img src=x id=injected>"
    page.fill("#prompt", prompt)
    _fill(page, width=64, height=64, steps=2)
    page.click("#submit")

    image = page.locator("#result img")
    image.wait_for(state="visible")
    page.wait_for_function(
        "() => { const i = document.querySelector('#result img'); return i && i.complete && i.naturalWidth > 0; }"
    )
    assert page.evaluate("() => document.querySelector('#result img').naturalWidth") == 64
    box = image.bounding_box()
    assert box and box["width"] >= 256, "a 64 px image is shown scaled up"
    assert "pixelated" in (image.get_attribute("class") or "")

    assert page.eval_on_selector("#progress", "p => [p.value, p.max]") == [2, 2]
    assert page.text_content("#progress-label") == "Step 2 of 2"
    assert page.text_content("#status") == "Done."
    assert page.get_attribute("#result-card", "data-state") == "succeeded"
    assert page.is_enabled("#submit") and page.is_hidden("#cancel")

    # The recent list is fetched again and shows the new job first, its prompt as text.
    src = image.get_attribute("src")
    page.wait_for_function(
        "src => { const i = document.querySelector('#recent li .thumb img');"
        " return i && i.getAttribute('src') === src; }",
        arg=src,
    )
    assert page.text_content("#recent li .prompt") == prompt
    assert page.locator("#injected").count() == 0, "HTML in a prompt stays text"

    assert page.remote == [], "the page loads nothing from other hosts"
    assert_clean(page)


@needs_browser
@pytest.mark.timeout(300)
def test_cancel_and_field_error_in_browser(browser_page: Any, live: LiveServer) -> None:
    page = browser_page
    page.goto(f"{live.url}/")

    # A long job, canceled once it runs.
    page.fill("#prompt", "a long one")
    _fill(page, width=64, height=64, steps=100)
    page.click("#submit")
    page.locator("#cancel").wait_for(state="visible")
    page.wait_for_function("() => document.getElementById('progress').value >= 1")
    page.click("#cancel")
    page.wait_for_function("() => document.getElementById('result-card').dataset.state === 'canceled'")
    assert page.text_content("#status") == "Canceled."
    assert page.is_hidden("#cancel") and page.is_enabled("#submit")
    assert page.eval_on_selector("#progress", "p => p.value < p.max")
    page.wait_for_function("() => document.querySelector('#recent li')?.dataset.status === 'canceled'")

    # A value the API refuses: the message sits under its field.
    _fill(page, width=65, steps=2)
    page.click("#submit")
    error = page.locator("#width-error")
    error.wait_for(state="visible")
    assert "multiple of 8" in error.text_content()
    assert page.get_attribute("#width", "aria-invalid") == "true"
    assert page.evaluate("() => document.activeElement.id") == "width"
    assert page.is_visible("#error")
    state = page.get_attribute("#result-card", "data-state")
    assert state == "canceled", "a refused request leaves the last result in place"
    page.fill("#width", "64")
    assert page.is_hidden("#width-error"), "typing clears the message"
    assert_clean(page)
