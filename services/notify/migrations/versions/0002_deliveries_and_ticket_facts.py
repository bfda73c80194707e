"""deliveries and ticket facts

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('deliveries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('channel', sa.String(length=100), nullable=False),
    sa.Column('channel_type', sa.String(length=20), nullable=False),
    sa.Column('address', sa.String(length=320), nullable=False),
    sa.Column('recipient', sa.String(length=200), nullable=True),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('event_type', sa.String(length=50), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', shared.db.UTCDateTime(), nullable=False),
    sa.Column('next_attempt_at', shared.db.UTCDateTime(), nullable=False),
    sa.Column('lease_until', shared.db.UTCDateTime(), nullable=True),
    sa.Column('claimed_by', sa.String(length=64), nullable=True),
    sa.Column('sent_at', shared.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'channel', 'address', name='uq_delivery_event_channel')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due', ['status', 'next_attempt_at'], unique=False)

    with op.batch_alter_table('feed_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sla_state', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('breached_at', shared.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', shared.db.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column('root_cause', sa.String(length=50), nullable=True))
        batch_op.create_index(batch_op.f('ix_feed_entries_breached_at'), ['breached_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_feed_entries_resolved_at'), ['resolved_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('feed_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_feed_entries_resolved_at'))
        batch_op.drop_index(batch_op.f('ix_feed_entries_breached_at'))
        batch_op.drop_column('root_cause')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('breached_at')
        batch_op.drop_column('sla_state')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_due')

    op.drop_table('deliveries')
