"""Every error leaves the API as {"error": {"code", "message", "details"}}."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any = None


class ErrorResponse(BaseModel):
    error: ErrorBody


class AppError(Exception):
    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unavailable(AppError):
    status_code = 503
    code = "unavailable"


class InvalidRequest(AppError):
    """A field-level validation failure found by a service, shaped like pydantic's."""

    status_code = 422
    code = "validation_error"

    @classmethod
    def field(cls, loc: list[str | int], message: str, type_: str = "value_error") -> InvalidRequest:
        where = ".".join(str(part) for part in loc[1:]) or "body"
        return cls(f"{where}: {message}", details=[{"loc": loc, "msg": message, "type": type_}])


def error_json(
    status: int, code: str, message: str, details: Any = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body = ErrorResponse(error=ErrorBody(code=code, message=message, details=details))
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
}


def _clean_validation_errors(errors: list[dict[str, Any]], union_tags: frozenset[str]) -> list[dict[str, Any]]:
    cleaned = []
    for err in errors:
        loc = list(err.get("loc", ()))
        if len(loc) > 2 and loc[0] == "body" and loc[1] in union_tags:
            del loc[1]  # pydantic names the union variant; clients want the field path only
        item = {"loc": loc, "msg": err.get("msg", ""), "type": err.get("type", "")}
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            # pydantic reports a bad or missing discriminator at the union itself; point at the field.
            discriminator = str(err.get("ctx", {}).get("discriminator", "")).strip("'")
            if discriminator.isidentifier():
                item["loc"].append(discriminator)
        if "ctx" in err:
            item["ctx"] = {k: v if isinstance(v, (int, float, str, bool)) else str(v) for k, v in err["ctx"].items()}
        cleaned.append(item)
    return cleaned


def _summary(details: list[dict[str, Any]]) -> str:
    parts = []
    for item in details[:5]:
        where = ".".join(str(p) for p in item["loc"][1:]) or "body"
        parts.append(f"{where}: {item['msg']}")
    more = f" (+{len(details) - 5} more)" if len(details) > 5 else ""
    return "; ".join(parts) + more


def install_error_handlers(app: FastAPI, union_tags: frozenset[str] = frozenset()) -> None:
    """``union_tags``: variant tags of tagged-union request bodies, dropped from error locations."""

    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        return error_json(exc.status_code, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _clean_validation_errors(list(exc.errors()), union_tags)
        return error_json(422, "validation_error", _summary(details) or "invalid request", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        return error_json(exc.status_code, code, str(exc.detail), None, getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_json(500, "internal_error", "internal server error")
