from __future__ import annotations

import re

from marshmallow import Schema, fields, validate

from models import Complaint, ComplaintCategory, ComplaintStatus

from ..items.schemas import PHONE, ActorSchema, Day, Id, Int, ItemDetailSchema, Text, TextBool

#: what a customer may complain about: every category but ``missing_scan``, which the
#: office opens from its missing-scans list (the page's form never offered it)
PUBLIC_CATEGORIES = [c for c in ComplaintCategory if c is not ComplaintCategory.MISSING_SCAN]
PUBLIC_CHOICES = "One of: " + ", ".join(c.value for c in PUBLIC_CATEGORIES) + "."


#: a phone number and nothing after it (``Regexp`` matches from the start only: any text
#: after a phone number was taken)
WHOLE_PHONE = re.compile(PHONE.pattern + r"\Z")


class PublicComplaintSchema(Schema):
    phone = fields.String(required=True, validate=validate.Regexp(WHOLE_PHONE,
                                                                  error="A phone number."),
                          load_only=True,
                          metadata={"description": "The recipient's or sender's phone "
                                    "number on the item: proves the link"})
    # an unknown value is told the same choices (the field's own message listed
    # missing_scan, which a customer may not file)
    category = fields.Enum(ComplaintCategory, by_value=True, required=True,
                           validate=validate.OneOf(PUBLIC_CATEGORIES, error=PUBLIC_CHOICES),
                           error_messages={"unknown": PUBLIC_CHOICES})
    description = Text(2000, min_len=5, required=True, multiline=True)


class PublicComplaintResultSchema(Schema):
    reference = fields.String()
    status = fields.Enum(ComplaintStatus, by_value=True)
    due_at = fields.AwareDateTime()


class ComplaintCreateSchema(Schema):
    identifier = fields.String(required=True, validate=validate.Length(min=4, max=60))
    category = fields.Enum(ComplaintCategory, by_value=True, required=True)
    description = Text(2000, min_len=5, required=True, multiline=True)


class ComplaintChangeSchema(Schema):
    """One change of a complaint's status or note, as it was made."""

    at = fields.AwareDateTime(attribute="created_at")
    by = fields.Nested(ActorSchema, attribute="actor", allow_none=True, metadata={
        "description": "Who made it (null for the backfilled entry: not known)"})
    status_before = fields.Enum(ComplaintStatus, by_value=True, allow_none=True, metadata={
        "description": "The status before it (null for the backfilled entry)"})
    status = fields.Enum(ComplaintStatus, by_value=True, metadata={
        "description": "The status it left the complaint in: `resolved` or `rejected` "
                       "(closed), `investigating` (reopened, from a closed status), the "
                       "same as `status_before` when only a note was given"})
    note = fields.String(allow_none=True, metadata={
        "description": "The resolution note given with it; null when none was"})
    backfill = fields.Boolean(metadata={
        "description": "The note the complaint had when its history began (an upgrade): "
                       "`at` is the complaint's last change then; who wrote it is not "
                       "known"})


class ComplaintSchema(Schema):
    id = fields.Integer()
    reference = fields.String()
    identifier = fields.String(attribute="item.identifier")
    office_id = fields.Integer(metadata={
        "description": "The office the item was at when the complaint was opened: its "
                       "SLA and quality figures count it there (the item may have moved "
                       "to another office since: see the item's `office_id`)"})
    channel = fields.String()
    category = fields.Enum(ComplaintCategory, by_value=True)
    description = fields.String()
    status = fields.Enum(ComplaintStatus, by_value=True)
    created_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime()
    answered_at = fields.AwareDateTime(allow_none=True)
    resolution_note = fields.String(allow_none=True, metadata={
        "description": "The latest note (every note given is kept in `history`)"})
    overdue = fields.Method("_overdue", metadata={"type": "boolean"})
    history = fields.List(fields.Nested(ComplaintChangeSchema), metadata={
        "description": "Each change of its status or note (resolved, rejected, "
                       "reopened, a note added), oldest first; only ever added to"})

    def _overdue(self, c: Complaint) -> bool:
        from flask import current_app

        answered = getattr(c, "answered_at", None)
        moment = answered or current_app.config["CLOCK"]()
        return bool(moment > c.due_at)


class ComplaintUpdateSchema(Schema):
    status = fields.Enum(ComplaintStatus, by_value=True)
    resolution_note = Text(4000, allow_none=True, multiline=True)


class QueueQuerySchema(Schema):
    status = fields.List(fields.Enum(ComplaintStatus, by_value=True))
    overdue = TextBool(load_default=False)
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=500, validate=validate.Range(1, 1000))


class LaterOfficeSchema(Schema):
    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class LaterEventsSchema(Schema):
    """What happened to the item after it left the office the complaint was opened at,
    as that office is shown it: how much, where, and the status it led to."""

    count = fields.Integer(metadata={
        "description": "Events recorded since the item left the office (not in "
                       "`item.events`)"})
    offices = fields.List(fields.Nested(LaterOfficeSchema), metadata={
        "description": "The offices that recorded them"})
    status = fields.String(metadata={"description": "The item's status now"})


class ComplaintEvidenceSchema(Schema):
    complaint = fields.Nested(ComplaintSchema)
    item = fields.Nested(ItemDetailSchema)
    gps_trails = fields.List(fields.Dict())
    later_events = fields.Nested(LaterEventsSchema, allow_none=True, metadata={
        "description": "For a dispatcher of the office the complaint was opened at, the "
                       "item having moved to another office since: the events after it "
                       "left, counted (`item.events` holds its history up to then); null "
                       "otherwise (every event is in `item.events`)"})


class MissingQuerySchema(Schema):
    office_id = Id()
    idle_hours = fields.Float(load_default=24, validate=validate.Range(1, 24 * 30))
    out_hours = fields.Float(load_default=12, validate=validate.Range(1, 24 * 30))
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=50, validate=validate.Range(1, 200))


class MissingRowSchema(Schema):
    identifier = fields.String()
    status = fields.String()
    since = fields.String(metadata={"description": "Time of the last applied scan (ISO 8601)"})
    hours_without_scan = fields.Float()
    expected = fields.String()
    attempts_used_up = fields.Boolean(metadata={
        "description": "Its failed attempts use up the limit: it expects a return to the "
                       "sender (RTS), a new round being refused"})
    courier_id = fields.Integer(allow_none=True)
    awaiting = fields.String(allow_none=True, metadata={
        "description": "What it waits for after its last failed attempt instead of another "
                       "round: `collection` (its recipient, at the office) or `return` (the "
                       "courier chose the return to the sender); null: another round"})
    collect_by = fields.String(allow_none=True, metadata={
        "format": "date", "description": "Awaiting collection: the last day the office "
                  "holds it for its recipient (listed once it has passed, or while the "
                  "parcel is still in its courier's bag)"})


class MissingPageSchema(Schema):
    items = fields.List(fields.Nested(MissingRowSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()
    due_later = fields.Integer(metadata={
        "description": "Items as silent but left out: their next attempt is due on a "
                       "later day (next_attempt_on), as planned"})
    held_for_collection = fields.Integer(metadata={
        "description": "Items as silent but left out: held at the office for their "
                       "recipient to collect, the office's holding not over (collect_by)"})


class ReturnsDueQuerySchema(Schema):
    office_id = Id()
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=50, validate=validate.Range(1, 200))


class ReturnDueRowSchema(Schema):
    identifier = fields.String()
    status = fields.String()
    failed_attempts = fields.Integer()
    last_attempt_at = fields.String(allow_none=True, metadata={
        "description": "Device time of the latest failed attempt (ISO 8601)"})
    last_attempt_reason = fields.String(allow_none=True)
    last_attempt_late = fields.Boolean(allow_none=True, metadata={
        "description": "It was kept unapplied (synced after the item moved on)"})
    waiting_since = fields.String(metadata={
        "description": "When the attempt that used up the limit, or the one at which the "
                       "courier chose the return (chosen_at_attempt), was recorded; not "
                       "collected: when the office's holding ended; partially delivered: "
                       "when its delivery was recorded (ISO 8601)"})
    hours_waiting = fields.Float()
    courier_id = fields.Integer(allow_none=True)
    chosen_at_attempt = fields.Boolean(metadata={
        "description": "Listed because its courier chose the return at a failed attempt "
                       "(awaiting `return`), its attempts not used up (why "
                       "`return_chosen`)"})
    why = fields.String(metadata={
        "enum": ["partially_delivered", "attempts_used_up", "return_chosen",
                 "not_collected"],
        "description": "Why it is due for its return: part of its pieces were delivered "
                       "(the rest goes back); its failed attempts use up the "
                       "limit; its courier chose the return at a failed attempt; its "
                       "recipient did not collect it at the office by `collect_by`"})
    collect_by = fields.String(allow_none=True, metadata={
        "format": "date", "description": "Not collected: the last day the office held it "
                  "for its recipient; null otherwise"})


class ReturnsDuePageSchema(Schema):
    items = fields.List(fields.Nested(ReturnDueRowSchema))
    max_attempts = fields.Integer(metadata={"description": "The attempt limit in force"})
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class QualityQuerySchema(Schema):
    office_id = Id()
    date = Day(required=True, metadata={"description": "First day"})
    days = Int(load_default=1, validate=validate.Range(1, 31))
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))
