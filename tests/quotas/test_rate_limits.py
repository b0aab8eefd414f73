"""Token buckets per client address and per user: a burst, then 429 with Retry-After, then refill."""

from __future__ import annotations

import time
from typing import Any

import httpx

from aptmagic.config import Settings
from aptmagic.shared_state.ratelimit import MemoryRateLimiter
from tests.conftest import create_account


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_bucket_allows_a_burst_then_refills_at_the_rate() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    assert [limiter.acquire("a", 2.0, 3) for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.acquire("a", 2.0, 3) == 0.5
    assert limiter.acquire("b", 2.0, 3) == 0.0  # another key has its own bucket
    clock.now += 0.25
    assert limiter.acquire("a", 2.0, 3) == 0.25
    clock.now += 0.25
    assert limiter.acquire("a", 2.0, 3) == 0.0
    clock.now += 100
    assert [limiter.acquire("a", 2.0, 3) for _ in range(4)][-1] > 0  # refills up to the burst, no more


def test_the_limiter_forgets_full_buckets_when_it_tracks_too_many() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock, max_buckets=3)
    for key in "abc":
        limiter.acquire(key, 1.0, 2)
    clock.now += 10
    limiter.acquire("d", 1.0, 2)
    assert set(limiter._buckets) == {"d"}


def test_rate_limits_are_on_by_default() -> None:
    fields = Settings.model_fields  # the tests' environment turns them off
    assert fields["rate_limit_user_per_second"].default > 0 and fields["rate_limit_ip_per_second"].default > 0
    assert fields["rate_limit_ip_burst"].default >= fields["rate_limit_user_burst"].default


def assert_rate_limited(response: httpx.Response, limit: str) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "rate_limited" and error["details"]["limit"] == limit
    assert "too many requests" in error["message"]
    assert response.headers["Retry-After"] == "1"


def test_per_address_limit_covers_unauthenticated_requests(quota_server: Any) -> None:
    server = quota_server(rate_limit_ip_per_second=1.0, rate_limit_ip_burst=3)
    with httpx.Client(base_url=server.url, timeout=30) as client:
        assert [client.get("/api/v1/jobs").status_code for _ in range(3)] == [401] * 3
        assert_rate_limited(client.get("/api/v1/jobs"), "ip_rate")
        login = client.post("/api/v1/auth/login", json={"login": "tester", "password": "wrong password here"})
        assert_rate_limited(login, "ip_rate")
        assert_rate_limited(client.post("/api/v1/uploads/presigned/whatever", content=b"x"), "ip_rate")
        # Not the API: health checks, pages and static files are never limited.
        assert client.get("/healthz").status_code == 200
        assert client.get("/static/app.css").status_code == 200
        assert client.get("/login").status_code == 200
        # Signed-in requests from the same address share its bucket.
        assert_rate_limited(client.get("/api/v1/jobs", headers=server.auth_headers), "ip_rate")
        time.sleep(1.1)
        assert client.get("/api/v1/jobs", headers=server.auth_headers).status_code == 200


def test_per_user_limit(quota_server: Any) -> None:
    server = quota_server(rate_limit_user_per_second=1.0, rate_limit_user_burst=3)
    other = create_account(server.services, "other")
    with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
        assert [client.get("/api/v1/jobs").status_code for _ in range(3)] == [200] * 3
        assert_rate_limited(client.get("/api/v1/jobs"), "user_rate")
        assert_rate_limited(client.get("/api/v1/me/usage"), "user_rate")
        # Another user, from the same address, has a bucket of their own.
        assert client.get("/api/v1/jobs", headers=other.headers).status_code == 200
        # Requests without credentials are not the user's.
        assert client.get("/api/v1/jobs", headers={"Authorization": ""}).status_code == 401
        time.sleep(1.1)
        assert client.get("/api/v1/jobs").status_code == 200
        assert_rate_limited(client.get("/api/v1/jobs"), "user_rate")
