"""A live server with small test plans; nothing runs the jobs unless asked (worker_concurrency=0)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from aptmagic.config import Settings
from tests.conftest import LiveServer, start_server

PLANS: dict[str, dict[str, Any]] = {
    "free": {"daily_jobs": 3, "concurrent_jobs": 2, "max_width": 128, "max_height": 128, "max_steps": 4,
             "max_outputs": 2, "max_tokens": 16},
    "pro": {"daily_jobs": 100, "concurrent_jobs": 10, "max_width": 256, "max_height": 256, "max_steps": 50,
            "max_outputs": 8, "max_tokens": 512},
    "unlimited": {},
}  # fmt: skip


@pytest.fixture
def quota_server(make_settings: Callable[..., Settings]) -> Iterator[Callable[..., LiveServer]]:
    servers: list[LiveServer] = []

    def start(**overrides: Any) -> LiveServer:
        values: dict[str, Any] = {"worker_concurrency": 0, "plans": PLANS, "default_plan": "free", **overrides}
        server = start_server(make_settings(**values))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def image_job(seed: int = 0, **params: Any) -> dict[str, Any]:
    return {"task": "text-to-image", "model": "tiny-sd", "params": {"prompt": "a cat", "seed": seed, **params}}


def post_job(client: httpx.Client, seed: int = 0, **params: Any) -> httpx.Response:
    return client.post("/api/v1/jobs", json=image_job(seed, **params))


def seconds_to_midnight() -> float:
    now = datetime.now(UTC)
    return (now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1) - now).total_seconds()


def assert_daily_refusal(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    error = response.json()["error"]
    assert error["code"] == "quota_exceeded"
    assert error["details"]["limit"] == "daily_jobs"
    assert "daily job limit" in error["message"]
    assert abs(int(response.headers["Retry-After"]) - math.ceil(seconds_to_midnight())) <= 5
