"""recipient_requests: a recipient's request to collect later or to be delivered after all

Revision ID: e8f4b6d2a931
Revises: d7e3a5c1f820
Create Date: 2026-11-28 20:10:00.000000

A recipient who called the office after a failed attempt could be helped only by hand:
a parcel awaiting collection could not be held longer than the day on the notice, nor
put back on a delivery round (route plans refuse it). Office staff now record the
request; each row keeps what the item waited for before it.
"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'e8f4b6d2a931'
down_revision = 'd7e3a5c1f820'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'recipient_requests',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.Enum('hold', 'deliver', name='requestkind', native_enum=False,
                                  length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('awaiting_before', sa.Enum('collection', 'return', name='awaiting',
                                             native_enum=False, length=16), nullable=True),
        sa.Column('collect_by_before', sa.Date(), nullable=True),
        sa.Column('next_attempt_before', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['item_id'], ['items.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('recipient_requests', schema=None) as batch_op:
        batch_op.create_index('ix_recipient_requests_item', ['item_id', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('recipient_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_recipient_requests_item')
    op.drop_table('recipient_requests')
