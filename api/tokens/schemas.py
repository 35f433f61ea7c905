from marshmallow import Schema, fields, validate

from ..items.schemas import Text


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=64))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=256))
    device = Text(100, metadata={"description": "A label for the device (phone model)"})


class TokenSchema(Schema):
    access_token = fields.String(required=True)
    token_type = fields.String(required=True, dump_default="Bearer")
    expires_at = fields.AwareDateTime(required=True)


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()
    role = fields.String()
    office_id = fields.Integer(allow_none=True)
    office_code = fields.String(attribute="office.code", allow_none=True)
    token_expires_at = fields.AwareDateTime()


class RevokedSchema(Schema):
    revoked = fields.Integer(metadata={"description": "How many tokens were revoked"})
