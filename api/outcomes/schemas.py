from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models import PartialReason, ReviewState

from ..items.schemas import ActorSchema, Day, Id, Text
from .service import STATES

MAX_EVENT_IDS = 2000


class ReviewSchema(Schema):
    state = fields.String()
    by = fields.Nested(ActorSchema, allow_none=True)
    at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True)


class ConfirmationSchema(Schema):
    state = fields.String(metadata={"description": "reported (by a courier, not yet "
                                    "checked), confirmed or disputed", "enum": list(STATES)})
    basis = fields.String(allow_none=True, metadata={
        "description": "reviewed (by office staff), recorded_by_staff (recorded by office "
                       "staff themselves), null while reported"})
    by = fields.Nested(ActorSchema, allow_none=True)
    at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True)
    reviews = fields.List(fields.Nested(ReviewSchema), metadata={
        "description": "Every review, oldest first"})


class OutcomeSchema(Schema):
    event_id = fields.Integer()
    identifier = fields.String()
    code = fields.String(metadata={"enum": ["EMI", "EMH"]})
    device_time = fields.AwareDateTime()
    server_time = fields.AwareDateTime()
    courier = fields.Nested(ActorSchema, allow_none=True, metadata={
        "description": "Whose outcome it is: the courier who recorded it, or for whom "
                       "office staff recorded it (relayed from the field)"})
    recorded_by = fields.Nested(ActorSchema, allow_none=True)
    status_after = fields.String()
    reason = fields.String(allow_none=True)
    action = fields.String(allow_none=True)
    applied = fields.Boolean()
    attempt_no = fields.Integer(allow_none=True)
    flags = fields.List(fields.String())
    cod_collected = fields.Integer(allow_none=True)
    pieces = fields.Integer(metadata={"description": "The item's pieces"})
    pieces_delivered = fields.Integer(allow_none=True, metadata={
        "description": "A partial delivery: the pieces handed over (its `cod_collected` is "
                       "what was paid for them); null otherwise"})
    partial_reason = fields.String(allow_none=True, metadata={
        "enum": [*(r.value for r in PartialReason), None],
        "description": "A partial delivery: why not every piece was handed over"})
    cod_review = fields.String(allow_none=True, metadata={
        "description": "A partial delivery flagged partial_cod_zero (nothing collected "
                       "for the pieces handed over) or partial_cod_full (the whole COD for "
                       "part of them): why the office should check its COD; null otherwise"})
    confirmation = fields.Nested(ConfirmationSchema)


class CourierCountsSchema(Schema):
    courier_id = fields.Integer()
    username = fields.String()
    reported = fields.Integer()
    confirmed = fields.Integer()
    disputed = fields.Integer()


class DayOutcomesSchema(Schema):
    office_id = fields.Integer()
    date = fields.String()
    courier_id = fields.Integer(allow_none=True)
    couriers = fields.List(fields.Nested(CourierCountsSchema))
    outcomes = fields.List(fields.Nested(OutcomeSchema))


class MyDisputesSchema(Schema):
    courier_id = fields.Integer()
    since = fields.AwareDateTime(metadata={"description": "Disputes made since then are "
                                           "listed"})
    total = fields.Integer(metadata={"description": "How many outcomes are disputed (at "
                                     "most 200 are listed)"})
    outcomes = fields.List(fields.Nested(OutcomeSchema), metadata={
        "description": "Newest dispute first; `confirmation.note` says why"})


class ConfirmDayResultSchema(DayOutcomesSchema):
    confirmed_now = fields.Integer(metadata={"description": "How many outcomes this "
                                             "request confirmed (0 when sent again)"})


class DayQuerySchema(Schema):
    date = Day(required=True)
    office_id = Id()
    courier_id = Id()
    state = fields.String(validate=validate.OneOf(STATES))


class ConfirmDaySchema(Schema):
    date = Day(required=True)
    courier_id = Id(required=True)
    office_id = Id()
    event_ids = fields.List(Id(), validate=validate.Length(min=1, max=MAX_EVENT_IDS),
                            metadata={"description": "The outcomes to confirm (left out: "
                                      "every one still reported)"})
    note = Text(500, allow_none=True, multiline=True)


class ReviewCreateSchema(Schema):
    state = fields.Enum(ReviewState, by_value=True, required=True)
    note = Text(500, allow_none=True, multiline=True)

    @validates_schema
    def _why_disputed(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("state") is ReviewState.DISPUTED and not data.get("note"):
            raise ValidationError("A dispute says why.", field_name="note")
