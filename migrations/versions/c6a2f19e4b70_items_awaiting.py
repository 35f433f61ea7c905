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
    # the parcels waiting now: their last round-changing event (applied, in the order
    # applied) is such a failed attempt. Without this, the first plan after the upgrade
    # routed them on the next day their attempt had set, and the returns due missed the
    # returns their couriers had chosen
    items = sa.table('items', sa.column('id', sa.Integer), sa.column('status', sa.String),
                     sa.column('awaiting', sa.String), sa.column('next_attempt_on', sa.Date))
    events = sa.table('tracking_events', sa.column('id', sa.Integer),
                      sa.column('item_id', sa.Integer), sa.column('code', sa.String),
                      sa.column('reason', sa.String), sa.column('action', sa.String),
                      sa.column('applied', sa.Boolean))
    last = (sa.select(sa.func.max(events.c.id))
            .where(events.c.item_id == items.c.id, events.c.applied.is_(True),
                   events.c.code.in_(['EMH', 'EDG', 'EDH', 'EMI', 'RTS']))
            .correlate(items).scalar_subquery())
    e = events.alias('e')
    what = (sa.select(sa.case((e.c.action == 'return_to_sender', 'return'),
                              else_='collection'))
            .where(e.c.id == last, e.c.code == 'EMH',
                   sa.or_(e.c.action.in_(['return_to_sender', 'hold_at_office']),
                          e.c.reason == 'will_collect_at_office'))
            .correlate(items).scalar_subquery())
    op.execute(items.update()
               .where(items.c.status.in_(['delivery_failed', 'held_at_office',
                                          'at_delivery_office']))
               .values(awaiting=what))
    op.execute(items.update().where(items.c.awaiting.is_not(None))
               .values(next_attempt_on=None))


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('awaiting')
