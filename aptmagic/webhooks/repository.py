"""Every query on job webhooks and their deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from aptmagic.jobs.models import TERMINAL_STATUSES, Job
from aptmagic.webhooks.models import JobWebhook, WebhookDelivery


class WebhookRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, hook: JobWebhook) -> None:
        self.session.add(hook)

    def due(self, now: datetime, stale_before: datetime, limit: int = 20) -> Sequence[str]:
        """Job ids whose webhook should be (re)tried: the job has ended, and the
        hook is pending and due, or was claimed by a process that never finished."""
        pending = and_(
            JobWebhook.state == "pending",
            or_(JobWebhook.next_attempt_at.is_(None), JobWebhook.next_attempt_at <= now),
        )
        stale = and_(JobWebhook.state == "sending", JobWebhook.next_attempt_at < stale_before)
        query = (
            select(JobWebhook.job_id)
            .join(Job, Job.id == JobWebhook.job_id)
            .where(or_(pending, stale), Job.status.in_([str(s) for s in TERMINAL_STATUSES]))
            .order_by(JobWebhook.next_attempt_at)
            .limit(limit)
        )
        return self.session.scalars(query).all()

    def claim(self, job_id: str, now: datetime, stale_before: datetime) -> JobWebhook | None:
        """Mark the hook as being sent by this process; None when another one has it."""
        claimable = or_(
            JobWebhook.state == "pending",
            and_(JobWebhook.state == "sending", JobWebhook.next_attempt_at < stale_before),
        )
        result = self.session.execute(
            update(JobWebhook)
            .where(JobWebhook.job_id == job_id, claimable)
            .values(state="sending", next_attempt_at=now, attempts=JobWebhook.attempts + 1)
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            return None
        return self.session.get(JobWebhook, job_id, populate_existing=True)

    def finish(self, job_id: str, state: str, next_attempt_at: datetime | None) -> None:
        self.session.execute(
            update(JobWebhook).where(JobWebhook.job_id == job_id).values(state=state, next_attempt_at=next_attempt_at)
        )

    def record(self, delivery: WebhookDelivery) -> None:
        self.session.add(delivery)

    def deliveries(self, job_id: str, limit: int) -> Sequence[WebhookDelivery]:
        query = select(WebhookDelivery).where(WebhookDelivery.job_id == job_id).order_by(WebhookDelivery.id)
        return self.session.scalars(query.limit(limit)).all()

    def hook(self, job_id: str) -> JobWebhook | None:
        return self.session.get(JobWebhook, job_id)
