from marshmallow import Schema, fields, validate

from .labels import LANGS


class TrackQuerySchema(Schema):
    lang = fields.String(load_default="vi", validate=validate.OneOf(LANGS))


class PublicEventSchema(Schema):
    code = fields.String()
    label = fields.String()
    time = fields.AwareDateTime(metadata={"description": "When it happened, Vietnam time"})
    place = fields.String(allow_none=True, metadata={"description": "City and province"})
    reason = fields.String(allow_none=True)
    action = fields.String(allow_none=True)


class PublicTrackingSchema(Schema):
    number = fields.String()
    product = fields.String()
    product_label = fields.String()
    status = fields.String()
    status_label = fields.String()
    destination = fields.String(metadata={"description": "City and province only"})
    cash_on_delivery = fields.Boolean()
    next_attempt_on = fields.String(allow_none=True, metadata={"description": "Day of the "
                                    "next delivery attempt, after a failed one"})
    lang = fields.String()
    events = fields.List(fields.Nested(PublicEventSchema))
