"""Helpers for the account tests: a shared server, web-session clients, accounts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Account, LiveServer, create_account, start_server
from tests.jobs.conftest import shared_settings

PASSWORD = "correct horse battery staple 42"


@pytest.fixture(scope="module")
def auth_live(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    server = start_server(shared_settings(tmp_path_factory.mktemp("auth"), models_dir, worker_concurrency=0))
    yield server
    server.stop()


_counter = iter(range(10**6))


def new_name(prefix: str = "user") -> str:
    return f"{prefix}{next(_counter)}"


def browser(live: LiveServer) -> httpx.Client:
    """A client with no credentials: it keeps whatever cookies the server sets."""
    return httpx.Client(base_url=live.url, timeout=30)


def sign_up(
    live: LiveServer, username: str | None = None, password: str = PASSWORD
) -> tuple[httpx.Client, dict[str, Any]]:
    """A browser that signed up through the API; its X-CSRF-Token header is set."""
    username = username or new_name()
    client = browser(live)
    response = client.post(
        "/api/v1/auth/signup", json={"email": f"{username}@example.com", "username": username, "password": password}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    client.headers["X-CSRF-Token"] = body["csrf_token"]
    return client, body


def log_in(live: LiveServer, login: str, password: str = PASSWORD) -> httpx.Client:
    client = browser(live)
    response = client.post("/api/v1/auth/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    client.headers["X-CSRF-Token"] = response.json()["csrf_token"]
    return client


def key_client(live: LiveServer, account: Account) -> httpx.Client:
    return httpx.Client(base_url=live.url, timeout=30, headers=account.headers)


def account(live: LiveServer, **kwargs: Any) -> Account:
    return create_account(live.services, new_name(kwargs.pop("prefix", "acct")), **kwargs)


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    return str(body["error"]["code"])
