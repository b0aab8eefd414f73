"""The queries a backup needs, run on a snapshot file (never on the live database)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from aptmagic.assets.models import Asset
from aptmagic.backup.base import BackupError


class SnapshotRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def storage_keys(self) -> set[str]:
        """The blob key of every asset row."""
        return set(self.session.scalars(select(Asset.storage_key)))

    def revision(self) -> str | None:
        return MigrationContext.configure(self.session.connection()).get_current_revision()


@contextmanager
def open_snapshot(path: Path) -> Iterator[SnapshotRepository]:
    """A read-only session on a snapshot; a plain engine, so nothing (WAL mode) is written to it."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    try:
        with Session(engine) as session:
            yield SnapshotRepository(session)
    except SQLAlchemyError as exc:
        raise BackupError(
            f"{path.name} does not hold an aptmagic database: {getattr(exc, 'orig', None) or exc}"
        ) from None
    finally:
        engine.dispose()
