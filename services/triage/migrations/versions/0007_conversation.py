"""the conversation on a ticket (customer messages, replies, internal notes); feedback knows its customer id

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

from shared.db import UTCDateTime

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'ticket_messages',
        sa.Column('seq', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('ticket_id', sa.String(length=36), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('author_id', sa.String(length=100), nullable=True),
        sa.Column('author', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('at', UTCDateTime(), nullable=False),
        sa.Column('feedback_id', sa.String(length=36), nullable=True),
        sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id']),
        sa.PrimaryKeyConstraint('seq'),
        sa.UniqueConstraint('id'),
    )
    op.create_index('ix_ticket_messages_ticket_id', 'ticket_messages', ['ticket_id'], unique=False)
    # a plain ADD COLUMN (SQLite has it): a batch rebuild of the table would drop its report triggers
    op.add_column('feedback', sa.Column('customer_id', sa.String(length=200), nullable=True))
    op.create_index('ix_feedback_customer_id', 'feedback', ['customer_id'], unique=False)
    op.create_index('ix_feedback_customer_email', 'feedback', ['customer_email'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_feedback_customer_email', table_name='feedback')
    op.drop_index('ix_feedback_customer_id', table_name='feedback')
    op.drop_column('feedback', 'customer_id')
    op.drop_index('ix_ticket_messages_ticket_id', table_name='ticket_messages')
    op.drop_table('ticket_messages')
