"""Python client for aptmagic's job API: ``Client`` (sync) and ``AsyncClient``, on httpx."""

from aptmagic.client.aio import AsyncClient
from aptmagic.client.errors import (
    APIConnectionError,
    APIError,
    AptmagicError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    JobFailedError,
    JobTimeoutError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from aptmagic.client.sync import Client
from aptmagic.client.types import Event, Job, JobError, JobOutput, Model, Progress, Upload

__all__ = [
    "APIConnectionError", "APIError", "AptmagicError", "AsyncClient", "AuthenticationError", "BadRequestError",
    "Client", "ConflictError", "Event", "Job", "JobError", "JobFailedError", "JobOutput", "JobTimeoutError", "Model",
    "NotFoundError", "PayloadTooLargeError", "PermissionDeniedError", "Progress", "RateLimitError", "ServerError",
    "UnsupportedMediaTypeError", "Upload", "ValidationError",
]  # fmt: skip
