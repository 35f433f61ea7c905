from __future__ import annotations

from marshmallow import Schema, fields, validate

from models import StatementStatus

from ..items.schemas import Day, Id, Int, Text, valid_phone


class StatementCreateSchema(Schema):
    sender_phone = Text(20, required=True, validate=valid_phone, metadata={
        "description": "The sender's phone as on their items: the sender is its last 9 "
                       "digits (0905 123 456 and +84 905 123 456 are one sender)"})
    date_from = Day(required=True, metadata={"description": "First delivery (shift) day, "
                                             "Viet Nam time"})
    date_to = Day(required=True, metadata={"description": "Last delivery (shift) day"})
    office_id = Id(metadata={"description": "An admin's: the office (a dispatcher's own)"})


class StatementLineSchema(Schema):
    item_id = fields.Integer()
    identifier = fields.String()
    delivered_at = fields.AwareDateTime()
    delivered_on = fields.Date(metadata={"description": "The delivery's shift day"})
    cod_amount = fields.Integer(metadata={"description": "VND the item was to collect"})
    cod_collected = fields.Integer(metadata={
        "description": "VND collected (a partial delivery's part; corrections included)"})
    pieces = fields.Integer()
    pieces_delivered = fields.Integer(allow_none=True, metadata={
        "description": "A partial delivery's pieces handed over (null: every piece)"})


class WaitingSchema(Schema):
    identifier = fields.String()
    delivered_on = fields.String()
    courier_id = fields.Integer()
    cod_collected = fields.Integer()


class StatementSchema(Schema):
    id = fields.Integer()
    office_id = fields.Integer()
    sender_key = fields.String(metadata={"description": "The sender: their phone's last 9 "
                                         "digits"})
    sender_phone = fields.String()
    sender_name = fields.String()
    date_from = fields.Date()
    date_to = fields.Date()
    status = fields.Enum(StatementStatus, by_value=True)
    total = fields.Integer(metadata={"description": "VND owed to the sender"})
    line_count = fields.Integer()
    created_by_id = fields.Integer()
    created_at = fields.AwareDateTime()
    paid_reference = fields.String(allow_none=True)
    paid_at = fields.AwareDateTime(allow_none=True)
    paid_recorded_at = fields.AwareDateTime(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)


class StatementDetailSchema(StatementSchema):
    lines = fields.List(fields.Nested(StatementLineSchema))


class StatementDrawnSchema(StatementDetailSchema):
    not_handed_in = fields.List(fields.Nested(WaitingSchema), metadata={
        "description": "The sender's COD of the period not on the statement because its "
                       "courier has not handed that day's cash in since: on a later one"})
    disputed = fields.List(fields.Nested(WaitingSchema), metadata={
        "description": "The sender's COD of the period held back because the office "
                       "disputes the delivery (api/outcomes): on a later statement once "
                       "the dispute is settled"})


class StatementQuerySchema(Schema):
    office_id = Id()
    sender_phone = Text(20, validate=valid_phone)
    status = fields.List(fields.Enum(StatementStatus, by_value=True))
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=100, validate=validate.Range(1, 1000))


class PaySchema(Schema):
    reference = Text(64, min_len=3, required=True, metadata={
        "description": "The payment's reference (the bank transfer's): the same one "
                       "again changes nothing"})
    paid_at = fields.AwareDateTime(required=True, metadata={
        "description": "When the sender was paid"})


class PendingQuerySchema(Schema):
    office_id = Id()
    date_to = Day(metadata={"description": "Up to this shift day (default: today)"})


class PendingSenderSchema(Schema):
    sender_key = fields.String(allow_none=True, metadata={
        "description": "null: items with no sender phone of 9 digits"})
    sender_name = fields.String()
    sender_phone = fields.String(allow_none=True)
    count = fields.Integer(metadata={"description": "Items whose COD is handed in"})
    amount = fields.Integer(metadata={"description": "VND handed in, owed to the sender"})
    not_handed_in_count = fields.Integer()
    not_handed_in_amount = fields.Integer()
    disputed_count = fields.Integer(metadata={"description": "Items whose delivery the "
                                              "office disputes: held back"})
    disputed_amount = fields.Integer()
    first_day = fields.String(metadata={"description": "The oldest delivery day"})
