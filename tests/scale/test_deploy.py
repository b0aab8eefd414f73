"""deploy/docker-compose.yml is read, not run (no Docker here): its services, commands and
every APTMAGIC_* variable must be ones aptmagic knows, and the settings must validate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from aptmagic.config import Settings
from aptmagic.queue.routing import QUEUES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    return dict(yaml.safe_load((DEPLOY / "docker-compose.yml").read_text()))


def resolved(value: str) -> str:
    """${VAR:?msg} and ${VAR:-default} as docker compose would fill them from .env.example."""
    example = dict(
        line.split("=", 1)
        for line in (DEPLOY / ".env.example").read_text().splitlines()
        if "=" in line and not line.startswith("#")
    )
    return re.sub(r"\$\{(\w+)(?::[?-]([^}]*))?\}", lambda m: example.get(m.group(1), m.group(2) or ""), value)


def test_services_and_commands(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert {"api", "worker-cpu", "worker-gpu", "postgres", "redis", "minio"} <= set(services)
    assert services["api"]["command"][:2] == ["aptmagic", "api"]
    for name in ("worker-cpu", "worker-gpu"):
        command = services[name]["command"]
        assert command[:2] == ["aptmagic", "worker"]
        queues = command[command.index("--queues") + 1].split(",")
        assert set(queues) <= set(QUEUES)
    assert (DEPLOY / "Dockerfile").is_file()
    assert services["api"]["build"]["dockerfile"] == "deploy/Dockerfile"


def test_every_setting_is_known_and_valid(compose: dict[str, Any]) -> None:
    fields = set(Settings.model_fields)
    for name in ("api", "worker-cpu", "worker-gpu"):
        env = {key: resolved(str(value)) for key, value in compose["services"][name]["environment"].items()}
        values = {
            key.removeprefix("APTMAGIC_").lower(): value for key, value in env.items() if key.startswith("APTMAGIC_")
        }
        unknown = set(values) - fields
        assert not unknown, f"{name}: settings aptmagic does not have: {unknown}"
        settings = Settings(**values)
        assert settings.queue_backend == "celery"
        assert settings.resolved_database_url.startswith("postgresql+psycopg://")
        assert settings.broker_visibility_timeout_seconds > settings.lease_seconds
