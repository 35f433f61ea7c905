from marshmallow import Schema, fields, validate

from ..items.schemas import Text

#: the longest name and password a login takes (the console's form too): no account's
#: name is longer (``users create``), and a longer password is not hashed to find out
MAX_USERNAME, MAX_PASSWORD = 64, 256


class TokenRequestSchema(Schema):
    username = fields.String(required=True, validate=validate.Length(min=1, max=MAX_USERNAME))
    password = fields.String(required=True, load_only=True,
                             validate=validate.Length(min=1, max=MAX_PASSWORD))
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
