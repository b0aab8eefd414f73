"""Run the same tests on other backends: ``--db postgresql`` and ``--queue celery``.

``backend_overrides(request)`` gives the settings that point a test server at a
fresh PostgreSQL database and/or a Celery queue on the test Redis (with its own
queue names, so servers never take each other's jobs). A server on the Celery
backend gets an embedded Celery worker thread in the test process
(``EmbeddedWorker``), consuming from the server's queues with its runner."""

from __future__ import annotations

import uuid
from typing import Any

import pytest


def add_backend_options(parser: pytest.Parser) -> None:
    parser.addoption("--db", choices=["sqlite", "postgresql"], default="sqlite", help="database of the test servers")
    parser.addoption("--queue", choices=["inprocess", "celery"], default="inprocess", help="queue of the test servers")


def backend_overrides(request: pytest.FixtureRequest) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if request.config.getoption("--db") == "postgresql":
        values["database_url"] = request.getfixturevalue("postgres_server").create_database()
    if request.config.getoption("--queue") == "celery":
        values.update(celery_settings(request.getfixturevalue("redis_server").url))
    return values


def celery_settings(broker_url: str, **overrides: Any) -> dict[str, Any]:
    return {
        "queue_backend": "celery",
        "broker_url": broker_url,
        "queue_name_prefix": f"t{uuid.uuid4().hex[:10]}-",
        **overrides,
    }


class EmbeddedWorker:
    """A Celery worker thread running ``services``' jobs (tests only: the product runs `aptmagic worker`)."""

    def __init__(self, services: Any, concurrency: int = 1) -> None:
        from celery.contrib.testing.worker import start_worker

        from aptmagic.queue.routing import QUEUES

        queue = services.queue
        queue.start(services.runner.run)
        self._context = start_worker(
            queue.app,
            pool="threads",
            concurrency=max(1, concurrency),
            queues=[queue.broker_queue(name) for name in QUEUES],
            perform_ping_check=False,
            shutdown_timeout=15,
            loglevel="WARNING",
        )
        self._context.__enter__()

    def stop(self) -> None:
        self._context.__exit__(None, None, None)
