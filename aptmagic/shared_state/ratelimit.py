"""Request rate limits: a token bucket per client address and one per user.

Each bucket holds up to ``burst`` tokens and refills at ``rate`` tokens a
second; a request takes one, or is answered 429 with Retry-After. Only /api/
paths are limited (not pages, /static or /healthz). The per-address limit runs
before authentication, so it also covers sign-up, log-in, presigned uploads
and guessed keys; the per-user limit runs after it.

The buckets live behind the ``RateLimiter`` protocol; ``MemoryRateLimiter``
keeps them in this process (one server process, as the in-process queue is);
``RedisRateLimiter`` keeps them in Redis, so several API processes share them.
When Redis cannot be reached the request is answered 503 with Retry-After."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

import redis

from aptmagic.shared_state.redis import guarded

MAX_BUCKETS = 100_000


class RateLimiter(Protocol):
    def acquire(self, key: str, rate: float, burst: int) -> float:
        """Take one token from ``key``'s bucket: 0.0 if taken, else the seconds until one is available."""
        ...


class MemoryRateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic, max_buckets: int = MAX_BUCKETS) -> None:
        self.clock = clock
        self.max_buckets = max_buckets
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)
        self._lock = threading.Lock()

    def acquire(self, key: str, rate: float, burst: int) -> float:
        now = self.clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(burst), now))
            tokens = min(float(burst), tokens + (now - then) * rate)
            if tokens >= 1.0:
                self._store(key, tokens - 1.0, now, rate, burst)
                return 0.0
            self._store(key, tokens, now, rate, burst)
            return (1.0 - tokens) / rate

    def _store(self, key: str, tokens: float, now: float, rate: float, burst: int) -> None:
        if key not in self._buckets and len(self._buckets) >= self.max_buckets:
            # Buckets that have refilled are the same as no bucket: drop them.
            full = [k for k, (t, when) in self._buckets.items() if t + (now - when) * rate >= burst]
            for stale in full:
                del self._buckets[stale]
            if len(self._buckets) >= self.max_buckets:
                self._buckets.clear()
        self._buckets[key] = (tokens, now)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()


# KEYS[1]: the bucket (a hash of tokens and when, in microseconds of the Redis clock).
# ARGV: rate per second, burst. Returns 0 if a token was taken, else microseconds to wait.
TOKEN_BUCKET_LUA = """
local now_t = redis.call('TIME')
local now = tonumber(now_t[1]) * 1000000 + tonumber(now_t[2])
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'when')
local tokens = tonumber(state[1]) or burst
local when = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - when) * rate / 1000000)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) * 1000000 / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'when', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return wait
"""


class RedisRateLimiter:
    """Token buckets in Redis, updated atomically by one Lua script on the Redis clock."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.prefix = prefix + "ratelimit:"
        self._script = client.register_script(TOKEN_BUCKET_LUA)

    def acquire(self, key: str, rate: float, burst: int) -> float:
        wait = guarded("rate limits", lambda: self._script(keys=[self.prefix + key], args=[rate, burst]))
        return int(wait) / 1_000_000
