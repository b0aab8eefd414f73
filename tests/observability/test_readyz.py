"""/readyz answers 503 naming the part that is down."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import LiveServer


def test_ready_when_everything_is_up(obs_live: LiveServer) -> None:
    response = httpx.get(obs_live.url + "/readyz")
    assert response.status_code == 200
    assert set(response.json()["checks"]) == {"database", "storage", "queue"}
    assert httpx.get(obs_live.url + "/healthz").json() == {"status": "ok"}


@pytest.mark.parametrize("part", ["database", "storage", "queue"])
def test_not_ready_when_a_part_is_down(obs_live: LiveServer, monkeypatch: pytest.MonkeyPatch, part: str) -> None:
    services = obs_live.services

    def down(*_args: object, **_kwargs: object) -> None:
        raise ConnectionError(f"{part} is down")

    target = {"database": (services.engine, "connect"), "storage": (services.store, "check"),
              "queue": (services.queue, "depth")}[part]  # fmt: skip
    monkeypatch.setattr(*target, down)
    response = httpx.get(obs_live.url + "/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "5"
    details = response.json()["error"]["details"]
    assert details[part] == "error: ConnectionError"
    assert all(value.startswith("ok") for name, value in details.items() if name != part)
