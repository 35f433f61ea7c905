"""items (office_id, id): the complaints queue's items of an office, from the index alone

Revision ID: d4a7c2e91b05
Revises: c1c9ab118bee
Create Date: 2026-11-29 04:10:00.000000

A dispatcher's complaints queue holds the complaints opened elsewhere about an item their
office holds now (a transfer): the office's items are found by this index without reading
the items table (``ix_items_office_status`` gives no id: every item of the office was read
from the table). See api/complaints/service.py, ``_office_ids``.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = 'd4a7c2e91b05'
down_revision = 'c1c9ab118bee'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_items_office_id', 'items', ['office_id', 'id'])


def downgrade():
    op.drop_index('ix_items_office_id', table_name='items')
