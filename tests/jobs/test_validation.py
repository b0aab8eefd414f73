"""Bad requests to the jobs API: always 422 (or 404) with the error shape, never 5xx.

Every case runs against one idle server (no worker), so a request that is
wrongly accepted stays queued and is visible as a 202 failure."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import LiveServer, start_server
from tests.jobs.conftest import JOBS, assert_error, assert_validation_error, field_loc, job_body

P = ["body", "params"]


def post(client: httpx.Client, body: Any) -> httpx.Response:
    return client.post(JOBS, json=body)


# (id, request body, loc the error must point at)
FIELD_CASES: list[tuple[str, Any, list[str | int]]] = [
    ("unknown-task", {"task": "text-to-video", "model": "tiny-sd", "params": {"prompt": "a cat"}}, ["body", "task"]),
    ("missing-task", {"model": "tiny-sd", "params": {"prompt": "a cat"}}, ["body", "task"]),
    ("task-not-string", {"task": 7, "params": {"prompt": "a cat"}}, ["body", "task"]),
    ("unknown-model", job_body(model="no-such-model"), ["body", "model"]),
    ("model-too-long", job_body(model="m" * 65), ["body", "model"]),
    ("model-not-string", job_body(model=12), ["body", "model"]),  # type: ignore[arg-type]
    ("width-not-multiple-of-8", job_body(width=65), [*P, "width"]),
    ("height-not-multiple-of-8", job_body(height=100), [*P, "height"]),
    ("width-below-64", job_body(width=56), [*P, "width"]),
    ("height-below-64", job_body(height=0), [*P, "height"]),
    ("width-negative", job_body(width=-64), [*P, "width"]),
    ("width-above-any-model", job_body(width=2056), [*P, "width"]),
    ("width-above-model-limit", job_body(width=264), [*P, "width"]),
    ("height-above-model-limit", job_body(height=512), [*P, "height"]),
    ("steps-zero", job_body(steps=0), [*P, "steps"]),
    ("steps-151", job_body(steps=151), [*P, "steps"]),
    ("steps-above-model-limit", job_body(steps=101), [*P, "steps"]),
    ("steps-150-above-model-limit", job_body(steps=150), [*P, "steps"]),
    ("guidance-negative", job_body(guidance=-0.5), [*P, "guidance"]),
    ("guidance-above-30", job_body(guidance=30.5), [*P, "guidance"]),
    ("num-images-0", job_body(num_images=0), [*P, "num_images"]),
    ("num-images-9", job_body(num_images=9), [*P, "num_images"]),
    ("seed-negative", job_body(seed=-1), [*P, "seed"]),
    ("seed-2-pow-32", job_body(seed=2**32), [*P, "seed"]),
    ("seed-huge", job_body(seed=10**30), [*P, "seed"]),
    ("seed-fraction", job_body(seed=1.5), [*P, "seed"]),
    ("prompt-empty", job_body(prompt=""), [*P, "prompt"]),
    ("prompt-whitespace", job_body(prompt=" \t\n  "), [*P, "prompt"]),
    ("prompt-1001-chars", job_body(prompt="x" * 1001), [*P, "prompt"]),
    ("prompt-not-string", job_body(prompt=123), [*P, "prompt"]),
    ("prompt-null", job_body(prompt=None), [*P, "prompt"]),
    ("prompt-missing", {"task": "text-to-image", "model": "tiny-sd", "params": {"width": 64}}, [*P, "prompt"]),
    ("negative-prompt-1001-chars", job_body(negative_prompt="x" * 1001), [*P, "negative_prompt"]),
    ("unknown-param", job_body(sampler="euler"), [*P, "sampler"]),
    ("unknown-top-level-field", {**job_body(), "priority": 5}, ["body", "priority"]),
    ("width-string", job_body(width="wide"), [*P, "width"]),
    ("width-fraction", job_body(width=64.5), [*P, "width"]),
    ("width-list", job_body(width=[64]), [*P, "width"]),
    ("steps-string", job_body(steps="many"), [*P, "steps"]),
    ("num-images-object", job_body(num_images={"n": 2}), [*P, "num_images"]),
    ("guidance-string", job_body(guidance="high"), [*P, "guidance"]),
    ("params-missing", {"task": "text-to-image", "model": "tiny-sd"}, [*P]),
    ("params-null", {"task": "text-to-image", "model": "tiny-sd", "params": None}, [*P]),
    ("params-list", {"task": "text-to-image", "model": "tiny-sd", "params": [{"prompt": "a cat"}]}, [*P]),
    ("params-string", {"task": "text-to-image", "model": "tiny-sd", "params": "a cat"}, [*P]),
]


@pytest.mark.parametrize(("body", "loc"), [case[1:] for case in FIELD_CASES], ids=[case[0] for case in FIELD_CASES])
def test_invalid_field_is_422_at_its_location(idle_client: httpx.Client, body: Any, loc: list[str | int]) -> None:
    assert_validation_error(post(idle_client, body), loc)


@pytest.mark.parametrize(
    ("field", "value", "limit"),
    [("width", 264, 256), ("height", 2048, 256), ("steps", 101, 100)],
)
def test_model_limit_error_names_the_limit(idle_client: httpx.Client, field: str, value: int, limit: int) -> None:
    error = assert_validation_error(post(idle_client, job_body(**{field: value})), [*P, field])
    detail = next(item for item in error["details"] if item["loc"][:3] == [*P, field])
    assert str(limit) in detail["msg"], detail
    assert "tiny-sd" in detail["msg"], detail
    assert str(limit) in error["message"], error


def test_unknown_model_error_lists_the_known_models(idle_client: httpx.Client) -> None:
    error = assert_validation_error(post(idle_client, job_body(model="no-such-model")), ["body", "model"])
    assert "no-such-model" in error["message"]
    assert "tiny-sd" in error["details"][0]["msg"]


RAW_CASES: list[tuple[str, bytes | str, dict[str, str], list[str | int] | None]] = [
    ("malformed-json", b'{"task": "text-to-image", "params": {', {"content-type": "application/json"}, ["body"]),
    ("trailing-garbage", b'{"task": "text-to-image"} xyz', {"content-type": "application/json"}, ["body"]),
    (
        "json-array",
        b'[{"task": "text-to-image", "params": {"prompt": "a cat"}}]',
        {"content-type": "application/json"},
        ["body"],
    ),
    ("json-string", b'"text-to-image"', {"content-type": "application/json"}, ["body"]),
    ("json-number", b"42", {"content-type": "application/json"}, ["body"]),
    ("json-null", b"null", {"content-type": "application/json"}, ["body"]),
    ("empty-object", b"{}", {"content-type": "application/json"}, ["body"]),
    ("empty-body", b"", {"content-type": "application/json"}, ["body"]),
    ("empty-body-no-type", b"", {}, ["body"]),
    (
        "text-plain",
        b'{"task": "text-to-image", "params": {"prompt": "a cat"}}',
        {"content-type": "text/plain"},
        ["body"],
    ),
    (
        "form-encoded",
        b"task=text-to-image&prompt=a+cat",
        {"content-type": "application/x-www-form-urlencoded"},
        ["body"],
    ),
    (
        "guidance-nan",
        b'{"task": "text-to-image", "params": {"prompt": "a", "guidance": NaN}}',
        {"content-type": "application/json"},
        None,
    ),
    (
        "guidance-infinity",
        b'{"task": "text-to-image", "params": {"prompt": "a", "guidance": Infinity}}',
        {"content-type": "application/json"},
        None,
    ),
    (
        "seed-nan",
        b'{"task": "text-to-image", "params": {"prompt": "a", "seed": NaN}}',
        {"content-type": "application/json"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("content", "headers", "loc"), [case[1:] for case in RAW_CASES], ids=[case[0] for case in RAW_CASES]
)
def test_malformed_body_is_422(
    idle_client: httpx.Client, content: bytes, headers: dict[str, str], loc: list[str | int] | None
) -> None:
    response = idle_client.post(JOBS, content=content, headers=headers)
    assert_validation_error(response, loc)


def test_body_that_is_not_utf8_is_a_client_error(idle_client: httpx.Client) -> None:
    response = idle_client.post(JOBS, content=b'{"task": "\xff\xfe"}', headers={"content-type": "application/json"})
    assert response.status_code in (400, 422), response.text
    assert_error(response, response.status_code, "bad_request" if response.status_code == 400 else "validation_error")


def test_deeply_nested_json_is_a_client_error(idle_client: httpx.Client) -> None:
    content = b'{"task": "text-to-image", "params": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    response = idle_client.post(JOBS, content=content, headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, response.text
    assert "error" in response.json()


def test_several_errors_are_all_reported(idle_client: httpx.Client) -> None:
    error = assert_validation_error(post(idle_client, job_body(width=65, steps=0, num_images=9, prompt="")))
    locs = {tuple(field_loc(item["loc"])) for item in error["details"]}
    assert {("body", "params", f) for f in ("width", "steps", "num_images", "prompt")} <= locs, locs


def test_boundary_values_are_accepted(idle_client: httpx.Client) -> None:
    """The edges of each range are valid (the idle server only queues them)."""
    for params in (
        {"width": 64, "height": 256, "steps": 1, "guidance": 0.0, "num_images": 1, "seed": 0},
        {"width": 256, "height": 64, "steps": 100, "guidance": 30.0, "num_images": 8, "seed": 2**32 - 1},
        {"prompt": "x" * 1000, "negative_prompt": "y" * 1000},
        {"prompt": "  padded  " + "x" * 990 + "  "},  # 1004 chars, 1000 once stripped
    ):
        response = post(idle_client, job_body(**params))
        assert response.status_code == 202, (params, response.text)
        job = response.json()
        assert job["status"] == "queued"
        for key, value in params.items():
            assert job["params"][key] == (value.strip() if isinstance(value, str) else value)


def test_model_may_be_omitted_and_defaults_for_the_task(idle_client: httpx.Client) -> None:
    for body in (job_body(model=None), {**job_body(model=None), "model": None}):
        response = post(idle_client, body)
        assert response.status_code == 202, response.text
        assert response.json()["model"] == "tiny-sd"


def test_model_of_another_task_is_422(idle_client: httpx.Client) -> None:
    error = assert_validation_error(post(idle_client, job_body(model="tiny-llm")), ["body", "model"])
    assert "tiny-llm" in error["message"] and "text-to-image" in error["message"], error


def test_unknown_task_error_names_the_known_tasks(idle_client: httpx.Client) -> None:
    error = assert_validation_error(post(idle_client, job_body(task="text-to-video")), ["body", "task"])
    assert "text-to-video" in error["message"] and "text-to-image" in error["message"], error


def test_rejected_requests_create_no_jobs(make_settings: Any) -> None:
    server: LiveServer = start_server(make_settings(worker_concurrency=0))
    try:
        with httpx.Client(base_url=server.url, timeout=30, headers=server.auth_headers) as client:
            for _, body, _ in FIELD_CASES:
                assert post(client, body).status_code == 422
            assert client.get(JOBS).json() == {"items": [], "next_cursor": None}
    finally:
        server.stop()


# Unknown ids and odd paths.


@pytest.mark.parametrize(
    "job_id",
    [
        "0" * 32,
        "does-not-exist",
        "x" * 10_000,
        "%00",
        "%ff%fe",
        "'%20OR%201=1%20--",
        "%2e%2e",
        "..%2F..%2Fetc%2Fpasswd",
    ],
    ids=["hex-shaped", "word", "10k-chars", "nul", "bad-utf8", "sql", "dotdot", "traversal"],
)
@pytest.mark.parametrize("action", ["get", "cancel", "events"])
def test_unknown_job_is_404(idle_client: httpx.Client, job_id: str, action: str) -> None:
    path = f"{JOBS}/{job_id}" + {"get": "", "cancel": "/cancel", "events": "/events"}[action]
    response = idle_client.post(path) if action == "cancel" else idle_client.get(path)
    assert response.status_code in (404, 422), response.text
    assert_error(response, response.status_code, "not_found" if response.status_code == 404 else "validation_error")


def test_unknown_job_error_names_the_id(idle_client: httpx.Client) -> None:
    error = assert_error(idle_client.get(f"{JOBS}/{'a' * 32}"), 404, "not_found")
    assert "a" * 32 in error["message"]


def test_wrong_method_is_405_with_the_error_shape(idle_client: httpx.Client) -> None:
    assert_error(idle_client.delete(JOBS), 405, "method_not_allowed")
    assert_error(idle_client.get(f"{JOBS}/{'a' * 32}/cancel"), 405, "method_not_allowed")
    assert_error(idle_client.put(f"{JOBS}/{'a' * 32}", json={}), 405, "method_not_allowed")


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 101},
        {"limit": -1},
        {"limit": "ten"},
        {"status": "exploded"},
        {"task": "t" * 33},
        {"model": "m" * 65},
        {"cursor": "c" * 201},
    ],
    ids=["limit-0", "limit-101", "limit-negative", "limit-string", "status", "task-long", "model-long", "cursor-long"],
)
def test_bad_list_query_is_422(idle_client: httpx.Client, query: dict[str, Any]) -> None:
    (name,) = query
    assert_validation_error(idle_client.get(JOBS, params=query), ["query", name])


def test_no_case_is_ever_5xx(idle_client: httpx.Client) -> None:
    """A sweep of odd values into every field: whatever the answer, never a server error."""
    odd: list[Any] = [None, True, -1, 0, 2**63, 1e308, -1e308, "", " ", "\x00", "é" * 2000, [], {}, [1], {"a": 1}]
    fields = ["prompt", "negative_prompt", "width", "height", "steps", "guidance", "num_images", "seed"]
    for field in fields:
        for value in odd:
            response = post(idle_client, job_body(**{field: value}))
            assert response.status_code < 500, (field, value, response.text)
            assert response.status_code in (202, 422), (field, value, response.text)
    for value in odd:
        for key in ("task", "model", "params"):
            body = {**job_body(), key: value}
            response = post(idle_client, body)
            assert response.status_code in (202, 422), (key, value, response.text)


def test_validation_leaves_the_server_healthy(idle_live: LiveServer, idle_client: httpx.Client) -> None:
    assert idle_client.get("/healthz").json() == {"status": "ok"}
    assert post(idle_client, job_body()).status_code == 202
