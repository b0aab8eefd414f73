"""The result cache: which succeeded job answers a request already.

``cache_key`` is the same task, model and version, and normalised params
(seed included; ``fallback_key`` leaves the seed out). The job rows are the
truth (``JobRepository.find_cached``); a ``ResultCache`` remembers the answer of that lookup, per owner, so repeated
requests skip the query. ``MemoryResultCache`` keeps it in this process,
``RedisResultCache`` in Redis for every API process. A stale entry is
harmless: the caller re-checks the row it names.

Redis down: the cache degrades to a miss (logged, at most once a minute) and
the request goes on to the database; it is never answered 503 for the cache."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections import OrderedDict
from typing import Any, Protocol

import redis

from aptmagic.shared_state.redis import Breaker, warn_sometimes

log = logging.getLogger(__name__)
MEMORY_ENTRIES = 10_000


def cache_key(task: str, model_id: str, model_version: str, params: dict[str, Any]) -> str:
    return _digest({"task": task, "model": model_id, "version": model_version, "params": params})


def fallback_key(task: str, model_id: str, model_version: str, params: dict[str, Any]) -> str:
    """``cache_key`` with the seed left out: any earlier result of the same request, whatever its seed.
    What a model with ``fallback_to_stored`` answers from when its engines are down."""
    unseeded = {name: value for name, value in params.items() if name != "seed"}
    return _digest({"task": task, "model": model_id, "version": model_version, "params": unseeded, "seed": "any"})


def _digest(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def owner_scope(key: str, owner_id: str | None) -> str:
    """A cache hit never hands out another user's outputs: entries are per owner."""
    return f"{owner_id or '-'}:{key}"


class ResultCache(Protocol):
    def get(self, scoped_key: str) -> str | None:
        """The id of a job that answered this request, or None."""
        ...

    def put(self, scoped_key: str, job_id: str) -> None: ...

    def forget(self, scoped_key: str) -> None: ...


class MemoryResultCache:
    """Least recently used entries are dropped past ``max_entries``."""

    def __init__(self, max_entries: int = MEMORY_ENTRIES) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, scoped_key: str) -> str | None:
        with self._lock:
            job_id = self._entries.get(scoped_key)
            if job_id is not None:
                self._entries.move_to_end(scoped_key)
            return job_id

    def put(self, scoped_key: str, job_id: str) -> None:
        with self._lock:
            self._entries[scoped_key] = job_id
            self._entries.move_to_end(scoped_key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def forget(self, scoped_key: str) -> None:
        with self._lock:
            self._entries.pop(scoped_key, None)


class RedisResultCache:
    def __init__(self, client: redis.Redis, prefix: str, ttl_seconds: int) -> None:
        self.client = client
        self.prefix = prefix + "result:"
        self.ttl_seconds = ttl_seconds
        self.breaker = Breaker()

    def get(self, scoped_key: str) -> str | None:
        if self.breaker.is_open:
            return None
        try:
            value = self.client.get(self.prefix + scoped_key)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._warn(exc)
            return None
        return value.decode() if isinstance(value, bytes) else None

    def put(self, scoped_key: str, job_id: str) -> None:
        self._quietly(lambda: self.client.set(self.prefix + scoped_key, job_id, ex=self.ttl_seconds))

    def forget(self, scoped_key: str) -> None:
        self._quietly(lambda: self.client.delete(self.prefix + scoped_key))

    def _quietly(self, call: Any) -> None:
        if self.breaker.is_open:
            return
        try:
            call()
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            self._warn(exc)

    def _warn(self, exc: Exception) -> None:
        self.breaker.trip()
        warn_sometimes(log, "result cache unavailable; answering from the database", error=str(exc))
