from __future__ import annotations

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from aptmagic.api.deps import ServicesDep
from aptmagic.kit.errors import Unavailable
from aptmagic.wiring.services import Services


def _check(services: Services) -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with services.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        services.store.check()
        checks["storage"] = "ok"
    except Exception as exc:
        checks["storage"] = f"error: {type(exc).__name__}"
    if services.shared is not None and services.shared.client is not None:
        try:
            services.shared.check()
            checks["shared_state"] = "ok"
        except Exception as exc:
            checks["shared_state"] = f"error: {type(exc).__name__}"
    try:
        checks["queue"] = f"ok (depth {services.queue.depth()})"
    except Exception as exc:
        checks["queue"] = f"error: {type(exc).__name__}"
    return checks


def build_router() -> APIRouter:
    router = APIRouter(tags=["health"])

    @router.get("/healthz")
    def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @router.get("/readyz")
    async def readyz(services: ServicesDep) -> dict[str, object]:
        """Database, storage and queue reachable; 503 otherwise."""
        checks = await run_in_threadpool(_check, services)
        if any(not value.startswith("ok") for value in checks.values()):
            raise Unavailable("not ready", details=checks, headers={"Retry-After": "5"})
        return {"status": "ok", "checks": checks}

    return router
