"""Items and tracking events: creation, visibility, assignment and the lifecycle.

Every function takes the session, the acting user and the time explicitly and only
flushes; the caller commits (one transaction per request or per CLI command).
"""

from __future__ import annotations

import csv
import hmac
import io
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict

from geopy.distance import geodesic
from marshmallow import Schema, ValidationError
from sqlalchemy import Select, func, insert, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import (
    AssignmentHow,
    Awaiting,
    DeliveryProof,
    EventCode,
    EvidenceKind,
    FailureReason,
    Item,
    ItemAssignment,
    ItemState,
    Office,
    Product,
    RecipientRequest,
    Relation,
    RequestKind,
    Role,
    TrackingEvent,
    UnreadScan,
    UnreadState,
    User,
    let_other_writers_in,
    lifecycle,
    lock_rows,
    sender_key,
)

from .. import ratelimit
from ..devicetime import TIME_FLAGS
from ..errors import Conflict, Forbidden, NotFound, Problem, Unprocessable
from ..evidence import lock_evidence, unknown_evidence
from ..localtime import day_start, local_day
from ..proof import policy, reuse
from . import custody, identifiers

# What a courier may record in the field, on items assigned to them.
COURIER_EVENTS = frozenset({EventCode.EDG, EventCode.EMH, EventCode.EMI, EventCode.EDH,
                            EventCode.EDF})
FIELD_EVENTS_NEEDING_GPS = frozenset({EventCode.EMH, EventCode.EMI})
# After these no attempt is scheduled: one is under way (EDG), the item waits at a
# pick-up point for collection (EDH), or it is closed (EMI, RTS). A hold at the office
# (EDF, the usual step after a failed attempt) keeps the day: the retry is still due.
NO_ATTEMPT_DUE = frozenset({EventCode.EDG, EventCode.EDH, EventCode.EMI, EventCode.RTS})


# ---------------------------------------------------------------- visibility

def visible_items(actor: User) -> Select[Item]:
    """Items the actor may see: couriers their own, dispatchers their office's."""
    stmt = select(Item)
    if actor.role is Role.COURIER:
        stmt = stmt.where(Item.courier_id == actor.id)
    elif actor.role is Role.DISPATCHER:
        stmt = stmt.where(Item.office_id == actor.office_id)
    return stmt


def get_item(session: Session, actor: User, identifier: str, *, for_update: bool = False,
             with_events: bool = False) -> Item:
    """The item, if the actor may see it; 404 otherwise (existence is not revealed)."""
    value = identifiers.normalize(identifier)
    stmt = visible_items(actor).where(Item.identifier == value)
    if with_events:
        stmt = stmt.options(selectinload(Item.events))
    if for_update:
        lock_rows(session, Item, Item.identifier == value)
        stmt = stmt.with_for_update(of=Item).execution_options(populate_existing=True)
    item = session.execute(stmt).unique().scalar_one_or_none()
    if item is None:
        raise NotFound(f"No item {value} that you can see.", identifier=value)
    return item


def lock_items(session: Session, actor: User, values: Collection[str]) -> None:
    """Lock, in id order, the rows of the items (by number) that the actor may see.

    A batch that records events on several items takes each item's lock as it comes
    to it and keeps them all until it commits; two batches that reach the same items
    in different orders would each hold one and wait for the other (PostgreSQL ends
    that deadlock by failing one of them). Taking them all first, in one order, makes
    the second batch wait for the first instead. A courier's batch also locks the items
    they held before (an event of theirs may be accepted as held then:
    :func:`record_event`)."""
    normalized = sorted({identifiers.normalize(v) for v in values})
    if not normalized:
        return
    lock_rows(session, Item, Item.identifier.in_(normalized))
    stmt = select(Item.id).where(Item.identifier.in_(normalized))
    if actor.role is Role.COURIER:
        # and those they held before, whose events may be accepted (held then)
        stmt = stmt.where(or_(Item.courier_id == actor.id, Item.id.in_(
            select(ItemAssignment.item_id).where(ItemAssignment.courier_id == actor.id))))
    elif actor.role is Role.DISPATCHER:
        stmt = stmt.where(Item.office_id == actor.office_id)
    session.execute(stmt.order_by(Item.id).with_for_update(of=Item)).all()


def lock_kept_scans(session: Session, cids: Collection[str]) -> None:
    """Lock the scans kept without an item number (:class:`models.UnreadScan`) under
    these ``client_event_id``, before any item: staff resolving one lock it, then its
    item (api/scans/unread.py), and an event that settles one
    (:func:`_settle_kept_scan`) takes them in that order too."""
    wanted = sorted(set(cids))
    if not wanted:
        return
    lock_rows(session, UnreadScan, UnreadScan.client_event_id.in_(wanted))
    session.execute(select(UnreadScan.id).where(UnreadScan.client_event_id.in_(wanted))
                    .order_by(UnreadScan.id).with_for_update()).all()


def _settle_kept_scan(session: Session, actor: User, event: TrackingEvent, item: Item,
                      now: datetime) -> None:
    """A scan kept without an item number whose courier then recorded it as an event
    (the number typed, sent by the offline sync or to the events API) under its
    ``client_event_id``, with its action and device time: resolved by it, as by a
    retry of the scan (no scan is recorded from it: ``scan_id`` stays empty). Another
    event under its id is another thing: the scan stays for the office."""
    kept = session.execute(select(UnreadScan).where(
        UnreadScan.client_event_id == event.client_event_id)).scalar_one_or_none()
    if (kept is None or kept.state is not UnreadState.OPEN or kept.actor_id != actor.id
            or kept.action.event_code is not event.code
            or kept.device_time != event.device_time):
        return
    kept.state, kept.resolved_at, kept.identifier = UnreadState.RESOLVED, now, item.identifier
    session.flush()


# ---------------------------------------------------------------- creation

def _office_for(session: Session, actor: User, office_id: int | None) -> Office:
    if actor.role is Role.DISPATCHER:
        if office_id is not None and office_id != actor.office_id:
            raise Forbidden("Dispatchers create items for their own office only.")
        office_id = actor.office_id
    if office_id is None:
        raise Unprocessable("office_id is required.", errors=[
            {"pointer": "/office_id", "detail": "Required for an admin."}])
    office = session.get(Office, office_id)
    if office is None:
        raise Unprocessable(f"No office {office_id}.", errors=[
            {"pointer": "/office_id", "detail": "Unknown office."}])
    return office


def _product(data: Mapping[str, Any], ident: identifiers.Identifier) -> Product:
    """The item's product: an S10 number's own, which the input may not contradict."""
    product = data.get("product")
    if ident.product is not None:
        if product is not None and product is not ident.product:
            raise Unprocessable(
                f"{ident.value} is a {ident.product.value} number; product {product.value} "
                "contradicts it.",
                errors=[{"pointer": "/product", "detail": "Contradicts the S10 number."}])
        product = ident.product
    return product or Product.PARCEL


def _item_values(data: Mapping[str, Any], ident: identifiers.Identifier, product: Product,
                 office_id: int, now: datetime) -> dict[str, Any]:
    """The columns of a new, accepted item from validated input."""
    window = data.get("delivery_window") or {}
    sender, rcpt = data["sender"], data["recipient"]
    return dict(
        identifier=ident.value, identifier_kind=ident.kind,
        carrier=data.get("carrier") or ident.carrier, product=product,
        sender_name=sender["name"], sender_phone=sender.get("phone"),
        sender_key=sender_key(sender.get("phone")),
        sender_address=sender.get("address", ""),
        recipient_name=rcpt["name"], recipient_phone=rcpt.get("phone"),
        recipient_address=rcpt["address"], recipient_ward=rcpt.get("ward"),
        recipient_city=rcpt["city"], recipient_province=rcpt["province"],
        recipient_lat=rcpt.get("lat"), recipient_lon=rcpt.get("lon"),
        recipient_id_hash=policy.id_hash(ident.value, rcpt["id_number"])
        if rcpt.get("id_number") else None,
        weight_g=data.get("weight_g", 0), pieces=data.get("pieces", 1),
        cod_amount=data.get("cod_amount", 0),
        declared_value=data.get("declared_value", 0),
        window_start=window.get("start"), window_end=window.get("end"),
        # administrative documents go to the named person only: ID check always
        id_check_required=bool(data.get("id_check_required"))
        or product is Product.ADMIN_DOCUMENT,
        signature_required=bool(data.get("signature_required")),
        status=lifecycle.Status.ACCEPTED, failed_attempts=0, office_id=office_id,
        created_at=now, updated_at=now,
    )


def _acceptance(item_id: int, actor_id: int, actor_role: Role, office_id: int,
                now: datetime) -> dict[str, Any]:
    """The columns of a new item's acceptance event (EMA)."""
    # '#' is not in a client's keys (schemas.CLIENT_EVENT_ID): no client can take this
    # one first
    return dict(item_id=item_id, code=EventCode.EMA, client_event_id=f"srv#ema-{item_id}",
                device_time=now, server_time=now, actor_id=actor_id, actor_role=actor_role,
                office_id=office_id, status_after=lifecycle.Status.ACCEPTED, source="system")


def create_item(session: Session, actor: User, data: Mapping[str, Any], *, now: datetime,
                carrier_patterns: Mapping[str, str]) -> Item:
    """Create an item from validated input and record its acceptance (EMA)."""
    if actor.role is Role.COURIER:
        raise Forbidden("Couriers cannot create items.")
    ident = identifiers.classify(data["identifier"], carrier_patterns)
    product = _product(data, ident)
    office = _office_for(session, actor, data.get("office_id"))
    exists = session.execute(
        select(Item.id).where(Item.identifier == ident.value)).scalar_one_or_none()
    if exists is not None:
        raise _duplicate(ident.value)
    item = Item(**_item_values(data, ident, product, office.id, now))
    try:
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            item.office = office
            session.add(item)
            session.flush()
            session.add(TrackingEvent(**_acceptance(item.id, actor.id, actor.role,
                                                    office.id, now)))
            session.flush()
    except IntegrityError:
        # the same item created by another request at the same moment
        raise _duplicate(ident.value) from None
    return item


def _duplicate(identifier: str) -> Conflict:
    return Conflict(f"Item {identifier} already exists.", slug="duplicate-item",
                    identifier=identifier)


# ---------------------------------------------------------------- listing

@dataclass
class ItemFilters:
    status: list[lifecycle.Status] = field(default_factory=list)
    courier_id: int | None = None
    office_id: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    page: int = 1
    page_size: int = 50


def list_items(session: Session, actor: User, f: ItemFilters) -> tuple[list[Item], int]:
    stmt = visible_items(actor)
    if f.status:
        stmt = stmt.where(Item.status.in_(f.status))
    if f.courier_id is not None:
        stmt = stmt.where(Item.courier_id == f.courier_id)
    if f.office_id is not None:
        stmt = stmt.where(Item.office_id == f.office_id)
    if f.created_from is not None:
        stmt = stmt.where(Item.created_at >= datetime.combine(f.created_from, time(), UTC))
    if f.created_to is not None:
        end = datetime.combine(f.created_to, time(), UTC) + timedelta(days=1)
        stmt = stmt.where(Item.created_at < end)
    total = session.execute(
        select(func.count()).select_from(stmt.order_by(None).subquery())).scalar_one()
    rows = session.execute(
        stmt.order_by(Item.created_at.desc(), Item.id.desc())
        .limit(f.page_size).offset((f.page - 1) * f.page_size)
    ).unique().scalars().all()
    return list(rows), int(total)


# ---------------------------------------------------------------- assignment

def assign(session: Session, actor: User, identifier: str, courier_id: int | None, *,
           now: datetime) -> Item:
    if actor.role is Role.COURIER:
        raise Forbidden("Couriers cannot assign items.")
    item = get_item(session, actor, identifier, for_update=True)
    if item.status in lifecycle.TERMINAL:
        raise Conflict(f"Item {item.identifier} is {item.status.value}; it cannot be "
                       "assigned.", slug="item-closed", current_status=item.status.value)
    courier = None
    if courier_id is not None:
        courier = session.get(User, courier_id)
        if (courier is None or courier.role is not Role.COURIER or not courier.active
                or courier.office_id != item.office_id):
            raise Unprocessable("Not an active courier of the item's office.", errors=[
                {"pointer": "/courier_id", "detail": "Unknown courier for this office."}])
    # the courier a route plan gave it, again: from now on theirs by hand, which a re-plan
    # keeps (a plan's assignment is the plan's to change)
    if not custody.hand_over(session, item, courier, by=actor, how=AssignmentHow.MANUAL,
                             now=now, reaffirm=True):
        item.updated_at = now  # the same courier again: no new period
        session.flush()
    return item


# ---------------------------------------------------------------- recipient requests

#: statuses in which a recipient's request changes what the item waits for: at the
#: office, held there, or back from a failed attempt (in its courier's bag)
REQUEST_STATUSES = frozenset({lifecycle.Status.AT_DELIVERY_OFFICE,
                              lifecycle.Status.HELD_AT_OFFICE,
                              lifecycle.Status.DELIVERY_FAILED})
#: how far ahead a request's day may be
MAX_REQUEST_DAYS = 60


def recipient_request(session: Session, actor: User, identifier: str,
                      data: Mapping[str, Any], *, now: datetime,
                      max_attempts: int) -> Item:
    """Record what the recipient asked the office for (``data``: ``kind``, ``day``,
    ``note``) and wait for it instead: ``hold``, to collect the parcel at the office
    until ``day`` (the holding's last day: a new ``collect_by``, earlier or later than
    the notice's, also for a parcel that awaited a round or its return); ``deliver``, a
    delivery round on ``day`` (``next_attempt_on``: route plans of that day take it,
    what it awaited cleared). Office staff only (a courier: 403); an item at the office,
    held there or back from a failed attempt (else 409 ``not-waiting``), its attempts
    not used up (else 409 ``attempts-used-up``: it goes back to the sender, the returns
    due list it, and a new round would be refused);
    ``day`` from today to :data:`MAX_REQUEST_DAYS` ahead (else 422)."""
    if actor.role is Role.COURIER:
        raise Forbidden("A recipient's request is recorded by the office, not a courier.")
    item = get_item(session, actor, identifier, for_update=True)
    if item.status not in REQUEST_STATUSES:
        raise Conflict(f"Item {item.identifier} is {item.status.value}: a recipient's "
                       "request applies to an item at the office, held there, or back "
                       "from a failed attempt.", slug="not-waiting",
                       current_status=item.status.value)
    kind: RequestKind = data["kind"]
    day: date = data["day"]
    today = local_day(now)
    if not today <= day <= today + timedelta(days=MAX_REQUEST_DAYS):
        last = today + timedelta(days=MAX_REQUEST_DAYS)
        raise Unprocessable(f"The day must be from today ({today.isoformat()}) to "
                            f"{last.isoformat()}.", errors=[{
                                "pointer": "/day", "detail": f"From {today.isoformat()} "
                                f"to {last.isoformat()} ({MAX_REQUEST_DAYS} days ahead)."}])
    if item.failed_attempts >= max_attempts:
        raise Conflict(f"Item {item.identifier} has used up its {max_attempts} delivery "
                       "attempts: it goes back to the sender (the returns due), a new "
                       "round would be refused; its recipient may still collect it at the "
                       "office until it is returned.", slug="attempts-used-up",
                       failed_attempts=item.failed_attempts)
    session.add(RecipientRequest(
        item_id=item.id, kind=kind, day=day, note=data.get("note"), actor_id=actor.id,
        created_at=now, awaiting_before=item.awaiting, collect_by_before=collect_by(item),
        next_attempt_before=item.next_attempt_on))
    if kind is RequestKind.HOLD:
        item.next_attempt_on = None
        item.wait_for(Awaiting.COLLECTION, collection_end(day, 0))
    else:
        item.next_attempt_on = day
        item.wait_for(None)
    item.updated_at = now
    session.flush()
    return item


def recipient_requests(session: Session, item_id: int) -> list[RecipientRequest]:
    """An item's recipient requests, oldest first."""
    return list(session.execute(
        select(RecipientRequest).where(RecipientRequest.item_id == item_id)
        .order_by(RecipientRequest.id)).scalars())


# ---------------------------------------------------------------- events

@dataclass
class EventResult:
    event: TrackingEvent
    item: Item
    replayed: bool
    follow_up_events: list[TrackingEvent] = field(default_factory=list)


def _replay_of(session: Session, actor: User, client_event_id: str, identifier: str,
               code: EventCode, data: Mapping[str, Any]) -> EventResult | None:
    """The event already recorded under ``client_event_id``, if this is a resend of it;
    409 ``idempotency-key-reused`` if the id was used for another event: another item or
    code, someone else's, or the same item and code at another time or for another
    reason (a phone whose ids repeat after a reinstall: its second failed attempt on the
    item was answered as a duplicate of the first, and lost)."""
    ev = session.execute(select(TrackingEvent).where(
        TrackingEvent.client_event_id == client_event_id)).scalar_one_or_none()
    if ev is None:
        return None
    item = session.get(Item, ev.item_id)
    assert item is not None
    if item.identifier != identifiers.normalize(identifier) or ev.code is not code:
        raise Conflict(
            f"client_event_id {client_event_id} was already used for another event.",
            slug="idempotency-key-reused")
    if actor.role is not Role.ADMIN and ev.actor_id != actor.id:
        # someone else's event id: do not reveal what it was
        raise Conflict(f"client_event_id {client_event_id} was already used.",
                       slug="idempotency-key-reused")
    if (ev.device_time != data["device_time"] or ev.reason != data.get("reason")
            or ev.action != data.get("action")):
        raise Conflict(
            f"client_event_id {client_event_id} was already used for another "
            f"{code.value} on this item (at {ev.device_time.isoformat()}).",
            slug="idempotency-key-reused")
    follow = session.execute(select(TrackingEvent).where(
        TrackingEvent.client_event_id == f"{client_event_id}#rts")).scalars().all()
    return EventResult(ev, item, True, list(follow))


class EventSettings(TypedDict, total=False):
    """:func:`record_event`'s settings from the app's configuration, as keyword
    arguments: the limits for a field event's GPS fix, and how long the office holds a
    parcel for its recipient to collect."""

    geo_max_distance_m: float
    geo_max_accuracy_m: float
    collection_hold_days: int


def record_event(session: Session, actor: User, identifier: str, data: Mapping[str, Any], *,
                 now: datetime, max_attempts: int, keep_late_conflicts: bool = False,
                 flags: Sequence[str] = (), clock_skew_s: float | None = None,
                 sync_upload_id: int | None = None, source: str = "api",
                 geo_max_distance_m: float = 300.0,
                 geo_max_accuracy_m: float = 100.0,
                 collection_hold_days: int = 7) -> EventResult:
    """Apply one event to an item, exactly once per ``client_event_id``.

    The item row is locked for the transition (``SELECT ... FOR UPDATE``, and
    SQLite's write lock: :func:`models.lock_rows`), so two concurrent events cannot
    both pass the legality check against the same state.

    With ``keep_late_conflicts`` (offline sync, scans), an event that happened (device
    time) before the item's latest applied event does not change the item: it is kept
    in the history, unapplied (the state does not move back, and nothing that hangs on
    applying it happens: no return to sender, no delivery code, no COD cash booked; a
    failed attempt still counts, and says what comes next only as its round's result,
    :func:`_count_late_attempt`) and flagged ``late_conflict`` if it is illegal
    now (instead of a 409), ``late_event`` if it is legal, except a legal delivery:
    that is applied, late or not (the parcel is gone). For a legal one the device
    time is corrected by the phone's measured clock skew (``clock_skew_s``: the sync
    upload's, or the request's own ``sent_at``; kept on the event), and one flagged
    ``implausible_device_time`` is never late
    (its time says nothing about the order): it is applied as it arrives.

    A courier's event on an item no longer theirs is accepted, flagged ``held_then``,
    when the assignment history shows they held the item at its device time (corrected
    by the clock skew; never for an implausible time): it happened before the
    item was given to someone else, so it is late by definition, whichever way it came
    (kept as ``late_event`` or ``late_conflict``; a legal delivery applied, its COD cash
    booked to this courier). Otherwise it is a 404 (``item-reassigned`` to a courier
    who had the item: :func:`_refuse_if_reassigned`).

    A delivery whose proof hands over part of the pieces (:func:`is_partial`) leads to
    ``partially_delivered`` instead of ``delivered`` (:func:`models.lifecycle.apply`'s
    ``partial``); the rest then awaits its return (``Item.awaiting`` ``return``), and the
    COD booked is what the proof says was collected for the part accepted.
    """
    code: EventCode = data["code"]
    cid: str = data["client_event_id"]
    replay = _replay_of(session, actor, cid, identifier, code, data)
    if replay is not None:
        return replay
    if actor.role is Role.COURIER and code not in COURIER_EVENTS:
        raise Forbidden(f"Couriers cannot record {code.value}.")
    if source != "scan":  # a scan settles its kept photo itself (api.scans.service)
        lock_kept_scans(session, [cid])
    held_then = False
    try:
        item = get_item(session, actor, identifier, for_update=True)
    except NotFound:
        if actor.role is not Role.COURIER:
            raise
        # an item reassigned since: the courier's event counts if they held it then
        when = ordering_time(data["device_time"], flags, clock_skew_s)
        held = _held_at(session, actor, identifier, when)
        if held is None:
            _refuse_if_reassigned(session, actor, identifier)
            raise
        item, held_then = held, True
    # again under the lock: the same event resent at once may have just been recorded
    replay = _replay_of(session, actor, cid, identifier, code, data)
    if replay is not None:
        return replay
    # a delivery of part of the pieces leads elsewhere (the proof is checked below: one
    # that says it wrongly is a 422 whatever the state)
    partial = code is EventCode.EMI and is_partial(item, data.get("proof"))
    loc = data.get("location")
    if actor.role is Role.COURIER and code in FIELD_EVENTS_NEEDING_GPS and not loc:
        raise Unprocessable("A delivery or failed attempt needs the GPS position.",
                            errors=[{"pointer": "/location", "detail": "Required."}])
    if code is EventCode.EDG and item.courier_id is None and not held_then:
        raise Conflict("Assign the item to a courier before it goes out for delivery.",
                       slug="not-assigned", current_status=item.status.value)
    flags = list(flags) + geo_flags(item, code, loc, max_distance_m=geo_max_distance_m,
                                    max_accuracy_m=geo_max_accuracy_m)
    if held_then:
        flags.append("held_then")
    applied = True
    try:
        new_state = lifecycle.apply(item.state, code, max_attempts, partial=partial)
    except lifecycle.IllegalTransitionError:
        # an event held then came before the reassignment: late by definition
        # (a clock found off is corrected here too: a fast phone's real attempt was
        # refused as not late; an implausible time is compared as it is)
        if not (held_then or (keep_late_conflicts and _is_late(
                session, item, ordering_time(data["device_time"], flags, clock_skew_s)
                or data["device_time"]))):
            raise
        new_state, applied = item.state, False
        flags.append("late_conflict")
    else:
        # legal now, but it happened before what the item's status already says (the
        # dispatcher held it and sent it out again meanwhile): applying it would move
        # the status back and could get the next real event refused. A delivery is
        # applied whenever it happened: the parcel is gone, with its proof and its cash,
        # whatever the office recorded since. An event held then happened before the
        # item was given to someone else (or to nobody): late whatever came since
        when = (None if code is EventCode.EMI or not (keep_late_conflicts or held_then)
                else ordering_time(data["device_time"], flags, clock_skew_s))
        if when is not None and (held_then or _is_late(session, item, when)):
            new_state, applied = item.state, False
            flags.append("late_event")
    # every file it cites locked at once, in one order (a delivery's proof and the
    # event's own photo), for the look-up of their other uses (api.proof.reuse)
    lock_evidence(session, [*((data.get("proof") or {}).get(k) for k in ("photo",
                                                                         "signature")),
                            data.get("photo")])
    # after the legality check: an illegal delivery is a 409, whatever its proof
    proof = (check_proof(session, actor, item, data.get("proof"), applied=applied)
             if code is EventCode.EMI else None)
    photo = check_event_photo(session, actor, item, code, data)
    event = TrackingEvent(
        item_id=item.id, code=code, client_event_id=cid, device_time=data["device_time"],
        server_time=now, actor_id=actor.id, actor_role=actor.role, office_id=item.office_id,
        lat=loc["lat"] if loc else None, lon=loc["lon"] if loc else None,
        accuracy_m=loc.get("accuracy_m") if loc else None,
        reason=data.get("reason"), action=data.get("action"), note=data.get("note"),
        status_after=new_state.status, source=source, applied=applied, flags=flags or None,
        sync_upload_id=sync_upload_id, clock_skew_s=clock_skew_s, photo_sha256=photo,
        # an applied failure always counts: the next number (a late one: below)
        attempt_no=(new_state.failed_attempts if code is EventCode.EMH and applied
                    else None),
    )
    event.actor = actor
    # a file another visit cited first (another recipient's delivery, an attempt at
    # another address or on another day, another person's payout): recorded, flagged
    # for review
    if proof is not None:
        proof.reused_from = reuse.delivery_reuse(session, item, event, proof) or None
    if photo is not None:
        event.photo_reused_from = reuse.event_photo_reuse(session, item, event) or None
    if (proof is not None and proof.reused_from) or event.photo_reused_from:
        event.flags = [*(event.flags or ()), reuse.FLAG]
    if proof is not None:
        from ..cash.service import partial_cod_flag

        # a partial delivery's COD that does not follow its pieces (nothing for what was
        # handed over, or all of it for part): there is no price per piece to refuse it
        # by, so it is flagged for the office's check
        if (cod_flag := partial_cod_flag(item, proof.pieces_delivered,
                                         proof.cod_collected)) is not None:
            event.flags = [*(event.flags or ()), cod_flag]
    try:
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            session.add(event)
            session.flush()
    except IntegrityError:
        # a concurrent request with the same client_event_id won the race
        replay = _replay_of(session, actor, cid, identifier, code, data)
        if replay is None:
            raise
        return replay
    if proof is not None:
        proof.event_id = event.id
        session.add(proof)
        session.flush()
    if source != "scan":
        _settle_kept_scan(session, actor, event, item, now)
    if not applied:
        if code is EventCode.EMH:
            _count_late_attempt(session, item, event, now, max_attempts, data=data,
                                collection_hold_days=collection_hold_days)
        return EventResult(event, item, False, [])
    # in a courier's bag until now: the COD cash a delivery takes is in their hands,
    # even when office staff record it for them (a phone that died)
    bag = item.courier_id if item.status is lifecycle.Status.OUT_FOR_DELIVERY else None
    if bag is not None and actor.role is not Role.COURIER and code in (EventCode.EMI,
                                                                        EventCode.EMH):
        # relayed from the field: the courier's outcome, for the office to check
        event.for_courier_id = bag
    item.move_to(new_state, now)
    if code is EventCode.EMH:
        from ..cash.service import field_shift_day

        _wait_after_attempt(item, data, field_shift_day(
            data["device_time"], now, flags, clock_skew_s), max_attempts, collection_hold_days)
    elif code in NO_ATTEMPT_DUE:
        item.next_attempt_on = None
        # part of it delivered: the rest waits for its return to the sender (the
        # returns due list it; RTS is the only next event)
        item.wait_for(Awaiting.RETURN if partial else None)
    if code is EventCode.EDG and item.delivery_code is None and policy.needs_delivery_code(item):
        item.delivery_code = policy.new_delivery_code()
    if code is EventCode.EMI:
        item.delivery_code = None  # used
        if proof is not None:
            from ..outcomes.service import confirm_by_code

            # the recipient gave the courier the one-time code: confirmed as it arrives
            confirm_by_code(session, event, proof, now)
        if proof is not None and proof.cod_collected:
            from ..cash.service import record_cod

            holder = bag if bag is not None and actor.role is not Role.COURIER else actor.id
            record_cod(session, actor, item, event, proof.cod_collected, now, holder=holder)
    follow: list[TrackingEvent] = []
    if code is EventCode.EMH and new_state.failed_attempts >= max_attempts:
        follow.append(_return_to_sender(session, item, event, now, max_attempts))
    session.flush()
    return EventResult(event, item, False, follow)


def _held_at(session: Session, actor: User, identifier: str, when: datetime | None
             ) -> Item | None:
    """The item (locked), if the assignment history shows the courier held it at
    ``when`` (the event's device time, corrected by the clock skew:
    :func:`ordering_time`); None if it does not, or the time is implausible (None)."""
    if when is None:
        return None
    value = identifiers.normalize(identifier)
    # an item the courier never held is not locked: a sync batch has locked its items
    # (:func:`lock_items`, in id order, those the courier held among them) and holds
    # them; one more lock now, out of that order, could deadlock with a publish locking
    # the same items in id order (PostgreSQL fails one of the two)
    item_id = session.execute(select(Item.id).where(Item.identifier == value)
                              ).scalar_one_or_none()
    if item_id is None or not custody.held_then(session, actor.id, item_id, when):
        return None
    lock_rows(session, Item, Item.id == item_id)
    item = session.execute(
        select(Item).where(Item.id == item_id).with_for_update(of=Item)
        .execution_options(populate_existing=True)).unique().scalar_one_or_none()
    if item is None or not custody.held_then(session, actor.id, item.id, when):
        return None  # (again under the lock: the period may have ended meanwhile)
    return item


def _refuse_if_reassigned(session: Session, actor: User, identifier: str) -> None:
    """A courier's event on an item they held or recorded events on before, but do not
    hold now and did not hold at the event's time (or its time is implausible): the
    distinct ``item-reassigned`` 404, so the phone keeps the event (a delivery made
    offline, its COD cash in hand) for a supervisor instead of dropping it as unknown.

    Nothing is recorded: the assignment history does not show this courier held the
    item then (an event it does show them holding it is accepted, :func:`_held_at`).
    Only a courier who was given the item or recorded an event on it gets this answer:
    it tells them nothing they did not know, and to anyone else the item stays hidden.
    """
    value = identifiers.normalize(identifier)
    had_it = session.execute(
        select(TrackingEvent.id).join(Item, Item.id == TrackingEvent.item_id)
        .where(Item.identifier == value, TrackingEvent.actor_id == actor.id).limit(1)
    ).first() or session.execute(
        select(ItemAssignment.id).join(Item, Item.id == ItemAssignment.item_id)
        .where(Item.identifier == value, ItemAssignment.courier_id == actor.id).limit(1)
    ).first()
    if had_it is not None:
        raise NotFound(f"Item {value} is no longer assigned to you; nothing was recorded. "
                       "Keep the event on the phone and show it to a supervisor.",
                       slug="item-reassigned", title="Item no longer assigned to you",
                       identifier=value)


def proof_uploaders(session: Session, actor: User, item: Item) -> set[int]:
    """Whose uploads a delivery recorded by ``actor`` may cite as its proof, and an
    event (a failed attempt) as its photo.

    A courier: their own only (the photo they took, the signature captured on their
    phone). Office staff also record deliveries (a recipient collecting at the counter,
    a correction for a courier whose phone died after uploading the photo): their own
    uploads and those of every courier who held the item (its courier now and the
    assignment history), never another item's courier's."""
    allowed = {actor.id}
    if actor.role is Role.COURIER:
        return allowed
    if item.courier_id is not None:
        allowed.add(item.courier_id)
    allowed.update(session.execute(select(ItemAssignment.courier_id).where(
        ItemAssignment.item_id == item.id)).scalars())
    return allowed


def check_proof(session: Session, actor: User, item: Item, proof: Mapping[str, Any] | None,
                *, applied: bool = True) -> DeliveryProof:
    """The proof a delivery needs under the item's policy, checked; 422 names what is
    missing or wrong (a file nobody uploaded, or somebody the actor may not cite:
    :func:`proof_uploaders`). Returns the (unsaved) proof row. Its files' rows are
    locked until the transaction ends (:func:`api.evidence.lock_evidence`), for the
    look-up of other deliveries citing them (:mod:`api.proof.reuse`).

    A delivery kept unapplied (``applied`` false: a late conflict, such as the same
    hand-over recorded again after the delivery used the item's code) is not asked for
    a code the item no longer has: it changes nothing, and is kept for review."""
    proof = dict(proof or {})
    if (applied and actor.role is Role.ADMIN and item.cod_amount > 0 and not (
            item.status is lifecycle.Status.OUT_FOR_DELIVERY and item.courier_id is not None)):
        # its cash would be the admin's (record_event): no ledger shows an admin's, no
        # hand-in takes it, and the office report showed it on hand for good
        raise Forbidden("An admin has no cash till: a cash-on-delivery item handed over "
                        "at the counter is recorded by the office's staff (a dispatcher), "
                        "who takes the cash and hands it in.")
    if (applied and actor.role is Role.COURIER and item.delivery_code is None
            and policy.needs_delivery_code(item)):
        # its code is issued when it goes out (EDG): a courier who delivered it from the
        # office, never sent out, needed none (staff at the counter check the person)
        raise Unprocessable(
            "This item is delivered against a one-time code, issued when it goes out for "
            "delivery (EDG); none was issued: send it out first.", slug="proof-required",
            errors=[{"pointer": "/proof/delivery_code",
                     "detail": "Required: " + policy.DETAIL["delivery_code"]
                               + " None was issued: the item was never sent out (EDG)."}])
    missing = policy.missing(item, proof)
    if missing:
        raise Unprocessable("This delivery lacks the proof its policy requires: "
                            + "; ".join(m["detail"] for m in missing), slug="proof-required",
                            errors=missing)
    lock_evidence(session, [proof.get("photo"), proof.get("signature")])
    wrong = unknown_evidence(session, {
        "/proof/photo": (proof.get("photo"), EvidenceKind.PHOTO),
        "/proof/signature": (proof.get("signature"), EvidenceKind.SIGNATURE)},
        uploaders=proof_uploaders(session, actor, item))
    wrong += _partial_errors(item, proof)
    partial = is_partial(item, proof)
    if item.cod_amount > 0 and partial and (proof.get("cod_collected") or 0) > item.cod_amount:
        # the recipient pays for the part they accept: the courier says how much
        wrong.append({"pointer": "/proof/cod_collected",
                      "detail": f"A partial delivery collects from 0 to the COD amount, "
                                f"{item.cod_amount} VND."})
    elif item.cod_amount > 0 and not partial and proof.get("cod_collected") != item.cod_amount:
        wrong.append({"pointer": "/proof/cod_collected",
                      "detail": f"Must equal the COD amount, {item.cod_amount} VND."})
    elif item.cod_amount <= 0 and proof.get("cod_collected"):
        # it would be booked as cash the courier holds
        wrong.append({"pointer": "/proof/cod_collected",
                      "detail": "This item has no cash on delivery."})
    number = proof.get("id_number")
    checks_id = bool(number and item.recipient_id_hash
                     and proof.get("relation", "recipient") == "recipient")
    if item.delivery_code or checks_id:
        ratelimit.check_proof_attempts(item.id)  # 429 after too many wrong ones
    guessed_wrong = False
    if item.delivery_code and not hmac.compare_digest(
            str(proof.get("delivery_code") or ""), item.delivery_code):
        wrong.append({"pointer": "/proof/delivery_code", "detail": "Wrong delivery code."})
        guessed_wrong = True
    matched = None
    if checks_id:
        matched = hmac.compare_digest(policy.id_hash(item.identifier, str(number)),
                                      str(item.recipient_id_hash))
        if not matched:
            wrong.append({"pointer": "/proof/id_number",
                          "detail": "Does not match the recipient's ID number on file."})
            guessed_wrong = True
    if guessed_wrong:
        ratelimit.proof_failed(item.id)
    if wrong:
        raise Unprocessable("The proof of delivery is not valid.", slug="proof-invalid",
                            errors=wrong)
    return DeliveryProof(
        relation=Relation(proof.get("relation", "recipient")),
        received_by=proof.get("received_by"),
        id_number_last4=policy.normalise_id(number)[-4:] if number else None,
        id_number_hash=policy.id_hash(item.identifier, number) if number else None,
        id_matched=matched, photo_sha256=proof.get("photo"),
        signature_sha256=proof.get("signature"),
        code_verified=bool(item.delivery_code), cod_collected=proof.get("cod_collected"),
        pieces_delivered=proof.get("pieces_delivered") if partial else None,
        partial_reason=proof.get("partial_reason") if partial else None)


def is_partial(item: Item, proof: Mapping[str, Any] | None) -> bool:
    """Whether a delivery's proof hands over part of the item's pieces only (fewer than
    ``pieces``; none said, or all of them: a delivery of everything)."""
    n = (proof or {}).get("pieces_delivered")
    return n is not None and n < item.pieces


def _partial_errors(item: Item, proof: Mapping[str, Any]) -> list[dict[str, str]]:
    """What is wrong with what a delivery's proof says of the pieces handed over: more
    than the item has, a partial delivery without its reason, a reason for a delivery
    of every piece."""
    n, reason = proof.get("pieces_delivered"), proof.get("partial_reason")
    if n is not None and n > item.pieces:
        return [{"pointer": "/proof/pieces_delivered",
                 "detail": f"The item has {item.pieces} piece(s): at most {item.pieces}."}]
    if is_partial(item, proof) and reason is None:
        return [{"pointer": "/proof/partial_reason",
                 "detail": "Required for a partial delivery: why the rest was not handed "
                           "over (refused_part, damaged_part, missing_part, other)."}]
    if not is_partial(item, proof) and reason is not None:
        return [{"pointer": "/proof/partial_reason",
                 "detail": f"Only a partial delivery (pieces_delivered fewer than the "
                           f"item's {item.pieces}) has a reason."}]
    return []


# Failed-attempt reasons whose claim a photo (of the door, the address plate) supports
PHOTO_REASONS = frozenset({FailureReason.RECIPIENT_ABSENT, FailureReason.MOVED,
                           FailureReason.WRONG_ADDRESS})


EVENT_PHOTO_RULE = ("an event (a failed attempt), like a delivery, cites only photos "
                    "its recorder uploaded (office staff: also a courier who held the "
                    "item).")


def check_event_photo(session: Session, actor: User, item: Item, code: EventCode,
                      data: Mapping[str, Any]) -> str | None:
    """The event's own photo (the door or the address plate of a failed attempt),
    required for :data:`PHOTO_REASONS`; 422 for a file nobody uploaded or one the actor
    may not cite (:func:`proof_uploaders`, as for a delivery's proof). The caller has
    locked its row (:func:`record_event`, with the proof's files), for the look-up of
    its other uses (:mod:`api.proof.reuse`)."""
    sha = data.get("photo")
    if code is EventCode.EMH and data.get("reason") in PHOTO_REASONS and not sha:
        raise Unprocessable(
            f"A failed attempt for '{data['reason'].value}' needs a photo (the door or the "
            "address plate), uploaded first.", slug="proof-required",
            errors=[{"pointer": "/photo", "detail": "Required for this reason."}])
    if not sha:
        return None
    wrong = unknown_evidence(session, {"/photo": (sha, EvidenceKind.PHOTO)},
                             uploaders=proof_uploaders(session, actor, item),
                             rule=EVENT_PHOTO_RULE)
    if wrong:
        raise Unprocessable(wrong[0]["detail"], slug="proof-invalid", errors=wrong)
    return str(sha)


def _wait_after_attempt(item: Item, data: Mapping[str, Any], day: date, max_attempts: int,
                        hold_days: int) -> None:
    """What comes next after the failed attempt ``data`` made on ``day``: its next
    attempt's day (:func:`next_attempt_day`) and what the item waits for instead
    (:func:`models.lifecycle.awaiting_after`, a collection held :func:`collection_end`).
    Nothing once the attempts are used up: the item goes back (the automatic return of
    an applied attempt, the returns due for one counted late), so no recipient is told a
    day to collect it by."""
    item.next_attempt_on = next_attempt_day(data, item, max_attempts, day=day)
    awaiting = (None if item.failed_attempts >= max_attempts
                else lifecycle.awaiting_after(data.get("reason"), data.get("action")))
    item.wait_for(awaiting, collection_end(day, hold_days)
                  if awaiting is Awaiting.COLLECTION else None)


def collection_end(day: date, hold_days: int) -> datetime:
    """When the office stops holding a parcel for its recipient after a failed attempt
    on ``day``: local midnight after ``hold_days`` more days (the attempt's day not
    counted; the last one is the day on the notice, :func:`collect_by`)."""
    return day_start(day + timedelta(days=hold_days + 1))


def collect_by(item: Item) -> date | None:
    """The last day an item awaiting collection is held for its recipient (None for
    any other item)."""
    if item.awaiting is not Awaiting.COLLECTION or item.collect_until is None:
        return None
    return last_day_held(item.collect_until)


def last_day_held(until: datetime) -> date:
    """The last local day before ``until`` (:func:`collection_end`'s midnight)."""
    return local_day(until - timedelta(microseconds=1))


def next_attempt_day(data: Mapping[str, Any], item: Item, max_attempts: int, *,
                     day: date | None = None) -> date | None:
    """The recipient's day if they asked for one; none if the item goes back or waits for
    its recipient or its return (:func:`models.lifecycle.awaiting_after`: they will
    collect it, the courier held it at the office or returns it); else the day after the
    attempt's ``day`` (default: its device time's, in Viet Nam; a field event passes
    :func:`api.cash.service.field_shift_day`'s, so that a phone a year ahead does not put
    the next attempt a year off)."""
    if item.failed_attempts >= max_attempts:  # the item goes back
        return None
    reason = data.get("reason")
    if lifecycle.awaiting_after(reason, data.get("action")) is not None:
        return None
    asked: date | None = data.get("next_attempt_on")  # a Day field: a date or None
    if asked is not None and reason is FailureReason.ASKS_ANOTHER_DAY:
        return asked
    return (local_day(data["device_time"]) if day is None else day) + timedelta(days=1)


GEO_CHECKED = frozenset({EventCode.EMI, EventCode.EMH})


def geo_flags(item: Item, code: EventCode, loc: Mapping[str, Any] | None, *,
              max_distance_m: float, max_accuracy_m: float) -> list[str]:
    """Review flags for a delivery or failed attempt recorded far from the address or
    with a poor GPS fix. Flagged, never refused: the courier may be right."""
    if code not in GEO_CHECKED or not loc:
        return []
    out = []
    accuracy = loc.get("accuracy_m")
    if accuracy is not None and accuracy > max_accuracy_m:
        out.append("poor_gps_accuracy")
    if item.recipient_lat is not None and item.recipient_lon is not None:
        metres = geodesic((loc["lat"], loc["lon"]),
                          (item.recipient_lat, item.recipient_lon)).meters
        if metres > max_distance_m:
            out.append("far_from_address")
    return out


def _is_late(session: Session, item: Item, device_time: datetime) -> bool:
    """Whether ``device_time`` comes before the item's latest applied event, each taken
    at its ordering time (:func:`ordering_time`): one event from a phone a year ahead,
    or reset to 2099, made every later event on the item late, kept unapplied."""
    times = [ordering_time(t, flags or (), skew) for t, flags, skew in session.execute(
        select(TrackingEvent.device_time, TrackingEvent.flags, TrackingEvent.clock_skew_s)
        .where(TrackingEvent.item_id == item.id, TrackingEvent.applied.is_(True)))]
    known = [t if t.tzinfo is not None else t.replace(tzinfo=UTC)
             for t in times if t is not None]
    return bool(known) and device_time < max(known)


def ordering_time(device_time: datetime, flags: Sequence[str], clock_skew_s: float | None
                   ) -> datetime | None:
    """The event's time to compare with the item's latest applied event: the device
    time, corrected by the phone's measured clock skew whenever there is one (a phone
    a few minutes behind, too little to flag, would otherwise be late for what it did
    just after the office's last event); None when the device time is implausible (a
    phone reset to 2000)."""
    if "implausible_device_time" in flags:
        return None
    return device_time if clock_skew_s is None else device_time - timedelta(
        seconds=clock_skew_s)


def _round_time(device_time: datetime, flags: Sequence[str] | None,
                clock_skew_s: float | None) -> datetime:
    """The time that places a stored event in its delivery round
    (:func:`models.lifecycle.counted_attempts`): its ordering time
    (:func:`ordering_time`; a fast phone's attempt falls in the round it was made in),
    or the device time as sent when that is implausible."""
    when = ordering_time(device_time, flags or (), clock_skew_s)
    t = device_time if when is None else when
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)  # (SQLite drops it)


def _return_to_sender(session: Session, item: Item, attempt: TrackingEvent, now: datetime,
                      max_attempts: int) -> TrackingEvent:
    """The return decided by the last failed attempt. It carries the attempt's device
    time, not the server's: histories sort by device time (then id), and a phone clock
    ahead of the server's would otherwise list the return before its cause. With that
    time come the attempt's clock skew and time flags, which say when it most likely
    happened (:func:`api.devicetime.likely_time`, the public page): without them the
    return of a phone 10 minutes behind was shown 10 minutes before its cause, and one
    reset to 2000 on 2000-01-01."""
    state = lifecycle.apply(item.state, EventCode.RTS)
    time_flags = [f for f in attempt.flags or () if f in TIME_FLAGS]
    ev = TrackingEvent(
        item_id=item.id, code=EventCode.RTS, client_event_id=f"{attempt.client_event_id}#rts",
        device_time=attempt.device_time, server_time=now, actor_id=None, office_id=item.office_id,
        note=f"Automatic: {max_attempts} failed delivery attempts.", status_after=state.status,
        source="system", clock_skew_s=attempt.clock_skew_s, flags=time_flags or None,
    )
    session.add(ev)
    item.move_to(state, now)
    item.wait_for(None)  # returned: it waits for nothing
    return ev


def _count_late_attempt(session: Session, item: Item, attempt: TrackingEvent,
                        now: datetime, max_attempts: int, *,
                        data: Mapping[str, Any] | None = None,
                        collection_hold_days: int = 7) -> None:
    """A failed attempt kept unapplied (late, or held then) still happened: it counts
    toward the limit, once for its delivery round (:func:`models.lifecycle.attempts_made`
    says which count; the same attempt recorded twice counts once).

    The status does not move (nothing moves back or on by a late event, so no automatic
    return to sender either), but what comes next uses the true count: when it reaches
    the limit no further round is due, so the retry day is cleared and a new round
    (EDG) is refused; the item waits for the office to return it (RTS), or is collected
    or delivered at the office. An item already out on a round (sent out before the
    attempt arrived) finishes it: a delivery is applied, a failure sends it back.

    ``attempt`` (stored, last in the history) takes its number among the counted
    attempts when it counts (``attempt_no``).

    What the attempt said comes next (the recipient's day, their collection at the
    office with its holding, the courier's choice of a return: ``data`` as sent) holds
    when it is the result of the item's latest round: the item waits at the office or
    back from an attempt (not out on a new round), no round was started after it, and no
    recipient's request was recorded since. A phone offline until the office had scanned
    the parcel back in lost it: the recipient who would collect it by the notice's day
    was sent a courier the next morning."""
    history = session.execute(
        select(TrackingEvent.code, TrackingEvent.device_time, TrackingEvent.applied,
               TrackingEvent.flags, TrackingEvent.clock_skew_s)
        .where(TrackingEvent.item_id == item.id).order_by(TrackingEvent.id)).all()
    made = lifecycle.attempts_made((c, _round_time(t, f, k), a) for c, t, a, f, k in history)
    if made == item.failed_attempts:
        return
    attempt.attempt_no = made
    item.move_to(ItemState(status=item.status, failed_attempts=made), now)
    if made >= max_attempts:
        item.next_attempt_on = None
    when = _round_time(attempt.device_time, attempt.flags, attempt.clock_skew_s)
    # a round started after it: a departure after it, applied or kept late (a late EDG opens
    # a round too, counted_attempts): the later round's attempt synced first was undone
    # by this earlier one synced (or scanned) after it
    if data is not None and item.status in REQUEST_STATUSES and not any(
            c is EventCode.EDG and _round_time(t, f, k) > when
            for c, t, a, f, k in history) and not session.execute(
            select(RecipientRequest.id).where(RecipientRequest.item_id == item.id,
                                              RecipientRequest.created_at > when)).first():
        from ..cash.service import field_shift_day

        _wait_after_attempt(item, data, field_shift_day(
            attempt.device_time, attempt.server_time, attempt.flags, attempt.clock_skew_s),
            max_attempts, collection_hold_days)
    session.flush()


def replayed_state(item: Item) -> ItemState:
    """What the stored history says; equals the item's columns (tested): the status
    from the applied events, the attempts from all of them, late ones included."""
    status = lifecycle.replay(
        (ev.code, ev.proof is not None and ev.proof.partial)
        for ev in item.events if ev.applied).status
    made = lifecycle.attempts_made(
        (ev.code, _round_time(ev.device_time, ev.flags, ev.clock_skew_s), ev.applied)
        for ev in sorted(item.events, key=lambda e: e.id))
    return ItemState(status=status, failed_attempts=made)


# ---------------------------------------------------------------- CSV import

CSV_COLUMNS = (
    "identifier", "product", "carrier", "office_id",
    "sender_name", "sender_phone", "sender_address",
    "recipient_name", "recipient_phone", "recipient_address", "recipient_ward",
    "recipient_city", "recipient_province", "recipient_lat", "recipient_lon",
    "weight_g", "cod_amount", "declared_value", "window_start", "window_end",
    "id_check_required", "signature_required", "pieces",
)


def _row_to_payload(row: Mapping[str, str | None]) -> dict[str, Any]:
    def val(k: str) -> str | None:
        v = row.get(k)
        v = v.strip() if isinstance(v, str) else None
        return v or None

    out: dict[str, Any] = {"identifier": val("identifier") or ""}
    for k in ("product", "carrier", "office_id", "weight_g", "cod_amount", "declared_value",
              "id_check_required", "signature_required", "pieces"):
        if val(k) is not None:
            out[k] = val(k)
    out["sender"] = {k: val(f"sender_{k}") for k in ("name", "phone", "address")
                     if val(f"sender_{k}") is not None}
    out["recipient"] = {k: val(f"recipient_{k}") for k in ("name", "phone", "address", "ward",
                                                           "city", "province", "lat", "lon")
                        if val(f"recipient_{k}") is not None}
    if val("window_start") or val("window_end"):
        out["delivery_window"] = {"start": val("window_start"), "end": val("window_end")}
    return out


_POINTER_TO_COLUMN = {"/sender/": "sender_", "/recipient/": "recipient_",
                      "/delivery_window/": "window_"}


def _column(pointer: str) -> str:
    for prefix, col in _POINTER_TO_COLUMN.items():
        if pointer.startswith(prefix):
            return col + pointer[len(prefix):]
    return pointer.lstrip("/")


def _listed(columns: Sequence[str], most: int = 20) -> str:
    """Column names for a message: the first ``most`` of them, and how many in all."""
    shown = ", ".join(columns[:most])
    return shown if len(columns) <= most else f"{shown}… ({len(columns)} in all)"


@dataclass
class ImportResult:
    created: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


def import_csv(session: Session, actor: User, text: str, *, now: datetime,
               carrier_patterns: Mapping[str, str], max_rows: int,
               schema: Schema | None = None,
               tell: Callable[[Problem], str] | None = None) -> ImportResult:
    """Create items from CSV rows; each row stands alone (valid rows are kept).
    ``schema``: the rows' (an :class:`ItemImportRowSchema`, its messages in another
    language: the console's Vietnamese page), ``tell``: what a row refused by a check
    past the schema's (a problem: an identifier stored, another office...) is told, by
    default the problem's ``detail``."""
    from .schemas import ItemImportRowSchema

    if actor.role is Role.COURIER:
        raise Forbidden("Couriers cannot import items.")
    # strict: a quote left open is an error, not a field swallowing the rows after it;
    # newline="": rows end at CR LF, LF or a lone CR (a Mac spreadsheet's "CSV
    # (Macintosh)"), as the csv module expects its input read: split at LF only, such a
    # file was one line, refused as "new-line character seen in unquoted field"
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames or []
    except csv.Error as exc:
        raise Unprocessable(f"The file is not valid CSV: {exc}", slug="csv-malformed") \
            from exc
    # counted once (header.count per column took minutes for a line of 20 000 fields,
    # a file with no line breaks; the request's 12 MB, hours)
    repeated = sorted(c for c, n in Counter(header).items() if n > 1)
    if repeated:  # DictReader would keep only the last of them
        raise Unprocessable(f"Repeated CSV columns: {_listed(repeated)}.", slug="csv-header",
                            expected_columns=list(CSV_COLUMNS))
    missing = [c for c in ("identifier", "sender_name", "recipient_name", "recipient_address",
                           "recipient_city", "recipient_province") if c not in header]
    if missing:
        raise Unprocessable(f"The CSV header lacks columns: {', '.join(missing)}.",
                            slug="csv-header", expected_columns=list(CSV_COLUMNS))
    unknown = [c for c in header if c not in CSV_COLUMNS]
    if unknown:
        raise Unprocessable(f"Unknown CSV columns: {_listed(unknown)}.", slug="csv-header",
                            expected_columns=list(CSV_COLUMNS))
    # the whole file is read before anything is stored: a file refused as a whole (too
    # many rows, not CSV) must leave nothing behind
    rows: list[dict[str | Any, Any]] = []
    try:
        for row in reader:
            if len(rows) >= max_rows:
                raise Unprocessable(f"At most {max_rows} rows per import; split the file.",
                                    slug="csv-too-many-rows")
            rows.append(row)
    except csv.Error as exc:
        raise Unprocessable(f"The file is not valid CSV: {exc}", slug="csv-malformed") \
            from exc
    schema = schema if schema is not None else ItemImportRowSchema()
    said = tell or _detail
    result = ImportResult()
    offices: dict[int | None, int | Problem] = {}  # office_id column: the office, or why not
    claimed: set[str] = set()  # identifiers of earlier rows that passed their checks
    actor_id, actor_role = actor.id, actor.role
    let_other_writers_in(session)
    # every row is checked (what needs the database, the office, is looked up once per
    # office), then the rows ready are written in batches, in the order of their
    # identifiers: two imports of the same items at once (on PostgreSQL each one
    # transaction) then wait for each other's rows in one order; in their files' orders
    # each could hold a row the other wants next, a deadlock
    ready: list[_ReadyRow] = []
    for n, row in enumerate(rows, start=1):
        if _blank_row(row):
            continue  # (still counted: later rows keep their numbers)
        checked = _check_row(session, actor, schema, n, row, carrier_patterns, now,
                             offices, claimed, said)
        if isinstance(checked, _ReadyRow):
            ready.append(checked)
        else:
            result.errors.append(checked)
    ready.sort(key=lambda r: str(r.values["identifier"]))
    for first in range(0, len(ready), IMPORT_BATCH_ROWS):
        # an identifier already stored is looked up once per batch
        _write_rows(session, ready[first:first + IMPORT_BATCH_ROWS], actor_id, actor_role,
                    now, result, said)
        # each batch stands alone: on SQLite it is committed at once, so that other
        # requests can write between batches (on PostgreSQL the import is one
        # transaction, which keeps no one else waiting)
        let_other_writers_in(session)
    # the answer in the file's order
    order = {str(r.values["identifier"]): r.n for r in ready}
    result.created.sort(key=lambda ident: order[ident])
    result.errors.sort(key=lambda e: int(e["row"]))
    return result


#: Rows of an import checked, then written, at a time: one query for those of their
#: identifiers already stored, one multi-row INSERT of the items, one of their EMA
#: events. On SQLite a batch holds the write lock for a few tens of milliseconds
#: (docs/benchmarks.md), and releases it while the next batch is checked.
IMPORT_BATCH_ROWS = 250


def _blank_row(row: Mapping[str | Any, Any]) -> bool:
    """A line of empty cells (",,,,": what a spreadsheet exports below its data, or
    between tables), which the csv module reads as a row: no item, no error (each was
    a failed row, "identifier: required"), as a blank line."""
    for value in row.values():
        cells = value if isinstance(value, list) else [value]  # extra fields: a list
        if any(isinstance(c, str) and c.strip() for c in cells):
            return False
    return True


@dataclass
class _ReadyRow:
    """A row that passed every check but the database's: its number and item columns."""

    n: int
    values: dict[str, Any]


def _check_row(session: Session, actor: User, schema: Schema, n: int,
               row: dict[str | Any, Any], carrier_patterns: Mapping[str, str],
               now: datetime, offices: dict[int | None, int | Problem], claimed: set[str],
               said: Callable[[Problem], str]) -> _ReadyRow | dict[str, Any]:
    """Row ``n`` ready to be written, or its error."""
    from ..errors import validation_pointers

    if None in row:
        return {"row": n, "identifier": row.get("identifier"), "errors": [
            {"column": None, "detail": schema.error_messages["extra_fields"]}]}
    try:
        data = schema.load(_row_to_payload(row))
    except ValidationError as exc:
        errs = [{"column": _column(p.get("pointer", "")), "detail": p["detail"]}
                for p in validation_pointers({"json": exc.messages})]
        return {"row": n, "identifier": row.get("identifier"), "errors": errs}
    # create_item's checks, in its order: the product, the office, the identifier
    try:
        ident = identifiers.classify(data["identifier"], carrier_patterns)
        product = _product(data, ident)
    except Unprocessable as exc:
        return _row_error(n, data["identifier"], exc, said)
    key = data.get("office_id")
    if key not in offices:
        offices[key] = _office_id_or_problem(session, actor, key)
    office = offices[key]
    if isinstance(office, Problem):
        return _row_error(n, data["identifier"], office, said)
    if ident.value in claimed:  # an earlier row has it: created, or refused as stored
        return _row_error(n, data["identifier"], _duplicate(ident.value), said)
    claimed.add(ident.value)
    return _ReadyRow(n, _item_values(data, ident, product, office, now))


def _office_id_or_problem(session: Session, actor: User, office_id: int | None
                          ) -> int | Problem:
    try:
        return _office_for(session, actor, office_id).id
    except (Unprocessable, Forbidden) as exc:
        return exc


def _detail(exc: Problem) -> str:
    return exc.detail


def _row_error(n: int, identifier: str, exc: Problem, said: Callable[[Problem], str]
               ) -> dict[str, Any]:
    errs = exc.extensions.get("errors") or [{"pointer": ""}]
    return {"row": n, "identifier": identifier, "errors": [
        {"column": _column(e.get("pointer", "")) or None, "detail": said(exc)}
        for e in errs]}


def _write_rows(session: Session, batch: Sequence[_ReadyRow], actor_id: int,
                actor_role: Role, now: datetime, result: ImportResult,
                said: Callable[[Problem], str]) -> None:
    """Create the items of checked rows with their EMA events, but those whose
    identifier is already stored (reported as the rows' errors)."""
    if not batch:
        return
    idents = [r.values["identifier"] for r in batch]
    try:
        # (on SQLite the savepoint opens the transaction with the write lock taken
        # first, before the batch's reads: api._sqlite_pragmas)
        with session.begin_nested():
            taken = set(session.scalars(select(Item.identifier).where(
                Item.identifier.in_(idents))))
            fresh = [r for r in batch if r.values["identifier"] not in taken]
            if fresh:
                ids = session.scalars(
                    insert(Item).returning(Item.id, sort_by_parameter_order=True)
                    .execution_options(render_nulls=True),
                    [r.values for r in fresh]).all()
                session.execute(insert(TrackingEvent), [
                    _acceptance(item_id, actor_id, actor_role, r.values["office_id"], now)
                    for item_id, r in zip(ids, fresh, strict=True)])
    except IntegrityError:
        # one of them created by another request since the read (PostgreSQL): row by
        # row, to tell which
        if len(batch) > 1:
            for r in batch:
                _write_rows(session, [r], actor_id, actor_role, now, result, said)
            return
        taken, fresh = set(idents), []
    result.created.extend(r.values["identifier"] for r in fresh)
    result.errors.extend(_row_error(r.n, r.values["identifier"],
                                    _duplicate(r.values["identifier"]), said)
                         for r in batch if r.values["identifier"] in taken)
