"""Slows down repeated failed log-ins, per account and per client address.

After ``max_failures`` failures inside ``window`` seconds a key is locked for
``lockout`` seconds, doubling with each further failure (up to a cap). A
success clears the account's count. Kept in memory: one process, as the
in-process queue is; a shared store would replace it with several workers."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_TRACKED = 100_000


@dataclass
class _Entry:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        max_failures: int,
        window: float,
        lockout: float,
        max_lockout: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_lockout = max_lockout
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def retry_after(self, *keys: str) -> int:
        """Seconds until every key may try again; 0 if none is locked."""
        now = self.clock()
        with self._lock:
            waits = [self._entries[k].locked_until - now for k in keys if k in self._entries]
        longest = max(waits, default=0.0)
        return math.ceil(longest) if longest > 0 else 0

    def failure(self, key: str, limit: int | None = None) -> None:
        now = self.clock()
        limit = limit or self.max_failures
        with self._lock:
            if len(self._entries) >= MAX_TRACKED:
                self._prune(now)
            entry = self._entries.setdefault(key, _Entry())
            entry.failures = [t for t in entry.failures if now - t < self.window] + [now]
            over = len(entry.failures) - limit
            if over >= 0:
                entry.locked_until = now + min(self.lockout * 2**min(over, 20), self.max_lockout)

    def success(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _prune(self, now: float) -> None:
        stale = [k for k, e in self._entries.items() if e.locked_until < now and all(now - t >= self.window for t in e.failures)]
        for key in stale:
            del self._entries[key]
        if len(self._entries) >= MAX_TRACKED:
            self._entries.clear()
