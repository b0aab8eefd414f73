"""Prometheus metrics, one registry per app.

``Metrics`` holds every metric aptmagic writes. Gauges that describe shared
state (queued and running jobs, today's API requests) are read from the
database at scrape time by ``DatabaseCollector``, so every process reports
the same truth.

Several processes: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty folder shared
by all of them *before they start* (prometheus-client reads it at import).
Each process then writes its samples to files there and a scrape of any one
process's ``/metrics`` (or of the metrics port) adds them all up. Clear the
folder when the service restarts."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
JOB_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800)


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")  # noqa: SIM112  (the older spelling)


class Metrics:
    """Every metric aptmagic writes, registered on a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_requests = Counter(
            "aptmagic_http_requests", "HTTP requests by route template, method and status.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.http_latency = Histogram(
            "aptmagic_http_request_duration_seconds", "Time to answer an HTTP request, by route template.",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=r,
        )  # fmt: skip
        self.jobs_submitted = Counter("aptmagic_jobs_submitted", "Jobs accepted.", ["task", "model"], registry=r)
        self.jobs_finished = Counter(
            "aptmagic_jobs_finished", "Jobs that ended, by final status.", ["task", "model", "status"], registry=r
        )
        self.cache_hits = Counter(
            "aptmagic_job_cache_hits", "Jobs answered from a stored result at submit.", ["task", "model"], registry=r
        )
        self.job_run = Histogram(
            "aptmagic_job_run_seconds", "From a job's last start to its end.", ["task", "model"],
            buckets=JOB_BUCKETS, registry=r,
        )  # fmt: skip
        self.job_queue_wait = Histogram(
            "aptmagic_job_queue_wait_seconds", "From submit to a job's last start.", ["task", "model"],
            buckets=JOB_BUCKETS, registry=r,
        )  # fmt: skip
        self.model_load = Histogram(
            "aptmagic_model_load_seconds", "Time to load a model.", ["model"], buckets=JOB_BUCKETS, registry=r
        )
        self.model_bytes = Gauge(
            "aptmagic_model_loaded_bytes", "Memory of each loaded model (0 once unloaded).", ["model"],
            multiprocess_mode="livesum", registry=r,
        )  # fmt: skip
        self.uploads_refused = Counter(
            "aptmagic_uploads_refused", "Uploads refused, by reason (the error code).", ["reason"], registry=r
        )
        self.webhook_deliveries = Counter(
            "aptmagic_webhook_deliveries", "Job webhook delivery attempts by outcome.", ["outcome"], registry=r
        )
        self.alerts = Counter(
            "aptmagic_alerts", "Alerts sent, by kind, channel and outcome.", ["kind", "channel", "outcome"], registry=r
        )
        self.engine_latency = Histogram(
            "aptmagic_engine_call_seconds", "Time of each call to a model's engine (load included), any outcome.",
            ["model", "backend"], buckets=JOB_BUCKETS, registry=r,
        )  # fmt: skip
        self.engine_errors = Counter(
            "aptmagic_engine_errors", "Failed or refused engine calls, by kind (the error code; "
            "engine_unavailable: refused by an open circuit).", ["model", "backend", "kind"], registry=r,
        )  # fmt: skip
        self.engine_circuit = Gauge(
            "aptmagic_engine_circuit_state", "1 for the state each engine's circuit is in (closed, open, half-open).",
            ["model", "state"], multiprocess_mode="livemax", registry=r,
        )  # fmt: skip
        self.jobs_served = Counter(
            "aptmagic_jobs_served", "Jobs succeeded, by who made the outputs: engine, failover:<model> or "
            "fallback (a stored result).", ["task", "model", "served_from"], registry=r,
        )  # fmt: skip
        self._collectors: list[Collector] = []
        self._http_series: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def http_series(self, method: str, route: str, status: int) -> tuple[Any, Any]:
        """The request counter and latency histogram of one (method, route, status), cached:
        ``labels()`` takes a lock and builds a key on every call."""
        key = (method, route, status)
        series = self._http_series.get(key)
        if series is None:
            series = (self.http_requests.labels(method, route, str(status)), self.http_latency.labels(method, route))
            self._http_series[key] = series
        return series

    def add_collector(self, collector: Collector) -> None:
        """A collector read at scrape time (registered once per app)."""
        self._collectors.append(collector)
        self.registry.register(collector)

    def exposition_registry(self) -> CollectorRegistry:
        if multiprocess_dir() is None:
            return self.registry
        registry = CollectorRegistry()
        MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        for collector in self._collectors:
            registry.register(collector)
        return registry

    def render(self) -> bytes:
        return generate_latest(self.exposition_registry())


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped: jobs queued and running,
    the queue's own depth, and today's API requests."""

    def __init__(self, read: Callable[[], dict[str, float]]) -> None:
        self.read = read

    def describe(self) -> list[Any]:
        return []  # read only when scraped, never at registration

    def collect(self) -> Iterator[GaugeMetricFamily]:
        try:
            values = self.read()
        except Exception:  # a scrape still answers, with the failure as a sample
            log.exception("could not read the database gauges")
            values = {}
        yield GaugeMetricFamily("aptmagic_database_gauges_ok", "1 when the gauges below could be read.",
                                value=1 if values else 0)  # fmt: skip
        docs = {
            "aptmagic_jobs_queued": "Jobs waiting to run (from the database).",
            "aptmagic_jobs_running": "Jobs running now (from the database).",
            "aptmagic_queue_depth": "Ids waiting in the job queue backend.",
            "aptmagic_api_requests_today": "API requests counted so far this UTC day.",
        }
        for name, doc in docs.items():
            if name in values:
                yield GaugeMetricFamily(name, doc, value=values[name])
