"""Social logic: sharing outputs as posts, feeds, profiles, likes, comments and follows.

Who sees a post: its author and admins always; anyone signed in while it is
public or unlisted and not hidden. Everyone else is answered 404, as if the
post did not exist."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from aptmagic.assets.models import Asset
from aptmagic.assets.repository import AssetRepository
from aptmagic.auth.errors import Forbidden, Unauthorized
from aptmagic.auth.models import User
from aptmagic.auth.principal import Principal
from aptmagic.auth.service import AuthService
from aptmagic.db.base import utcnow
from aptmagic.jobs.models import Job, JobStatus
from aptmagic.jobs.repository import JobRepository
from aptmagic.kit.blocklist import Blocklist
from aptmagic.kit.errors import InvalidRequest, NotFound
from aptmagic.social import cursor as cursors
from aptmagic.social.models import Comment, Post, Visibility
from aptmagic.social.repository import (
    CommentRepository,
    FollowRepository,
    GoneMeanwhile,
    LikeRepository,
    PostFilters,
    PostRepository,
    UserLookup,
)  # fmt: skip
from aptmagic.social.schemas import (
    FeedKind,
    FollowState,
    LikeState,
    PostCreate,
    PostUpdate,
    ProfileRead,
)

TOP_WINDOWS = {"top_day": timedelta(days=1), "top_week": timedelta(days=7)}
PROMPT_FIELDS = ("prompt", "negative_prompt")
Page = tuple[Sequence[Post], str | None]


def me(viewer: Principal) -> str:
    """The viewer's user id; social actions need a real account (not auth switched off)."""
    if viewer.user_id is None:
        raise Unauthorized("sign in to use posts, likes, comments and follows")
    return viewer.user_id


def can_view(post: Post, viewer: Principal) -> bool:
    if viewer.can_see(post.author_id):
        return True
    return not post.hidden and post.visibility != Visibility.private


class SocialService:
    def __init__(self, blocklist: Blocklist) -> None:
        self.blocklist = blocklist

    # posts

    def share(self, session: Session, viewer: Principal, body: PostCreate) -> Post:
        author_id = me(viewer)
        asset, job = self._own_output(session, body.asset_id, author_id)
        self._check_text(body.title, body.caption, body.tags)
        prompts = {f: job.params.get(f) for f in PROMPT_FIELDS if isinstance(job.params.get(f), str)}
        self.blocklist.check(
            prompts, ("body", "asset_id"), {f: f"the {f.replace('_', ' ')} of this image" for f in prompts}
        )
        post = Post(
            author_id=author_id, asset_id=asset.id, job_id=job.id, title=body.title, caption=body.caption,
            tags=body.tags, visibility=body.visibility, provenance=_provenance(job), created_at=utcnow(), hidden=False,
        )  # fmt: skip
        repo = PostRepository(session)
        repo.add(post)
        session.flush()
        repo.set_tags(post.id, body.tags)
        return post

    def _own_output(self, session: Session, asset_id: str, user_id: str) -> tuple[Asset, Job]:
        asset = AssetRepository(session).get(asset_id)
        job = JobRepository(session).get(asset.source_job_id) if asset and asset.source_job_id else None
        if (
            asset is None or job is None or asset.owner_id != user_id or job.owner_id != user_id
            or asset.kind != "output" or job.status != JobStatus.succeeded
        ):  # fmt: skip
            raise NotFound(f"asset {asset_id!r} not found among the outputs of your finished jobs")
        if asset.media_kind != "image":
            raise InvalidRequest.field(["body", "asset_id"], "only images can be shared as posts")
        return asset, job

    def _check_text(self, title: str | None, caption: str | None, tags: list[str] | None) -> None:
        self.blocklist.check({"title": title, "caption": caption, "tags": tags}, labels={"tags": "a tag"})

    def get(self, session: Session, post_id: str, viewer: Principal) -> Post:
        post = PostRepository(session).get(post_id) if len(post_id) <= 64 else None
        if post is None or not can_view(post, viewer):
            raise NotFound(f"post {post_id!r} not found")
        return post

    def update(self, session: Session, viewer: Principal, post_id: str, body: PostUpdate) -> Post:
        post = self._authored(session, viewer, post_id, admin_too=False)
        self._check_text(body.title, body.caption, body.tags)
        for field in ("title", "caption", "visibility"):
            if (value := getattr(body, field)) is not None:
                setattr(post, field, value)
        if body.tags is not None:
            post.tags = body.tags
            PostRepository(session).set_tags(post.id, body.tags)
        session.flush()
        return post

    def delete(self, session: Session, viewer: Principal, post_id: str, ip: str | None = None) -> None:
        post = self._authored(session, viewer, post_id, admin_too=True)
        if post.author_id != viewer.user_id:
            AuthService.audit(session, "post.delete", actor_id=viewer.user_id, target_type="post", target_id=post.id, ip=ip,
                       details={"author": post.author_id, "title": post.title})  # fmt: skip
        PostRepository(session).delete(post)
        session.flush()

    def _authored(self, session: Session, viewer: Principal, post_id: str, *, admin_too: bool) -> Post:
        post = self.get(session, post_id, viewer)
        if post.author_id != viewer.user_id and not (admin_too and viewer.is_admin):
            raise Forbidden("only the author can change this post" if not admin_too else
                            "only the author or an admin can delete this post")  # fmt: skip
        return post

    def image(self, session: Session, viewer: Principal, post_id: str) -> Asset:
        post = self.get(session, post_id, viewer)
        asset = AssetRepository(session).get(post.asset_id)
        if asset is None:
            raise NotFound(f"the image of post {post_id!r} is gone")
        return asset

    # feeds and profiles

    def feed(self, session: Session, viewer: Principal, kind: FeedKind, cursor: str | None, limit: int,
             tag: str | None) -> Page:  # fmt: skip
        after = cursors.decode(cursor)
        filters = PostFilters(tag=tag, followed_by=me(viewer) if kind == "following" else None)
        repo = PostRepository(session)
        if kind in TOP_WINDOWS:
            if after is not None and after.score is None:
                raise InvalidRequest.field(["query", "cursor"], "this cursor belongs to another feed kind")
            rows = repo.top(filters, utcnow() - TOP_WINDOWS[kind], after, limit + 1)
            more, rows = len(rows) > limit, rows[:limit]
            last = rows[-1] if more and rows else None
            return [p for p, _ in rows], cursors.encode(last[0].created_at, last[0].id, last[1]) if last else None
        return _page(repo.newest(filters, after, limit + 1), limit)

    def user(self, session: Session, username: str) -> User:
        user = UserLookup(session).by_username(username) if len(username) <= 64 else None
        if user is None:
            raise NotFound(f"user {username!r} not found")
        return user

    def profile(self, session: Session, viewer: Principal, username: str) -> ProfileRead:
        user = self.user(session, username)
        follows = FollowRepository(session)
        return ProfileRead(
            id=user.id, username=user.username, created_at=user.created_at,
            post_count=PostRepository(session).count(_profile_filters(user, viewer)),
            follower_count=follows.followers(user.id), following_count=follows.following(user.id),
            followed_by_me=bool(viewer.user_id) and follows.exists(viewer.user_id or "", user.id),
        )  # fmt: skip

    def user_posts(self, session: Session, viewer: Principal, username: str, cursor: str | None, limit: int) -> Page:
        user = self.user(session, username)
        rows = PostRepository(session).newest(_profile_filters(user, viewer), cursors.decode(cursor), limit + 1)
        return _page(rows, limit)

    # likes, comments, follows

    def like(self, session: Session, viewer: Principal, post_id: str, liked: bool) -> LikeState:
        user_id = me(viewer)
        post = self.get(session, post_id, viewer)
        likes = LikeRepository(session)
        if liked:
            try:
                likes.add(post.id, user_id, utcnow())  # the (post, user) key: a second like adds nothing
            except GoneMeanwhile:
                raise NotFound(f"post {post_id!r} not found") from None
        else:
            likes.remove(post.id, user_id)
        return LikeState(liked=liked, like_count=PostRepository(session).counts([post.id])[post.id][0])

    def comments(self, session: Session, viewer: Principal, post_id: str, cursor: str | None, limit: int
                 ) -> tuple[Sequence[Comment], str | None]:  # fmt: skip
        post = self.get(session, post_id, viewer)
        rows = CommentRepository(session).page(post.id, cursors.decode(cursor), limit + 1)
        more, rows = len(rows) > limit, rows[:limit]
        return rows, cursors.encode(rows[-1].created_at, rows[-1].id) if more and rows else None

    def add_comment(self, session: Session, viewer: Principal, post_id: str, body: str) -> Comment:
        author_id = me(viewer)
        post = self.get(session, post_id, viewer)
        self.blocklist.check({"body": body}, labels={"body": "the comment"})
        comment = Comment(post_id=post.id, author_id=author_id, body=body, created_at=utcnow())
        CommentRepository(session).add(comment)
        session.flush()
        return comment

    def delete_comment(self, session: Session, viewer: Principal, comment_id: str, ip: str | None = None) -> None:
        comment = CommentRepository(session).get(comment_id) if len(comment_id) <= 64 else None
        if comment is None:
            raise NotFound(f"comment {comment_id!r} not found")
        self.get(session, comment.post_id, viewer)  # a comment on a post you cannot see does not exist for you
        if comment.author_id != viewer.user_id and not viewer.is_admin:
            raise Forbidden("only the comment's author or an admin can delete it")
        if comment.author_id != viewer.user_id:
            AuthService.audit(session, "comment.delete", actor_id=viewer.user_id, target_type="comment", target_id=comment.id,
                       ip=ip, details={"author": comment.author_id, "post": comment.post_id})  # fmt: skip
        CommentRepository(session).delete(comment)
        session.flush()

    def follow(self, session: Session, viewer: Principal, username: str, following: bool) -> FollowState:
        user_id = me(viewer)
        target = self.user(session, username)
        if target.id == user_id:
            raise InvalidRequest.field(["path", "username"], "you cannot follow yourself")
        follows = FollowRepository(session)
        if following:
            try:
                follows.add(user_id, target.id, utcnow())
            except GoneMeanwhile:
                raise NotFound(f"user {username!r} not found") from None
        else:
            follows.remove(user_id, target.id)
        return FollowState(following=following, follower_count=follows.followers(target.id))


def _profile_filters(user: User, viewer: Principal) -> PostFilters:
    return PostFilters(author_id=user.id, listed_only=user.id != viewer.user_id)


def _page(rows: Sequence[Post], limit: int) -> Page:
    more, rows = len(rows) > limit, rows[:limit]
    return rows, cursors.encode(rows[-1].created_at, rows[-1].id) if more and rows else None


def _provenance(job: Job) -> dict[str, Any]:
    return {"task": job.task, "model": job.model_id, "model_version": job.model_version, "seed": job.seed,
            "params": job.params}  # fmt: skip
