"""Account pages: API keys, plan usage and password, and the admin overview."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from aptmagic.api.deps import SessionDep, SettingsDep
from aptmagic.auth.deps import AuthServiceDep, PrincipalDep
from aptmagic.auth.schemas import KeyRead, UserRead
from aptmagic.jobs.deps import JobServiceDep
from aptmagic.jobs.repository import JobFilters, JobRepository
from aptmagic.jobs.schemas import JobRead
from aptmagic.quotas.deps import QuotaServiceDep
from aptmagic.web.render import PAGES

ADMIN_USERS_LIMIT = 200
FAILED_LIMIT = 20

router = APIRouter(include_in_schema=False)


@router.get("/keys", response_class=HTMLResponse)
def keys(request: Request, auth: AuthServiceDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
    found = [KeyRead.of(key) for key in auth.list_keys(session, principal)] if principal.user_id else []
    return PAGES.render(request, "keys.html", principal, active="keys", title="API keys", keys=found)


@router.get("/account", response_class=HTMLResponse)
def account(
    request: Request, auth: AuthServiceDep, quotas: QuotaServiceDep, settings: SettingsDep, session: SessionDep,
    principal: PrincipalDep,
) -> HTMLResponse:  # fmt: skip
    user = UserRead.of(auth.user_of(session, principal)) if principal.user_id else None
    usage = quotas.usage(session, principal)
    return PAGES.render(
        request, "account.html", principal, active="account", title="Account", account=user, usage=usage,
        min_length=settings.password_min_length,
    )  # fmt: skip


@router.get("/admin", response_class=HTMLResponse)
def admin(
    request: Request, auth: AuthServiceDep, jobs: JobServiceDep, quotas: QuotaServiceDep, settings: SettingsDep,
    session: SessionDep, principal: PrincipalDep,
) -> HTMLResponse:  # fmt: skip
    if not principal.is_admin:
        return PAGES.render(request, "forbidden.html", principal, status=403, title="Admins only")
    users = [UserRead.of(u) for u in auth.list_users(session, ADMIN_USERS_LIMIT, 0)]
    failed, _ = jobs.page(session, JobFilters(status="failed"), None, FAILED_LIMIT)
    return PAGES.render(
        request, "admin.html", principal, active="admin", title="Admin", users=users,
        depth=JobRepository(session).active().by_status(), failed=[JobRead.of(job) for job in failed],
        plans=sorted(quotas.plans), workers=settings.worker_concurrency,
    )  # fmt: skip


@router.get("/admin/moderation", response_class=HTMLResponse)
def moderation(request: Request, principal: PrincipalDep) -> HTMLResponse:
    if not principal.is_admin:
        return PAGES.render(request, "forbidden.html", principal, status=403, title="Admins only")
    return PAGES.render(request, "moderation.html", principal, active="admin", title="Moderation queue")
