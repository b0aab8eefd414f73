"""Plan look-up, per-job caps, and the daily and concurrent job limits.

``admit`` runs inside the submit transaction, before the job row is added, so
the count and the insert commit together:

* SQLite: every transaction starts with BEGIN IMMEDIATE, which takes the
  database's write lock, so submits are serialised and count-then-insert is
  atomic.
* PostgreSQL (and other servers): the user's row is read with SELECT ... FOR
  UPDATE first. Two submits of the same user queue on that row lock; under READ
  COMMITTED the second one's counts, read after the lock is granted, see the
  first one's committed job.

Every accepted submission counts against the daily limit, cache hits and jobs
later canceled or failed included. A cache hit is finished at once, so it does
not need (or take) a concurrent slot."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from aptmagic.auth.models import User
from aptmagic.auth.principal import Principal
from aptmagic.auth.service import AuthService
from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.jobs.repository import JobRepository
from aptmagic.kit.errors import AppError, InvalidRequest, NotFound
from aptmagic.kit.plans import PARAM_CAPS, Plan
from aptmagic.quotas.repository import QuotaRepository

CONCURRENT_RETRY_AFTER_SECONDS = 5


class QuotaExceeded(AppError):
    status_code = 429
    code = "quota_exceeded"


@dataclass(frozen=True)
class Usage:
    plan: str | None  # None: no account (authentication is off), no limits
    limits: Plan
    used_today: int
    running_now: int
    resets_at: datetime


def day_start(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def seconds_to_midnight(now: datetime) -> int:
    return max(1, math.ceil((day_start(now) + timedelta(days=1) - now).total_seconds()))


class QuotaService:
    def __init__(self, settings: Settings) -> None:
        self.plans = settings.plans
        self.default_plan = settings.default_plan

    def resolve(self, stored: str | None) -> tuple[str, Plan]:
        """A user's plan; no plan, or one no longer configured, means the default plan."""
        name = stored if stored in self.plans else self.default_plan
        return name, self.plans[name]

    # submit

    def admit(self, session: Session, viewer: Principal | None, params: Any, *, cached: bool) -> None:
        """Refuse the job if it breaks the plan's caps (422) or limits (429). Call before adding the job."""
        if viewer is None or viewer.user_id is None:
            return  # authentication is off: there is no account to hold to a plan
        user = QuotaRepository(session).lock_user(viewer.user_id)
        if user is None:
            return
        name, plan = self.resolve(user.plan)
        self.check_caps(name, plan, params)
        now = utcnow()
        jobs = JobRepository(session)
        if plan.daily_jobs is not None:
            used = jobs.created_since(user.id, day_start(now))
            if used >= plan.daily_jobs:
                wait = seconds_to_midnight(now)
                raise QuotaExceeded(
                    f"daily job limit reached: the {name!r} plan allows {plan.daily_jobs} jobs per UTC day and "
                    f"you have submitted {used} today; it resets at 00:00 UTC, in {wait} seconds",
                    details={"limit": "daily_jobs", "plan": name, "allowed": plan.daily_jobs, "used": used,
                             "retry_after": wait, "resets_at": (day_start(now) + timedelta(days=1)).isoformat()},
                    headers={"Retry-After": str(wait)},
                )  # fmt: skip
        if plan.concurrent_jobs is not None and not cached:
            running = jobs.active(user.id).total
            if running >= plan.concurrent_jobs:
                wait = CONCURRENT_RETRY_AFTER_SECONDS
                raise QuotaExceeded(
                    f"concurrent job limit reached: the {name!r} plan allows {plan.concurrent_jobs} jobs queued "
                    f"or running at once and you have {running}; retry when one has finished",
                    details={"limit": "concurrent_jobs", "plan": name, "allowed": plan.concurrent_jobs,
                             "used": running, "retry_after": wait},
                    headers={"Retry-After": str(wait)},
                )  # fmt: skip

    @staticmethod
    def check_caps(name: str, plan: Plan, params: Any) -> None:
        for field, cap_name in PARAM_CAPS.items():
            cap = getattr(plan, cap_name)
            value = getattr(params, field, None)
            if cap is not None and isinstance(value, int) and value > cap:
                raise InvalidRequest.field(
                    ["body", "params", field],
                    f"{field} is at most {cap} on the {name!r} plan ({cap_name})",
                    "plan_limit",
                )

    # usage and administration

    def usage(self, session: Session, viewer: Principal) -> Usage:
        now = utcnow()
        resets_at = day_start(now) + timedelta(days=1)
        if viewer.user_id is None:
            name, plan = None, Plan(description="Authentication is off: no limits.")
        else:
            user = QuotaRepository(session).user(viewer.user_id)
            name, plan = self.resolve(user.plan if user else None)
        jobs = JobRepository(session)
        used = jobs.created_since(viewer.user_id, day_start(now))
        return Usage(name, plan, used, jobs.active(viewer.user_id).total, resets_at)

    def check_plan_name(self, plan: str | None, loc: list[str | int]) -> None:
        if plan is not None and plan not in self.plans:
            raise InvalidRequest.field(loc, f"unknown plan {plan!r}; plans: {sorted(self.plans)}", "unknown_plan")

    def set_plan(
        self, session: Session, admin: Principal, user_id: str, plan: str | None, *, ip: str | None = None
    ) -> User:
        """``plan`` None puts the user back on the default plan."""
        self.check_plan_name(plan, ["body", "plan"])
        user = QuotaRepository(session).user(user_id) if len(user_id) <= 64 else None
        if user is None:
            raise NotFound(f"user {user_id!r} not found")
        if user.plan != plan:
            old, user.plan = user.plan, plan
            AuthService.audit(session, "user.plan_change", actor_id=admin.user_id, target_type="user",
                              target_id=user.id, ip=ip, details={"from": old, "to": plan})  # fmt: skip
        return user
