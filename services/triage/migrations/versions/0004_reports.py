"""indexes for the SLA summary and SLA metrics

Revision ID: 0004
Revises: 0003
"""

from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_resolved_at', ['resolved_at'], unique=False)
        batch_op.create_index('ix_tickets_acknowledged_at', ['acknowledged_at'], unique=False)
    with op.batch_alter_table('ticket_timeline', schema=None) as batch_op:
        batch_op.create_index('ix_ticket_timeline_type', ['type'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ticket_timeline', schema=None) as batch_op:
        batch_op.drop_index('ix_ticket_timeline_type')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_acknowledged_at')
        batch_op.drop_index('ix_tickets_resolved_at')
