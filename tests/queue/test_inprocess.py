"""The embedded queue: order, delays, stop, and a worker that outlives errors."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from aptmagic.queue.inprocess import InProcessQueue


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, float]] = []
        self.lock = threading.Lock()
        self.done = threading.Condition(self.lock)

    def __call__(self, job_id: str) -> None:
        with self.lock:
            self.seen.append((job_id, time.monotonic()))
            self.done.notify_all()

    def ids(self) -> list[str]:
        with self.lock:
            return [job_id for job_id, _ in self.seen]

    def wait_for(self, count: int, timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        with self.lock:
            while len(self.seen) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"only {len(self.seen)} of {count} jobs delivered: {self.seen}")
                self.done.wait(left)
            return [job_id for job_id, _ in self.seen]


@pytest.fixture
def queues() -> Iterator[list[InProcessQueue]]:
    made: list[InProcessQueue] = []
    yield made
    for queue in made:
        queue.stop(2)


def make_queue(queues: list[InProcessQueue], concurrency: int = 1) -> InProcessQueue:
    queue = InProcessQueue(concurrency)
    queues.append(queue)
    return queue


def test_runs_workers_here() -> None:
    assert InProcessQueue().runs_workers_here is True


def test_jobs_are_delivered_in_order(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues)
    recorder = Recorder()
    for i in range(5):
        queue.enqueue(f"before-{i}")
    assert queue.depth() == 5
    queue.start(recorder)
    for i in range(5):
        queue.enqueue(f"after-{i}")
    ids = recorder.wait_for(10)
    assert ids == [f"before-{i}" for i in range(5)] + [f"after-{i}" for i in range(5)]
    assert queue.depth() == 0


def test_delayed_job_runs_after_its_delay_and_not_before(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues)
    recorder = Recorder()
    queue.start(recorder)
    enqueued_at = time.monotonic()
    queue.enqueue("late", delay=0.6)
    queue.enqueue("now")
    assert recorder.wait_for(1) == ["now"]
    time.sleep(0.2)
    if time.monotonic() - enqueued_at < 0.55:  # a busy machine may already be past the delay
        assert recorder.ids() == ["now"], "the delayed job ran early"
        assert queue.depth() == 1
    assert recorder.wait_for(2) == ["now", "late"]
    late_at = dict(recorder.seen)["late"]
    assert late_at - enqueued_at >= 0.6, "the delayed job ran early"


def test_delays_order_jobs_by_due_time(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues)
    recorder = Recorder()
    queue.enqueue("third", delay=0.3)
    queue.enqueue("second", delay=0.15)
    queue.enqueue("first")
    queue.enqueue("negative-delay-is-now", delay=-5)
    queue.start(recorder)
    assert recorder.wait_for(4) == ["first", "negative-delay-is-now", "second", "third"]


def test_stop_returns_promptly_while_idle(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues, concurrency=3)
    queue.start(Recorder())
    time.sleep(0.05)
    started = time.monotonic()
    queue.stop(10)
    assert time.monotonic() - started < 1.0
    assert queue._threads == []


def test_stop_while_only_delayed_jobs_wait(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues)
    recorder = Recorder()
    queue.start(recorder)
    queue.enqueue("far-future", delay=60)
    time.sleep(0.05)
    started = time.monotonic()
    queue.stop(10)
    assert time.monotonic() - started < 1.0
    assert recorder.ids() == []


def test_stop_waits_for_a_running_handler_up_to_its_timeout(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues)
    release = threading.Event()
    entered = threading.Event()
    finished: list[str] = []

    def slow(job_id: str) -> None:
        entered.set()
        release.wait(10)
        finished.append(job_id)

    queue.start(slow)
    queue.enqueue("busy")
    assert entered.wait(5)
    started = time.monotonic()
    queue.stop(0.3)
    waited = time.monotonic() - started
    assert 0.25 <= waited < 2.0
    assert len(queue._threads) == 1, "a busy worker is reported as still running"
    release.set()
    queue._threads[0].join(5)
    assert finished == ["busy"]


def test_nothing_is_delivered_after_stop(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues)
    recorder = Recorder()
    queue.start(recorder)
    queue.stop(2)
    queue.enqueue("too-late")
    time.sleep(0.1)
    assert recorder.ids() == []


def test_an_exception_in_the_handler_does_not_kill_the_worker(
    queues: list[InProcessQueue], caplog: pytest.LogCaptureFixture
) -> None:
    queue = make_queue(queues)
    recorder = Recorder()

    def handler(job_id: str) -> None:
        recorder(job_id)
        if job_id.startswith("bad"):
            raise RuntimeError(f"handler blew up on {job_id}")

    queue.start(handler)
    for job_id in ("bad-1", "good-1", "bad-2", "good-2"):
        queue.enqueue(job_id)
    assert recorder.wait_for(4) == ["bad-1", "good-1", "bad-2", "good-2"]
    assert all(thread.is_alive() for thread in queue._threads)
    assert "job handler crashed" in caplog.text
    queue.enqueue("after")
    assert recorder.wait_for(5)[-1] == "after"


def test_concurrency_runs_jobs_side_by_side(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues, concurrency=2)
    both_in = threading.Barrier(2, timeout=5)
    done: list[str] = []

    def handler(job_id: str) -> None:
        both_in.wait()  # only passes when two handlers run at once
        done.append(job_id)

    queue.start(handler)
    queue.enqueue("a")
    queue.enqueue("b")
    deadline = time.monotonic() + 5
    while len(done) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(done) == ["a", "b"]


def test_restart_after_stop(queues: list[InProcessQueue]) -> None:
    queue = make_queue(queues)
    first = Recorder()
    queue.start(first)
    queue.enqueue("one")
    first.wait_for(1)
    queue.stop(2)
    second = Recorder()
    queue.enqueue("two")
    queue.start(second)
    assert second.wait_for(1) == ["two"]
