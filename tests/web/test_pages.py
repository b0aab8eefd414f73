"""The server-rendered pages without a browser: sign-in, the layout, who sees what
(404 pages for other people's jobs and for private or hidden posts), hostile
input rendered inert on every page, and odd query strings answered calmly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from markupsafe import escape

from tests.conftest import Account, LiveServer, create_account, start_server, wait_for
from tests.jobs.conftest import fresh_seed, shared_settings
from tests.web.test_page import parse

EVIL = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ESCAPED = str(escape(EVIL))  # what Jinja's autoescape writes
PAGES = ("/", "/?task=image-to-image", "/?task=caption", "/?task=text", "/?task=summarize", "/?task=transcribe",
         "/gallery", "/keys", "/account", "/feed", "/feed?kind=top_day", "/feed?kind=top_week",
         "/feed?kind=following")  # fmt: skip


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    live = start_server(shared_settings(tmp_path_factory.mktemp("pages"), models_dir))
    yield live
    live.stop()


@pytest.fixture(scope="module")
def people(server: LiveServer) -> dict[str, Account]:
    assert server.account is not None
    return {
        "ann": server.account,
        "ben": create_account(server.services, "ben"),
        "root": create_account(server.services, "root", admin=True),
    }


def as_user(server: LiveServer, account: Account) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=account.headers, timeout=60)


@pytest.fixture(scope="module")
def ann(server: LiveServer, people: dict[str, Account]) -> Iterator[httpx.Client]:
    with as_user(server, people["ann"]) as client:
        yield client


@pytest.fixture(scope="module")
def ben(server: LiveServer, people: dict[str, Account]) -> Iterator[httpx.Client]:
    with as_user(server, people["ben"]) as client:
        yield client


@pytest.fixture(scope="module")
def root(server: LiveServer, people: dict[str, Account]) -> Iterator[httpx.Client]:
    with as_user(server, people["root"]) as client:
        yield client


def finished_job(client: httpx.Client, prompt: str) -> dict[str, Any]:
    body = {"task": "text-to-image", "model": "tiny-sd",
            "params": {"prompt": prompt, "width": 64, "height": 64, "steps": 1, "seed": fresh_seed()}}  # fmt: skip
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    job = wait_for(client, response.json()["id"], timeout=180)
    assert job["status"] == "succeeded", job
    return job


def share(client: httpx.Client, job: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"asset_id": job["outputs"][0]["asset_id"], "title": "A post", "visibility": "public", **fields}
    response = client.post("/api/v1/posts", json=body)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def evil_post(ann: httpx.Client, ben: httpx.Client) -> dict[str, Any]:
    """Ann's public post with hostile text everywhere text can go, and a hostile comment by Ben."""
    job = finished_job(ann, EVIL)
    post = share(ann, job, title=EVIL[:120], caption=EVIL, tags=["safe-tag"])
    assert ben.post(f"/api/v1/posts/{post['id']}/comments", json={"body": EVIL}).status_code == 201
    return {"job": job, "post": post}


def assert_inert(text: str) -> None:
    """The hostile string shows only escaped, and no script runs inline."""
    assert EVIL not in text
    assert "<img src=x" not in text
    page = parse(text)
    assert not page.inline_script
    for tag, attrs in page.tags:
        assert not [a for a in attrs if a.startswith("on")], f"inline handler on <{tag}>"
        assert "style" not in attrs, f"inline style on <{tag}>"


# ---- signed out ----------------------------------------------------------------------


@pytest.mark.parametrize("path", [*PAGES, "/jobs/abc", "/posts/abc", "/u/tester", "/admin", "/admin/moderation"])
def test_pages_send_the_signed_out_to_login(server: LiveServer, path: str) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        response = anonymous.get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_auth_pages_use_the_layout(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        for path in ("/login", "/signup"):
            page = parse(anonymous.get(path).text)
            assert page.find("a", href="#main"), "a skip link"
            assert page.find("main", id="main")
            assert page.find("link", href="/static/app.css")
            assert not page.find("a", href="/gallery"), "no app nav while signed out"


def test_signup_page_escapes_a_hostile_username(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=30) as anonymous:
        response = anonymous.post("/signup", data={"email": "e@example.com", "username": EVIL, "password": "x"})
    assert response.status_code == 422
    assert ESCAPED in response.text
    assert_inert(response.text)


# ---- the layout and every page ---------------------------------------------------------


@pytest.mark.parametrize("path", PAGES)
def test_every_page_renders_with_the_layout_and_local_assets(ann: httpx.Client, path: str) -> None:
    response = ann.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in response.headers["content-security-policy"]
    page = parse(response.text)
    nav = [
        a["href"] for a in page.find("a") if a.get("href") in ("/", "/feed", "/gallery", "/keys", "/account", "/admin")
    ]
    assert {"/", "/feed", "/gallery", "/keys", "/account"} <= set(nav)
    assert "/admin" not in nav, "no admin link for a user"
    assert page.find("a", href="#main") and page.find("main", id="main")
    for tag, attrs in page.tags:
        for key in ("src", "href", "action"):
            if attrs.get(key):
                assert attrs[key].startswith(("/", "#")), f"<{tag} {key}={attrs[key]!r}> is not local"
    assert_inert(response.text)


def test_admin_sees_the_admin_pages_and_users_do_not(
    ann: httpx.Client, root: httpx.Client, people: dict[str, Account]
) -> None:
    assert ann.get("/admin").status_code == 403
    assert ann.get("/admin/moderation").status_code == 403
    page = root.get("/admin")
    assert page.status_code == 200
    assert parse(page.text).find("a", href="/admin")
    for account in people.values():
        assert f"role-{account.user_id}" in page.text
    assert 'id="queued"' in page.text and 'id="running"' in page.text
    assert root.get("/admin/moderation").status_code == 200


def test_generate_page_has_the_controls_of_each_task(ann: httpx.Client) -> None:
    expected = {
        "text-to-image": ("prompt", "width", "height", "steps", "num_images", "negative_prompt", "guidance", "seed"),
        "image-to-image": ("source", "source-file", "prompt", "strength", "num_variations", "steps", "seed"),
        "caption": ("source", "source-file", "tone", "length", "length_words", "seed"),
        "text": ("message", "system", "max_tokens", "temperature", "top_p", "stop", "seed"),
        "summarize": ("text", "length", "style", "max_tokens", "seed"),
        "transcribe": ("source", "source-file", "language", "timestamps"),
    }
    for task, ids in expected.items():
        page = parse(ann.get("/", params={"task": task}).text)
        assert page.find("form", id="generate-form", **{"data-task": task})
        labelled = {a.get("for") for a in page.find("label")}
        for control in ids:
            found = [a for t, a in page.tags if t in ("input", "select", "textarea") and a.get("id") == control]
            assert len(found) == 1, f"{task}: one #{control}"
            if found[0].get("type") != "hidden":
                assert control in labelled, f"{task}: #{control} has a label"


def test_unknown_task_falls_back_to_text_to_image(ann: httpx.Client) -> None:
    page = parse(ann.get("/", params={"task": "<nope>"}).text)
    assert page.find("form", id="generate-form", **{"data-task": "text-to-image"})


# ---- jobs: gallery, detail, remix, who sees what ------------------------------------------


def test_job_detail_and_remix_for_the_owner_404_for_others(ann: httpx.Client, ben: httpx.Client, root: httpx.Client,
                                                           evil_post: dict[str, Any]) -> None:  # fmt: skip
    job = evil_post["job"]
    detail = ann.get(f"/jobs/{job['id']}")
    assert detail.status_code == 200
    assert str(job["seed"]) in detail.text and "tiny-sd" in detail.text
    assert_inert(detail.text)
    remix = ann.get("/", params={"remix": job["id"]})
    assert remix.status_code == 200
    assert ESCAPED in remix.text, "the prompt is prefilled, escaped"
    assert_inert(remix.text)
    assert ben.get(f"/jobs/{job['id']}").status_code == 404
    assert ben.get("/", params={"remix": job["id"]}).status_code == 404
    assert root.get(f"/jobs/{job['id']}").status_code == 200, "admins see every job"
    assert ann.get("/jobs/" + "x" * 300).status_code == 404


def test_gallery_filters_by_task_and_prompt(ann: httpx.Client, evil_post: dict[str, Any]) -> None:
    job = finished_job(ann, "a quiet harbour")
    found = ann.get("/gallery", params={"q": "HARBOUR"}).text
    assert f'data-id="{job["id"]}"' in found and f'data-id="{evil_post["job"]["id"]}"' not in found
    assert f'data-id="{job["id"]}"' not in ann.get("/gallery", params={"task": "caption"}).text
    everything = ann.get("/gallery").text
    assert f'data-id="{job["id"]}"' in everything
    assert_inert(everything)
    assert "lighthouse-not-there" in ann.get("/gallery", params={"q": "lighthouse-not-there"}).text  # echoed, escaped


def test_gallery_is_only_my_jobs(ben: httpx.Client, evil_post: dict[str, Any]) -> None:
    assert evil_post["job"]["id"] not in ben.get("/gallery").text


@pytest.mark.parametrize("query", [{"cursor": "%%%"}, {"cursor": "bm90LWEtY3Vyc29y"}, {"task": "x" * 32}, {"q": EVIL}])
def test_gallery_survives_odd_queries(ann: httpx.Client, query: dict[str, str]) -> None:
    response = ann.get("/gallery", params=query)
    assert response.status_code == 200
    assert_inert(response.text)


@pytest.mark.parametrize("path", ["/gallery?q=" + "x" * 500, "/?task=" + "x" * 100, "/feed?tag=" + "x" * 100,
                                  "/?remix=" + "x" * 100])  # fmt: skip
def test_oversized_queries_are_422_not_500(ann: httpx.Client, path: str) -> None:
    response = ann.get(path)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


# ---- posts: feed, post page, profile; private and hidden -------------------------------------


def test_post_page_shows_everything_escaped(ann: httpx.Client, ben: httpx.Client, evil_post: dict[str, Any]) -> None:
    post = evil_post["post"]
    for client in (ann, ben):
        text = client.get(f"/posts/{post['id']}").text
        assert text.count(ESCAPED) >= 3, "title, caption, prompt and comment show as text"
        assert "#safe-tag" in text
        assert_inert(text)
    feed = ben.get("/feed").text
    assert f'data-id="{post["id"]}"' in feed
    assert_inert(feed)
    profile = ben.get("/u/tester").text
    assert f'data-id="{post["id"]}"' in profile
    assert_inert(profile)


def test_remix_from_a_post_uses_its_params(ben: httpx.Client, evil_post: dict[str, Any]) -> None:
    post = evil_post["post"]
    page = ben.get(f"/posts/{post['id']}").text
    assert f'href="/?post={post["id"]}"' in page
    remix = ben.get("/", params={"post": post["id"]})
    assert remix.status_code == 200
    assert ESCAPED in remix.text
    assert str(evil_post["job"]["seed"]) in remix.text
    assert_inert(remix.text)


def test_feed_ignores_a_hostile_tag_and_kind(ben: httpx.Client) -> None:
    response = ben.get("/feed", params={"tag": EVIL[:60], "kind": EVIL[:16]})
    assert response.status_code == 200
    assert_inert(response.text)


@pytest.mark.parametrize("visibility", ["private", "hidden"])
def test_private_and_hidden_posts_are_404_pages_to_others(
    ann: httpx.Client, ben: httpx.Client, root: httpx.Client, visibility: str
) -> None:
    job = finished_job(ann, f"a {visibility} one")
    post = share(ann, job, title=f"{visibility} post", visibility="private" if visibility == "private" else "public")
    if visibility == "hidden":
        hidden = root.post(f"/api/v1/admin/posts/{post['id']}/hide", json={"reason_code": "spam", "note": ""})
        assert hidden.status_code == 200, hidden.text
    assert ben.get(f"/posts/{post['id']}").status_code == 404
    assert ben.get("/", params={"post": post["id"]}).status_code == 404
    assert post["id"] not in ben.get("/feed").text
    assert post["id"] not in ben.get("/u/tester").text
    mine = ann.get(f"/posts/{post['id']}")
    assert mine.status_code == 200
    if visibility == "hidden":
        assert "Hidden by a moderator" in mine.text and "spam" in mine.text
    assert root.get(f"/posts/{post['id']}").status_code == 200


def test_unknown_posts_and_users_are_404_pages(ben: httpx.Client) -> None:
    for path in ("/posts/nope", "/posts/" + "x" * 200, "/u/nobody-here", "/u/" + "x" * 200):
        response = ben.get(path)
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")


def test_a_hostile_username_in_the_database_renders_inert(server: LiveServer, ann: httpx.Client,
                                                          evil_post: dict[str, Any]) -> None:  # fmt: skip
    """Usernames are checked at sign-up; a hostile one that got in some other way still shows as text."""
    from aptmagic.auth.models import User

    weird = create_account(server.services, "weird")
    with server.services.session_factory.begin() as session:
        user = session.get(User, weird.user_id)
        assert user is not None
        user.username = EVIL[:32]
    with as_user(server, weird) as client:
        post_id = evil_post["post"]["id"]
        assert client.post(f"/api/v1/posts/{post_id}/comments", json={"body": "hi"}).status_code == 201
        for path in ("/", "/account", "/keys", "/feed", f"/posts/{post_id}"):
            response = client.get(path)
            assert response.status_code == 200, path
            assert_inert(response.text)
    text = ann.get(f"/posts/{post_id}").text
    assert str(escape(EVIL[:32])) in text
    assert_inert(text)


def test_comment_delete_buttons_for_the_comment_author_and_admins_only(
    ann: httpx.Client, ben: httpx.Client, root: httpx.Client, evil_post: dict[str, Any]
) -> None:
    post_id = evil_post["post"]["id"]
    comments = ann.get(f"/api/v1/posts/{post_id}/comments").json()["items"]
    by_ben = next(c["id"] for c in comments if c["author"]["username"] == "ben")
    button = f'data-delete-comment="{by_ben}"'
    assert button in ben.get(f"/posts/{post_id}").text
    assert button in root.get(f"/posts/{post_id}").text
    assert button not in ann.get(f"/posts/{post_id}").text, "the post's author is not the comment's"
    page = ann.get(f"/posts/{post_id}").text
    assert 'id="delete-post"' in page and 'id="report-form"' not in page
    other = ben.get(f"/posts/{post_id}").text
    assert 'id="delete-post"' not in other and 'id="report-form"' in other
