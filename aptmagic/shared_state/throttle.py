"""Slows down repeated failed log-ins, per account and per client address.

After ``max_failures`` failures inside ``window`` seconds a key is locked for
``lockout`` seconds, doubling with each further failure (up to a cap). A
success clears the account's count. ``MemoryLoginThrottle`` keeps the counts
in this process; ``RedisLoginThrottle`` keeps them in Redis, so every API
process sees the same failures (Redis down: SharedStateUnavailable, a 503)."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import redis

from aptmagic.shared_state.redis import guarded

MAX_TRACKED = 100_000


@dataclass
class _Entry:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginThrottle(Protocol):
    def retry_after(self, *keys: str) -> int:
        """Seconds until every key may try again; 0 if none is locked."""
        ...

    def failure(self, key: str, limit: int | None = None) -> None: ...

    def success(self, key: str) -> None: ...


class MemoryLoginThrottle:
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
                entry.locked_until = now + min(self.lockout * 2 ** min(over, 20), self.max_lockout)

    def success(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def _prune(self, now: float) -> None:
        stale = [
            k
            for k, e in self._entries.items()
            if e.locked_until < now and all(now - t >= self.window for t in e.failures)
        ]
        for key in stale:
            del self._entries[key]
        if len(self._entries) >= MAX_TRACKED:
            self._entries.clear()


# KEYS[1]: sorted set of failure times (microseconds, Redis clock); KEYS[2]: the lock.
# ARGV: limit, window, lockout, max_lockout (seconds).
FAILURE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]) * 1000000
local lockout, max_lockout = tonumber(ARGV[3]), tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZADD', KEYS[1], now, now .. ':' .. math.random(1000000))
redis.call('PEXPIRE', KEYS[1], math.ceil(window / 1000))
local over = redis.call('ZCARD', KEYS[1]) - limit
if over >= 0 then
  local wait = math.min(lockout * 2 ^ math.min(over, 20), max_lockout)
  redis.call('SET', KEYS[2], 1, 'PX', math.ceil(wait * 1000))
end
return over
"""


class RedisLoginThrottle:
    """The same rules as MemoryLoginThrottle, with the counts and locks in Redis."""

    def __init__(
        self, client: redis.Redis, prefix: str, max_failures: int, window: float, lockout: float,
        max_lockout: float = 3600.0,
    ) -> None:  # fmt: skip
        self.client = client
        self.prefix = prefix + "login:"
        self.max_failures = max_failures
        self.window = window
        self.lockout = lockout
        self.max_lockout = max_lockout
        self._failure = client.register_script(FAILURE_LUA)

    def retry_after(self, *keys: str) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.pttl(self.prefix + key + ":lock")
        waits = guarded("log-in throttling", pipe.execute)
        longest = max((int(ms) for ms in waits), default=0)
        return math.ceil(longest / 1000) if longest > 0 else 0

    def failure(self, key: str, limit: int | None = None) -> None:
        args = [limit or self.max_failures, self.window, self.lockout, self.max_lockout]
        keys = [self.prefix + key + ":failures", self.prefix + key + ":lock"]
        guarded("log-in throttling", lambda: self._failure(keys=keys, args=args))

    def success(self, key: str) -> None:
        guarded(
            "log-in throttling",
            lambda: self.client.delete(self.prefix + key + ":failures", self.prefix + key + ":lock"),
        )
