"""items.awaiting: a parcel waiting for its recipient or its return, not another round

Revision ID: c6a2f19e4b70
Revises: b4d1e7a9c352
Create Date: 2026-11-28 17:30:00.000000

A failed attempt whose recipient will collect the parcel at the office, or whose courier
held it there or chose to return it to the sender, scheduled the next day's attempt all
the same: the next route plan sent a courier to a door nobody would open. The column
says what the parcel waits for instead (``collection`` or ``return``); route plans leave
it out, and the returns due list the parcels waiting for their return.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c6a2f19e4b70'
down_revision = 'b4d1e7a9c352'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('awaiting', sa.Enum(
            'collection', 'return', name='awaiting', native_enum=False, length=16),
            nullable=True))


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('awaiting')
