"""Turning rows into the API's payloads, a page at a time (one query per kind, not per post)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from aptmagic.auth.principal import Principal
from aptmagic.social.models import Comment, Post, Visibility
from aptmagic.social.repository import LikeRepository, PostRepository, UserLookup
from aptmagic.social.schemas import (
    CommentRead,
    PostRead,
    Provenance,
    UserRef,
)

DELETED_USER = "[deleted]"


def post_reads(session: Session, posts: Sequence[Post], viewer: Principal) -> list[PostRead]:
    names = UserLookup(session).names({post.author_id for post in posts})
    ids = [p.id for p in posts]
    liked = LikeRepository(session).liked_among(viewer.user_id, ids) if viewer.user_id else set()
    counts = PostRepository(session).counts(ids)
    return [_post_read(post, names, counts[post.id], post.id in liked, viewer) for post in posts]


def post_read(session: Session, post: Post, viewer: Principal) -> PostRead:
    return post_reads(session, [post], viewer)[0]


def _post_read(post: Post, names: dict[str, str], counts: tuple[int, int], liked: bool, viewer: Principal) -> PostRead:
    provenance = post.provenance or {}
    return PostRead(
        id=post.id,
        author=UserRef(id=post.author_id, username=names.get(post.author_id, DELETED_USER)),
        asset_id=post.asset_id,
        image_url=f"/api/v1/posts/{post.id}/image",
        title=post.title,
        caption=post.caption,
        tags=list(post.tags or []),
        visibility=Visibility(post.visibility),
        created_at=post.created_at,
        like_count=counts[0],
        comment_count=counts[1],
        liked_by_me=liked,
        hidden=post.hidden,
        hidden_reason=post.hidden_reason if viewer.can_see(post.author_id) else None,
        provenance=Provenance(
            job_id=post.job_id,
            task=provenance.get("task"),
            model=provenance.get("model"),
            model_version=provenance.get("model_version"),
            seed=provenance.get("seed"),
            params=dict(provenance.get("params") or {}),
        ),
    )


def comment_reads(session: Session, comments: Sequence[Comment]) -> list[CommentRead]:
    names = UserLookup(session).names({c.author_id for c in comments})
    return [
        CommentRead(
            id=c.id,
            post_id=c.post_id,
            author=UserRef(id=c.author_id, username=names.get(c.author_id, DELETED_USER)),
            body=c.body,
            created_at=c.created_at,
        )
        for c in comments
    ]
