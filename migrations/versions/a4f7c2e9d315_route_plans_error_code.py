"""route_plans.error_code: why a plan failed, as a stable code

Revision ID: a4f7c2e9d315
Revises: d4a7c2e91b05
Create Date: 2026-11-29 03:45:00.000000

A failed plan's ``error`` is English; the console said it in English on a Vietnamese
page. The code beside it (api/route_plans/service.py, ``PLAN_ERRORS``) lets the
console say it in the page's language. Plans failed earlier keep none.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4f7c2e9d315'
down_revision = 'd4a7c2e91b05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('route_plans', schema=None) as batch_op:
        batch_op.add_column(sa.Column('error_code', sa.String(length=40), nullable=True))


def downgrade():
    with op.batch_alter_table('route_plans', schema=None) as batch_op:
        batch_op.drop_column('error_code')
