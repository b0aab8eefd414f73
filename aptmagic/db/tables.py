"""Imports every table so that the metadata is complete (Alembic, tests)."""

from aptmagic.assets.models import Asset
from aptmagic.auth.models import ApiKey, AuditEvent, User, WebSession
from aptmagic.db.base import Base
from aptmagic.jobs.idempotency import IdempotencyKey
from aptmagic.jobs.models import Job, JobOutput

__all__ = ["ApiKey", "Asset", "AuditEvent", "Base", "IdempotencyKey", "Job", "JobOutput", "User", "WebSession"]
