"""GET /api/v1/admin/audit/export: the filtered audit log as CSV or JSON Lines."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker

from aptmagic.api.deps import SessionDep, SessionFactoryDep
from aptmagic.audit.export import MEDIA_TYPES, Page, csv_lines, jsonl_lines
from aptmagic.auth.deps import AdminDep, AuthServiceDep, client_ip
from aptmagic.auth.models import AuditEvent
from aptmagic.auth.repository import AuditFilters
from aptmagic.auth.service import AuthService
from aptmagic.kit.errors import ErrorResponse, InvalidRequest


def audit_filters(
    action: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=32, description="User id of who acted")] = None,
    target: Annotated[str | None, Query(max_length=64)] = None,
    outcome: Annotated[str | None, Query(max_length=16)] = None,
    since: Annotated[datetime | None, Query(description="From this time (inclusive), with a time zone")] = None,
    until: Annotated[datetime | None, Query(description="Before this time, with a time zone")] = None,
) -> AuditFilters:
    for name, value in (("since", since), ("until", until)):
        if value is not None and value.tzinfo is None:
            raise InvalidRequest.field(["query", name], "give a time zone, e.g. 2030-01-01T00:00:00Z")
    return AuditFilters(action=action, actor_id=actor, target_id=target, outcome=outcome, since=since, until=until)


FiltersDep = Annotated[AuditFilters, Depends(audit_filters)]


def page_reader(factory: sessionmaker[Session], auth: AuthService) -> Page:
    """Each page in its own short session: the export streams after the request's session has ended."""

    def read(filters: AuditFilters, before: int | None, limit: int) -> Sequence[AuditEvent]:
        with factory() as session:
            return list(auth.audit_page(session, filters, before, limit))

    return read


router = APIRouter(prefix="/admin/audit", tags=["admin"])


@router.get(
    "/export",
    responses={
        200: {"content": {media: {} for media in MEDIA_TYPES.values()}, "description": "The rows, newest first"},
        401: {"model": ErrorResponse}, 403: {"model": ErrorResponse}, 422: {"model": ErrorResponse},
    },
    response_class=StreamingResponse,
)  # fmt: skip
def export(
    request: Request, admin: AdminDep, auth: AuthServiceDep, session: SessionDep, factory: SessionFactoryDep,
    filters: FiltersDep, format: Annotated[Literal["csv", "jsonl"], Query()] = "csv",
) -> StreamingResponse:  # fmt: skip
    """The audit log with the same filters as /admin/audit, streamed; the export itself is audited."""
    details = {"format": format, **{k: str(v) for k, v in vars(filters).items() if v is not None}}
    # The session dependency commits this row before the body streams, so the export lists it.
    auth.audit(session, "audit.export", actor_id=admin.user_id, ip=client_ip(request), details=details)
    lines = (csv_lines if format == "csv" else jsonl_lines)(page_reader(factory, auth), filters)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    disposition = f'attachment; filename="aptmagic-audit-{stamp}.{format}"'
    return StreamingResponse(lines, media_type=MEDIA_TYPES[format], headers={"Content-Disposition": disposition})
