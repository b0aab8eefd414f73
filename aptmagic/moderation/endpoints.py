"""HTTP routes for reports (any signed-in user) and the moderation queue (admins)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from aptmagic.api.deps import SessionDep
from aptmagic.auth.deps import AdminDep, PrincipalDep, client_ip
from aptmagic.kit.errors import ErrorResponse
from aptmagic.moderation.deps import ModerationServiceDep
from aptmagic.moderation.models import ReportStatus
from aptmagic.moderation.schemas import HideBody, ReportCreate, ReportPage, ReportRead
from aptmagic.moderation.views import report_reads
from aptmagic.social.schemas import PostRead
from aptmagic.social.views import post_read

ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorResponse, "description": "Admins only"},
    404: {"model": ErrorResponse, "description": "No such post, or not visible to you"},
    422: {"model": ErrorResponse, "description": "Invalid request"},
}
ALREADY_OPEN: dict[int | str, dict[str, Any]] = {
    200: {"model": ReportRead, "description": "You already have an open report on this post"}
}

router = APIRouter(tags=["moderation"])


@router.post(
    "/posts/{post_id}/reports", status_code=201, response_model=ReportRead, responses={**ERRORS, **ALREADY_OPEN}
)
def report_post(post_id: str, body: ReportCreate, moderation: ModerationServiceDep, session: SessionDep,
                principal: PrincipalDep, response: Response) -> ReportRead:  # fmt: skip
    """Report a post to the admins. One open report per user and post."""
    report, created = moderation.report(session, principal, post_id, body.reason, body.note)
    if not created:
        response.status_code = 200
    session.flush()
    return report_reads(session, [report], principal)[0]


@router.get("/admin/reports", response_model=ReportPage, responses=ERRORS)
def list_reports(
    admin: AdminDep, moderation: ModerationServiceDep, session: SessionDep, status: ReportStatus = ReportStatus.open,
    cursor: Annotated[str | None, Query(max_length=300)] = None, limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> ReportPage:  # fmt: skip
    """The moderation queue, oldest first."""
    reports, next_cursor = moderation.reports(session, status, cursor, limit)
    return ReportPage(items=report_reads(session, reports, admin), next_cursor=next_cursor)


@router.post("/admin/posts/{post_id}/hide", response_model=PostRead, responses=ERRORS)
def hide_post(post_id: str, body: HideBody, request: Request, admin: AdminDep, moderation: ModerationServiceDep,
              session: SessionDep) -> PostRead:  # fmt: skip
    """Hide a post from everyone but its author (who sees the reason code) and admins; resolves its open reports."""
    post = moderation.hide(session, admin, post_id, body.reason_code, body.note, client_ip(request))
    return post_read(session, post, admin)


@router.post("/admin/posts/{post_id}/unhide", response_model=PostRead, responses=ERRORS)
def unhide_post(post_id: str, request: Request, admin: AdminDep, moderation: ModerationServiceDep,
                session: SessionDep) -> PostRead:  # fmt: skip
    post = moderation.unhide(session, admin, post_id, client_ip(request))
    return post_read(session, post, admin)
