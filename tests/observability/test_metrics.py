"""/metrics: admin only, parses as Prometheus text, and moves with traffic."""

from __future__ import annotations

import socket

import httpx
from prometheus_client.parser import text_string_to_metric_families

from aptmagic.observability.metrics import Metrics
from tests.auth.conftest import error_code
from tests.conftest import LiveServer, create_account, start_server, submit, wait_for
from tests.jobs.conftest import shared_settings


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return out


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


def scrape(client: httpx.Client) -> str:
    response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def test_metrics_parse_and_move_with_traffic(admin_client: httpx.Client, user_client: httpx.Client) -> None:
    before = scrape(admin_client)
    route = "/api/v1/jobs/{job_id}"
    seen = value(before, "aptmagic_http_requests_total", method="GET", route=route, status="404")
    for _ in range(3):
        assert user_client.get("/api/v1/jobs/does-not-exist").status_code == 404
    job = submit(user_client, steps=2, width=64, height=64)
    wait_for(user_client, job["id"])
    after = scrape(admin_client)
    assert value(after, "aptmagic_http_requests_total", method="GET", route=route, status="404") == seen + 3
    # The raw path never becomes a label: one series per route template.
    assert "does-not-exist" not in after
    assert value(after, "aptmagic_http_request_duration_seconds_count", method="GET", route=route) >= 3
    labels = {"task": "text-to-image", "model": "tiny-sd"}
    assert value(after, "aptmagic_jobs_submitted_total", **labels) >= 1
    assert value(after, "aptmagic_jobs_finished_total", status="succeeded", **labels) >= 1
    assert value(after, "aptmagic_job_run_seconds_count", **labels) >= 1
    assert value(after, "aptmagic_job_queue_wait_seconds_count", **labels) >= 1
    assert value(after, "aptmagic_model_load_seconds_count", model="tiny-sd") == 1
    assert value(after, "aptmagic_model_loaded_bytes", model="tiny-sd") > 0
    assert value(after, "aptmagic_api_requests_today") >= 5
    assert ("aptmagic_jobs_queued", frozenset()) in samples(after)


def test_cache_hits_and_upload_refusals_are_counted(admin_client: httpx.Client, user_client: httpx.Client) -> None:
    job = submit(user_client, steps=2, width=64, height=64, seed=7)
    wait_for(user_client, job["id"])
    before = scrape(admin_client)
    again = submit(user_client, steps=2, width=64, height=64, seed=7)
    assert again["cache_hit"] is True
    refused = user_client.post("/api/v1/uploads", files={"file": ("x.png", b"not an image", "image/png")})
    assert refused.status_code == 415
    after = scrape(admin_client)
    labels = {"task": "text-to-image", "model": "tiny-sd"}
    assert (
        value(after, "aptmagic_job_cache_hits_total", **labels)
        == value(before, "aptmagic_job_cache_hits_total", **labels) + 1
    )
    reason = error_code(refused)
    assert (
        value(after, "aptmagic_uploads_refused_total", reason=reason)
        == value(before, "aptmagic_uploads_refused_total", reason=reason) + 1
    )


def test_metrics_refuse_everyone_but_admins(obs_live: LiveServer, user_client: httpx.Client) -> None:
    anonymous = httpx.get(obs_live.url + "/metrics")
    assert anonymous.status_code == 303  # like every page: to the sign-in form
    assert anonymous.headers["location"].startswith("/login")
    assert "aptmagic_" not in anonymous.text
    wrong_key = httpx.get(obs_live.url + "/metrics", headers={"Authorization": "Bearer amk_wrong"})
    assert "aptmagic_" not in wrong_key.text
    response = user_client.get("/metrics")
    assert response.status_code == 403
    assert "aptmagic_" not in response.text
    read_only_admin = create_account(obs_live.services, "obsreader", admin=True, scopes=("read",))
    response = httpx.get(obs_live.url + "/metrics", headers=read_only_admin.headers)
    assert response.status_code == 403


def test_client_chosen_methods_do_not_make_new_series(admin_client: httpx.Client, user_client: httpx.Client) -> None:
    before = scrape(admin_client)
    for method in ("PROPFIND", "PURGE", "MKCOL"):  # methods the HTTP server passes on
        assert user_client.request(method, "/api/v1/models").status_code == 405
    text = scrape(admin_client)
    assert "PROPFIND" not in text and "PURGE" not in text
    labels = {"method": "other", "route": "/api/v1/models", "status": "405"}
    assert (
        value(text, "aptmagic_http_requests_total", **labels)
        == value(before, "aptmagic_http_requests_total", **labels) + 3
    )


def test_every_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.jobs_submitted.labels("t", "m").inc()
    assert "aptmagic_jobs_submitted_total" in first.render().decode()
    assert 'model="m"' not in second.render().decode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_separate_metrics_port(tmp_path, models_dir) -> None:  # type: ignore[no-untyped-def]
    port = _free_port()
    server = start_server(shared_settings(tmp_path, models_dir, worker_concurrency=0, metrics_port=port))
    try:
        with httpx.Client(base_url=server.url, headers=server.auth_headers) as client:
            assert client.get("/api/v1/models").status_code == 200
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
        assert value(text, "aptmagic_http_requests_total", method="GET", route="/api/v1/models", status="200") == 1
    finally:
        server.stop()
    try:
        httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=2)
        raise AssertionError("the metrics port stayed open after shutdown")
    except httpx.HTTPError:
        pass


def test_compatible_api_requests_count_toward_the_daily_total(
    admin_client: httpx.Client, user_client: httpx.Client
) -> None:
    before = value(scrape(admin_client), "aptmagic_api_requests_today")
    assert user_client.get("/v1/models").status_code == 200
    assert user_client.get("/sdapi/v1/sd-models").status_code == 200
    assert user_client.get("/static/app.css").status_code == 200  # not an API request
    after = value(scrape(admin_client), "aptmagic_api_requests_today")
    assert after - before == 2
