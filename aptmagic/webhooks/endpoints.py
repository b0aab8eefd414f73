"""HTTP route: a job's webhook deliveries, for whoever may see the job."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from aptmagic.api.deps import SessionDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.jobs.deps import JobServiceDep
from aptmagic.kit.errors import ErrorResponse
from aptmagic.webhooks.deps import WebhookServiceDep
from aptmagic.webhooks.schemas import WebhookStatus

router = APIRouter(prefix="/jobs", tags=["jobs"])


@router.get("/{job_id}/webhook-deliveries", response_model=WebhookStatus, responses={404: {"model": ErrorResponse}})
def webhook_deliveries(
    job_id: str, jobs: JobServiceDep, webhooks: WebhookServiceDep, session: SessionDep, principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 100,
) -> WebhookStatus:  # fmt: skip
    """The job's webhook and every delivery attempt, oldest first."""
    jobs.get(session, job_id, principal)  # 404 unless the job is yours (or you are an admin)
    return WebhookStatus.of(*webhooks.status(session, job_id, limit))
