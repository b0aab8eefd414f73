"""Imports every table so that the metadata is complete (Alembic, tests)."""

from aptmagic.assets.models import Asset
from aptmagic.auth.models import ApiKey, AuditEvent, User, WebSession
from aptmagic.db.base import Base
from aptmagic.jobs.models import Job, JobOutput
from aptmagic.moderation.models import Report
from aptmagic.social.models import Comment, Follow, Like, Post, PostTag

__all__ = ["ApiKey", "Asset", "AuditEvent", "Base", "Job", "JobOutput", "User", "WebSession"]
__all__ += ["Comment", "Follow", "Like", "Post", "PostTag", "Report"]
