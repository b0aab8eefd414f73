"""GET /api/v1/admin/queue: queue depth per broker queue and job counts by status."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aptmagic.api.deps import SessionDep, SettingsDep
from aptmagic.auth.deps import AdminDep
from aptmagic.jobs.deps import QueueDep
from aptmagic.jobs.repository import JobRepository
from aptmagic.kit.errors import ErrorResponse


class QueueStatus(BaseModel):
    backend: str = Field(description="inprocess or celery")
    depth: dict[str, int] = Field(description="Job ids waiting in each queue (not counting those workers hold)")
    jobs: dict[str, int] = Field(description="Jobs queued and running, from the database")


router = APIRouter(prefix="/admin", tags=["admin"])


@router.get("/queue", response_model=QueueStatus, responses={
    503: {"model": ErrorResponse, "description": "The broker is unavailable"}})  # fmt: skip
def queue_status(queue: QueueDep, settings: SettingsDep, session: SessionDep, _admin: AdminDep) -> QueueStatus:
    """Admins: how many jobs wait in the broker and in the database."""
    depth = queue.depths()
    jobs = JobRepository(session).active().by_status()
    return QueueStatus(backend=settings.queue_backend, depth=depth, jobs=jobs)
