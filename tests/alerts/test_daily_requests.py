"""10,000 API requests in a UTC day: no alert; the 10,001st: exactly one per channel
(email to a local SMTP server, a signed webhook, SNS through moto); the next day starts from zero."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from aptmagic.alerts.repository import AlertRepository
from aptmagic.alerts.service import AlertService
from aptmagic.observability.repository import RequestCountRepository
from aptmagic.webhooks import verify
from aptmagic.wiring.observability import Observability
from tests.alerts.conftest import Mailbox, Sns
from tests.conftest import LiveServer, start_server
from tests.jobs.conftest import shared_settings
from tests.webhooks.receiver import Receiver, webhook_receiver

ALERT_SECRET = "alert-secret"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


@pytest.fixture
def alert_live(
    tmp_path: Path, models_dir: Path, mailbox: Mailbox, receiver: Receiver, sns: Sns
) -> Iterator[LiveServer]:
    settings = shared_settings(
        tmp_path, models_dir, worker_concurrency=0, alert_request_flush_seconds=0, alert_daily_requests=10_000,
        alert_email_to="ops@example.com,oncall@example.com", smtp_host=mailbox.host, smtp_port=mailbox.port,
        smtp_security="none", alert_webhook_url=receiver.url, alert_webhook_secret=ALERT_SECRET,
        webhook_allowlist="127.0.0.1/32", alert_sns_topic_arn=sns.topic_arn, alert_check_interval_seconds=3600,
    )  # fmt: skip
    server = start_server(settings)
    yield server
    server.stop()


def obs(live: LiveServer) -> Observability:
    return live.services.observability  # type: ignore[no-any-return]


def seed(live: LiveServer, count: int) -> None:
    """Requests counted as the middleware counts them, without sending them all."""
    obs(live).requests.add(count)
    obs(live).requests.flush()


def api_requests(live: LiveServer, n: int) -> None:
    with httpx.Client(base_url=live.url, headers=live.auth_headers) as client:
        for _ in range(n):
            assert client.get("/api/v1/models").status_code == 200


def today_total(live: LiveServer, day: datetime) -> int:
    with live.services.session_factory() as session:
        return RequestCountRepository(session).day_total(day.date())


def test_the_10001st_request_sends_exactly_one_alert_per_channel(
    alert_live: LiveServer, mailbox: Mailbox, receiver: Receiver, sns: Sns
) -> None:
    now = datetime.now(UTC)
    seed(alert_live, 9_998)
    api_requests(alert_live, 2)
    obs(alert_live).alerts.drain()
    assert today_total(alert_live, now) == 10_000
    assert (mailbox.messages, receiver.requests, sns.messages()) == ([], [], [])

    api_requests(alert_live, 1)
    obs(alert_live).alerts.drain()
    assert today_total(alert_live, now) == 10_001
    assert len(mailbox.messages) == 1
    mail = mailbox.messages[0]
    assert mail["To"] == "ops@example.com, oncall@example.com"
    assert "daily API requests" in mail["Subject"] and "10,001" in mail.get_payload()
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    verify(ALERT_SECRET, sent.headers, sent.body)
    assert json.loads(sent.body)["data"]["details"]["requests"] == 10_001
    published = sns.messages()
    assert len(published) == 1 and json.loads(published[0]["Message"])["kind"] == "daily_requests"

    api_requests(alert_live, 5)
    obs(alert_live).alerts.check()  # the periodic check agrees it has been sent
    obs(alert_live).alerts.drain()
    assert (len(mailbox.messages), len(receiver.requests), len(sns.messages())) == (1, 1, 0)
    with alert_live.services.session_factory() as session:
        rows = AlertRepository(session).sent("daily_requests")
    assert sorted((r.channel, r.status) for r in rows) == [("email", "sent"), ("sns", "sent"), ("webhook", "sent")]


def test_the_next_utc_day_starts_from_zero(
    alert_live: LiveServer, mailbox: Mailbox, receiver: Receiver, sns: Sns
) -> None:
    seed(alert_live, 10_000)
    api_requests(alert_live, 1)
    obs(alert_live).alerts.drain()
    assert len(mailbox.messages) == 1
    tomorrow = datetime.now(UTC) + timedelta(days=1)
    obs(alert_live).requests.clock = lambda: tomorrow
    obs(alert_live).alerts.clock = lambda: tomorrow
    api_requests(alert_live, 1)
    assert today_total(alert_live, tomorrow) == 1
    seed(alert_live, 9_999)
    obs(alert_live).alerts.drain()
    assert len(mailbox.messages) == 1
    api_requests(alert_live, 1)
    obs(alert_live).alerts.drain()
    assert len(mailbox.messages) == 2 and len(receiver.requests) == 2
    assert tomorrow.date().isoformat() in mailbox.messages[1]["X-Aptmagic-Alert"]


def test_several_processes_and_a_restart_never_send_twice(alert_live: LiveServer, mailbox: Mailbox) -> None:
    services = alert_live.services
    first = obs(alert_live).alerts
    seed(alert_live, 10_005)
    first.drain()
    assert len(mailbox.messages) == 1
    # Another process (or this one after a restart) on the same database.
    other = AlertService(services.settings, services.session_factory, first.channels, first.metrics)
    other.requests_counted(datetime.now(UTC).date(), 10_000, 10_001)
    other.check()
    other.stop()
    assert len(mailbox.messages) == 1


def test_a_failing_channel_is_recorded_and_others_still_send(alert_live: LiveServer, mailbox: Mailbox,
                                                            receiver: Receiver) -> None:  # fmt: skip
    receiver.statuses = [500, 500, 500]
    seed(alert_live, 10_001)
    obs(alert_live).alerts.drain()
    assert len(mailbox.messages) == 1
    with alert_live.services.session_factory() as session:
        webhook_row = next(r for r in AlertRepository(session).sent("daily_requests") if r.channel == "webhook")
    assert webhook_row.status == "failed" and "500" in (webhook_row.error or "")
    assert len(receiver.requests) == 3  # retried, then given up
