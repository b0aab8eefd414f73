"""Engines that go down: failover to the next model, circuits that open and close, answers
from stored results, and errors that must never be retried.

Each "engine" is the scripted test backend of tests/worker/conftest.py, told per model
id to fail or succeed; the jobs run through a live server's real runner and database."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from aptmagic.inference.base import ContentFiltered, InferenceError, TransientInferenceError
from aptmagic.inference.spec import ModelSpec
from aptmagic.jobs.models import Job, JobOutput
from tests.conftest import LiveServer, create_account, submit, wait_for
from tests.worker.conftest import Plan, scripted_spec
from tests.worker.test_retries import read_events


def model(model_id: str, **fields: Any) -> ModelSpec:
    return scripted_spec(model_id).model_copy(update=fields)


def throttled() -> BaseException:
    return TransientInferenceError("ThrottlingException: rate exceeded")


def sample(server: LiveServer, name: str, labels: dict[str, str]) -> float:
    value = server.services.observability.metrics.registry.get_sample_value(name, labels)
    return float(value or 0.0)


def output_rows(server: LiveServer, job_id: str) -> list[str]:
    with server.services.session_factory() as session:
        query = select(JobOutput.asset_id).where(JobOutput.job_id == job_id).order_by(JobOutput.position)
        return list(session.scalars(query))


MODELS = [
    model("primary", failover=("secondary",), circuit_failures=2, circuit_cooldown_seconds=60),
    model("secondary"),
]


def test_a_down_engine_fails_over_to_the_next_model(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    gate = threading.Event()  # the job waits for the event stream to be open
    plans["primary"] = Plan(always=throttled, gate=gate)
    plans["secondary"] = Plan()
    server = start_live(models=MODELS)
    client = http_for(server)
    job = submit(client, model="primary", seed=11)
    events = read_events(client, job["id"], on_open=gate.set)
    done = wait_for(client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["served_from"] == "failover:secondary"
    assert done["model"] == "primary"
    assert done["attempts"] == 1
    assert done["error"] is None
    assert len(done["outputs"]) == 1
    assert (plans["primary"].calls, plans["secondary"].calls) == (1, 1)
    failovers = [data for name, data in events if name == "failover"]
    assert failovers == [
        {"job_id": job["id"], "from": "primary", "to": "secondary", "reason": "ThrottlingException: rate exceeded"}
    ]
    labels = {"task": "text-to-image", "model": "primary", "served_from": "failover:secondary"}
    assert sample(server, "aptmagic_jobs_served_total", labels) == 1
    errors = {"model": "primary", "backend": "test-scripted", "kind": "transient_error"}
    assert sample(server, "aptmagic_engine_errors_total", errors) == 1
    latency = {"model": "secondary", "backend": "test-scripted"}
    assert sample(server, "aptmagic_engine_call_seconds_count", latency) == 1


def test_the_circuit_opens_is_shown_and_skips_the_engine_until_it_heals(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["primary"] = Plan(always=throttled)
    plans["secondary"] = Plan()
    server = start_live(models=MODELS)
    client = http_for(server)
    for seed in (21, 22):
        assert wait_for(client, submit(client, model="primary", seed=seed)["id"])["served_from"] == "failover:secondary"
    assert plans["primary"].calls == 2  # circuit_failures = 2: now open

    third = wait_for(client, submit(client, model="primary", seed=23)["id"])
    assert third["served_from"] == "failover:secondary"
    assert plans["primary"].calls == 2, "an open circuit must refuse the call without reaching the engine"
    refused = {"model": "primary", "backend": "test-scripted", "kind": "engine_unavailable"}
    assert sample(server, "aptmagic_engine_errors_total", refused) == 1
    assert sample(server, "aptmagic_engine_circuit_state", {"model": "primary", "state": "open"}) == 1
    assert sample(server, "aptmagic_engine_circuit_state", {"model": "primary", "state": "closed"}) == 0

    listed = {m["id"]: m for m in client.get("/api/v1/models").json()}
    assert listed["primary"]["engine"] == {"backend": "test-scripted", "remote": False, "circuit": "open"}
    assert listed["primary"]["failover"] == ["secondary"]
    assert listed["secondary"]["engine"]["circuit"] == "closed"
    assert listed["tiny-sd"]["engine"]["circuit"] == "closed"
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ok"
    assert ready.json()["engines"] == {"primary": "open"}

    # The engine comes back; after the cool-down one probe closes the circuit.
    plans["primary"].always = None
    circuit = server.services.runner.circuits.of(server.services.registry.get("primary"))
    circuit.cooldown_seconds = 0.0
    healed = wait_for(client, submit(client, model="primary", seed=24)["id"])
    assert healed["served_from"] == "engine"
    assert plans["primary"].calls == 3
    assert client.get("/readyz").json()["engines"] == {}
    assert {m["id"]: m for m in client.get("/api/v1/models").json()}["primary"]["engine"]["circuit"] == "closed"


def test_every_engine_down_answers_from_the_owners_stored_result(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["stored"] = Plan()
    server = start_live(models=[model("stored", fallback_to_stored=True, circuit_cooldown_seconds=0.2)])
    client = http_for(server)
    first = wait_for(client, submit(client, model="stored", seed=31, prompt="a red fox")["id"])
    assert first["status"] == "succeeded" and first["served_from"] == "engine"

    plans["stored"].always = throttled  # the engine goes down
    before = sample(
        server, "aptmagic_jobs_served_total", {"task": "text-to-image", "model": "stored", "served_from": "fallback"}
    )
    answered = wait_for(client, submit(client, model="stored", seed=32, prompt="a red fox")["id"])
    assert answered["status"] == "succeeded", answered
    assert answered["served_from"] == "fallback"
    assert answered["cached_from"] == first["id"]
    assert answered["cache_hit"] is False
    assert answered["attempts"] == 1
    assert [o["asset_id"] for o in answered["outputs"]] == [o["asset_id"] for o in first["outputs"]]
    assert output_rows(server, answered["id"]) == [o["asset_id"] for o in first["outputs"]]
    result = answered["result"]
    assert result["served_from"] == "fallback"
    assert result["fallback_of"] == first["id"]
    assert result["fallback_seed"] == 31
    assert "ThrottlingException" in result["fallback_reason"]
    assert answered["timings"]["inference_ms"] is None
    after = sample(
        server, "aptmagic_jobs_served_total", {"task": "text-to-image", "model": "stored", "served_from": "fallback"}
    )
    assert after == before + 1
    page = client.get(f"/jobs/{answered['id']}")
    assert page.status_code == 200
    assert "not a new generation" in page.text and f'href="/jobs/{first["id"]}"' in page.text

    # Another request (another prompt) has nothing stored: it waits, retries, and fails.
    other_prompt = wait_for(client, submit(client, model="stored", seed=33, prompt="a blue fox")["id"])
    assert other_prompt["status"] == "failed"
    assert other_prompt["served_from"] is None and other_prompt["outputs"] == []

    # Another owner's identical request never gets the first owner's outputs.
    stranger = create_account(server.services, "stranger")
    with httpx.Client(base_url=server.url, timeout=30, headers=stranger.headers) as theirs:
        refused = wait_for(theirs, submit(theirs, model="stored", seed=34, prompt="a red fox")["id"])
    assert refused["status"] == "failed", refused
    assert refused["error"]["code"] == "transient_error"
    assert refused["attempts"] == refused["max_attempts"]
    assert refused["served_from"] is None and refused["cached_from"] is None
    assert refused["outputs"] == []


def test_a_fallback_is_never_the_source_of_another_fallback(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["stored"] = Plan()
    server = start_live(models=[model("stored", fallback_to_stored=True)])
    client = http_for(server)
    first = wait_for(client, submit(client, model="stored", seed=41)["id"])
    plans["stored"].always = throttled
    second = wait_for(client, submit(client, model="stored", seed=42)["id"])
    third = wait_for(client, submit(client, model="stored", seed=43)["id"])
    assert second["served_from"] == third["served_from"] == "fallback"
    assert second["cached_from"] == third["cached_from"] == first["id"]
    assert third["result"]["fallback_seed"] == 41


def test_every_engine_down_without_fallback_retries_until_one_is_back(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    gate = threading.Event()
    plans["primary"] = Plan(failures=[throttled, throttled], gate=gate)
    plans["secondary"] = Plan(failures=[throttled, throttled])
    server = start_live(models=[model("primary", failover=("secondary",)), model("secondary")], max_attempts=3)
    client = http_for(server)
    job = submit(client, model="primary", seed=51)
    events = read_events(client, job["id"], on_open=gate.set)
    done = wait_for(client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["served_from"] == "engine"  # the first engine came back first
    assert done["attempts"] == 3
    assert (plans["primary"].calls, plans["secondary"].calls) == (3, 2)
    retries = [data for name, data in events if name == "retry"]
    assert [r["attempts"] for r in retries] == [1, 2]
    assert all("every engine of model 'primary' is down" in r["error"] for r in retries)
    assert all("secondary: ThrottlingException" in r["error"] for r in retries)
    assert [name for name, data in events if name == "job" and data["status"] == "succeeded"] == ["job"]
    assert len(done["outputs"]) == 1
    assert output_rows(server, job["id"]) == [done["outputs"][0]["asset_id"]]
    with server.services.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Job)) == 1


def test_a_retry_waits_for_the_open_circuit_to_allow_a_probe(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    gate = threading.Event()
    plans["lonely"] = Plan(failures=[throttled], gate=gate)
    cooldown = 1.0
    server = start_live(models=[model("lonely", circuit_failures=1, circuit_cooldown_seconds=cooldown)])
    client = http_for(server)
    job = submit(client, model="lonely", seed=61)
    events = read_events(client, job["id"], on_open=gate.set)
    done = wait_for(client, job["id"])
    assert done["status"] == "succeeded" and done["served_from"] == "engine"
    assert done["attempts"] == 3
    assert plans["lonely"].calls == 2, "the second attempt was refused by the open circuit"
    retries = [data for name, data in events if name == "retry"]
    assert "circuit open" in retries[1]["error"]
    assert retries[1]["delay"] >= 0.8 * cooldown  # not the 0.1 s backoff: the circuit's remaining cool-down


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (lambda: ContentFiltered("the engine's safety filter refused the prompt"), "content_filtered", "safety filter"),
        (lambda: InferenceError("ValidationException: width must be a multiple of 64"), "inference_error", "width"),
    ],
    ids=["content-filtered", "permanent"],
)
def test_permanent_errors_fail_at_once_without_failover(
    start_live: Callable[..., LiveServer],
    http_for: Callable[[LiveServer], httpx.Client],
    plans: dict[str, Plan],
    failure: Callable[[], BaseException],
    code: str,
    message: str,
) -> None:
    plans["primary"] = Plan(always=failure)
    plans["secondary"] = Plan()
    server = start_live(models=MODELS)
    client = http_for(server)
    done = wait_for(client, submit(client, model="primary", seed=71)["id"])
    assert done["status"] == "failed", done
    assert done["error"]["code"] == code
    assert message in done["error"]["message"]
    assert "attempts" not in done["error"]["message"]
    assert done["attempts"] == 1
    assert done["served_from"] is None
    assert (plans["primary"].calls, plans["secondary"].calls) == (1, 0)
    circuit = server.services.runner.circuits.of(server.services.registry.get("primary"))
    assert circuit.consecutive_failures == 0  # the engine answered: it is not down


def test_cancel_between_engines_stops_the_failover(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    gate = threading.Event()
    plans["primary"] = Plan(always=throttled, gate=gate)
    plans["secondary"] = Plan()
    server = start_live(models=MODELS)
    client = http_for(server)
    job = submit(client, model="primary", seed=81)
    deadline = time.monotonic() + 20
    while plans["primary"].calls == 0:
        assert time.monotonic() < deadline, "the job never reached its engine"
        time.sleep(0.01)
    assert client.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 202
    gate.set()
    done = wait_for(client, job["id"])
    assert done["status"] == "canceled", done
    assert plans["secondary"].calls == 0
    assert done["outputs"] == []


def test_models_and_openapi_show_engines_without_secrets(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client]
) -> None:
    remote = ModelSpec(
        id="vllm-chat",
        task="text",
        backend="openai",
        source="https://aptmagic:sk-live-0123456789@vllm.internal:8000/v1?api_key=sk-live-0123456789",
        options={"model": "llama", "api_key_env": "VLLM_API_KEY", "api_key": "sk-live-0123456789"},
        failover=("tiny-llm",),
    )
    server = start_live(models=[remote])
    client = http_for(server)
    response = client.get("/api/v1/models")
    assert response.status_code == 200
    assert "sk-live" not in response.text and "VLLM_API_KEY" not in response.text
    listed = {m["id"]: m for m in response.json()}["vllm-chat"]
    assert listed["source"] == "https://vllm.internal:8000/v1"
    assert listed["device"] == "cpu"
    assert listed["engine"] == {"backend": "openai", "remote": True, "circuit": "closed"}
    assert listed["failover"] == ["tiny-llm"]
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert "served_from" in schemas["JobRead"]["required"]
    assert {"engine", "failover", "fallback_to_stored"} <= set(schemas["ModelRead"]["properties"])
    assert "sk-live" not in client.get("/readyz").text


def test_an_unreachable_remote_engine_fails_over_to_the_local_model(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client]
) -> None:
    """The real openai backend, pointed at a port nothing listens on, fails over to tiny-sd."""
    import socket

    with socket.socket() as probe:  # a free port, closed again: connections to it are refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    remote = ModelSpec(
        id="remote-sd",
        task="text-to-image",
        backend="openai",
        source=f"http://127.0.0.1:{port}/v1",
        options={"model": "sd", "timeout_seconds": 2},
        failover=("tiny-sd",),
        limits={"max_width": 512, "max_height": 512},
    )
    server = start_live(models=[remote])
    client = http_for(server)
    job = submit(client, model="remote-sd", width=64, height=64, steps=2, seed=5)
    done = wait_for(client, job["id"])
    assert done["status"] == "succeeded", done
    assert done["served_from"] == "failover:tiny-sd"
    assert len(done["outputs"]) == 1
    listed = {m["id"]: m for m in client.get("/api/v1/models").json()}
    assert listed["remote-sd"]["engine"]["backend"] == "openai"
    assert listed["remote-sd"]["engine"]["remote"] is True
