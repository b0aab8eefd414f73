"""Alert decisions and sending.

``raise_alert`` claims a row per channel in ``alerts_sent`` (unique on period,
kind and channel) before sending, so several processes and restarts never
send one alert twice. Sends run on a background thread with a few retries.
``AlertChecker`` re-evaluates every condition periodically."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker
from tenacity import retry, stop_after_attempt, wait_exponential

from aptmagic.alerts.base import Alert, AlertChannel
from aptmagic.alerts.repository import AlertRepository
from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.jobs.models import JobStatus
from aptmagic.jobs.repository import JobRepository
from aptmagic.observability.metrics import Metrics
from aptmagic.observability.repository import RequestCountRepository

log = logging.getLogger(__name__)
SEND_ATTEMPTS = 3


class AlertService:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        channels: Sequence[AlertChannel],
        metrics: Metrics,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self.channels = list(channels)
        self.metrics = metrics
        self.clock = clock
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="alerts")
        self._futures: list[Future[None]] = []
        self._lock = threading.Lock()

    # conditions

    def requests_counted(self, day: date, before: int, after: int) -> None:
        """Called after each write of the request count: fires once, when the threshold is passed."""
        threshold = self.settings.alert_daily_requests
        if before <= threshold < after:
            self.raise_alert(daily_requests_alert(day, after, threshold))

    def check(self) -> None:
        """Every condition, from the database."""
        now = self.clock()
        with self.session_factory() as session:
            today = RequestCountRepository(session).day_total(now.date())
            jobs = JobRepository(session)
            finished = jobs.finished_since(now - timedelta(seconds=self.settings.alert_job_failure_window_seconds))
            queued = jobs.active().queued
        if today > self.settings.alert_daily_requests:
            self.raise_alert(daily_requests_alert(now.date(), today, self.settings.alert_daily_requests))
        failed, total = finished.get(JobStatus.failed, 0), sum(finished.values())
        rate = failed / total if total else 0.0
        if total >= self.settings.alert_job_failure_min_jobs and rate > self.settings.alert_job_failure_rate:
            self.raise_alert(self._failure_alert(now, failed, total, rate))
        if queued > self.settings.alert_queue_depth:
            self.raise_alert(self._queue_alert(now, queued))

    def _window(self, now: datetime) -> str:
        seconds = self.settings.alert_repeat_seconds
        start = datetime.fromtimestamp(now.timestamp() // seconds * seconds, UTC)
        return start.isoformat(timespec="seconds")

    def _failure_alert(self, now: datetime, failed: int, total: int, rate: float) -> Alert:
        window = self.settings.alert_job_failure_window_seconds
        text = (f"{failed} of {total} jobs that ended in the last {window:.0f} s failed ({rate:.0%}); "
                f"the threshold is {self.settings.alert_job_failure_rate:.0%}.")  # fmt: skip
        details = {"failed": failed, "finished": total, "rate": round(rate, 4)}
        return Alert("job_failure_rate", self._window(now), "job failure rate is high", text, details)

    def _queue_alert(self, now: datetime, queued: int) -> Alert:
        text = f"{queued} jobs are queued; the threshold is {self.settings.alert_queue_depth}."
        return Alert("queue_depth", self._window(now), "job queue is deep", text, {"queued": queued})

    # sending

    def raise_alert(self, alert: Alert) -> None:
        for channel in self.channels:
            with self.session_factory.begin() as session:
                alert_id = AlertRepository(session).claim(alert.period, alert.kind, channel.name, alert.text)
            if alert_id is not None:
                log.warning("alert", extra={"kind": alert.kind, "channel": channel.name, "period": alert.period})
                with self._lock:
                    self._futures.append(self._executor.submit(self._send, channel, alert, alert_id))

    def _send(self, channel: AlertChannel, alert: Alert, alert_id: int) -> None:
        send = retry(
            stop=stop_after_attempt(SEND_ATTEMPTS), wait=wait_exponential(multiplier=0.5, max=10), reraise=True
        )(channel.send)
        status, error = "sent", None
        try:
            send(alert)
        except Exception as exc:  # any failure is recorded on the alert row
            status, error = "failed", f"{type(exc).__name__}: {exc}"[:1000]
            log.error("alert not sent", extra={"kind": alert.kind, "channel": channel.name, "error": error})
        self.metrics.alerts.labels(alert.kind, channel.name, status).inc()
        with self.session_factory.begin() as session:
            AlertRepository(session).finish(alert_id, status, error)

    def drain(self, timeout: float = 30.0) -> None:
        """Wait for the sends started so far (tests, shutdown)."""
        with self._lock:
            futures, self._futures = self._futures, []
        for future in futures:
            future.result(timeout)

    def stop(self) -> None:
        self.drain()
        self._executor.shutdown(wait=True)


def daily_requests_alert(day: date, count: int, threshold: int) -> Alert:
    text = f"aptmagic has answered {count:,} API requests on {day.isoformat()} (UTC), more than the threshold of {threshold:,}."
    details = {"day": day.isoformat(), "requests": count, "threshold": threshold}
    return Alert("daily_requests", day.isoformat(), "daily API requests passed the threshold", text, details)


class AlertChecker:
    """Runs ``AlertService.check`` every ``interval`` seconds on a daemon thread."""

    def __init__(self, alerts: AlertService, interval: float) -> None:
        self.alerts = alerts
        self.interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="alert-checker", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.alerts.check()
            except Exception:
                log.exception("alert check failed")

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
