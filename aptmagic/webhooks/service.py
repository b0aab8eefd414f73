"""Job webhooks: accept a callback URL at submit, deliver a signed payload when
the job ends, retry with exponential backoff, record every attempt.

Delivery runs on one background thread per process, off the request and job
paths. Its state lives in ``job_webhooks``: a hook is claimed with a
conditional UPDATE, so processes never deliver the same attempt twice, and
pending hooks survive restarts. The signing secret is one for the whole
server (``webhook_secret``, by default derived from ``secret_key``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.db.session import after_commit
from aptmagic.jobs.models import Job, JobStatus
from aptmagic.jobs.repository import JobRepository
from aptmagic.jobs.runner import RetryPolicy
from aptmagic.jobs.schemas import JobRead
from aptmagic.kit.errors import InvalidRequest
from aptmagic.kit.ssrf import UrlRefused, check_url
from aptmagic.observability.metrics import Metrics
from aptmagic.webhooks.client import GuardedPoster, PostResult
from aptmagic.webhooks.models import JobWebhook, WebhookDelivery
from aptmagic.webhooks.repository import WebhookRepository
from aptmagic.webhooks.signing import signed_headers

log = logging.getLogger(__name__)
POLL_SECONDS = 2.0
STALE_CLAIM_MARGIN = timedelta(seconds=60)


def webhook_secret(settings: Settings) -> str:
    if settings.webhook_secret is not None:
        return settings.webhook_secret.get_secret_value()
    key = settings.secret_key.get_secret_value().encode()
    return hmac.new(key, b"aptmagic webhook signing", hashlib.sha256).hexdigest()


class WebhookService:
    def __init__(
        self,
        settings: Settings,
        session_factory: sessionmaker[Session],
        poster: GuardedPoster,
        metrics: Metrics,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session_factory = session_factory
        self.poster = poster
        self.metrics = metrics
        self.clock = clock
        self.secret = webhook_secret(settings)
        self.max_attempts = settings.webhook_max_attempts
        self.retry = RetryPolicy(settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds)
        self.stale_after = timedelta(seconds=settings.webhook_timeout_seconds) + STALE_CLAIM_MARGIN
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # submit side

    def attach(self, session: Session, job: Job, url: str) -> None:
        """Keep the job's callback URL; 422 when the URL may not be called."""
        try:
            check_url(url, self.poster.allow)
        except UrlRefused as exc:
            raise InvalidRequest.field(["body", "webhook_url"], str(exc), "webhook_url_refused") from None
        WebhookRepository(session).add(JobWebhook(job_id=job.id, url=url, created_at=utcnow()))
        if JobStatus(job.status).is_terminal:  # answered from the cache: deliver now
            after_commit(session, self.wake)

    @staticmethod
    def status(session: Session, job_id: str, limit: int) -> tuple[JobWebhook | None, list[WebhookDelivery]]:
        """The job's hook (None without one) and its attempts, oldest first."""
        repo = WebhookRepository(session)
        return repo.hook(job_id), list(repo.deliveries(job_id, limit))

    # delivery side

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(POLL_SECONDS)
            self._wake.clear()
            try:
                while not self._stop.is_set() and self.deliver_due():
                    pass
            except Exception:
                log.exception("webhook delivery loop failed")

    def deliver_due(self) -> int:
        """One attempt for each due hook (a batch); the number attempted."""
        now = self.clock()
        with self.session_factory() as session:
            due = WebhookRepository(session).due(now, now - self.stale_after)
        return sum(self.deliver(job_id) for job_id in due)

    def deliver(self, job_id: str) -> bool:
        now = self.clock()
        with self.session_factory.begin() as session:
            hook = WebhookRepository(session).claim(job_id, now, now - self.stale_after)
            if hook is None:
                return False
            url, attempt = hook.url, hook.attempts
            job = JobRepository(session).get(job_id)
            assert job is not None  # the FK cascades: a hook never outlives its job
            event = f"job.{job.status}"
            body = json.dumps({"type": event, "data": JobRead.of(job).model_dump(mode="json")}).encode()
        result = self.poster.post(url, body, signed_headers(self.secret, body, f"{job_id}.{event}"))
        self._record(job_id, attempt, url, event, result)
        return True

    def _record(self, job_id: str, attempt: int, url: str, event: str, result: PostResult) -> None:
        if result.ok:
            outcome, state, next_at = "delivered", "delivered", None
        elif result.refused or attempt >= self.max_attempts:
            outcome, state, next_at = ("refused" if result.refused else "failed"), "failed", None
        else:
            delay = self.retry.delay(attempt)
            outcome, state, next_at = "retry", "pending", self.clock() + timedelta(seconds=delay)
        self.metrics.webhook_deliveries.labels(outcome).inc()
        with self.session_factory.begin() as session:
            repo = WebhookRepository(session)
            repo.record(
                WebhookDelivery(
                    job_id=job_id, attempt=attempt, url=url, event=event, status_code=result.status_code,
                    outcome=outcome, error=result.error, duration_ms=result.duration_ms, created_at=utcnow(),
                )
            )  # fmt: skip
            repo.finish(job_id, state, next_at)
        log.info("webhook attempt", extra={"job_id": job_id, "attempt": attempt, "outcome": outcome})
