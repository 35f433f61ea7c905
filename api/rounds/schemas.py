"""Request and response schemas for delivery rounds."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from models.round import WARD_LEN, ward_key

from ..items.schemas import CourierRefSchema, Id, Text

#: a round's code: what the office calls it on the shelf and the board (T01, NT-3, B.12)
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,19}\Z")
#: wards one round covers, at most
MAX_WARDS = 200


def _wards(value: list[str]) -> None:
    """Each a ward's name (not a prefix alone), none twice (as :func:`models.ward_key`
    compares them): the errors by index, as the other lists' errors are."""
    errors: dict[int, list[str]] = {}
    seen: dict[str, int] = {}
    for n, name in enumerate(value):
        key = ward_key(name)
        if not key:
            errors[n] = ["Not a ward's name."]
        elif len(key) > WARD_LEN:  # (PostgreSQL refused the key: a 500)
            errors[n] = [f"Longer than {WARD_LEN} characters once matched (in lower case)."]
        elif key in seen:
            errors[n] = [f"The same ward as wards[{seen[key]}]."]
        else:
            seen[key] = n
    if errors:
        raise ValidationError(errors)  # by index, as a List's own errors are


def _ward_list(**kw: Any) -> fields.List:
    return fields.List(Text(WARD_LEN, min_len=1), validate=[validate.Length(max=MAX_WARDS), _wards],
                       metadata={"description": (
                           "The wards the round covers, as names (matched against items' "
                           "recipient ward trimmed, in any case, with or without accents and "
                           "a prefix: Phường, P., Xã, Thị trấn, TT.); a ward belongs to at "
                           f"most one round of an office (409). At most {MAX_WARDS}")}, **kw)


class RoundCreateSchema(Schema):
    office_id = Id(metadata={"description": "A dispatcher's own office by default; "
                                            "required for an admin"})
    code = Text(20, min_len=1, required=True, validate=validate.Regexp(
        CODE, error="Letters, digits, '.', '_' or '-' (at most 20), starting with a letter "
                    "or digit."), metadata={"description": "Unique in the office (409)"})
    name = Text(200, min_len=1, required=True)
    wards = _ward_list(load_default=list)
    courier_id = Id(allow_none=True, load_default=None, metadata={
        "description": "The courier who usually rides it: an active courier of the office; "
                       "null for nobody yet"})


class RoundUpdateSchema(Schema):
    """What a PATCH changes: only the fields sent (``wards`` replaces the list)."""

    code = Text(20, min_len=1, validate=validate.Regexp(
        CODE, error="Letters, digits, '.', '_' or '-' (at most 20), starting with a letter "
                    "or digit."))
    name = Text(200, min_len=1)
    wards = _ward_list()
    courier_id = Id(allow_none=True)


class RoundQuerySchema(Schema):
    office_id = Id(metadata={"description": "A dispatcher's own office by default; "
                                            "required for an admin"})


class RoundSchema(Schema):
    id = fields.Integer()
    office_id = fields.Integer()
    code = fields.String()
    name = fields.String()
    wards = fields.List(fields.String(), attribute="ward_names",
                        metadata={"description": "As written when the round was saved"})
    courier = fields.Nested(CourierRefSchema, allow_none=True)
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()
