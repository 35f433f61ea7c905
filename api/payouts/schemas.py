from __future__ import annotations

import re

from marshmallow import Schema, fields, validate

from models import PayoutStatus

from ..items.schemas import (
    CLIENT_EVENT_ID,
    SHA256,
    Day,
    DeviceTime,
    Id,
    Int,
    LocationSchema,
    Text,
    valid_id_number,
    valid_phone,
)


class BeneficiarySchema(Schema):
    name = Text(200, min_len=1, required=True)
    phone = Text(20, allow_none=True, validate=valid_phone)  # as the items' phones
    address = Text(300, min_len=1, required=True)
    lat = fields.Float(allow_none=True, validate=validate.Range(-90, 90))
    lon = fields.Float(allow_none=True, validate=validate.Range(-180, 180))
    id_number = fields.String(required=True, load_only=True, validate=valid_id_number)


class PayoutCreateSchema(Schema):
    reference = Text(40, min_len=4)
    program = fields.String(required=True, validate=validate.OneOf(["pension",
                                                                    "social_insurance"]))
    period = fields.String(required=True, validate=validate.Regexp(
        re.compile(r"20[0-9]{2}-(0[1-9]|1[0-2])\Z"), error="YYYY-MM."))
    office_id = Id()
    beneficiary = fields.Nested(BeneficiarySchema, required=True)
    amount = Int(required=True, validate=validate.Range(1, 200_000_000))
    due_date = Day(required=True)


class PayoutSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    program = fields.String()
    period = fields.String()
    office_id = fields.Integer()
    courier_id = fields.Integer(allow_none=True)
    beneficiary_name = fields.String()
    beneficiary_address = fields.String()
    lat = fields.Float(allow_none=True)
    lon = fields.Float(allow_none=True)
    amount = fields.Integer()
    due_date = fields.Date()
    status = fields.Enum(PayoutStatus, by_value=True)
    received_by = fields.String(allow_none=True)
    relation = fields.String(allow_none=True)
    id_number_last4 = fields.String(allow_none=True)
    signature = fields.String(attribute="signature_sha256", allow_none=True)
    photo = fields.String(attribute="photo_sha256", allow_none=True)
    receipt_number = fields.String(allow_none=True)
    device_time = fields.AwareDateTime(allow_none=True)
    failure_note = fields.String(allow_none=True)
    failed_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "When the last failure was reported (kept with its note when the "
                       "task is assigned again); null if it never failed"})
    flags = fields.List(fields.String(), allow_none=True, metadata={
        "description": "Review flags of the payment: device_clock_off, "
                       "implausible_device_time, proof_reused (reused_from names the "
                       "other use of the file); null when none"})
    reused_from = fields.List(fields.Dict(), allow_none=True, metadata={
        "description": "When flagged proof_reused: per file, the earlier use of it the "
                       "payment was not part of, [{pointer (/signature or /photo), "
                       "cited_for (payout, delivery, attempt or event), payout_id and "
                       "reference, or identifier and event_id}]; null otherwise"})
    clock_skew_s = fields.Float(allow_none=True, metadata={
        "description": "The phone's clock minus the server's when the payment arrived "
                       "(a sync upload's sent_at); null without one"})


class PayoutQuerySchema(Schema):
    status = fields.List(fields.Enum(PayoutStatus, by_value=True))
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=500, validate=validate.Range(1, 1000))


class PayoutAssignSchema(Schema):
    courier_id = Id(required=True)
    reference = Text(64, min_len=8, metadata={
        "description": "Idempotency key: the same assignment sent again with it gives the "
                       "cash once (409 idempotency-key-reused if it was used for another)"})


class PayoutPaySchema(Schema):
    client_event_id = fields.String(required=True, validate=validate.Regexp(CLIENT_EVENT_ID))
    device_time = DeviceTime(required=True)
    location = fields.Nested(LocationSchema, required=True)
    relation = fields.String(load_default="beneficiary",
                             validate=validate.OneOf(["beneficiary", "proxy"]))
    received_by = Text(200, min_len=1, required=True)
    id_number = fields.String(required=True, load_only=True, validate=valid_id_number)
    signature = fields.String(required=True, validate=validate.Regexp(SHA256))
    photo = fields.String(allow_none=True, validate=validate.Regexp(SHA256))


class PayoutFailSchema(Schema):
    note = Text(1000, min_len=3, required=True, multiline=True)
