from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from models import FailureAction, FailureReason, ScanAction, UnreadState

from ..items.schemas import (
    CLIENT_EVENT_ID,
    SHA256,
    ActorSchema,
    Day,
    DeviceTime,
    EventSchema,
    Id,
    Int,
    ItemStateSchema,
    LocationSchema,
    ProofSchema,
    SentAt,
    Text,
    next_attempt_not_before,
)


class PhoneCodeSchema(Schema):
    """A code the phone decoded itself."""

    text = fields.String(required=True, validate=validate.Length(min=1, max=512))
    symbology = fields.String(validate=validate.Length(max=32), load_default=None)


class ScanCreateSchema(Schema):
    action = fields.Enum(ScanAction, by_value=True, required=True)
    client_event_id = fields.String(required=True, validate=validate.Regexp(
        CLIENT_EVENT_ID, error="8-60 characters: letters, digits, '_', '.', ':', '-'."))
    device_time = DeviceTime(required=True)
    sent_at = SentAt()
    location = fields.Nested(LocationSchema, allow_none=True)
    codes = fields.List(fields.Nested(PhoneCodeSchema), validate=validate.Length(max=20),
                        load_default=list,
                        metadata={"description": "Codes the phone decoded; with a photo, "
                                  "both are used"})
    reason = fields.Enum(FailureReason, by_value=True, allow_none=True)
    action_taken = fields.Enum(FailureAction, by_value=True, allow_none=True)
    note = Text(1000, allow_none=True, multiline=True)
    proof = fields.Nested(ProofSchema, allow_none=True,
                          metadata={"description": "Proof of delivery, with 'delivered'"})
    photo = fields.String(allow_none=True, validate=validate.Regexp(SHA256, error="A SHA-256."),
                          metadata={"description": "A photo uploaded first (the door, for "
                                    "a failed attempt)"})
    next_attempt_on = Day(allow_none=True)

    @validates_schema
    def _failure_fields(self, data: dict[str, Any], **_: Any) -> None:
        failed = data["action"] is ScanAction.FAILED_ATTEMPT
        for key in ("reason", "action_taken"):
            if failed and not data.get(key):
                raise ValidationError("Required for a failed attempt.", key)
            if not failed and data.get(key):
                raise ValidationError("Only a failed attempt carries this.", key)
        next_attempt_not_before(data)


class CodeSchema(Schema):
    symbology = fields.String()
    text = fields.String()
    polygon = fields.List(fields.List(fields.Float()))
    engine = fields.String(allow_none=True)
    source = fields.String(metadata={"description": "photo or phone"})


class MisreadSchema(Schema):
    symbology = fields.String()
    text = fields.String()
    reason = fields.String()


class PhotoErrorSchema(Schema):
    type = fields.String(metadata={"description": "The problem type a scan without phone "
                                                  "codes is answered with: unreadable-image, "
                                                  "unsupported-image-format, image-too-large"})
    detail = fields.String()


class ScanResultSchema(Schema):
    scan_id = fields.Integer()
    codes = fields.List(fields.Nested(CodeSchema))
    identified_code = fields.String()
    misreads = fields.List(fields.Nested(MisreadSchema))
    photo_url = fields.String(allow_none=True)
    photo_error = fields.Nested(PhotoErrorSchema, allow_none=True, metadata={
        "description": "The photo could not be read (truncated, a HEIC, too large): the scan "
                       "is the phone's codes alone and the photo is not kept (null when it "
                       "was read, or none was sent)"})
    event = fields.Nested(EventSchema)
    item = fields.Nested(ItemStateSchema)
    replayed = fields.Boolean()


class UnreadQuerySchema(Schema):
    office_id = Id(metadata={"description": "Required for an admin"})
    state = fields.List(fields.Enum(UnreadState, by_value=True), metadata={
        "description": "open (the default), resolved, dismissed; repeatable"})
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=50, validate=validate.Range(1, 200))


class UnreadScanSchema(Schema):
    id = fields.Integer()
    client_event_id = fields.String()
    action = fields.Enum(ScanAction, by_value=True)
    courier = fields.Nested(ActorSchema, attribute="actor")
    office_id = fields.Integer()
    device_time = fields.AwareDateTime()
    server_time = fields.AwareDateTime(metadata={"description": "When it was first received"})
    last_attempt_at = fields.AwareDateTime(metadata={"description": "The latest time the "
                                                     "phone sent it again"})
    attempts = fields.Integer(metadata={"description": "How many times the phone sent it"})
    location = fields.Dict(allow_none=True)
    fields_ = fields.Dict(data_key="fields", attribute="fields", metadata={
        "description": "The scan's other fields as sent (reason, note, proof...), without "
                       "a delivery code or ID number"})
    codes = fields.List(fields.Dict(), metadata={"description": "Codes read on the photo "
                                                 "that are no item number"})
    misreads = fields.List(fields.Nested(MisreadSchema))
    photo_url = fields.String()
    photo_bytes = fields.Integer()
    state = fields.Enum(UnreadState, by_value=True)
    resolved_by = fields.Nested(ActorSchema, allow_none=True, metadata={
        "description": "Staff who resolved or dismissed it; null when the courier's retry "
                       "(or their event under its client_event_id) did"})
    resolved_at = fields.AwareDateTime(allow_none=True)
    identifier = fields.String(allow_none=True, metadata={"description": "The item number "
                                                          "it was recorded for"})
    scan_id = fields.Integer(allow_none=True, metadata={
        "description": "The scan recorded from it; null when the courier recorded it as an "
                       "event (sync) instead"})
    dismiss_reason = fields.String(allow_none=True)


class UnreadPageSchema(Schema):
    items = fields.List(fields.Nested(UnreadScanSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class UnreadResolveSchema(Schema):
    identifier = Text(60, min_len=1, required=True,
                      metadata={"description": "The item number read on the photo"})


class UnreadDismissSchema(Schema):
    reason = Text(500, min_len=1, required=True, metadata={
        "description": "Why nothing is recorded (a photo of the ground, scanned since)"})


class UnreadResolvedSchema(Schema):
    unread_scan = fields.Nested(UnreadScanSchema)
    scan = fields.Nested(ScanResultSchema)
