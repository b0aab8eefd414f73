"""PostgreSQL or the Redis broker stopped during submits: 503 with Retry-After in the
JSON error shape, quickly; after the restart nothing that was accepted (202) is lost."""

from __future__ import annotations

import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aptmagic.config import Settings
from aptmagic.jobs.models import Job
from aptmagic.queue.celery import CHECK_TTL_SECONDS, QueueUnavailable
from tests.conftest import LiveServer, start_server, wait_for
from tests.jobs.conftest import assert_error
from tests.support.backends import EmbeddedWorker, celery_settings
from tests.support.services import PG_BIN, PostgresServer, RedisServer, running_redis

pytestmark = [pytest.mark.slow, pytest.mark.timeout(400)]
JOBS = "/api/v1/jobs"
FAST = 10.0  # seconds: an outage answers well within this, never hangs


def body(seed: int) -> dict[str, Any]:
    return {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": "a cat", "seed": seed, "steps": 2}}


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL of this test's own, to stop and start."""
    if not (PG_BIN / "initdb").exists():
        pytest.skip(f"PostgreSQL binaries are not under {PG_BIN}")
    server = PostgresServer(Path("/tmp") / f"aptmagic-pg-outage-{uuid.uuid4().hex[:8]}")
    server.init()
    server.start()
    yield server
    try:
        server.stop()
    except Exception:
        pass
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture
def own_redis() -> Iterator[RedisServer]:
    yield from running_redis()


@pytest.fixture
def servers() -> Iterator[list[LiveServer]]:
    made: list[LiveServer] = []
    yield made
    for server in made:
        server.stop()


def assert_unavailable(response: httpx.Response, elapsed: float, code: str = "unavailable") -> None:
    assert_error(response, 503, code)
    assert int(response.headers["Retry-After"]) >= 1
    assert elapsed < FAST, elapsed


def timed_post(client: httpx.Client, json: dict[str, Any]) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = client.post(JOBS, json=json)
    return response, time.monotonic() - started


def test_database_down_answers_503_then_recovers(
    own_postgres: PostgresServer, make_settings: Callable[..., Settings], servers: list[LiveServer]
) -> None:
    live = start_server(make_settings(database_url=own_postgres.create_database(), worker_concurrency=0))
    servers.append(live)
    with httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=30) as client:
        accepted = client.post(JOBS, json=body(1))
        assert accepted.status_code == 202
        own_postgres.stop()

        response, elapsed = timed_post(client, body(2))
        assert_unavailable(response, elapsed)
        assert "database" in response.json()["error"]["message"]
        started = time.monotonic()
        read = client.get(f"{JOBS}/{accepted.json()['id']}")
        assert_unavailable(read, time.monotonic() - started)
        assert client.get("/readyz").status_code == 503

        own_postgres.start()
        assert client.get(f"{JOBS}/{accepted.json()['id']}").json()["status"] == "queued"
        assert client.post(JOBS, json=body(3)).status_code == 202
    with live.services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 2  # the refused submit left nothing


def test_broker_down_answers_503_and_accepted_jobs_survive_its_restart(
    own_redis: RedisServer, make_settings: Callable[..., Settings], servers: list[LiveServer]
) -> None:
    settings = make_settings(
        **celery_settings(own_redis.url),
        worker_concurrency=0,
        redispatch_after_seconds=1,
        redispatch_interval_seconds=0.3,
    )
    live = start_server(settings)
    servers.append(live)
    with httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=30) as client:
        accepted = [client.post(JOBS, json=body(10 + i)) for i in range(3)]
        assert [r.status_code for r in accepted] == [202] * 3
        assert live.services.queue.depth() == 3
        own_redis.stop()  # no persistence: the three messages are gone with it
        time.sleep(CHECK_TTL_SECONDS + 0.1)  # a submit within the check's TTL is accepted (202) and swept later

        response, elapsed = timed_post(client, body(20))
        assert_unavailable(response, elapsed, "queue_unavailable")

        own_redis.start()
        worker = EmbeddedWorker(live.services)
        try:
            for job in accepted:
                done = wait_for(client, job.json()["id"], timeout=60)
                assert done["status"] == "succeeded", done
                assert done["attempts"] == 1
        finally:
            worker.stop()
    with live.services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 3


def test_a_job_whose_enqueue_failed_after_commit_still_runs(
    redis_server: RedisServer, make_settings: Callable[..., Settings], servers: list[LiveServer]
) -> None:
    settings = make_settings(
        **celery_settings(redis_server.url), redispatch_after_seconds=1, redispatch_interval_seconds=0.3
    )
    live = start_server(settings)
    servers.append(live)
    queue = live.services.queue
    real_enqueue = queue.enqueue
    failures: list[str] = []

    def enqueue_failing_once(job_id: str, queue_name: str = "cpu", delay: float = 0.0) -> None:
        if not failures:
            failures.append(job_id)
            raise QueueUnavailable("the broker went away between the commit and the send")
        real_enqueue(job_id, queue_name, delay)

    queue.enqueue = enqueue_failing_once  # type: ignore[method-assign]
    with httpx.Client(base_url=live.url, headers=live.auth_headers, timeout=30) as client:
        response = client.post(JOBS, json=body(30))
        assert response.status_code == 202, response.text  # committed: accepted, the sweep sends it
        assert failures == [response.json()["id"]]
        done = wait_for(client, response.json()["id"], timeout=60)
        assert done["status"] == "succeeded"
        assert done["attempts"] == 1
