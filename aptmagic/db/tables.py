"""Imports every table so that the metadata is complete (Alembic, tests)."""

from aptmagic.assets.models import Asset
from aptmagic.auth.models import ApiKey, AuditEvent, User, WebSession
from aptmagic.db.base import Base
from aptmagic.jobs.models import Job, JobOutput

__all__ = ["ApiKey", "Asset", "AuditEvent", "Base", "Job", "JobOutput", "User", "WebSession"]
