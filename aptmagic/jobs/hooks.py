"""What the job routes tell the rest of the system, as interfaces the composition root fills."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy.orm import Session

from aptmagic.jobs.models import Job


class SubmitObserver(Protocol):
    def on_submit(self, session: Session, job: Job, webhook_url: str | None) -> None:
        """A new job (not a replay), in its submit's transaction: may add rows, never commits."""
        ...
