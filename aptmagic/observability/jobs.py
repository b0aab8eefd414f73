"""Where observability meets the job path, through three small hooks:

* ``on_submit`` (API side, in the submit transaction): keeps the request id
  and the webhook URL, counts the job (and a cache hit);
* ``on_event`` (a JobEventBus listener, in the publisher's thread): on a
  job's final event, records its metrics and wakes the webhook sender;
* ``wrap(handler)`` (worker side): binds the job's request id and job id to
  the log context for the length of one attempt."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy.orm import Session, sessionmaker

from aptmagic.jobs.models import Job, JobStatus
from aptmagic.jobs.repository import JobRepository
from aptmagic.observability.context import bind, current_request_id
from aptmagic.observability.metrics import Metrics
from aptmagic.observability.repository import TraceRepository
from aptmagic.shared_state.events import JobEvent

log = logging.getLogger(__name__)


class JobWebhooks(Protocol):
    """The job webhook sender, as the observer drives it."""

    def attach(self, session: Session, job: Job, url: str) -> None:
        """Keep the job's callback URL (in the submit transaction); raises to refuse it."""

    def wake(self) -> None:
        """A job has ended: deliver what is due now."""


class JobObserver:
    def __init__(self, session_factory: sessionmaker[Session], metrics: Metrics, webhooks: JobWebhooks) -> None:
        self.session_factory = session_factory
        self.metrics = metrics
        self.webhooks = webhooks

    def on_submit(self, session: Session, job: Job, webhook_url: str | None) -> None:
        if webhook_url is not None:
            self.webhooks.attach(session, job, webhook_url)
        request_id = current_request_id()
        if request_id is not None:
            TraceRepository(session).add(job.id, request_id)
        self.metrics.jobs_submitted.labels(job.task, job.model_id).inc()
        if job.cache_hit:
            self.metrics.cache_hits.labels(job.task, job.model_id).inc()
            self.metrics.jobs_finished.labels(job.task, job.model_id, JobStatus.succeeded).inc()

    def on_event(self, event: JobEvent) -> None:
        if event.type != "done":
            return
        try:
            self._record_end(event.job_id)
        except Exception:  # a listener must never break the job path
            log.exception("could not record the end of a job", extra={"job_id": event.job_id})
        self.webhooks.wake()

    def _record_end(self, job_id: str) -> None:
        with self.session_factory() as session:
            row = JobRepository(session).timing(job_id)
        if row is None or not JobStatus(row.status).is_terminal:
            return
        self.metrics.jobs_finished.labels(row.task, row.model_id, row.status).inc()
        if row.started_at is not None:
            self.metrics.job_queue_wait.labels(row.task, row.model_id).observe(
                max(0.0, (row.started_at - row.created_at).total_seconds())
            )
            if row.finished_at is not None:
                self.metrics.job_run.labels(row.task, row.model_id).observe(
                    max(0.0, (row.finished_at - row.started_at).total_seconds())
                )

    def wrap(self, handler: Callable[[str], None]) -> Callable[[str], None]:
        def run(job_id: str) -> None:
            with bind(request_id=self._request_id(job_id), job_id=job_id):
                handler(job_id)

        return run

    def _request_id(self, job_id: str) -> str | None:
        try:
            with self.session_factory() as session:
                return TraceRepository(session).request_id(job_id)
        except Exception:
            log.exception("could not read the job's request id", extra={"job_id": job_id})
            return None


def model_cache_hooks(metrics: Metrics) -> tuple[Callable[[str, float, int], None], Callable[[str], None]]:
    """(on_load, on_unload) for ModelCache."""

    def on_load(model_id: str, seconds: float, size: int) -> None:
        metrics.model_load.labels(model_id).observe(seconds)
        metrics.model_bytes.labels(model_id).set(size)

    def on_unload(model_id: str) -> None:
        metrics.model_bytes.labels(model_id).set(0)

    return on_load, on_unload
