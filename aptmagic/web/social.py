"""Social pages: the feed, a post with its comments, and a user's profile.

They read through the social service with the viewer's principal, so a post the
viewer may not see (private, or hidden by a moderator) is a 404 page here too."""

from __future__ import annotations

import re
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from aptmagic.api.deps import SessionDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.kit.errors import InvalidRequest, NotFound
from aptmagic.social.deps import SocialServiceDep
from aptmagic.social.schemas import TAG_PATTERN, FeedKind
from aptmagic.social.views import comment_reads, post_read, post_reads
from aptmagic.web.render import PAGES

FEED_LIMIT = 24
COMMENTS_LIMIT = 100
FEED_KINDS: tuple[str, ...] = get_args(FeedKind)
FEED_TABS = (("newest", "Newest"), ("top_day", "Top today"), ("top_week", "Top this week"), ("following", "Following"))
REPORT_REASONS = ("spam", "nsfw", "harassment", "illegal", "other")


def clean_tag(tag: str | None) -> str | None:
    value = (tag or "").strip().lower()
    return value if re.fullmatch(TAG_PATTERN, value) else None


router = APIRouter(include_in_schema=False)


@router.get("/feed", response_class=HTMLResponse)
def feed(
    request: Request, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep,
    kind: Annotated[str, Query(max_length=16)] = "newest",
    tag: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:  # fmt: skip
    kind = kind if kind in FEED_KINDS else "newest"
    chosen = clean_tag(tag)
    error = None
    try:
        posts, next_cursor = social.feed(session, principal, kind, cursor, FEED_LIMIT, chosen)  # type: ignore[arg-type]
    except InvalidRequest:
        error = "That page link is broken; showing the first page."
        posts, next_cursor = social.feed(session, principal, kind, None, FEED_LIMIT, chosen)  # type: ignore[arg-type]
    return PAGES.render(
        request, "feed.html", principal, active="feed", title="Feed", tabs=FEED_TABS, kind=kind, tag=chosen,
        posts=post_reads(session, posts, principal), next_cursor=next_cursor, error=error, limit=FEED_LIMIT,
    )  # fmt: skip


@router.get("/posts/{post_id}", response_class=HTMLResponse)
def post_page(
    post_id: str, request: Request, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    try:
        post = social.get(session, post_id, principal)
        comments, more = social.comments(session, principal, post.id, None, COMMENTS_LIMIT)
    except NotFound:
        return PAGES.not_found(request, principal, "post")
    read = post_read(session, post, principal)
    return PAGES.render(
        request, "post.html", principal, active="feed", title=read.title, post=read,
        comments=comment_reads(session, comments), more_comments=more, reasons=REPORT_REASONS,
        mine=read.author.id == principal.user_id, remix_url=remix_url(read, principal.user_id),
    )  # fmt: skip


@router.get("/u/{username}", response_class=HTMLResponse)
def profile(
    username: str, request: Request, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:  # fmt: skip
    try:
        found = social.profile(session, principal, username)
        try:
            posts, next_cursor = social.user_posts(session, principal, username, cursor, FEED_LIMIT)
        except InvalidRequest:
            posts, next_cursor = social.user_posts(session, principal, username, None, FEED_LIMIT)
    except NotFound:
        return PAGES.not_found(request, principal, "user")
    return PAGES.render(
        request, "profile.html", principal, active="profile", title=found.username, profile=found,
        posts=post_reads(session, posts, principal), next_cursor=next_cursor,
        mine=found.id == principal.user_id, limit=FEED_LIMIT,
    )  # fmt: skip


def remix_url(post: Any, viewer_id: str | None) -> str:
    """The author remixes their own job (its source file included); others remix the post's params."""
    if post.author.id == viewer_id and post.provenance.job_id:
        return f"/?remix={post.provenance.job_id}"
    return f"/?post={post.id}"
