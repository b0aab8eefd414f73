"""The admin pages in Chromium: sign in, the dashboard draws its charts, the audit
filter form works, and nothing breaks the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import TEST_PASSWORD, Account, LiveServer
from tests.web.test_page import CHROMIUM, CHROMIUM_ARGS, needs_browser


@pytest.fixture
def admin_page(obs_live: LiveServer, admin: Account) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
            page.set_default_timeout(60_000)
            page.problems = []  # type: ignore[attr-defined]
            page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
            page.on("pageerror", lambda exc: page.problems.append(str(exc)))
            page.goto(obs_live.url + "/login?next=/admin/dashboard")
            page.fill("#login", admin.username)
            page.fill("#password", TEST_PASSWORD)
            page.click("#submit")
            page.wait_for_url("**/admin/dashboard")
            yield page
        finally:
            browser.close()


@needs_browser
def test_dashboard_and_audit_pages_in_a_browser(admin_page: Any, tmp_path: Path) -> None:
    page = admin_page
    page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
    charts = page.locator("svg.chart")
    assert charts.count() >= 3
    box = charts.first.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] > 100  # the stylesheet sized it
    page.click("text=Audit log")
    page.wait_for_url("**/admin/audit")
    page.fill("#action", "login")
    page.click("text=Filter")
    page.wait_for_url("**/admin/audit?**action=login**")
    actions = page.locator("#audit-table tbody td:nth-child(2)").all_inner_texts()
    assert actions and set(actions) == {"login"}
    page.screenshot(path=tmp_path / "audit.png", full_page=True)
    assert page.problems == []  # no CSP violation, no script error
