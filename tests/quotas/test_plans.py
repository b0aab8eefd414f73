"""Plans: the daily and concurrent job limits, per-job caps, plan changes, and GET /api/v1/me/usage."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from pydantic import ValidationError
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from typer.testing import CliRunner

from aptmagic import cli
from aptmagic.auth.models import AuditEvent, User
from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.db.session import create_db_engine, create_session_factory
from aptmagic.jobs.models import Job
from aptmagic.quotas.repository import lock_user_statement
from tests.conftest import (
    TEST_PASSWORD,
    create_account,
    create_asset,
    start_server,
    wait_for,
)
from tests.quotas.conftest import (
    assert_daily_refusal,
    image_job,
    post_job,
    seconds_to_midnight,
)


def client_for(server, account=None) -> httpx.Client:  # type: ignore[no-untyped-def]
    headers = (account or server.account).headers
    return httpx.Client(base_url=server.url, timeout=30, headers=headers)


def test_daily_limit_answers_429_until_the_next_utc_midnight(quota_server) -> None:  # type: ignore[no-untyped-def]
    server = quota_server(plans={"free": {"daily_jobs": 3}}, default_plan="free")
    with client_for(server) as client:
        for seed in range(3):
            assert post_job(client, seed).status_code == 202
        refused = post_job(client, 99)
        assert_daily_refusal(refused)
        details = refused.json()["error"]["details"]
        assert details["plan"] == "free" and details["allowed"] == 3 and details["used"] == 3
        assert "'free' plan allows 3 jobs per UTC day" in refused.json()["error"]["message"]
        assert datetime.fromisoformat(details["resets_at"]).time().isoformat() == "00:00:00"
        # Only today's jobs count: once they are yesterday's, the user may submit again.
        with server.services.session_factory.begin() as session:
            session.execute(update(Job).values(created_at=utcnow() - timedelta(days=1)))
        assert post_job(client, 100).status_code == 202


def test_concurrent_limit_counts_queued_and_running_jobs(quota_server) -> None:  # type: ignore[no-untyped-def]
    server = quota_server(plans={"free": {"concurrent_jobs": 2}}, default_plan="free")
    with client_for(server) as client:
        first = post_job(client, 1).json()
        assert post_job(client, 2).status_code == 202
        refused = post_job(client, 3)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert error["code"] == "quota_exceeded" and error["details"]["limit"] == "concurrent_jobs"
        assert "concurrent job limit" in error["message"] and "'free'" in error["message"]
        assert 1 <= int(refused.headers["Retry-After"]) <= 10
        assert client.post(f"/api/v1/jobs/{first['id']}/cancel").status_code == 202
        assert post_job(client, 3).status_code == 202


def test_limits_are_per_user(quota_server) -> None:  # type: ignore[no-untyped-def]
    server = quota_server(plans={"free": {"daily_jobs": 1}}, default_plan="free")
    other = create_account(server.services, "other")
    with client_for(server) as client, client_for(server, other) as other_client:
        assert post_job(client, 1).status_code == 202
        assert post_job(client, 2).status_code == 429
        assert post_job(other_client, 1).status_code == 202


def test_cache_hits_count_against_the_daily_limit_but_take_no_concurrent_slot(quota_server) -> None:  # type: ignore[no-untyped-def]
    server = quota_server(worker_concurrency=1, plans={"free": {"daily_jobs": 3, "concurrent_jobs": 1}})
    with client_for(server) as client:
        done = wait_for(client, post_job(client, 7).json()["id"])
        assert done["status"] == "succeeded"
        # Fill the one concurrent slot with a queued job that no worker will pick up.
        with server.services.session_factory.begin() as session:
            session.add(Job(task="text-to-image", model_id="tiny-sd", model_version="1", params={}, status="queued",
                            cache_key="-", owner_id=server.user_id, created_at=utcnow()))  # fmt: skip
        assert post_job(client, 8).json()["error"]["details"]["limit"] == "concurrent_jobs"
        hit = post_job(client, 7)
        assert hit.status_code == 202 and hit.json()["cache_hit"] is True
        assert_daily_refusal(post_job(client, 7))  # 3 today: the run, the queued one and the cache hit


def test_caps_of_the_plan_answer_422_on_the_field(quota_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    server = quota_server()
    with client_for(server) as client:
        for params, field in (({"width": 256}, "width"), ({"height": 136}, "height"), ({"steps": 5}, "steps"),
                              ({"num_images": 3}, "num_images")):  # fmt: skip
            response = post_job(client, 1, **params)
            assert response.status_code == 422, response.text
            (detail,) = response.json()["error"]["details"]
            assert detail["loc"] == ["body", "params", field] and detail["type"] == "plan_limit"
            assert "'free' plan" in detail["msg"]
        text = {
            "task": "text",
            "model": "tiny-llm",
            "params": {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 17},
        }
        response = client.post("/api/v1/jobs", json=text)
        assert response.status_code == 422 and response.json()["error"]["details"][0]["loc"] == [
            "body",
            "params",
            "max_tokens",
        ]
        # image-to-image asks for 4 variations unless told: over the free plan's 2 outputs.
        from PIL import Image

        png = io.BytesIO()
        Image.new("RGB", (64, 64), "red").save(png, format="PNG")
        source = create_asset(server, png.getvalue(), "image/png", "image")
        response = client.post("/api/v1/jobs", json={"task": "image-to-image", "params": {"source": source}})
        assert response.status_code == 422 and response.json()["error"]["details"][0]["loc"] == [
            "body",
            "params",
            "num_variations",
        ]
        both = client.post(
            "/api/v1/jobs", json={"task": "image-to-image", "params": {"source": source, "num_variations": 2}}
        )
        assert both.status_code == 202, both.text
        # Within the caps, and the model's defaults (64 x 64, 4 steps) are within them too.
        assert post_job(client, 2, width=128, height=128, steps=4, num_images=2).status_code == 202
        assert client.get("/api/v1/me/usage").json()["used_today"] == 2  # refused requests do not count


def test_unlimited_plan_has_no_limits(quota_server) -> None:  # type: ignore[no-untyped-def]
    server = quota_server()
    with server.services.session_factory.begin() as session:
        session.get(User, server.user_id).plan = "unlimited"
    with client_for(server) as client:
        for seed in range(6):
            response = post_job(client, seed, width=256, height=256, steps=8, num_images=3)
            assert response.status_code == 202, response.text
        usage = client.get("/api/v1/me/usage").json()
        assert usage["plan"] == "unlimited" and usage["remaining_today"] is None and usage["used_today"] == 6
        assert all(value is None for key, value in usage["limits"].items() if key != "description")


def test_an_admin_changes_a_plan_and_it_takes_effect_at_once(quota_server) -> None:  # type: ignore[no-untyped-def]
    server = quota_server()
    admin = create_account(server.services, "boss", admin=True)
    with client_for(server) as client, client_for(server, admin) as admin_client:
        for seed in range(2):
            assert post_job(client, seed).status_code == 202
        assert post_job(client, 2).json()["error"]["details"]["limit"] == "concurrent_jobs"
        assert post_job(client, 3, width=256).status_code == 422

        assert client.patch(f"/api/v1/admin/users/{server.user_id}", json={"plan": "pro"}).status_code == 403
        changed = admin_client.patch(f"/api/v1/admin/users/{server.user_id}", json={"plan": "pro"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["plan"] == "pro" and changed.json()["role"] == "user"
        assert post_job(client, 2, width=256).status_code == 202
        assert client.get("/api/v1/me/usage").json()["plan"] == "pro"

        unknown = admin_client.patch(f"/api/v1/admin/users/{server.user_id}", json={"plan": "gold"})
        assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["loc"] == ["body", "plan"]
        assert admin_client.patch("/api/v1/admin/users/nobody", json={"plan": "pro"}).status_code == 404
        assert admin_client.patch(f"/api/v1/admin/users/{server.user_id}", json={}).status_code == 422
        back = admin_client.patch(f"/api/v1/admin/users/{server.user_id}", json={"plan": None})
        assert back.status_code == 200 and back.json()["plan"] is None
        assert client.get("/api/v1/me/usage").json()["plan"] == "free"
        assert post_job(client, 4).status_code == 429
        # Role and plan in one request.
        both = admin_client.patch(f"/api/v1/admin/users/{server.user_id}", json={"plan": "unlimited", "role": "admin"})
        assert both.status_code == 200 and both.json()["plan"] == "unlimited" and both.json()["role"] == "admin"
    with server.services.session_factory() as session:
        changes = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.plan_change")).all()
        assert [(e.details or {})["to"] for e in changes] == ["pro", None, "unlimited"]
        assert all(e.actor_id == admin.user_id for e in changes)


def test_usage_shows_the_plan_its_limits_and_what_was_used(quota_server) -> None:  # type: ignore[no-untyped-def]
    server = quota_server()
    with client_for(server) as client:
        usage = client.get("/api/v1/me/usage")
        assert usage.status_code == 200
        body = usage.json()
        assert body["plan"] == "free" and body["used_today"] == 0 and body["remaining_today"] == 3
        assert body["running_now"] == 0
        assert body["limits"]["daily_jobs"] == 3 and body["limits"]["concurrent_jobs"] == 2
        assert body["limits"]["max_width"] == 128 and body["limits"]["max_tokens"] == 16
        resets = datetime.fromisoformat(body["resets_at"])
        assert abs((resets - datetime.now(UTC)).total_seconds() - seconds_to_midnight()) < 5
        first = post_job(client, 1).json()
        post_job(client, 2)
        body = client.get("/api/v1/me/usage").json()
        assert (body["used_today"], body["remaining_today"], body["running_now"]) == (2, 1, 2)
        client.post(f"/api/v1/jobs/{first['id']}/cancel")
        body = client.get("/api/v1/me/usage").json()
        assert (body["used_today"], body["running_now"]) == (2, 1)
    with httpx.Client(base_url=server.url) as anonymous:
        assert anonymous.get("/api/v1/me/usage").status_code == 401


def test_without_authentication_there_are_no_limits(make_settings) -> None:  # type: ignore[no-untyped-def]
    from tests.quotas.conftest import PLANS

    server = start_server(
        make_settings(worker_concurrency=0, auth_required=False, plans=PLANS, default_plan="free"), account=False
    )
    try:
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for seed in range(5):
                assert client.post("/api/v1/jobs", json=image_job(seed, width=256)).status_code == 202
            usage = client.get("/api/v1/me/usage").json()
            assert usage["plan"] is None and usage["used_today"] == 5 and usage["remaining_today"] is None
    finally:
        server.stop()


def test_plan_settings_are_checked(make_settings) -> None:  # type: ignore[no-untyped-def]
    defaults = Settings()
    assert set(defaults.plans) == {"free", "pro", "unlimited"}
    assert Settings.model_fields["default_plan"].default == "free"  # the tests' environment picks unlimited
    assert defaults.plans["free"].daily_jobs and defaults.plans["unlimited"].daily_jobs is None
    with pytest.raises(ValidationError, match="default_plan"):
        make_settings(plans={"basic": {}}, default_plan="free")
    with pytest.raises(ValidationError, match="plan name"):
        make_settings(plans={"Free Plan": {}}, default_plan="Free Plan")
    with pytest.raises(ValidationError):
        make_settings(plans={"free": {"daily_jobs": -1}}, default_plan="free")
    with pytest.raises(ValidationError):
        make_settings(plans={"free": {"dayly_jobs": 1}}, default_plan="free")


def test_submit_locks_the_users_row_on_postgresql() -> None:
    statement = lock_user_statement("u1")
    assert "FOR UPDATE" in str(statement.compile(dialect=postgresql.dialect()))
    assert "FOR UPDATE" not in str(statement.compile(dialect=sqlite.dialect()))  # SQLite: BEGIN IMMEDIATE instead


def test_the_cli_creates_a_user_on_a_plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("APTMAGIC_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("APTMAGIC_NEW_USER_PASSWORD", TEST_PASSWORD)
    data = tmp_path / "data"
    runner = CliRunner()
    base = ["user", "create", "--data-dir", str(data)]
    result = runner.invoke(cli.app, [*base, "--username", "paying", "--email", "paying@example.com", "--plan", "pro"])
    assert result.exit_code == 0 and "on plan pro" in result.output, result.output
    result = runner.invoke(cli.app, [*base, "--username", "plain", "--email", "plain@example.com"])
    assert result.exit_code == 0 and "on plan free (default)" in result.output, result.output
    result = runner.invoke(cli.app, [*base, "--username", "gold", "--email", "gold@example.com", "--plan", "gold"])
    assert result.exit_code == 1 and "unknown plan" in result.output
    engine = create_db_engine(f"sqlite:///{data / 'aptmagic.db'}")
    try:
        with create_session_factory(engine)() as session:
            assert {u.username: u.plan for u in session.scalars(select(User))} == {"paying": "pro", "plain": None}
    finally:
        engine.dispose()
