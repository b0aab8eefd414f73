"""Cancel requests seen by the workers of this process without a database read."""

from __future__ import annotations

import threading


class CancelSignals:
    def __init__(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()

    def request(self, job_id: str) -> None:
        with self._lock:
            self._ids.add(job_id)

    def is_requested(self, job_id: str) -> bool:
        with self._lock:
            return job_id in self._ids

    def clear(self, job_id: str) -> None:
        with self._lock:
            self._ids.discard(job_id)
