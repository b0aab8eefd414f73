"""HTTP routes for posts, feeds, profiles, likes, comments and follows: thin wrappers over SocialService."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from aptmagic.api.deps import SessionDep
from aptmagic.assets.deps import AssetServiceDep
from aptmagic.auth.deps import PrincipalDep, client_ip
from aptmagic.kit.errors import ErrorResponse, InvalidRequest
from aptmagic.social.deps import SocialServiceDep
from aptmagic.social.schemas import (
    TAG_PATTERN,
    CommentCreate,
    CommentPage,
    CommentRead,
    FeedKind,
    FollowState,
    LikeState,
    PostCreate,
    PostPage,
    PostRead,
    PostUpdate,
    ProfileRead,
)  # fmt: skip
from aptmagic.social.views import comment_reads, post_read, post_reads

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "Not yours to change"},
    404: {"model": ErrorResponse, "description": "No such post or user, or not visible to you"},
    422: {"model": ErrorResponse, "description": "Invalid request, or a blocked term (code blocked_content)"},
}
# Shared images may be hidden or deleted later: browsers revalidate every time, by ETag.
REVALIDATE = "private, no-cache"
Cursor = Annotated[str | None, Query(max_length=300, description="next_cursor of the previous page")]
Limit = Annotated[int, Query(ge=1, le=100)]


def _tag(tag: str | None) -> str | None:
    if tag is None or not tag.strip():
        return None
    value = tag.strip().lower()
    if not re.fullmatch(TAG_PATTERN, value):
        raise InvalidRequest.field(["query", "tag"], "1-32 of a-z, 0-9, '-' and '_'")
    return value


router = APIRouter(tags=["social"])


@router.post("/posts", status_code=201, response_model=PostRead, responses=ERRORS)
def create_post(body: PostCreate, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep,
                response: Response) -> PostRead:  # fmt: skip
    """Share an output of one of your own succeeded jobs."""
    post = social.share(session, principal, body)
    response.headers["Location"] = f"/api/v1/posts/{post.id}"
    return post_read(session, post, principal)


@router.get("/posts/{post_id}", response_model=PostRead, responses=ERRORS)
def get_post(post_id: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep) -> PostRead:
    return post_read(session, social.get(session, post_id, principal), principal)


@router.patch("/posts/{post_id}", response_model=PostRead, responses=ERRORS)
def update_post(post_id: str, body: PostUpdate, social: SocialServiceDep, session: SessionDep,
                principal: PrincipalDep) -> PostRead:  # fmt: skip
    """Change the title, caption, tags or visibility of your post."""
    return post_read(session, social.update(session, principal, post_id, body), principal)


@router.delete("/posts/{post_id}", status_code=204, responses=ERRORS)
def delete_post(post_id: str, request: Request, social: SocialServiceDep, session: SessionDep,
                principal: PrincipalDep) -> Response:  # fmt: skip
    """Delete a post (its author or an admin). The image stays in the author's gallery."""
    social.delete(session, principal, post_id, client_ip(request))
    return Response(status_code=204)


@router.get(
    "/posts/{post_id}/image",
    response_class=StreamingResponse,
    responses={
        **ERRORS,
        200: {"content": {"image/png": {}}, "description": "The image"},
        304: {"description": "Not modified"},
    },
)
def get_post_image(post_id: str, social: SocialServiceDep, assets: AssetServiceDep, session: SessionDep,
                   principal: PrincipalDep, if_none_match: Annotated[str | None, Header()] = None) -> Response:  # fmt: skip
    """The post's image, for whoever may see the post."""
    asset = social.image(session, principal, post_id)
    etag = f'"{asset.sha256}"'
    headers = {"ETag": etag, "Cache-Control": REVALIDATE}
    if etag in [tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")]:
        return Response(status_code=304, headers=headers)
    headers["Content-Length"] = str(asset.size_bytes)
    return StreamingResponse(assets.open(asset), media_type=asset.content_type, headers=headers)


@router.get("/feed", response_model=PostPage, responses=ERRORS)
def feed(
    social: SocialServiceDep, session: SessionDep, principal: PrincipalDep, kind: FeedKind = "newest",
    cursor: Cursor = None, limit: Limit = 20, tag: Annotated[str | None, Query(max_length=64)] = None,
) -> PostPage:  # fmt: skip
    """Public posts: newest first; top_day / top_week by likes given in the last day / week (ties newest
    first); following: posts of the people you follow. Hidden and unlisted posts are never listed."""
    posts, next_cursor = social.feed(session, principal, kind, cursor, limit, _tag(tag))
    return PostPage(items=post_reads(session, posts, principal), next_cursor=next_cursor)


@router.get("/users/{username}", response_model=ProfileRead, responses=ERRORS)
def get_profile(username: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep) -> ProfileRead:
    return social.profile(session, principal, username)


@router.get("/users/{username}/posts", response_model=PostPage, responses=ERRORS)
def user_posts(username: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep,
               cursor: Cursor = None, limit: Limit = 20) -> PostPage:  # fmt: skip
    """A user's public posts, newest first; all of your own when it is you."""
    posts, next_cursor = social.user_posts(session, principal, username, cursor, limit)
    return PostPage(items=post_reads(session, posts, principal), next_cursor=next_cursor)


@router.put("/posts/{post_id}/like", response_model=LikeState, responses=ERRORS)
def like(post_id: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep) -> LikeState:
    """Like a post; liking again changes nothing."""
    return social.like(session, principal, post_id, True)


@router.delete("/posts/{post_id}/like", response_model=LikeState, responses=ERRORS)
def unlike(post_id: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep) -> LikeState:
    return social.like(session, principal, post_id, False)


@router.get("/posts/{post_id}/comments", response_model=CommentPage, responses=ERRORS)
def list_comments(post_id: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep,
                  cursor: Cursor = None, limit: Limit = 20) -> CommentPage:  # fmt: skip
    """Oldest first."""
    comments, next_cursor = social.comments(session, principal, post_id, cursor, limit)
    return CommentPage(items=comment_reads(session, comments), next_cursor=next_cursor)


@router.post("/posts/{post_id}/comments", status_code=201, response_model=CommentRead, responses=ERRORS)
def add_comment(post_id: str, body: CommentCreate, social: SocialServiceDep, session: SessionDep,
                principal: PrincipalDep) -> CommentRead:  # fmt: skip
    comment = social.add_comment(session, principal, post_id, body.body)
    return comment_reads(session, [comment])[0]


@router.delete("/comments/{comment_id}", status_code=204, responses=ERRORS)
def delete_comment(comment_id: str, request: Request, social: SocialServiceDep, session: SessionDep,
                   principal: PrincipalDep) -> Response:  # fmt: skip
    """Delete a comment (its author or an admin)."""
    social.delete_comment(session, principal, comment_id, client_ip(request))
    return Response(status_code=204)


@router.put("/users/{username}/follow", response_model=FollowState, responses=ERRORS)
def follow(username: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep) -> FollowState:
    return social.follow(session, principal, username, True)


@router.delete("/users/{username}/follow", response_model=FollowState, responses=ERRORS)
def unfollow(username: str, social: SocialServiceDep, session: SessionDep, principal: PrincipalDep) -> FollowState:
    return social.follow(session, principal, username, False)
