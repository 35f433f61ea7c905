"""scans.photo_error: a scan kept from the phone's codes when its photo cannot be read

Revision ID: b4d1e7a9c352
Revises: d81f4b2c6a90
Create Date: 2026-11-28 14:30:00.000000

A scan sent with the codes the phone decoded and a photo the server could not read (a
truncated JPEG, a HEIC, a decompression bomb) was refused whole (4xx), so the phone's
delivery or pick-up scan was lost with it. It is now recorded from the codes; the
column says why the photo is not kept.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'b4d1e7a9c352'
down_revision = 'd81f4b2c6a90'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_error', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('scans', schema=None) as batch_op:
        batch_op.drop_column('photo_error')
