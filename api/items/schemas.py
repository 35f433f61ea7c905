"""Request and response schemas for items and their tracking events."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from flask import url_for
from marshmallow import (
    Schema,
    ValidationError,
    fields,
    post_load,
    validate,
    validates_schema,
)

from models import (
    Awaiting,
    EventCode,
    FailureAction,
    FailureReason,
    PartialReason,
    Product,
    RequestKind,
    Status,
)

from ..localtime import local_day
from . import identifiers
from .service import collect_by

COD_CAP_VND = 50_000_000  # carriers cap COD; see docs/domain.md
MAX_PIECES = 99  # pieces under one number (models.Item.pieces)
PHONE = re.compile(r"\+?[0-9][0-9 .\-]{7,18}[0-9]")
CLIENT_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-]{7,59}\Z")


def valid_phone(value: str | None) -> None:
    if value is not None and not PHONE.fullmatch(value):
        raise ValidationError("Not a phone number (digits, optionally +, spaces, dots, dashes).")


def valid_id_number(value: str | None) -> None:
    """An ID number as shown on the card: 6-20 letters, digits, spaces, dots or dashes,
    of which at least 6 letters or digits (it is compared and kept without the rest)."""
    if value is not None and not (re.fullmatch(r"[A-Za-z0-9 .\-]{6,20}", value)
                                  and sum(ch.isalnum() for ch in value) >= 6):
        raise ValidationError("6-20 letters or digits.")


def _identifier(value: str) -> None:
    try:
        identifiers.classify(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc


class Text(fields.String):
    """A trimmed string with a length limit and no control characters; ``multiline``
    free text (notes, descriptions) may hold line breaks, stored as ``\\n``."""

    #: by its key, which the console words in Vietnamese (api/console/refusals.py)
    default_error_messages = {"control": "Control characters are not allowed."}

    def __init__(self, max_len: int, *, min_len: int = 0, multiline: bool = False,
                 **kw: Any) -> None:
        extra = kw.pop("validate", None)
        checks: list[Any] = [validate.Length(min=min_len, max=max_len)]
        if extra is not None:
            checks.append(extra)
        super().__init__(validate=checks, **kw)
        self.allowed = "\t\n" if multiline else "\t"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> str:
        out = super()._deserialize(value, attr, data, **kw).strip()
        if "\n" in self.allowed:  # a browser's textarea sends CRLF
            out = out.replace("\r\n", "\n").replace("\r", "\n")
        if any(_forbidden(c) and c not in self.allowed for c in out):
            raise self.make_error("control")
        return out


#: Characters no name, address or note needs, refused in every :class:`Text`: the C0
#: and C1 control characters and DEL, the bidirectional embeddings, overrides and
#: isolates (U+202A-U+202E, U+2066-U+2069: a right-to-left override shows a name
#: reversed in the console, a sender "‮nhoJ" reads as "John"), and the line and
#: paragraph separators (U+2028, U+2029: a line break in a one-line field)
_BIDI_AND_SEPARATORS = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e"
                                 "\u2066\u2067\u2068\u2069")


def _forbidden(c: str) -> bool:
    o = ord(c)
    return o < 32 or 127 <= o < 160 or c in _BIDI_AND_SEPARATORS


class JSONBool(fields.Boolean):
    """A JSON ``true`` or ``false``, nothing else, for every boolean of a JSON body:
    marshmallow's Boolean reads "no", "off", "yes", 0 and 1 too, so a typo such as
    ``"keep_assignments": "no"`` changed what a request does, and a phone's
    ``"id_check_required": "yes"`` was taken, instead of a 422 on the field that shows
    the client's bug. (Not for CSV cells or query parameters, which are text:
    :class:`TextBool`.)"""

    default_error_messages = {"invalid": "Must be true or false (a JSON boolean, not a "
                                         "string or a number)."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


#: The words a yes or no may be written as where values are text (:class:`TextBool`)
TEXT_TRUE = frozenset({"true", "t", "yes", "y", "on", "1"})
TEXT_FALSE = frozenset({"false", "f", "no", "n", "off", "0"})


class TextBool(fields.Boolean):
    """A yes or no written as text, where every value is text: a CSV cell, a query
    parameter. One of :data:`TEXT_TRUE` or :data:`TEXT_FALSE` in any case, spaces
    around it ignored (a spreadsheet's ``TRUE``, PostgreSQL's ``t``, a checkbox's
    ``on``); anything else, a number or a JSON boolean included, is refused: the
    same words everywhere, where marshmallow's Boolean took ``True`` but not
    ``tRUE``, and the integer 1."""

    default_error_messages = {"invalid": "Must be true or false (or yes/no, y/n, t/f, "
                                         "on/off, 1/0)."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> bool:
        word = value.strip().lower() if isinstance(value, str) else None
        if word in TEXT_TRUE:
            return True
        if word in TEXT_FALSE:
            return False
        raise self.make_error("invalid", input=value)


class Int(fields.Integer):
    """A whole number: an int or a string of digits (CSV), never 1.5 rounded down."""

    #: by its key, which the console words in Vietnamese (api/console/refusals.py)
    default_error_messages = {"invalid": "Not a whole number."}

    def _deserialize(self, value: Any, attr: Any, data: Any, **kw: Any) -> int:
        if isinstance(value, bool) or not (
            isinstance(value, int) or (isinstance(value, str)
                                       and re.fullmatch(r"-?[0-9]{1,15}", value.strip()))
        ):
            raise self.make_error("invalid")
        return int(value)


MAX_ID = 2**31 - 1  # database integer keys

#: A phone's clock can be wrong, but not by centuries: times outside these would
#: overflow when converted to another zone (year 1, year 9999) and break every page
#: that shows them.
FIRST_DEVICE_TIME = datetime(2000, 1, 1, tzinfo=UTC)
LAST_DEVICE_TIME = datetime(2100, 1, 1, tzinfo=UTC)


def Day(**kw: Any) -> fields.Date:  # noqa: N802 - a field factory
    """A calendar day in a request, 2000-2099 (day arithmetic near year 1 or 9999
    overflows; no postal day is outside these)."""
    return fields.Date(validate=validate.Range(
        FIRST_DEVICE_TIME.date(), LAST_DEVICE_TIME.date(), max_inclusive=False,
        error="Must be between 2000 and 2099."), **kw)


def DeviceTime(**kw: Any) -> fields.AwareDateTime:  # noqa: N802 - a field factory
    """A time read from a device's clock (ISO 8601 with an offset), 2000-2099."""
    return fields.AwareDateTime(validate=validate.Range(
        FIRST_DEVICE_TIME, LAST_DEVICE_TIME, max_inclusive=False,
        error="Must be between 2000 and 2099."), **kw)


def SentAt(**kw: Any) -> fields.AwareDateTime:  # noqa: N802 - a field factory
    """``sent_at``: the device's clock when it sent the request, from which the server
    measures the clock skew (api/devicetime.py); optional, 2000-2099 like every device
    time."""
    kw.setdefault("metadata", {"description": "The device's clock when it sent this "
                               "request: gives the clock skew"})
    return DeviceTime(allow_none=True, load_default=None, **kw)


def Id(**kw: Any) -> fields.Integer:  # noqa: N802 - a field factory, used like a class
    """A database id in a request: a positive 32-bit integer (larger ones would reach
    the database and fail there), given as a JSON integer or a string of digits
    (query strings); 3.9 is an error, not id 3."""
    return Int(validate=validate.Range(1, MAX_ID), **kw)


class LocationSchema(Schema):
    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(-90, 90))
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(-180, 180))
    accuracy_m = fields.Float(allow_nan=False, validate=validate.Range(0, 100_000),
                              metadata={"description": "GPS accuracy radius in metres"})


class SenderSchema(Schema):
    name = Text(200, min_len=1, required=True)
    phone = Text(20, allow_none=True, validate=valid_phone)
    address = Text(300, load_default="")


class RecipientSchema(Schema):
    name = Text(200, min_len=1, required=True)
    phone = Text(20, allow_none=True, validate=valid_phone)
    address = Text(300, min_len=1, required=True)
    ward = Text(100, allow_none=True)
    city = Text(100, min_len=1, required=True)
    province = Text(100, min_len=1, required=True)
    lat = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-90, 90))
    lon = fields.Float(allow_none=True, allow_nan=False, validate=validate.Range(-180, 180))
    id_number = fields.String(allow_none=True, load_only=True, validate=valid_id_number,
                              metadata={"description": "For ID-checked items: compared "
                                        "with the number shown at delivery; stored only "
                                        "as a salted hash"})

    #: its own checks' words, by key: the console says them in Vietnamese by the key
    #: (api/console/refusals.py)
    error_messages = {
        "lat_lon_pair": "Give both lat and lon, or neither.",
        "lat_lon_zero": "0, 0 is not the recipient's place (an empty cell or a failed "
                        "geocoding): give the coordinates, or neither."}

    @validates_schema
    def _both_or_neither(self, data: dict[str, Any], **_: Any) -> None:
        if (data.get("lat") is None) != (data.get("lon") is None):
            raise ValidationError(self.error_messages["lat_lon_pair"], "lat")
        if data.get("lat") == 0 and data.get("lon") == 0:
            # a spreadsheet's empty cells exported as 0, or a geocoder that found nothing
            # (as a phone without a GPS fix sends, refused in a sync): stored, the parcel
            # was on the map in the Gulf of Guinea, "not reachable" in every route plan
            # and each delivery flagged far from its address
            raise ValidationError(self.error_messages["lat_lon_zero"], "lat")


class WindowSchema(Schema):
    start = DeviceTime(required=True)
    end = DeviceTime(required=True)

    #: (by key, as RecipientSchema's)
    error_messages = {"window_order": "The window must end after it starts."}

    @validates_schema
    def _ordered(self, data: dict[str, Any], **_: Any) -> None:
        if data["end"] <= data["start"]:
            raise ValidationError(self.error_messages["window_order"], "end")


class ItemCreateSchema(Schema):
    identifier = fields.String(required=True, validate=[validate.Length(max=60), _identifier],
                               metadata={"example": "EE123456785VN"})
    product = fields.Enum(Product, by_value=True,
                          metadata={"description": "Derived from the S10 service indicator "
                                    "when omitted"})
    carrier = Text(50, allow_none=True)
    office_id = Id(metadata={"description": "Delivery office; a dispatcher's own "
                                         "office by default"})
    sender = fields.Nested(SenderSchema, required=True)
    recipient = fields.Nested(RecipientSchema, required=True)
    weight_g = Int(load_default=0, validate=validate.Range(0, 100_000))
    pieces = Int(load_default=1, validate=validate.Range(1, MAX_PIECES), metadata={
        "description": "The pieces (boxes) shipped under this number; a delivery may hand "
                       "over part of them (proof `pieces_delivered`)"})
    cod_amount = Int(load_default=0, validate=validate.Range(0, COD_CAP_VND),
                                metadata={"description": "Cash on delivery, integer VND"})
    declared_value = Int(load_default=0, validate=validate.Range(0, 10**11))
    delivery_window = fields.Nested(WindowSchema, allow_none=True)
    # (typed as any Boolean: the CSV import's ItemImportRowSchema reads them as text)
    id_check_required: fields.Boolean = JSONBool(load_default=False)
    signature_required: fields.Boolean = JSONBool(load_default=False)

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        data["identifier"] = identifiers.normalize(data["identifier"])
        return data


class ItemImportRowSchema(ItemCreateSchema):
    """A row of a CSV import (``POST /items/import``), as :class:`ItemCreateSchema`
    but for its cells being text: the flags are yes or no in words (an empty cell:
    no, as a key left out of a JSON body)."""

    id_check_required = TextBool(load_default=False)
    signature_required = TextBool(load_default=False)

    #: a row's own error, by key (as RecipientSchema's): a line with more cells than
    #: the header has columns (api/items/service.py)
    error_messages = {"extra_fields": "More fields than columns."}


class ActorSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    role = fields.String()


SHA256 = re.compile(r"[0-9a-f]{64}\Z")


class ProofSchema(Schema):
    """Proof of delivery (EMI). Files are uploaded first (POST /api/v1/evidence) and
    referred to by their SHA-256."""

    relation = fields.String(load_default="recipient",
                             validate=validate.OneOf(["recipient", "proxy"]))
    received_by = Text(200, allow_none=True)
    id_number = fields.String(allow_none=True, validate=valid_id_number, load_only=True)
    photo = fields.String(allow_none=True, validate=validate.Regexp(SHA256,
                                                                    error="A SHA-256."))
    signature = fields.String(allow_none=True, validate=validate.Regexp(SHA256,
                                                                        error="A SHA-256."))
    delivery_code = fields.String(allow_none=True, validate=validate.Regexp(
        re.compile(r"[0-9]{6}\Z"), error="6 digits."), load_only=True)
    cod_collected = Int(allow_none=True, validate=validate.Range(0, COD_CAP_VND), metadata={
        "description": "The COD amount; for a partial delivery what the recipient paid for "
                       "the pieces they accepted, from 0 to the COD amount"})
    pieces_delivered = Int(allow_none=True, validate=validate.Range(1, MAX_PIECES), metadata={
        "description": "The pieces handed over, when not all of the item's `pieces`: a "
                       "partial delivery (the rest goes back to the sender); omitted or "
                       "equal to `pieces`: all of them"})
    partial_reason = fields.Enum(PartialReason, by_value=True, allow_none=True, metadata={
        "description": "Required with a partial delivery, and only then: why the rest was "
                       "not handed over (a note in the event's `note`)"})


class EventCreateSchema(Schema):
    code = fields.Enum(EventCode, by_value=True, required=True)
    client_event_id = fields.String(
        required=True, validate=validate.Regexp(
            CLIENT_EVENT_ID, error="8-60 characters: letters, digits, '_', '.', ':', '-'."),
        metadata={"description": "Generated on the device (a UUID); replaying it is safe"})
    device_time = DeviceTime(required=True)
    location = fields.Nested(LocationSchema, allow_none=True)
    reason = fields.Enum(FailureReason, by_value=True, allow_none=True)
    action = fields.Enum(FailureAction, by_value=True, allow_none=True)
    note = Text(1000, allow_none=True, multiline=True)
    proof = fields.Nested(ProofSchema, allow_none=True,
                          metadata={"description": "Proof of delivery, with EMI"})
    photo = fields.String(allow_none=True, validate=validate.Regexp(SHA256, error="A SHA-256."),
                          metadata={"description": "A photo taken with the event (uploaded "
                                    "first), e.g. the door for 'recipient absent'"})
    next_attempt_on = Day(allow_none=True, metadata={
        "description": "With EMH 'asks_another_day': the day the recipient asked for"})

    @validates_schema
    def _reason_for_failures(self, data: dict[str, Any], **_: Any) -> None:
        if data["code"] is EventCode.EMH:
            missing = {k: ["Required for an unsuccessful attempt (EMH)."]
                       for k in ("reason", "action") if not data.get(k)}
            if missing:
                raise ValidationError(missing)
        else:
            extra = {k: ["Only an unsuccessful attempt (EMH) carries this."]
                     for k in ("reason", "action") if data.get(k)}
            if extra:
                raise ValidationError(extra)
        if data.get("proof") and data["code"] is not EventCode.EMI:
            raise ValidationError("Only a delivery (EMI) carries proof.", "proof")
        if data.get("next_attempt_on") and data["code"] is not EventCode.EMH:
            raise ValidationError("Only a failed attempt (EMH) sets the next attempt.",
                                  "next_attempt_on")
        next_attempt_not_before(data)


class EventPostSchema(EventCreateSchema):
    """One event sent on its own (``POST /items/{id}/events``), with the device's clock
    at sending, as a sync upload has."""

    sent_at = SentAt()


def next_attempt_not_before(data: dict[str, Any]) -> None:
    """The day a recipient asks for cannot be before the attempt (Viet Nam day)."""
    asked, attempt = data.get("next_attempt_on"), data.get("device_time")
    if asked is not None and attempt is not None and asked < local_day(attempt):
        raise ValidationError("The next attempt cannot be before the day of this attempt "
                              f"({local_day(attempt).isoformat()}).", "next_attempt_on")


class EventSchema(Schema):
    id = fields.Integer()
    code = fields.Enum(EventCode, by_value=True)
    client_event_id = fields.String()
    device_time = fields.AwareDateTime()
    server_time = fields.AwareDateTime()
    actor = fields.Nested(ActorSchema, allow_none=True)
    office_code = fields.String(attribute="office.code", allow_none=True)
    location = fields.Method("_location", metadata={
        "type": ["object", "null"], "properties": {
            "lat": {"type": "number"}, "lon": {"type": "number"},
            "accuracy_m": {"type": ["number", "null"]}}})
    reason = fields.Enum(FailureReason, by_value=True, allow_none=True)
    action = fields.Enum(FailureAction, by_value=True, allow_none=True)
    note = fields.String(allow_none=True)
    status_after = fields.Enum(Status, by_value=True)
    source = fields.String()
    proof = fields.Method("_proof", metadata={
        "type": ["object", "null"], "description": "Proof of delivery (EMI); null otherwise",
        "properties": {
            "relation": {"type": "string", "enum": ["recipient", "proxy"]},
            "received_by": {"type": ["string", "null"]},
            "id_number_last4": {"type": ["string", "null"]},
            "id_matched": {"type": ["boolean", "null"]},
            "photo": {"type": ["string", "null"]}, "signature": {"type": ["string", "null"]},
            "code_verified": {"type": "boolean"},
            "cod_collected": {"type": ["integer", "null"]},
            "pieces_delivered": {"type": ["integer", "null"], "description":
                                 "A partial delivery: the pieces handed over; null when "
                                 "all were"},
            "partial_reason": {"type": ["string", "null"],
                               "enum": [*(r.value for r in PartialReason), None]},
            "reused_from": {"type": ["array", "null"], "items": {"type": "object"}}}})
    photo = fields.String(attribute="photo_sha256", allow_none=True)
    photo_reused_from = fields.List(fields.Dict(), allow_none=True, metadata={
        "description": "When the event is flagged proof_reused for its photo (a failed "
                       "attempt's door photo): the earlier use of the file it was not part "
                       "of, [{pointer, cited_for (delivery, attempt, event or payout), "
                       "identifier and event_id, or payout_id and reference}]; null "
                       "otherwise"})
    applied = fields.Boolean(metadata={"description": "False: kept in the history without "
                                       "changing the status (see flags)"})
    flags = fields.List(fields.String(), allow_none=True,
                        metadata={"description": "Review flags, e.g. late_conflict, late_event, "
                                  "held_then, device_clock_off, implausible_device_time, "
                                  "proof_reused (proof.reused_from or "
                                  "photo_reused_from names the other use of the file)"})
    clock_skew_s = fields.Float(allow_none=True, metadata={
        "description": "The phone's clock minus the server's when the event arrived, in "
                       "seconds (from the request's or the sync upload's sent_at); null "
                       "without sent_at"})
    scan_id = fields.Method("_scan_id", metadata={"type": ["integer", "null"],
                                                  "description": "The scan behind the "
                                                  "event, if any"})
    photo_url = fields.Method("_photo_url", metadata={
        "type": ["string", "null"], "description": "The photo of the scan behind the event"})
    confirmation = fields.Method("_confirmation", metadata={
        "type": ["object", "null"],
        "description": "A delivery or failed attempt (an outcome): whether the office "
                       "confirmed it, {state (reported: by a courier, not yet checked; "
                       "confirmed; disputed), basis (reviewed, recorded_by_staff, null), "
                       "by, at, note, reviews: [{state, by, at, note}]}; null for other "
                       "events and for a copy of an outcome kept unapplied"})

    def _proof(self, ev: Any) -> dict[str, Any] | None:
        p = getattr(ev, "proof", None)
        if p is None:
            return None
        return {"relation": p.relation.value, "received_by": p.received_by,
                "id_number_last4": p.id_number_last4, "id_matched": p.id_matched,
                "photo": p.photo_sha256, "signature": p.signature_sha256,
                "code_verified": p.code_verified, "cod_collected": p.cod_collected,
                "pieces_delivered": p.pieces_delivered,
                "partial_reason": p.partial_reason.value if p.partial_reason else None,
                "reused_from": p.reused_from}

    def _scan_id(self, ev: Any) -> int | None:
        scan = getattr(ev, "scan_record", None)
        return scan.id if scan is not None else None

    def _photo_url(self, ev: Any) -> str | None:
        scan = getattr(ev, "scan_record", None)
        if scan is None or not scan.photo_key:
            return None
        return url_for("scans.ScanPhoto", scan_id=scan.id)

    def _confirmation(self, ev: Any) -> dict[str, Any] | None:
        from ..outcomes.schemas import ConfirmationSchema
        from ..outcomes.service import confirmation

        found = confirmation(ev)
        return None if found is None else dict(ConfirmationSchema().dump(found))

    def _location(self, ev: Any) -> dict[str, Any] | None:
        if ev.lat is None:
            return None
        return {"lat": ev.lat, "lon": ev.lon, "accuracy_m": ev.accuracy_m}


class CourierRefSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    full_name = fields.String()


def _collect_by(it: Any) -> str | None:
    day = it.get("collect_by") if isinstance(it, dict) else collect_by(it)
    return day.isoformat() if day is not None else None


class ItemSchema(Schema):
    id = fields.Integer()
    identifier = fields.String()
    identifier_kind = fields.String()
    carrier = fields.String(allow_none=True)
    product = fields.Enum(Product, by_value=True)
    status = fields.Enum(Status, by_value=True)
    failed_attempts = fields.Integer()
    office_id = Int()
    office_code = fields.String(attribute="office.code")
    courier = fields.Nested(CourierRefSchema, allow_none=True)
    sender = fields.Method("_sender", metadata={"type": "object", "properties": {
        "name": {"type": "string"}, "phone": {"type": ["string", "null"]},
        "address": {"type": "string"}}})
    recipient = fields.Method("_recipient", metadata={"type": "object", "properties": {
        "name": {"type": "string"}, "phone": {"type": ["string", "null"]},
        "address": {"type": "string"}, "ward": {"type": ["string", "null"]},
        "city": {"type": "string"}, "province": {"type": "string"},
        "lat": {"type": ["number", "null"]}, "lon": {"type": ["number", "null"]}}})
    weight_g = Int()
    pieces = Int()
    cod_amount = Int()
    declared_value = Int()
    delivery_window = fields.Method("_window", metadata={
        "type": ["object", "null"], "properties": {
            "start": {"type": "string", "format": "date-time"},
            "end": {"type": "string", "format": "date-time"}}})
    id_check_required = fields.Boolean()
    signature_required = fields.Boolean()
    next_attempt_on = fields.Date(allow_none=True)
    awaiting = fields.Enum(Awaiting, by_value=True, allow_none=True, metadata={
        "description": "After a failed attempt, what the item waits for instead of another "
                       "round: `collection` (its recipient will collect it at the office) or "
                       "`return` (its courier chose the return to the sender; or, "
                       "partially delivered, the rest of its pieces goes back); null: "
                       "another round (on next_attempt_on)"})
    collect_by = fields.Function(_collect_by, allow_none=True, metadata={
        "type": "string", "format": "date",
        "description": "Awaiting collection: the last day the office holds the item for its "
                       "recipient (the day on the notice; the attempt's day plus "
                       "`POSTAL_COLLECTION_HOLD_DAYS`); after it the item is due for its "
                       "return to the sender (the returns due). Null otherwise"})
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()

    def _sender(self, it: Any) -> dict[str, Any]:
        return {"name": it.sender_name, "phone": it.sender_phone, "address": it.sender_address}

    def _recipient(self, it: Any) -> dict[str, Any]:
        return {"name": it.recipient_name, "phone": it.recipient_phone,
                "address": it.recipient_address, "ward": it.recipient_ward,
                "city": it.recipient_city, "province": it.recipient_province,
                "lat": it.recipient_lat, "lon": it.recipient_lon}

    def _window(self, it: Any) -> dict[str, Any] | None:
        if it.window_start is None:
            return None
        return {"start": it.window_start.isoformat(), "end": it.window_end.isoformat()}


class AssignmentSchema(Schema):
    """One period an item was assigned to a courier (server time)."""

    courier = fields.Nested(CourierRefSchema)
    started_at = fields.AwareDateTime()
    ended_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "null while the courier still holds the item"})
    started_by = fields.Nested(ActorSchema, allow_none=True, metadata={
        "description": "who gave the courier the item (null for a backfilled period)"})
    started_how = fields.String(attribute="started_how.value", metadata={
        "description": "manual (assigned by hand), route_plan (a plan was published), "
                       "backfill (held when the history began: at least since "
                       "started_at, the item's last change then)"})
    started_plan_id = fields.Integer(allow_none=True)
    ended_by = fields.Nested(ActorSchema, allow_none=True)
    ended_how = fields.Method("_ended_how", metadata={
        "type": ["string", "null"], "description": "manual or route_plan; null while the "
                                                   "courier still holds the item"})
    ended_plan_id = fields.Integer(allow_none=True)

    def _ended_how(self, a: Any) -> str | None:
        return a.ended_how.value if a.ended_how is not None else None


class RecipientRequestCreateSchema(Schema):
    kind = fields.Enum(RequestKind, by_value=True, required=True, metadata={
        "description": "`hold`: the recipient will collect it at the office by `day`; "
                       "`deliver`: they ask for a delivery round on `day`"})
    day = Day(required=True, metadata={
        "description": "Viet Nam date, from today to 60 days ahead: the last day held "
                       "(hold) or the day of the round (deliver)"})
    note = Text(500, allow_none=True, multiline=True, metadata={
        "description": "What the recipient said (by phone, at the counter)"})


class RecipientRequestSchema(Schema):
    """A recipient's request as the office recorded it."""

    kind = fields.Enum(RequestKind, by_value=True)
    day = fields.Date()
    note = fields.String(allow_none=True)
    by = fields.Nested(ActorSchema, attribute="actor")
    at = fields.AwareDateTime(attribute="created_at")
    awaiting_before = fields.Enum(Awaiting, by_value=True, allow_none=True, metadata={
        "description": "What the item waited for before it"})
    collect_by_before = fields.Date(allow_none=True)
    next_attempt_before = fields.Date(allow_none=True)


class RoundRefSchema(Schema):
    """An item's delivery round, as its detail shows it."""

    id = fields.Integer()
    code = fields.String()
    name = fields.String()


class ItemDetailSchema(ItemSchema):
    events = fields.List(fields.Nested(EventSchema))
    allowed_events = fields.List(fields.String())
    assignments = fields.List(
        fields.Nested(AssignmentSchema), allow_none=True, attribute="assignment_history",
        metadata={"description": "Who held the item when, oldest first (office staff "
                                 "only: null for couriers)"})
    recipient_requests = fields.List(
        fields.Nested(RecipientRequestSchema), allow_none=True, metadata={
            "description": "What its recipient asked the office for (collect later, a "
                           "delivery round), oldest first (office staff only: null for "
                           "couriers)"})
    round = fields.Nested(RoundRefSchema, allow_none=True, attribute="delivery_round", metadata={
        "description": "The delivery round of its office that covers its recipient ward "
                       "(GET /rounds), {id, code, name}; null when none does (office staff "
                       "only: null for couriers)"})


class ItemPageSchema(Schema):
    items = fields.List(fields.Nested(ItemSchema))
    page = fields.Integer()
    page_size = fields.Integer()
    total = fields.Integer()


class ItemQuerySchema(Schema):
    status = fields.List(fields.Enum(Status, by_value=True))
    courier_id = Id()
    office_id = Id()
    created_from = Day(metadata={"description": "Created on or after (UTC date)"})
    created_to = Day(metadata={"description": "Created on or before (UTC date)"})
    page = Int(load_default=1, validate=validate.Range(1, 100_000))
    page_size = Int(load_default=50, validate=validate.Range(1, 200))


class AssignSchema(Schema):
    courier_id = Id(required=True, allow_none=True,
                                metadata={"description": "null to unassign"})


class ItemStateSchema(Schema):
    identifier = fields.String()
    status = fields.Enum(Status, by_value=True)
    failed_attempts = fields.Integer()
    next_attempt_on = fields.Date(allow_none=True, metadata={
        "description": "After a failed attempt: the day of the next round"})
    awaiting = fields.Enum(Awaiting, by_value=True, allow_none=True, metadata={
        "description": "After a failed attempt: `collection` or `return` instead of "
                       "another round; after a partial delivery `return` (as the item's "
                       "`awaiting`)"})
    collect_by = fields.Function(_collect_by, allow_none=True, metadata={
        "type": "string", "format": "date",
        "description": "Awaiting collection: the last day the office holds it, to write "
                       "on the notice left at the door"})
    courier = fields.Nested(CourierRefSchema, allow_none=True)
    allowed_events = fields.List(fields.String())


class EventResultSchema(Schema):
    event = fields.Nested(EventSchema)
    item = fields.Nested(ItemStateSchema)
    replayed = fields.Boolean(metadata={"description": "True when this client_event_id had "
                                        "already been recorded: nothing changed"})
    follow_up_events = fields.List(fields.Nested(EventSchema),
                                   metadata={"description": "Events the system added "
                                             "(return to sender after the last attempt)"})


class ImportRowErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "1-based data row (the header is row 0)"})
    identifier = fields.String(allow_none=True)
    errors = fields.List(fields.Dict())


class ImportResultSchema(Schema):
    created = fields.Integer()
    failed = fields.Integer()
    identifiers = fields.List(fields.String())
    errors = fields.List(fields.Nested(ImportRowErrorSchema))
