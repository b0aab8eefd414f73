"""The product end to end in a real browser: sign up, generate with tiny-sd while
watching progress, share, and a second user who finds the post in the feed,
likes it and comments; the first user then sees both. Screenshots are taken at
phone and desktop sizes along the way (and copied to /work/notes/screens)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import LiveServer
from tests.web.conftest import (
    Shots,
    Watched,
    assert_clean,
    needs_browser,
    open_page,
    sign_up,
)

XSS_PROMPT = 'a lighthouse at dawn <img src=x id=injected-prompt onerror="alert(1)">'
XSS_TITLE = '<script>alert("title")</script>Dawn light'
XSS_CAPTION = 'Made on a tiny model. <img src=x id=injected-caption onerror="alert(2)">'
XSS_COMMENT = 'Lovely! <svg id=injected-comment onload="alert(3)"></svg>'


def no_injection(page: Any) -> None:
    for selector in ("#injected-prompt", "#injected-caption", "#injected-comment", "script:not([src])"):
        assert page.locator(selector).count() == 0, f"{selector} was injected"


def generate(alice: Watched, shots: Shots) -> str:
    page = alice.page
    page.goto(f"{alice.base}/")
    assert page.get_attribute("a.task-tab[aria-current='page']", "href") == "/?task=text-to-image"
    shots.take(page, "01-generate-empty")
    page.fill("#prompt", XSS_PROMPT)
    page.fill("#width", "64")
    page.fill("#height", "64")
    page.fill("#steps", "40")
    page.click("#submit")
    # Live progress: the bar moves while the job runs, then the image shows.
    page.wait_for_function(
        "() => document.getElementById('result-card').dataset.state === 'running'"
        " && document.getElementById('progress').value >= 1"
    )
    assert re.fullmatch(r"Step \d+ of 40", page.text_content("#progress-label") or "")
    shots.take(page, "02-generate-progress", sizes=("desktop",))
    page.wait_for_function(
        "() => { const i = document.querySelector('#result img'); return i && i.complete && i.naturalWidth === 64; }"
    )
    assert page.text_content("#status") == "Done."
    assert page.eval_on_selector("#progress", "p => [p.value, p.max]") == [40, 40]
    assert page.get_attribute("#result img", "alt") == XSS_PROMPT
    page.wait_for_function("() => document.querySelector('#recent li .prompt')?.textContent.includes('lighthouse')")
    assert page.text_content("#recent li .prompt") == XSS_PROMPT
    no_injection(page)
    shots.take(page, "03-generate-done")
    href = page.get_attribute("#result-actions a:text('Share')", "href") or ""
    assert href.endswith("#share")
    return href.split("#")[0].rsplit("/", 1)[-1]


def share(alice: Watched, shots: Shots, job_id: str) -> str:
    page = alice.page
    page.click("#result-actions a:text('Share')")
    page.wait_for_url(f"{alice.base}/jobs/{job_id}#share")
    assert page.text_content("#job-seed")
    assert "tiny-sd" in (page.text_content(".facts") or "")
    shots.take(page, "04-job-detail")
    page.fill("#share-title-input", XSS_TITLE)
    page.fill("#share-caption", XSS_CAPTION)
    page.fill("#share-tags", "Dawn, sea-scape")
    page.click("#share-submit")
    page.wait_for_url(re.compile(r".*/posts/[0-9a-f]{32}$"))
    assert page.text_content("#post-title") == XSS_TITLE
    assert page.text_content("#post-caption") == XSS_CAPTION
    assert page.locator("#post-tags a").all_text_contents() == ["#dawn", "#sea-scape"]
    assert page.text_content("#post-prompt") == XSS_PROMPT
    no_injection(page)
    shots.take(page, "05-post-author")
    return page.url.rsplit("/", 1)[-1]


def react(bob: Watched, shots: Shots, post_id: str) -> None:
    page = bob.page
    page.goto(f"{bob.base}/feed")
    card = page.locator(f".post-card[data-id='{post_id}']")
    assert card.locator(".post-card-title").text_content() == XSS_TITLE
    page.wait_for_function(
        "() => [...document.querySelectorAll('.post-card img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    shots.take(page, "06-feed")
    card.locator(".post-card-title").click()
    page.wait_for_url(f"{bob.base}/posts/{post_id}")
    page.click("#like")
    page.wait_for_function("() => document.getElementById('like').getAttribute('aria-pressed') === 'true'")
    assert page.text_content("#like-count") == "1"
    page.fill("#comment-body", XSS_COMMENT)
    page.click("#comment-submit")
    page.locator("#comments .comment-body").first.wait_for()
    assert page.locator("#comments .comment-body").all_text_contents() == [XSS_COMMENT]
    no_injection(page)
    shots.take(page, "07-post-liked-and-commented")
    page.reload()  # what the server renders agrees, and liking is remembered
    assert page.get_attribute("#like", "aria-pressed") == "true"
    assert page.text_content("#like-count") == "1"
    assert page.locator("#comments .comment-body").all_text_contents() == [XSS_COMMENT]
    page.goto(f"{bob.base}/u/alice")
    page.click("#follow")
    page.wait_for_function("() => document.getElementById('follower-count').textContent === '1'")
    shots.take(page, "08-profile")
    page.goto(f"{bob.base}/feed?kind=following")
    assert page.locator(f".post-card[data-id='{post_id}']").count() == 1


def sees_reactions(alice: Watched, shots: Shots, post_id: str) -> None:
    page = alice.page
    page.goto(f"{alice.base}/posts/{post_id}")
    assert page.text_content("#like-count") == "1"
    assert page.locator("#comments .comment-author").all_text_contents() == ["bob"]
    assert page.locator("#comments .comment-body").all_text_contents() == [XSS_COMMENT]
    no_injection(page)
    shots.take(page, "09-post-seen-by-author")


def tour(alice: Watched, shots: Shots) -> None:
    """The rest of the signed-in pages, for the screenshots and for errors on any of them."""
    page = alice.page
    for name, path in (("10-gallery", "/gallery"), ("11-keys", "/keys"), ("12-account", "/account"),
                       ("13-caption", "/?task=caption"), ("14-text", "/?task=text")):  # fmt: skip
        page.goto(f"{alice.base}{path}")
        no_injection(page)
        shots.take(page, name)


@needs_browser
@pytest.mark.timeout(420)
def test_generate_share_like_comment_in_browser(browser: Any, live: LiveServer, shots: Shots) -> None:
    alice = open_page(browser, live.url)
    sign_up(alice, "alice")
    job_id = generate(alice, shots)
    post_id = share(alice, shots, job_id)

    bob = open_page(browser, live.url)
    sign_up(bob, "bob")
    react(bob, shots, post_id)
    sees_reactions(alice, shots, post_id)
    tour(alice, shots)

    for watched in (alice, bob):
        assert_clean(watched)
