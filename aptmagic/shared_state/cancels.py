"""Cancel requests seen by running jobs without a database read.

The job row's ``cancel_requested`` stays the truth (the runner polls it every
few seconds); these signals only make a cancel felt at the next step.
``MemoryCancelSignals`` reaches workers in this process; ``RedisCancelSignals``
keeps a short-lived key per job in Redis, so a cancel on any API process
reaches the worker on any machine. A key, unlike a pub/sub message, cannot be
missed by a worker that starts listening late. Redis down: the signal is
skipped with a warning and the row's flag still stops the job."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

import redis

from aptmagic.shared_state.redis import Breaker, warn_sometimes

log = logging.getLogger(__name__)
SIGNAL_TTL_SECONDS = 24 * 3600


class CancelSignals(Protocol):
    def request(self, job_id: str) -> None: ...

    def is_requested(self, job_id: str) -> bool: ...

    def clear(self, job_id: str) -> None: ...


class MemoryCancelSignals:
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


class RedisCancelSignals:
    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.prefix = prefix + "cancel:"
        self.breaker = Breaker()

    def request(self, job_id: str) -> None:
        try:
            self.client.set(self.prefix + job_id, 1, ex=SIGNAL_TTL_SECONDS)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            warn_sometimes(log, "cancel signal not sent; the job row still asks for the cancel", error=str(exc))

    def is_requested(self, job_id: str) -> bool:
        """Checked at every step of a running job: while Redis is failing it is
        asked at most once per breaker pause, and the answer meanwhile is no."""
        if self.breaker.is_open:
            return False
        try:
            return bool(self.client.exists(self.prefix + job_id))
        except (redis.ConnectionError, redis.TimeoutError):
            self.breaker.trip()
            return False

    def clear(self, job_id: str) -> None:
        try:
            self.client.delete(self.prefix + job_id)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            warn_sometimes(log, "cancel signal not cleared; it expires by itself", error=str(exc))
