"""Social payloads as the API takes and shows them."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from aptmagic.social.models import Visibility

TAG_PATTERN = r"^[a-z0-9_-]{1,32}$"
MAX_TAGS = 10
# Line breaks and tabs are kept in long text; other control characters (NUL among them) are refused.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_BREAK = re.compile(r"[\x00-\x1f\x7f]")


def _no_control(text: str) -> str:
    if _CONTROL.search(text):
        raise ValueError("must not contain control characters")
    return text


def _single_line(text: str) -> str:
    if _CONTROL_OR_BREAK.search(text):
        raise ValueError("must be one line without control characters")
    return text


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _dedupe(tags: list[str]) -> list[str]:
    return list(dict.fromkeys(tags))


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120), AfterValidator(_single_line)
]
Caption = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000), AfterValidator(_no_control)]
Tag = Annotated[str, BeforeValidator(_lower), StringConstraints(pattern=TAG_PATTERN)]
Tags = Annotated[list[Tag], Field(max_length=MAX_TAGS), AfterValidator(_dedupe)]
CommentBody = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000), AfterValidator(_no_control)
]
AssetId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


class PostCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"asset_id": "0" * 32, "title": "Lighthouse at dawn", "caption": "",
                                         "tags": ["seascape"], "visibility": "public"}]},
    )  # fmt: skip

    asset_id: AssetId = Field(description="An output of one of your own succeeded jobs.")
    title: Title
    caption: Caption = ""
    tags: Tags = Field(default_factory=list, description="At most 10; each 1-32 of a-z, 0-9, '-', '_' (lower-cased).")
    visibility: Visibility = Visibility.public


class PostUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    caption: Caption | None = None
    tags: Tags | None = None
    visibility: Visibility | None = None


class UserRef(BaseModel):
    id: str
    username: str


class Provenance(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    job_id: str | None
    task: str | None
    model: str | None
    model_version: str | None
    seed: int | None
    params: dict[str, Any]


class PostRead(BaseModel):
    id: str
    author: UserRef
    asset_id: str
    image_url: str
    title: str
    caption: str
    tags: list[str]
    visibility: Visibility
    created_at: datetime
    like_count: int
    comment_count: int
    liked_by_me: bool
    hidden: bool
    hidden_reason: str | None = Field(description="Shown to the author and admins only.")
    provenance: Provenance


class PostPage(BaseModel):
    items: list[PostRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


FeedKind = Literal["newest", "top_day", "top_week", "following"]


class LikeState(BaseModel):
    liked: bool
    like_count: int


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    body: CommentBody


class CommentRead(BaseModel):
    id: str
    post_id: str
    author: UserRef
    body: str
    created_at: datetime


class CommentPage(BaseModel):
    items: list[CommentRead]
    next_cursor: str | None


class ProfileRead(BaseModel):
    id: str
    username: str
    created_at: datetime
    post_count: int
    follower_count: int
    following_count: int
    followed_by_me: bool


class FollowState(BaseModel):
    following: bool
    follower_count: int
