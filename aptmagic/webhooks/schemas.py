"""Webhook payloads as the API shows them."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from aptmagic.webhooks.models import JobWebhook, WebhookDelivery


class DeliveryRead(BaseModel):
    attempt: int
    created_at: datetime
    event: str
    url: str
    status_code: int | None = Field(description="The receiver's HTTP status; null when none came back.")
    outcome: str = Field(description="delivered, retry (another attempt follows), failed, or refused (SSRF guard)")
    error: str | None
    duration_ms: float | None

    @classmethod
    def of(cls, row: WebhookDelivery) -> DeliveryRead:
        return cls(
            attempt=row.attempt, created_at=row.created_at, event=row.event, url=row.url,
            status_code=row.status_code, outcome=row.outcome, error=row.error, duration_ms=row.duration_ms,
        )  # fmt: skip


class WebhookStatus(BaseModel):
    url: str | None = Field(description="The job's webhook_url; null when it has none.")
    state: str | None = Field(description="pending, sending, delivered or failed")
    attempts: int
    deliveries: list[DeliveryRead]

    @classmethod
    def of(cls, hook: JobWebhook | None, rows: list[WebhookDelivery]) -> WebhookStatus:
        return cls(
            url=hook.url if hook else None, state=hook.state if hook else None,
            attempts=hook.attempts if hook else 0, deliveries=[DeliveryRead.of(r) for r in rows],
        )  # fmt: skip
