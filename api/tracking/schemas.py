from marshmallow import Schema, fields, validate

from .labels import LANGS


class TrackQuerySchema(Schema):
    lang = fields.String(load_default="vi", validate=validate.OneOf(LANGS))


class PublicEventSchema(Schema):
    code = fields.String()
    label = fields.String()
    time = fields.AwareDateTime(metadata={"description": "When it happened, Vietnam time"})
    place = fields.String(allow_none=True, metadata={"description": "City and province"})
    reason = fields.String(allow_none=True, metadata={
        "description": "A failed attempt's reason; a partial delivery's (why not every "
                       "piece was handed over)"})
    action = fields.String(allow_none=True)
    confirmed = fields.Boolean(allow_none=True, metadata={
        "description": "A delivery or failed attempt: true once the post office confirmed "
                       "what its courier reported, false until then; null for other events"})


class ExpectedDeliverySchema(Schema):
    from_ = fields.AwareDateTime(data_key="from", attribute="from", metadata={
        "description": "Not before (Vietnam time, a whole quarter of an hour)"})
    to = fields.AwareDateTime(metadata={"description": "Not after, most likely"})


class PublicTrackingSchema(Schema):
    number = fields.String()
    product = fields.String()
    product_label = fields.String()
    status = fields.String()
    status_label = fields.String()
    destination = fields.String(metadata={"description": "City and province only"})
    cash_on_delivery = fields.Boolean()
    pieces = fields.Integer(metadata={"description": "The pieces (boxes) under the number"})
    pieces_delivered = fields.Integer(allow_none=True, metadata={
        "description": "Partially delivered: the pieces handed over (the rest is returned "
                       "to the sender); null otherwise"})
    next_attempt_on = fields.String(allow_none=True, metadata={"description": "Day of the "
                                    "next delivery attempt, after a failed one"})
    awaiting = fields.String(allow_none=True, metadata={
        "description": "After a failed attempt that schedules no other round: "
                       "`collection` (waiting for its recipient at the post office) or "
                       "`return` (to be returned to the sender); null otherwise"})
    collect_by = fields.String(allow_none=True, metadata={
        "format": "date", "description": "Awaiting collection: the last day the post "
                  "office holds it for its recipient (after it, it is returned to the "
                  "sender); null otherwise"})
    collect_at = fields.Dict(allow_none=True, metadata={
        "description": "Awaiting collection: the post office to collect it at (`name`, "
                       "`address`, `city`, `province`); null otherwise"})
    expected_delivery = fields.Nested(ExpectedDeliverySchema, allow_none=True, metadata={
        "description": "When a parcel out for delivery is expected at the door, from its "
                       "courier's route and how late they run; null when it is not out "
                       "for delivery on a route"})
    lang = fields.String()
    events = fields.List(fields.Nested(PublicEventSchema))
