"""Feeds: newest, top of the day and week, following, tags and cursor pagination.

Each test tags its posts with a tag of its own and reads the feed filtered by it, so that
the posts of the other tests on the module's server do not get in the way."""

from __future__ import annotations

import itertools
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from aptmagic.db.base import utcnow
from aptmagic.social.models import Like
from tests.conftest import LiveServer
from tests.social.conftest import User

FEED = "/api/v1/feed"
_tags = itertools.count()


def fresh_tag() -> str:
    return f"feedtest-{next(_tags)}"


def read_all(user: User, **params: Any) -> list[str]:
    ids: list[str] = []
    cursor = None
    for _ in range(50):
        response = user.http.get(FEED, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        if not (cursor := page["next_cursor"]):
            return ids
    raise AssertionError("the feed never ended")


def test_newest_first_with_cursor_pages(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    tag = fresh_tag()
    asset_id = alice.image()
    posts = [alice.post(asset_id=asset_id, tags=[tag], title=f"p{i}") for i in range(5)]
    alice.post(asset_id=asset_id, tags=[tag], visibility="private")
    alice.post(asset_id=asset_id, tags=[tag], visibility="unlisted")
    assert read_all(bob, tag=tag, limit=2) == [p["id"] for p in reversed(posts)]
    assert read_all(bob, tag=tag.upper()) == [p["id"] for p in reversed(posts)]
    first = bob.http.get(FEED, params={"tag": tag, "limit": 5}).json()
    assert len(first["items"]) == 5 and first["next_cursor"] is None
    newest = bob.http.get(FEED, params={"limit": 1}).json()["items"]
    assert newest[0]["id"] == posts[-1]["id"]  # the unfiltered feed is newest first too


def test_top_of_the_day_and_week_by_likes_in_the_window(make_user: type[User], social_live: LiveServer) -> None:
    alice = make_user()
    fans = [make_user() for _ in range(3)]
    tag = fresh_tag()
    asset_id = alice.image()
    one, three, none, two_a, two_b = (alice.post(asset_id=asset_id, tags=[tag]) for _ in range(5))
    for post, count in ((one, 1), (three, 3), (two_a, 2), (two_b, 2)):
        for fan in fans[:count]:
            assert fan.http.put(f"/api/v1/posts/{post['id']}/like").status_code == 200
    expected = [three["id"], two_b["id"], two_a["id"], one["id"]]  # ties: newest first; no likes: not listed
    assert read_all(alice, kind="top_day", tag=tag) == expected
    assert read_all(alice, kind="top_day", tag=tag, limit=1) == expected
    assert read_all(alice, kind="top_week", tag=tag, limit=3) == expected
    assert none["id"] not in read_all(alice, kind="top_week", tag=tag)

    with social_live.services.session_factory.begin() as session:  # the likes of `three` move back three days
        session.execute(update(Like).where(Like.post_id == three["id"]).values(created_at=utcnow() - timedelta(days=3)))
    assert read_all(alice, kind="top_day", tag=tag) == expected[1:]
    assert read_all(alice, kind="top_week", tag=tag) == expected


def test_following_feed(make_user: type[User]) -> None:
    alice, bob, carol = make_user(), make_user(), make_user()
    tag = fresh_tag()
    mine = alice.post(tags=[tag])
    alice.post(tags=[tag], visibility="unlisted")
    carols = carol.post(tags=[tag])
    assert read_all(bob, kind="following") == []
    bob.http.put(f"/api/v1/users/{alice.name}/follow")
    assert read_all(bob, kind="following") == [mine["id"]]
    bob.http.put(f"/api/v1/users/{carol.name}/follow")
    assert read_all(bob, kind="following", tag=tag) == [carols["id"], mine["id"]]
    bob.http.delete(f"/api/v1/users/{alice.name}/follow")
    assert read_all(bob, kind="following") == [carols["id"]]


def test_profile_posts(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    asset_id = alice.image()
    public = [alice.post(asset_id=asset_id) for _ in range(3)]
    private = alice.post(asset_id=asset_id, visibility="private")
    url = f"/api/v1/users/{alice.name}/posts"
    first = bob.http.get(url, params={"limit": 2}).json()
    rest = bob.http.get(url, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [p["id"] for p in first["items"] + rest["items"]] == [p["id"] for p in reversed(public)]
    assert rest["next_cursor"] is None
    own = alice.http.get(url).json()["items"]
    assert [p["id"] for p in own] == [private["id"]] + [p["id"] for p in reversed(public)]
