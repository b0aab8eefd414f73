"""The audit log: append-only, exported as CSV and JSON Lines with filters, and its admin page."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DatabaseError

from aptmagic.audit.export import safe_cell
from aptmagic.auth.models import AuditEvent
from aptmagic.auth.repository import AuditRepository
from aptmagic.auth.service import AuthService
from tests.auth.conftest import error_code
from tests.conftest import Account, LiveServer

EXPORT = "/api/v1/admin/audit/export"


def add_event(live: LiveServer, action: str, **fields: object) -> None:
    with live.services.session_factory.begin() as session:
        AuthService.audit(session, action, **fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def events(obs_live: LiveServer, admin: Account) -> str:
    add_event(obs_live, "test.formula", actor_id="mallory", message="=HYPERLINK(\"http://evil\")",
              details={"note": "+1"})  # fmt: skip
    add_event(obs_live, "test.plain", actor_id="alice", message='hello, "world"\nnext line')
    for i in range(3):
        add_event(obs_live, "test.many", actor_id="bob", message=f"event {i}")
    return "mallory"


def test_csv_export_is_filtered_and_injection_safe(admin_client: httpx.Client, events: str) -> None:
    response = admin_client.get(EXPORT, params={"format": "csv", "actor": events})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [row["action"] for row in rows] == ["test.formula"]
    assert rows[0]["message"] == '\'=HYPERLINK("http://evil")'
    assert json.loads(rows[0]["details"]) == {"note": "+1"}


def test_jsonl_export_and_filters(admin_client: httpx.Client, events: str) -> None:
    response = admin_client.get(EXPORT, params={"format": "jsonl", "action": "test.many"})
    assert response.status_code == 200
    lines = [json.loads(line) for line in response.text.splitlines()]
    assert [line["message"] for line in lines] == ["event 2", "event 1", "event 0"]  # newest first
    assert {line["actor_id"] for line in lines} == {"bob"}
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert admin_client.get(EXPORT, params={"format": "jsonl", "since": future}).text == ""
    past = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    until = admin_client.get(EXPORT, params={"format": "jsonl", "until": past, "action": "test.many"})
    assert until.text == ""


def test_csv_keeps_quotes_and_newlines(admin_client: httpx.Client, events: str) -> None:
    rows = list(csv.DictReader(io.StringIO(admin_client.get(EXPORT, params={"actor": "alice"}).text)))
    assert rows[0]["message"] == 'hello, "world"\nnext line'


def test_the_export_is_itself_audited(admin_client: httpx.Client, admin: Account) -> None:
    admin_client.get(EXPORT, params={"format": "jsonl", "action": "nothing"})
    lines = admin_client.get(EXPORT, params={"format": "jsonl", "action": "audit.export"}).text.splitlines()
    assert json.loads(lines[0])["actor_id"] == admin.user_id


def test_export_streams_more_than_one_batch(obs_live: LiveServer, admin_client: httpx.Client) -> None:
    with obs_live.services.session_factory.begin() as session:
        session.add_all(AuditEvent(action="test.bulk", outcome="success", created_at=datetime.now(UTC))
                        for _ in range(1203))  # fmt: skip
    lines = admin_client.get(EXPORT, params={"format": "jsonl", "action": "test.bulk"}).text.splitlines()
    ids = [json.loads(line)["id"] for line in lines]
    assert len(ids) == len(set(ids)) == 1203


@pytest.mark.parametrize(
    "params",
    [{"format": "xml"}, {"since": "yesterday"}, {"since": "2030-01-01T00:00:00"}, {"limit": "x", "actor": "a" * 33},
     {"action": "a" * 65}],
)  # fmt: skip
def test_bad_export_queries_are_422(admin_client: httpx.Client, params: dict[str, str]) -> None:
    response = admin_client.get(EXPORT, params=params)
    assert response.status_code == 422
    assert error_code(response) == "validation_error"


def test_only_admins_may_export(obs_live: LiveServer, user_client: httpx.Client) -> None:
    assert user_client.get(EXPORT).status_code == 403
    assert httpx.get(obs_live.url + EXPORT).status_code == 401


def test_audit_rows_cannot_be_changed_or_deleted(obs_live: LiveServer, events: str) -> None:
    assert not any(hasattr(AuditRepository, name) for name in ("update", "delete", "remove", "set_fields"))
    factory = obs_live.services.session_factory
    with pytest.raises(DatabaseError, match="append-only"), factory.begin() as session:
        session.execute(update(AuditEvent).values(message="rewritten"))
    with pytest.raises(DatabaseError, match="append-only"), factory.begin() as session:
        session.execute(delete(AuditEvent))
    with obs_live.services.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM audit_events WHERE message = 'rewritten'")).scalar() == 0


@pytest.mark.parametrize("value", ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
def test_formula_cells_are_neutralised(value: str) -> None:
    assert safe_cell(value) == "'" + value
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""


def test_audit_page_for_admins(obs_live: LiveServer, admin_client: httpx.Client, user_client: httpx.Client,
                               events: str) -> None:  # fmt: skip
    page = admin_client.get("/admin/audit", params={"actor": events})
    assert page.status_code == 200
    assert "test.formula" in page.text and "test.many" not in page.text
    add_event(obs_live, "test.xss", actor_id="mallory", message="<script>alert(1)</script>")
    hostile = admin_client.get("/admin/audit", params={"actor": events}).text
    assert "<script>alert(1)" not in hostile and "&lt;script&gt;alert(1)" in hostile
    assert 'href="/api/v1/admin/audit/export?actor=mallory&amp;format=csv"' in page.text
    assert user_client.get("/admin/audit").status_code == 403
    anonymous = httpx.get(obs_live.url + "/admin/audit")
    assert anonymous.status_code == 303
    assert admin_client.get("/admin/audit", params={"cursor": "abc"}).status_code == 422
    assert admin_client.get("/admin/audit", params={"since": "nope"}).status_code == 422
    assert admin_client.get("/admin/audit", params={"since": "2030-01-01T00:00:00"}).status_code == 422
    empty_form = admin_client.get("/admin/audit", params={"actor": "", "action": "", "since": "", "until": ""})
    assert empty_form.status_code == 200 and "No events match." not in empty_form.text
    window = {"since": "2000-01-01T00:00:00Z", "until": "2000-01-02T00:00:00Z"}
    assert "No events match." in admin_client.get("/admin/audit", params=window).text


def test_audit_page_paginates(admin_client: httpx.Client, obs_live: LiveServer) -> None:
    for i in range(55):
        add_event(obs_live, "test.paged", message=f"p{i}")
    first = admin_client.get("/admin/audit", params={"action": "test.paged"})
    assert first.text.count("test.paged</td>") == 50
    assert 'id="older"' in first.text
    link = first.text.split('id="older" href="')[1].split('"')[0].replace("&amp;", "&")
    second = admin_client.get("/admin/audit" + link)
    assert second.text.count("test.paged</td>") == 5
    assert 'id="older"' not in second.text
