"""tracking_events (office_id, device_time) index: an office's events of a period

Revision ID: d81f4b2c6a90
Revises: a7c3f0e2d915
Create Date: 2026-11-27 08:00:00.000000

The quality report (``GET /api/v1/quality``, the console's quality page) reads an
office's deliveries and failed attempts of a few days by their device time. Without an
index it scanned every event ever recorded, so the report slowed down as the table grew
(docs/benchmarks.md, "Quality report").
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'd81f4b2c6a90'
down_revision = 'a7c3f0e2d915'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.create_index('ix_tracking_events_office_time', ['office_id', 'device_time'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_index('ix_tracking_events_office_time')
