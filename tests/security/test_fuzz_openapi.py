"""Property-based fuzzing of the whole API from its own OpenAPI schema: whatever is sent,
valid or not, no answer is a 5xx, and every JSON error has the usual shape.

Every operation in the schema is fuzzed against a live server, authenticated as the
server's test user (the admin routes as an admin). The server runs with no worker, so accepted jobs stay queued and
fuzzing does not wait on the models; the SSE route (``/jobs/{id}/events``) streams for as
long as a job is open, so each request has a short read timeout, and a stream still open
when it runs out counts as an answer (its status line and headers have arrived).

``FUZZ_MAX_EXAMPLES`` (default 25) bounds the generated cases per operation and mode."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from aptmagic.app import create_app
from aptmagic.config import Settings
from tests.conftest import LiveServer, create_account
from tests.security import auth_of

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "25"))
TIMEOUT = 5.0
STREAMING = ("/api/v1/jobs/{job_id}/events",)
ADMIN_PREFIX = "/api/v1/admin"

schema = schemathesis.openapi.from_dict(
    create_app(Settings(environment="test", data_dir=Path("/nonexistent-fuzz-schema"))).openapi()
).exclude(path_regex=r"^/(v1|sdapi/v1)/")  # other APIs' error shapes: fuzzed in tests/compat/test_fuzz.py
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES, deterministic=True
)


@pytest.fixture
def make_settings(make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """conftest's settings with no worker: accepted jobs stay queued."""

    def make(**overrides: Any) -> Settings:
        return make_settings(**{"worker_concurrency": 0, **overrides})

    return make


def admin_headers(live: LiveServer) -> dict[str, str]:
    """An admin's key for the admin routes, made once per server."""
    if not hasattr(live, "fuzz_admin"):
        live.fuzz_admin = create_account(live.services, "fuzzadmin", admin=True)  # type: ignore[attr-defined]
    return dict(live.fuzz_admin.headers)  # type: ignore[attr-defined]


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors(case: Any, live: LiveServer) -> None:
    headers = auth_of(live)
    if headers and case.operation.path.startswith(ADMIN_PREFIX):
        headers = admin_headers(live)
    try:
        response = case.call(base_url=live.url, headers=headers, timeout=TIMEOUT)
    except requests.exceptions.ReadTimeout:
        if case.operation.path in STREAMING:
            return  # an event stream still open: it answered, with a 2xx
        raise
    case.validate_response(response, checks=(not_a_server_error,))
    content_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code >= 400 and content_type.startswith("application/json"):
        body = response.json()
        assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
