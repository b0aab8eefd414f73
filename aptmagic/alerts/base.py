"""What an alert is, and the narrow interface every alert channel implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Alert:
    kind: str  # daily_requests, job_failure_rate or queue_depth
    period: str  # the UTC day, or the start of the repeat window
    subject: str
    text: str
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "period": self.period, "subject": self.subject, "text": self.text,
                "details": self.details}  # fmt: skip


class AlertChannel(Protocol):
    name: str  # email, webhook or sns: one alert per (period, kind, name)

    def send(self, alert: Alert) -> None:
        """Deliver the alert or raise."""
        ...
