"""Reports, the admin queue, hiding and unhiding posts: hidden posts leave every feed and answer 404 to others."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.social.conftest import User, error_of

POSTS = "/api/v1/posts"
ADMIN = "/api/v1/admin"


def feed_ids(user: User, **params: str) -> list[str]:
    return [p["id"] for p in user.http.get("/api/v1/feed", params={"limit": 100, **params}).json()["items"]]


def test_report_once_per_user_and_post(make_user: type[User]) -> None:
    alice, bob, carol, admin = make_user(), make_user(), make_user(), make_user(admin=True)
    post = alice.post(title="reported")
    first = bob.http.post(f"{POSTS}/{post['id']}/reports", json={"reason": "spam", "note": "<b>buy now</b>"})
    assert first.status_code == 201, first.text
    report = first.json()
    assert (report["reason"], report["note"], report["status"]) == ("spam", "<b>buy now</b>", "open")
    assert report["post"]["id"] == post["id"] and report["reporter"] == {"id": bob.id, "username": bob.name}
    again = bob.http.post(f"{POSTS}/{post['id']}/reports", json={"reason": "other"})
    assert again.status_code == 200 and again.json()["id"] == report["id"]
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: carol.http.post(f"{POSTS}/{post['id']}/reports", json={"reason": "nsfw"}),
                                range(4)))  # fmt: skip
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1

    queue = admin.http.get(f"{ADMIN}/reports", params={"limit": 100}).json()["items"]
    mine = [r for r in queue if r["post"]["id"] == post["id"]]
    assert sorted(r["reporter"]["id"] for r in mine) == sorted([bob.id, carol.id])
    page = admin.http.get(f"{ADMIN}/reports", params={"limit": 1}).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    assert admin.http.get(f"{ADMIN}/reports", params={"cursor": page["next_cursor"]}).status_code == 200


def test_admin_routes_are_for_admins_only(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    post = alice.post()
    for response in (
        bob.http.get(f"{ADMIN}/reports"),
        bob.http.post(f"{ADMIN}/posts/{post['id']}/hide", json={"reason_code": "spam"}),
        alice.http.post(f"{ADMIN}/posts/{post['id']}/hide", json={"reason_code": "spam"}),
        alice.http.post(f"{ADMIN}/posts/{post['id']}/unhide"),
    ):  # fmt: skip
        assert response.status_code == 403, response.text
        assert error_of(response)["code"] == "forbidden"
    assert bob.http.get(f"{POSTS}/{post['id']}").json()["hidden"] is False


def test_hide_and_unhide(make_user: type[User]) -> None:
    alice, bob, admin = make_user(), make_user(), make_user(admin=True)
    tag = "hidetest"
    post = alice.post(tags=[tag], title="soon hidden")
    path = f"{POSTS}/{post['id']}"
    bob.http.put(f"{path}/like")
    bob.http.put(f"/api/v1/users/{alice.name}/follow")
    comment = bob.http.post(f"{path}/comments", json={"body": "a comment"}).json()
    bob.http.post(f"{path}/reports", json={"reason": "nsfw"})
    for kind in ("newest", "top_day", "top_week", "following"):
        assert post["id"] in feed_ids(bob, kind=kind), kind

    hidden = admin.http.post(f"{ADMIN}/posts/{post['id']}/hide", json={"reason_code": "nsfw", "note": "not here"})
    assert hidden.status_code == 200, hidden.text
    assert (hidden.json()["hidden"], hidden.json()["hidden_reason"]) == (True, "nsfw")

    for response in (
        bob.http.get(path), bob.http.get(f"{path}/image"), bob.http.get(f"{path}/comments"),
        bob.http.put(f"{path}/like"), bob.http.post(f"{path}/comments", json={"body": "x"}),
        bob.http.post(f"{path}/reports", json={"reason": "spam"}), bob.http.delete(f"/api/v1/comments/{comment['id']}"),
    ):  # fmt: skip
        assert response.status_code == 404, (response.request.url, response.text)
        assert "soon hidden" not in response.text and "nsfw" not in response.text
    for kind in ("newest", "top_day", "top_week", "following"):
        assert post["id"] not in feed_ids(bob, kind=kind), kind
        assert post["id"] not in feed_ids(alice, kind=kind), kind
    assert bob.http.get(f"/api/v1/users/{alice.name}/posts").json()["items"] == []
    assert bob.http.get(f"/api/v1/users/{alice.name}").json()["post_count"] == 0

    seen_by_author = alice.http.get(path).json()
    assert (seen_by_author["hidden"], seen_by_author["hidden_reason"]) == (True, "nsfw")
    own = alice.http.get(f"/api/v1/users/{alice.name}/posts").json()["items"]
    assert [(p["id"], p["hidden_reason"]) for p in own] == [(post["id"], "nsfw")]
    assert admin.http.get(path).json()["hidden_reason"] == "nsfw"

    open_reports = admin.http.get(f"{ADMIN}/reports", params={"limit": 100}).json()["items"]
    assert post["id"] not in [r["post"]["id"] for r in open_reports]
    resolved = admin.http.get(f"{ADMIN}/reports", params={"status": "resolved", "limit": 100}).json()["items"]
    assert [r["status"] for r in resolved if r["post"]["id"] == post["id"]] == ["resolved"]
    audit = admin.http.get(f"{ADMIN}/audit", params={"action": "post.hide", "target": post["id"]}).json()["items"]
    assert audit and audit[0]["actor_id"] == admin.id and audit[0]["details"]["reason"] == "nsfw"
    assert audit[0]["details"]["reports_resolved"] == 1

    shown = admin.http.post(f"{ADMIN}/posts/{post['id']}/unhide")
    assert shown.status_code == 200 and shown.json()["hidden"] is False and shown.json()["hidden_reason"] is None
    assert bob.http.get(path).status_code == 200
    assert post["id"] in feed_ids(bob, kind="newest")
    assert admin.http.get(f"{ADMIN}/audit", params={"action": "post.unhide", "target": post["id"]}).json()["items"]


def test_hide_refuses_bad_bodies_and_unknown_posts(make_user: type[User]) -> None:
    alice, admin = make_user(), make_user(admin=True)
    post = alice.post()
    url = f"{ADMIN}/posts/{post['id']}/hide"
    for body in (
        {},
        {"reason_code": "ugly"},
        {"reason_code": "spam", "note": "n" * 501},
        {"reason_code": "spam", "x": 1},
    ):
        assert admin.http.post(url, json=body).status_code == 422, body
    assert admin.http.post(f"{ADMIN}/posts/{'0' * 32}/hide", json={"reason_code": "spam"}).status_code == 404
    assert admin.http.get(f"{ADMIN}/reports", params={"status": "closed"}).status_code == 422
