from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import CashKind

from ..items.schemas import Day, Id, Int, Text

MAX_VND = 10**10


class CashEntrySchema(Schema):
    id = fields.Integer()
    kind = fields.Enum(CashKind, by_value=True)
    amount = fields.Integer(metadata={"description": "VND; positive: cash the courier "
                                      "took in"})
    item_id = fields.Integer(allow_none=True)
    event_id = fields.Integer(allow_none=True)
    corrects_id = fields.Integer(allow_none=True)
    expected_on_hand = fields.Integer(allow_none=True)
    note = fields.String(allow_none=True)
    created_by_id = fields.Integer()
    created_at = fields.AwareDateTime()


class TotalsSchema(Schema):
    cod_collected = fields.Integer()
    advances = fields.Integer(metadata={"description": "Cash given by the office for "
                                        "payouts"})
    paid_out = fields.Integer()
    handed_in = fields.Integer()
    corrections = fields.Integer()
    on_hand = fields.Integer(metadata={"description": "What the courier should still hold"})
    discrepancy = fields.Integer(metadata={"description": "Counted minus expected, at "
                                           "the day's last hand-in (negative: cash "
                                           "missing); an office's: the sum of its "
                                           "couriers'"})


class LedgerSchema(Schema):
    courier_id = fields.Integer()
    username = fields.String()
    date = fields.String()
    entries = fields.List(fields.Nested(CashEntrySchema))
    totals = fields.Nested(TotalsSchema)


class LedgerQuerySchema(Schema):
    date = Day(required=True)


class HandoverSchema(Schema):
    courier_id = Id(required=True)
    date = Day(required=True)
    counted_amount = Int(required=True, validate=validate.Range(0, MAX_VND))
    note = Text(500, allow_none=True, multiline=True)
    reference = Text(64, min_len=8, metadata={"description": "Idempotency key (the receipt "
                                                "number)"})


class CorrectionSchema(Schema):
    entry_id = Id(required=True)
    amount = Int(required=True, validate=validate.Range(-MAX_VND, MAX_VND))
    reason = Text(500, min_len=3, required=True)
    reference = Text(64, min_len=8, metadata={"description": "Idempotency key: the same "
                                                "correction sent again is recorded once"})


class ReportQuerySchema(Schema):
    date = Day(required=True)
    office_id = Id()
