"""Alerts POSTed as signed JSON to a configured URL (same signature as job webhooks)."""

from __future__ import annotations

import json

from aptmagic.alerts.base import Alert
from aptmagic.webhooks.client import GuardedPoster
from aptmagic.webhooks.signing import signed_headers


class AlertDeliveryError(RuntimeError):
    pass


class WebhookChannel:
    name = "webhook"

    def __init__(self, url: str, secret: str, poster: GuardedPoster) -> None:
        self.url = url
        self.secret = secret
        self.poster = poster

    def send(self, alert: Alert) -> None:
        body = json.dumps({"type": f"alert.{alert.kind}", "data": alert.as_json()}).encode()
        result = self.poster.post(self.url, body, signed_headers(self.secret, body, f"{alert.kind}:{alert.period}"))
        if not result.ok:
            raise AlertDeliveryError(result.error or "not delivered")
