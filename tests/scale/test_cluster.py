"""A real cluster: the API process and `aptmagic worker` processes on PostgreSQL and Redis.

* a worker killed with SIGKILL mid-job: the other one finishes the job, once;
* a job that kills every worker it reaches: failed after max_attempts deliveries,
  while other jobs complete;
* SIGTERM: the worker finishes or releases its job, and exits."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, func, select

from aptmagic.assets.models import Asset
from aptmagic.jobs.models import Job, JobOutput
from tests.conftest import create_account, wait_for
from tests.scale.cluster import Cluster, cluster_env
from tests.support.services import PostgresServer, RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]


@pytest.fixture
def cluster(
    postgres_server: PostgresServer, redis_server: RedisServer, tmp_path: Path, models_dir: Path
) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(**extra: Any) -> Cluster:
        env = cluster_env(postgres_server.create_database(), redis_server.url, tmp_path / "data", models_dir, **extra)
        logs = tmp_path / "logs"
        logs.mkdir(exist_ok=True)
        cluster = Cluster(env, logs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        cluster.stop()


def api_client(cluster: Cluster) -> httpx.Client:
    """An admin key made through the database the cluster uses (the API process migrated it)."""
    from aptmagic.auth.service import AuthService
    from aptmagic.config import Settings
    from aptmagic.db.session import create_db_engine, create_session_factory

    settings = Settings(database_url=cluster.env["APTMAGIC_DATABASE_URL"], environment="test")
    engine = create_db_engine(settings.resolved_database_url)
    holder = SimpleNamespace(session_factory=create_session_factory(engine), auth=AuthService(settings))
    account = create_account(holder, "operator", admin=True)
    engine.dispose()
    return httpx.Client(base_url=cluster.url, headers=account.headers, timeout=30)


def submit(client: httpx.Client, model: str, seed: int, **params: Any) -> str:
    body = {"task": "text-to-image", "model": model, "params": {"prompt": "a cat", "seed": seed, **params}}
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return str(response.json()["id"])


def wait_running(client: httpx.Client, job_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] == "running" and job["progress"]["step"] >= 2:
            return dict(job)
        assert job["status"] in ("queued", "running"), job
        assert time.monotonic() < deadline, f"job {job_id} never ran: {job}"
        time.sleep(0.05)


def job_row(cluster: Cluster, job_id: str) -> tuple[Job, int, int]:
    """The row, its output links and the output assets made for it."""
    from sqlalchemy.orm import Session

    engine = create_engine(cluster.env["APTMAGIC_DATABASE_URL"])
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        links = session.scalar(select(func.count()).select_from(JobOutput).where(JobOutput.job_id == job_id))
        assets = session.scalar(select(func.count()).select_from(Asset).where(Asset.source_job_id == job_id))
        session.expunge(job)
    engine.dispose()
    return job, int(links or 0), int(assets or 0)


def test_sigkill_mid_job_the_other_worker_finishes_it_once(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    c.start_api()
    workers = [c.start_worker(), c.start_worker()]
    with api_client(c) as client:
        job_id = submit(client, "slow", seed=1, steps=40)
        wait_running(client, job_id)
        holder = job_row(c, job_id)[0].claimed_by or ""
        victim = next(w for w in workers if holder.endswith(f":{w.pid}"))
        survivor = next(w for w in workers if w is not victim)
        victim.stop(signal.SIGKILL)

        done = wait_for(client, job_id, timeout=90)

        assert done["status"] == "succeeded", done
        assert done["attempts"] == 2
        assert len(done["outputs"]) == 1
        job, links, assets = job_row(c, job_id)
        assert job.claimed_by and job.claimed_by.endswith(f":{survivor.pid}")
        assert (links, assets) == (1, 1)  # one set of outputs
        time.sleep(1.5)  # later deliveries (the sweep's, the broker's) change nothing
        assert job_row(c, job_id)[1:] == (1, 1)
        assert client.get(f"/api/v1/jobs/{job_id}").json()["attempts"] == 2


def test_a_poison_job_fails_after_max_deliveries_while_others_complete(cluster: Callable[..., Cluster]) -> None:
    c = cluster(max_attempts=2)
    c.start_api()
    workers = [c.start_worker(), c.start_worker()]
    with api_client(c) as client:
        poison = submit(client, "poison", seed=2)
        others = [submit(client, "slow", seed=10 + i, steps=2) for i in range(6)]
        deadline = time.monotonic() + 150
        while client.get(f"/api/v1/jobs/{poison}").json()["status"] not in ("failed", "succeeded"):
            assert time.monotonic() < deadline, client.get(f"/api/v1/jobs/{poison}").json()
            for i, worker in enumerate(workers):  # a supervisor restarts a worker the job killed
                if not worker.alive():
                    workers[i] = c.start_worker()
            time.sleep(0.2)

        failed = client.get(f"/api/v1/jobs/{poison}").json()
        assert failed["status"] == "failed"
        assert failed["error"]["code"] == "too_many_deliveries"
        assert failed["attempts"] == 2
        for job_id in others:
            if not any(w.alive() for w in workers):
                workers[0] = c.start_worker()
            assert wait_for(client, job_id, timeout=90)["status"] == "succeeded"


def test_sigterm_releases_a_long_job_and_another_worker_finishes_it(cluster: Callable[..., Cluster]) -> None:
    c = cluster()
    c.start_api()
    first = c.start_worker()
    with api_client(c) as client:
        job_id = submit(client, "slow", seed=3, steps=60)
        wait_running(client, job_id)
        assert first.stop(signal.SIGTERM, timeout=30) == 0  # shutdown_timeout 1 s, then released at a step
        released = client.get(f"/api/v1/jobs/{job_id}").json()
        assert released["status"] == "queued", released
        assert released["attempts"] == 0

        c.start_worker()
        done = wait_for(client, job_id, timeout=90)
        assert done["status"] == "succeeded"
        assert done["attempts"] == 1
        assert job_row(c, job_id)[1:] == (1, 1)


def test_queue_depth_is_visible_to_admins(cluster: Callable[..., Cluster]) -> None:
    c = cluster(redispatch_after_seconds=300)  # no resends: the depth is the three jobs' messages
    c.start_api()
    with api_client(c) as client:
        for seed in range(3):
            submit(client, "noop", seed=100 + seed)
        status = client.get("/api/v1/admin/queue").json()
        assert status["backend"] == "celery"
        assert status["depth"] == {"gpu": 0, "cpu": 3}
        assert status["jobs"]["queued"] == 3
        c.start_worker()
        deadline = time.monotonic() + 60
        while (status := client.get("/api/v1/admin/queue").json())["jobs"]["queued"] or status["depth"]["cpu"]:
            assert time.monotonic() < deadline, status
            time.sleep(0.1)
        assert status["depth"] == {"gpu": 0, "cpu": 0}
        assert status["jobs"] == {"queued": 0, "running": 0}
