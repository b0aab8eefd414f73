"""Synchronous answers from asynchronous jobs.

The compat APIs answer in one request, so each submits a normal job through
``JobService`` (quotas, result cache, ownership and the worker all apply),
then follows it to its end on the job event bus, for at most
``wait_seconds``. A job still running then, or whose client went away, is
canceled."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from pydantic import ValidationError
from sqlalchemy.orm import Session, sessionmaker

from aptmagic.assets.service import AssetService
from aptmagic.auth.principal import Principal
from aptmagic.compat.errors import BadRequest, JobCanceled, JobFailed, JobTimeout, ModelNotFound, field_param
from aptmagic.inference.registry import ModelRegistry, UnknownModel
from aptmagic.jobs.schemas import JobRead
from aptmagic.jobs.service import JobService
from aptmagic.jobs.tasks import JobCreateBase, params_model
from aptmagic.kit.errors import AppError, Conflict, InvalidRequest
from aptmagic.shared_state.events import JobEvent, JobEventBus, Subscription
from aptmagic.uploads.service import UploadService

WAIT_SECONDS = 600.0
RECHECK_SECONDS = 2.0
INPUT_FAILURES = frozenset({"inference_error"})  # the input could not be used: the client's to fix


@dataclass
class Submitted:
    job: JobRead
    subscription: Subscription


@dataclass(frozen=True)
class CompatJobs:
    """Each call that writes runs its own transaction (``session_factory.begin()``): a
    compat route waits for its job, so the job must be committed before the wait starts."""

    registry: ModelRegistry
    session_factory: sessionmaker[Session]
    jobs: JobService
    events: JobEventBus
    uploads: UploadService
    assets: AssetService
    wait_seconds: float = WAIT_SECONDS

    # models

    def model_for(self, task: str, name: str | None, aliases: Iterable[str] = ()) -> str | None:
        """A registry id for ``name``; None (the task's default) for no name or a foreign alias."""
        if not name or name in aliases:
            return None
        try:
            spec = self.registry.get(name)
        except UnknownModel:
            raise ModelNotFound(f"The model '{name}' does not exist", param="model") from None
        if not spec.serves(task):
            raise BadRequest(f"model '{name}' does not serve {task}", param="model")
        return spec.id

    def default_model(self, task: str) -> str:
        return self.registry.default_for(task).id

    # submit and follow

    async def submit(
        self,
        principal: Principal,
        task: str,
        model: str | None,
        params: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> Submitted:
        """``names``: aptmagic param name -> the request field it came from, for error messages."""
        body = self._body(task, model, params, names or {})
        job, subscription = await run_in_threadpool(self._submit, principal, body, names or {})
        return Submitted(job, subscription)

    def _body(self, task: str, model: str | None, params: dict[str, Any], names: dict[str, str]) -> JobCreateBase:
        try:
            validated = params_model(task).model_validate(params)
        except ValidationError as exc:
            details = [
                {"loc": ["body", *_renamed(list(e["loc"]), names)], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors()
            ]
            where = field_param(list(details[0]["loc"])) or "body"
            raise InvalidRequest(f"{where}: {details[0]['msg']}", details=details) from None
        return JobCreateBase.model_construct(task=task, model=model, params=validated)

    def _submit(self, principal: Principal, body: JobCreateBase, names: dict[str, str]) -> tuple[JobRead, Subscription]:
        subscription: Subscription | None = None
        try:
            with self.session_factory.begin() as session:
                job = self.jobs.submit(session, body, principal)
                read = JobRead.of(job)
                # Subscribe before the commit that lets a worker start: no event is missed.
                subscription = anyio.from_thread.run_sync(self.events.subscribe, job.id)
        except BaseException as exc:
            if subscription is not None:
                subscription.close()
            if isinstance(exc, InvalidRequest):
                raise _renamed_error(exc, names) from None
            raise
        return read, subscription

    async def follow(
        self, submitted: Submitted, principal: Principal, request: Request | None = None
    ) -> AsyncIterator[JobEvent | JobRead]:
        """The job's events as they come, then the ended job (always last)."""
        job, subscription = submitted.job, submitted.subscription
        deadline = time.monotonic() + self.wait_seconds
        checked = time.monotonic()
        ended = job.status.is_terminal
        try:
            while not ended:
                now = time.monotonic()
                if now >= deadline:
                    raise JobTimeout(f"the job did not finish within {self.wait_seconds:g} seconds and was canceled")
                if request is not None and now - checked >= RECHECK_SECONDS:
                    checked = now
                    if await request.is_disconnected():
                        return
                event = await subscription.get(timeout=min(RECHECK_SECONDS, deadline - now))
                if event is not None and event.type != "done":
                    yield event
                    continue
                job = await run_in_threadpool(self.read, job.id, principal)
                ended = job.status.is_terminal
            yield job
        finally:
            subscription.close()
            if not ended:
                with anyio.CancelScope(shield=True):  # also when the stream itself was canceled
                    await run_in_threadpool(self.cancel, job.id, principal)

    async def run(
        self,
        principal: Principal,
        task: str,
        model: str | None,
        params: dict[str, Any],
        request: Request | None = None,
        names: dict[str, str] | None = None,
    ) -> JobRead:
        """Submit, wait, and return the succeeded job; raise the reason otherwise."""
        submitted = await self.submit(principal, task, model, params, names)
        last: JobEvent | JobRead = submitted.job
        async for item in self.follow(submitted, principal, request):
            last = item
        if not isinstance(last, JobRead):  # the client went away; nobody reads this answer
            raise JobCanceled("the request ended before the job")
        return succeeded(last)

    def read(self, job_id: str, principal: Principal) -> JobRead:
        with self.session_factory() as session:
            return JobRead.of(self.jobs.get(session, job_id, principal))

    def cancel(self, job_id: str, principal: Principal) -> None:
        try:
            with self.session_factory.begin() as session:
                self.jobs.cancel(session, job_id, principal)
        except Conflict:  # it ended meanwhile
            pass

    # files

    async def upload(self, principal: Principal, data: bytes, content_type: str | None, filename: str | None) -> str:
        """Store bytes through every upload check; returns the asset id."""
        asset = await run_in_threadpool(self.uploads.accept, data, content_type, filename, None, principal.user_id)
        return asset.id

    def read_asset(self, asset_id: str, principal: Principal | None) -> tuple[bytes, str]:
        with self.session_factory() as session:
            asset = self.assets.get(session, asset_id, principal)
            return self.assets.read(asset), asset.content_type


def succeeded(job: JobRead) -> JobRead:
    if job.status == "succeeded":
        return job
    if job.status == "canceled":
        raise JobCanceled("the job was canceled")
    code = job.error.code if job.error else "failed"
    message = job.error.message if job.error else "the job failed"
    raise JobFailed(message, 400 if code in INPUT_FAILURES else 500)


def _renamed(loc: list[Any], names: dict[str, str]) -> list[Any]:
    return [names.get(part, part) if isinstance(part, str) else part for part in loc]


def _renamed_error(exc: InvalidRequest, names: dict[str, str]) -> AppError:
    """A service's field error (loc body.params.width) named after the request field (size)."""
    details = exc.details if isinstance(exc.details, list) else []
    renamed = []
    for item in details:
        loc = [part for part in item.get("loc", []) if part != "params"]
        renamed.append({**item, "loc": _renamed(loc, names)})
    if not renamed:
        return exc
    message = f"{field_param(renamed[0]['loc']) or 'body'}: {renamed[0]['msg']}"
    return InvalidRequest(message, details=renamed)
