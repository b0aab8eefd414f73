"""Migration 0008 (jobs.served_from, jobs.fallback_key): upgrade keys the results already
stored, downgrade removes the columns and keeps the rows; on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from sqlalchemy import Engine, inspect

from aptmagic.db.session import create_db_engine
from aptmagic.migrations import migrate
from aptmagic.shared_state.results import fallback_key

jobs = sa.table(
    "jobs",
    *(sa.column(name) for name in (
        "id", "task", "model_id", "model_version", "queue_name", "status", "progress_step", "progress_total",
        "attempts", "max_attempts", "cancel_requested", "cache_key", "cache_hit", "created_at",
    )),
    sa.column("params", sa.JSON),
)  # fmt: skip


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'aptmagic.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    engine = create_db_engine(url)
    yield engine
    engine.dispose()


def downgrade(engine: Engine, revision: str) -> None:
    config = migrate.alembic_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def job_row(job_id: str, status: str, params: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": job_id, "task": "text-to-image", "model_id": "tiny-sd", "model_version": "tiny-1",
        "queue_name": "cpu", "status": status, "progress_step": 0, "progress_total": 4, "attempts": 1,
        "max_attempts": 3, "cancel_requested": False, "cache_key": "k" * 64, "cache_hit": False,
        "created_at": datetime(2026, 1, 1, tzinfo=UTC).replace(tzinfo=None), "params": params,
    }  # fmt: skip


def job_columns(engine: Engine) -> set[str]:
    return {column["name"] for column in inspect(engine).get_columns("jobs")}


def test_0008_keys_stored_results_and_downgrades_cleanly(engine: Engine) -> None:
    migrate.upgrade(engine, "0007")
    params = {"prompt": "a fox", "width": 64, "height": 64, "steps": 4, "seed": 7}
    with engine.begin() as conn:
        conn.execute(sa.insert(jobs), [job_row("done1", "succeeded", params), job_row("wait1", "queued", params)])

    migrate.upgrade(engine, "0008")
    assert {"served_from", "fallback_key"} <= job_columns(engine)
    indexes = {index["name"] for index in inspect(engine).get_indexes("jobs")}
    assert "ix_jobs_fallback_key_status" in indexes
    with engine.connect() as conn:
        rows = {row.id: row.fallback_key for row in conn.execute(sa.text("SELECT id, fallback_key FROM jobs"))}
        served = conn.execute(sa.text("SELECT served_from FROM jobs")).scalars().all()
    reseeded = {**params, "seed": 8}
    assert rows["done1"] == fallback_key("text-to-image", "tiny-sd", "tiny-1", reseeded)
    assert rows["wait1"] is None  # only succeeded jobs can answer a fallback
    assert served == [None, None]

    downgrade(engine, "0007")
    assert migrate.current_revision(engine) == "0007"
    assert not {"served_from", "fallback_key"} & job_columns(engine)
    with engine.connect() as conn:
        assert sorted(conn.execute(sa.text("SELECT id FROM jobs")).scalars()) == ["done1", "wait1"]

    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision()
    assert {"served_from", "fallback_key"} <= job_columns(engine)
