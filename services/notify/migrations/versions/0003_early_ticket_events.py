"""ticket events that arrive before their feedback

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
    op.create_table('early_ticket_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('feedback_id', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.String(length=100), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('created_at', shared.db.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('early_ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_early_ticket_events_feedback_id'), ['feedback_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('early_ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_early_ticket_events_feedback_id'))
    op.drop_table('early_ticket_events')
