"""flows: surveys and their runs

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 14:18:09
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import crm.db
from sqlalchemy.dialects import postgresql

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    
    op.create_table('flows',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('keyword', sa.String(length=50), nullable=True),
    sa.Column('on_follow', sa.Boolean(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('expire_hours', sa.Integer(), nullable=False),
    sa.Column('remind_after_hours', sa.Integer(), nullable=True),
    sa.Column('thanks', sa.Text(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flows'))
    )
    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.create_index('ix_flows_keyword', ['keyword'], unique=False)

    op.create_table('flow_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('flow_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('steps', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flow_id'], ['flows.id'], name=op.f('fk_flow_versions_flow_id_flows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_versions')),
    sa.UniqueConstraint('flow_id', 'number', name=op.f('uq_flow_versions_flow_id'))
    )
    op.create_table('flow_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('flow_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('step_key', sa.String(length=40), nullable=True),
    sa.Column('reasks', sa.Integer(), nullable=False),
    sa.Column('selected', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('trigger', sa.String(length=16), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('started_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_activity_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_flow_runs_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_flow_runs_conversation_id_conversations'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_flow_runs_staff_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['flow_id'], ['flows.id'], name=op.f('fk_flow_runs_flow_id_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['flow_versions.id'], name=op.f('fk_flow_runs_version_id_flow_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_runs'))
    )
    with op.batch_alter_table('flow_runs', schema=None) as batch_op:
        batch_op.create_index('ix_flow_runs_customer', ['customer_id', 'id'], unique=False)
        batch_op.create_index('ix_flow_runs_expiring', ['expires_at'], unique=False, postgresql_where=sa.text("status = 'in_progress'"), sqlite_where=sa.text("status = 'in_progress'"))
        batch_op.create_index('ix_flow_runs_flow', ['flow_id', 'id'], unique=False)
        batch_op.create_index('ux_flow_runs_one_in_progress', ['customer_id'], unique=True, postgresql_where=sa.text("status = 'in_progress'"), sqlite_where=sa.text("status = 'in_progress'"))

    op.create_table('flow_answers',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('flow_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('step_key', sa.String(length=40), nullable=False),
    sa.Column('value', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('answered_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flow_id'], ['flows.id'], name=op.f('fk_flow_answers_flow_id_flows'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['flow_runs.id'], name=op.f('fk_flow_answers_run_id_flow_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flow_answers')),
    sa.UniqueConstraint('run_id', 'step_key', name=op.f('uq_flow_answers_run_id'))
    )
    with op.batch_alter_table('flow_answers', schema=None) as batch_op:
        batch_op.create_index('ix_flow_answers_results', ['flow_id', 'step_key', 'answered_at'], unique=False)



def downgrade() -> None:
    
    with op.batch_alter_table('flow_answers', schema=None) as batch_op:
        batch_op.drop_index('ix_flow_answers_results')

    op.drop_table('flow_answers')
    with op.batch_alter_table('flow_runs', schema=None) as batch_op:
        batch_op.drop_index('ux_flow_runs_one_in_progress', postgresql_where=sa.text("status = 'in_progress'"), sqlite_where=sa.text("status = 'in_progress'"))
        batch_op.drop_index('ix_flow_runs_flow')
        batch_op.drop_index('ix_flow_runs_expiring', postgresql_where=sa.text("status = 'in_progress'"), sqlite_where=sa.text("status = 'in_progress'"))
        batch_op.drop_index('ix_flow_runs_customer')

    op.drop_table('flow_runs')
    op.drop_table('flow_versions')
    with op.batch_alter_table('flows', schema=None) as batch_op:
        batch_op.drop_index('ix_flows_keyword')

    op.drop_table('flows')

