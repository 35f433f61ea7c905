"""users: couriers and dispatchers must have an office (a CHECK)

``role = 'admin' OR office_id IS NOT NULL``, named ``ck_users_staff_have_office``.

Existing rows: nothing here can tell which office a courier or dispatcher without one
works for, so the upgrade does not guess. If any exist it stops before changing
anything, naming them and saying how to fix them (give each its office, or make it an
admin); run it again after. Deactivating such an account is not enough: the rule is on
the row, active or not.

Revision ID: 5e8a1f3c7d20
Revises: 2b3b06717a66
Create Date: 2026-11-26 20:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e8a1f3c7d20'
down_revision = '2b3b06717a66'
branch_labels = None
depends_on = None


def upgrade():
    without = op.get_bind().execute(sa.text(
        "SELECT id, username, role FROM users WHERE role <> 'admin' AND office_id IS NULL "
        "ORDER BY id")).all()
    if without:
        names = ", ".join(f"{u.username} ({u.role}, id {u.id})" for u in without)
        raise RuntimeError(
            f"{len(without)} courier or dispatcher account(s) have no office: {names}. "
            "Couriers and dispatchers must belong to an office: set each one's office "
            "(UPDATE users SET office_id = <the office's id> WHERE id = ...) or make it an "
            "admin, then run the upgrade again. Nothing was changed.")
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_check_constraint(
            'staff_have_office', "role = 'admin' OR office_id IS NOT NULL")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint('staff_have_office', type_='check')
