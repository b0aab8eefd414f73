"""Job payloads as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from aptmagic.inference.circuit import CircuitState
from aptmagic.jobs.models import Job, JobStatus


class JobProgress(BaseModel):
    step: int
    total: int
    fraction: float = Field(description="step / total, 0..1")


class JobTimings(BaseModel):
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    queue_wait_ms: float | None = Field(description="From submit to the last start.")
    run_ms: float | None = Field(description="From the last start to the end.")
    inference_ms: float | None = Field(description="Time inside the model.")


class JobErrorInfo(BaseModel):
    code: str
    message: str


class JobOutputRead(BaseModel):
    asset_id: str
    url: str
    content_type: str
    width: int | None
    height: int | None
    size_bytes: int


class JobLinks(BaseModel):
    self: str
    events: str
    cancel: str


class JobRead(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    id: str
    task: str
    model: str
    model_version: str
    status: JobStatus
    params: dict[str, Any]
    seed: int | None
    progress: JobProgress
    attempts: int
    max_attempts: int
    cancel_requested: bool
    cache_hit: bool
    cached_from: str | None = Field(description="The job whose stored result answered this one.")
    served_from: str | None = Field(
        description=(
            "Who made the outputs: `engine` (the model's own), `failover:<model id>` (another model, its own "
            "engine being down), or `fallback` (every engine down: an earlier stored result of the same "
            "request with another seed, named by `cached_from`; not a fresh generation). Null until the job "
            "succeeds, and for cache hits."
        )
    )
    error: JobErrorInfo | None
    outputs: list[JobOutputRead]
    result: dict[str, Any] | None = Field(description="Text results of text tasks.")
    timings: JobTimings
    links: JobLinks

    @classmethod
    def of(cls, job: Job) -> JobRead:
        base = f"/api/v1/jobs/{job.id}"
        total = job.progress_total or 0
        return cls(
            id=job.id,
            task=job.task,
            model=job.model_id,
            model_version=job.model_version,
            status=JobStatus(job.status),
            params=job.params,
            seed=job.seed,
            progress=JobProgress(
                step=job.progress_step, total=total, fraction=(job.progress_step / total) if total else 0.0
            ),
            attempts=job.attempts,
            max_attempts=job.max_attempts,
            cancel_requested=job.cancel_requested,
            cache_hit=job.cache_hit,
            cached_from=job.cached_from_id,
            served_from=job.served_from,
            error=JobErrorInfo(code=job.error_code, message=job.error_message or "") if job.error_code else None,
            outputs=[
                JobOutputRead(
                    asset_id=out.asset.id,
                    url=f"/api/v1/assets/{out.asset.id}",
                    content_type=out.asset.content_type,
                    width=out.asset.width,
                    height=out.asset.height,
                    size_bytes=out.asset.size_bytes,
                )
                for out in job.outputs
            ],
            result=job.result,
            timings=_timings(job),
            links=JobLinks(self=base, events=f"{base}/events", cancel=f"{base}/cancel"),
        )


def _ms(start: datetime | None, end: datetime | None) -> float | None:
    if start is None or end is None:
        return None
    return round((end - start).total_seconds() * 1000, 3)


def _timings(job: Job) -> JobTimings:
    return JobTimings(
        created_at=job.created_at,
        started_at=job.started_at,
        finished_at=job.finished_at,
        queue_wait_ms=_ms(job.created_at, job.started_at),
        run_ms=_ms(job.started_at, job.finished_at),
        inference_ms=job.inference_ms,
    )


class JobPage(BaseModel):
    items: list[JobRead]
    next_cursor: str | None = Field(description="Pass as ?cursor= for the next page; null at the end.")


class EngineRead(BaseModel):
    backend: str
    remote: bool = Field(description="The engine runs elsewhere (an OpenAI-compatible server, Bedrock, SageMaker).")
    circuit: CircuitState = Field(
        description="closed: calls go through; open: the engine failed repeatedly and calls are refused until "
        "its cool-down ends; half-open: one probe call is testing it. As seen by this process."
    )


class ModelRead(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    id: str
    task: str
    backend: str
    source: str = Field(description="Hub id, folder, engine URL (without credentials or query), model id or endpoint.")
    version: str
    device: str
    default: bool
    default_params: dict[str, Any]
    limits: dict[str, int]
    license: str
    size: str
    description: str
    loaded: bool
    engine: EngineRead
    failover: list[str] = Field(description="Models tried in order when this one's engine is down.")
    fallback_to_stored: bool = Field(description="Every engine down: answer from an earlier stored result.")
