"""an index for counting messages by the LINE error they last got (/metrics)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 06:20:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

HAS_ERROR = "error_status IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_interactions_line_errors', ['error_status'], unique=False,
            postgresql_where=sa.text(HAS_ERROR), sqlite_where=sa.text(HAS_ERROR),
        )


def downgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_line_errors')
