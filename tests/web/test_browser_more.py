"""More of the web app in a browser: the feed's "load more", progress by polling when the
event stream fails, API keys shown once and revoked, and the password change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from aptmagic.config import Settings
from tests.conftest import LiveServer, start_server, wait_for
from tests.web.conftest import (
    PASSWORD,
    Shots,
    assert_clean,
    needs_browser,
    open_page,
    sign_up,
)


def five_posts(live: LiveServer) -> list[str]:
    with httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=60) as client:
        body = {"task": "text-to-image", "model": "tiny-sd",
                "params": {"prompt": "five of them", "width": 64, "height": 64, "steps": 1, "num_images": 5}}  # fmt: skip
        job = wait_for(client, client.post("/api/v1/jobs", json=body).json()["id"], timeout=180)
        ids = []
        for n, out in enumerate(job["outputs"]):
            made = client.post("/api/v1/posts", json={"asset_id": out["asset_id"], "title": f"Number {n + 1}"})
            assert made.status_code == 201, made.text
            ids.append(made.json()["id"])
    return ids[::-1]  # newest first


@needs_browser
@pytest.mark.timeout(300)
def test_feed_loads_more_with_the_cursor(
    browser: Any, live: LiveServer, shots: Shots, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("aptmagic.web.social.FEED_LIMIT", 2)
    expected = five_posts(live)
    viewer = open_page(browser, live.url)
    sign_up(viewer, "viewer")
    page = viewer.page
    page.goto(f"{live.url}/feed")

    def ids():
        return page.eval_on_selector_all("#posts .post-card", "cards => cards.map(c => c.dataset.id)")

    assert ids() == expected[:2]
    page.click("#load-more")
    page.wait_for_function("() => document.querySelectorAll('#posts .post-card').length === 4")
    page.click("#load-more")
    page.wait_for_function("() => document.querySelectorAll('#posts .post-card').length === 5")
    assert ids() == expected
    assert page.locator("#load-more").count() == 0, "no more to load"
    assert page.text_content("#feed-status") == "1 more post loaded."
    shots.take(page, "30-feed-loaded", sizes=("phone",))
    page.goto(f"{live.url}/u/tester")
    assert page.text_content("#post-count") == "5"
    page.click("#load-more")
    page.wait_for_function("() => document.querySelectorAll('#posts .post-card').length === 4")
    assert_clean(viewer)


@needs_browser
@pytest.mark.timeout(300)
def test_progress_falls_back_to_polling_when_events_fail(browser: Any, live: LiveServer) -> None:
    user = open_page(browser, live.url)
    sign_up(user, "poller")
    page = user.page
    blocked: list[str] = []

    def refuse(route: Any) -> None:
        blocked.append(route.request.url)
        route.abort()

    page.route("**/api/v1/jobs/*/events", refuse)
    page.goto(f"{live.url}/")
    page.fill("#prompt", "polled")
    page.fill("#width", "64")
    page.fill("#height", "64")
    page.fill("#steps", "3")
    page.click("#submit")
    page.wait_for_function(
        "() => { const i = document.querySelector('#result img'); return i && i.naturalWidth === 64; }"
    )
    assert blocked, "the page tried the event stream first"
    assert page.text_content("#status") == "Done."
    assert page.text_content("#progress-label") == "Step 3 of 3"
    user.problems = [p for p in user.problems if "EventSource" not in p]
    assert_clean(user)


@needs_browser
@pytest.mark.timeout(300)
def test_api_keys_and_password_change(browser: Any, live: LiveServer, shots: Shots) -> None:
    user = open_page(browser, live.url)
    sign_up(user, "keeper")
    page = user.page
    page.goto(f"{live.url}/keys")
    page.click("#key-submit")
    assert page.text_content("#key-name-error") == "Give the key a name."
    page.fill("#key-name", "<b>laptop</b>")
    page.click("#key-submit")
    page.locator("#new-key").wait_for(state="visible")
    key = page.text_content("#new-key-value") or ""
    assert key.startswith("amk_")
    assert page.locator("#keys li strong").first.text_content() == "<b>laptop</b>"
    shots.take(page, "31-keys-created")
    with httpx.Client(base_url=live.url, timeout=30, headers={"Authorization": f"Bearer {key}"}) as client:
        assert client.get("/api/v1/jobs").status_code == 200, "the key shown works"
        page.reload()
        assert key not in page.content(), "the key is shown once"
        revoke = page.locator("#keys button[data-revoke]").first
        revoke.click()
        revoke.click()
        page.locator("#keys .badge-failed").first.wait_for()
        assert client.get("/api/v1/jobs").status_code == 401, "a revoked key stops working"

    page.goto(f"{live.url}/account")
    user.allowed_statuses.add(403)
    page.fill("#pw-current_password", "not my password at all")
    page.fill("#pw-new_password", "a brand new long passphrase")
    page.click("#pw-submit")
    page.locator("#pw-current_password-error").wait_for(state="visible")
    page.fill("#pw-current_password", PASSWORD)
    page.fill("#pw-new_password", "password")
    page.click("#pw-submit")
    page.locator("#pw-new_password-error").wait_for(state="visible")
    page.fill("#pw-new_password", "a brand new long passphrase")
    page.click("#pw-submit")
    page.locator("#toast:has-text('Password changed')").wait_for()
    page.click("#logout")
    page.wait_for_url(f"{live.url}/login")
    page.fill("#login", "keeper")
    page.fill("#password", "a brand new long passphrase")
    page.click("#submit")
    page.wait_for_url(f"{live.url}/")
    assert_clean(user)


@needs_browser
@pytest.mark.timeout(300)
def test_blocked_terms_show_under_their_field(browser: Any, make_settings: Callable[..., Settings]) -> None:
    server = start_server(make_settings(moderation_blocklist=["forbiddenword"]), account=False)
    try:
        user = open_page(browser, server.url)
        sign_up(user, "blocked")
        page = user.page
        page.fill("#prompt", "a ForbiddenWord at dawn")
        page.click("#submit")
        page.locator("#prompt-error").wait_for(state="visible")
        assert page.text_content("#error") == "the prompt contains a blocked term"
        assert page.evaluate("() => document.activeElement.id") == "prompt"
        page.goto(f"{server.url}/?task=text")
        page.fill("#message", "say forbiddenword")
        page.click("#submit")
        page.locator("#message-error").wait_for(state="visible")
        assert_clean(user)
    finally:
        server.stop()
