"""campaigns: topics, consent history, campaigns, runs, batches, recipients

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01 17:01:48.862073
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import crm.db
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('topics',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=50), nullable=False),
    sa.Column('description', sa.String(length=200), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_topics')),
    sa.UniqueConstraint('name', name=op.f('uq_topics_name'))
    )
    op.create_table('campaigns',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('conditions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('messages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('topic_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('send_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('recurrence', sa.String(length=100), nullable=True),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('holdout_percent', sa.Integer(), nullable=False),
    sa.Column('next_run_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approved_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('approved_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_via', sa.String(length=16), nullable=False),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['approved_by_id'], ['staff.id'], name=op.f('fk_campaigns_approved_by_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['staff.id'], name=op.f('fk_campaigns_created_by_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_campaigns_segment_id_segments'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_campaigns_topic_id_topics'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaigns'))
    )
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.create_index('ix_campaigns_due', ['next_run_at'], unique=False, postgresql_where=sa.text("status = 'scheduled'"), sqlite_where=sa.text("status = 'scheduled'"))

    op.create_table('consent_changes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('subject', sa.String(length=16), nullable=False),
    sa.Column('value', sa.Boolean(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('wording', sa.Text(), nullable=True),
    sa.Column('staff_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('occurred_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_consent_changes_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_consent_changes_staff_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_consent_changes_topic_id_topics'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent_changes'))
    )
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.create_index('ix_consent_changes_customer', ['customer_id', 'id'], unique=False)

    op.create_table('customer_topics',
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('topic_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('updated_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_topics_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['topic_id'], ['topics.id'], name=op.f('fk_customer_topics_topic_id_topics'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('customer_id', 'topic_id', name=op.f('pk_customer_topics'))
    )
    with op.batch_alter_table('customer_topics', schema=None) as batch_op:
        batch_op.create_index('ix_customer_topics_topic', ['topic_id', 'subscribed', 'customer_id'], unique=False)

    op.create_table('campaign_runs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('scheduled_for', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('messages', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('personalised', sa.Boolean(), nullable=False),
    sa.Column('not_before', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('claimed_up_to', sa.BigInteger(), nullable=False),
    sa.Column('last_recipient_id', sa.BigInteger(), nullable=False),
    sa.Column('started_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('materialised_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_runs_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_runs')),
    sa.UniqueConstraint('campaign_id', 'scheduled_for', name=op.f('uq_campaign_runs_campaign_id'))
    )
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_runs_active', ['id'], unique=False, postgresql_where=sa.text("status = 'sending'"), sqlite_where=sa.text("status = 'sending'"))

    op.create_table('campaign_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('first_id', sa.BigInteger(), nullable=False),
    sa.Column('last_id', sa.BigInteger(), nullable=False),
    sa.Column('retry_key', sa.String(length=36), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('locked_until', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', crm.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_campaign_batches_run_id_campaign_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_batches')),
    sa.UniqueConstraint('retry_key', name=op.f('uq_campaign_batches_retry_key'))
    )
    with op.batch_alter_table('campaign_batches', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_batches_open', ['run_id', 'next_attempt_at'], unique=False, postgresql_where=sa.text("status <> 'done'"), sqlite_where=sa.text("status != 'done'"))

    op.create_table('campaign_recipients',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('run_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('customer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=True),
    sa.Column('sent_at', crm.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('error_status', sa.Integer(), nullable=True),
    sa.Column('error_message', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], name=op.f('fk_campaign_recipients_campaign_id_campaigns'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_campaign_recipients_customer_id_customers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['run_id'], ['campaign_runs.id'], name=op.f('fk_campaign_recipients_run_id_campaign_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_campaign_recipients')),
    sa.UniqueConstraint('run_id', 'customer_id', name=op.f('uq_campaign_recipients_run_id')),
    postgresql_with={'fillfactor': 80}
    )
    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.create_index('ix_campaign_recipients_campaign', ['campaign_id'], unique=False)
        batch_op.create_index('ix_campaign_recipients_customer', ['customer_id'], unique=False)
        batch_op.create_index('ix_campaign_recipients_run', ['run_id', 'id'], unique=False)

    message_sql = sa.text(
        "direction = 'in' AND kind IN "
        "('text', 'sticker', 'image', 'video', 'audio', 'file', 'location')"
    )
    op.create_index(
        'ix_interactions_customer_messages', 'interactions', ['customer_id', 'occurred_at'],
        unique=False, postgresql_where=message_sql, sqlite_where=message_sql,
    )
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('campaign_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_interactions_campaign_id_campaigns'), 'campaigns', ['campaign_id'], ['id'], ondelete='SET NULL')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('line_user_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('line_link_code_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('line_link_code_expires_at', crm.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_staff_line_link_code_hash'), ['line_link_code_hash'])
        batch_op.create_unique_constraint(batch_op.f('uq_staff_line_user_id'), ['line_user_id'])

    # The topics most shops start with; staff rename, add or retire them.
    topics = sa.table(
        'topics',
        sa.column('name', sa.String), sa.column('position', sa.Integer),
        sa.column('active', sa.Boolean), sa.column('created_at', crm.db.UTCDateTime()),
    )
    now = datetime.now(UTC)
    op.bulk_insert(topics, [
        {'name': name, 'position': position, 'active': True, 'created_at': now}
        for position, name in enumerate(('ランチ情報', 'ディナー情報', 'イベント', 'クーポン'))
    ])



def downgrade() -> None:
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_staff_line_user_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('uq_staff_line_link_code_hash'), type_='unique')
        batch_op.drop_column('line_link_code_expires_at')
        batch_op.drop_column('line_link_code_hash')
        batch_op.drop_column('line_user_id')

    op.drop_index('ix_interactions_customer_messages', table_name='interactions')
    with op.batch_alter_table('interactions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_interactions_campaign_id_campaigns'), type_='foreignkey')
        batch_op.drop_column('campaign_id')

    with op.batch_alter_table('campaign_recipients', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_recipients_run')
        batch_op.drop_index('ix_campaign_recipients_customer')
        batch_op.drop_index('ix_campaign_recipients_campaign')

    op.drop_table('campaign_recipients')
    with op.batch_alter_table('campaign_batches', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_batches_open', postgresql_where=sa.text("status <> 'done'"), sqlite_where=sa.text("status != 'done'"))

    op.drop_table('campaign_batches')
    with op.batch_alter_table('campaign_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_campaign_runs_active', postgresql_where=sa.text("status = 'sending'"), sqlite_where=sa.text("status = 'sending'"))

    op.drop_table('campaign_runs')
    with op.batch_alter_table('customer_topics', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_topics_topic')

    op.drop_table('customer_topics')
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_changes_customer')

    op.drop_table('consent_changes')
    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.drop_index('ix_campaigns_due', postgresql_where=sa.text("status = 'scheduled'"), sqlite_where=sa.text("status = 'scheduled'"))

    op.drop_table('campaigns')
    op.drop_table('topics')
