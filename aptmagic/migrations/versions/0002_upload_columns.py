"""upload columns on assets

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 22:07:08.283171
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


import aptmagic.db.base  # noqa: F401 (UTCDateTime)

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('media_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('duration_seconds', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('original_name', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('expires_at', aptmagic.db.base.UTCDateTime(), nullable=True))
        batch_op.create_index(batch_op.f('ix_assets_expires_at'), ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assets_expires_at'))
        batch_op.drop_column('expires_at')
        batch_op.drop_column('original_name')
        batch_op.drop_column('duration_seconds')
        batch_op.drop_column('media_kind')

