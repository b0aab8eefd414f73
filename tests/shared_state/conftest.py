"""Redis on loopback (redis-server, started once per session) with a fresh key prefix per test."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis

from aptmagic.config import Settings
from aptmagic.shared_state.redis import create_redis
from tests.conftest import LiveServer, start_server
from tests.support.services import RedisServer


@pytest.fixture
def prefix() -> str:
    return f"t{uuid.uuid4().hex[:10]}:"


@pytest.fixture
def rclient(redis_server: RedisServer) -> Iterator[redis.Redis]:
    client = create_redis(redis_server.url, 2.0)
    yield client
    client.close()


@pytest.fixture
def redis_apps(
    make_settings: Callable[..., Settings], redis_server: RedisServer, prefix: str
) -> Iterator[Callable[..., LiveServer]]:
    """Start API apps sharing one Redis (and, by default, one database and blob folder)."""
    servers: list[LiveServer] = []

    def start(account: bool = True, **overrides: Any) -> LiveServer:
        values: dict[str, Any] = {"redis_url": redis_server.url, "redis_prefix": prefix, **overrides}
        server = start_server(make_settings(**values), account=account)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
