"""Request ids: echoed, carried into the job, bound in the worker's log lines."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import httpx
import pytest

from aptmagic.observability.context import bind
from aptmagic.observability.logging import JsonFormatter
from tests.conftest import LiveServer, start_server, submit, wait_for
from tests.jobs.conftest import shared_settings


class JsonLines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, object]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(self.format(record)))


@pytest.fixture
def json_logs() -> Iterator[JsonLines]:
    handler = JsonLines()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_a_sane_request_id_is_echoed(user_client: httpx.Client) -> None:
    response = user_client.get("/api/v1/models", headers={"X-Request-ID": "abc-123.x"})
    assert response.headers["x-request-id"] == "abc-123.x"


@pytest.mark.parametrize("sent", ["", "a" * 65, "bad id", "<script>", "ü-unicode", "-leading-dash"])
def test_a_hostile_request_id_is_replaced(user_client: httpx.Client, sent: str) -> None:
    response = user_client.get("/api/v1/models", headers={"X-Request-ID": sent.encode()})
    echoed = response.headers["x-request-id"]
    assert echoed != sent and len(echoed) == 32


def test_errors_and_unauthenticated_answers_carry_an_id(obs_live: LiveServer) -> None:
    response = httpx.get(obs_live.url + "/api/v1/jobs")
    assert response.status_code == 401
    assert len(response.headers["x-request-id"]) == 32


def test_request_id_reaches_the_worker_log_lines(tmp_path, models_dir, json_logs: JsonLines) -> None:  # type: ignore[no-untyped-def]
    server = start_server(shared_settings(tmp_path, models_dir))  # a fresh model cache: the job logs its load
    try:
        with httpx.Client(
            base_url=server.url, headers={**server.auth_headers, "X-Request-ID": "trace-me-42"}
        ) as client:
            job = submit(client, steps=2, width=64, height=64)
            wait_for(client, job["id"])
    finally:
        server.stop()
    worker_lines = [line for line in json_logs.lines if line.get("job_id") == job["id"]]
    assert any(line["msg"] == "model loaded" for line in worker_lines), json_logs.lines
    assert all(line["request_id"] == "trace-me-42" for line in worker_lines)


def test_formatter_adds_bound_ids_and_extra_wins() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", (), None)
    with bind(request_id="r1", job_id="j1"):
        line = json.loads(JsonFormatter().format(record))
    assert (line["request_id"], line["job_id"]) == ("r1", "j1")
    record.job_id = "explicit"
    with bind(job_id="j1"):
        assert json.loads(JsonFormatter().format(record))["job_id"] == "explicit"
    assert "request_id" not in json.loads(JsonFormatter().format(logging.LogRecord("x", 20, "", 1, "m", (), None)))
