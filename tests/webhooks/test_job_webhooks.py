"""Job webhooks end to end: validated at submit, signed POST at the end, retries
with backoff, every attempt recorded and listed to the job's owner only."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from aptmagic.webhooks import verify
from aptmagic.webhooks.service import webhook_secret
from tests.auth.conftest import error_code
from tests.conftest import LiveServer, create_account, start_server, submit, wait_for
from tests.jobs.conftest import shared_settings
from tests.webhooks.receiver import Receiver, webhook_receiver

SECRET = "job-webhook-secret"


@pytest.fixture(scope="module")
def hook_live(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    settings = shared_settings(
        tmp_path_factory.mktemp("hooks"), models_dir, webhook_allowlist="127.0.0.1/32", webhook_secret=SECRET,
        webhook_retry_base_seconds=0.1, webhook_retry_max_seconds=0.2, webhook_max_attempts=3,
    )  # fmt: skip
    server = start_server(settings)
    yield server
    server.stop()


@pytest.fixture
def client(hook_live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=hook_live.url, timeout=30, headers=hook_live.auth_headers) as http:
        yield http


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r


def submit_with_hook(client: httpx.Client, url: str, **params: object) -> dict[str, object]:
    body = {"task": "text-to-image", "model": "tiny-sd", "webhook_url": url,
            "params": {"prompt": "a cat", "steps": 2, "width": 64, "height": 64, **params}}  # fmt: skip
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 202, response.text
    return response.json()


def deliveries(client: httpx.Client, job_id: str, count: int, timeout: float = 30) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}/webhook-deliveries").json()
        if len(body["deliveries"]) >= count and body["state"] not in ("pending", "sending"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_a_finished_job_posts_a_signed_payload(client: httpx.Client, receiver: Receiver) -> None:
    job = submit_with_hook(client, receiver.url)
    wait_for(client, str(job["id"]))
    status = deliveries(client, str(job["id"]), 1)
    assert status["state"] == "delivered" and status["attempts"] == 1
    assert status["deliveries"][0]["outcome"] == "delivered" and status["deliveries"][0]["status_code"] == 200
    assert len(receiver.requests) == 1
    sent = receiver.requests[0]
    verify(SECRET, sent.headers, sent.body)
    payload = json.loads(sent.body)
    assert payload["type"] == "job.succeeded"
    assert payload["data"]["id"] == job["id"] and payload["data"]["status"] == "succeeded"
    assert sent.headers["Webhook-Id"] == f"{job['id']}.job.succeeded"
    assert sent.headers["Content-Type"] == "application/json"


def test_a_cache_hit_is_delivered_too(client: httpx.Client, receiver: Receiver) -> None:
    first = submit_with_hook(client, receiver.url, seed=99)
    wait_for(client, str(first["id"]))
    second = submit_with_hook(client, receiver.url, seed=99)
    assert second["cache_hit"] is True
    deliveries(client, str(second["id"]), 1)
    assert {json.loads(r.body)["data"]["id"] for r in receiver.requests} == {first["id"], second["id"]}


def test_failures_are_retried_with_backoff_and_recorded(client: httpx.Client, receiver: Receiver) -> None:
    receiver.statuses = [500, 503]
    job = submit_with_hook(client, receiver.url)
    status = deliveries(client, str(job["id"]), 3)
    assert [d["outcome"] for d in status["deliveries"]] == ["retry", "retry", "delivered"]
    assert [d["status_code"] for d in status["deliveries"]] == [500, 503, 200]
    times = [r["created_at"] for r in status["deliveries"]]
    assert times == sorted(times)
    # the same message id every time, so the receiver can drop duplicates
    assert len({r.headers["Webhook-Id"] for r in receiver.requests}) == 1
    for sent in receiver.requests:
        verify(SECRET, sent.headers, sent.body)


def test_attempts_run_out(client: httpx.Client, receiver: Receiver) -> None:
    receiver.statuses = [500, 500, 500, 500]
    job = submit_with_hook(client, receiver.url)
    status = deliveries(client, str(job["id"]), 3)
    assert status["state"] == "failed"
    assert [d["outcome"] for d in status["deliveries"]] == ["retry", "retry", "failed"]
    time.sleep(0.5)
    assert len(receiver.requests) == 3


def test_a_name_resolving_privately_is_refused_at_delivery(client: httpx.Client, hook_live: LiveServer,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    poster = hook_live.services.observability.webhooks.poster
    monkeypatch.setattr(poster, "resolver", lambda host, port: ["10.0.0.7"])
    job = submit_with_hook(client, "https://hooks.example.com/cb")
    status = deliveries(client, str(job["id"]), 1)
    assert status["state"] == "failed"
    assert status["deliveries"][0]["outcome"] == "refused"
    assert "10.0.0.7" in status["deliveries"][0]["error"]


@pytest.mark.parametrize(
    "url,reason",
    [("file:///etc/passwd", "only http and https"), ("http://169.254.169.254/", "not public"),
     ("http://10.0.0.1/x", "not public"), ("http://2130706433/", "non-standard"),
     ("ftp://example.com/", "only http and https"), ("http://[::1]/", "not public"),
     ("https://example.com/" + "a" * 2100, "at most 2048"), ("not-a-url", "only http and https"), ("not a url", "spaces")],
)  # fmt: skip
def test_bad_webhook_urls_are_422_at_submit(client: httpx.Client, url: str, reason: str) -> None:
    body = {"task": "text-to-image", "model": "tiny-sd", "webhook_url": url, "params": {"prompt": "x"}}
    response = client.post("/api/v1/jobs", json=body)
    assert response.status_code == 422, response.text
    assert error_code(response) == "validation_error"
    detail = response.json()["error"]["details"][0]
    assert detail["loc"] == ["body", "webhook_url"]
    assert reason in detail["msg"]


def test_a_refused_submit_leaves_no_job(client: httpx.Client) -> None:
    before = len(client.get("/api/v1/jobs", params={"limit": 100}).json()["items"])
    body = {"task": "text-to-image", "model": "tiny-sd", "webhook_url": "http://127.0.0.2/", "params": {"prompt": "x"}}
    assert client.post("/api/v1/jobs", json=body).status_code == 422
    assert len(client.get("/api/v1/jobs", params={"limit": 100}).json()["items"]) == before


def test_deliveries_are_shown_to_the_owner_only(
    client: httpx.Client, hook_live: LiveServer, receiver: Receiver
) -> None:
    job = submit_with_hook(client, receiver.url)
    deliveries(client, str(job["id"]), 1)
    other = create_account(hook_live.services, "hookstranger")
    response = httpx.get(f"{hook_live.url}/api/v1/jobs/{job['id']}/webhook-deliveries", headers=other.headers)
    assert response.status_code == 404
    assert httpx.get(f"{hook_live.url}/api/v1/jobs/{job['id']}/webhook-deliveries").status_code == 401
    assert client.get("/api/v1/jobs/" + "x" * 100 + "/webhook-deliveries").status_code == 404


def test_a_job_without_a_webhook_has_no_deliveries(client: httpx.Client) -> None:
    job = submit(client, steps=2, width=64, height=64)
    body = client.get(f"/api/v1/jobs/{job['id']}/webhook-deliveries").json()
    assert body == {"url": None, "state": None, "attempts": 0, "deliveries": []}


def test_pending_hooks_survive_a_restart(tmp_path: Path, models_dir: Path, receiver: Receiver) -> None:
    settings = shared_settings(tmp_path, models_dir, webhook_allowlist="127.0.0.1/32", worker_concurrency=0)
    server = start_server(settings)
    try:
        with httpx.Client(base_url=server.url, headers=server.auth_headers) as http:
            job = submit_with_hook(http, receiver.url)
            server.services.observability.webhooks.stop()  # the process "dies" before delivering
            with server.services.session_factory.begin() as session:
                from aptmagic.jobs.repository import JobRepository

                JobRepository(session).set_fields(str(job["id"]), status="failed", error_code="x", error_message="x")
    finally:
        server.stop()
    assert receiver.requests == []
    restarted = start_server(settings, account=False)
    try:
        deadline = time.monotonic() + 20
        while not receiver.requests:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        sent = receiver.requests[0]
        verify(webhook_secret(settings), sent.headers, sent.body)
        assert json.loads(sent.body)["type"] == "job.failed"
    finally:
        restarted.stop()


def test_a_job_canceled_while_queued_is_delivered(tmp_path: Path, models_dir: Path, receiver: Receiver) -> None:
    settings = shared_settings(tmp_path, models_dir, webhook_allowlist="127.0.0.1/32", worker_concurrency=0)
    server = start_server(settings)
    try:
        with httpx.Client(base_url=server.url, headers=server.auth_headers) as http:
            job = submit_with_hook(http, receiver.url)
            assert http.post(f"/api/v1/jobs/{job['id']}/cancel").status_code == 202
            status = deliveries(http, str(job["id"]), 1)
        assert status["state"] == "delivered"
        assert json.loads(receiver.requests[0].body)["type"] == "job.canceled"
    finally:
        server.stop()
