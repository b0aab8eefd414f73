"""Authentication and authorisation errors, in the API's error shape."""

from __future__ import annotations

from aptmagic.kit.errors import AppError


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"

    def __init__(
        self, message: str = "authentication required: sign in or send an API key as 'Authorization: Bearer <key>'"
    ) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="aptmagic"'})


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class CsrfFailed(AppError):
    status_code = 403
    code = "csrf_failed"


class LoginThrottled(AppError):
    status_code = 429
    code = "rate_limited"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"too many failed log-ins; try again in {retry_after} seconds",
            details={"retry_after": retry_after},
            headers={"Retry-After": str(retry_after)},
        )
