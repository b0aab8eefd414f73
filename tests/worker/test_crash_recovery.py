"""Crash recovery: jobs a dead process left ``running`` are requeued, failed
or canceled at the next start, and a real SIGKILL mid-job loses nothing."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.inference.params import TextToImageParams
from aptmagic.inference.tiny import ensure_builtin
from aptmagic.jobs.models import Job, JobStatus
from aptmagic.wiring.services import Services, build_services
from tests.conftest import LiveServer, wait_for
from tests.worker.conftest import SCRIPTED_MODELS, Plan, scripted_spec

# -- start-up recovery, in process -----------------------------------------------


@pytest.fixture
def offline_services(make_settings: Callable[..., Settings]) -> Iterator[Callable[[], Services]]:
    """Services on the test's data folder with no worker: a database to fill."""
    made: list[Services] = []

    def make() -> Services:
        services = build_services(
            make_settings(worker_concurrency=0, models=[scripted_spec(m) for m in SCRIPTED_MODELS])
        )
        services.start()
        made.append(services)
        return services

    yield make
    for services in made:
        services.stop()


def add_job(
    services: Services,
    *,
    seed: int,
    status: JobStatus,
    model: str = "steady",
    attempts: int = 0,
    max_attempts: int = 3,
    cancel_requested: bool = False,
    run_after: datetime | None = None,
) -> str:
    params = TextToImageParams(prompt="a cat", width=64, height=64, steps=2, guidance=0.0, seed=seed)
    now = utcnow()
    job = Job(
        task="text-to-image",
        model_id=model,
        model_version="1",
        params=params.model_dump(mode="json"),
        seed=seed,
        queue_name="default",
        status=status,
        progress_step=1 if status == JobStatus.running else 0,
        progress_total=2,
        attempts=attempts,
        max_attempts=max_attempts,
        cancel_requested=cancel_requested,
        cache_key=f"test-cache-key-{seed}",
        run_after=run_after,
        claimed_by="dead-host:1234" if status == JobStatus.running else None,
        started_at=now if attempts else None,
        created_at=now,
    )
    with services.session_factory.begin() as session:
        session.add(job)
        session.flush()
        return job.id


def test_startup_requeues_fails_and_cancels_orphaned_jobs(
    offline_services: Callable[[], Services],
    start_live: Callable[..., LiveServer],
    http_for: Callable[[LiveServer], httpx.Client],
    plans: dict[str, Plan],
) -> None:
    plans["steady"] = Plan()
    plans["broken"] = Plan(always=lambda: AssertionError("an ended job was run again"))
    before = offline_services()
    orphan = add_job(before, seed=1, status=JobStatus.running, attempts=1)
    exhausted = add_job(before, seed=2, status=JobStatus.running, model="broken", attempts=3, max_attempts=3)
    over = add_job(before, seed=3, status=JobStatus.running, model="broken", attempts=4, max_attempts=3)
    cancel = add_job(before, seed=4, status=JobStatus.running, model="broken", attempts=1, cancel_requested=True)
    waiting = add_job(before, seed=5, status=JobStatus.queued)
    ended = add_job(before, seed=6, status=JobStatus.failed, model="broken", attempts=1)
    before.stop()

    server = start_live(models=[scripted_spec(m) for m in SCRIPTED_MODELS])
    client = http_for(server)

    requeued = wait_for(client, orphan)
    assert requeued["status"] == "succeeded", requeued
    assert requeued["attempts"] == 2
    assert len(requeued["outputs"]) == 1

    interrupted = client.get(f"/api/v1/jobs/{exhausted}").json()
    assert interrupted["status"] == "failed"
    assert interrupted["attempts"] == 3
    assert interrupted["error"]["code"] == "interrupted"
    assert "3 times" in interrupted["error"]["message"]
    assert interrupted["timings"]["finished_at"] is not None
    assert client.get(f"/api/v1/jobs/{over}").json()["error"]["code"] == "interrupted"

    canceled = client.get(f"/api/v1/jobs/{cancel}").json()
    assert canceled["status"] == "canceled"
    assert canceled["cancel_requested"] is True
    assert canceled["timings"]["finished_at"] is not None
    assert canceled["outputs"] == []

    fresh = wait_for(client, waiting)
    assert fresh["status"] == "succeeded"
    assert fresh["attempts"] == 1

    assert client.get(f"/api/v1/jobs/{ended}").json()["status"] == "failed"
    assert plans["broken"].calls == 0
    assert plans["steady"].calls == 2


def test_recover_keeps_the_retry_delay_of_queued_jobs(offline_services: Callable[[], Services]) -> None:
    services = offline_services()
    now = utcnow()
    later = add_job(services, seed=1, status=JobStatus.queued, attempts=1, run_after=now + timedelta(seconds=30))
    due = add_job(services, seed=2, status=JobStatus.queued, attempts=1, run_after=now - timedelta(seconds=30))
    orphan = add_job(services, seed=3, status=JobStatus.running, attempts=1)
    with services.session_factory.begin() as session:
        pending = {job_id: (queue, delay) for job_id, queue, delay in services.jobs.recover(session)}
    assert set(pending) == {later, due, orphan}
    assert 25 < pending[later][1] <= 30
    assert pending[due][1] == 0
    assert pending[orphan][1] == 0
    assert {queue for queue, _ in pending.values()} == {"default"}
    with services.session_factory() as session:
        row = session.get(Job, orphan)
        assert row is not None
        assert row.status == JobStatus.queued
        assert row.claimed_by is None


def test_a_requeued_job_waits_for_its_retry_delay_after_restart(
    offline_services: Callable[[], Services],
    start_live: Callable[..., LiveServer],
    http_for: Callable[[LiveServer], httpx.Client],
    plans: dict[str, Plan],
) -> None:
    plans["steady"] = Plan()
    before = offline_services()
    run_after = utcnow() + timedelta(seconds=1.5)
    job_id = add_job(before, seed=1, status=JobStatus.queued, attempts=1, run_after=run_after)
    before.stop()
    server = start_live()
    client = http_for(server)
    if utcnow() < run_after - timedelta(seconds=0.5):
        assert client.get(f"/api/v1/jobs/{job_id}").json()["status"] == "queued"
        assert plans["steady"].calls == 0
    done = wait_for(client, job_id, timeout=20)
    assert done["status"] == "succeeded"
    assert done["attempts"] == 2
    assert datetime.fromisoformat(done["timings"]["started_at"]) >= run_after - timedelta(milliseconds=50)


# -- a real crash: SIGKILL a server process in the middle of a job ---------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(models_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APTMAGIC_")}
    env.update(
        HF_HUB_OFFLINE="1",
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        APTMAGIC_MODELS_DIR=str(models_dir),
        APTMAGIC_PROGRESS_WRITE_INTERVAL="0",  # every step reaches the row
        APTMAGIC_SHUTDOWN_TIMEOUT="2",
        # plans and rate limits stay out of the way: the job runs 100 steps and is polled often
        APTMAGIC_DEFAULT_PLAN="unlimited",
        APTMAGIC_RATE_LIMIT_USER_PER_SECOND="0",
        APTMAGIC_RATE_LIMIT_IP_PER_SECOND="0",
        # one torch thread: on a busy two-core machine, more threads spin and
        # make the tiny model many times slower
        OMP_NUM_THREADS="1",
    )
    return env


def start_process(data_dir: Path, models_dir: Path, log: IO[bytes]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    command = [sys.executable, "-m", "aptmagic", "serve", "--demo", "--data-dir", str(data_dir), "--port", str(port)]
    proc = subprocess.Popen(
        command, env=server_env(models_dir), stdout=log, stderr=subprocess.STDOUT, cwd=data_dir.parent
    )
    return proc, f"http://127.0.0.1:{port}"


def wait_healthy(proc: subprocess.Popen[bytes], url: str, log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"server exited with {proc.returncode}:\n{log_path.read_text(errors='replace')[-3000:]}"
            )
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"server not healthy after {timeout}s:\n{log_path.read_text(errors='replace')[-3000:]}")


@contextlib.contextmanager
def signed_in(url: str, *, signup: bool = False) -> Iterator[httpx.Client]:
    """A client with a web session of the test account (signed up on the first server, logged in later)."""
    with httpx.Client(base_url=url, timeout=30) as client:
        yield _sign_in(client, signup)


def _sign_in(client: httpx.Client, signup: bool) -> httpx.Client:
    credentials = {"login": "crashtest", "password": "a long and unusual test password"}
    if signup:
        body = {"email": "crashtest@example.com", "username": "crashtest", "password": credentials["password"]}
        response = client.post("/api/v1/auth/signup", json=body)
    else:
        response = client.post("/api/v1/auth/login", json=credentials)
    assert response.status_code in (200, 201), response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def kill(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.kill()
        proc.wait(10)


def db_rows(db_file: Path, query: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db_file, timeout=10)
    try:
        return conn.execute(query, args).fetchall()
    finally:
        conn.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_sigkill_mid_job_then_restart_finishes_the_job_once(tmp_path: Path, models_dir: Path) -> None:
    ensure_builtin("tiny-sd", models_dir)  # built once here, not inside the timed server
    data_dir = tmp_path / "data"
    db_file = data_dir / "aptmagic.db"
    log_path = tmp_path / "server.log"
    first: subprocess.Popen[bytes] | None = None
    second: subprocess.Popen[bytes] | None = None
    with log_path.open("ab") as log:
        try:
            first, url = start_process(data_dir, models_dir, log)
            wait_healthy(first, url, log_path)
            with signed_in(url, signup=True) as client:
                body = {
                    "task": "text-to-image",
                    "model": "tiny-sd",
                    "params": {"prompt": "a lighthouse", "width": 64, "height": 64, "steps": 100, "seed": 7},
                }
                response = client.post("/api/v1/jobs", json=body)
                assert response.status_code == 202, response.text
                job_id = response.json()["id"]

                deadline = time.monotonic() + 120
                while True:
                    job = client.get(f"/api/v1/jobs/{job_id}").json()
                    if job["status"] == "running" and job["progress"]["step"] > 0:
                        break
                    assert job["status"] in ("queued", "running"), job
                    assert time.monotonic() < deadline, f"job never made progress: {job}"
                    time.sleep(0.01)

            first.send_signal(signal.SIGKILL)
            first.wait(10)
            assert first.returncode == -signal.SIGKILL

            [(status, attempts, step, claimed_by)] = db_rows(
                db_file, "SELECT status, attempts, progress_step, claimed_by FROM jobs WHERE id = ?", job_id
            )
            assert status == "running"
            assert attempts == 1
            assert 0 < step < 100
            assert claimed_by and claimed_by.endswith(f":{first.pid}")
            assert db_rows(db_file, "SELECT count(*) FROM job_outputs") == [(0,)]

            second, url = start_process(data_dir, models_dir, log)
            wait_healthy(second, url, log_path)
            with signed_in(url) as client:
                done = wait_for(client, job_id, timeout=200)
                assert done["status"] == "succeeded", done
                assert done["attempts"] == 2
                assert done["error"] is None
                assert len(done["outputs"]) == 1
                image = client.get(done["outputs"][0]["url"])
                assert image.status_code == 200
                assert image.headers["content-type"] == "image/png"

            assert db_rows(db_file, "SELECT count(*) FROM job_outputs WHERE job_id = ?", job_id) == [(1,)]
            assert db_rows(db_file, "SELECT count(*) FROM assets WHERE source_job_id = ?", job_id) == [(1,)]
            [(claimed_by,)] = db_rows(db_file, "SELECT claimed_by FROM jobs WHERE id = ?", job_id)
            assert claimed_by.endswith(f":{second.pid}")
            blobs = [p for p in (data_dir / "blobs").rglob("*") if p.is_file() and not p.name.startswith(".")]
            assert len(blobs) == 1, blobs

            second.send_signal(signal.SIGTERM)  # a clean stop; uvicorn re-raises the signal when done
            assert second.wait(30) in (0, -signal.SIGTERM)
            log.flush()
            assert "Application shutdown complete" in log_path.read_text(errors="replace")
        finally:
            kill(first)
            kill(second)
