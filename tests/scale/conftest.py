"""Services on SQLite and on PostgreSQL, with the scripted test models and no worker threads:
tests call the runner themselves, as a queue backend would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from aptmagic.config import Settings
from aptmagic.db.base import utcnow
from aptmagic.inference.params import TextToImageParams
from aptmagic.jobs.models import Job, JobStatus
from aptmagic.wiring.services import Services, build_services
from tests.worker.conftest import PLANS, SCRIPTED_MODELS, Plan, scripted_spec

__all__ = ["PLANS", "Plan"]


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest) -> str | None:
    """None: the default SQLite file; else a fresh PostgreSQL database."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return None


@pytest.fixture
def scripted_plans() -> Iterator[dict[str, Plan]]:
    PLANS.clear()
    yield PLANS
    for plan in PLANS.values():
        if plan.gate is not None:
            plan.gate.set()
    PLANS.clear()


@pytest.fixture
def make_services(
    make_settings: Callable[..., Settings], db_url: str | None, scripted_plans: dict[str, Plan]
) -> Iterator[Callable[..., Services]]:
    made: list[Services] = []

    def make(**overrides: Any) -> Services:
        values: dict[str, Any] = {"worker_concurrency": 0, "models": [scripted_spec(m) for m in SCRIPTED_MODELS]}
        if db_url is not None:
            values["database_url"] = db_url
        services = build_services(make_settings(**values, **overrides))
        services.start()
        made.append(services)
        return services

    yield make
    for services in made:
        services.stop()


def add_job(services: Services, *, seed: int, model: str = "steady", **fields: Any) -> str:
    params = TextToImageParams(prompt="a cat", width=64, height=64, steps=2, guidance=0.0, seed=seed)
    values: dict[str, Any] = {
        "task": "text-to-image",
        "model_id": model,
        "model_version": "1",
        "params": params.model_dump(mode="json"),
        "seed": seed,
        "queue_name": "cpu",
        "status": JobStatus.queued,
        "progress_total": 2,
        "max_attempts": 3,
        "cache_key": f"scale-test-{seed}",
        "created_at": utcnow(),
        **fields,
    }
    with services.session_factory.begin() as session:
        job = Job(**values)
        session.add(job)
        session.flush()
        return job.id


def read_job(services: Services, job_id: str) -> Job:
    with services.session_factory() as session:
        job = session.get(Job, job_id)
        assert job is not None
        session.expunge(job)
        return job
