"""Worker robustness: transient failures are retried with growing delays,
permanent and unexpected ones fail the job at once, and the worker goes on."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from aptmagic.db.base import utcnow
from aptmagic.inference.base import InferenceError, ModelLoadError, TransientInferenceError
from aptmagic.jobs.models import Job
from aptmagic.jobs.runner import RetryPolicy
from tests.conftest import TERMINAL, LiveServer, submit, wait_for
from tests.worker.conftest import Plan


class ContentBlocked(InferenceError):
    code = "content_blocked"


def read_events(
    client: httpx.Client, job_id: str, on_open: Callable[[], None] | None = None, timeout: float = 30
) -> list[tuple[str, dict[str, Any]]]:
    """Follow a job's SSE stream until its final ``job`` event."""
    events: list[tuple[str, dict[str, Any]]] = []
    deadline = time.monotonic() + timeout
    with client.stream("GET", f"/api/v1/jobs/{job_id}/events", timeout=timeout) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        if on_open is not None:
            on_open()
        name: str | None = None
        data: list[str] = []
        for line in response.iter_lines():
            if time.monotonic() > deadline:
                raise AssertionError(f"stream did not end: {events}")
            if line.startswith("event:"):
                name = line.removeprefix("event:").strip()
            elif line.startswith("data:"):
                data.append(line.removeprefix("data:").strip())
            elif line == "" and name is not None:
                payload = json.loads("\n".join(data))
                events.append((name, payload))
                if name == "job" and payload["status"] in TERMINAL and len(events) > 1:
                    return events
                name, data = None, []
    return events


def job_row(server: LiveServer, job_id: str) -> Job:
    with server.services.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job


# -- the retry policy ------------------------------------------------------


def test_retry_delay_doubles_and_is_capped() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=60.0)
    assert [policy.delay(n) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    assert policy.delay(0) == 1.0
    small = RetryPolicy(base_seconds=0.05, max_seconds=0.2)
    assert [small.delay(n) for n in (1, 2, 3, 4)] == [0.05, 0.1, 0.2, 0.2]
    assert RetryPolicy(0.0, 10.0).delay(5) == 0.0


def test_runner_uses_the_retry_settings(start_live: Callable[..., LiveServer]) -> None:
    server = start_live(retry_base_seconds=0.5, retry_max_seconds=3.0, max_attempts=5)
    assert server.services.runner.retry == RetryPolicy(0.5, 3.0)
    assert server.services.jobs.max_attempts == 5


# -- transient failures ------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "code", "message"),
    [
        (lambda: TransientInferenceError("out of memory on cuda"), "transient_error", "out of memory on cuda"),
        (lambda: OSError("disk hiccup"), "transient_error", "OSError: disk hiccup"),
        (lambda: TimeoutError("engine timed out"), "transient_error", "TimeoutError: engine timed out"),
        (lambda: ConnectionError("connection reset"), "transient_error", "ConnectionError: connection reset"),
    ],
    ids=["transient-inference-error", "oserror", "timeout", "connection"],
)
def test_transient_failures_are_retried_until_success(
    start_live: Callable[..., LiveServer],
    http_for: Callable[[LiveServer], httpx.Client],
    plans: dict[str, Plan],
    failure: Callable[[], BaseException],
    code: str,
    message: str,
) -> None:
    plans["flaky"] = Plan(failures=[failure, failure])
    server = start_live()
    client = http_for(server)
    job = submit(client, model="flaky", seed=1)
    done = wait_for(client, job["id"], timeout=30)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 3
    assert done["max_attempts"] == 3
    assert done["error"] is None
    assert len(done["outputs"]) == 1
    assert plans["flaky"].calls == 3
    row = job_row(server, job["id"])
    assert row.run_after is None
    assert row.progress_step == row.progress_total


def test_retry_is_visible_on_the_event_stream(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    gate = threading.Event()
    plans["flaky"] = Plan(
        failures=[lambda: TransientInferenceError("gpu busy"), lambda: TransientInferenceError("gpu still busy")],
        gate=gate,
    )
    server = start_live()
    client = http_for(server)
    job = submit(client, model="flaky", seed=2)
    events = read_events(client, job["id"], on_open=gate.set)
    names = [name for name, _ in events]
    retries = [data for name, data in events if name == "retry"]
    assert [r["attempts"] for r in retries] == [1, 2], names
    assert [r["error"] for r in retries] == ["gpu busy", "gpu still busy"]
    assert all(r["job_id"] == job["id"] for r in retries)
    delays = [r["delay"] for r in retries]
    assert delays == pytest.approx([0.05, 0.1])
    assert delays[1] > delays[0], "backoff must grow"
    final = events[-1]
    assert final[0] == "job"
    assert final[1]["status"] == "succeeded"
    assert final[1]["attempts"] == 3
    assert "progress" in names


def test_a_retrying_job_waits_queued_with_run_after(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["flaky"] = Plan(failures=[lambda: TransientInferenceError("gpu busy")])
    server = start_live(retry_base_seconds=2.0, retry_max_seconds=5.0)
    client = http_for(server)
    job = submit(client, model="flaky", seed=3)

    deadline = time.monotonic() + 20
    while True:
        seen = client.get(f"/api/v1/jobs/{job['id']}").json()
        if seen["status"] == "queued" and seen["attempts"] == 1 and seen["error"]:
            break
        assert seen["status"] in ("queued", "running"), seen
        assert time.monotonic() < deadline, f"never saw the job waiting for its retry: {seen}"
        time.sleep(0.01)
    observed_at = utcnow()
    assert seen["error"]["code"] == "transient_error"
    assert "gpu busy" in seen["error"]["message"]
    assert "retrying in 2.0s" in seen["error"]["message"]
    row = job_row(server, job["id"])
    assert row.run_after is not None
    assert row.claimed_by is None
    assert timedelta(0) < row.run_after - observed_at <= timedelta(seconds=2.0)
    assert plans["flaky"].calls == 1

    done = wait_for(client, job["id"], timeout=20)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    assert done["error"] is None
    final = job_row(server, job["id"])
    assert final.started_at is not None
    assert final.started_at >= row.run_after - timedelta(milliseconds=50), "retried before its delay"
    assert final.run_after is None


def test_always_transient_fails_after_max_attempts(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["flaky"] = Plan(always=lambda: TransientInferenceError("out of memory"))
    server = start_live(max_attempts=4)
    client = http_for(server)
    job = submit(client, model="flaky", seed=4)
    done = wait_for(client, job["id"], timeout=30)
    assert done["status"] == "failed", done
    assert done["attempts"] == 4
    assert done["max_attempts"] == 4
    assert done["error"]["code"] == "transient_error"
    assert "out of memory" in done["error"]["message"]
    assert "after 4 attempts" in done["error"]["message"]
    assert "retrying" not in done["error"]["message"]
    assert done["outputs"] == []
    assert done["timings"]["finished_at"] is not None
    assert plans["flaky"].calls == 4
    assert server.services.queue.depth() == 0


def test_one_attempt_allowed_means_no_retry(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["flaky"] = Plan(always=lambda: OSError("disk hiccup"))
    server = start_live(max_attempts=1)
    client = http_for(server)
    done = wait_for(client, submit(client, model="flaky", seed=5)["id"], timeout=30)
    assert done["status"] == "failed"
    assert done["attempts"] == 1
    assert plans["flaky"].calls == 1


def test_a_transient_load_failure_is_retried(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["flaky"] = Plan(setup_failures=[lambda: OSError("weights on a flaky network share")])
    server = start_live()
    client = http_for(server)
    done = wait_for(client, submit(client, model="flaky", seed=6)["id"], timeout=30)
    assert done["status"] == "succeeded", done
    assert done["attempts"] == 2
    assert plans["flaky"].setups == 2
    assert plans["flaky"].calls == 1


# -- permanent failures ------------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "code"),
    [
        (lambda: InferenceError("this model cannot draw that"), "inference_error"),
        (lambda: ModelLoadError("weights are corrupt"), "model_load_failed"),
        (lambda: ContentBlocked("the prompt was blocked"), "content_blocked"),
    ],
    ids=["inference-error", "model-load-error", "custom-code"],
)
def test_a_permanent_error_fails_after_one_attempt(
    start_live: Callable[..., LiveServer],
    http_for: Callable[[LiveServer], httpx.Client],
    plans: dict[str, Plan],
    failure: Callable[[], BaseException],
    code: str,
) -> None:
    plans["broken"] = Plan(always=failure)
    server = start_live()
    client = http_for(server)
    job = submit(client, model="broken", seed=7)
    done = wait_for(client, job["id"], timeout=30)
    assert done["status"] == "failed", done
    assert done["attempts"] == 1
    assert done["error"] == {"code": code, "message": str(failure())}
    assert done["outputs"] == []
    time.sleep(0.3)  # longer than any retry delay in these settings
    assert plans["broken"].calls == 1
    assert client.get(f"/api/v1/jobs/{job['id']}").json()["status"] == "failed"


def test_a_model_that_fails_to_load_fails_the_job_and_loads_again_later(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    plans["broken"] = Plan(setup_failures=[lambda: ModelLoadError("weights missing")])
    server = start_live()
    client = http_for(server)
    first = wait_for(client, submit(client, model="broken", seed=8)["id"], timeout=30)
    assert first["status"] == "failed"
    assert first["error"] == {"code": "model_load_failed", "message": "weights missing"}
    assert [m.id for m in server.services.models.loaded()] == []
    second = wait_for(client, submit(client, model="broken", seed=9)["id"], timeout=30)
    assert second["status"] == "succeeded", second
    assert plans["broken"].setups == 2


def test_a_model_removed_from_the_registry_fails_the_job(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    server = start_live(worker_concurrency=0)
    client = http_for(server)
    job = submit(client, model="other", seed=10)
    services = server.services
    services.registry._specs.pop("other")
    services.runner.run(job["id"])
    done = client.get(f"/api/v1/jobs/{job['id']}").json()
    assert done["status"] == "failed"
    assert done["error"]["code"] == "inference_error"
    assert "no longer in the registry" in done["error"]["message"]


# -- unexpected exceptions -------------------------------------------------------


def test_an_unexpected_exception_is_an_internal_error_and_the_worker_goes_on(
    start_live: Callable[..., LiveServer],
    http_for: Callable[[LiveServer], httpx.Client],
    plans: dict[str, Plan],
    caplog: pytest.LogCaptureFixture,
) -> None:
    plans["broken"] = Plan(always=lambda: KeyError("boom"))
    server = start_live()
    client = http_for(server)
    job = submit(client, model="broken", seed=11)
    done = wait_for(client, job["id"], timeout=30)
    assert done["status"] == "failed", done
    assert done["attempts"] == 1
    assert done["error"] == {"code": "internal_error", "message": "KeyError: 'boom'"}
    assert plans["broken"].calls == 1
    assert "job failed" in caplog.text

    # the same worker thread serves the next jobs
    threads = list(server.services.queue._threads)
    assert threads and all(t.is_alive() for t in threads)
    for seed in (12, 13):
        after = wait_for(client, submit(client, model="steady", seed=seed)["id"], timeout=30)
        assert after["status"] == "succeeded", after
        assert after["attempts"] == 1
    assert server.services.queue._threads == threads
    assert all(t.is_alive() for t in threads)
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_failures_do_not_block_other_jobs(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    gate = threading.Event()
    plans["flaky"] = Plan(always=lambda: TransientInferenceError("busy"), gate=gate)
    plans["broken"] = Plan(always=lambda: RuntimeError("bug"))
    server = start_live(retry_base_seconds=0.2, retry_max_seconds=0.2)
    client = http_for(server)
    flaky = submit(client, model="flaky", seed=14)
    broken = submit(client, model="broken", seed=15)
    steady = [submit(client, model="steady", seed=16 + i) for i in range(3)]
    gate.set()  # the flaky job fails only once every other job is queued
    results = {j["id"]: wait_for(client, j["id"], timeout=30) for j in [flaky, broken, *steady]}
    assert results[flaky["id"]]["status"] == "failed"
    assert results[flaky["id"]]["attempts"] == 3
    assert results[broken["id"]]["error"]["code"] == "internal_error"
    assert [results[j["id"]]["status"] for j in steady] == ["succeeded"] * 3

    # the steady jobs ran while the flaky one waited between its attempts
    def finished(job_id: str) -> datetime:
        return datetime.fromisoformat(results[job_id]["timings"]["finished_at"])

    assert all(finished(j["id"]) < finished(flaky["id"]) for j in steady)


def test_a_job_canceled_while_it_fails_transiently_is_canceled_not_retried(
    start_live: Callable[..., LiveServer], http_for: Callable[[LiveServer], httpx.Client], plans: dict[str, Plan]
) -> None:
    gate = threading.Event()
    plans["flaky"] = Plan(failures=[lambda: TransientInferenceError("out of memory")], gate=gate)
    server = start_live(retry_base_seconds=0.05)
    client = http_for(server)
    job = submit(client, model="flaky", seed=20)
    wait_for(client, job["id"], timeout=20, statuses={"running"})
    canceled = client.post(f"/api/v1/jobs/{job['id']}/cancel")
    assert canceled.status_code == 202, canceled.text
    assert canceled.json()["cancel_requested"] is True
    gate.set()  # the backend now fails with a transient error before its next step
    done = wait_for(client, job["id"], timeout=20)
    assert done["status"] == "canceled", done
    assert done["attempts"] == 1
    assert plans["flaky"].calls == 1
