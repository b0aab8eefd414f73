"""Browser fixtures for the web app tests: Debian's chromium driven by Playwright.

They skip, saying why, where chromium or the playwright package is missing
(scripts/setup.sh installs both where it can). Never ``playwright install``."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

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
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 900}
REVIEW_DIR = Path("/work/notes/screens")
PASSWORD = "a long browser test password"


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"browser test: {CHROMIUM} is missing (Debian: apt-get install chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "browser test: the playwright package is missing (pip install -e '.[test]')"
    return None


BROWSER_MISSING = _browser_missing()
needs_browser = pytest.mark.skipif(BROWSER_MISSING is not None, reason=BROWSER_MISSING or "")

# Set on every page before any script runs: records CSP violations and any dialog a script opens.
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""


@dataclass
class Watched:
    """A page with what went wrong on it: console errors, failed requests, dialogs, remote loads."""

    page: Any
    base: str
    problems: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)
    allowed_statuses: set[int] = field(default_factory=lambda: {422})


@dataclass
class Shots:
    folder: Path
    taken: list[Path] = field(default_factory=list)

    def take(self, page: Any, name: str, *, sizes: tuple[str, ...] = ("desktop", "phone")) -> None:
        """Full-page screenshots at each size; the viewport is put back to desktop after."""
        page.evaluate(
            "() => { const t = document.getElementById('toast'); if (t) t.hidden = true; window.scrollTo(0, 0); }"
        )
        for size in sizes:
            page.set_viewport_size(PHONE if size == "phone" else DESKTOP)
            page.wait_for_timeout(150)
            path = self.folder / f"{name}-{size}.png"
            page.screenshot(path=str(path), full_page=True)
            self.taken.append(path)
        page.set_viewport_size(DESKTOP)


@pytest.fixture
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        launched = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def shots(tmp_path: Path) -> Iterator[Shots]:
    folder = tmp_path / "screens"
    folder.mkdir()
    found = Shots(folder)
    yield found
    if REVIEW_DIR.parent.exists():  # a copy for people to look at, where the notes folder exists
        REVIEW_DIR.mkdir(exist_ok=True)
        for path in found.taken:
            shutil.copy(path, REVIEW_DIR / path.name)


def open_page(browser: Any, base: str) -> Watched:
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(90_000)
    page = context.new_page()
    watched = Watched(page, base)

    def on_console(message: Any) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            watched.problems.append(message.text)

    def on_response(response: Any) -> None:
        if response.status >= 400 and response.status not in watched.allowed_statuses:
            watched.problems.append(f"{response.status} {response.request.method} {response.url}")

    def on_dialog(dialog: Any) -> None:
        watched.dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("console", on_console)
    page.on("response", on_response)
    page.on("dialog", on_dialog)
    page.on("pageerror", lambda exc: watched.problems.append(f"page error: {exc}"))
    page.on(
        "request",
        lambda req: None if req.url.startswith(base) or req.url.startswith("data:") else watched.remote.append(req.url),
    )
    page.add_init_script(WATCH)
    return watched


def sign_up(watched: Watched, username: str) -> None:
    page = watched.page
    page.goto(f"{watched.base}/signup")
    page.fill("#email", f"{username.lower()}@example.com")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#submit")
    page.wait_for_url(f"{watched.base}/")
    assert page.text_content("#signed-in-as") == username


def assert_clean(watched: Watched) -> None:
    """No console or page errors, no failed requests, no CSP violations, no dialogs, nothing remote."""
    assert watched.problems == []
    assert watched.dialogs == [], "a script opened a dialog"
    assert watched.remote == [], "the page loaded something from another host"
    assert watched.page.evaluate("() => window.__violations") == []
