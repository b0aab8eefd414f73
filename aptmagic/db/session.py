"""Engine and session factory. A request or a job step owns one transaction."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

POST_COMMIT_KEY = "aptmagic.post_commit"


def create_db_engine(url: str, *, pool_size: int = 10, max_overflow: int = 20, connect_timeout: int = 5) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return _postgres_engine(url, pool_size, max_overflow, connect_timeout)
    if backend != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    _configure_sqlite(engine)
    return engine


def _postgres_engine(url: str, pool_size: int, max_overflow: int, connect_timeout: int) -> Engine:
    """A pool per process; pre-ping drops connections a database restart broke, and the
    connect and pool timeouts bound how long a request waits for a database that is down."""
    return create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_timeout=connect_timeout,
        pool_recycle=1800,
        connect_args={"connect_timeout": connect_timeout, "application_name": "aptmagic"},
    )


def _configure_sqlite(engine: Engine) -> None:
    """WAL, foreign keys, and BEGIN IMMEDIATE so that two writers wait for each
    other instead of failing on a read-to-write upgrade."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_session_factory(engine: Engine) -> sessionmaker[Session]:
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    event.listen(factory, "after_commit", _run_post_commit)
    event.listen(factory, "after_soft_rollback", _drop_post_commit)
    return factory


def after_commit(session: Session, action: Callable[[], None]) -> None:
    """Run ``action`` once the session's current transaction has committed.

    Used to enqueue job ids: a worker must never see an id whose row is not
    committed yet. Dropped if the transaction rolls back."""
    session.info.setdefault(POST_COMMIT_KEY, []).append(action)


def _run_post_commit(session: Session) -> None:
    actions = session.info.pop(POST_COMMIT_KEY, [])
    for action in actions:
        action()


def _drop_post_commit(session: Session, _previous_transaction: Any) -> None:
    if not session.in_transaction():
        session.info.pop(POST_COMMIT_KEY, None)
