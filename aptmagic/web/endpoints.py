"""Server-rendered pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from aptmagic.auth.deps import PrincipalDep
from aptmagic.core.deps import ServicesDep, SessionDep
from aptmagic.inference.registry import UnknownModel
from aptmagic.jobs.repository import JobFilters
from aptmagic.jobs.schemas import JobRead

TEMPLATES_DIR = Path(__file__).parent / "templates"
TASK = "text-to-image"
RECENT_LIMIT = 12


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=TEMPLATES_DIR)

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request, services: ServicesDep, session: SessionDep, principal: PrincipalDep) -> HTMLResponse:
        # Straight from the registry: asking the model cache which models are
        # warm would wait for any model that is loading.
        models = [spec for spec in services.registry.all() if spec.serves(TASK)]
        try:
            default_id = services.registry.default_for(TASK).id
        except UnknownModel:
            default_id = None
        default = next((m for m in models if m.id == default_id), models[0] if models else None)
        jobs, _ = services.jobs.page(session, JobFilters(task=TASK, owner_id=principal.owner_filter), None, RECENT_LIMIT)
        return templates.TemplateResponse(
            request,
            "index.html",
            {
                "models": models,
                "default_model": default,
                "defaults": default.default_params if default else {},
                "limits": default.limits if default else {},
                "recent": [JobRead.of(job) for job in jobs],
                "recent_limit": RECENT_LIMIT,
                "demo": bool(services.settings.demo),
                "user": principal,
                "csrf_token": principal.csrf_token or "",
            },
            headers={"Cache-Control": "no-store"},
        )

    return router
