"""Sharing outputs as posts, reading them, changing and deleting them, over HTTP."""

from __future__ import annotations

import httpx

from tests.conftest import LiveServer, create_asset
from tests.social.conftest import User, error_of

POSTS = "/api/v1/posts"


def test_share_and_read(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    asset_id = alice.image("a lighthouse at dawn")
    response = alice.http.post(
        POSTS,
        json={
            "asset_id": asset_id,
            "title": " Dawn ",
            "caption": "first light",
            "tags": ["Sea", "dawn-light", "sea"],
            "visibility": "public",
        },
    )
    assert response.status_code == 201, response.text
    post = response.json()
    assert response.headers["location"] == f"{POSTS}/{post['id']}"
    assert post["author"] == {"id": alice.id, "username": alice.name}
    assert (post["title"], post["caption"], post["tags"]) == ("Dawn", "first light", ["sea", "dawn-light"])
    assert post["image_url"] == f"{POSTS}/{post['id']}/image"
    assert (post["like_count"], post["comment_count"], post["liked_by_me"], post["hidden"]) == (0, 0, False, False)
    assert post["hidden_reason"] is None
    provenance = post["provenance"]
    assert provenance["task"] == "text-to-image" and provenance["model"] == "tiny-sd"
    assert provenance["model_version"] and isinstance(provenance["seed"], int)
    assert provenance["params"]["prompt"] == "a lighthouse at dawn"

    seen = bob.http.get(f"{POSTS}/{post['id']}")
    assert seen.status_code == 200 and seen.json() == post
    image = bob.http.get(post["image_url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content.startswith(b"\x89PNG")
    assert bob.http.get(post["image_url"], headers={"If-None-Match": image.headers["etag"]}).status_code == 304
    assert bob.http.get(f"/api/v1/assets/{asset_id}").status_code == 404  # the raw asset stays owner-only


def test_only_the_owner_of_a_finished_output_can_share_it(make_user: type[User], social_live: LiveServer) -> None:
    alice, bob = make_user(), make_user()
    asset_id = alice.image()
    refused = bob.http.post(POSTS, json={"asset_id": asset_id, "title": "mine now"})
    assert refused.status_code == 404 and error_of(refused)["code"] == "not_found"
    assert bob.http.post(POSTS, json={"asset_id": "f" * 32, "title": "x"}).status_code == 404
    assert bob.http.post(POSTS, json={"asset_id": "../../etc/passwd", "title": "x"}).status_code == 422
    social_live.account = alice.account  # create_asset stores an upload owned by the server's account
    upload = create_asset(social_live, b"\x89PNG not really", "image/png", "image")
    assert alice.http.post(POSTS, json={"asset_id": upload, "title": "an upload"}).status_code == 404


def test_private_posts_answer_404_to_others(make_user: type[User]) -> None:
    alice, bob, admin = make_user(), make_user(), make_user(admin=True)
    post = alice.post(visibility="private", title="just me")
    path = f"{POSTS}/{post['id']}"
    for response in (
        bob.http.get(path), bob.http.get(f"{path}/image"), bob.http.get(f"{path}/comments"),
        bob.http.put(f"{path}/like"), bob.http.delete(f"{path}/like"),
        bob.http.post(f"{path}/comments", json={"body": "hi"}),
        bob.http.post(f"{path}/reports", json={"reason": "spam"}),
        bob.http.patch(path, json={"title": "taken"}), bob.http.delete(path),
    ):  # fmt: skip
        assert response.status_code == 404, (response.request.method, response.request.url, response.text)
        assert error_of(response)["code"] == "not_found"
        assert "just me" not in response.text
    assert alice.http.get(path).status_code == 200
    assert admin.http.get(path).status_code == 200
    assert alice.http.get(f"{path}/image").status_code == 200


def test_unlisted_posts_are_seen_by_link_but_never_listed(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    post = alice.post(visibility="unlisted", tags=["unlisted-only"])
    assert bob.http.get(f"{POSTS}/{post['id']}").status_code == 200
    assert bob.http.get("/api/v1/feed", params={"tag": "unlisted-only"}).json()["items"] == []
    assert bob.http.get(f"/api/v1/users/{alice.name}/posts").json()["items"] == []
    own = alice.http.get(f"/api/v1/users/{alice.name}/posts").json()["items"]
    assert [p["id"] for p in own] == [post["id"]]


def test_author_edits_and_author_or_admin_deletes(make_user: type[User]) -> None:
    alice, bob, admin = make_user(), make_user(), make_user(admin=True)
    asset_id = alice.image()
    post = alice.post(asset_id=asset_id, tags=["old"])
    path = f"{POSTS}/{post['id']}"
    denied = bob.http.patch(path, json={"title": "defaced"})
    assert denied.status_code == 403 and error_of(denied)["code"] == "forbidden"
    changed = alice.http.patch(path, json={"title": "new title", "tags": ["New", "more"], "visibility": "unlisted"})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["title"], body["tags"], body["visibility"], body["caption"]) == (
        "new title",
        ["new", "more"],
        "unlisted",
        "",
    )
    assert alice.http.get("/api/v1/feed", params={"tag": "old"}).json()["items"] == []
    assert alice.http.patch(path, json={"title": ""}).status_code == 422
    assert alice.http.patch(path, json={"visibility": "everyone"}).status_code == 422

    assert bob.http.delete(path).status_code == 403
    assert admin.http.delete(path).status_code == 204
    assert alice.http.get(path).status_code == 404
    events = admin.http.get("/api/v1/admin/audit", params={"action": "post.delete"}).json()["items"]
    assert any(e["target_id"] == post["id"] and e["actor_id"] == admin.id for e in events)

    second = alice.post(asset_id=asset_id)  # the same image may be shared again
    assert alice.http.delete(f"{POSTS}/{second['id']}").status_code == 204
    assert alice.http.delete(f"{POSTS}/{second['id']}").status_code == 404


def test_xss_strings_are_stored_verbatim_and_returned_as_json(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    title = "<script>alert('t')</script>"
    caption = "<img src=x onerror=alert(1)>\n\"quoted\" & 'single' </textarea>"
    post = alice.post(title=title, caption=caption)
    seen = bob.http.get(f"{POSTS}/{post['id']}")
    assert seen.headers["content-type"] == "application/json"
    assert (seen.json()["title"], seen.json()["caption"]) == (title, caption)
    comment = '"><svg onload=alert(document.cookie)>'
    added = bob.http.post(f"{POSTS}/{post['id']}/comments", json={"body": comment})
    assert added.status_code == 201 and added.json()["body"] == comment
    for tag in ("<script>", "a b", "x" * 33, "", "ünïcode", "tag;drop"):
        refused = alice.http.post(POSTS, json={"asset_id": post["asset_id"], "title": "t", "tags": [tag]})
        assert refused.status_code == 422, tag
        assert error_of(refused)["code"] == "validation_error"


def test_xss_usernames_are_refused_at_sign_up(social_live: LiveServer) -> None:
    with httpx.Client(base_url=social_live.url, timeout=30) as anonymous:
        for name in ("<script>x</script>", 'a"onmouseover=1', "<img src=x>"):
            response = anonymous.post("/api/v1/auth/signup",
                                      json={"email": "x@example.com", "username": name, "password": "a long enough pass phrase 9"})  # fmt: skip
            assert response.status_code == 422, name
