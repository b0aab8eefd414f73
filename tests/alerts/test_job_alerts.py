"""Job failure-rate and queue-depth alerts from the periodic checker; the shipped Prometheus rules."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from aptmagic.alerts.base import Alert
from aptmagic.alerts.repository import AlertRepository
from aptmagic.alerts.service import AlertChecker, AlertService
from aptmagic.alerts.sns import SnsChannel, region_of
from aptmagic.config import Settings
from aptmagic.db.base import new_id
from aptmagic.jobs.models import Job
from aptmagic.observability.metrics import Metrics
from aptmagic.wiring.services import Services, build_services
from tests.alerts.conftest import Sns
from tests.jobs.conftest import shared_settings

RULES = Path(__file__).parents[2] / "deploy" / "prometheus" / "alerts.yml"


class Recorder:
    """A channel that keeps what it is given (a test double)."""

    name = "recorder"

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.alerts.append(alert)


@pytest.fixture
def services(tmp_path: Path, models_dir: Path) -> Iterator[Services]:
    settings = shared_settings(tmp_path, models_dir, worker_concurrency=0, alert_job_failure_min_jobs=4,
                               alert_job_failure_rate=0.5, alert_queue_depth=3)  # fmt: skip
    built = build_services(settings)
    from aptmagic.migrations import migrate

    migrate.upgrade(built.engine)
    yield built
    built.engine.dispose()


def add_jobs(services: Services, status: str, count: int, finished: datetime | None = None) -> None:
    with services.session_factory.begin() as session:
        for _ in range(count):
            session.add(Job(id=new_id(), task="text-to-image", model_id="m", model_version="1", params={}, seed=1,
                            status=status, cache_key="k", created_at=datetime.now(UTC), finished_at=finished))  # fmt: skip


def alert_service(services: Services, channel: Recorder, settings: Settings | None = None) -> AlertService:
    return AlertService(settings or services.settings, services.session_factory, [channel], Metrics())


def test_failure_rate_alert_once_per_window(services: Services) -> None:
    recorder = Recorder()
    alerts = alert_service(services, recorder)
    now = datetime.now(UTC)
    add_jobs(services, "failed", 2, now)
    add_jobs(services, "succeeded", 1, now)
    alerts.check()  # 3 ended jobs: too few to judge
    alerts.drain()
    assert recorder.alerts == []
    add_jobs(services, "failed", 1, now)
    add_jobs(services, "succeeded", 2, now - timedelta(hours=2))  # outside the window
    alerts.check()
    alerts.check()
    alerts.drain()
    assert [a.kind for a in recorder.alerts] == ["job_failure_rate"]
    assert recorder.alerts[0].details == {"failed": 3, "finished": 4, "rate": 0.75}
    later = datetime.now(UTC) + timedelta(seconds=services.settings.alert_repeat_seconds)
    alerts.clock = lambda: later  # the next window may alert again
    add_jobs(services, "failed", 4, later)
    alerts.check()
    alerts.drain()
    assert [a.kind for a in recorder.alerts] == ["job_failure_rate", "job_failure_rate"]
    alerts.stop()


def test_a_healthy_rate_does_not_alert(services: Services) -> None:
    recorder = Recorder()
    alerts = alert_service(services, recorder)
    add_jobs(services, "failed", 2, datetime.now(UTC))
    add_jobs(services, "succeeded", 8, datetime.now(UTC))
    alerts.check()
    alerts.drain()
    assert recorder.alerts == []


def test_queue_depth_alert(services: Services) -> None:
    recorder = Recorder()
    alerts = alert_service(services, recorder)
    add_jobs(services, "queued", 3)
    alerts.check()
    alerts.drain()
    assert recorder.alerts == []
    add_jobs(services, "queued", 1)
    alerts.check()
    alerts.drain()
    assert [(a.kind, a.details) for a in recorder.alerts] == [("queue_depth", {"queued": 4})]
    with services.session_factory() as session:
        assert [r.status for r in AlertRepository(session).sent("queue_depth")] == ["sent"]


def test_the_checker_thread_runs_the_checks(services: Services) -> None:
    recorder = Recorder()
    alerts = alert_service(services, recorder)
    add_jobs(services, "queued", 5)
    checker = AlertChecker(alerts, 0.05)
    checker.start()
    deadline = time.monotonic() + 10
    while not recorder.alerts:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    checker.stop()
    alerts.drain()
    assert len(recorder.alerts) == 1


def test_sns_channel_publishes_through_moto(sns: Sns, services: Services) -> None:
    channel = SnsChannel(sns.topic_arn)
    alerts = AlertService(services.settings, services.session_factory, [channel], Metrics())
    add_jobs(services, "queued", 4)
    alerts.check()
    alerts.drain()
    published = sns.messages()
    assert len(published) == 1
    assert published[0]["Subject"] == "[aptmagic] job queue is deep"
    assert '"queue_depth"' in published[0]["Message"]
    assert region_of(sns.topic_arn) == "us-east-1" and region_of("not-an-arn") is None


def test_prometheus_rules_parse_with_the_expected_alerts() -> None:
    rules = yaml.safe_load(RULES.read_text())
    names = {rule["alert"] for group in rules["groups"] for rule in group["rules"]}
    assert {"AptmagicDailyRequestsHigh", "AptmagicJobFailureRateHigh", "AptmagicQueueDeep"} <= names
    exprs = " ".join(rule["expr"] for group in rules["groups"] for rule in group["rules"])
    for metric in ("aptmagic_api_requests_today", "aptmagic_jobs_finished_total", "aptmagic_jobs_queued"):
        assert metric in exprs
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed; the YAML was checked")
    result = subprocess.run(
        ["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
