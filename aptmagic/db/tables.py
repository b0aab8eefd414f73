"""Imports every table so that the metadata is complete (Alembic, tests)."""

from aptmagic.alerts.models import AlertSent
from aptmagic.assets.models import Asset
from aptmagic.auth.models import ApiKey, AuditEvent, User, WebSession
from aptmagic.db.base import Base
from aptmagic.jobs.models import Job, JobOutput
from aptmagic.observability.models import ApiRequestCount, JobTrace
from aptmagic.webhooks.models import JobWebhook, WebhookDelivery

__all__ = [
    "AlertSent", "ApiKey", "ApiRequestCount", "Asset", "AuditEvent", "Base", "Job", "JobOutput", "JobTrace",
    "JobWebhook", "User", "WebSession", "WebhookDelivery",
]
