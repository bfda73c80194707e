"""customer answer

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

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('customer_answer', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('customer_answered_at', shared.db.UTCDateTime(), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_column('customer_answered_at')
        batch_op.drop_column('customer_answer')


