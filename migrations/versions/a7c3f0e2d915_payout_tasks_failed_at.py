"""payout_tasks.failed_at: when the last failure of a payout was reported

Revision ID: a7c3f0e2d915
Revises: c4d2e8a91f37
Create Date: 2026-11-27 02:05:00.000000

The console's payouts page shows when a payout was paid or failed; a failure had only
its note. Payouts failed before this column existed keep it null (no time was kept).
"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = 'a7c3f0e2d915'
down_revision = 'c4d2e8a91f37'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payout_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('failed_at', models.base.UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('payout_tasks', schema=None) as batch_op:
        batch_op.drop_column('failed_at')
