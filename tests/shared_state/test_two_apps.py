"""Several API apps sharing one Redis agree: rate limits, log-in throttling, the
result cache, job events (SSE) and cancels. Apps that share state here also
share the database, as processes of one cluster do."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from aptmagic.shared_state.results import owner_scope
from tests.conftest import LiveServer, wait_for
from tests.jobs.conftest import SSEEvent, iter_sse
from tests.support.services import RedisServer

JOBS = "/api/v1/jobs"


def image(seed: int, steps: int = 2, size: int = 64) -> dict[str, Any]:
    params = {"prompt": "a cat", "seed": seed, "steps": steps, "width": size, "height": size}
    return {"task": "text-to-image", "model": "tiny-sd", "params": params}


def test_two_apps_share_the_rate_limit(redis_apps: Callable[..., LiveServer]) -> None:
    limits = {"rate_limit_ip_per_second": 0.01, "rate_limit_ip_burst": 6, "worker_concurrency": 0}
    a = redis_apps(**limits)
    b = redis_apps(account=False, **limits)
    answers = [httpx.get(f"{app.url}{JOBS}", headers=a.auth_headers).status_code for app in (a, b, a, b, a, b)]
    assert answers == [200] * 6
    refused = httpx.get(f"{b.url}{JOBS}", headers=a.auth_headers)
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
    assert httpx.get(f"{a.url}{JOBS}", headers=a.auth_headers).status_code == 429


def test_two_apps_share_log_in_throttling(redis_apps: Callable[..., LiveServer]) -> None:
    a = redis_apps(login_max_failures=2, worker_concurrency=0)
    b = redis_apps(account=False, login_max_failures=2, worker_concurrency=0)
    wrong = {"login": "tester", "password": "not the password at all"}
    assert httpx.post(f"{a.url}/api/v1/auth/login", json=wrong).status_code == 401
    assert httpx.post(f"{b.url}/api/v1/auth/login", json=wrong).status_code == 401
    locked = httpx.post(f"{a.url}/api/v1/auth/login", json={"login": "tester", "password": a.account.password})
    assert locked.status_code == 429 and locked.headers["retry-after"]


def test_two_apps_share_the_result_cache(redis_apps: Callable[..., LiveServer]) -> None:
    a = redis_apps()
    b = redis_apps(account=False, worker_concurrency=0)
    with httpx.Client(base_url=a.url, headers=a.auth_headers, timeout=30) as http_a:
        first = http_a.post(JOBS, json=image(9001)).json()
        assert wait_for(http_a, first["id"])["status"] == "succeeded"
        hit_a = http_a.post(JOBS, json=image(9001)).json()
    assert hit_a["cache_hit"] is True
    with a.services.session_factory() as session:
        key = a.services.jobs.get(session, first["id"]).cache_key
    scope = owner_scope(key, a.user_id)
    assert b.services.jobs.results.get(scope) == first["id"]  # B's own Redis client sees A's entry

    hit_b = httpx.post(f"{b.url}{JOBS}", json=image(9001), headers=a.auth_headers)

    assert hit_b.status_code == 202, hit_b.text
    assert hit_b.json()["status"] == "succeeded" and hit_b.json()["cache_hit"] is True
    assert hit_b.json()["outputs"][0]["asset_id"] == first["outputs"][0]["asset_id"] if first["outputs"] else True


def stream_events(
    url: str, headers: dict[str, str], job_id: str, into: list[SSEEvent], opened: threading.Event
) -> None:
    with (
        httpx.Client(headers=headers, timeout=httpx.Timeout(30, read=90)) as http,
        http.stream("GET", f"{url}{JOBS}/{job_id}/events") as response,
    ):
        opened.set()
        into.extend(iter_sse(response))


def test_progress_from_a_worker_in_one_app_reaches_sse_on_another(redis_apps: Callable[..., LiveServer]) -> None:
    runner_app = redis_apps()
    api_app = redis_apps(account=False, worker_concurrency=0)
    blocker = httpx.post(f"{runner_app.url}{JOBS}", json=image(9100, steps=40), headers=runner_app.auth_headers).json()
    job = httpx.post(f"{runner_app.url}{JOBS}", json=image(9101, steps=20), headers=runner_app.auth_headers).json()
    events: list[SSEEvent] = []
    opened = threading.Event()
    reader = threading.Thread(
        target=stream_events, args=(api_app.url, runner_app.auth_headers, job["id"], events, opened), daemon=True
    )
    reader.start()
    assert opened.wait(30)
    assert api_app.services.events.listening.wait(10)
    httpx.post(f"{runner_app.url}{JOBS}/{blocker['id']}/cancel", headers=runner_app.auth_headers)  # now let the job run
    reader.join(90)
    assert not reader.is_alive()
    kinds = [e.event for e in events]
    assert kinds[0] == "job" and kinds[-1] == "job" and events[-1].data["status"] == "succeeded", kinds
    steps = [e.data["step"] for e in events if e.event == "progress"]
    assert steps and steps[-1] == 20, kinds  # every step came from the other app's worker through Redis
    assert {"job_id": job["id"], "status": "running", "attempts": 1} in [e.data for e in events if e.event == "status"]


def test_a_cancel_on_one_app_stops_the_job_running_under_another(redis_apps: Callable[..., LiveServer]) -> None:
    runner_app = redis_apps()
    api_app = redis_apps(account=False, worker_concurrency=0)
    signals = runner_app.services.runner.cancels
    seen: list[bool] = []
    original = signals.is_requested

    def spy(job_id: str) -> bool:
        answer = original(job_id)
        seen.append(answer)
        return answer

    signals.is_requested = spy  # type: ignore[method-assign]
    headers = runner_app.auth_headers
    submitted = httpx.post(f"{runner_app.url}{JOBS}", json=image(9200, steps=100, size=256), headers=headers)
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    with httpx.Client(base_url=runner_app.url, headers=headers, timeout=30) as http:
        wait_for(http, job["id"], statuses={"running"})
        canceled = httpx.post(f"{api_app.url}{JOBS}/{job['id']}/cancel", headers=headers)
        assert canceled.status_code == 202, canceled.text
        final = wait_for(http, job["id"])
    assert final["status"] == "canceled"
    assert True in seen, "the worker never saw the Redis cancel signal"
    assert final["progress"]["step"] < 100


def test_redis_down_means_503_then_recovery(redis_apps: Callable[..., LiveServer], redis_server: RedisServer) -> None:
    app = redis_apps(rate_limit_ip_per_second=100.0, rate_limit_ip_burst=1000)
    headers = app.auth_headers
    assert httpx.get(f"{app.url}{JOBS}", headers=headers).status_code == 200
    redis_server.stop()
    try:
        started = time.monotonic()
        for response in (
            httpx.get(f"{app.url}{JOBS}", headers=headers),
            httpx.post(f"{app.url}{JOBS}", json=image(9300), headers=headers),
            httpx.post(f"{app.url}/api/v1/auth/login", json={"login": "tester", "password": "x" * 12}),
        ):
            assert response.status_code == 503, response.text
            assert response.headers["retry-after"] == "5"
            assert response.json()["error"]["code"] == "shared_state_unavailable"
        assert time.monotonic() - started < 10, "an outage must not hang requests"
        assert httpx.get(f"{app.url}/healthz").status_code == 200  # outside /api/: not limited
        ready = httpx.get(f"{app.url}/readyz")
        assert ready.status_code == 503 and ready.json()["error"]["details"]["shared_state"].startswith("error")
    finally:
        redis_server.start()
    assert httpx.get(f"{app.url}{JOBS}", headers=headers).status_code == 200
    assert httpx.get(f"{app.url}/readyz").json()["checks"]["shared_state"] == "ok"
    job = httpx.post(f"{app.url}{JOBS}", json=image(9301), headers=headers)
    assert job.status_code == 202


def test_without_rate_limits_redis_down_degrades_the_cache_and_refuses_log_in(
    redis_apps: Callable[..., LiveServer], redis_server: RedisServer
) -> None:
    app = redis_apps()
    headers = app.auth_headers
    app.services.events.start()
    assert app.services.events.listening.wait(10)
    with httpx.Client(base_url=app.url, headers=headers, timeout=30) as http:
        redis_server.stop()
        try:
            job = http.post(JOBS, json=image(9400))  # the cache degrades to a miss: the job is still taken
            assert job.status_code == 202, job.text
            assert wait_for(http, job.json()["id"])["status"] == "succeeded"
            login = httpx.post(
                f"{app.url}/api/v1/auth/login", json={"login": "tester", "password": app.account.password}
            )
            assert login.status_code == 503 and login.headers["retry-after"] == "5"
            deadline = time.monotonic() + 10
            while app.services.events.listening.is_set() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not app.services.events.listening.is_set()
        finally:
            redis_server.start()
        login = httpx.post(f"{app.url}/api/v1/auth/login", json={"login": "tester", "password": app.account.password})
        assert login.status_code == 200, login.text
        assert app.services.events.listening.wait(15), "the event listener did not reconnect"
