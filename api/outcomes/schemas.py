from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models import PartialReason, ReviewState

from ..items.schemas import ActorSchema, Day, Id, Int, Text
from .service import BACKLOG_DAYS, BACKLOG_MAX_DAYS, STATES

MAX_EVENT_IDS = 2000


class ReviewSchema(Schema):
    state = fields.String()
    basis = fields.String(metadata={
        "enum": ["reviewed", "delivery_code"],
        "description": "reviewed (by office staff, `by`), delivery_code (confirmed by the "
                       "system as the delivery arrived: its proof passed the server's check "
                       "of the item's one-time delivery code; `by` null)"})
    by = fields.Nested(ActorSchema, allow_none=True)
    at = fields.AwareDateTime(allow_none=True)
    note = fields.String(allow_none=True)


class ConfirmationSchema(Schema):
    state = fields.String(metadata={"description": "reported (by a courier, not yet "
                                    "checked), confirmed or disputed", "enum": list(STATES)})
    basis = fields.String(allow_none=True, metadata={
        "enum": ["reviewed", "delivery_code", "recorded_by_staff", None],
        "description": "reviewed (by office staff), delivery_code (confirmed by the system "
                       "on arrival: the one-time delivery code checked; `by` null), "
                       "recorded_by_staff (recorded by office staff themselves), null while "
                       "reported"})
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


class BacklogOutcomeSchema(OutcomeSchema):
    day = fields.String(metadata={"format": "date", "description": "Its shift day"})


class BacklogCourierSchema(Schema):
    courier_id = fields.Integer()
    username = fields.String()
    reported = fields.Integer(metadata={"description": "How many are still reported"})
    oldest_day = fields.String(metadata={"format": "date"})


class BacklogSchema(Schema):
    office_id = fields.Integer()
    before = fields.String(metadata={"format": "date"})
    since = fields.String(metadata={"format": "date"})
    courier_id = fields.Integer(allow_none=True)
    couriers = fields.List(fields.Nested(BacklogCourierSchema), metadata={
        "description": "Per courier with outcomes still reported, the oldest day first"})
    outcomes = fields.List(fields.Nested(BacklogOutcomeSchema), metadata={
        "description": "One page, oldest first (shift day, device time)"})
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class BacklogQuerySchema(Schema):
    before = Day(metadata={"description": "Outcomes of the days before this one (default "
                                          "today, Viet Nam time)"})
    since = Day(metadata={"description": f"From this day (default {BACKLOG_DAYS} days "
                                         f"before `before`; at most {BACKLOG_MAX_DAYS})"})
    office_id = Id()
    courier_id = Id()
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=50, validate=validate.Range(1, 200))


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
