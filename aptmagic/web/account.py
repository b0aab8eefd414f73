"""Account pages: API keys, plan usage and password, and the admin overview."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from aptmagic.auth.deps import PrincipalDep
from aptmagic.auth.schemas import KeyRead, UserRead
from aptmagic.api.deps import ServicesDep, SessionDep
from aptmagic.jobs.repository import JobFilters
from aptmagic.jobs.schemas import JobRead
from aptmagic.web.render import PAGES
from aptmagic.web.repository import QueueStatsRepository

ADMIN_USERS_LIMIT = 200
FAILED_LIMIT = 20


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/keys", response_class=HTMLResponse)
    def keys(request: Request, services: ServicesDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
        found = [KeyRead.of(key) for key in services.auth.list_keys(session, principal)] if principal.user_id else []
        return PAGES.render(request, "keys.html", principal, active="keys", title="API keys", keys=found)

    @router.get("/account", response_class=HTMLResponse)
    def account(request: Request, services: ServicesDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
        user = UserRead.of(services.auth.user_of(session, principal)) if principal.user_id else None
        usage = services.quotas.usage(session, principal)
        return PAGES.render(
            request, "account.html", principal, active="account", title="Account", account=user, usage=usage,
            min_length=services.settings.password_min_length,
        )  # fmt: skip

    @router.get("/admin", response_class=HTMLResponse)
    def admin(request: Request, services: ServicesDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
        if not principal.is_admin:
            return PAGES.render(request, "forbidden.html", principal, status=403, title="Admins only")
        users = [UserRead.of(u) for u in services.auth.list_users(session, ADMIN_USERS_LIMIT, 0)]
        failed, _ = services.jobs.page(session, JobFilters(status="failed"), None, FAILED_LIMIT)
        return PAGES.render(
            request, "admin.html", principal, active="admin", title="Admin", users=users,
            depth=QueueStatsRepository(session).depth(), failed=[JobRead.of(job) for job in failed],
            plans=sorted(services.quotas.plans), workers=services.settings.worker_concurrency,
        )  # fmt: skip

    @router.get("/admin/moderation", response_class=HTMLResponse)
    def moderation(request: Request, principal: PrincipalDep) -> HTMLResponse:
        if not principal.is_admin:
            return PAGES.render(request, "forbidden.html", principal, status=403, title="Admins only")
        return PAGES.render(request, "moderation.html", principal, active="admin", title="Moderation queue")

    return router
