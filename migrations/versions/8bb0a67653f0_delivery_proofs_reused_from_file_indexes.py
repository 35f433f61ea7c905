"""delivery proofs: reused_from (proof_reused), indexes on their files

``reused_from``: for a delivery flagged ``proof_reused``, the delivery of another
recipient that cited the same photo or signature first (api/proof/reuse.py). The
indexes serve that look-up, made by every delivery that cites a file.

Existing rows: deliveries recorded before keep ``reused_from`` empty and their flags
as they were; they are not judged again (a flag says what was known when the event
came, as every review flag).

Revision ID: 8bb0a67653f0
Revises: 5e8a1f3c7d20
Create Date: 2026-11-26 22:16:28.243293

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8bb0a67653f0'
down_revision = '5e8a1f3c7d20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('delivery_proofs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reused_from', sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f('ix_delivery_proofs_photo_sha256'), ['photo_sha256'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_delivery_proofs_signature_sha256'),
                              ['signature_sha256'], unique=False)


def downgrade():
    with op.batch_alter_table('delivery_proofs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_delivery_proofs_signature_sha256'))
        batch_op.drop_index(batch_op.f('ix_delivery_proofs_photo_sha256'))
        batch_op.drop_column('reused_from')
