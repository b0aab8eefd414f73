"""Alembic migrations: an empty SQLite file goes to head, twice is a no-op, and
the migrated schema is exactly the ORM metadata."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from aptmagic.db.session import create_db_engine
from aptmagic.migrations import migrate
from aptmagic.migrations.tables import Base

EXPECTED_TABLES = {"jobs", "assets", "job_outputs", "alembic_version"}


@pytest.fixture
def db_file(tmp_path: Path) -> Path:
    return tmp_path / "nested" / "aptmagic.db"


@pytest.fixture
def engine(db_file: Path) -> Iterator[Engine]:
    engine = create_db_engine(f"sqlite:///{db_file}")
    yield engine
    engine.dispose()


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def test_empty_file_is_migrated_to_head(engine: Engine, db_file: Path) -> None:
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert db_file.is_file()
    assert table_names(engine) >= EXPECTED_TABLES
    head = migrate.head_revision()
    assert head is not None
    assert migrate.current_revision(engine) == head
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == [head]


def test_there_is_one_head_and_a_linear_history() -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert len(script.get_heads()) == 1
    revisions = list(script.walk_revisions())
    assert revisions[-1].down_revision is None
    assert all(not rev.is_merge_point for rev in revisions)


def test_upgrading_twice_is_a_no_op(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO assets (id, kind, storage_key, content_type, size_bytes, sha256, created_at) "
                "VALUES ('a1', 'output', 'k/1.png', 'image/png', 3, 'abc', '2026-01-01 00:00:00')"
            )
        )
    schema_before = _schema(engine)
    migrate.upgrade(engine)
    assert _schema(engine) == schema_before
    assert migrate.current_revision(engine) == migrate.head_revision()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT id FROM assets")).scalars().all() == ["a1"]
        assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1


def test_migrations_can_be_applied_step_by_step(engine: Engine) -> None:
    script = ScriptDirectory.from_config(migrate.alembic_config())
    revisions = [rev.revision for rev in reversed(list(script.walk_revisions()))]
    for revision in revisions:
        migrate.upgrade(engine, revision)
        assert migrate.current_revision(engine) == revision
    assert table_names(engine) >= EXPECTED_TABLES


def test_migrated_schema_matches_the_orm(engine: Engine) -> None:
    migrate.upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == [], f"migrations and ORM models differ; write a migration: {diff}"


def test_orm_tables_are_all_migrated(engine: Engine) -> None:
    migrate.upgrade(engine)
    inspector = inspect(engine)
    for table in Base.metadata.sorted_tables:
        columns = {column["name"] for column in inspector.get_columns(table.name)}
        assert columns == {column.name for column in table.columns}, table.name


def test_foreign_keys_and_indexes(engine: Engine) -> None:
    migrate.upgrade(engine)
    inspector = inspect(engine)
    fks = {(fk["referred_table"], tuple(fk["constrained_columns"])) for fk in inspector.get_foreign_keys("job_outputs")}
    assert fks == {("jobs", ("job_id",)), ("assets", ("asset_id",))}
    job_indexes = {index["name"] for index in inspector.get_indexes("jobs")}
    assert {"ix_jobs_status_created", "ix_jobs_created_id", "ix_jobs_cache_key_status"} <= job_indexes


def test_sqlite_uses_wal_and_foreign_keys(engine: Engine, db_file: Path) -> None:
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()
    # WAL is a property of the file: a plain sqlite3 connection sees it too
    raw = sqlite3.connect(db_file)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        raw.close()


def test_app_start_migrates(make_settings) -> None:  # type: ignore[no-untyped-def]
    from aptmagic.wiring.services import build_services

    services = build_services(make_settings(worker_concurrency=0))
    try:
        services.start()
        assert migrate.current_revision(services.engine) == migrate.head_revision()
        assert table_names(services.engine) >= EXPECTED_TABLES
    finally:
        services.stop()


def _schema(engine: Engine) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name"))
        return [(row[0], row[1]) for row in rows]
