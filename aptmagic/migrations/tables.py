"""Imports every table so that the metadata is complete (Alembic, tests)."""

from aptmagic.alerts.models import AlertSent
from aptmagic.assets.models import Asset
from aptmagic.auth.models import ApiKey, AuditEvent, User, WebSession
from aptmagic.db.base import Base
from aptmagic.jobs.models import IdempotencyKey, Job, JobOutput
from aptmagic.moderation.models import Report
from aptmagic.observability.models import ApiRequestCount, JobTrace
from aptmagic.social.models import Comment, Follow, Like, Post, PostTag
from aptmagic.webhooks.models import JobWebhook, WebhookDelivery

__all__ = [
    "AlertSent",
    "ApiKey",
    "ApiRequestCount",
    "Asset",
    "AuditEvent",
    "Base",
    "Comment",
    "Follow",
    "IdempotencyKey",
    "Job",
    "JobOutput",
    "JobTrace",
    "JobWebhook",
    "Like",
    "Post",
    "PostTag",
    "Report",
    "User",
    "WebSession",
    "WebhookDelivery",
]
