"""The worker side of a job: claim, run the model, store outputs, finish.

Each stage has its own short transaction, so the row always tells the truth
to readers. ``run(job_id)`` is what any queue backend calls with an id; it may
be called more than once for one job (duplicate deliveries): the claim/lease
state machine in ``aptmagic.jobs.lease`` lets exactly one call hold the job, and
only the holder of the lease may write its result.
Batching compatible jobs later means claiming several ids and giving the
backend a list; the stages already take the job snapshot, not the row."""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from aptmagic.assets.service import AssetService
from aptmagic.db.base import utcnow
from aptmagic.inference.base import (
    InferenceError,
    InputFile,
    JobCanceled,
    RunContext,
)
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.circuit import EngineCircuits
from aptmagic.inference.params import params_model
from aptmagic.inference.registry import ModelRegistry, UnknownModel
from aptmagic.jobs import lease
from aptmagic.jobs.engines import TRANSIENT_ERRORS, EngineRunner, EnginesDown, Served
from aptmagic.jobs.fallback import FALLBACK, Outcome, StoredAnswers
from aptmagic.jobs.hooks import EngineObserver, NoEngineObserver
from aptmagic.jobs.models import JobStatus
from aptmagic.jobs.repository import JobRepository, LeaseRepository
from aptmagic.kit.errors import NotFound
from aptmagic.queue.base import JobQueue
from aptmagic.shared_state.cancels import CancelSignals
from aptmagic.shared_state.events import JobEvent, JobEventBus

log = logging.getLogger(__name__)

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
    token: str = ""  # this claim's holder id, written to claimed_by


class JobInterrupted(JobCanceled):
    """This worker gives the job up between steps: released at shutdown, or its lease was lost."""

    def __init__(self, job_id: str, released: bool) -> None:
        super().__init__(job_id)
        self.released = released


class LeaseKeeper:
    """Renews the leases of the jobs this process runs, from one thread, every third of a lease.
    A lease it cannot renew (another worker took the job over) marks the job as lost."""

    def __init__(self, session_factory: sessionmaker[Session], lease_seconds: float) -> None:
        self.session_factory = session_factory
        self.lease_seconds = lease_seconds
        self._held: dict[str, str] = {}
        self._lost: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.releasing = threading.Event()
        self._thread: threading.Thread | None = None

    def hold(self, job_id: str, token: str) -> None:
        with self._lock:
            self._held[job_id] = token
            self._lost.discard(job_id)
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._loop, name="aptmagic-lease-keeper", daemon=True)
                self._thread.start()

    def drop(self, job_id: str) -> None:
        with self._lock:
            self._held.pop(job_id, None)
            self._lost.discard(job_id)

    def interruption(self, job_id: str) -> JobInterrupted | None:
        if self.releasing.is_set():
            return JobInterrupted(job_id, released=True)
        with self._lock:
            return JobInterrupted(job_id, released=False) if job_id in self._lost else None

    def held_count(self) -> int:
        with self._lock:
            return len(self._held)

    def _loop(self) -> None:
        while not self._stop.wait(self.lease_seconds / 3):
            with self._lock:
                held = list(self._held.items())
            for job_id, token in held:
                self._renew(job_id, token)

    def _renew(self, job_id: str, token: str) -> None:
        try:
            with self.session_factory.begin() as session:
                renewed = lease.renew(session, job_id, token, self.lease_seconds, utcnow())
        except Exception:  # the database is away: keep trying; the lease may lapse meanwhile
            log.warning("could not renew a job's lease", extra={"job_id": job_id}, exc_info=True)
            return
        if not renewed:
            with self._lock:
                if self._held.get(job_id) == token:
                    self._lost.add(job_id)
            log.warning("job lease lost to another worker", extra={"job_id": job_id})

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float
    max_seconds: float

    def delay(self, attempts: int) -> float:
        return min(self.max_seconds, self.base_seconds * float(2 ** max(0, attempts - 1)))


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
        lease_seconds: float = 60.0,
        circuits: EngineCircuits | None = None,
        engine_observer: EngineObserver | None = None,
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
        self.lease_seconds = lease_seconds
        self.leases = LeaseKeeper(session_factory, lease_seconds)
        self.circuits = circuits if circuits is not None else EngineCircuits()
        self.engine_observer = engine_observer or NoEngineObserver()
        self.engines = EngineRunner(registry, models, self.circuits, self.engine_observer)
        self.stored = StoredAnswers(assets)

    def release_running(self) -> None:
        """Graceful stop: every running job gives itself back to the queue at its next step."""
        self.leases.releasing.set()

    def close(self) -> None:
        self.leases.stop()

    def run(self, job_id: str) -> None:
        token = f"{secrets.token_hex(4)}@{self.worker_name}"
        claimed = self._claim(job_id, token)
        if claimed is None:
            return
        self.leases.hold(job_id, token)
        self.events.publish(JobEvent("status", job_id, {"status": "running", "attempts": claimed.attempts}))
        try:
            started = time.perf_counter()
            served = self._execute(claimed)
            inference_ms = (time.perf_counter() - started) * 1000
            self._succeed(claimed, served, inference_ms)
        except JobInterrupted as exc:
            self._interrupted(claimed, exc)
        except JobCanceled:
            self._end(claimed, JobStatus.canceled)
        except EnginesDown as exc:
            self._engines_down(claimed, exc)
        except InferenceError as exc:
            self._fail_or_retry(claimed, exc.code, str(exc), transient=exc.transient)
        except TRANSIENT_ERRORS as exc:
            self._fail_or_retry(claimed, "transient_error", f"{type(exc).__name__}: {exc}", transient=True)
        except Exception as exc:
            log.exception("job failed", extra={"job_id": job_id})
            self._fail_or_retry(claimed, "internal_error", f"{type(exc).__name__}: {exc}", transient=False)
        finally:
            self.leases.drop(job_id)
            self.cancels.clear(job_id)

    def _claim(self, job_id: str, token: str) -> ClaimedJob | None:
        with self.session_factory.begin() as session:
            now = utcnow()
            if lease.claim(session, job_id, token, self.lease_seconds, now):
                return self._claimed(session, job_id, token)
            refusal = lease.refuse(session, job_id, now)
        log.info("delivery dropped", extra={"job_id": job_id, "reason": str(refusal)})
        if refusal == lease.Refusal.dead_lettered:
            self.events.publish(JobEvent("done", job_id, {"status": "failed"}))
        return None

    @staticmethod
    def _claimed(session: Session, job_id: str, token: str) -> ClaimedJob:
        job = JobRepository(session).snapshot(job_id)
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
            token=token,
        )

    def _execute(self, job: ClaimedJob) -> Served:
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
        return self.engines.run(spec, job.task, params, ctx, lambda: self._check_wanted(job.id))

    def _check_wanted(self, job_id: str) -> None:
        """Between engines: stop if the job was canceled or this worker is giving it up."""
        if (interrupted := self.leases.interruption(job_id)) is not None:
            raise interrupted
        if self.cancels.is_requested(job_id) or self._cancel_in_db(job_id):
            raise JobCanceled(job_id)

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
            if (interrupted := self.leases.interruption(job_id)) is not None:
                raise interrupted
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

    def _succeed(self, job: ClaimedJob, served: Served, inference_ms: float) -> None:
        result = served.result
        metadata = {"job_id": job.id, "task": job.task, "model": job.model_id, "version": job.model_version}
        assets = [
            self.assets.write_image(image, {**metadata, "params": job.params, "index": i}, job.id, job.owner_id)
            for i, image in enumerate(result.images)
        ]
        text_result = ({"text": result.text} if result.text is not None else {}) | result.data or None
        with self.session_factory.begin() as session:
            # One conditional UPDATE, then inserts; the job row is not loaded.
            held = LeaseRepository(session).succeed(
                job.id, job.token, now=utcnow(), inference_ms=round(inference_ms, 3), result=text_result,
                served_from=served.served_from,
            )  # fmt: skip
            if held:
                JobRepository(session).add_outputs(job.id, assets)
        if not held:  # another worker took the job over: its result is the one
            self._discard(job, assets)
            return
        self.engine_observer.served(job.task, job.model_id, served.served_from)
        self.events.publish(JobEvent("done", job.id, {"status": "succeeded"}))

    def _engines_down(self, job: ClaimedJob, down: EnginesDown) -> None:
        """Every engine failed or refused: answer from a stored result if the model allows it, else retry."""
        try:
            fallback = self.registry.get(job.model_id).fallback_to_stored
        except UnknownModel:
            fallback = False
        if fallback:
            with self.session_factory.begin() as session:
                outcome = self.stored.answer(session, job, down.message)
            if outcome is Outcome.answered:
                log.info("job answered from a stored result", extra={"job_id": job.id, "model": job.model_id})
                self.engine_observer.served(job.task, job.model_id, FALLBACK)
                self.events.publish(JobEvent("done", job.id, {"status": "succeeded"}))
            if outcome is not Outcome.none:
                return
        self._fail_or_retry(job, down.code, down.message, transient=True, wait_at_least=down.retry_in)

    def _discard(self, job: ClaimedJob, assets: list[Any]) -> None:
        log.warning("result dropped: the job's lease was lost", extra={"job_id": job.id})
        for asset in assets:
            try:
                self.assets.store.delete(asset.storage_key)
            except Exception:
                log.warning("could not delete a dropped output", extra={"key": asset.storage_key}, exc_info=True)

    def _end(self, job: ClaimedJob, status: JobStatus, code: str | None = None, message: str | None = None) -> None:
        with self.session_factory.begin() as session:
            held = LeaseRepository(session).finish(
                job.id, job.token, status=status, finished_at=utcnow(), error_code=code, error_message=message
            )
        if held:
            self.events.publish(JobEvent("done", job.id, {"status": str(status)}))

    def _interrupted(self, job: ClaimedJob, exc: JobInterrupted) -> None:
        if not exc.released:
            log.warning("job abandoned: its lease was lost", extra={"job_id": job.id})
            return
        with self.session_factory.begin() as session:
            released = LeaseRepository(session).release(job.id, job.token, utcnow())
        if released:
            log.info("job released at shutdown", extra={"job_id": job.id})
            self.events.publish(JobEvent("status", job.id, {"status": "queued", "attempts": job.attempts - 1}))
            self.queue.enqueue(job.id, job.queue_name)  # if this fails, the re-dispatch sweep sends it

    def _fail_or_retry(
        self, job: ClaimedJob, code: str, message: str, *, transient: bool, wait_at_least: float = 0.0
    ) -> None:
        if not transient or job.attempts >= job.max_attempts:
            suffix = f" (after {job.attempts} attempts)" if transient else ""
            log.warning("job failed", extra={"job_id": job.id, "code": code})
            self._end(job, JobStatus.failed, code, message + suffix)
            return
        delay = max(self.retry.delay(job.attempts), wait_at_least)
        now = utcnow()
        with self.session_factory.begin() as session:
            requeued = LeaseRepository(session).finish(
                job.id,
                job.token,
                unless_canceled=True,
                status=JobStatus.queued,
                claimed_by=None,
                queued_at=now,
                run_after=now + timedelta(seconds=delay),
                error_code=code,
                error_message=f"{message} (retrying in {delay:.1f}s)",
            )
        if not requeued:  # canceled during the attempt (a retry could never be claimed), or taken over
            self._end(job, JobStatus.canceled)
            return
        self.events.publish(JobEvent("retry", job.id, {"attempts": job.attempts, "delay": delay, "error": message}))
        self.queue.enqueue(job.id, job.queue_name, delay=delay)
