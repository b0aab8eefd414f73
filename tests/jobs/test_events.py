"""Server-Sent Events of a job: GET /api/v1/jobs/{id}/events, read with httpx streaming."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from aptmagic.config import Settings
from tests.conftest import LiveServer, start_server, wait_for
from tests.jobs.conftest import JOBS, SSEEvent, assert_error, collect_events, fresh_seed, iter_sse, job_body


def submit(client: httpx.Client, **params: Any) -> dict[str, Any]:
    response = client.post(JOBS, json=job_body(**params))
    assert response.status_code == 202, response.text
    return response.json()


def test_stream_follows_a_job_from_queued_to_succeeded(shared_client: httpx.Client) -> None:
    """The job is held in the queue behind a long blocker until the stream is open,
    so the stream sees the whole life of the job."""
    blocker = submit(shared_client, steps=100, seed=fresh_seed())
    job = submit(shared_client, width=64, height=64, steps=3, seed=fresh_seed())
    released: list[bool] = []

    def on_event(event: SSEEvent) -> None:
        if not released:
            released.append(True)
            answer = shared_client.post(f"{JOBS}/{blocker['id']}/cancel")
            assert answer.status_code in (202, 409), answer.text

    events = collect_events(shared_client, job["id"], timeout=60, on_event=on_event)
    kinds = [e.event for e in events]

    first, last = events[0], events[-1]
    assert first.event == "job"
    assert first.data["id"] == job["id"]
    assert first.data["status"] == "queued", "the job started before its stream opened"
    assert last.event == "job"
    assert last.data["status"] == "succeeded"
    assert last.data["progress"] == {"step": 3, "total": 3, "fraction": 1.0}
    assert len(last.data["outputs"]) == 1
    assert last.data == shared_client.get(f"{JOBS}/{job['id']}").json()
    assert kinds.count("job") == 2, kinds
    assert set(kinds) <= {"job", "status", "progress"}, kinds

    progress = [e.data for e in events if e.event == "progress"]
    assert all(p["job_id"] == job["id"] and p["total"] == 3 for p in progress), progress
    steps = [p["step"] for p in progress]
    assert steps == sorted(set(steps)), f"steps not strictly increasing: {steps}"
    assert steps[-1] == 3
    assert set(range(1, 4)) <= set(steps), steps

    statuses = [e.data for e in events if e.event == "status"]
    assert {"job_id": job["id"], "status": "running", "attempts": 1} in statuses, statuses
    # The running status comes before the first progress.
    assert kinds.index("status") < kinds.index("progress")
    wait_for(shared_client, blocker["id"])


def test_stream_of_a_finished_job_is_one_job_event(shared_client: httpx.Client) -> None:
    job = submit(shared_client, steps=1, seed=fresh_seed())
    done = wait_for(shared_client, job["id"])
    assert done["status"] == "succeeded"
    started = time.monotonic()
    events = collect_events(shared_client, job["id"], timeout=10)
    assert time.monotonic() - started < 10, "the stream of a finished job did not end at once"
    assert [e.event for e in events] == ["job"]
    assert events[0].data == done


def test_stream_headers(shared_client: httpx.Client) -> None:
    job = submit(shared_client, steps=1, seed=fresh_seed())
    wait_for(shared_client, job["id"])
    with shared_client.stream("GET", f"{JOBS}/{job['id']}/events") as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "no-cache" in response.headers.get("cache-control", "") or "no-store" in response.headers.get(
            "cache-control", ""
        )
        raw = response.read().decode()
    assert raw.startswith("event: job")


@pytest.mark.parametrize("job_id", ["0" * 32, "nope", "x" * 10_000])
def test_stream_of_unknown_job_is_404(shared_client: httpx.Client, job_id: str) -> None:
    response = shared_client.get(f"{JOBS}/{job_id}/events")
    assert_error(response, 404, "not_found")


def test_unknown_job_stream_leaves_no_subscription(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    for _ in range(5):
        assert shared_client.get(f"{JOBS}/{'0' * 32}/events").status_code == 404
    assert shared_live.services.events.subscriber_count() == 0


@pytest.fixture
def idle_server(make_settings: Callable[..., Settings]) -> Iterator[LiveServer]:
    server = start_server(make_settings(worker_concurrency=0))
    yield server
    server.stop()


def test_stream_of_a_queued_job_ends_when_it_is_canceled(idle_server: LiveServer) -> None:
    with httpx.Client(base_url=idle_server.url, timeout=30, headers=idle_server.auth_headers) as client:
        job = submit(client, steps=2)
        canceled: list[httpx.Response] = []

        def on_event(event: SSEEvent) -> None:
            if not canceled:
                canceled.append(client.post(f"{JOBS}/{job['id']}/cancel"))

        started = time.monotonic()
        events = collect_events(client, job["id"], timeout=20, on_event=on_event)
        assert canceled[0].status_code == 202, canceled[0].text
        assert time.monotonic() - started < 10, "the stream of a canceled job did not end"
        assert [e.event for e in events] == ["job", "job"]
        assert events[0].data["status"] == "queued"
        assert events[1].data["status"] == "canceled"


def test_stream_of_a_running_job_ends_canceled(shared_client: httpx.Client) -> None:
    job = submit(shared_client, steps=100, seed=fresh_seed())
    asked: list[bool] = []

    def on_event(event: SSEEvent) -> None:
        if event.event == "progress" and event.data["step"] >= 1 and not asked:
            asked.append(True)
            assert shared_client.post(f"{JOBS}/{job['id']}/cancel").status_code == 202

    events = collect_events(shared_client, job["id"], timeout=60, on_event=on_event)
    assert asked, [e.event for e in events]
    assert events[-1].event == "job"
    assert events[-1].data["status"] == "canceled"
    assert events[-1].data["outputs"] == []
    steps = [e.data["step"] for e in events if e.event == "progress"]
    assert max(steps) < 100


def test_many_streams_of_one_job_see_the_same_end(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    blocker = submit(shared_client, steps=100, seed=fresh_seed())
    job = submit(shared_client, steps=2, seed=fresh_seed())
    results: list[list[SSEEvent]] = []
    errors: list[BaseException] = []
    opened = threading.Barrier(4)

    def follow() -> None:
        try:
            with httpx.Client(base_url=shared_live.url, timeout=30, headers=shared_live.auth_headers) as own:
                with own.stream("GET", f"{JOBS}/{job['id']}/events", timeout=httpx.Timeout(30, read=60)) as response:
                    events = []
                    for event in iter_sse(response):
                        if not events:
                            opened.wait(30)
                        events.append(event)
                    results.append(events)
        except BaseException as exc:
            errors.append(exc)
            opened.abort()

    threads = [threading.Thread(target=follow) for _ in range(3)]
    for thread in threads:
        thread.start()
    opened.wait(30)  # every stream has its first event: release the queue
    shared_client.post(f"{JOBS}/{blocker['id']}/cancel")
    for thread in threads:
        thread.join(90)
    assert not errors, errors
    assert len(results) == 3
    for events in results:
        assert events[0].event == "job" and events[0].data["status"] == "queued"
        assert events[-1].event == "job" and events[-1].data["status"] == "succeeded"
        assert [e.data["step"] for e in events if e.event == "progress"][-1] == 2
    deadline = time.monotonic() + 5
    while shared_live.services.events.subscriber_count() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert shared_live.services.events.subscriber_count() == 0


def test_client_that_leaves_early_frees_its_subscription(shared_live: LiveServer, shared_client: httpx.Client) -> None:
    blocker = submit(shared_client, steps=100, seed=fresh_seed())
    job = submit(shared_client, steps=1, seed=fresh_seed())
    try:
        with httpx.Client(base_url=shared_live.url, timeout=30, headers=shared_live.auth_headers) as own:
            with own.stream("GET", f"{JOBS}/{job['id']}/events") as response:
                stream = iter_sse(response)  # held: dropping the generator would close the connection
                first = next(stream)
                assert first.event == "job" and first.data["status"] == "queued"
                assert shared_live.services.events.subscriber_count() >= 1
        deadline = time.monotonic() + 10
        while shared_live.services.events.subscriber_count() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert shared_live.services.events.subscriber_count() == 0
    finally:
        for queued in (job, blocker):
            shared_client.post(f"{JOBS}/{queued['id']}/cancel")
        wait_for(shared_client, blocker["id"])
    assert shared_client.get(f"{JOBS}/{job['id']}").json()["status"] == "canceled"
