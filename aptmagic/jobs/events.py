"""In-process publish/subscribe of job events, for Server-Sent Events.

Publishers are worker threads; subscribers are coroutines on the event loop.
The job row stays the source of truth: a subscriber that misses an event
re-reads the row, so the bus may drop events under pressure."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MAX_PENDING = 1000


@dataclass
class JobEvent:
    type: str
    job_id: str
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    def __init__(self, bus: JobEventBus, job_id: str, loop: asyncio.AbstractEventLoop) -> None:
        self.bus = bus
        self.job_id = job_id
        self.loop = loop
        self.queue: asyncio.Queue[JobEvent] = asyncio.Queue()

    def deliver(self, event: JobEvent) -> None:
        if self.queue.qsize() < MAX_PENDING or event.type != "progress":
            self.queue.put_nowait(event)

    async def get(self, timeout: float) -> JobEvent | None:
        try:
            return await asyncio.wait_for(self.queue.get(), timeout)
        except TimeoutError:
            return None

    def close(self) -> None:
        self.bus.unsubscribe(self)


class JobEventBus:
    def __init__(self) -> None:
        self._subs: dict[str, set[Subscription]] = defaultdict(set)
        self._lock = threading.Lock()
        self._listeners: list[Callable[[JobEvent], None]] = []

    def add_listener(self, listener: Callable[[JobEvent], None]) -> None:
        """Called with every event in the publisher's thread; must be quick and never raise."""
        self._listeners.append(listener)

    def subscribe(self, job_id: str) -> Subscription:
        sub = Subscription(self, job_id, asyncio.get_running_loop())
        with self._lock:
            self._subs[job_id].add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            subs = self._subs.get(sub.job_id)
            if subs is not None:
                subs.discard(sub)
                if not subs:
                    del self._subs[sub.job_id]

    def publish(self, event: JobEvent) -> None:
        for listener in self._listeners:
            listener(event)
        with self._lock:
            subs = list(self._subs.get(event.job_id, ()))
        for sub in subs:
            try:
                sub.loop.call_soon_threadsafe(sub.deliver, event)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(sub)

    def subscriber_count(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._subs.values())
