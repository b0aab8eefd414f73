"""Everything observability runs, built once at start-up by ``build_services``."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from prometheus_client import start_http_server
from sqlalchemy.orm import Session, sessionmaker

from aptmagic.alerts.service import AlertChecker, AlertService
from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.circuit import EngineCircuits
from aptmagic.jobs.repository import JobRepository
from aptmagic.kit.ssrf import Allowlist
from aptmagic.observability.counter import RequestCounter
from aptmagic.observability.engines import EngineMetrics
from aptmagic.observability.jobs import JobObserver, model_cache_hooks
from aptmagic.observability.metrics import DatabaseCollector, Metrics
from aptmagic.observability.repository import RequestCountRepository
from aptmagic.queue.base import JobQueue
from aptmagic.shared_state.events import JobEventBus
from aptmagic.webhooks.client import GuardedPoster
from aptmagic.webhooks.service import WebhookService, webhook_secret
from aptmagic.wiring.alerts import build_channels

log = logging.getLogger(__name__)


@dataclass
class Observability:
    settings: Settings
    metrics: Metrics
    requests: RequestCounter
    alerts: AlertService
    checker: AlertChecker
    webhooks: WebhookService
    jobs: JobObserver
    _metrics_server: Any = None

    def start(self) -> None:
        self.requests.start()
        self.checker.start()
        self.webhooks.start()
        if self.settings.metrics_port is not None:
            registry = self.metrics.exposition_registry()
            self._metrics_server, _ = start_http_server(
                self.settings.metrics_port, addr=self.settings.metrics_host, registry=registry
            )
            log.info("metrics port open", extra={"port": self.settings.metrics_port})

    def stop(self) -> None:
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()
        self.checker.stop()
        self.requests.stop()
        self.webhooks.stop()
        self.alerts.stop()


def _database_gauges(session_factory: sessionmaker[Session], queue: JobQueue) -> dict[str, float]:
    with session_factory() as session:
        active = JobRepository(session).active()
        today = RequestCountRepository(session).day_total(utcnow().date())
    return {
        "aptmagic_jobs_queued": active.queued,
        "aptmagic_jobs_running": active.running,
        "aptmagic_queue_depth": queue.depth(),
        "aptmagic_api_requests_today": today,
    }


def build_observability(
    settings: Settings,
    session_factory: sessionmaker[Session],
    events: JobEventBus,
    models: ModelCache,
    queue: JobQueue,
    metrics: Metrics | None = None,
) -> Observability:
    metrics = metrics or Metrics()
    metrics.add_collector(DatabaseCollector(lambda: _database_gauges(session_factory, queue)))
    poster = GuardedPoster(Allowlist.parse(settings.webhook_allowlist), settings.webhook_timeout_seconds)
    secret = webhook_secret(settings)
    alerts = AlertService(settings, session_factory, build_channels(settings, poster, secret), metrics)
    requests = RequestCounter(session_factory, settings.alert_request_flush_seconds, alerts.requests_counted)
    webhooks = WebhookService(settings, session_factory, poster, metrics)
    observer = JobObserver(session_factory, metrics, webhooks)
    events.add_listener(observer.on_event)
    models.on_load, models.on_unload = model_cache_hooks(metrics)
    checker = AlertChecker(alerts, settings.alert_check_interval_seconds)
    return Observability(settings, metrics, requests, alerts, checker, webhooks, observer)


def engine_metrics(metrics: Metrics, circuits: EngineCircuits) -> EngineMetrics:
    """The runner's engine observer, also told of every circuit's changes."""
    engines = EngineMetrics(metrics)
    circuits.on_change = engines.circuit_changed
    return engines
