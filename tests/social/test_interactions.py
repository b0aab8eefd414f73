"""Likes (idempotent, also under concurrency), comments, follows and profiles over HTTP."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from aptmagic.social.models import Like
from tests.conftest import LiveServer
from tests.social.conftest import User, error_of

POSTS = "/api/v1/posts"


def like_rows(live: LiveServer, post_id: str) -> int:
    with live.services.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Like).where(Like.post_id == post_id)) or 0)


def test_liking_twice_counts_once(make_user: type[User], social_live: LiveServer) -> None:
    alice, bob, carol = make_user(), make_user(), make_user()
    post = alice.post()
    like = f"{POSTS}/{post['id']}/like"
    assert bob.http.put(like).json() == {"liked": True, "like_count": 1}
    assert bob.http.put(like).json() == {"liked": True, "like_count": 1}
    assert carol.http.put(like).json() == {"liked": True, "like_count": 2}
    seen = bob.http.get(f"{POSTS}/{post['id']}").json()
    assert (seen["like_count"], seen["liked_by_me"]) == (2, True)
    assert alice.http.get(f"{POSTS}/{post['id']}").json()["liked_by_me"] is False
    assert bob.http.delete(like).json() == {"liked": False, "like_count": 1}
    assert bob.http.delete(like).json() == {"liked": False, "like_count": 1}
    assert like_rows(social_live, post["id"]) == 1


def test_concurrent_likes_count_once_per_user(make_user: type[User], social_live: LiveServer) -> None:
    alice = make_user()
    fans = [make_user() for _ in range(4)]
    post = alice.post()
    like = f"{POSTS}/{post['id']}/like"
    calls = [fan.http for fan in fans for _ in range(3)] + [alice.http] * 3
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda http: http.put(like), calls))
    assert all(a.status_code == 200 and a.json()["liked"] for a in answers), [a.text for a in answers]
    final = alice.http.get(f"{POSTS}/{post['id']}").json()["like_count"]
    assert final == 5 == like_rows(social_live, post["id"])
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda http: http.delete(like), calls))
    assert alice.http.get(f"{POSTS}/{post['id']}").json()["like_count"] == 0 == like_rows(social_live, post["id"])


def test_comments_oldest_first_and_deleted_by_author_or_admin(make_user: type[User]) -> None:
    alice, bob, carol, admin = make_user(), make_user(), make_user(), make_user(admin=True)
    post = alice.post()
    comments = f"{POSTS}/{post['id']}/comments"
    made = []
    for i, user in enumerate((bob, carol, bob, alice, carol)):
        response = user.http.post(comments, json={"body": f"  comment {i}  "})
        assert response.status_code == 201, response.text
        made.append(response.json())
    assert made[0]["body"] == "comment 0" and made[0]["author"] == {"id": bob.id, "username": bob.name}
    assert made[0]["post_id"] == post["id"]
    first = bob.http.get(comments, params={"limit": 2}).json()
    second = bob.http.get(comments, params={"limit": 2, "cursor": first["next_cursor"]}).json()
    third = bob.http.get(comments, params={"limit": 2, "cursor": second["next_cursor"]}).json()
    assert [c["id"] for c in first["items"] + second["items"] + third["items"]] == [c["id"] for c in made]
    assert third["next_cursor"] is None
    assert bob.http.get(f"{POSTS}/{post['id']}").json()["comment_count"] == 5

    denied = carol.http.delete(f"/api/v1/comments/{made[0]['id']}")
    assert denied.status_code == 403 and error_of(denied)["code"] == "forbidden"
    assert alice.http.delete(f"/api/v1/comments/{made[0]['id']}").status_code == 403  # the post's author too
    assert bob.http.delete(f"/api/v1/comments/{made[0]['id']}").status_code == 204
    assert admin.http.delete(f"/api/v1/comments/{made[1]['id']}").status_code == 204
    assert bob.http.delete(f"/api/v1/comments/{made[0]['id']}").status_code == 404
    left = bob.http.get(comments).json()["items"]
    assert [c["id"] for c in left] == [c["id"] for c in made[2:]]
    assert bob.http.get(f"{POSTS}/{post['id']}").json()["comment_count"] == 3


def test_comments_on_a_post_made_private_are_404_to_others(make_user: type[User]) -> None:
    alice, bob = make_user(), make_user()
    post = alice.post()
    comment = bob.http.post(f"{POSTS}/{post['id']}/comments", json={"body": "nice"}).json()
    alice.http.patch(f"{POSTS}/{post['id']}", json={"visibility": "private"})
    assert bob.http.delete(f"/api/v1/comments/{comment['id']}").status_code == 404
    assert bob.http.get(f"{POSTS}/{post['id']}/comments").status_code == 404


def test_follow_unfollow_and_profiles(make_user: type[User]) -> None:
    alice, bob, carol = make_user(), make_user(), make_user()
    alice.post(), alice.post(visibility="private")
    follow = f"/api/v1/users/{alice.name}/follow"
    assert bob.http.put(follow).json() == {"following": True, "follower_count": 1}
    assert bob.http.put(follow).json() == {"following": True, "follower_count": 1}
    shouted = carol.http.put(f"/api/v1/users/{alice.name.upper()}/follow")  # usernames match in any case
    assert shouted.json() == {"following": True, "follower_count": 2}
    profile = bob.http.get(f"/api/v1/users/{alice.name}").json()
    assert profile["id"] == alice.id and profile["username"] == alice.name
    assert (profile["post_count"], profile["follower_count"], profile["following_count"]) == (1, 2, 0)
    assert profile["followed_by_me"] is True and profile["created_at"]
    assert alice.http.get(f"/api/v1/users/{alice.name}").json()["post_count"] == 2
    assert alice.http.get(f"/api/v1/users/{bob.name}").json()["following_count"] == 1
    assert bob.http.delete(follow).json() == {"following": False, "follower_count": 1}
    assert bob.http.delete(follow).json() == {"following": False, "follower_count": 1}
    assert bob.http.get(f"/api/v1/users/{alice.name}").json()["followed_by_me"] is False

    myself = alice.http.put(follow)
    assert myself.status_code == 422 and error_of(myself)["code"] == "validation_error"
    assert bob.http.put("/api/v1/users/no-such-user/follow").status_code == 404
    assert bob.http.get("/api/v1/users/no-such-user").status_code == 404


def test_counts_stay_true_when_an_account_is_deleted(make_user: type[User]) -> None:
    alice, bob, admin = make_user(), make_user(), make_user(admin=True)
    post = alice.post()
    bobs = bob.post()
    bob.http.put(f"{POSTS}/{post['id']}/like")
    bob.http.post(f"{POSTS}/{post['id']}/comments", json={"body": "bye"})
    alice.http.put(f"/api/v1/users/{bob.name}/follow")
    assert alice.http.get(f"{POSTS}/{post['id']}").json()["like_count"] == 1
    assert admin.http.delete(f"/api/v1/admin/users/{bob.id}").status_code == 204
    seen = alice.http.get(f"{POSTS}/{post['id']}").json()
    assert (seen["like_count"], seen["comment_count"]) == (0, 0)
    assert alice.http.get(f"{POSTS}/{bobs['id']}").status_code == 404
    assert alice.http.get(f"/api/v1/users/{alice.name}").json()["following_count"] == 0


def test_a_shared_image_keeps_its_job_until_the_post_goes(make_user: type[User]) -> None:
    alice = make_user()
    post = alice.post()
    job_id = post["provenance"]["job_id"]
    refused = alice.http.delete(f"/api/v1/jobs/{job_id}")
    assert refused.status_code == 409, refused.text
    assert alice.http.get(f"{POSTS}/{post['id']}/image").status_code == 200
    assert alice.http.delete(f"{POSTS}/{post['id']}").status_code == 204
    assert alice.http.delete(f"/api/v1/jobs/{job_id}").status_code == 204
