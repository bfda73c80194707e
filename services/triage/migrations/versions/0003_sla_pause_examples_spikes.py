"""sla pause, root cause examples, spikes

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import shared.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('root_cause_examples',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ticket_id', sa.String(length=36), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('code', sa.String(length=50), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('ticket_id')
    )
    op.create_table('spikes',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('root_cause', sa.String(length=50), nullable=False),
    sa.Column('touchpoint', sa.String(length=100), nullable=False),
    sa.Column('ticket_count', sa.Integer(), nullable=False),
    sa.Column('window_seconds', sa.Integer(), nullable=False),
    sa.Column('first_at', shared.db.UTCDateTime(), nullable=False),
    sa.Column('detected_at', shared.db.UTCDateTime(), nullable=False),
    sa.Column('last_at', shared.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('spikes', schema=None) as batch_op:
        batch_op.create_index('ix_spikes_cause_touchpoint', ['root_cause', 'touchpoint', 'last_at'], unique=False)

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('paused_at', shared.db.UTCDateTime(), nullable=True))
        batch_op.create_index('ix_tickets_touchpoint_created', ['touchpoint', 'created_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_touchpoint_created')
        batch_op.drop_column('paused_at')

    with op.batch_alter_table('spikes', schema=None) as batch_op:
        batch_op.drop_index('ix_spikes_cause_touchpoint')

    op.drop_table('spikes')
    op.drop_table('root_cause_examples')
