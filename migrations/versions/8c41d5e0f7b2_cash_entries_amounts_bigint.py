"""cash_entries.amount and expected_on_hand as 64-bit integers (the API allows
hand-ins and corrections up to 10^10 VND)

Revision ID: 8c41d5e0f7b2
Revises: 3b7e1c9d2a40
Create Date: 2026-11-26 14:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c41d5e0f7b2'
down_revision = '3b7e1c9d2a40'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cash_entries', schema=None) as batch_op:
        batch_op.alter_column('amount', existing_type=sa.Integer(),
                              type_=sa.BigInteger(), existing_nullable=False)
        batch_op.alter_column('expected_on_hand', existing_type=sa.Integer(),
                              type_=sa.BigInteger(), existing_nullable=True)


def downgrade():
    with op.batch_alter_table('cash_entries', schema=None) as batch_op:
        batch_op.alter_column('expected_on_hand', existing_type=sa.BigInteger(),
                              type_=sa.Integer(), existing_nullable=True)
        batch_op.alter_column('amount', existing_type=sa.BigInteger(),
                              type_=sa.Integer(), existing_nullable=False)
