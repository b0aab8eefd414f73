"""Job logic for the API side: submit, read, list, cancel, recover."""

from __future__ import annotations

import base64
import binascii
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from aptmagic.assets.service import AssetService
from aptmagic.auth.principal import Principal
from aptmagic.db.base import utcnow
from aptmagic.db.session import after_commit
from aptmagic.inference.params import LimitViolation, SourceParams, TaskParams
from aptmagic.inference.registry import ModelRegistry, UnknownModel
from aptmagic.inference.spec import ModelSpec
from aptmagic.jobs.models import Job, JobOutput, JobStatus
from aptmagic.jobs.repository import JobFilters, JobRepository
from aptmagic.jobs.tasks import JobCreateBase
from aptmagic.kit.blocklist import Blocklist, check_job_params
from aptmagic.kit.errors import Conflict, InvalidRequest, NotFound, Unavailable
from aptmagic.queue.base import JobQueue
from aptmagic.queue.routing import queue_for
from aptmagic.shared_state.cancels import CancelSignals
from aptmagic.shared_state.events import JobEvent, JobEventBus
from aptmagic.shared_state.results import MemoryResultCache, ResultCache, cache_key, fallback_key, owner_scope

log = logging.getLogger(__name__)


class Admission(Protocol):
    """Decides whether a job may be submitted (the plans' quotas); raises to refuse it."""

    def admit(self, session: Session, viewer: Principal | None, params: TaskParams, *, cached: bool) -> None:
        """Runs in the submit transaction, before the job row is added."""


class JobService:
    def __init__(
        self,
        *,
        registry: ModelRegistry,
        queue: JobQueue,
        assets: AssetService,
        events: JobEventBus,
        cancels: CancelSignals,
        max_attempts: int,
        quotas: Admission | None = None,
        blocklist: Blocklist | None = None,
        results: ResultCache | None = None,
    ) -> None:
        self.registry = registry
        self.queue = queue
        self.assets = assets
        self.events = events
        self.cancels = cancels
        self.max_attempts = max_attempts
        self.quotas = quotas
        self.blocklist = blocklist
        self.results = results if results is not None else MemoryResultCache()

    def submit(self, session: Session, body: JobCreateBase, viewer: Principal | None = None) -> Job:
        spec = self._model_for(body)
        params = self._resolve_params(body.params, spec)
        check_job_params(self.blocklist, params)  # a blocked term in a prompt: 422 blocked_content
        self._check_sources(session, params, viewer)
        params_json = params.model_dump(mode="json")
        job = Job(
            task=body.task,
            model_id=spec.id,
            model_version=spec.version,
            params=params_json,
            seed=params.seed,
            queue_name=queue_for(spec),
            status=JobStatus.queued,
            progress_total=params.progress_total(),
            max_attempts=self.max_attempts,
            cache_key=cache_key(body.task, spec.id, spec.version, params_json),
            fallback_key=fallback_key(body.task, spec.id, spec.version, params_json),
            created_at=utcnow(),
            outputs=[],  # a new job has none; saves JobRead.of a lazy load before the commit
            owner_id=viewer.user_id if viewer else None,
        )
        repo = JobRepository(session)
        # A seed chosen here is new, so no earlier job can hold this result: skip the look-up.
        cached = body.params.seed is not None and self._answer_from_cache(repo, job)
        if self.quotas is not None:  # the plan's caps and limits; counted in this transaction (see quotas.service)
            self.quotas.admit(session, viewer, params, cached=cached)
        if not cached:
            self.queue.check()  # 503 now, before anything is committed, if the broker is down
            after_commit(session, lambda: self._dispatch(job.id, job.queue_name))
        repo.add(job)
        session.flush()
        return job

    def _dispatch(self, job_id: str, queue_name: str) -> None:
        """After commit the job is accepted: a failed send is left to the re-dispatch sweep."""
        try:
            self.queue.enqueue(job_id, queue_name)
        except Unavailable:
            log.warning("job committed but not sent to the queue; the sweep will send it", extra={"job_id": job_id})

    def _model_for(self, body: JobCreateBase) -> ModelSpec:
        try:
            spec = self.registry.get(body.model) if body.model else self.registry.default_for(body.task)
        except UnknownModel:
            known = sorted(s.id for s in self.registry.all() if s.serves(body.task))
            raise InvalidRequest.field(
                ["body", "model"], f"unknown model {body.model!r}; models for {body.task}: {known}"
            ) from None
        if not spec.serves(body.task):
            raise InvalidRequest.field(["body", "model"], f"model {spec.id!r} serves {spec.task!r}, not {body.task!r}")
        return spec

    @staticmethod
    def _resolve_params(params: TaskParams, spec: ModelSpec) -> TaskParams:
        try:
            resolved = params.resolve(spec)
        except LimitViolation as exc:
            raise InvalidRequest.field(["body", "params", exc.field], exc.message, "model_limit") from None
        if resolved.seed is None:
            resolved.seed = secrets.randbelow(2**32)
        return resolved

    def _check_sources(self, session: Session, params: TaskParams, viewer: Principal | None) -> None:
        if isinstance(params, SourceParams):
            self.assets.use_as_source(
                session, params.source, params.source_kinds, ["body", "params", "source"], viewer=viewer
            )

    def _answer_from_cache(self, repo: JobRepository, job: Job) -> bool:
        # Only the same owner's results: a cache hit never hands out another user's outputs.
        source = self._cached_source(repo, job)
        if source is None or not source.outputs and source.result is None:
            return False
        assets = [out.asset for out in source.outputs]
        if not self.assets.blobs_present(assets):
            return False
        now = utcnow()
        job.status = JobStatus.succeeded
        job.cache_hit = True
        job.cached_from_id = source.id
        job.progress_step = job.progress_total
        job.started_at = job.finished_at = now
        job.result = source.result
        job.outputs = [JobOutput(position=i, asset_id=asset.id, asset=asset) for i, asset in enumerate(assets)]
        return True

    def _cached_source(self, repo: JobRepository, job: Job) -> Job | None:
        """The result cache first; its entry is only a hint, checked against the row."""
        scope = owner_scope(job.cache_key, job.owner_id)
        hinted = self.results.get(scope)
        if hinted is not None:
            source = repo.get(hinted)
            if source is not None and source.status == JobStatus.succeeded and (
                source.cache_key, source.owner_id) == (job.cache_key, job.owner_id):  # fmt: skip
                return source
            self.results.forget(scope)
        source = repo.find_cached(job.cache_key, job.owner_id)
        if source is not None:
            self.results.put(scope, source.id)
        return source

    def get(self, session: Session, job_id: str, viewer: Principal | None = None) -> Job:
        """``viewer``: who asks; another user's job is answered as not found."""
        job = JobRepository(session).get(job_id) if len(job_id) <= 64 else None
        if job is None or viewer is not None and not viewer.can_see(job.owner_id):
            raise NotFound(f"job {job_id!r} not found")
        return job

    def page(
        self, session: Session, filters: JobFilters, cursor: str | None, limit: int
    ) -> tuple[Sequence[Job], str | None]:
        after = decode_cursor(cursor) if cursor else None
        jobs = JobRepository(session).page(filters, after, limit + 1)
        more = len(jobs) > limit
        jobs = jobs[:limit]
        return jobs, encode_cursor(jobs[-1]) if more and jobs else None

    def cancel(self, session: Session, job_id: str, viewer: Principal | None = None) -> Job:
        job = self.get(session, job_id, viewer)
        repo = JobRepository(session)
        if JobStatus(job.status).is_terminal:
            raise Conflict(f"job {job_id!r} is already {job.status}; only queued or running jobs can be canceled")
        if repo.cancel_if_queued(job_id):
            after_commit(session, lambda: self.events.publish(JobEvent("done", job_id, {"status": "canceled"})))
        else:
            repo.set_fields(job_id, cancel_requested=True)
            after_commit(session, lambda: self.cancels.request(job_id))
        session.flush()
        session.refresh(job)
        return job

    def delete(self, session: Session, job_id: str, viewer: Principal | None = None) -> None:
        """Delete an ended job with the output files no other job shares; blobs go after the commit."""
        job = self.get(session, job_id, viewer)
        if not JobStatus(job.status).is_terminal:
            raise Conflict(f"job {job_id!r} is {job.status}; cancel it first, then delete it")
        repo = JobRepository(session)
        assets = [out.asset for out in job.outputs]
        shared = repo.other_uses([asset.id for asset in assets], job.id)
        own = [asset for asset in assets if asset.id not in shared]
        repo.delete(job)
        session.flush()  # the job_outputs rows go first: they hold the assets
        for asset in own:
            session.delete(asset)
        try:
            session.flush()
        except IntegrityError:  # another table (a shared post) still points at an output
            raise Conflict(
                f"an output of job {job_id!r} is still in use (shared in a post?); remove that first"
            ) from None
        keys = [asset.storage_key for asset in own]
        after_commit(session, lambda: self._delete_blobs(keys))

    def _delete_blobs(self, keys: list[str]) -> None:
        for key in keys:
            self.assets.store.delete(key)  # a missing blob is no error

    def recover(self, session: Session) -> list[tuple[str, str, float]]:
        """Requeue jobs a crashed process left running; return what to enqueue."""
        repo = JobRepository(session)
        now = utcnow()
        for job in repo.with_status(JobStatus.running):
            if job.cancel_requested:
                job.status, job.finished_at = JobStatus.canceled, now
            elif job.attempts >= job.max_attempts:
                job.status, job.finished_at = JobStatus.failed, now
                job.error_code = "interrupted"
                job.error_message = f"the worker stopped during the job {job.attempts} times; giving up"
            else:
                job.status, job.claimed_by = JobStatus.queued, None
        session.flush()
        return [(job.id, job.queue_name, _delay(job.run_after, now)) for job in repo.with_status(JobStatus.queued)]


def _delay(run_after: datetime | None, now: datetime) -> float:
    return max(0.0, (run_after - now).total_seconds()) if run_after else 0.0


def encode_cursor(job: Job) -> str:
    raw = f"{job.created_at.isoformat()}|{job.id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created, job_id = raw.split("|", 1)
        when = datetime.fromisoformat(created)
        if when.tzinfo is None:
            raise ValueError("cursor time has no zone")
        return when.astimezone(UTC), job_id
    except (ValueError, OverflowError, binascii.Error, UnicodeDecodeError):
        raise InvalidRequest.field(["query", "cursor"], "malformed cursor; pass next_cursor as given") from None
