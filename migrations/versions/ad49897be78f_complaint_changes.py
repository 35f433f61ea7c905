"""complaint_changes: each change of a complaint's status or resolution note, kept

Revision ID: ad49897be78f
Revises: a4c9e1f7d352
Create Date: 2026-11-29 10:00:00.000000

A complaint reopened and resolved again had its resolution note replaced: what was said
before was lost. Each change (resolved, rejected, reopened, a note added) is now a row,
only ever inserted.

Backfill: every complaint with a resolution note gets one entry holding that note and
its status, marked ``backfill``, at the complaint's last change (``updated_at``), by
nobody (``actor_id`` NULL) and from no known status (``status_before`` NULL): the last
one to change the complaint need not have written the note (a reopened complaint keeps
the note of the resolution it reopened), so the entry claims only that the complaint had
that note and status then. Complaints without a note get no entry.
"""
import sqlalchemy as sa
from alembic import op

import models.base

# revision identifiers, used by Alembic.
revision = 'ad49897be78f'
down_revision = 'a4c9e1f7d352'
branch_labels = None
depends_on = None

STATUSES = ('open', 'investigating', 'resolved', 'rejected')


def upgrade():
    op.create_table(
        'complaint_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('complaint_id', sa.Integer(), nullable=False),
        sa.Column('created_at', models.base.UTCDateTime(timezone=True), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('status_before', sa.Enum(*STATUSES, name='complaintstatus',
                                           native_enum=False, length=16), nullable=True),
        sa.Column('status', sa.Enum(*STATUSES, name='complaintstatus', native_enum=False,
                                    length=16), nullable=False),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('backfill', sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'],
                                name=op.f('fk_complaint_changes_actor_id_users')),
        sa.ForeignKeyConstraint(['complaint_id'], ['complaints.id'],
                                name=op.f('fk_complaint_changes_complaint_id_complaints')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_complaint_changes')),
    )
    with op.batch_alter_table('complaint_changes', schema=None) as batch_op:
        batch_op.create_index('ix_complaint_changes_complaint', ['complaint_id', 'id'],
                              unique=False)

    # in the complaints' order, so the entries' ids follow them
    op.execute(
        "INSERT INTO complaint_changes (complaint_id, created_at, status, note, backfill) "
        "SELECT id, updated_at, status, resolution_note, true FROM complaints "
        "WHERE resolution_note IS NOT NULL AND resolution_note <> '' ORDER BY id")


def downgrade():
    with op.batch_alter_table('complaint_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_complaint_changes_complaint')
    op.drop_table('complaint_changes')
