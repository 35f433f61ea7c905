"""items.pieces, delivery_proofs.pieces_delivered and partial_reason: partial delivery

Revision ID: b7d2f4a9c610
Revises: ad49897be78f
Create Date: 2026-11-29 09:00:00.000000

An item was one unit: a delivery handed over everything and collected the whole COD. A
shipment under one number may be several pieces (boxes), and a recipient may accept
only part of them: the delivery's proof now says how many were handed over and why not
the rest (the item is then ``partially_delivered``, the rest awaiting its return). Every
item stored so far is one piece, every delivery stored a delivery of all of it.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'b7d2f4a9c610'
down_revision = 'ad49897be78f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pieces', sa.Integer(), server_default='1',
                                      nullable=False))
        batch_op.create_check_constraint('pieces_range', 'pieces >= 1 AND pieces <= 99')
    with op.batch_alter_table('delivery_proofs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pieces_delivered', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('partial_reason', sa.Enum(
            'refused_part', 'damaged_part', 'missing_part', 'other', name='partialreason',
            native_enum=False, length=16), nullable=True))


def downgrade():
    # the code before knows no partial delivery: an item partially_delivered would fail
    # to load (no such status), and the pieces and what each delivery handed over would
    # be lost without a word
    bind = op.get_bind()
    partial = bind.execute(sa.text(
        "SELECT identifier FROM items WHERE status = 'partially_delivered' OR pieces <> 1 "
        "OR id IN (SELECT e.item_id FROM tracking_events e JOIN delivery_proofs p "
        "ON p.event_id = e.id WHERE p.pieces_delivered IS NOT NULL "
        "OR p.partial_reason IS NOT NULL) ORDER BY identifier")).scalars().all()
    if partial:
        raise RuntimeError(
            f"{len(partial)} item(s) have several pieces or a partial delivery: "
            f"{', '.join(partial[:20])}{' ...' if len(partial) > 20 else ''}. The "
            "revision before has neither (an item partially_delivered would not even "
            "load): downgrading would lose them. Nothing was changed.")
    with op.batch_alter_table('delivery_proofs', schema=None) as batch_op:
        batch_op.drop_column('partial_reason')
        batch_op.drop_column('pieces_delivered')
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_constraint('pieces_range', type_='check')
        batch_op.drop_column('pieces')
