"""What the remote backends share: the per-engine in-flight limit and calls a cancel abandons."""

from __future__ import annotations

import threading
import time

import pytest

from aptmagic.inference.base import JobCanceled, RunContext, TransientInferenceError
from aptmagic.inference.remote import Watch, call_watched, engine_for, engine_load


def watch(cancel: threading.Event | None = None) -> Watch:
    def on_step(step: int, total: int) -> None:
        if cancel is not None and cancel.is_set():
            raise JobCanceled("job")

    return Watch(RunContext(job_id="job", seed=1, on_step=on_step), 1)


def test_a_cancel_leaves_a_slow_call_at_once_and_its_slot_frees_when_the_call_ends() -> None:
    engine = engine_for("test:slow-call", 1)
    cancel, release = threading.Event(), threading.Event()
    threading.Timer(0.3, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(JobCanceled):
        call_watched(engine, watch(cancel), 5, lambda: release.wait(10))
    assert time.monotonic() - started < 1.5
    assert engine_load("test:slow-call") == (1, 1)  # the call still runs, and still counts against the limit
    release.set()
    deadline = time.monotonic() + 5
    while engine_load("test:slow-call") != (0, 1):
        assert time.monotonic() < deadline
        time.sleep(0.01)


def test_a_call_error_comes_back_to_the_job_thread() -> None:
    def fails() -> None:
        raise TimeoutError("the engine's own timeout")

    with pytest.raises(TimeoutError, match="own timeout"):
        call_watched(engine_for("test:error", 2), watch(), 5, fails)


def test_a_full_engine_makes_jobs_wait_then_fail_transiently_or_cancel() -> None:
    engine = engine_for("test:full", 1)
    engine.acquire(watch(), 1)
    try:
        started = time.monotonic()
        with pytest.raises(TransientInferenceError, match="busy: 1 requests in flight"):
            engine.acquire(watch(), 0.5)
        assert 0.4 < time.monotonic() - started < 2
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(JobCanceled):
            engine.acquire(watch(cancel), 30)
    finally:
        engine.release()
    engine.acquire(watch(), 1)  # free again
    engine.release()
    assert engine_load("test:full") == (0, 1)


def test_models_naming_one_engine_share_its_limit() -> None:
    assert engine_for("test:shared", 3) is engine_for("test:shared", 5)
    assert engine_for("test:shared", 5).limit == 3
