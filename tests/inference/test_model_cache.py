"""ModelCache: load once, LRU eviction within a byte budget, never evict a
model in use."""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import pytest

from aptmagic.inference.base import InferenceResult, ModelLoadError, RunContext
from aptmagic.inference.cache import ModelCache
from aptmagic.inference.spec import ModelSpec


class FakeBackend:
    def __init__(self, spec: ModelSpec, size: int, log: list[tuple[str, str]], load_seconds: float = 0.0) -> None:
        self.spec = spec
        self.size = size
        self.log = log
        self.load_seconds = load_seconds
        self.loaded = False

    def setup(self) -> None:
        time.sleep(self.load_seconds)
        self.loaded = True
        self.log.append(("setup", self.spec.id))

    def run(self, params: Any, ctx: RunContext) -> InferenceResult:
        assert self.loaded
        return InferenceResult(text=self.spec.id)

    def unload(self) -> None:
        self.loaded = False
        self.log.append(("unload", self.spec.id))

    def memory_bytes(self) -> int:
        return self.size if self.loaded else 0


def spec(model_id: str, version: str = "1") -> ModelSpec:
    return ModelSpec(id=model_id, task="text-to-image", backend="fake", source=f"fake:{model_id}", version=version)


class Factory:
    def __init__(self, sizes: dict[str, int] | None = None, load_seconds: float = 0.0) -> None:
        self.sizes = sizes or {}
        self.load_seconds = load_seconds
        self.log: list[tuple[str, str]] = []
        self.created: list[FakeBackend] = []
        self.lock = threading.Lock()

    def __call__(self, model: ModelSpec) -> FakeBackend:
        backend = FakeBackend(model, self.sizes.get(model.id, 10), self.log, self.load_seconds)
        with self.lock:
            self.created.append(backend)
        return backend

    def events(self, kind: str) -> list[str]:
        return [model_id for k, model_id in self.log if k == kind]


def loaded_ids(cache: ModelCache) -> list[str]:
    return [entry.id for entry in cache.loaded()]


def test_loads_once_and_reuses() -> None:
    factory = Factory()
    cache = ModelCache(1000, factory)
    a = spec("a")
    with cache.use(a) as first:
        assert first.run(None, RunContext("j", 0)).text == "a"  # type: ignore[arg-type]
    with cache.use(a) as second:
        assert second is first
    assert factory.events("setup") == ["a"]
    assert len(factory.created) == 1
    [entry] = cache.loaded()
    assert (entry.id, entry.version, entry.bytes, entry.in_use) == ("a", "1", 10, 0)
    assert entry.load_seconds >= 0


def test_a_new_version_is_a_new_model() -> None:
    factory = Factory()
    cache = ModelCache(1000, factory)
    with cache.use(spec("a", "1")) as v1, cache.use(spec("a", "2")) as v2:
        assert v1 is not v2
    assert [(m.id, m.version) for m in cache.loaded()] == [("a", "1"), ("a", "2")]


def test_in_use_is_counted() -> None:
    cache = ModelCache(1000, Factory())
    a = spec("a")
    with cache.use(a):
        with cache.use(a):
            assert cache.loaded()[0].in_use == 2
        assert cache.loaded()[0].in_use == 1
    assert cache.loaded()[0].in_use == 0


def test_in_use_is_released_when_the_run_raises() -> None:
    cache = ModelCache(1000, Factory())
    with pytest.raises(RuntimeError), cache.use(spec("a")):
        raise RuntimeError("run failed")
    assert cache.loaded()[0].in_use == 0


def test_lru_eviction_over_budget_unloads_the_least_recently_used() -> None:
    factory = Factory({"a": 40, "b": 40, "c": 40})
    cache = ModelCache(100, factory)
    with cache.use(spec("a")):
        pass
    with cache.use(spec("b")):
        pass
    with cache.use(spec("a")):  # a is now more recent than b
        pass
    with cache.use(spec("c")):
        pass
    assert factory.events("unload") == ["b"]
    assert sorted(loaded_ids(cache)) == ["a", "c"]
    assert loaded_ids(cache) == ["a", "c"]  # least recent first
    evicted = next(b for b in factory.created if b.spec.id == "b")
    assert evicted.loaded is False


def test_eviction_frees_as_many_as_needed() -> None:
    factory = Factory({"a": 30, "b": 30, "c": 30, "big": 80})
    cache = ModelCache(100, factory)
    for model_id in ("a", "b", "c"):
        with cache.use(spec(model_id)):
            pass
    with cache.use(spec("big")):
        pass
    assert factory.events("unload") == ["a", "b", "c"]
    assert loaded_ids(cache) == ["big"]


def test_within_budget_nothing_is_evicted() -> None:
    factory = Factory({"a": 50, "b": 50})
    cache = ModelCache(100, factory)
    for model_id in ("a", "b", "a", "b"):
        with cache.use(spec(model_id)):
            pass
    assert factory.events("unload") == []
    assert factory.events("setup") == ["a", "b"]


def test_a_model_in_use_is_never_evicted(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="aptmagic.inference.cache")
    factory = Factory({"a": 60, "b": 60, "c": 60})
    cache = ModelCache(100, factory)
    with cache.use(spec("a")) as busy:
        with cache.use(spec("b")):
            # a is busy and b was just loaded: over budget, a warning, nothing unloaded yet
            assert factory.events("unload") == []
            assert sorted(loaded_ids(cache)) == ["a", "b"]
        assert "exceed the memory budget" in caplog.text
        # released while over budget: the idle b goes, the busy a stays
        assert factory.events("unload") == ["b"]
        with cache.use(spec("c")):
            assert sorted(loaded_ids(cache)) == ["a", "c"]
        assert factory.events("unload") == ["b", "c"]
        assert busy.loaded
        assert busy.run(None, RunContext("j", 0)).text == "a"  # type: ignore[arg-type]
    assert loaded_ids(cache) == ["a"]
    # once a is idle it can be evicted like any other
    with cache.use(spec("b")):
        pass
    assert factory.events("unload") == ["b", "c", "a"]
    assert loaded_ids(cache) == ["b"]


def test_zero_budget_keeps_only_the_model_in_use() -> None:
    factory = Factory()
    cache = ModelCache(0, factory)
    for model_id in ("a", "b", "c"):
        with cache.use(spec(model_id)):
            assert loaded_ids(cache) == [model_id]
    assert factory.events("unload") == ["a", "b", "c"]
    assert loaded_ids(cache) == []


def test_unload_all() -> None:
    factory = Factory()
    cache = ModelCache(1000, factory)
    for model_id in ("a", "b"):
        with cache.use(spec(model_id)):
            pass
    cache.unload_all()
    assert sorted(factory.events("unload")) == ["a", "b"]
    assert cache.loaded() == []
    assert all(not backend.loaded for backend in factory.created)
    with cache.use(spec("a")):  # loads again after unload_all
        pass
    assert factory.events("setup") == ["a", "b", "a"]


def test_a_failed_load_is_not_cached() -> None:
    calls: list[str] = []
    log: list[tuple[str, str]] = []

    class Broken(FakeBackend):
        def setup(self) -> None:
            raise ModelLoadError("weights are broken")

    def create(model: ModelSpec) -> FakeBackend:
        calls.append(model.id)
        cls = Broken if len(calls) == 1 else FakeBackend
        return cls(model, 10, log)

    cache = ModelCache(1000, create)
    with pytest.raises(ModelLoadError), cache.use(spec("a")):
        pass
    assert cache.loaded() == []
    with cache.use(spec("a")) as backend:
        assert backend.loaded
    assert calls == ["a", "a"]


def test_concurrent_users_share_one_load() -> None:
    factory = Factory(load_seconds=0.1)
    cache = ModelCache(1000, factory)
    got: list[Any] = []
    errors: list[BaseException] = []
    start = threading.Barrier(4)

    def worker() -> None:
        try:
            start.wait(5)
            with cache.use(spec("a")) as backend:
                got.append(backend)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert not errors
    assert len(got) == 4 and len({id(b) for b in got}) == 1
    assert factory.events("setup") == ["a"]
    assert cache.loaded()[0].in_use == 0
