"""tracking_events.for_courier_id: an outcome office staff recorded for a courier

Revision ID: c3e8a1d5f904
Revises: b7d2f4a9c610
Create Date: 2026-11-29 01:45:00.000000

A delivery or failed attempt office staff record for a parcel in a courier's bag (the
courier phoned it in) is that courier's outcome, which the office still checks; it was
taken for one the office had checked itself. Earlier events keep none.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'c3e8a1d5f904'
down_revision = 'b7d2f4a9c610'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('for_courier_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_tracking_events_for_courier_id_users',
                                    'users', ['for_courier_id'], ['id'])


def downgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_tracking_events_for_courier_id_users',
                                 type_='foreignkey')
        batch_op.drop_column('for_courier_id')
