"""The quota check is atomic: with one unit left, 50 submits at once through real
HTTP give exactly one 202 and 49 answers 429."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aptmagic.jobs.models import Job
from tests.quotas.conftest import assert_daily_refusal, image_job

THREADS = 50


def wait_past_midnight_utc(margin: float = 60.0) -> None:
    now = datetime.now(UTC)
    to_midnight = (now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) - now).total_seconds()
    if to_midnight < margin:
        time.sleep(to_midnight + 1)


def submit_at_once(url: str, headers: dict[str, str], count: int) -> list[httpx.Response]:
    barrier = threading.Barrier(count)

    def one(seed: int) -> httpx.Response:
        with httpx.Client(base_url=url, timeout=60, headers=headers) as client:
            client.get("/healthz")  # connect first, so the posts leave together
            barrier.wait()
            return client.post("/api/v1/jobs", json=image_job(1000 + seed))

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


@pytest.mark.parametrize(
    ("plan", "limit"),
    [({"daily_jobs": 5}, "daily_jobs"), ({"concurrent_jobs": 5}, "concurrent_jobs")],
)
def test_one_unit_left_and_fifty_submits_at_once(quota_server: Any, plan: dict[str, int], limit: str) -> None:
    server = quota_server(plans={"free": plan}, default_plan="free")
    wait_past_midnight_utc()  # the daily count restarts at 00:00 UTC: do not straddle it
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
        for seed in range(4):
            assert client.post("/api/v1/jobs", json=image_job(seed)).status_code == 202

    responses = submit_at_once(server.url, server.auth_headers, THREADS)

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [202] + [429] * (THREADS - 1), statuses
    for refused in (r for r in responses if r.status_code == 429):
        assert refused.json()["error"]["details"]["limit"] == limit
        assert int(refused.headers["Retry-After"]) >= 1
        if limit == "daily_jobs":
            assert_daily_refusal(refused)
    with server.services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 5
