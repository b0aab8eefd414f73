"""The claim/lease state machine, on SQLite and PostgreSQL: a duplicate delivery never
makes a second result, a dead worker's job is taken over, and a job that kept
killing its workers ends failed (dead-letter)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import update

from aptmagic.db.base import utcnow
from aptmagic.jobs.dispatch import DispatchSweeper
from aptmagic.jobs.models import Job, JobStatus
from aptmagic.wiring.services import Services
from tests.scale.conftest import Plan, add_job, read_job


class RecordingQueue:
    """Stands in for a broker: remembers what was sent."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def enqueue(self, job_id: str, queue: str = "cpu", delay: float = 0.0) -> None:
        self.sent.append((job_id, queue))


def run_in_thread(services: Services, job_id: str) -> threading.Thread:
    thread = threading.Thread(target=services.runner.run, args=(job_id,))
    thread.start()
    return thread


def wait_until(predicate: Callable[[], bool], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.02)


def test_duplicate_deliveries_make_one_result(
    make_services: Callable[..., Services], scripted_plans: dict[str, Plan]
) -> None:
    services = make_services()
    gate = threading.Event()
    scripted_plans["steady"] = Plan(gate=gate)
    job_id = add_job(services, seed=1)

    first = run_in_thread(services, job_id)
    wait_until(lambda: scripted_plans["steady"].calls == 1)
    running = read_job(services, job_id)
    assert running.status == JobStatus.running
    assert running.lease_expires_at is not None and running.lease_expires_at > utcnow()

    services.runner.run(job_id)  # a second delivery while the first runs under a live lease: dropped
    gate.set()
    first.join(30)
    services.runner.run(job_id)  # a third after the job ended: dropped

    job = read_job(services, job_id)
    assert job.status == JobStatus.succeeded
    assert job.attempts == 1
    assert len(job.outputs) == 1
    assert job.lease_expires_at is None
    assert scripted_plans["steady"].calls == 1


def test_an_expired_lease_is_taken_over_and_counts_an_attempt(
    make_services: Callable[..., Services], scripted_plans: dict[str, Plan]
) -> None:
    services = make_services()
    dead = add_job(services, seed=2, status=JobStatus.running, attempts=1, claimed_by="dead@host:1",
                   lease_expires_at=utcnow() - timedelta(seconds=5))  # fmt: skip
    alive = add_job(services, seed=3, status=JobStatus.running, attempts=1, claimed_by="busy@host:2",
                    lease_expires_at=utcnow() + timedelta(seconds=60))  # fmt: skip

    services.runner.run(dead)
    services.runner.run(alive)

    taken_over = read_job(services, dead)
    assert taken_over.status == JobStatus.succeeded
    assert taken_over.attempts == 2
    assert taken_over.claimed_by != "dead@host:1"
    untouched = read_job(services, alive)
    assert (untouched.status, untouched.attempts, untouched.claimed_by) == (JobStatus.running, 1, "busy@host:2")
    assert scripted_plans["steady"].calls == 1


def test_a_worker_that_lost_its_lease_writes_no_result(
    make_services: Callable[..., Services], scripted_plans: dict[str, Plan]
) -> None:
    services = make_services()
    gate = threading.Event()
    scripted_plans["steady"] = Plan(gate=gate)
    job_id = add_job(services, seed=4)
    worker = run_in_thread(services, job_id)
    wait_until(lambda: scripted_plans["steady"].calls == 1)
    with services.session_factory.begin() as session:  # another worker took the job over meanwhile
        session.execute(update(Job).where(Job.id == job_id).values(claimed_by="other@host:9"))
    gate.set()
    worker.join(30)

    job = read_job(services, job_id)
    assert job.status == JobStatus.running
    assert job.claimed_by == "other@host:9"
    assert job.outputs == []
    outputs_dir = services.settings.resolved_storage_dir / "outputs"
    assert not outputs_dir.exists() or not [f for f in outputs_dir.rglob("*") if f.is_file()]  # its blob was deleted


def test_dead_letter_after_max_deliveries(
    make_services: Callable[..., Services], scripted_plans: dict[str, Plan]
) -> None:
    services = make_services()
    scripted_plans["broken"] = Plan(always=lambda: AssertionError("a dead-lettered job was run"))
    poison = add_job(services, seed=5, model="broken", status=JobStatus.running, attempts=3, max_attempts=3,
                     claimed_by="dead@host:1", lease_expires_at=utcnow() - timedelta(seconds=1))  # fmt: skip
    fine = add_job(services, seed=6)

    services.runner.run(poison)
    services.runner.run(fine)

    failed = read_job(services, poison)
    assert failed.status == JobStatus.failed
    assert failed.error_code == "too_many_deliveries"
    assert failed.finished_at is not None
    assert read_job(services, fine).status == JobStatus.succeeded
    assert scripted_plans["broken"].calls == 0


def test_the_sweep_resends_lost_messages_and_dead_workers_jobs(make_services: Callable[..., Services]) -> None:
    services = make_services()
    old = utcnow() - timedelta(seconds=120)
    lost = add_job(services, seed=7, queued_at=old, created_at=old)
    fresh = add_job(services, seed=8)
    orphan = add_job(services, seed=9, status=JobStatus.running, attempts=1, claimed_by="dead@host:1",
                     lease_expires_at=utcnow() - timedelta(seconds=1))  # fmt: skip
    exhausted = add_job(services, seed=10, status=JobStatus.running, attempts=3, max_attempts=3,
                        claimed_by="dead@host:1", lease_expires_at=utcnow() - timedelta(seconds=1))  # fmt: skip
    waiting = add_job(services, seed=11, queued_at=old, created_at=old, run_after=utcnow() + timedelta(seconds=60))
    queue = RecordingQueue()
    sweeper = DispatchSweeper(services.session_factory, queue, interval=0, redispatch_after=60)  # type: ignore[arg-type]

    sent = sweeper.sweep()

    assert sorted(sent) == sorted([lost, orphan])
    assert read_job(services, orphan).status == JobStatus.queued
    assert read_job(services, orphan).attempts == 1
    assert read_job(services, exhausted).error_code == "too_many_deliveries"
    assert fresh not in sent and waiting not in sent
    assert sweeper.sweep() == []  # resent once per period, not at every pass
    for job_id in sent:
        services.runner.run(job_id)
    assert read_job(services, lost).status == JobStatus.succeeded
    assert read_job(services, orphan).attempts == 2


def test_release_gives_the_job_back_without_counting_the_attempt(
    make_services: Callable[..., Services], scripted_plans: dict[str, Plan]
) -> None:
    services = make_services()
    queue = RecordingQueue()
    services.runner.queue = queue  # type: ignore[assignment]
    gate = threading.Event()
    scripted_plans["steady"] = Plan(gate=gate)
    job_id = add_job(services, seed=12)
    worker = run_in_thread(services, job_id)
    wait_until(lambda: scripted_plans["steady"].calls == 1)
    services.runner.release_running()  # what SIGTERM's timeout does
    gate.set()
    worker.join(30)

    job = read_job(services, job_id)
    assert (job.status, job.attempts, job.claimed_by, job.lease_expires_at) == (JobStatus.queued, 0, None, None)
    assert queue.sent == [(job_id, "cpu")]


def test_a_running_job_keeps_renewing_its_lease(
    make_services: Callable[..., Services], scripted_plans: dict[str, Plan]
) -> None:
    services = make_services(lease_seconds=0.6, broker_visibility_timeout_seconds=60)
    gate = threading.Event()
    scripted_plans["steady"] = Plan(gate=gate)
    job_id = add_job(services, seed=13)
    worker = run_in_thread(services, job_id)
    wait_until(lambda: scripted_plans["steady"].calls == 1)
    first = read_job(services, job_id).lease_expires_at
    time.sleep(1.5)  # more than two lease lengths
    renewed = read_job(services, job_id)
    assert renewed.lease_expires_at is not None and first is not None and renewed.lease_expires_at > first
    assert renewed.lease_expires_at > utcnow()
    services.runner.run(job_id)  # still held: a duplicate is dropped
    gate.set()
    worker.join(30)
    assert read_job(services, job_id).status == JobStatus.succeeded
    assert read_job(services, job_id).attempts == 1
