"""Sign-up, log-in, sessions, CSRF, API keys and their scopes, throttling, audit, CLI."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text, update
from typer.testing import CliRunner

from aptmagic import cli
from aptmagic.auth.middleware import SESSION_COOKIE
from aptmagic.auth.models import ApiKey, AuditEvent, User, WebSession
from aptmagic.config import Settings
from aptmagic.db.session import create_db_engine, create_session_factory
from tests.auth.conftest import PASSWORD, account, browser, error_code, key_client, log_in, new_name, sign_up
from tests.conftest import LiveServer, start_server

JOB = {
    "task": "text-to-image",
    "model": "tiny-sd",
    "params": {"prompt": "a cat", "width": 64, "height": 64, "steps": 2},
}


def audit_rows(live: LiveServer, action: str) -> list[AuditEvent]:
    with live.services.session_factory() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all())


# sign-up


def test_sign_up_signs_in_with_a_safe_cookie(auth_live: LiveServer) -> None:
    client, body = sign_up(auth_live)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie and body["user"]["role"] == "user" and body["csrf_token"]
    me = client.get("/api/v1/auth/me")
    assert me.status_code == 200 and me.json()["user"]["username"] == body["user"]["username"]
    with auth_live.services.session_factory() as session:
        stored = session.scalars(select(WebSession).where(WebSession.user_id == body["user"]["id"])).one()
        assert stored.token_hash != cookie and len(stored.token_hash) == 64  # only its hash is kept
        user = session.get(User, body["user"]["id"])
        assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
        assert PASSWORD not in user.password_hash


def test_the_cookie_is_httponly_and_samesite_lax(auth_live: LiveServer) -> None:
    with browser(auth_live) as client:
        name = new_name()
        response = client.post(
            "/api/v1/auth/signup", json={"email": f"{name}@example.com", "username": name, "password": PASSWORD}
        )
        set_cookie = response.headers["set-cookie"].lower()
        assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/" in set_cookie
        assert "secure" not in set_cookie  # plain HTTP on loopback


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short1!", "at least 10 characters"),
        ("password123", "too common"),
        ("qwertyuiop", "too common"),
        ("aaaaaaaaaaaaaaaa", "too common"),
        ("x" * 1025, "at most 1024"),
    ],
)
def test_weak_passwords_are_422_with_a_clear_message(auth_live: LiveServer, password: str, message: str) -> None:
    name = new_name()
    with browser(auth_live) as client:
        response = client.post(
            "/api/v1/auth/signup", json={"email": f"{name}@example.com", "username": name, "password": password}
        )
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert message in error["message"], error
    assert error["details"][0]["loc"][-1] == "password"


def test_a_password_like_the_username_is_refused(auth_live: LiveServer) -> None:
    name = new_name("longusername")
    with browser(auth_live) as client:
        response = client.post(
            "/api/v1/auth/signup", json={"email": f"{name}@example.com", "username": name, "password": name}
        )
    assert response.status_code == 422 and "username" in response.json()["error"]["message"]


def test_a_long_password_is_taken_whole(auth_live: LiveServer) -> None:
    long = "Ünïcode and a very long passphrase " * 29  # about 1000 characters
    name = new_name()
    sign_up(auth_live, name, long)
    log_in(auth_live, name, long)
    with browser(auth_live) as client:
        wrong = client.post("/api/v1/auth/login", json={"login": name, "password": long[:-1] + "?"})
        assert wrong.status_code == 401  # a change at the very end counts: nothing is cut


def test_duplicate_email_or_username_is_409(auth_live: LiveServer) -> None:
    name = new_name()
    sign_up(auth_live, name)
    with browser(auth_live) as client:
        same_name = client.post(
            "/api/v1/auth/signup",
            json={"email": f"other{name}@example.com", "username": name.upper(), "password": PASSWORD},
        )
        same_mail = client.post(
            "/api/v1/auth/signup", json={"email": f"{name}@EXAMPLE.com", "username": f"x{name}", "password": PASSWORD}
        )
    assert same_name.status_code == 409 and error_code(same_name) == "conflict"
    assert same_mail.status_code == 409


def test_signup_page_shows_field_errors_and_signs_in(auth_live: LiveServer) -> None:
    name = new_name()
    with browser(auth_live) as client:
        page = client.post(
            "/signup", data={"email": f"{name}@example.com", "username": name, "password": "password123"}
        )
        assert page.status_code == 422 and "too common" in page.text and "<script>" not in page.text
        page = client.post("/signup", data={"email": f"{name}@example.com", "username": name, "password": PASSWORD})
        assert page.status_code == 303 and page.headers["location"] == "/"
        home = client.get("/")
        assert home.status_code == 200 and name in home.text and 'action="/logout"' in home.text


# log-in, sessions, log-out


def test_login_rotates_the_session(auth_live: LiveServer) -> None:
    name = new_name()
    client, _ = sign_up(auth_live, name)
    before = client.cookies.get(SESSION_COOKIE)
    response = client.post("/api/v1/auth/login", json={"login": f"{name}@example.com", "password": PASSWORD})
    assert response.status_code == 200
    after = client.cookies.get(SESSION_COOKIE)
    assert after and after != before
    with browser(auth_live) as stale:
        stale.cookies.set(SESSION_COOKIE, before)
        assert stale.get("/api/v1/auth/me").status_code == 401  # the old session ended at log-in


def test_wrong_password_is_401_and_audited(auth_live: LiveServer) -> None:
    name = new_name()
    sign_up(auth_live, name)
    with browser(auth_live) as client:
        assert client.post("/api/v1/auth/login", json={"login": name, "password": "not it at all"}).status_code == 401
        assert (
            client.post("/api/v1/auth/login", json={"login": "nobody-here", "password": "whatever it is"}).status_code
            == 401
        )
    failures = [e for e in audit_rows(auth_live, "login") if e.outcome == "failure"]
    assert any(e.details and e.details.get("login") == name for e in failures)
    assert any(e.details and e.details.get("login") == "nobody-here" for e in failures)
    log_in(auth_live, name)
    assert any(e.outcome == "success" and e.details is None for e in audit_rows(auth_live, "login"))


def test_logout_ends_the_session(auth_live: LiveServer) -> None:
    client, _ = sign_up(auth_live)
    cookie = client.cookies.get(SESSION_COOKIE)
    assert client.post("/api/v1/auth/logout").status_code == 204
    with browser(auth_live) as again:
        again.cookies.set(SESSION_COOKIE, cookie)
        assert again.get("/api/v1/auth/me").status_code == 401


def test_the_logout_button_form_needs_its_hidden_token(auth_live: LiveServer) -> None:
    client, body = sign_up(auth_live)
    del client.headers["X-CSRF-Token"]
    assert client.post("/logout", data={}).status_code == 403
    assert client.post("/logout", data={"csrf_token": "wrong"}).status_code == 403
    response = client.post("/logout", data={"csrf_token": body["csrf_token"]})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/api/v1/auth/me").status_code == 401


def test_password_change_ends_the_other_sessions(auth_live: LiveServer) -> None:
    name = new_name()
    first, _ = sign_up(auth_live, name)
    second = log_in(auth_live, name)
    new = "a brand new passphrase 77"
    wrong = first.post("/api/v1/auth/password", json={"current_password": "nope nope nope", "new_password": new})
    assert wrong.status_code == 403
    weak = first.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": "password"})
    assert weak.status_code == 422
    ok = first.post("/api/v1/auth/password", json={"current_password": PASSWORD, "new_password": new})
    assert ok.status_code == 204
    assert first.get("/api/v1/auth/me").status_code == 200
    assert second.get("/api/v1/auth/me").status_code == 401
    log_in(auth_live, name, new)


def test_tampered_and_expired_cookies_are_401(auth_live: LiveServer) -> None:
    client, body = sign_up(auth_live)
    cookie = client.cookies.get(SESSION_COOKIE)
    with browser(auth_live) as other:
        other.cookies.set(SESSION_COOKIE, cookie[:-2] + ("AA" if not cookie.endswith("AA") else "BB"))
        assert other.get("/api/v1/jobs").status_code == 401
        assert other.get("/").status_code == 303
    with auth_live.services.session_factory.begin() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.user_id == body["user"]["id"])
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    assert client.get("/api/v1/jobs").status_code == 401


# CSRF


def test_a_cross_site_form_post_with_the_cookie_is_403(auth_live: LiveServer) -> None:
    client, _ = sign_up(auth_live)
    del client.headers["X-CSRF-Token"]
    headers = {"Origin": "https://evil.example", "Content-Type": "application/x-www-form-urlencoded"}
    response = client.post("/api/v1/jobs", content=b"task=text-to-image", headers=headers)
    assert response.status_code == 403 and error_code(response) == "csrf_failed"
    for method, path in (
        ("POST", "/api/v1/auth/keys"),
        ("POST", "/api/v1/uploads/presign"),
        ("POST", "/api/v1/auth/logout"),
    ):
        assert client.request(method, path, json={}).status_code == 403
    assert client.post("/api/v1/jobs", json=JOB, headers={"X-CSRF-Token": "guess"}).status_code == 403


def test_with_the_token_the_session_may_submit(auth_live: LiveServer) -> None:
    client, _ = sign_up(auth_live)
    assert client.post("/api/v1/jobs", json=JOB).status_code == 202
    assert client.get("/api/v1/jobs").status_code == 200  # reads need no token


def test_requests_with_an_api_key_need_no_csrf_token(auth_live: LiveServer) -> None:
    with key_client(auth_live, account(auth_live)) as client:
        assert client.post("/api/v1/jobs", json=JOB).status_code == 202


# API keys


def test_keys_are_shown_once_stored_hashed_and_work_as_bearer(auth_live: LiveServer) -> None:
    client, _ = sign_up(auth_live)
    created = client.post("/api/v1/auth/keys", json={"name": "ci", "scopes": ["read", "generate"]})
    assert created.status_code == 201, created.text
    key = created.json()
    raw = key["key"]
    assert raw.startswith(key["prefix"]) and len(raw) >= 4 + 43  # 256 bits, url-safe base64
    listed = client.get("/api/v1/auth/keys").json()
    assert [k["id"] for k in listed] == [key["id"]] and "key" not in listed[0]
    with auth_live.services.session_factory() as session:
        stored = session.get(ApiKey, key["id"])
        assert stored.key_hash != raw and raw not in stored.key_hash and len(stored.key_hash) == 64
    with httpx.Client(base_url=auth_live.url, headers={"Authorization": f"Bearer {raw}"}) as bearer:
        assert bearer.post("/api/v1/jobs", json=JOB).status_code == 202
        revoked = client.delete(f"/api/v1/auth/keys/{key['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        assert bearer.get("/api/v1/jobs").status_code == 401
    assert audit_rows(auth_live, "api_key.create") and audit_rows(auth_live, "api_key.revoke")


@pytest.mark.parametrize("bad", ["amk_" + "A" * 43, "Basic dXNlcjpwYXNz", "Bearer", "Bearer x", "token"])
def test_tampered_or_unknown_keys_are_401(auth_live: LiveServer, bad: str) -> None:
    header = bad if " " in bad or bad in ("Bearer", "token") else f"Bearer {bad}"
    with httpx.Client(base_url=auth_live.url, headers={"Authorization": header}) as client:
        response = client.get("/api/v1/jobs")
    assert response.status_code == 401 and error_code(response) == "unauthorized"


def test_a_tampered_valid_looking_key_is_401(auth_live: LiveServer) -> None:
    who = account(auth_live)
    tampered = who.api_key[:-1] + ("A" if who.api_key[-1] != "A" else "B")
    with httpx.Client(base_url=auth_live.url, headers={"Authorization": f"Bearer {tampered}"}) as client:
        assert client.get("/api/v1/jobs").status_code == 401


def test_an_expired_key_is_401(auth_live: LiveServer) -> None:
    client, _ = sign_up(auth_live)
    soon = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    key = client.post("/api/v1/auth/keys", json={"name": "short", "expires_at": soon}).json()
    with auth_live.services.session_factory.begin() as session:
        session.execute(
            update(ApiKey).where(ApiKey.id == key["id"]).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with httpx.Client(base_url=auth_live.url, headers={"Authorization": f"Bearer {key['key']}"}) as bearer:
        assert bearer.get("/api/v1/jobs").status_code == 401
    past = client.post("/api/v1/auth/keys", json={"name": "past", "expires_at": "2000-01-01T00:00:00Z"})
    assert past.status_code == 422


def test_scopes_limit_what_a_key_can_do(auth_live: LiveServer) -> None:
    reader = account(auth_live, scopes=("read",))
    with key_client(auth_live, reader) as client:
        assert client.get("/api/v1/jobs").status_code == 200
        refused = client.post("/api/v1/jobs", json=JOB)
        assert refused.status_code == 403 and "generate" in refused.json()["error"]["message"]
        assert client.post("/api/v1/uploads/presign", json={"content_type": "image/png", "size": 10}).status_code == 403
        assert client.post("/api/v1/auth/keys", json={"name": "escalate", "scopes": ["generate"]}).status_code == 403
    writer = account(auth_live, scopes=("generate",))
    with key_client(auth_live, writer) as client:
        assert client.post("/api/v1/jobs", json=JOB).status_code == 202
        assert client.get("/api/v1/jobs").status_code == 403
    admin_without_scope = account(auth_live, admin=True, scopes=("read", "generate"))
    with key_client(auth_live, admin_without_scope) as client:
        assert client.get("/api/v1/admin/audit").status_code == 403
    user = account(auth_live)
    with key_client(auth_live, user) as client:
        assert client.post("/api/v1/auth/keys", json={"name": "x", "scopes": ["admin"]}).status_code == 403


# roles, admin and audit


def test_admin_routes_need_the_admin_role(auth_live: LiveServer) -> None:
    with key_client(auth_live, account(auth_live)) as client:
        assert client.get("/api/v1/admin/audit").status_code == 403
        assert client.get("/api/v1/admin/users").status_code == 403
    client, _ = sign_up(auth_live)  # a user's session: the role decides
    assert client.get("/api/v1/admin/audit").status_code == 403
    assert client.patch("/api/v1/admin/users/x", json={"role": "admin"}).status_code == 403


def test_admins_list_audit_events_with_filters_and_change_roles(auth_live: LiveServer) -> None:
    admin = account(auth_live, admin=True)
    target = account(auth_live)
    with key_client(auth_live, admin) as client:
        promoted = client.patch(f"/api/v1/admin/users/{target.user_id}", json={"role": "admin"})
        assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
        page = client.get("/api/v1/admin/audit", params={"action": "user.role_change", "target": target.user_id})
        assert page.status_code == 200
        [event] = page.json()["items"]
        assert event["actor_id"] == admin.user_id and event["details"] == {"from": "user", "to": "admin"}
        assert client.get("/api/v1/admin/audit", params={"since": "2000-01-01T00:00:00"}).status_code == 422
        victim = account(auth_live)
        assert client.delete(f"/api/v1/admin/users/{victim.user_id}").status_code == 204
        assert client.get("/api/v1/admin/audit", params={"action": "user.delete", "target": victim.user_id}).json()[
            "items"
        ]
        assert client.delete(f"/api/v1/admin/users/{victim.user_id}").status_code == 404
        every = client.get("/api/v1/admin/audit", params={"limit": 2}).json()
        assert len(every["items"]) == 2 and every["next_cursor"]
    with key_client(auth_live, victim) as gone:
        assert gone.get("/api/v1/jobs").status_code == 401  # its keys went with it


def test_the_audit_table_is_append_only(auth_live: LiveServer) -> None:
    account(auth_live)
    with auth_live.services.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.execute(text("DELETE FROM audit_events"))


# throttling


@pytest.fixture
def strict(make_settings: Callable[..., Settings]) -> Any:
    server = start_server(make_settings(worker_concurrency=0, login_max_failures=3, login_lockout_seconds=60))
    yield server
    server.stop()


def test_repeated_failures_are_429_with_retry_after(strict: LiveServer) -> None:
    name = new_name()
    sign_up(strict, name)
    with browser(strict) as client:
        codes = [
            client.post("/api/v1/auth/login", json={"login": name, "password": "wrong guess!!"}).status_code
            for _ in range(3)
        ]
        assert codes == [401, 401, 401]
        locked = client.post("/api/v1/auth/login", json={"login": name, "password": PASSWORD})
        assert locked.status_code == 429 and error_code(locked) == "rate_limited"
        assert 0 < int(locked.headers["retry-after"]) <= 60
        page = client.post("/login", data={"login": name, "password": PASSWORD})
        assert page.status_code == 429 and "retry-after" in page.headers
    assert any(e.outcome == "throttled" for e in audit_rows(strict, "login"))


def test_failures_per_address_are_limited_across_accounts(make_settings: Callable[..., Settings]) -> None:
    server = start_server(make_settings(worker_concurrency=0, login_max_failures_per_ip=4))
    try:
        with browser(server) as client:
            for i in range(4):
                assert (
                    client.post(
                        "/api/v1/auth/login", json={"login": f"ghost{i}", "password": "whatever 123"}
                    ).status_code
                    == 401
                )
            response = client.post("/api/v1/auth/login", json={"login": "tester", "password": "whatever 123"})
            assert response.status_code == 429 and response.headers["retry-after"]
    finally:
        server.stop()


# settings and the command line


def test_no_auth_on_a_network_address_is_refused(make_settings: Callable[..., Settings]) -> None:
    with pytest.raises(ValueError, match="without authentication"):
        make_settings(host="0.0.0.0", auth_required=False)
    assert make_settings(host="0.0.0.0", auth_required=False, allow_unauthenticated_network=True).auth_required is False
    assert make_settings(host="127.0.0.1", auth_required=False).auth_required is False
    assert make_settings(host="0.0.0.0").auth_required is True


def test_auth_off_on_loopback_lets_requests_through(make_settings: Callable[..., Settings]) -> None:
    server = start_server(make_settings(worker_concurrency=0, auth_required=False), account=False)
    try:
        with browser(server) as client:
            assert client.post("/api/v1/jobs", json=JOB).status_code == 202
            assert client.get("/api/v1/jobs").json()["items"]
    finally:
        server.stop()


def test_the_cli_creates_an_admin_and_a_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in [k for k in __import__("os").environ if k.startswith("APTMAGIC_")]:
        monkeypatch.delenv(key)
    data = tmp_path / "data"
    runner = CliRunner()
    monkeypatch.setenv("APTMAGIC_NEW_USER_PASSWORD", PASSWORD)
    result = runner.invoke(
        cli.app,
        ["user", "create", "--username", "root", "--email", "root@example.com", "--admin", "--data-dir", str(data)],
    )
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("APTMAGIC_NEW_USER_PASSWORD")
    result = runner.invoke(
        cli.app, ["user", "create", "--username", "plain", "--email", "plain@example.com", "--password-stdin", "--data-dir", str(data)],
        input=PASSWORD + "\n",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    weak = runner.invoke(
        cli.app, ["user", "create", "--username", "weak", "--email", "weak@example.com", "--password-stdin", "--data-dir", str(data)],
        input="password\n",
    )  # fmt: skip
    assert weak.exit_code == 1 and "at least" in weak.output
    engine = create_db_engine(f"sqlite:///{data / 'aptmagic.db'}")
    try:
        with create_session_factory(engine)() as session:
            roles = {u.username: u.role for u in session.scalars(select(User))}
            assert roles == {"root": "admin", "plain": "user"}
            assert session.scalars(select(AuditEvent).where(AuditEvent.action == "user.create")).all()
    finally:
        engine.dispose()
