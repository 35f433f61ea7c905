"""tracking_events.clock_skew_s: the phone's clock skew measured with each event

Revision ID: 7a3c5e9f1b26
Revises: 8bb0a67653f0
Create Date: 2026-11-27 10:00:00.000000

The skew was only kept per sync upload (``sync_uploads.clock_skew_s``); an event from
``POST /items/{id}/events`` or a scan may now send ``sent_at`` too, and has no upload.
Events that came in an upload get its skew.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7a3c5e9f1b26'
down_revision = '8bb0a67653f0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clock_skew_s', sa.Double(), nullable=True))
    op.execute("UPDATE tracking_events SET clock_skew_s = (SELECT sync_uploads.clock_skew_s "
               "FROM sync_uploads WHERE sync_uploads.id = tracking_events.sync_upload_id) "
               "WHERE sync_upload_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_column('clock_skew_s')
