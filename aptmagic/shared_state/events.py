"""Publish/subscribe of job events, for Server-Sent Events.

Publishers are worker threads; subscribers are coroutines on the event loop.
The job row stays the source of truth: a subscriber that misses an event
re-reads the row, so the bus may drop events under pressure (or while Redis
is down). ``MemoryJobEventBus`` reaches subscribers in this process;
``RedisJobEventBus`` sends every event through Redis pub/sub, so a worker on
another machine reaches the SSE streams of every API process."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import redis

from aptmagic.shared_state.redis import Breaker, warn_sometimes

log = logging.getLogger(__name__)
MAX_PENDING = 1000
RECONNECT_MAX_SECONDS = 5.0


@dataclass
class JobEvent:
    type: str
    job_id: str
    data: dict[str, Any] = field(default_factory=dict)


class Subscription:
    def __init__(self, bus: MemoryJobEventBus, job_id: str, loop: asyncio.AbstractEventLoop) -> None:
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


class JobEventBus(Protocol):
    def subscribe(self, job_id: str) -> Subscription:
        """Call on the event loop that will read the subscription."""
        ...

    def publish(self, event: JobEvent) -> None:
        """From any thread; never raises for a delivery problem."""
        ...

    def add_listener(self, listener: Callable[[JobEvent], None]) -> None:
        """Called with every event this process publishes, in the publisher's thread (events that
        arrive from other processes are not repeated to it); must be quick and never raise."""
        ...

    def subscriber_count(self) -> int: ...

    def close(self) -> None: ...


class MemoryJobEventBus:
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

    def close(self) -> None:
        return None


class RedisJobEventBus:
    """Events go out on channel ``<prefix>events:<job id>``; one listener thread
    per process takes them all in and hands them to its local subscribers."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self.client = client
        self.channel_prefix = prefix + "events:"
        self.local = MemoryJobEventBus()
        self.breaker = Breaker()  # publishing is skipped for a while after a failure
        self.listening = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._listeners: list[Callable[[JobEvent], None]] = []

    def add_listener(self, listener: Callable[[JobEvent], None]) -> None:
        self._listeners.append(listener)

    def start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._listen, name="job-events-redis", daemon=True)
                self._thread.start()

    def subscribe(self, job_id: str) -> Subscription:
        self.start()
        return self.local.subscribe(job_id)

    def publish(self, event: JobEvent) -> None:
        for listener in self._listeners:
            listener(event)
        if self.breaker.is_open:
            self.local.publish(event)
            return
        message = json.dumps({"type": event.type, "job_id": event.job_id, "data": event.data}, default=str)
        try:
            self.client.publish(self.channel_prefix + event.job_id, message)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self.breaker.trip()
            warn_sometimes(log, "job events not sent through Redis; only this process sees them", error=str(exc))
            self.local.publish(event)

    def subscriber_count(self) -> int:
        return self.local.subscriber_count()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def _listen(self) -> None:
        backoff = 0.1
        while not self._stop.is_set():
            try:
                self._pump()
                backoff = 0.1
            except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
                self.listening.clear()
                warn_sometimes(log, "job events: Redis unreachable, reconnecting", error=str(exc))
                self._stop.wait(backoff)
                backoff = min(backoff * 2, RECONNECT_MAX_SECONDS)

    def _pump(self) -> None:
        pubsub = self.client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
        try:
            pubsub.psubscribe(self.channel_prefix + "*")
            self.listening.set()
            while not self._stop.is_set():
                message = pubsub.get_message(timeout=0.5)
                if message is not None and message.get("type") == "pmessage":
                    self._deliver(message["data"])
        finally:
            pubsub.close()

    def _deliver(self, raw: bytes) -> None:
        try:
            body = json.loads(raw)
            event = JobEvent(str(body["type"]), str(body["job_id"]), dict(body.get("data") or {}))
        except (ValueError, KeyError, TypeError):
            log.warning("job events: dropped a malformed message")
            return
        self.local.publish(event)
