"""The API's rate limits for the compat routes.

``RateLimitMiddleware`` limits /api/ paths only; this dependency takes a token
from the same per-address and per-user buckets for /v1 and /sdapi/v1, so a
client has one budget whichever API it speaks."""

from __future__ import annotations

import math

from fastapi import Request

from aptmagic.compat.errors import RateLimited
from aptmagic.wiring.services import Services


def _take(services: Services, key: str, rate: float, burst: int) -> None:
    if rate <= 0:
        return
    wait = services.limiter.acquire(key, rate, burst)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many requests: at most {burst} at once and {rate:g} a second; retry in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


def limit_rate(request: Request) -> None:
    services: Services = request.app.state.services
    settings = services.settings
    client = request.client.host if request.client else "-"
    _take(services, f"ip:{client}", settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst)
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.user_id:
        _take(
            services, f"user:{principal.user_id}", settings.rate_limit_user_per_second, settings.rate_limit_user_burst
        )
