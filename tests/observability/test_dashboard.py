"""/admin/dashboard: admins only, four server-rendered SVG charts from the database."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from aptmagic.db.base import new_id
from aptmagic.jobs.models import Job
from aptmagic.observability import charts
from aptmagic.observability.dashboard import build_dashboard
from tests.conftest import LiveServer


def add_job(live: LiveServer, model: str, status: str, created: datetime, run_seconds: float | None) -> None:
    started = created + timedelta(seconds=1) if run_seconds is not None else None
    finished = started + timedelta(seconds=run_seconds) if started and run_seconds is not None else None
    with live.services.session_factory.begin() as session:
        session.add(Job(id=new_id(), task="text-to-image", model_id=model, model_version="1", params={}, seed=1,
                        status=status, cache_key="x", created_at=created, started_at=started, finished_at=finished))  # fmt: skip


def test_dashboard_numbers(obs_live: LiveServer) -> None:
    now = datetime.now(UTC).replace(minute=30)
    for seconds in (1, 2, 3, 4, 100):
        add_job(obs_live, "dash-model", "succeeded", now - timedelta(hours=2), seconds)
    add_job(obs_live, "dash-model", "failed", now - timedelta(hours=2), 1)
    add_job(obs_live, "dash-model", "queued", now - timedelta(hours=3), None)
    with obs_live.services.session_factory() as session:
        data = build_dashboard(session, now)
    timing = next(t for t in data.timings if t.model == "dash-model")
    assert (timing.jobs, timing.p50) == (5, 3.0)
    assert 4 < timing.p95 <= 100
    assert sum(data.jobs_by_status["succeeded"]) >= 5 and sum(data.jobs_by_status["failed"]) >= 1
    assert data.queue_depth[-1] >= 1 and data.queued_now >= 1
    assert len(data.hours) == len(data.requests) == 24


def test_dashboard_page(admin_client: httpx.Client, obs_live: LiveServer) -> None:
    response = admin_client.get("/admin/dashboard")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    html = response.text
    assert html.count('<svg class="chart"') >= 3
    for chart in ("chart-requests", "chart-jobs", "chart-queue", "chart-timings"):
        assert f'id="{chart}"' in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "style=" not in html  # the CSP allows neither inline


def test_dashboard_is_for_admins(obs_live: LiveServer, user_client: httpx.Client) -> None:
    assert user_client.get("/admin/dashboard").status_code == 403
    response = httpx.get(obs_live.url + "/admin/dashboard")
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/admin/dashboard"


def test_model_names_are_escaped_in_charts() -> None:
    svg = charts.range_bars("t", "title", [("<b>x</b>", 1.0, 2.0)])
    assert "<b>" not in svg and "&lt;b&gt;" in svg


@pytest.mark.parametrize("value,expected", [(0, 1), (3, 5), (7, 10), (11, 20), (180, 200), (10_001, 20_000)])
def test_axis_maximum_is_round(value: float, expected: float) -> None:
    assert charts.nice_max(value) == expected
