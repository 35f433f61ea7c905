"""tracking_events.attempt_no: each counted failed attempt's number toward the limit

Revision ID: c4d2e8a91f37
Revises: 0445a79e2656
Create Date: 2026-11-28 09:00:00.000000

The items awaiting a return (``GET /api/v1/returns-due``) wait since the attempt that
used up the limit; which failed attempts count is a rule over the whole history
(:func:`models.lifecycle.counted_attempts`: late ones once per round, a copy not at
all), so the list read every candidate's events and paged in Python. Each counted
attempt now carries its number, given as it is stored (api/items/service.py), and the
database finds the n-th attempt itself.

Backfill: the rule, run over the stored history of every item with a failed attempt
(EMH). It judges each event on the events stored before it, so the numbers are those
the events would have been given when they came.
"""
from itertools import groupby

from alembic import op
import sqlalchemy as sa

import models.base
from models.lifecycle import EventCode, counted_attempts


# revision identifiers, used by Alembic.
revision = 'c4d2e8a91f37'
down_revision = '0445a79e2656'
branch_labels = None
depends_on = None

events = sa.table('tracking_events', sa.column('id', sa.Integer),
                  sa.column('item_id', sa.Integer), sa.column('code', sa.String),
                  sa.column('device_time', models.base.UTCDateTime(timezone=True)),
                  sa.column('applied', sa.Boolean), sa.column('attempt_no', sa.Integer))


def upgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attempt_no', sa.Integer(), nullable=True))

    conn = op.get_bind()
    with_attempts = sa.select(events.c.item_id).where(events.c.code == 'EMH')
    # streamed (a server-side cursor on PostgreSQL): only the numbers are kept
    rows = conn.execute(
        sa.select(events.c.item_id, events.c.id, events.c.code, events.c.device_time,
                  events.c.applied)
        .where(events.c.item_id.in_(with_attempts))
        .order_by(events.c.item_id, events.c.id).execution_options(yield_per=10_000))
    numbers = []
    for _, history in groupby(rows, key=lambda r: r.item_id):
        history = list(history)
        counted = counted_attempts((EventCode(r.code), r.device_time, bool(r.applied))
                                   for r in history)
        n = 0
        for r, counts in zip(history, counted):
            if counts:
                n += 1
                numbers.append({'event_id': r.id, 'n': n})
    rows.close()
    update = (events.update().where(events.c.id == sa.bindparam('event_id'))
              .values(attempt_no=sa.bindparam('n')))
    for start in range(0, len(numbers), 5000):
        conn.execute(update, numbers[start:start + 5000])


def downgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_column('attempt_no')
