"""Builds the backup service and backup locations from Settings (``aptmagic backup`` / ``restore``)."""

from __future__ import annotations

from pathlib import Path

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.engine import make_url

from aptmagic import __version__
from aptmagic.backup.base import BackupError, BackupTarget
from aptmagic.backup.folder import FolderTarget
from aptmagic.backup.service import BackupService, EmbeddedData
from aptmagic.config import Settings
from aptmagic.migrations import migrate

CLUSTER_BACKUPS = (
    "This deployment keeps its data in {where}. `aptmagic backup` covers the embedded default "
    "(a SQLite file and the local blob folder). A cluster is backed up by its services: PostgreSQL "
    "with point-in-time recovery (RDS/Aurora backup retention, or WAL archiving), S3 with object "
    "versioning (each asset's versions can be restored through the API), and Redis holds nothing "
    "that needs a backup. See docs/operations/backup.md."
)


class NotEmbedded(Exception):
    """The settings name PostgreSQL or S3: the message explains how those are backed up."""


def embedded_data(settings: Settings) -> EmbeddedData:
    url = make_url(settings.resolved_database_url)
    where = []
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        where.append(f"a {url.get_backend_name()} database")
    if settings.storage_backend != "local":
        where.append(f"{settings.storage_backend} storage")
    if where:
        raise NotEmbedded(CLUSTER_BACKUPS.format(where=" and ".join(where)))
    assert url.database is not None
    return EmbeddedData(database=Path(url.database).absolute(), blobs=settings.resolved_storage_dir.absolute())


def backup_service(settings: Settings) -> BackupService:
    return BackupService(embedded_data(settings), __version__, _known_revision)


def open_location(settings: Settings, location: str) -> BackupTarget:
    """A folder path, or s3://bucket/prefix (credentials from the AWS chain; aws_endpoint_url, aws_region)."""
    if location.startswith("s3://"):
        return _s3_target(settings, location)
    if "://" in location:
        raise BackupError(f"{location!r}: a backup goes to a folder or to s3://bucket/prefix")
    return FolderTarget(Path(location).expanduser())


def _s3_target(settings: Settings, location: str) -> BackupTarget:
    import boto3

    from aptmagic.backup.s3 import S3Target, parse_s3_uri
    from aptmagic.storage.s3 import s3_config

    bucket, prefix = parse_s3_uri(location)
    config = s3_config(
        settings.s3_connect_timeout_seconds,
        settings.s3_read_timeout_seconds,
        settings.s3_max_attempts,
        path_style=settings.aws_endpoint_url is not None,  # emulators answer path-style requests
    )
    client = boto3.session.Session().client(
        "s3", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url, config=config
    )
    return S3Target(client, bucket, prefix)


def _known_revision(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(migrate.alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False
