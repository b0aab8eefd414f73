"""The HTTP side of observability: one pure-ASGI middleware that gives every
request an id (echoed in ``X-Request-ID``), counts and times it by route
template, and counts API requests for the daily-requests alert; and the
admin-only ``/metrics`` route."""

from __future__ import annotations

import inspect
import time

import anyio
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import MutableHeaders

from aptmagic.api.deps import provided_of
from aptmagic.api.security import ASGIApp, Message, Receive, Scope, Send, header_value
from aptmagic.auth.deps import PrincipalDep
from aptmagic.auth.errors import Forbidden
from aptmagic.kit.errors import AppError
from aptmagic.observability.context import REQUEST_ID_HEADER, accept_request_id, bind
from aptmagic.observability.counter import RequestCounter
from aptmagic.observability.metrics import CONTENT_TYPE, Metrics

# The daily-requests alert counts the native API and the two compatible dialects alike.
API_PREFIXES = ("/api/", "/v1/", "/sdapi/")
UPLOADS_PREFIX = "/api/v1/uploads"
UNMATCHED = "<unmatched>"
# Label values must stay few: a client chooses the method, so anything unusual is "other".
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The matched route's full path template (``/api/v1/jobs/{job_id}``), never the raw path.

    FastAPI releases that keep included routers unflattened put the route
    relative to its router in ``scope["route"]``; the full template is then in
    the effective route context they record."""
    fastapi_scope = scope.get("fastapi")
    context = fastapi_scope.get("effective_route_context") if isinstance(fastapi_scope, dict) else None
    for candidate in (getattr(context, "path_format", None), getattr(scope.get("route"), "path", None)):
        if isinstance(candidate, str) and candidate:
            return candidate
    return UNMATCHED


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = accept_request_id(header_value(scope, REQUEST_ID_HEADER.lower().encode()))
        await self._count_api_request(scope)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            with bind(request_id=request_id):
                await self.app(scope, receive, send_with_id)
        finally:
            await self._record(scope, status, time.perf_counter() - started)

    @staticmethod
    async def _record(scope: Scope, status: int, seconds: float) -> None:
        state = scope["app"].state
        metrics: Metrics = state.metrics
        method = scope.get("method", "")
        counter, latency = metrics.http_series(method if method in METHODS else "other", route_template(scope), status)
        counter.inc()
        latency.observe(seconds)

    @staticmethod
    async def _count_api_request(scope: Scope) -> None:
        """Counted as it arrives, answered or refused, for the daily-requests alert."""
        provided = provided_of(scope["app"].state)
        if provided is not None and scope.get("path", "").startswith(API_PREFIXES):
            counter = provided.get(RequestCounter)
            if counter.add(1):
                await anyio.to_thread.run_sync(counter.flush_quietly)


def count_upload_refusals(app: FastAPI, metrics: Metrics) -> None:
    """Wraps the AppError handler: an error answered on an upload route is a refusal."""
    original = app.exception_handlers[AppError]

    async def handler(request: Request, exc: Exception) -> Response:
        if isinstance(exc, AppError) and request.url.path.startswith(UPLOADS_PREFIX):
            metrics.uploads_refused.labels(exc.code).inc()
        response = original(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.exception_handlers[AppError] = handler


def require_metrics_reader(principal: PrincipalDep) -> None:
    """An admin's web session, or an admin's API key that has the admin scope."""
    if not principal.is_admin or (principal.via == "key" and "admin" not in principal.scopes):
        raise Forbidden("metrics are for admins (a session, or an API key with the admin scope)")


router = APIRouter(tags=["observability"], include_in_schema=False)


@router.get("/metrics", dependencies=[Depends(require_metrics_reader)])
def metrics(request: Request) -> Response:
    """Prometheus text format."""
    registry: Metrics = request.app.state.metrics
    return Response(registry.render(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


def install(app: FastAPI, metrics: Metrics) -> None:
    app.state.metrics = metrics
    app.add_middleware(ObservabilityMiddleware)
    count_upload_refusals(app, metrics)
    app.include_router(router)
