"""tracking_events.actor_role; outcome reviews by the system (the one-time code)

Revision ID: f3a9d1c7e254
Revises: a4f7c2e9d315
Create Date: 2026-11-29 03:40:00.000000

Whether an outcome is a courier's report (to check) or the office's own (confirmed as
recorded) was judged by its actor's role now: a courier made a dispatcher turned every
outcome they had reported into the office's own. Each event now keeps its actor's role
when it was recorded; the events stored before take their actor's role at the upgrade
(the best there is: a role changed before it is not known).

A delivery whose proof passed the server's check of the item's one-time delivery code
is confirmed as it arrives, by the system: a review without an actor, its ``basis``
``delivery_code``. Deliveries stored before are left as they are (reported until
checked).
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'f3a9d1c7e254'
down_revision = 'a4f7c2e9d315'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('actor_role', sa.Enum(
            'courier', 'dispatcher', 'admin', name='role', native_enum=False, length=20),
            nullable=True))
    op.execute("UPDATE tracking_events SET actor_role = (SELECT users.role FROM users "
               "WHERE users.id = tracking_events.actor_id) WHERE actor_id IS NOT NULL")
    with op.batch_alter_table('outcome_reviews', schema=None) as batch_op:
        batch_op.add_column(sa.Column('basis', sa.String(length=16), nullable=True))
        batch_op.alter_column('actor_id', existing_type=sa.Integer(), nullable=True)
        batch_op.create_check_constraint('has_author',
                                         'actor_id IS NOT NULL OR basis IS NOT NULL')


def downgrade():
    # a review by the system has no actor to keep: gone with the column that says so
    op.execute("DELETE FROM outcome_reviews WHERE actor_id IS NULL")
    with op.batch_alter_table('outcome_reviews', schema=None) as batch_op:
        batch_op.drop_constraint('has_author', type_='check')
        batch_op.alter_column('actor_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('basis')
    with op.batch_alter_table('tracking_events', schema=None) as batch_op:
        batch_op.drop_column('actor_role')
