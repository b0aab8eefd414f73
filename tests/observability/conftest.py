"""One server per module for the observability tests, with an admin and a user."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Account, LiveServer, create_account, start_server
from tests.jobs.conftest import shared_settings


@pytest.fixture(scope="module")
def obs_live(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    server = start_server(shared_settings(tmp_path_factory.mktemp("obs"), models_dir, alert_request_flush_seconds=0))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def admin(obs_live: LiveServer) -> Account:
    return create_account(obs_live.services, "obsadmin", admin=True)


@pytest.fixture
def admin_client(obs_live: LiveServer, admin: Account) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=obs_live.url, timeout=30, headers=admin.headers) as client:
        yield client


@pytest.fixture
def user_client(obs_live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=obs_live.url, timeout=30, headers=obs_live.auth_headers) as client:
        yield client
