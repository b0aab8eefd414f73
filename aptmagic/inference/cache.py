"""Warm models in an LRU cache with a memory budget.

A model in use by a running job is never unloaded; when every loaded model is
busy the budget may be exceeded for a while, with a warning."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from aptmagic.inference.base import InferenceBackend
from aptmagic.inference.spec import ModelSpec

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    backend: InferenceBackend
    bytes: int
    in_use: int = 0
    load_seconds: float = 0.0


@dataclass(frozen=True)
class LoadedModel:
    id: str
    version: str
    bytes: int
    in_use: int
    load_seconds: float


class ModelCache:
    def __init__(self, budget_bytes: int, create: Callable[[ModelSpec], InferenceBackend]) -> None:
        self.budget_bytes = budget_bytes
        self._create = create
        self._entries: OrderedDict[tuple[str, str], _Entry] = OrderedDict()
        self._lock = threading.RLock()
        self._loading: dict[tuple[str, str], threading.Lock] = {}
        self.on_load: Callable[[str, float, int], None] | None = None  # (model id, seconds, bytes), for metrics
        self.on_unload: Callable[[str], None] | None = None

    @contextmanager
    def use(self, spec: ModelSpec) -> Iterator[InferenceBackend]:
        entry = self._acquire(spec)
        try:
            yield entry.backend
        finally:
            with self._lock:
                entry.in_use -= 1
                if self._total() > self.budget_bytes:
                    self._evict(keep=None)

    def _acquire(self, spec: ModelSpec) -> _Entry:
        """Loads happen outside the cache lock: one load per model at a time,
        while warm models and listings stay available to other threads."""
        key = (spec.id, spec.version)
        with self._lock:
            entry = self._take(key)
            if entry is not None:
                return entry
            loading = self._loading.setdefault(key, threading.Lock())
        with loading:
            with self._lock:
                entry = self._take(key)
                if entry is not None:
                    return entry
            loaded = self._load(spec)
            with self._lock:
                self._entries[key] = loaded
                self._evict(keep=key)
                taken = self._take(key)
                assert taken is not None
                return taken

    def _take(self, key: tuple[str, str]) -> _Entry | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        self._entries.move_to_end(key)
        entry.in_use += 1
        return entry

    def _load(self, spec: ModelSpec) -> _Entry:
        started = time.perf_counter()
        backend = self._create(spec)
        backend.setup()
        seconds = time.perf_counter() - started
        size = backend.memory_bytes()
        log.info("model loaded", extra={"model": spec.id, "bytes": size, "seconds": round(seconds, 3)})
        if self.on_load is not None:
            self.on_load(spec.id, seconds, size)
        return _Entry(backend=backend, bytes=size, load_seconds=seconds)

    def _evict(self, keep: tuple[str, str] | None) -> None:
        for key in list(self._entries):
            if self._total() <= self.budget_bytes:
                return
            entry = self._entries[key]
            if key == keep or entry.in_use:
                continue
            entry.backend.unload()
            del self._entries[key]
            log.info("model unloaded to stay in budget", extra={"model": key[0]})
            if self.on_unload is not None:
                self.on_unload(key[0])
        if self._total() > self.budget_bytes:
            log.warning("loaded models exceed the memory budget", extra={"bytes": self._total()})

    def _total(self) -> int:
        return sum(entry.bytes for entry in self._entries.values())

    def loaded(self) -> list[LoadedModel]:
        with self._lock:
            return [LoadedModel(k[0], k[1], e.bytes, e.in_use, e.load_seconds) for k, e in self._entries.items()]

    def unload_all(self) -> None:
        with self._lock:
            for key, entry in self._entries.items():
                entry.backend.unload()
                if self.on_unload is not None:
                    self.on_unload(key[0])
            self._entries.clear()
