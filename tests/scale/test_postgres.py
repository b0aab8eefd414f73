"""The same migrations and models on PostgreSQL, and the existing suites run on it.

``pytest --db postgresql --queue celery`` points every test server at a fresh
PostgreSQL database and a Celery queue on Redis; the slow test here runs the job
suite and the quota race that way, in a child pytest."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from aptmagic.db.session import create_db_engine
from aptmagic.migrations import migrate
from aptmagic.migrations.tables import Base

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url, pool_size=2, max_overflow=0, connect_timeout=3)
    yield engine
    engine.dispose()


def test_engine_options_per_dialect(pg_engine: Engine, tmp_path: Path) -> None:
    assert pg_engine.dialect.driver == "psycopg"
    assert pg_engine.pool.size() == 2  # type: ignore[attr-defined]
    assert pg_engine.pool._pre_ping  # type: ignore[attr-defined]
    sqlite = create_db_engine(f"sqlite:///{tmp_path / 'a.db'}")
    with sqlite.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    sqlite.dispose()


def test_migrations_reach_head_and_match_the_models(pg_engine: Engine) -> None:
    migrate.upgrade(pg_engine)
    migrate.upgrade(pg_engine)  # twice is a no-op
    assert migrate.current_revision(pg_engine) == migrate.head_revision()
    with pg_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"migrations and models differ on PostgreSQL: {diff}"
    inspector = inspect(pg_engine)
    assert {"jobs", "idempotency_keys", "users", "assets"} <= set(inspector.get_table_names())
    assert {"lease_expires_at", "queued_at"} <= {c["name"] for c in inspector.get_columns("jobs")}


def test_migrations_step_by_step_and_back(pg_engine: Engine) -> None:
    from alembic import command
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrate.alembic_config())
    for revision in [rev.revision for rev in reversed(list(script.walk_revisions()))]:
        migrate.upgrade(pg_engine, revision)
    config = migrate.alembic_config()
    with pg_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0004")
    assert "idempotency_keys" not in inspect(pg_engine).get_table_names()
    migrate.upgrade(pg_engine)
    assert "idempotency_keys" in inspect(pg_engine).get_table_names()


@pytest.mark.slow
@pytest.mark.timeout(1500)
def test_the_job_suite_and_the_quota_race_on_postgresql_and_celery() -> None:
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    args = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "--db", "postgresql", "--queue", "celery",
            "tests/jobs", "tests/quotas/test_quota_race.py"]  # fmt: skip
    result = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1500)
    tail = (result.stdout + result.stderr)[-4000:]
    assert result.returncode == 0, tail
    assert " passed" in tail and "failed" not in tail, tail
