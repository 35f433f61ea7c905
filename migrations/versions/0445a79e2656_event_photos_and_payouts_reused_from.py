"""event photos and payouts: reused_from (proof_reused), payout flags and clock skew, file indexes

``tracking_events.photo_reused_from``: for an event flagged ``proof_reused`` for its own
photo (a failed attempt's door photo), the earlier uses of the same file it was not part
of (api/proof/reuse.py). ``payout_tasks.flags`` and ``clock_skew_s``: a payment keeps
its review flags (the time flags, and ``proof_reused`` with ``reused_from``) and the
clock skew it came with, as an event does; they give its shift day. The indexes serve
the look-up of a file's other uses, made by every delivery, event with a photo and
payment that cites one.

Existing rows: events and payments recorded before keep these empty and are not judged
again (a flag says what was known when it came); payments paid before have no flags, so
their shift day, when a later use is compared with them, is their device time's.

Revision ID: 0445a79e2656
Revises: 7a3c5e9f1b26
Create Date: 2026-11-26 23:58:15.469426

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0445a79e2656'
down_revision = '7a3c5e9f1b26'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('payout_tasks', schema=None) as batch_op:
        batch_op.add_column(sa.Column('flags', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('reused_from', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('clock_skew_s', sa.Double(), nullable=True))
        batch_op.create_index(batch_op.f('ix_payout_tasks_photo_sha256'), ['photo_sha256'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_payout_tasks_signature_sha256'),
                              ['signature_sha256'], unique=False)

    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('photo_reused_from', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_tracking_events_photo_sha256'), ['photo_sha256'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_tracking_events_photo_sha256'))
        batch_op.drop_column('photo_reused_from')

    with op.batch_alter_table('payout_tasks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payout_tasks_signature_sha256'))
        batch_op.drop_index(batch_op.f('ix_payout_tasks_photo_sha256'))
        batch_op.drop_column('clock_skew_s')
        batch_op.drop_column('reused_from')
        batch_op.drop_column('flags')
