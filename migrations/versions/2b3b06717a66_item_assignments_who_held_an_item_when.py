"""item assignments: who held an item when (one row per period an item was assigned to
a courier)

Backfill: every item that has a courier gets an open period for that courier, started
by nobody (``started_by_id`` NULL), ``started_how`` = 'backfill', from the item's
``updated_at``. Every write of an item's courier also set ``updated_at``, and nothing
changes the courier without it, so the courier was assigned no later than that time and
has held the item ever since: the period claims nothing that is not so. Before it the
history is unknown, and an offline event from before it is not accepted on the strength
of it (docs/api.md, "Offline sync rules"). Items without a courier get no row.

Revision ID: 2b3b06717a66
Revises: 8c41d5e0f7b2
Create Date: 2026-11-26 17:48:13.582671

"""
from alembic import op
import sqlalchemy as sa

import models.base


# revision identifiers, used by Alembic.
revision = '2b3b06717a66'
down_revision = '8c41d5e0f7b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('item_assignments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('courier_id', sa.Integer(), nullable=False),
    sa.Column('started_at', models.base.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('started_how', sa.Enum('manual', 'route_plan', 'backfill', name='assignmenthow', native_enum=False, length=16), nullable=False),
    sa.Column('started_plan_id', sa.Integer(), nullable=True),
    sa.Column('ended_at', models.base.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_by_id', sa.Integer(), nullable=True),
    sa.Column('ended_how', sa.Enum('manual', 'route_plan', 'backfill', name='assignmenthow', native_enum=False, length=16), nullable=True),
    sa.Column('ended_plan_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['courier_id'], ['users.id'], name=op.f('fk_item_assignments_courier_id_users')),
    sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'], name=op.f('fk_item_assignments_ended_by_id_users')),
    sa.ForeignKeyConstraint(['ended_plan_id'], ['route_plans.id'], name=op.f('fk_item_assignments_ended_plan_id_route_plans')),
    sa.ForeignKeyConstraint(['item_id'], ['items.id'], name=op.f('fk_item_assignments_item_id_items')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_item_assignments_started_by_id_users')),
    sa.ForeignKeyConstraint(['started_plan_id'], ['route_plans.id'], name=op.f('fk_item_assignments_started_plan_id_route_plans')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_assignments'))
    )
    with op.batch_alter_table('item_assignments', schema=None) as batch_op:
        batch_op.create_index('ix_item_assignments_courier_item', ['courier_id', 'item_id'], unique=False)
        batch_op.create_index('ix_item_assignments_item_started', ['item_id', 'started_at'], unique=False)
        batch_op.create_index('uq_item_assignments_open', ['item_id'], unique=True, sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))

    op.execute(
        "INSERT INTO item_assignments (item_id, courier_id, started_at, started_how) "
        "SELECT id, courier_id, updated_at, 'backfill' FROM items "
        "WHERE courier_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('item_assignments', schema=None) as batch_op:
        batch_op.drop_index('uq_item_assignments_open', sqlite_where=sa.text('ended_at IS NULL'), postgresql_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index('ix_item_assignments_item_started')
        batch_op.drop_index('ix_item_assignments_courier_item')

    op.drop_table('item_assignments')
