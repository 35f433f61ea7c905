"""outcome_reviews: the office's confirmation of what couriers report

Revision ID: a4c9e1f7d352
Revises: e8f4b6d2a931
Create Date: 2026-11-29 01:10:00.000000

A delivery or failed attempt recorded from a courier's phone was indistinguishable from
one the office had checked. Office staff now confirm or dispute each (rows only
inserted: the latest is the state). Outcomes recorded before are shown as reported by
their courier, or confirmed when office staff recorded them, as new ones are.
"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'a4c9e1f7d352'
down_revision = 'e8f4b6d2a931'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'outcome_reviews',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('state', sa.Enum('confirmed', 'disputed', name='reviewstate',
                                   native_enum=False, length=16), nullable=False),
        sa.Column('note', sa.String(length=500), nullable=True),
        sa.Column('actor_id', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ),
        sa.ForeignKeyConstraint(['event_id'], ['tracking_events.id'], ),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('outcome_reviews', schema=None) as batch_op:
        batch_op.create_index('ix_outcome_reviews_event', ['event_id', 'id'], unique=False)
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.create_index('ix_tracking_events_office_server_time',
                              ['office_id', 'server_time'], unique=False)


def downgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_index('ix_tracking_events_office_server_time')
    with op.batch_alter_table('outcome_reviews', schema=None) as batch_op:
        batch_op.drop_index('ix_outcome_reviews_event')
    op.drop_table('outcome_reviews')
