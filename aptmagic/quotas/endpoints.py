"""GET /api/v1/me/usage: the caller's plan, its limits, and what has been used."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from aptmagic.api.deps import SessionDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.kit.errors import ErrorResponse
from aptmagic.kit.plans import Plan
from aptmagic.quotas.deps import QuotaServiceDep


class UsageRead(BaseModel):
    plan: str | None = Field(description="The plan's name; null when authentication is off (no limits).")
    limits: Plan = Field(description="What the plan allows; null means unlimited.")
    used_today: int = Field(description="Jobs submitted since 00:00 UTC, cache hits included.")
    remaining_today: int | None = Field(description="Jobs left today; null: unlimited.")
    running_now: int = Field(description="Jobs queued or running now (what concurrent_jobs limits).")
    resets_at: datetime = Field(description="When the daily count starts again (next 00:00 UTC).")


router = APIRouter(prefix="/me", tags=["auth"])


@router.get("/usage", response_model=UsageRead, responses={401: {"model": ErrorResponse}})
def usage(principal: PrincipalDep, quotas: QuotaServiceDep, session: SessionDep) -> UsageRead:
    """Your plan, its limits, and your usage today (days are UTC)."""
    found = quotas.usage(session, principal)
    daily = found.limits.daily_jobs
    return UsageRead(
        plan=found.plan,
        limits=found.limits,
        used_today=found.used_today,
        remaining_today=None if daily is None else max(0, daily - found.used_today),
        running_now=found.running_now,
        resets_at=found.resets_at,
    )
