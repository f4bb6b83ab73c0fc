"""one event runner: lanes are locked per transaction (no event_lanes table); indexes for
taking the oldest pending events and for keeping each customer's messages in order

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 05:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.db

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTBOX = "delivery_status IN ('pending', 'sending')"


def upgrade() -> None:
    op.drop_table('event_lanes')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.create_index(
            'ix_inbound_events_pending', ['id'], unique=False,
            postgresql_where=sa.text("status = 'pending'"),
            sqlite_where=sa.text("status = 'pending'"),
        )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_interactions_outbox_customer', ['customer_id', 'id'], unique=False,
            postgresql_where=sa.text(OUTBOX),
            sqlite_where=sa.text(OUTBOX),
        )


def downgrade() -> None:
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_index('ix_interactions_outbox_customer')
    with op.batch_alter_table('inbound_events', schema=None) as batch_op:
        batch_op.drop_index('ix_inbound_events_pending')
    op.create_table('event_lanes',
    sa.Column('lane_key', sa.String(length=80), nullable=False),
    sa.Column('locked_by', sa.String(length=80), nullable=True),
    sa.Column('locked_until', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('lane_key', name=op.f('pk_event_lanes'))
    )
