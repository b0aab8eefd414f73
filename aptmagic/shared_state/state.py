"""The shared state one process uses, memory or Redis twins alike."""

from __future__ import annotations

from dataclasses import dataclass

import redis

from aptmagic.shared_state.cancels import CancelSignals
from aptmagic.shared_state.events import JobEventBus
from aptmagic.shared_state.ratelimit import RateLimiter
from aptmagic.shared_state.results import ResultCache
from aptmagic.shared_state.throttle import LoginThrottle


@dataclass
class SharedState:
    results: ResultCache
    limiter: RateLimiter
    throttle: LoginThrottle
    events: JobEventBus
    cancels: CancelSignals
    client: redis.Redis | None = None

    def check(self) -> None:
        """Raise if Redis is configured and cannot be reached."""
        if self.client is not None:
            self.client.ping()

    def close(self) -> None:
        self.events.close()
        if self.client is not None:
            self.client.close()
