"""The Redis client shared by the result cache, rate limits, log-in throttle,
job events and cancel signals, and the error every Redis failure becomes.

Calls are bounded: connect and socket timeouts, and one quick retry, so a
Redis that is down answers in about two timeouts at worst, never hangs."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from aptmagic.kit.errors import Unavailable

RETRY_AFTER_SECONDS = 5
WARN_EVERY_SECONDS = 60.0
T = TypeVar("T")
_last_warning: dict[str, float] = {}
_warning_lock = threading.Lock()


class SharedStateUnavailable(Unavailable):
    """Redis cannot be reached: the request is answered 503 with Retry-After."""

    code = "shared_state_unavailable"

    def __init__(self, what: str) -> None:
        super().__init__(
            f"the shared state store (Redis) cannot be reached for {what}; try again in {RETRY_AFTER_SECONDS} seconds",
            details={"retry_after": RETRY_AFTER_SECONDS},
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )


def create_redis(url: str, timeout: float) -> redis.Redis:
    """A pooled client; nothing connects until the first command."""
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        health_check_interval=30,
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.05), retries=1),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
    )


def guarded(what: str, call: Callable[[], T]) -> T:
    """Run one Redis call; connection trouble becomes SharedStateUnavailable."""
    try:
        return call()
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        raise SharedStateUnavailable(what) from exc


def warn_sometimes(logger: logging.Logger, message: str, **extra: Any) -> None:
    """Log a degraded-mode warning at most once a minute per message: an outage must not flood the log."""
    now = time.monotonic()
    with _warning_lock:
        if now - _last_warning.get(message, -WARN_EVERY_SECONDS) < WARN_EVERY_SECONDS:
            return
        _last_warning[message] = now
    logger.warning(message, extra=extra)


class Breaker:
    """For calls that may be skipped (cache, events, cancel signals): after a
    failure, skip Redis for ``pause`` seconds instead of paying a timeout on
    every call (a running job checks for a cancel at every step)."""

    def __init__(self, pause: float = 5.0) -> None:
        self.pause = pause
        self._until = 0.0

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._until

    def trip(self) -> None:
        self._until = time.monotonic() + self.pause
