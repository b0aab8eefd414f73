"""Admin pages: /admin/dashboard (charts) and /admin/audit (the audit log)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from aptmagic.api.deps import SessionDep
from aptmagic.audit.endpoints import audit_filters
from aptmagic.auth.deps import AdminDep, AuthServiceDep
from aptmagic.auth.repository import AuditFilters
from aptmagic.auth.schemas import AuditRead
from aptmagic.db.base import utcnow
from aptmagic.kit.errors import InvalidRequest
from aptmagic.observability import charts
from aptmagic.observability.dashboard import STATUSES, Dashboard, build_dashboard
from aptmagic.web.render import PAGES

AUDIT_PAGE_SIZE = 50


def _charts(data: Dashboard) -> dict[str, Any]:
    labels = [hour.strftime("%H:00") for hour in data.hours]
    jobs: dict[str, Sequence[int]] = {status: data.jobs_by_status[status] for status in STATUSES}
    timings = [(t.model, t.p50, t.p95) for t in data.timings]
    return {
        "requests": charts.stacked_bars("requests-title", "API requests per hour", labels, {"requests": data.requests}),
        "jobs": charts.stacked_bars("jobs-title", "Jobs ended per hour, by status", labels, jobs),
        "queue": charts.line(
            "queue-title", "Jobs waiting in the queue, at the end of each hour", labels, data.queue_depth
        ),
        "timings": charts.range_bars("timings-title", "Job run time per model, p50 and p95", timings)
        if timings
        else None,
    }


def _when(name: str, value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise InvalidRequest.field(["query", name], "not a time; write e.g. 2030-01-01T00:00:00Z") from None


def page_filters(
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=32)] = None,
    since: Annotated[str | None, Query(max_length=40)] = None,
    until: Annotated[str | None, Query(max_length=40)] = None,
) -> AuditFilters:
    """The form's fields; an empty one means no filter."""
    return audit_filters(action=action or None, actor=actor or None, since=_when("since", since),
                         until=_when("until", until))  # fmt: skip


def _cursor(value: str | None) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit() or len(value) > 18:
        raise InvalidRequest.field(["query", "cursor"], "malformed cursor; use the page's links")
    return int(value)


router = APIRouter(prefix="/admin", include_in_schema=False)


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, admin: AdminDep, session: SessionDep) -> HTMLResponse:
    data = build_dashboard(session, utcnow())
    return PAGES.render(request, "admin_dashboard.html", admin, active="admin", title="Dashboard", data=data,
                        charts=_charts(data), statuses=STATUSES, colors=charts.COLORS)  # fmt: skip


@router.get("/audit", response_class=HTMLResponse)
def audit(request: Request, admin: AdminDep, auth: AuthServiceDep, session: SessionDep,
          filters: Annotated[AuditFilters, Depends(page_filters)],
          cursor: str | None = None) -> HTMLResponse:  # fmt: skip
    events = auth.audit_page(session, filters, _cursor(cursor), AUDIT_PAGE_SIZE + 1)
    rows = [AuditRead.of(e) for e in events[:AUDIT_PAGE_SIZE]]
    query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    next_link = "?" + urlencode({**query, "cursor": rows[-1].id}) if len(events) > AUDIT_PAGE_SIZE and rows else None
    return PAGES.render(request, "admin_audit.html", admin, active="admin", title="Audit log", rows=rows,
                        query=query, next_link=next_link, export_query=urlencode(query))  # fmt: skip
