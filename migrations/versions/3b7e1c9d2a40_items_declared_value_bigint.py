"""items.declared_value as a 64-bit integer (the API allows up to 10^11 VND)

Revision ID: 3b7e1c9d2a40
Revises: fce026b5f25e
Create Date: 2026-11-26 14:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3b7e1c9d2a40'
down_revision = 'fce026b5f25e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.alter_column('declared_value', existing_type=sa.Integer(),
                              type_=sa.BigInteger(), existing_nullable=False)


def downgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.alter_column('declared_value', existing_type=sa.BigInteger(),
                              type_=sa.Integer(), existing_nullable=False)
