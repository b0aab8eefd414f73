"""Idempotency-Key on POST /api/v1/jobs, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update

from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.jobs.models import IdempotencyKey, Job
from tests.conftest import LiveServer, create_account, start_server
from tests.jobs.conftest import assert_error, assert_validation_error

JOBS = "/api/v1/jobs"


def body(seed: int = 1, prompt: str = "a cat") -> dict[str, Any]:
    return {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": prompt, "seed": seed}}


@pytest.fixture
def server(make_settings: Callable[..., Settings], db_url: str | None) -> Iterator[LiveServer]:
    overrides: dict[str, Any] = {"worker_concurrency": 0}
    if db_url is not None:
        overrides["database_url"] = db_url
    live = start_server(make_settings(**overrides))
    yield live
    live.stop()


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, headers=server.auth_headers, timeout=30) as http:
        yield http


def job_count(server: LiveServer) -> int:
    with server.services.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(Job)) or 0)


def test_a_retried_submit_returns_the_same_job(server: LiveServer, client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "order-42"}
    first = client.post(JOBS, json=body(), headers=headers)
    again = client.post(JOBS, json=body(), headers=headers)

    assert first.status_code == 202, first.text
    assert again.status_code == 200, again.text
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == first.headers["Location"]
    assert job_count(server) == 1
    other = client.post(JOBS, json=body(), headers={"Idempotency-Key": "order-43"})
    assert other.status_code == 202 and other.json()["id"] != first.json()["id"]


def test_the_same_key_with_another_body_is_refused(server: LiveServer, client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "k1"}
    first = client.post(JOBS, json=body(seed=1), headers=headers)
    refused = client.post(JOBS, json=body(seed=2), headers=headers)

    error = assert_error(refused, 422, "idempotency_key_reused")
    assert "different request body" in error["message"]
    assert error["details"] == {"job_id": first.json()["id"]}
    assert job_count(server) == 1


def test_keys_belong_to_one_user(server: LiveServer, client: httpx.Client) -> None:
    other = create_account(server.services, "someone")
    mine = client.post(JOBS, json=body(), headers={"Idempotency-Key": "shared"})
    theirs = httpx.post(f"{server.url}{JOBS}", json=body(), headers={**other.headers, "Idempotency-Key": "shared"})
    assert (mine.status_code, theirs.status_code) == (202, 202)
    assert mine.json()["id"] != theirs.json()["id"]


@pytest.mark.parametrize("key", ["", "has space", "x" * 256, "ünïcode", "tab\there"])
def test_malformed_keys_are_refused(client: httpx.Client, key: str) -> None:
    response = client.post(JOBS, json=body(), headers={"Idempotency-Key": key.encode("utf-8")})
    error = assert_validation_error(response)
    assert any(item["loc"][:2] == ["header", "Idempotency-Key"] for item in error["details"]), error


def test_an_expired_key_starts_a_new_job(server: LiveServer, client: httpx.Client) -> None:
    headers = {"Idempotency-Key": "old"}
    first = client.post(JOBS, json=body(), headers=headers).json()
    with server.services.session_factory.begin() as session:
        session.execute(update(IdempotencyKey).values(expires_at=utcnow() - timedelta(seconds=1)))
    later = client.post(JOBS, json=body(), headers=headers)
    assert later.status_code == 202
    assert later.json()["id"] != first["id"]
    assert later.json()["cache_hit"] is False or later.json()["id"] != first["id"]


def test_concurrent_submits_with_one_key_make_one_job(server: LiveServer) -> None:
    count = 16
    barrier = threading.Barrier(count)

    def one(_: int) -> httpx.Response:
        with httpx.Client(
            base_url=server.url, headers={**server.auth_headers, "Idempotency-Key": "race"}, timeout=60
        ) as http:
            http.get("/healthz")
            barrier.wait()
            return http.post(JOBS, json=body(seed=7))

    with ThreadPoolExecutor(count) as pool:
        responses = list(pool.map(one, range(count)))

    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(202) == 1, [r.text for r in responses if r.status_code not in (200, 202)]
    assert statuses.count(200) == count - 1, statuses
    assert len({r.json()["id"] for r in responses}) == 1
    assert job_count(server) == 1
