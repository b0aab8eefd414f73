"""Property-based fuzzing of the compat routes from the OpenAPI schema: no 5xx, and every
JSON error in the dialect's shape (OpenAI under /v1, A1111 under /sdapi/v1).

The shared fuzz test (tests/security) checks aptmagic's own error shape, so it leaves
these routes to this one. The server runs no worker and the routes wait at most a
moment, so an accepted request answers 504 ``timeout`` (its job is canceled): that is
the one 5xx allowed here, and it means the input passed every check."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode

from aptmagic.app import create_app
from aptmagic.compat.deps import wait_seconds
from aptmagic.config import Settings
from tests.conftest import LiveServer, start_server

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
COMPAT_PATHS = r"^/(v1|sdapi/v1)/"
WAIT_SECONDS = 0.2

schema = schemathesis.openapi.from_dict(
    create_app(Settings(environment="test", data_dir=Path("/nonexistent-fuzz-schema"))).openapi()
).include(path_regex=COMPAT_PATHS)
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, deterministic=True
)


@pytest.fixture(scope="module")
def fuzz_live(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    from tests.jobs.conftest import shared_settings

    server = start_server(shared_settings(tmp_path_factory.mktemp("fuzz"), models_dir, worker_concurrency=0))
    server.app.dependency_overrides[wait_seconds] = lambda: WAIT_SECONDS
    yield server
    server.stop()


def check_shape(path: str, status: int, body: Any) -> None:
    if path.startswith("/sdapi/v1/"):
        assert set(body) == {"detail"} or set(body) == {"error", "detail", "body", "errors"}, body
        if status >= 500:
            assert status == 504 and "did not finish" in body["detail"], body
        return
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}, body
    if status >= 500:
        assert status == 504 and body["error"]["code"] == "timeout", body


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
def test_no_server_errors_and_dialect_shapes(case: Any, fuzz_live: LiveServer) -> None:
    try:
        response = case.call(base_url=fuzz_live.url, headers=fuzz_live.auth_headers, timeout=10)
    except requests.exceptions.ReadTimeout:
        pytest.fail(f"{case.operation.path} did not answer in 10 s")
    content_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code >= 400 and content_type.startswith("application/json"):
        check_shape(case.operation.path, response.status_code, response.json())
    elif response.status_code >= 500:
        raise AssertionError(f"{response.status_code} from {case.operation.path}: {response.text[:300]}")
