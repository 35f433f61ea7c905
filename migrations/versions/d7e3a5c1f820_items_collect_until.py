"""items.collect_until: how long the office holds a parcel for its recipient

Revision ID: d7e3a5c1f820
Revises: c6a2f19e4b70
Create Date: 2026-11-28 20:00:00.000000

A parcel its recipient will collect at the office (``awaiting`` ``collection``) waited
without end: nothing said until when the office holds it, so nobody was told to return
it, and the public page gave the recipient no date. The column holds when the holding
ends (local midnight after the day on the notice); after it the parcel is in the returns
due.
"""
from datetime import UTC, datetime, timedelta, timezone

import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'd7e3a5c1f820'
down_revision = 'c6a2f19e4b70'
branch_labels = None
depends_on = None

LOCAL_TZ = timezone(timedelta(hours=7))  # api.localtime.LOCAL_TZ, as the upgrade found it
HOLD_DAYS = 7  # the setting's default (POSTAL_COLLECTION_HOLD_DAYS)


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('collect_until', models.base.UTCDateTime(timezone=True),
                                      nullable=True))
    # the parcels waiting for their recipient now: held from the day of the failed
    # attempt that made them wait (their last applied one), as a new attempt would be
    # (api.cash.service.field_shift_day: its device time, corrected by the clock skew
    # for a clock found off, the receipt for a time flagged implausible, a phone reset
    # to 2000 held it until 2000-01-09; and never after its receipt, when the phone's
    # clock ran ahead). Without it, they waited for ever: never in the returns due
    try:
        from flask import current_app

        hold = int(current_app.config.get('COLLECTION_HOLD_DAYS', HOLD_DAYS))
    except (ImportError, RuntimeError):  # alembic run outside the app
        hold = HOLD_DAYS
    items = sa.table('items', sa.column('id', sa.Integer), sa.column('awaiting', sa.String),
                     sa.column('collect_until', models.base.UTCDateTime(timezone=True)))
    events = sa.table('tracking_events', sa.column('id', sa.Integer),
                      sa.column('item_id', sa.Integer), sa.column('code', sa.String),
                      sa.column('applied', sa.Boolean),
                      sa.column('device_time', models.base.UTCDateTime(timezone=True)),
                      sa.column('server_time', models.base.UTCDateTime(timezone=True)),
                      sa.column('flags', sa.JSON), sa.column('clock_skew_s', sa.Float))
    conn = op.get_bind()
    last = (sa.select(events.c.item_id, sa.func.max(events.c.id).label('id'))
            .where(events.c.code == 'EMH', events.c.applied.is_(True))
            .group_by(events.c.item_id).subquery())
    rows = conn.execute(
        sa.select(items.c.id, events.c.device_time, events.c.server_time, events.c.flags,
                  events.c.clock_skew_s)
        .join(last, last.c.item_id == items.c.id).join(events, events.c.id == last.c.id)
        .where(items.c.awaiting == 'collection')).all()
    for item_id, device_time, server_time, flags, skew in rows:
        flags = flags or ()
        if 'implausible_device_time' in flags:
            when = server_time
        elif 'device_clock_off' in flags and skew is not None:
            when = min(device_time - timedelta(seconds=skew), server_time)
        else:
            when = min(device_time, server_time)
        day = when.astimezone(LOCAL_TZ).date() + timedelta(days=hold + 1)
        until = datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ).astimezone(UTC)
        conn.execute(items.update().where(items.c.id == item_id)
                     .values(collect_until=until))


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_column('collect_until')
