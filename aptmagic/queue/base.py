"""The job queue protocol. A queue carries job ids only; the row is the truth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

JobHandler = Callable[[str], None]


class JobQueue(Protocol):
    def enqueue(self, job_id: str, queue: str = "cpu", delay: float = 0.0) -> None:
        """Deliver ``job_id`` to a worker after ``delay`` seconds. Call after commit."""
        ...

    def start(self, handler: JobHandler) -> None:
        """Begin delivering ids to ``handler`` (in this process, if the backend runs workers here)."""
        ...

    def stop(self, timeout: float) -> None:
        """Stop taking ids; wait up to ``timeout`` s for handlers that are running."""
        ...

    def depth(self) -> int: ...

    def depths(self) -> dict[str, int]:
        """Ids waiting per queue name."""
        ...

    def check(self) -> None:
        """Raise aptmagic.kit.errors.Unavailable (503) when ids cannot be taken now."""
        ...

    @property
    def runs_workers_here(self) -> bool:
        """True when jobs run in this process, so a restart may find its own
        orphaned ``running`` rows and requeue them."""
        ...
