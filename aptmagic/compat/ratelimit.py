"""The API's rate limits for the compat routes.

``RateLimitMiddleware`` limits /api/ paths only; this dependency takes a token
from the same per-address and per-user buckets for /v1 and /sdapi/v1, so a
client has one budget whichever API it speaks."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import Depends, Request

from aptmagic.api.deps import SettingsDep, provider
from aptmagic.compat.errors import RateLimited
from aptmagic.shared_state.ratelimit import RateLimiter

RateLimiterDep = Annotated[RateLimiter, Depends(provider(RateLimiter))]


def _take(limiter: RateLimiter, key: str, rate: float, burst: int) -> None:
    if rate <= 0:
        return
    wait = limiter.acquire(key, rate, burst)
    if wait > 0:
        retry_after = max(1, math.ceil(wait))
        raise RateLimited(
            f"too many requests: at most {burst} at once and {rate:g} a second; retry in {retry_after} seconds",
            headers={"Retry-After": str(retry_after)},
        )


def limit_rate(request: Request, limiter: RateLimiterDep, settings: SettingsDep) -> None:
    client = request.client.host if request.client else "-"
    _take(limiter, f"ip:{client}", settings.rate_limit_ip_per_second, settings.rate_limit_ip_burst)
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.user_id:
        _take(limiter, f"user:{principal.user_id}", settings.rate_limit_user_per_second, settings.rate_limit_user_burst)
