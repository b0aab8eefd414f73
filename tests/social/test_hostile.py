"""Malformed, oversized, hostile and unauthenticated requests to the social routes: a 4xx, never a 5xx."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer
from tests.social.conftest import User, error_of

POSTS = "/api/v1/posts"


@pytest.fixture(scope="module")
def target(make_user: type[User]) -> tuple[User, dict]:
    alice = make_user()
    return alice, alice.post(title="target")


def bad_bodies(asset_id: str) -> list[object]:
    ok = {"asset_id": asset_id, "title": "t"}
    return [
        {},
        [],
        "a string",
        None,
        42,
        {**ok, "title": ""},
        {**ok, "title": "   "},
        {**ok, "title": "x" * 121},
        {**ok, "title": "two\nlines"},
        {**ok, "caption": "c" * 2001},
        {**ok, "caption": "nul\x00byte"},
        {**ok, "tags": ["t"] * 11},
        {**ok, "tags": "not-a-list"},
        {**ok, "tags": [1, 2]},
        {**ok, "visibility": "secret"},
        {**ok, "extra": True},
        {**ok, "asset_id": 7},
        {**ok, "title": {"$ne": 1}},
    ]


def test_malformed_post_bodies_are_422(target: tuple[User, dict]) -> None:
    alice, post = target
    for body in bad_bodies(post["asset_id"]):
        response = alice.http.post(POSTS, json=body)
        assert response.status_code == 422, (body, response.text)
        assert error_of(response)["code"] == "validation_error"
    raw = alice.http.post(POSTS, content=b"{not json", headers={"Content-Type": "application/json"})
    assert raw.status_code == 422


def test_oversized_bodies_are_413(target: tuple[User, dict]) -> None:
    alice, post = target
    huge = {"body": "x" * (2 * 1024 * 1024)}
    response = alice.http.post(f"{POSTS}/{post['id']}/comments", json=huge)
    assert response.status_code == 413


def test_malformed_comments_reports_and_queries(target: tuple[User, dict]) -> None:
    alice, post = target
    path = f"{POSTS}/{post['id']}"
    for body in ({}, {"body": ""}, {"body": "   "}, {"body": "b" * 2001}, {"body": "bell\x07"}, {"body": 5}):
        assert alice.http.post(f"{path}/comments", json=body).status_code == 422, body
    for body in ({}, {"reason": "boring"}, {"reason": "spam", "note": "n" * 501}, {"reason": "spam", "x": 1}):
        assert alice.http.post(f"{path}/reports", json=body).status_code == 422, body
    for params in ({"limit": 0}, {"limit": 101}, {"limit": "many"}, {"cursor": "%%%"}, {"cursor": "bm9wZQ"},
                   {"kind": "oldest"}, {"tag": "<b>"}, {"cursor": "x" * 301}):  # fmt: skip
        response = alice.http.get("/api/v1/feed", params=params)
        assert response.status_code == 422, (params, response.text)
    assert alice.http.get(f"{path}/comments", params={"cursor": "garbage!"}).status_code == 422
    assert alice.http.get(f"{POSTS}/{'x' * 500}").status_code == 404
    assert alice.http.get("/api/v1/users/" + "u" * 200).status_code == 404
    assert alice.http.get("/api/v1/users/nobody-here/posts").status_code == 404
    assert alice.http.delete("/api/v1/comments/" + "c" * 100).status_code == 404


def test_every_social_route_needs_authentication(social_live: LiveServer, target: tuple[User, dict]) -> None:
    alice, post = target
    path, user = f"{POSTS}/{post['id']}", f"/api/v1/users/{alice.name}"
    calls = [
        ("POST", POSTS), ("GET", path), ("PATCH", path), ("DELETE", path), ("GET", f"{path}/image"),
        ("GET", "/api/v1/feed"), ("GET", user), ("GET", f"{user}/posts"), ("PUT", f"{path}/like"),
        ("DELETE", f"{path}/like"), ("GET", f"{path}/comments"), ("POST", f"{path}/comments"),
        ("DELETE", "/api/v1/comments/abc"), ("PUT", f"{user}/follow"), ("DELETE", f"{user}/follow"),
        ("POST", f"{path}/reports"), ("GET", "/api/v1/admin/reports"), ("POST", f"/api/v1/admin/posts/{post['id']}/hide"),
        ("POST", f"/api/v1/admin/posts/{post['id']}/unhide"),
    ]  # fmt: skip
    with httpx.Client(base_url=social_live.url, timeout=30) as anonymous:
        for method, url in calls:
            response = anonymous.request(method, url, json={})
            assert response.status_code == 401, (method, url, response.text)
            assert "target" not in response.text
        bad_key = anonymous.get(path, headers={"Authorization": "Bearer amk_not-a-real-key"})
        assert bad_key.status_code == 401


def test_read_only_keys_cannot_write(social_live: LiveServer, target: tuple[User, dict]) -> None:
    from tests.auth.conftest import account, key_client

    _, post = target
    reader = account(social_live, scopes=("read",))
    with key_client(social_live, reader) as http:
        assert http.get(f"{POSTS}/{post['id']}").status_code == 200
        assert http.put(f"{POSTS}/{post['id']}/like").status_code == 403


def test_a_cursor_of_another_feed_kind_is_refused(target: tuple[User, dict], make_user: type[User]) -> None:
    alice, _ = target
    alice.post()
    newest = alice.http.get("/api/v1/feed", params={"limit": 1}).json()["next_cursor"]
    assert newest
    refused = alice.http.get("/api/v1/feed", params={"kind": "top_day", "cursor": newest})
    assert refused.status_code == 422 and error_of(refused)["details"][0]["loc"] == ["query", "cursor"]


def test_browser_sessions_need_the_csrf_token(social_live: LiveServer, target: tuple[User, dict]) -> None:
    from tests.auth.conftest import sign_up

    _, post = target
    client, _ = sign_up(social_live)
    try:
        assert client.put(f"{POSTS}/{post['id']}/like").json()["liked"] is True
        token = client.headers.pop("X-CSRF-Token")
        refused = client.post(f"{POSTS}/{post['id']}/comments", json={"body": "no token"})
        assert refused.status_code == 403 and error_of(refused)["code"] == "csrf_failed"
        client.headers["X-CSRF-Token"] = token
        assert client.post(f"{POSTS}/{post['id']}/comments", json={"body": "with token"}).status_code == 201
    finally:
        client.close()
