"""GET /api/v1/admin/queue: queue depth per broker queue and job counts by status."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from aptmagic.auth.deps import AdminDep
from aptmagic.api.deps import ServicesDep, SessionDep
from aptmagic.kit.errors import ErrorResponse
from aptmagic.jobs.models import Job, JobStatus


class QueueStatus(BaseModel):
    backend: str = Field(description="inprocess or celery")
    depth: dict[str, int] = Field(description="Job ids waiting in each queue (not counting those workers hold)")
    jobs: dict[str, int] = Field(description="Jobs queued and running, from the database")


def build_router() -> APIRouter:
    router = APIRouter(prefix="/admin", tags=["admin"])

    @router.get("/queue", response_model=QueueStatus, responses={
        503: {"model": ErrorResponse, "description": "The broker is unavailable"}})  # fmt: skip
    def queue_status(services: ServicesDep, session: SessionDep, _admin: AdminDep) -> QueueStatus:
        """Admins: how many jobs wait in the broker and in the database."""
        depth = services.queue.depths()
        rows = session.execute(
            select(Job.status, func.count())
            .where(Job.status.in_([JobStatus.queued, JobStatus.running]))
            .group_by(Job.status)
        ).all()
        counts = {str(JobStatus.queued): 0, str(JobStatus.running): 0} | {status: int(n) for status, n in rows}
        return QueueStatus(backend=services.settings.queue_backend, depth=depth, jobs=counts)

    return router
