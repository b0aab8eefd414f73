"""A backing service that is down answers 503 with Retry-After, never 500.

Wraps the whole app, authentication included (it reads the database first),
and turns the errors of a database, broker or Redis that cannot be reached
into the API's JSON error shape. A value the database refuses to store
(PostgreSQL: a NUL character in text) is the client's input and answers 422.
Errors raised after the response started cannot be answered again and go on up."""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aptmagic.kit.errors import error_json

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = 5


def outage_errors() -> tuple[type[BaseException], ...]:
    """Errors that mean "a backing service is unreachable", from the libraries that are installed."""
    from sqlalchemy.exc import DisconnectionError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    found: list[type[BaseException]] = [OperationalError, DisconnectionError, PoolTimeout]
    try:
        from kombu.exceptions import OperationalError as BrokerError

        found.append(BrokerError)
    except ImportError:
        pass
    try:
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.exceptions import TimeoutError as RedisTimeout

        found += [RedisConnectionError, RedisTimeout]
    except ImportError:
        pass
    return tuple(found)


def _service_name(exc: BaseException) -> str:
    module = type(exc).__module__
    if module.startswith("sqlalchemy"):
        return "database"
    if module.startswith("kombu"):
        return "job queue"
    return "shared state (Redis)" if module.startswith("redis") else "a backing service"


class OutageMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        from sqlalchemy.exc import DataError

        self.app = app
        self.errors = outage_errors()
        self.data_error = DataError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watch(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except self.data_error:
            if started:
                raise
            message = "a text value in the request cannot be stored (for example it holds a NUL character)"
            await error_json(422, "validation_error", message, [{"loc": ["body"], "msg": message,
                             "type": "unstorable_value"}])(scope, receive, send)  # fmt: skip
        except self.errors as exc:
            if started:
                raise
            service = _service_name(exc)
            log.warning("backing service unavailable", extra={"service": service, "error": type(exc).__name__})
            response = error_json(
                503,
                "unavailable",
                f"the {service} is unavailable right now; retry in a few seconds",
                {"service": service},
                {"Retry-After": str(RETRY_AFTER_SECONDS)},
            )
            await response(scope, receive, send)
