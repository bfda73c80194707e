"""index for the spike check's count of recent tickets by touchpoint and cause

The consumer counts, per batch, the tickets of one touchpoint created in the spike window whose
cause (confirmed, else suggested) is the one at hand. With only (touchpoint, created_at) it read
every such ticket's row to compare the cause; this index answers the count from the index alone.

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_tickets_touchpoint_cause_created', 'tickets',
                    ['touchpoint', sa.text('coalesce(root_cause, suggested_root_cause)'), 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_tickets_touchpoint_cause_created', table_name='tickets')
