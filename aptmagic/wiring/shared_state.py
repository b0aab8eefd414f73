"""Chooses the in-process or the Redis implementations of the shared state
(result cache, rate limits, log-in throttle, job events, cancel signals)
from ``Settings.redis_url``."""

from __future__ import annotations

from aptmagic.config import Settings
from aptmagic.shared_state.cancels import MemoryCancelSignals, RedisCancelSignals
from aptmagic.shared_state.events import MemoryJobEventBus, RedisJobEventBus
from aptmagic.shared_state.ratelimit import MemoryRateLimiter, RedisRateLimiter
from aptmagic.shared_state.redis import create_redis
from aptmagic.shared_state.results import MemoryResultCache, RedisResultCache
from aptmagic.shared_state.state import SharedState
from aptmagic.shared_state.throttle import MemoryLoginThrottle, RedisLoginThrottle


def build_shared_state(settings: Settings) -> SharedState:
    """Nothing connects here; the first command does."""
    window, lockout = settings.login_failure_window_seconds, settings.login_lockout_seconds
    if not settings.redis_url:
        return SharedState(
            MemoryResultCache(), MemoryRateLimiter(), MemoryLoginThrottle(settings.login_max_failures, window, lockout),
            MemoryJobEventBus(), MemoryCancelSignals(),
        )  # fmt: skip
    client = create_redis(settings.redis_url, settings.redis_timeout_seconds)
    prefix = settings.redis_prefix
    return SharedState(
        RedisResultCache(client, prefix, settings.result_cache_ttl_seconds),
        RedisRateLimiter(client, prefix),
        RedisLoginThrottle(client, prefix, settings.login_max_failures, window, lockout),
        RedisJobEventBus(client, prefix),
        RedisCancelSignals(client, prefix),
        client,
    )
