"""Helpers for the social and moderation tests: one server per module with a worker and a
blocklist, accounts with API keys, and images made by real tiny-sd jobs."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.auth.conftest import account, key_client
from tests.conftest import Account, LiveServer, start_server, submit, wait_for
from tests.jobs.conftest import shared_settings

BLOCKED = ["forbiddenword", "very bad phrase"]
_seeds = itertools.count(1)


@pytest.fixture(scope="module")
def social_live(tmp_path_factory: pytest.TempPathFactory, models_dir: Path) -> Iterator[LiveServer]:
    server = start_server(shared_settings(tmp_path_factory.mktemp("social"), models_dir, moderation_blocklist=BLOCKED))
    yield server
    server.stop()


class User:
    """An account with an API-key client on the module's server."""

    def __init__(self, live: LiveServer, *, admin: bool = False, prefix: str = "user") -> None:
        self.account: Account = account(live, admin=admin, prefix=prefix)
        self.http: httpx.Client = key_client(live, self.account)

    @property
    def id(self) -> str:
        return self.account.user_id

    @property
    def name(self) -> str:
        return self.account.username

    def image(self, prompt: str = "a red boat") -> str:
        """The asset id of a fresh tiny-sd output of this user."""
        job = wait_for(
            self.http, submit(self.http, prompt=prompt, width=64, height=64, steps=1, seed=next(_seeds))["id"]
        )
        assert job["status"] == "succeeded", job
        return str(job["outputs"][0]["asset_id"])

    def post(self, **fields: Any) -> dict[str, Any]:
        body = {"asset_id": fields.pop("asset_id", None) or self.image(), "title": "a post", **fields}
        response = self.http.post("/api/v1/posts", json=body)
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture(scope="module")
def make_user(social_live: LiveServer) -> Iterator[Any]:
    made: list[User] = []

    def make(**kwargs: Any) -> User:
        user = User(social_live, **kwargs)
        made.append(user)
        return user

    yield make
    for user in made:
        user.http.close()


def error_of(response: httpx.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}, body
    return dict(body["error"])
