"""Posts, their tags, likes and comments, and follows between users."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from aptmagic.db.base import Base, IdMixin, TimestampMixin, UTCDateTime


class Visibility(enum.StrEnum):
    public = "public"  # in feeds and on the author's profile
    unlisted = "unlisted"  # visible to anyone signed in who has the link, never listed
    private = "private"  # the author (and admins) only


class Post(IdMixin, TimestampMixin, Base):
    __tablename__ = "posts"

    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    # RESTRICT: an asset in a post cannot be deleted under it (deleting the job says so).
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="RESTRICT"), index=True)
    job_id: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(120))
    caption: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list, doc="In the author's order; post_tags indexes them.")
    visibility: Mapped[str] = mapped_column(String(16), default=Visibility.public)
    provenance: Mapped[dict[str, Any]] = mapped_column(JSON, doc="task, model, version, seed, params of the job.")
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    hidden_reason: Mapped[str | None] = mapped_column(String(16))
    hidden_by: Mapped[str | None] = mapped_column(String(32))
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_posts_feed", "visibility", "hidden", "created_at", "id"),
        Index("ix_posts_author_created", "author_id", "created_at", "id"),
    )


class PostTag(Base):
    __tablename__ = "post_tags"

    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)

    __table_args__ = (Index("ix_post_tags_tag", "tag", "post_id"),)


class Like(TimestampMixin, Base):
    """One row per (post, user): the primary key is what makes liking idempotent.

    Like and comment counts are counted from the rows when read (an index range per post), never
    kept in a counter that a deleted account's cascade would leave stale."""

    __tablename__ = "post_likes"

    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (
        Index("ix_post_likes_created", "created_at", "post_id"),
        Index("ix_post_likes_user", "user_id"),
    )


class Comment(IdMixin, TimestampMixin, Base):
    __tablename__ = "post_comments"

    post_id: Mapped[str] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    author_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_post_comments_post_created", "post_id", "created_at", "id"),)


class Follow(TimestampMixin, Base):
    __tablename__ = "follows"

    follower_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    followee_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)

    __table_args__ = (Index("ix_follows_followee", "followee_id"),)
