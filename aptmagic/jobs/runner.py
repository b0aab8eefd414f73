"""The worker side of a job: claim, run the model, store outputs, finish.

Each stage has its own short transaction, so the row always tells the truth
to readers. ``run(job_id)`` is what any queue backend calls with an id.
Batching compatible jobs later means claiming several ids and giving the
backend a list; the stages already take the job snapshot, not the row."""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import null, select
from sqlalchemy.orm import Session, sessionmaker

from aptmagic.assets.service import AssetService
from aptmagic.core.errors import NotFound
from aptmagic.db.base import utcnow
from aptmagic.inference.base import (
    InferenceError,
    InferenceResult,
    InputFile,
    JobCanceled,
    RunContext,
)
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.registry import ModelRegistry, UnknownModel
from aptmagic.jobs.cancel import CancelSignals
from aptmagic.jobs.events import JobEvent, JobEventBus
from aptmagic.jobs.models import Job, JobOutput, JobStatus
from aptmagic.jobs.repository import JobRepository
from aptmagic.jobs.tasks import params_model
from aptmagic.queue.base import JobQueue

log = logging.getLogger(__name__)

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (OSError, TimeoutError, ConnectionError, MemoryError)
CANCEL_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class ClaimedJob:
    id: str
    task: str
    model_id: str
    model_version: str
    params: dict[str, Any]
    seed: int
    attempts: int
    max_attempts: int
    queue_name: str
    progress_total: int = 0
    owner_id: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int) -> float:
        return min(self.max_seconds, self.base_seconds * 2 ** max(0, attempts - 1))


class JobRunner:
    def __init__(
        self,
        *,
        session_factory: sessionmaker[Session],
        registry: ModelRegistry,
        models: ModelCache,
        assets: AssetService,
        events: JobEventBus,
        cancels: CancelSignals,
        queue: JobQueue,
        retry: RetryPolicy,
        progress_write_interval: float,
    ) -> None:
        self.session_factory = session_factory
        self.registry = registry
        self.models = models
        self.assets = assets
        self.events = events
        self.cancels = cancels
        self.queue = queue
        self.retry = retry
        self.progress_write_interval = progress_write_interval
        self.worker_name = f"{socket.gethostname()}:{os.getpid()}"

    def run(self, job_id: str) -> None:
        claimed = self._claim(job_id)
        if claimed is None:
            return
        self.events.publish(JobEvent("status", job_id, {"status": "running", "attempts": claimed.attempts}))
        try:
            started = time.perf_counter()
            result = self._execute(claimed)
            inference_ms = (time.perf_counter() - started) * 1000
            self._succeed(claimed, result, inference_ms)
        except JobCanceled:
            self._end(claimed.id, JobStatus.canceled)
        except InferenceError as exc:
            self._fail_or_retry(claimed, exc.code, str(exc), transient=exc.transient)
        except TRANSIENT_ERRORS as exc:
            self._fail_or_retry(claimed, "transient_error", f"{type(exc).__name__}: {exc}", transient=True)
        except Exception as exc:
            log.exception("job failed", extra={"job_id": job_id})
            self._fail_or_retry(claimed, "internal_error", f"{type(exc).__name__}: {exc}", transient=False)
        finally:
            self.cancels.clear(job_id)

    def _claim(self, job_id: str) -> ClaimedJob | None:
        with self.session_factory.begin() as session:
            repo = JobRepository(session)
            if not repo.claim(job_id, self.worker_name):
                return None
            # The columns only, not the ORM row with its outputs: one light query.
            job = session.execute(
                select(
                    Job.task, Job.model_id, Job.model_version, Job.params, Job.seed,
                    Job.attempts, Job.max_attempts, Job.queue_name, Job.progress_total, Job.owner_id,
                ).where(Job.id == job_id)
            ).one()  # fmt: skip
            return ClaimedJob(
                id=job_id,
                task=job.task,
                model_id=job.model_id,
                model_version=job.model_version,
                params=dict(job.params),
                seed=int(job.seed or 0),
                attempts=job.attempts,
                max_attempts=job.max_attempts,
                queue_name=job.queue_name,
                progress_total=job.progress_total,
                owner_id=job.owner_id,
            )

    def _execute(self, job: ClaimedJob) -> InferenceResult:
        try:
            spec = self.registry.get(job.model_id)
        except UnknownModel:
            raise InferenceError(f"model {job.model_id!r} is no longer in the registry") from None
        if spec.version != job.model_version:
            log.info("model version changed since submit", extra={"job_id": job.id, "model": spec.id})
        params = params_model(job.task).model_validate(job.params)
        ctx = RunContext(
            job_id=job.id,
            seed=job.seed,
            on_step=self._progress_reporter(job.id, job.progress_total),
            on_event=lambda kind, data: self.events.publish(JobEvent(kind, job.id, data)),
            load_input=self._load_input,
        )
        with self.models.use(spec) as backend:
            return backend.run(params, ctx)

    def _load_input(self, asset_id: str) -> InputFile:
        with self.session_factory() as session:
            try:
                asset = self.assets.get(session, asset_id)
                data = self.assets.read(asset)
            except NotFound as exc:
                raise InferenceError(f"input {asset_id!r} is gone: {exc.message}") from None
            return InputFile(asset.id, data, asset.content_type, asset.media_kind or "")

    def _progress_reporter(self, job_id: str, claimed_total: int = 0) -> Callable[[int, int], None]:
        """Publishes every step; writes the row at most every progress_write_interval.
        Step 0 of the total the row already has is not written again: the claim set it."""
        last_write = 0.0
        last_cancel_poll = time.monotonic()

        def on_step(step: int, total: int) -> None:
            nonlocal last_write, last_cancel_poll
            now = time.monotonic()
            if self.cancels.is_requested(job_id) or (
                now - last_cancel_poll >= CANCEL_POLL_SECONDS and self._cancel_in_db(job_id)
            ):
                raise JobCanceled(job_id)
            if now - last_cancel_poll >= CANCEL_POLL_SECONDS:
                last_cancel_poll = now
            self.events.publish(JobEvent("progress", job_id, {"step": step, "total": total}))
            if step == 0 or now - last_write >= self.progress_write_interval:
                last_write = now
                if step == 0 and total == claimed_total:
                    return
                with self.session_factory.begin() as session:
                    JobRepository(session).set_fields(job_id, progress_step=step, progress_total=total)

        return on_step

    def _cancel_in_db(self, job_id: str) -> bool:
        with self.session_factory() as session:
            return JobRepository(session).is_cancel_requested(job_id)

    def _succeed(self, job: ClaimedJob, result: InferenceResult, inference_ms: float) -> None:
        metadata = {"job_id": job.id, "task": job.task, "model": job.model_id, "version": job.model_version}
        assets = [
            self.assets.write_image(image, {**metadata, "params": job.params, "index": i}, job.id, job.owner_id)
            for i, image in enumerate(result.images)
        ]
        text_result = ({"text": result.text} if result.text is not None else {}) | result.data or None
        with self.session_factory.begin() as session:
            # Inserts and one UPDATE; the job row is not loaded.
            session.add_all(assets)
            session.flush()
            session.add_all(JobOutput(job_id=job.id, position=i, asset_id=asset.id) for i, asset in enumerate(assets))
            JobRepository(session).set_fields(
                job.id,
                status=JobStatus.succeeded,
                progress_step=Job.progress_total,
                finished_at=utcnow(),
                inference_ms=round(inference_ms, 3),
                result=null() if text_result is None else text_result,
                error_code=None,
                error_message=None,
            )
        self.events.publish(JobEvent("done", job.id, {"status": "succeeded"}))

    def _end(self, job_id: str, status: JobStatus, code: str | None = None, message: str | None = None) -> None:
        with self.session_factory.begin() as session:
            JobRepository(session).set_fields(
                job_id, status=status, finished_at=utcnow(), error_code=code, error_message=message
            )
        self.events.publish(JobEvent("done", job_id, {"status": str(status)}))

    def _fail_or_retry(self, job: ClaimedJob, code: str, message: str, *, transient: bool) -> None:
        if not transient or job.attempts >= job.max_attempts:
            suffix = f" (after {job.attempts} attempts)" if transient else ""
            log.warning("job failed", extra={"job_id": job.id, "code": code})
            self._end(job.id, JobStatus.failed, code, message + suffix)
            return
        delay = self.retry.delay(job.attempts)
        with self.session_factory.begin() as session:
            requeued = JobRepository(session).requeue_unless_canceled(
                job.id,
                run_after=utcnow() + timedelta(seconds=delay),
                error_code=code,
                error_message=f"{message} (retrying in {delay:.1f}s)",
            )
        if not requeued:  # canceled during the attempt: a retry could never be claimed
            self._end(job.id, JobStatus.canceled)
            return
        self.events.publish(JobEvent("retry", job.id, {"attempts": job.attempts, "delay": delay, "error": message}))
        self.queue.enqueue(job.id, job.queue_name, delay=delay)

