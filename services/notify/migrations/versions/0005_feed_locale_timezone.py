"""the customer's language and timezone on the feed entry (for their mails), and the ticket a
follow-up answers with the answer (for the feed)

Revision ID: 0005
Revises: 0004
"""

from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('feed_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('locale', sa.String(length=35), nullable=True))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('in_reply_to', sa.String(length=36), nullable=True))
        batch_op.add_column(sa.Column('answer', sa.String(length=20), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('feed_entries', schema=None) as batch_op:
        batch_op.drop_column('answer')
        batch_op.drop_column('in_reply_to')
        batch_op.drop_column('timezone')
        batch_op.drop_column('locale')
