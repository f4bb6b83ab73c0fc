"""inbox folder indexes: partial indexes for the needs-reply, mine and unassigned folders

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 09:10:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index(
            'ix_conversations_needs_reply', ['last_message_at', 'id'], unique=False,
            postgresql_where=sa.text("awaiting_reply IS true AND status <> 'resolved'"),
            sqlite_where=sa.text("awaiting_reply IS 1 AND status != 'resolved'"),
        )
        batch_op.create_index(
            'ix_conversations_open_by_assignee', ['assignee_id', 'last_message_at', 'id'],
            unique=False,
            postgresql_where=sa.text("status <> 'resolved'"),
            sqlite_where=sa.text("status != 'resolved'"),
        )


def downgrade() -> None:
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_open_by_assignee')
        batch_op.drop_index('ix_conversations_needs_reply')
