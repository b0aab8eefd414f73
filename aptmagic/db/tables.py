"""Imports every table so that the metadata is complete (Alembic, tests)."""

from aptmagic.assets.models import Asset
from aptmagic.db.base import Base
from aptmagic.jobs.models import Job, JobOutput

__all__ = ["Asset", "Base", "Job", "JobOutput"]
