"""Exceptions of the Python client, one per kind of refusal.

The server answers every error as ``{"error": {"code", "message", "details"}}``;
``APIError`` carries those, and its subclass says which status it was."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

    from aptmagic.client.types import Job


class AptmagicError(Exception):
    """Anything the client raises."""


class APIConnectionError(AptmagicError):
    """The server could not be reached, or the connection broke."""


class APIError(AptmagicError):
    status_code: int = 0

    def __init__(
        self, message: str, *, status_code: int, code: str, details: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code
        self.code = code
        self.details = details
        self.headers = headers or {}

    def __str__(self) -> str:
        return f"{self.message} ({self.status_code} {self.code})"


class BadRequestError(APIError):
    """400, or another 4xx without a class of its own."""


class AuthenticationError(APIError):
    """401: no API key, or a wrong, expired or revoked one."""


class PermissionDeniedError(APIError):
    """403: the key lacks a scope, or the action needs another role."""


class NotFoundError(APIError):
    """404: no such job, asset or model (or not yours)."""


class ConflictError(APIError):
    """409: e.g. canceling a job that has ended."""


class PayloadTooLargeError(APIError):
    """413: a file or body over the server's limit."""


class UnsupportedMediaTypeError(APIError):
    """415: a file type the server does not accept."""


class ValidationError(APIError):
    """422: a field is wrong; ``details`` lists each one (``loc``, ``msg``, ``type``)."""


class RateLimitError(APIError):
    """429: too many requests or over the plan's quota; see ``retry_after``."""

    @property
    def retry_after(self) -> float | None:
        value = self.headers.get("retry-after")
        try:
            return float(value) if value is not None else None
        except ValueError:
            return None


class ServerError(APIError):
    """5xx."""


class JobFailedError(AptmagicError):
    """The job ended failed or canceled; ``job`` is its final state."""

    def __init__(self, job: Job) -> None:
        reason = f": {job.error.message} ({job.error.code})" if job.error else ""
        super().__init__(f"job {job.id} {job.status}{reason}")
        self.job = job


class JobTimeoutError(AptmagicError):
    """The job did not end within the time given to ``wait``."""


STATUS_ERRORS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
    422: ValidationError,
    429: RateLimitError,
}


def error_from_response(response: httpx.Response) -> APIError:
    """The exception for an error response, from its JSON body when it has one."""
    code, message, details = "http_error", response.reason_phrase or f"HTTP {response.status_code}", None
    try:
        body = response.json()
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code = str(error.get("code") or code)
            message = str(error.get("message") or message)
            details = error.get("details")
    except ValueError:
        pass
    status = response.status_code
    kind = STATUS_ERRORS.get(status, ServerError if status >= 500 else BadRequestError)
    return kind(message, status_code=status, code=code, details=details, headers=dict(response.headers))
