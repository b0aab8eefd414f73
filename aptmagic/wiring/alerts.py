"""The alert channels the settings configure."""

from __future__ import annotations

from aptmagic.alerts.base import AlertChannel
from aptmagic.alerts.smtp import SmtpChannel
from aptmagic.alerts.sns import SnsChannel
from aptmagic.alerts.webhook import WebhookChannel
from aptmagic.config import Settings
from aptmagic.webhooks.client import GuardedPoster


def build_channels(settings: Settings, poster: GuardedPoster, webhook_secret: str) -> list[AlertChannel]:
    channels: list[AlertChannel] = []
    if settings.alert_email_to:
        channels.append(SmtpChannel(settings))
    if settings.alert_webhook_url:
        secret = settings.alert_webhook_secret.get_secret_value() if settings.alert_webhook_secret else webhook_secret
        channels.append(WebhookChannel(settings.alert_webhook_url, secret, poster))
    if settings.alert_sns_topic_arn:
        channels.append(
            SnsChannel(settings.alert_sns_topic_arn, settings.alert_sns_region, settings.alert_sns_endpoint_url)
        )
    return channels
