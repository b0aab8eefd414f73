"""Answering a job from a stored result when every engine of its model is down.

Only for models with ``fallback_to_stored``. The stored result is the owner's newest
succeeded job of the same request (task, model, model version and params, seed aside:
``fallback_key``) that an engine made (never an earlier fallback), with its output files
still present; another owner's result is never used. The job links to the same outputs,
as a cache hit does, and says what it is: ``served_from`` is ``fallback``,
``cached_from`` names the job that made them, and its ``result`` carries
``served_from``, ``fallback_of``, ``fallback_seed`` and ``fallback_reason``."""

from __future__ import annotations

import enum
from typing import Any, Protocol

from sqlalchemy.orm import Session

from aptmagic.assets.service import AssetService
from aptmagic.db.base import utcnow
from aptmagic.jobs.models import Job
from aptmagic.jobs.repository import JobRepository, LeaseRepository
from aptmagic.shared_state.results import fallback_key

FALLBACK = "fallback"


class StoredJob(Protocol):
    """The claimed job, as far as a fallback reads it."""

    @property
    def id(self) -> str: ...
    @property
    def token(self) -> str: ...
    @property
    def task(self) -> str: ...
    @property
    def model_id(self) -> str: ...
    @property
    def model_version(self) -> str: ...
    @property
    def params(self) -> dict[str, Any]: ...
    @property
    def owner_id(self) -> str | None: ...


class Outcome(enum.Enum):
    none = "none"  # nothing stored matches: the job retries as usual
    answered = "answered"
    lost = "lost"  # a match, but this worker no longer holds the job: nothing more to do


class StoredAnswers:
    def __init__(self, assets: AssetService) -> None:
        self.assets = assets

    def answer(self, session: Session, job: StoredJob, reason: str) -> Outcome:
        """In the caller's transaction: end the job as succeeded from a stored result, if one matches."""
        source = self._source(session, job)
        if source is None:
            return Outcome.none
        result = {
            **(source.result or {}),
            "served_from": FALLBACK,
            "fallback_of": source.id,
            "fallback_seed": source.seed,
            "fallback_reason": reason,
        }
        held = LeaseRepository(session).succeed(
            job.id, job.token, now=utcnow(), inference_ms=None, result=result,
            served_from=FALLBACK, cached_from_id=source.id,
        )  # fmt: skip
        if not held:
            return Outcome.lost
        JobRepository(session).link_outputs(job.id, [out.asset_id for out in source.outputs])
        return Outcome.answered

    def _source(self, session: Session, job: StoredJob) -> Job | None:
        key = fallback_key(job.task, job.model_id, job.model_version, job.params)
        for candidate in JobRepository(session).find_fallbacks(key, job.owner_id):
            if not candidate.outputs and candidate.result is None:
                continue
            if self.assets.blobs_present([out.asset for out in candidate.outputs]):
                return candidate
        return None
