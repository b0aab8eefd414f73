"""HTTP routes for jobs: thin wrappers over JobService."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette.sse import EventSourceResponse

from aptmagic.api.deps import SessionDep, SessionFactoryDep, SettingsDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.auth.principal import Principal
from aptmagic.jobs import idempotency
from aptmagic.jobs.deps import EventBusDep, JobServiceDep, SubmitObserverDep
from aptmagic.jobs.hooks import SubmitObserver
from aptmagic.jobs.models import JobStatus
from aptmagic.jobs.repository import JobFilters
from aptmagic.jobs.schemas import JobPage, JobRead
from aptmagic.jobs.service import JobService
from aptmagic.jobs.tasks import JobCreateBase, job_create_union
from aptmagic.jobs.text_formats import FORMATS, render
from aptmagic.kit.errors import Conflict, ErrorResponse

SSE_RECHECK_SECONDS = 2.0
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "No such job"},
    422: {"model": ErrorResponse, "description": "Invalid request, with field-level details"},
}

SUBMIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": JobRead, "description": "A replay: the job an earlier submit with this Idempotency-Key made"},
    503: {"model": ErrorResponse, "description": "The database or the job queue is unavailable; see Retry-After"},
}

JOB_EXAMPLE = {
    "task": "text-to-image",
    "model": "tiny-sd",
    "params": {"prompt": "a lighthouse at dawn, oil painting", "width": 64, "height": 64, "steps": 4, "seed": 42},
}


router = APIRouter(prefix="/jobs", tags=["jobs"])
JobCreate = job_create_union()
IdempotencyKeyHeader = Annotated[str | None, Header(alias=idempotency.HEADER, max_length=255, description=(
    "Makes a retried submit safe: the same key and body within 24 h return the first job (200)."))]  # fmt: skip


@router.post("", status_code=202, response_model=JobRead, responses={**ERRORS, **SUBMIT_RESPONSES})
async def submit_job(
    body: Annotated[JobCreate, Body(openapi_examples={"text-to-image": {"value": JOB_EXAMPLE}})],  # type: ignore[valid-type]
    jobs: JobServiceDep,
    observer: SubmitObserverDep,
    settings: SettingsDep,
    session: SessionDep,
    response: Response,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKeyHeader = None,
) -> JobRead:
    """Queue a job. Answers 202 with the job; a cache hit is already succeeded. With an
    Idempotency-Key already used by you for the same body, answers 200 with that job as it is now."""
    # Async on purpose: the submit's SQL runs in one worker thread, and from there to the
    # dependency's commit (on the event loop) nothing needs a thread. The transaction may hold
    # SQLite's write lock (the quota count relies on it); under a burst of submits every worker
    # thread may be waiting for that lock, so a step that needed one would never run.
    read, replayed = await run_in_threadpool(
        _submit, session, jobs, observer, body, principal, idempotency_key, settings.idempotency_ttl_seconds
    )
    response.headers["Location"] = f"/api/v1/jobs/{read.id}"
    if replayed:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return read


def _submit(
    session: Session, jobs: JobService, observer: SubmitObserver, body: JobCreateBase, principal: Principal,
    raw_key: str | None, ttl: int,
) -> tuple[JobRead, bool]:  # fmt: skip
    """Every statement of the submit, flushed; the caller's session dependency commits."""
    job, replayed = idempotency.submit_once(session, jobs, body, principal, raw_key, ttl)
    if not replayed:
        observer.on_submit(session, job, body.webhook_url)
    session.flush()
    return JobRead.of(job), replayed


@router.get("", response_model=JobPage, responses=ERRORS)
def list_jobs(
    jobs: JobServiceDep,
    session: SessionDep,
    principal: PrincipalDep,
    status: JobStatus | None = None,
    task: Annotated[str | None, Query(max_length=32)] = None,
    model: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    owner: Annotated[str | None, Query(max_length=32, description="Admins: only this user's jobs")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Only jobs whose prompt contains this (any case)")
    ] = None,
) -> JobPage:
    """Newest first. Follow next_cursor for older jobs. Your own jobs; admins see everyone's."""
    owner_id = owner if principal.is_admin and owner else principal.owner_filter
    filters = JobFilters(status=status.value if status else None, task=task, model_id=model, owner_id=owner_id,
                         q=q.strip() or None if q else None)  # fmt: skip
    found, next_cursor = jobs.page(session, filters, cursor, limit)
    return JobPage(items=[JobRead.of(job) for job in found], next_cursor=next_cursor)


@router.get("/{job_id}", response_model=JobRead, responses=ERRORS)
def get_job(job_id: str, jobs: JobServiceDep, session: SessionDep, principal: PrincipalDep) -> JobRead:
    return JobRead.of(jobs.get(session, job_id, principal))


@router.delete("/{job_id}", status_code=204, responses={
    **ERRORS, 409: {"model": ErrorResponse, "description": "The job is queued or running; cancel it first"}})  # fmt: skip
def delete_job(job_id: str, jobs: JobServiceDep, session: SessionDep, principal: PrincipalDep) -> Response:
    """Delete an ended job and its output files (those no other job shares)."""
    jobs.delete(session, job_id, principal)
    return Response(status_code=204)


@router.post("/{job_id}/cancel", status_code=202, response_model=JobRead, responses={
    **ERRORS, 409: {"model": ErrorResponse, "description": "The job has already ended"}})  # fmt: skip
def cancel_job(job_id: str, jobs: JobServiceDep, session: SessionDep, principal: PrincipalDep) -> JobRead:
    """Cancel a queued job at once, or a running one between steps."""
    return JobRead.of(jobs.cancel(session, job_id, principal))


@router.get("/{job_id}/result", responses={
    **ERRORS, 409: {"model": ErrorResponse, "description": "The job has no text result (yet)"},
    200: {"content": {media: {} for media in FORMATS.values()}, "description": "The text result"}})  # fmt: skip
def download_result(
    job_id: str,
    jobs: JobServiceDep,
    session: SessionDep,
    principal: PrincipalDep,
    format: Annotated[
        Literal["txt", "srt", "vtt", "json"], Query(description="srt and vtt need timed segments")
    ] = "txt",
) -> Response:
    """The text result of a caption, text, summary or transcript job as a file."""
    job = jobs.get(session, job_id, principal)
    if job.result is None:
        raise Conflict(f"job {job_id!r} has no text result (status {job.status})")
    disposition = f'attachment; filename="{job.id}.{format}"'
    return Response(_text_result(job.result, format), media_type=FORMATS[format],
                    headers={"Content-Disposition": disposition})  # fmt: skip


def _text_result(result: Any, format: str) -> str:
    if format == "json":
        return json.dumps(result, ensure_ascii=False, indent=2)
    try:
        return render(result, format)
    except ValueError as exc:
        raise Conflict(str(exc)) from None


@router.get("/{job_id}/events", responses={
    **ERRORS, 200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"}})  # fmt: skip
async def job_events(
    job_id: str, request: Request, jobs: JobServiceDep, events: EventBusDep, factory: SessionFactoryDep,
    principal: PrincipalDep,
) -> EventSourceResponse:  # fmt: skip
    """Server-Sent Events: `job` (the whole job, first and last), `status`,
    `progress` ({step, total}) per step, `retry`. The stream ends after the
    final `job` event."""
    subscription = events.subscribe(job_id)
    try:
        first = await run_in_threadpool(_read_job, factory, jobs, job_id, principal)
    except BaseException:
        subscription.close()
        raise
    reread = partial(_read_job, factory, jobs, job_id)
    return EventSourceResponse(_stream(request, job_id, first, subscription, reread), ping=15)


def _read_job(
    factory: sessionmaker[Session], jobs: JobService, job_id: str, viewer: Principal | None = None
) -> JobRead:
    with factory() as session:
        return JobRead.of(jobs.get(session, job_id, viewer))


def _sse(event: str, data: Any) -> dict[str, str]:
    return {"event": event, "data": json.dumps(data, default=str)}


async def _stream(
    request: Request, job_id: str, first: JobRead, subscription: Any, reread: Callable[[], JobRead]
) -> AsyncIterator[dict[str, str]]:
    try:
        yield _sse("job", first.model_dump(mode="json"))
        if first.status.is_terminal:
            return
        last_status = first.status
        while not await request.is_disconnected():
            event = await subscription.get(timeout=SSE_RECHECK_SECONDS)
            if event is not None and event.type not in ("done",):
                yield _sse(event.type, {"job_id": job_id, **event.data})
                continue
            # A final event, or quiet for a while: the row decides.
            job = await run_in_threadpool(reread)
            if job.status.is_terminal:
                yield _sse("job", job.model_dump(mode="json"))
                return
            if job.status != last_status:
                last_status = job.status
                yield _sse("status", {"job_id": job_id, "status": job.status.value, "attempts": job.attempts})
    finally:
        subscription.close()
