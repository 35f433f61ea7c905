from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import CashKind

from ..items.schemas import Day, Id, Int, Text
from .service import PARTIAL_COD_FLAGS

MAX_VND = 10**10


class CashEntrySchema(Schema):
    id = fields.Integer()
    office_id = fields.Integer(metadata={"description": "The office the cash is owed to "
                                         "(a COD's: its item's office)"})
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


class OfficeTotalsSchema(TotalsSchema):
    office_id = fields.Integer()


class CodToReviewSchema(Schema):
    event_id = fields.Integer()
    identifier = fields.String()
    flag = fields.String(metadata={"enum": list(PARTIAL_COD_FLAGS)})
    reason = fields.String()
    pieces = fields.Integer()
    pieces_delivered = fields.Integer()
    cod_amount = fields.Integer()
    cod_collected = fields.Integer()
    entry_id = fields.Integer(allow_none=True, metadata={
        "description": "The COD entry booked (null: nothing collected, nothing booked)"})
    office_id = fields.Integer()


class LedgerSchema(Schema):
    courier_id = fields.Integer()
    username = fields.String()
    date = fields.String()
    office_id = fields.Integer(allow_none=True, metadata={
        "description": "The office whose cash is shown (a dispatcher's own, or the one "
                       "asked for); null: every office's"})
    entries = fields.List(fields.Nested(CashEntrySchema))
    totals = fields.Nested(TotalsSchema)
    by_office = fields.List(fields.Nested(OfficeTotalsSchema), metadata={
        "description": "The totals per office the cash is owed to (a courier moved to "
                       "another office during the day hands in at each)"})
    cod_to_review = fields.List(fields.Nested(CodToReviewSchema), metadata={
        "description": "Partial deliveries whose COD collected does not follow the "
                       "pieces (nothing for pieces handed over, or all of it for part "
                       "of them): flagged for the office to check"})


class LedgerQuerySchema(Schema):
    date = Day(required=True)
    office_id = Id()


class HandoverSchema(Schema):
    courier_id = Id(required=True)
    office_id = Id(metadata={"description": "The office counting the cash owed to it "
                             "(a dispatcher's own; an admin's default: the courier's "
                             "office, required when they hold another office's cash "
                             "that day)"})
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
