"""job served_from and fallback_key

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24 00:00:00.000000
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 500
jobs = sa.table(
    'jobs',
    sa.column('id', sa.String), sa.column('task', sa.String), sa.column('model_id', sa.String),
    sa.column('model_version', sa.String), sa.column('params', sa.JSON), sa.column('status', sa.String),
    sa.column('fallback_key', sa.String),
)


def upgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('fallback_key', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('served_from', sa.String(length=80), nullable=True))
        batch_op.create_index('ix_jobs_fallback_key_status', ['fallback_key', 'status'], unique=False)
    _backfill_fallback_keys(op.get_bind())


def downgrade() -> None:
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_fallback_key_status')
        batch_op.drop_column('served_from')
        batch_op.drop_column('fallback_key')


def _backfill_fallback_keys(conn: sa.Connection) -> None:
    """Results stored before this revision can answer fallbacks too: key the succeeded jobs."""
    after = ''
    while True:
        rows = conn.execute(
            sa.select(jobs.c.id, jobs.c.task, jobs.c.model_id, jobs.c.model_version, jobs.c.params)
            .where(jobs.c.status == 'succeeded', jobs.c.id > after)
            .order_by(jobs.c.id)
            .limit(BATCH)
        ).all()
        for row in rows:
            key = _fallback_key(row.task, row.model_id, row.model_version, row.params or {})
            conn.execute(sa.update(jobs).where(jobs.c.id == row.id).values(fallback_key=key))
        if len(rows) < BATCH:
            return
        after = rows[-1].id


def _fallback_key(task: str, model_id: str, model_version: str, params: dict[str, Any]) -> str:
    """aptmagic.shared_state.results.fallback_key as of this revision."""
    unseeded = {name: value for name, value in params.items() if name != 'seed'}
    request = {'task': task, 'model': model_id, 'version': model_version, 'params': unseeded, 'seed': 'any'}
    canonical = json.dumps(request, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
    return hashlib.sha256(canonical.encode('utf-8')).hexdigest()
