"""Server-rendered pages."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from aptmagic.core.deps import ServicesDep, SessionDep
from aptmagic.inference.endpoints import model_listing
from aptmagic.jobs.repository import JobFilters
from aptmagic.jobs.schemas import JobRead

TEMPLATES_DIR = Path(__file__).parent / "templates"


def build_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)
    templates = Jinja2Templates(directory=TEMPLATES_DIR)

    @router.get("/", response_class=HTMLResponse)
    def index(request: Request, services: ServicesDep, session: SessionDep) -> HTMLResponse:
        models = [m for m in model_listing(services) if m.task == "text-to-image"]
        default = services.registry.default_for("text-to-image")
        jobs, _ = services.jobs.page(session, JobFilters(task="text-to-image"), None, 12)
        return templates.TemplateResponse(
            request,
            "index.html",
            {"models": models, "default_model": default, "recent": [JobRead.of(job) for job in jobs]},
        )

    return router
