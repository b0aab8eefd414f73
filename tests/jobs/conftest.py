"""Helpers for the jobs API tests: module-wide servers, SSE parsing, error checks.

Starting a server costs about a second and loading the tiny model a little
more, so tests that do not need a database of their own share one server per
module: ``shared_client`` has a worker, ``idle_client`` has none (every job
it accepts stays queued, which suits validation and submit-only checks)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from aptmagic.config import Settings
from aptmagic.inference.params import task_names
from tests.conftest import LiveServer, start_server
from tests.support.backends import backend_overrides

JOBS = "/api/v1/jobs"


def shared_settings(data_dir: Path, models_dir: Path, **overrides: Any) -> Settings:
    """The same values as tests/conftest.py's make_settings, for wider scopes."""
    values: dict[str, Any] = {
        "environment": "test",
        "data_dir": data_dir,
        "models_dir": models_dir,
        "demo": True,
        "retry_base_seconds": 0.05,
        "retry_max_seconds": 0.2,
        "progress_write_interval": 0.0,
        "shutdown_timeout": 10.0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="module")
def shared_live(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    server = start_server(shared_settings(tmp_path_factory.mktemp("shared"), models_dir, **backend_overrides(request)))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def shared_client(shared_live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shared_live.url, timeout=30, headers=shared_live.auth_headers) as http:
        yield http


@pytest.fixture(scope="module")
def idle_live(
    tmp_path_factory: pytest.TempPathFactory, models_dir: Path, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    settings = shared_settings(
        tmp_path_factory.mktemp("idle"), models_dir, worker_concurrency=0, **backend_overrides(request)
    )
    server = start_server(settings)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def idle_client(idle_live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=idle_live.url, timeout=30, headers=idle_live.auth_headers) as http:
        yield http


_seeds = iter(range(1000, 10**6))


def fresh_seed() -> int:
    """A seed no other test in this process uses, so no test hits another's cache."""
    return next(_seeds)


def job_body(model: str | None = "tiny-sd", task: str = "text-to-image", **params: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"task": task, "params": {"prompt": "a cat", **params}}
    if model is not None:
        body["model"] = model
    return body


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the API's error shape with this status and code; returns the error."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    return error


def field_loc(loc: list[Any]) -> list[Any]:
    """A detail's loc without the union tag pydantic puts after "body".

    The body is a union keyed on ``task``, so pydantic reports a params error
    at ["body", "text-to-image", "params", "width"]; the service's own checks
    report ["body", "params", "width"]. Both point at the same field."""
    if len(loc) > 1 and loc[0] == "body" and loc[1] in task_names():
        return [loc[0], *loc[2:]]
    return list(loc)


def assert_validation_error(response: httpx.Response, loc: list[str | int] | None = None) -> dict[str, Any]:
    """422 with field details; when ``loc`` is given some detail's loc starts with it."""
    error = assert_error(response, 422, "validation_error")
    details = error["details"]
    assert isinstance(details, list) and details, error
    for item in details:
        assert {"loc", "msg", "type"} <= set(item), item
        assert isinstance(item["loc"], list), item
        assert isinstance(item["msg"], str) and item["msg"], item
        assert isinstance(item["type"], str) and item["type"], item
    if loc is not None:
        locs = [field_loc(item["loc"]) for item in details]
        assert any(found[: len(loc)] == loc for found in locs), f"no detail at {loc}: {locs}"
    return error


@dataclass
class SSEEvent:
    event: str
    data: Any


def iter_sse(response: httpx.Response) -> Iterator[SSEEvent]:
    """Parse a text/event-stream body line by line (comments are pings)."""
    event: str | None = None
    data: list[str] = []
    for line in response.iter_lines():
        if line == "":
            if event is not None or data:
                text = "\n".join(data)
                yield SSEEvent(event or "message", json.loads(text) if text else None)
            event, data = None, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if event is not None or data:
        text = "\n".join(data)
        yield SSEEvent(event or "message", json.loads(text) if text else None)


def collect_events(
    client: httpx.Client,
    job_id: str,
    *,
    timeout: float = 60,
    on_event: Callable[[SSEEvent], None] | None = None,
) -> list[SSEEvent]:
    """Read a job's event stream to its end; fail if it runs past ``timeout``."""
    deadline = time.monotonic() + timeout
    events: list[SSEEvent] = []
    with client.stream("GET", f"{JOBS}/{job_id}/events", timeout=httpx.Timeout(30, read=timeout)) as response:
        assert response.status_code == 200, response.read()
        assert response.headers["content-type"].startswith("text/event-stream"), response.headers
        for item in iter_sse(response):
            events.append(item)
            if on_event is not None:
                on_event(item)
            assert time.monotonic() < deadline, f"event stream of {job_id} still open after {timeout}s: {events}"
    return events
