"""What the job routes tell the rest of the system, as interfaces the composition root fills."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from aptmagic.jobs.models import Job


class SubmitObserver(Protocol):
    def on_submit(self, session: Session, job: Job, webhook_url: str | None) -> None:
        """A new job (not a replay), in its submit's transaction: may add rows, never commits."""
        ...


class EngineObserver(Protocol):
    """What the runner tells about the engines it calls (for metrics); quick, and never raises."""

    def engine_call(self, model_id: str, backend: str, seconds: float | None, error_code: str | None) -> None:
        """One call to a model's engine: ``seconds`` None when its circuit refused it; ``error_code`` None on success."""
        ...

    def served(self, task: str, model_id: str, served_from: str) -> None:
        """A job succeeded: ``engine``, ``failover:<model id>`` or ``fallback`` (a stored result)."""
        ...


class NoEngineObserver:
    def engine_call(self, model_id: str, backend: str, seconds: float | None, error_code: str | None) -> None:
        pass

    def served(self, task: str, model_id: str, served_from: str) -> None:
        pass
