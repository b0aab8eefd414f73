"""On PostgreSQL: the request counter's upsert is atomic under concurrent writers, an
alert is claimed once, and the audit log refuses UPDATE and DELETE (trigger of 0007)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError

from aptmagic.alerts.repository import AlertRepository
from aptmagic.db.session import create_db_engine, create_session_factory
from aptmagic.migrations import migrate
from aptmagic.observability.counter import RequestCounter
from aptmagic.observability.repository import RequestCountRepository

pytestmark = pytest.mark.slow


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


@pytest.fixture(scope="module")
def pg_engine() -> Iterator[Engine]:
    bin_dir = _pg_bin()
    if bin_dir is None or os.geteuid() != 0 or shutil.which("runuser") is None:
        pytest.skip("needs the PostgreSQL binaries and root (initdb runs as the postgres user)")
    root = Path(tempfile.mkdtemp(prefix="aptmagic-pg-"))  # pytest's own folder is closed to other users
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    shutil.chown(root, "postgres")
    shutil.chown(sock, "postgres")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def as_postgres(*args: str) -> None:
        subprocess.run(["runuser", "-u", "postgres", "--", *args], check=True, capture_output=True, timeout=60)

    as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
    as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-w", "-l", str(root / "log"), "-o",
                f"-c listen_addresses=127.0.0.1 -p {port} -k {sock}", "start")  # fmt: skip
    try:
        admin = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("CREATE DATABASE aptmagic"))
        admin.dispose()
        engine = create_db_engine(f"postgresql+psycopg://postgres@127.0.0.1:{port}/aptmagic")
        migrate.upgrade(engine)
        yield engine
        engine.dispose()
    finally:
        as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_concurrent_counters_lose_no_request(pg_engine: Engine) -> None:
    factory = create_session_factory(pg_engine)
    crossings: list[tuple[int, int]] = []
    lock = threading.Lock()

    def on_counted(_day: object, before: int, after: int) -> None:
        with lock:
            crossings.append((before, after))

    counters = [RequestCounter(factory, 0, on_counted) for _ in range(4)]  # four "processes"

    def hammer(counter: RequestCounter) -> None:
        for _ in range(50):
            counter.add(1)
            counter.flush()

    threads = [threading.Thread(target=hammer, args=(c,)) for c in counters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    with factory() as session:
        assert RequestCountRepository(session).day_total(datetime.now(UTC).date()) == 200
    assert len(crossings) == 200


def test_an_alert_is_claimed_once(pg_engine: Engine) -> None:
    factory = create_session_factory(pg_engine)
    results = []
    for _ in range(3):
        with factory.begin() as session:
            results.append(AlertRepository(session).claim("2030-01-01", "daily_requests", "email", "x"))
    assert results[0] is not None and results[1:] == [None, None]


def test_the_audit_log_is_append_only(pg_engine: Engine) -> None:
    with pg_engine.begin() as conn:
        conn.execute(text("INSERT INTO audit_events (action, outcome, created_at) VALUES ('t', 'success', now())"))
    for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), pg_engine.begin() as conn:
            conn.execute(text(statement))
