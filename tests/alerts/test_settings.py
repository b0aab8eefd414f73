"""Alert and webhook settings are checked at start-up, not at the first alert."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError

from aptmagic.config import Settings


def test_lists_come_comma_separated_or_as_json(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(alert_email_to="a@x.org, b@y.org", webhook_allowlist='["10.0.0.0/8", "hooks.internal"]')
    assert settings.alert_email_to == ["a@x.org", "b@y.org"]
    assert settings.webhook_allowlist == ["10.0.0.0/8", "hooks.internal"]
    assert settings.alert_daily_requests == 10_000


@pytest.mark.parametrize(
    "overrides,message",
    [({"alert_webhook_url": "http://127.0.0.1:9/x"}, "alert_webhook_url"),
     ({"alert_webhook_url": "file:///etc/passwd"}, "only http and https"),
     ({"alert_email_to": "not-an-address"}, "alert_email_to"),
     ({"alert_sns_topic_arn": "arn:aws:s3:::bucket"}, "alert_sns_topic_arn"),
     ({"alert_daily_requests": 0}, "alert_daily_requests"),
     ({"alert_job_failure_rate": 1.5}, "alert_job_failure_rate"),
     ({"smtp_security": "tls13"}, "smtp_security")],
)  # fmt: skip
def test_bad_alert_settings_are_refused(make_settings: Callable[..., Settings], overrides: dict[str, object],
                                        message: str) -> None:  # fmt: skip
    with pytest.raises(ValidationError, match=message):
        make_settings(**overrides)


def test_the_allowlist_admits_a_private_alert_webhook(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(alert_webhook_url="http://127.0.0.1:9/x", webhook_allowlist="127.0.0.1/32",
                             alert_sns_topic_arn="arn:aws:sns:eu-west-1:123456789012:ops-alerts")  # fmt: skip
    assert settings.alert_webhook_url == "http://127.0.0.1:9/x"


def test_secrets_stay_out_of_the_public_view(make_settings: Callable[..., Settings]) -> None:
    public = make_settings(smtp_password="hunter2", webhook_secret="s3cret", alert_webhook_secret="x").public_dict()
    assert "hunter2" not in str(public) and "s3cret" not in str(public)
