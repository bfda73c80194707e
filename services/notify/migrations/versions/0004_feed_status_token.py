"""the customer's status page token on the feed entry, for links in their mails

Revision ID: 0004
Revises: 0003
"""

from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feed_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status_token', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feed_entries', schema=None) as batch_op:
        batch_op.drop_column('status_token')
