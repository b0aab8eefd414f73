"""The maker's pages: generate (every task), my gallery, and a job's detail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from aptmagic.api.deps import SessionDep, SettingsDep
from aptmagic.auth.deps import PrincipalDep
from aptmagic.auth.principal import Principal
from aptmagic.config import Settings
from aptmagic.inference.registry import ModelRegistry, UnknownModel
from aptmagic.jobs.deps import JobServiceDep, ModelRegistryDep
from aptmagic.jobs.repository import JobFilters
from aptmagic.jobs.schemas import JobRead
from aptmagic.jobs.service import JobService
from aptmagic.kit.errors import InvalidRequest, NotFound
from aptmagic.social.deps import SocialServiceDep
from aptmagic.social.service import SocialService
from aptmagic.web.forms import BY_TASK, FORMS, form_for, prefill
from aptmagic.web.render import PAGES

RECENT_LIMIT = 8
GALLERY_LIMIT = 24


@dataclass(frozen=True)
class Studio:
    """What the generate page reads: the registry, my jobs, a post to remix, the upload limits."""

    registry: ModelRegistry
    jobs: JobService
    social: SocialService
    settings: Settings


def get_studio(
    registry: ModelRegistryDep, jobs: JobServiceDep, social: SocialServiceDep, settings: SettingsDep
) -> Studio:
    return Studio(registry, jobs, social, settings)


StudioDep = Annotated[Studio, Depends(get_studio)]


def models_for(registry: ModelRegistry, task: str) -> tuple[list[Any], Any]:
    """The models serving a task, and its default (straight from the registry: the model
    cache would wait for any model that is loading)."""
    models = [spec for spec in registry.all() if spec.serves(task)]
    try:
        default_id = registry.default_for(task).id
    except UnknownModel:
        default_id = None
    default = next((m for m in models if m.id == default_id), models[0] if models else None)
    return models, default


def own_filter(principal: Principal, **values: Any) -> JobFilters:
    """My gallery is my own jobs, admins included (anonymous, with auth off, sees all)."""
    return JobFilters(owner_id=principal.user_id, **values)


def generate_context(
    studio: Studio, session: Session, principal: Principal, task: str | None, remix: str | None,
    post_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """``remix``: one of my jobs to start from; ``post_id``: a post I can see (its params, not its source file)."""
    values: dict[str, Any] = {}
    remix_job = remix_post = None
    model_id = None
    if remix:
        remix_job = JobRead.of(studio.jobs.get(session, remix[:64], principal))
        task, model_id = remix_job.task, remix_job.model
        values = prefill(remix_job.task, remix_job.params, keep_source=True)
    elif post_id:
        remix_post = studio.social.get(session, post_id[:64], principal)
        provenance = remix_post.provenance or {}
        task, model_id = provenance.get("task"), provenance.get("model")
        values = prefill(str(task), dict(provenance.get("params") or {}), keep_source=False)
    form = form_for(task)
    models, default = models_for(studio.registry, form.task)
    chosen = next((m for m in models if m.id == model_id), default)
    jobs, _ = studio.jobs.page(session, own_filter(principal, task=form.task), None, RECENT_LIMIT)
    return {
        "form": form, "forms": FORMS, "models": models, "model": chosen,
        "defaults": chosen.default_params if chosen else {}, "limits": chosen.limits if chosen else {},
        "values": values, "remix": remix_job, "remix_post": remix_post, "recent": [JobRead.of(job) for job in jobs],
        "title": form.title, "upload": upload_limits(studio.settings),
    }  # fmt: skip


def upload_limits(settings: Settings) -> dict[str, Any]:
    return {
        "max_mb": round(settings.upload_max_bytes / 2**20),
        "max_minutes": f"{settings.upload_max_media_seconds / 60:g}",
    }


router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def generate(
    request: Request, studio: StudioDep, session: SessionDep, principal: PrincipalDep,
    task: Annotated[str | None, Query(max_length=32)] = None,
    remix: Annotated[str | None, Query(max_length=64)] = None,
    post: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:  # fmt: skip
    try:
        context = generate_context(studio, session, principal, task, remix, post)
    except NotFound:
        return PAGES.not_found(request, principal, "job" if remix else "post")
    return PAGES.render(request, "generate.html", principal, active="generate", **context)


@router.get("/gallery", response_class=HTMLResponse)
def gallery(
    request: Request, jobs: JobServiceDep, session: SessionDep, principal: PrincipalDep,
    task: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> HTMLResponse:  # fmt: skip
    task = task if task in BY_TASK else None
    query = (q or "").strip()
    error = None
    filters = own_filter(principal, task=task, q=query or None)
    try:
        found, next_cursor = jobs.page(session, filters, cursor, GALLERY_LIMIT)
    except InvalidRequest:
        error = "That page link is broken; showing the newest jobs."
        found, next_cursor = jobs.page(session, filters, None, GALLERY_LIMIT)
    return PAGES.render(
        request, "gallery.html", principal, active="gallery", title="My gallery", forms=FORMS,
        jobs=[JobRead.of(job) for job in found], next_cursor=next_cursor, task=task, q=query,
        first_page=cursor is None, error=error,
    )  # fmt: skip


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_detail(
    job_id: str, request: Request, jobs: JobServiceDep, session: SessionDep, principal: PrincipalDep
) -> HTMLResponse:
    try:
        job = JobRead.of(jobs.get(session, job_id, principal))
    except NotFound:
        return PAGES.not_found(request, principal, "job")
    form = BY_TASK.get(job.task)
    return PAGES.render(
        request, "job.html", principal, active="gallery", title=f"{form.title if form else job.task} job",
        job=job, form=form,
    )  # fmt: skip
