"""create_app(settings): wires every backend at start-up, nothing at import."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.concurrency import run_in_threadpool
from fastapi.staticfiles import StaticFiles

from aptmagic import __version__
from aptmagic.api.health import router as health_router
from aptmagic.api.outages import OutageMiddleware
from aptmagic.api.security import install_security
from aptmagic.assets.endpoints import router as assets_router
from aptmagic.audit.endpoints import router as audit_export_router
from aptmagic.auth.endpoints import admin_router
from aptmagic.auth.endpoints import router as auth_router
from aptmagic.auth.middleware import AuthMiddleware
from aptmagic.auth.pages import router as auth_pages_router
from aptmagic.compat import install_compat
from aptmagic.config import Settings
from aptmagic.inference.params import task_names
from aptmagic.jobs.endpoints import router as jobs_router
from aptmagic.jobs.model_endpoints import router as models_router
from aptmagic.jobs.queue_endpoints import router as queue_router
from aptmagic.kit.errors import install_error_handlers
from aptmagic.moderation.endpoints import router as moderation_router
from aptmagic.observability import http as observability_http
from aptmagic.observability.metrics import Metrics
from aptmagic.quotas.endpoints import router as usage_router
from aptmagic.quotas.ratelimit import RateLimitMiddleware
from aptmagic.social.endpoints import router as social_router
from aptmagic.uploads.endpoints import router as uploads_router
from aptmagic.web.admin import router as admin_pages_router
from aptmagic.web.docs import install_docs
from aptmagic.web.endpoints import router as web_router
from aptmagic.webhooks.endpoints import router as webhooks_router
from aptmagic.wiring.services import build_services

log = logging.getLogger(__name__)
STATIC_DIR = Path(__file__).parent / "web" / "static"


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    services = await run_in_threadpool(build_services, settings, app.state.metrics)
    await run_in_threadpool(services.start)
    app.state.services = services
    app.state.provided = services.provided()
    log.info("aptmagic started", extra={"database": settings.resolved_database_url.split("://")[0]})
    try:
        yield
    finally:
        await run_in_threadpool(services.stop)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()
    app = FastAPI(
        title="aptmagic",
        version=__version__,
        description="Self-hostable generative AI: submit jobs, follow their progress, fetch the results.",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    install_error_handlers(app, union_tags=frozenset(task_names()))
    app.add_middleware(RateLimitMiddleware, by="user")  # inside AuthMiddleware: it needs the principal
    app.add_middleware(AuthMiddleware)  # inside the security middleware, so its answers get the same headers
    app.add_middleware(RateLimitMiddleware, by="ip")  # before authentication, so failed credentials count too
    app.add_middleware(OutageMiddleware)  # a database or broker that is down answers 503, authentication included
    install_security(app, settings)
    install_compat(app)  # /v1 and /sdapi/v1; its error hook goes outside the middleware above
    observability_http.install(app, Metrics())  # outermost of these: sees every answer, 401s and 429s too
    routers = (
        jobs_router,
        assets_router,
        models_router,
        uploads_router,
        auth_router,
        admin_router,
        usage_router,
        webhooks_router,
        audit_export_router,
        social_router,
        moderation_router,
        queue_router,
    )
    for router in routers:
        app.include_router(router, prefix="/api/v1")
    app.include_router(health_router)
    app.include_router(web_router)
    app.include_router(auth_pages_router)
    app.include_router(admin_pages_router)
    install_docs(app)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
