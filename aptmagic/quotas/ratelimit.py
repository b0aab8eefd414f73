"""Request rate limits as ASGI middleware: a token bucket per client address and one per user.

A request takes one token, or is answered 429 with Retry-After. Only /api/ paths are limited
(not pages, /static or /healthz). The per-address limit runs before authentication, so it also
covers sign-up, log-in, presigned uploads and guessed keys; the per-user limit runs after it.
The buckets live in ``aptmagic.shared_state.ratelimit``."""

from __future__ import annotations

import math
from typing import Any, Literal

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from aptmagic.api.deps import provided_of
from aptmagic.config import Settings
from aptmagic.kit.errors import AppError, error_json
from aptmagic.shared_state.ratelimit import RateLimiter

LIMITED_PREFIX = "/api/"


class RateLimitMiddleware:
    """``by="ip"`` goes outside AuthMiddleware, ``by="user"`` inside it (it reads the principal)."""

    def __init__(self, app: ASGIApp, by: Literal["ip", "user"]) -> None:
        self.app = app
        self.by = by

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        provided = provided_of(scope["app"].state) if scope["type"] == "http" else None
        if provided is None or not scope["path"].startswith(LIMITED_PREFIX):
            await self.app(scope, receive, send)
            return
        rate, burst = self._limits(provided.get(Settings))
        key = self._key(scope)
        if key is None or rate <= 0:
            await self.app(scope, receive, send)
            return
        try:
            wait = provided.get(RateLimiter).acquire(key, rate, burst)  # type: ignore[type-abstract]
        except AppError as exc:  # the shared store is down: 503 with Retry-After
            await error_json(exc.status_code, exc.code, exc.message, exc.details, exc.headers)(scope, receive, send)
            return
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        await self._refusal(rate, burst, wait)(scope, receive, send)

    def _limits(self, settings: Settings) -> tuple[float, int]:
        if self.by == "ip":
            return settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst
        return settings.rate_limit_user_per_second, settings.rate_limit_user_burst

    def _key(self, scope: Scope) -> str | None:
        if self.by == "ip":
            client = scope.get("client")
            return f"ip:{client[0] if client else '-'}"
        principal: Any = scope.get("state", {}).get("principal")
        return f"user:{principal.user_id}" if principal is not None and principal.user_id else None

    def _refusal(self, rate: float, burst: int, wait: float) -> Response:
        retry_after = max(1, math.ceil(wait))
        who = "this client address" if self.by == "ip" else "this account"
        return error_json(
            429, "rate_limited",
            f"too many requests from {who}: at most {burst} at once and {rate:g} a second; retry in {retry_after} seconds",
            details={"limit": f"{self.by}_rate", "rate_per_second": rate, "burst": burst, "retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )  # fmt: skip
