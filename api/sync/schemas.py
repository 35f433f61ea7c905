from __future__ import annotations

from marshmallow import Schema, fields, validate

from ..items.schemas import (
    CLIENT_EVENT_ID,
    Day,
    DeviceTime,
    EventCreateSchema,
    Id,
    LocationSchema,
    SentAt,
)
from ..payouts.schemas import PayoutPaySchema

MAX_BATCH = 500


class SyncRequestSchema(Schema):
    device_id = fields.String(validate=validate.Length(max=100), allow_none=True)
    sent_at = SentAt(metadata={"description": "The device's clock when it sent this upload: "
                               "gives the clock skew"})
    # each entry is checked on its own (api.sync.service): one that is no JSON object
    # (a null left by a phone's array with a hole, a string) is that entry's 422, not
    # the whole batch's
    events = fields.List(fields.Raw(allow_none=True, metadata={"type": "object"}),
                         required=True, validate=validate.Length(min=1, max=MAX_BATCH),
                         metadata={"description": f"Up to {MAX_BATCH} entries (JSON "
                                   "objects); each is checked on its own"})


class SyncEventSchema(EventCreateSchema):
    """A tracking event from the backlog: the item number travels with it."""

    kind = fields.String(required=True, validate=validate.Equal("event"))
    identifier = fields.String(required=True, validate=validate.Length(min=4, max=60))


class SyncPayoutSchema(PayoutPaySchema):
    """A payout made offline: the payout task id travels with it."""

    kind = fields.String(required=True, validate=validate.Equal("payout"))
    payout_id = Id(required=True)


class GpsPingSchema(Schema):
    kind = fields.String(required=True, validate=validate.Equal("gps"))
    client_event_id = fields.String(required=True, validate=validate.Regexp(CLIENT_EVENT_ID))
    device_time = DeviceTime(required=True)
    location = fields.Nested(LocationSchema, required=True)


class SyncResultSchema(Schema):
    index = fields.Integer()
    client_event_id = fields.String(allow_none=True)
    kind = fields.String(allow_none=True)
    result = fields.String(metadata={"description": "accepted, duplicate, downsampled "
                                     "(GPS) or rejected"})
    event_id = fields.Integer(allow_none=True)
    item_status = fields.String(allow_none=True)
    receipt_number = fields.String(allow_none=True, metadata={"description": "payout"})
    applied = fields.Boolean(allow_none=True)
    flags = fields.List(fields.String())
    problem = fields.Dict(allow_none=True, metadata={"description": "Problem details of a "
                          "rejected entry"})


class SyncResponseSchema(Schema):
    upload_id = fields.Integer()
    clock_skew_s = fields.Float(allow_none=True)
    flags = fields.List(fields.String())
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    results = fields.List(fields.Nested(SyncResultSchema))


class TrackQuerySchema(Schema):
    date = Day(required=True)


class PositionsQuerySchema(Schema):
    office_id = Id()
