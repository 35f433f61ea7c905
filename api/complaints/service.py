"""Complaints: opened by office staff or by the customer (item number + phone), answered
against an SLA clock, with the item's whole trail as evidence."""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, case, cast, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from models import (
    Awaiting,
    Complaint,
    ComplaintCategory,
    ComplaintChange,
    ComplaintStatus,
    CourierPosition,
    EventCode,
    Item,
    Product,
    Role,
    Status,
    TrackingEvent,
    User,
    locked_one,
)
from models.base import in_code_order
from models.complaint import CLOSED, TRANSITIONS

from ..devicetime import ping_clock_time
from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..items import custody, identifiers
from ..items import service as items
from ..localtime import local_day
from ..scope import office_for_read

# Hours to answer a complaint, per product (the post's service charter)
SLA_HOURS = {Product.EMS: 24, Product.ADMIN_DOCUMENT: 24, Product.REGISTERED: 48,
             Product.INSURED: 48}
DEFAULT_SLA_HOURS = 72
TRAIL_WINDOW = timedelta(minutes=30)


def _digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def new_reference() -> str:
    return f"KN{secrets.token_hex(4).upper()}"


#: a complaint reference as :func:`new_reference` makes it
REFERENCE_RE = re.compile(r"KN[0-9A-F]{8}")
#: new references drawn for a complaint before giving up (each clash is a 1 in 4 billion
#: chance per complaint stored)
REFERENCE_TRIES = 5


def _new(session: Session, item: Item, *, channel: str, actor: User | None,
         category: ComplaintCategory, description: str, now: datetime,
         reference: str | None = None) -> Complaint:
    hours = SLA_HOURS.get(item.product, DEFAULT_SLA_HOURS)
    c = Complaint(reference=reference or new_reference(), item_id=item.id,
                  office_id=item.office_id, channel=channel,
                  opened_by_id=actor.id if actor else None, category=category,
                  description=description, status=ComplaintStatus.OPEN, created_at=now,
                  due_at=now + timedelta(hours=hours), updated_at=now)
    c.item = item
    if reference is not None:  # the caller's: a clash is theirs to settle (open_staff)
        session.add(c)
        session.flush()
        return c
    # a reference of our own is 32 random bits: among ~80 000 complaints two meet by
    # chance, and the customer whose complaint drew the used one got a 500
    for attempt in range(REFERENCE_TRIES):
        try:
            with session.begin_nested():  # (it flushes what is pending first: add inside)
                session.add(c)
                session.flush()
            return c
        except IntegrityError:
            if attempt + 1 == REFERENCE_TRIES:
                raise
            c.reference = new_reference()
    raise AssertionError("unreachable")


def open_public(session: Session, number: str, phone: str, category: ComplaintCategory,
                description: str, *, now: datetime) -> Complaint:
    """A customer's complaint: the phone number on the item proves the link. Nothing
    personal is echoed back."""
    try:
        value = identifiers.classify(number).value
    except ValueError as exc:
        raise Unprocessable(str(exc), slug="invalid-identifier") from exc
    item = session.execute(select(Item).where(Item.identifier == value)).unique().scalar()
    given = _digits(phone)
    on_file = [_digits(p) for p in (item.recipient_phone, item.sender_phone)] if item else []
    if item is None or len(given) < 9 or not any(
            len(p) >= 9 and p[-9:] == given[-9:] for p in on_file):
        # one answer for "no such item" and "wrong phone": the number proves nothing
        raise Forbidden("The item number and phone number do not match our records.",
                        slug="complaint-not-verified")
    return _new(session, item, channel="public", actor=None, category=category,
                description=description, now=now)


def open_staff(session: Session, actor: User, identifier: str, category: ComplaintCategory,
               description: str, *, now: datetime, reference: str | None = None
               ) -> Complaint:
    """A complaint opened by office staff. ``reference`` (the console's form, which
    makes it once per form): the same complaint sent again (a double submit) is
    answered with the stored one, also when both arrive at once (they meet at the
    unique reference); the reference of another complaint is a 409."""
    if actor.role is Role.COURIER:
        raise Forbidden("Couriers do not open complaints.")
    item = items.get_item(session, actor, identifier)

    def earlier() -> Complaint | None:
        c: Complaint | None = session.execute(select(Complaint).where(
            Complaint.reference == reference)).unique().scalar()
        if c is None:
            return None
        if (c.item_id, c.opened_by_id, c.category, c.description) == (
                item.id, actor.id, category, description):
            return c
        raise Conflict(f"The reference {reference} was used for another complaint.",
                       slug="idempotency-key-reused")

    if reference is None:
        return _new(session, item, channel="office", actor=actor, category=category,
                    description=description, now=now)
    if (same := earlier()) is not None:
        return same
    try:
        with session.begin_nested():
            return _new(session, item, channel="office", actor=actor, category=category,
                        description=description, now=now, reference=reference)
    except IntegrityError:
        if (same := earlier()) is None:
            raise
        return same


def _office_ids(office_id: int | None, statuses: list[ComplaintStatus],
                overdue_before: datetime | None) -> Any:
    """SQL: the ids of the complaints a dispatcher of ``office_id`` sees and handles, as
    :func:`_visible` decides for one, of ``statuses`` (due before ``overdue_before``):
    their office's (the item was there when the complaint was opened: its SLA and quality
    figures count it there) and those about an item their office holds now (moved to it
    since: a transfer), which it may have to answer for (it delivers the item now).

    Two selects, each on its own index, put together (``UNION ALL``: the second leaves
    out the office's own, so none comes twice): the office's complaints by
    ``ix_complaints_office_status``; those opened elsewhere whose item is the office's
    now by the office's item ids (``ix_items_office_id``, read from the index alone)
    joined to the complaints of the statuses. As one ``OR`` (the office's, or its item's
    office looked up for each complaint) neither index could be used: every complaint of
    the statuses, of every office, was read and its item looked up
    (docs/benchmarks.md)."""
    own = select(Complaint.id).where(Complaint.office_id == office_id,
                                     Complaint.status.in_(statuses))
    held = (select(Complaint.id).join(Item, Item.id == Complaint.item_id)
            .where(Item.office_id == office_id, Complaint.office_id != office_id,
                   Complaint.status.in_(statuses)))
    if overdue_before is not None:
        own = own.where(Complaint.due_at < overdue_before)
        held = held.where(Complaint.due_at < overdue_before)
    return union_all(own, held)


def _visible(session: Session, actor: User, complaint_id: int, *, for_update: bool = False
             ) -> Complaint:
    """The complaint, if ``actor`` may see and handle it: admins any; dispatchers their
    office's and those about an item now at their office (:func:`_office_ids`); 404
    otherwise (its existence is not revealed)."""
    if for_update:  # a status change is checked against the current status
        c = locked_one(session, Complaint, Complaint.id == complaint_id)
    else:
        c = session.get(Complaint, complaint_id)
    if c is None or actor.role is Role.COURIER or (
            actor.role is Role.DISPATCHER
            and actor.office_id not in (c.office_id, c.item.office_id)):
        raise NotFound(f"No complaint {complaint_id} that you can see.")
    return c


def answers_for(c: Complaint, actor: User) -> bool:
    """Whether ``actor`` answers for the complaint: closes it (resolved, rejected) and
    reopens it. The office it was opened at does (its SLA clock and quality figures count
    the answer: ``answered_at``, the complaints closed), and admins; the office holding
    the item since (a transfer) works on it (investigating, notes: what it found, the
    answer it proposes, which the opening office may close with) but does not close it
    for the other office, nor reopen or change the answer once given."""
    return actor.role is Role.ADMIN or actor.office_id == c.office_id


def next_statuses(c: Complaint, actor: User) -> set[ComplaintStatus]:
    """The statuses ``actor`` may move the complaint to (:func:`answers_for`)."""
    allowed = TRANSITIONS[c.status]
    if answers_for(c, actor):
        return set(allowed)
    return set() if c.status in CLOSED else allowed - CLOSED


def queue(session: Session, actor: User, *, statuses: list[ComplaintStatus],
          overdue_only: bool, now: datetime, limit: int = 500, offset: int = 0
          ) -> tuple[list[Complaint], int]:
    """One page of the complaints queue (``limit`` rows from ``offset``), soonest due
    first, and how many complaints it holds in all. It was the 500 soonest due and
    nothing more: past 500 open cases the rest were out of sight, without a word."""
    if actor.role is Role.COURIER:
        raise Forbidden("Couriers do not handle complaints.")
    statuses = statuses or [ComplaintStatus.OPEN, ComplaintStatus.INVESTIGATING]
    overdue_before = now if overdue_only else None
    stmt = select(Complaint)
    if actor.role is Role.DISPATCHER:
        ids = _office_ids(actor.office_id, statuses, overdue_before)
        # counted on the ids alone (no complaint row read); the page reads its rows
        total = int(session.execute(
            select(func.count()).select_from(ids.subquery())).scalar_one())
        rows = session.execute(stmt.where(Complaint.id.in_(ids))
                               .order_by(Complaint.due_at, Complaint.id)
                               .limit(limit).offset(offset)
                               .options(selectinload(Complaint.history))).unique().scalars()
        return list(rows), total
    stmt = stmt.where(Complaint.status.in_(statuses))
    if overdue_before is not None:
        stmt = stmt.where(Complaint.due_at < overdue_before)
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    rows = session.execute(stmt.order_by(Complaint.due_at, Complaint.id)
                           .limit(limit).offset(offset)
                           .options(selectinload(Complaint.history))).unique().scalars()
    return list(rows), total


def update(session: Session, actor: User, complaint_id: int, data: Mapping[str, Any], *,
           now: datetime, seen_status: str | None = None) -> Complaint:
    """``seen_status``: the status the change was decided on (the console's form); a
    complaint whose status changed since (another dispatcher resolved it) is a 409,
    not reopened or closed over their decision.

    A change of status or of the note is kept in the complaint's history (who, when,
    the status before and after, the note given): ``resolution_note`` is the latest
    note, which a reopened and resolved again complaint replaced without a trace."""
    c = _visible(session, actor, complaint_id, for_update=True)
    before, note = c.status, data.get("resolution_note") or None
    if seen_status is not None and seen_status != c.status.value:
        raise Conflict(f"The complaint became {c.status.value} since the page was shown; "
                       "nothing was changed: look at it again.",
                       slug="complaint-changed", current_status=c.status.value)
    new = data.get("status")
    if not answers_for(c, actor) and (
            c.status in CLOSED or (new is not None and new in CLOSED)):
        # the answer is the opening office's: its SLA and figures count it
        raise Forbidden(
            f"The complaint is answered by the office it was opened at ({c.office.code}): "
            "your office may investigate it and add notes while it is open, not close, "
            "reopen or change it once answered.", slug="complaint-answered-elsewhere",
            office_id=c.office_id)
    if new is not None and new is not c.status:
        if new not in TRANSITIONS[c.status]:
            raise Conflict(f"A {c.status.value} complaint cannot become {new.value}.",
                           slug="illegal-complaint-transition", current_status=c.status.value,
                           allowed=[s.value for s in TRANSITIONS[c.status]])
        if new in CLOSED and not (data.get("resolution_note") or c.resolution_note):
            raise Unprocessable("Closing a complaint needs a resolution note.", errors=[
                {"pointer": "/resolution_note", "detail": "Required to close."}])
        c.status = new
        c.answered_at = now if new in CLOSED else None
    if c.status is not before or (note is not None and note != c.resolution_note):
        session.add(ComplaintChange(complaint=c, created_at=now, actor_id=actor.id,
                                    status_before=before, status=c.status, note=note))
    if note is not None:
        c.resolution_note = note
    c.updated_at, c.updated_by_id = now, actor.id
    session.flush()
    return c


def trail_events(item: Any, actor: User) -> list[TrackingEvent]:
    """The item's attempts (EMI, EMH by someone) whose courier's GPS trail ``actor`` is
    shown around them: each one, but to a dispatcher of an office the item has left (a
    complaint opened there, :func:`_visible`) only those made while their office held
    it. The other office's couriers' positions are that office's (a courier's track is
    for their office's dispatchers): the office the item left was shown an hour of them
    around each attempt the other office made."""
    left = actor.role is Role.DISPATCHER and item.office_id != actor.office_id
    # as :func:`as_left` shows it: also its courier's attempts synced after it left
    own = getattr(item, "own_event_ids", None) or set()
    return [ev for ev in item.events
            if ev.code in (EventCode.EMI, EventCode.EMH) and ev.actor_id is not None
            and not (left and ev.office_id != actor.office_id and ev.id not in own)]


class Masked:
    """``obj`` as shown, with some attributes replaced (``shown``): what the office an
    item left is shown of it. Nothing is changed on the stored row (a session flush
    would write a change made to it)."""

    def __init__(self, obj: Any, **shown: Any) -> None:
        self.__dict__["_obj"] = obj
        self.__dict__.update(shown)

    def __getattr__(self, name: str) -> Any:  # what is not replaced, as stored
        return getattr(self.__dict__["_obj"], name)


def left_office(c: Complaint, actor: User) -> bool:
    """Whether ``actor`` looks at the complaint from the office it was opened at, the
    item having moved to another office since (a transfer): :func:`as_left`."""
    return (actor.role is Role.DISPATCHER and actor.office_id == c.office_id
            and c.item.office_id != actor.office_id)


def _of_office(user: User | None, office_id: int) -> bool:
    """Staff of the office, or an admin (whose name any office is shown)."""
    return user is not None and (user.role is Role.ADMIN or user.office_id == office_id)


def as_left(session: Session, c: Complaint, item: Item) -> tuple[Masked, dict[str, Any]]:
    """The item as the office the complaint was opened at sees it once the item has
    moved to another office, and a summary of what happened since.

    Its history up to when it left: each event up to the last one recorded at that
    office (``office_id``) or before the complaint was opened (the office held the item
    then), as its item page showed it, and those its couriers made while they held the
    item for it (one made offline and synced after the item left is booked to the office
    holding it when it arrived: it was hidden, and counted as the other's). The others,
    the other office's, are counted with the offices that recorded them and the item's
    status now (delivered or not): not their times, places, GPS, proof (who received
    it, the signature and photo), actors or photos, which are the other office's records
    of its recipient and its staff. Who held the item: the periods of couriers of the
    office, the other office's staff who ended one not named; its current courier not
    named; the recipient's requests recorded by the office (or an admin) only. No events
    offered (``allowed_events``: they are the holding office's to record). The GPS
    trails are :func:`trail_events`'."""
    office_id = c.office_id
    cut = max((ev.id for ev in item.events
               if ev.office_id == office_id or ev.server_time <= c.created_at), default=0)
    held = [a for a in custody.history(session, item.id) if a.courier.office_id == office_id]

    def held_for_office(ev: TrackingEvent) -> bool:
        # its courier's, made while they held the item for the office: an offline one
        # synced after the item left is booked to the office holding it when it arrived
        when = items.ordering_time(ev.device_time, ev.flags or (), ev.clock_skew_s)
        return when is not None and any(
            a.courier_id == ev.actor_id and a.started_at <= when
            and (a.ended_at is None or when < a.ended_at) for a in held)

    own = [ev for ev in item.events if ev.id <= cut or held_for_office(ev)]
    own_ids = {ev.id for ev in own}
    later = [ev for ev in item.events if ev.id not in own_ids]
    offices = {ev.office.id: ev.office for ev in later if ev.office is not None}
    periods: list[Any] = []
    for a in held:
        ended_elsewhere = a.ended_by_id is not None and not _of_office(a.ended_by, office_id)
        periods.append(Masked(a, ended_by=None, ended_plan_id=None) if ended_elsewhere else a)
    view = Masked(item, events=own, own_event_ids=own_ids, courier=None,
                  courier_id=None, allowed_events=[], assignment_history=periods,
                  recipient_requests=[r for r in items.recipient_requests(session, item.id)
                                      if _of_office(r.actor, office_id)])
    summary = {"count": len(later), "status": item.status.value,
               "offices": [{"id": o.id, "code": o.code, "name": o.name}
                           for o in sorted(offices.values(), key=lambda o: o.id)]}
    return view, summary


def evidence(session: Session, actor: User, complaint_id: int) -> dict[str, Any]:
    """The whole trail: every event (device and server time, GPS, flags, proof, scan
    photo), who held the item when, its recipient's requests and the courier's GPS
    trail around each delivery attempt (:func:`trail_events`). For the office the item
    has left, the item as :func:`as_left` shows it and ``later_events`` (None
    otherwise)."""
    c = _visible(session, actor, complaint_id)
    item = session.execute(select(Item).where(Item.id == c.item_id).options(
        selectinload(Item.events))).unique().scalar_one()
    later: dict[str, Any] | None = None
    if left_office(c, actor):
        shown, later = as_left(session, c, item)
    else:
        shown = Masked(item, assignment_history=custody.history(session, item.id),
                       recipient_requests=items.recipient_requests(session, item.id))
    trails = []
    for ev in trail_events(shown, actor):
        # on the pings' clock: a phone's pings are stored corrected for a clock found off
        when = ping_clock_time(ev.device_time, ev.flags, ev.clock_skew_s)
        pts = session.execute(select(CourierPosition).where(
            CourierPosition.courier_id == ev.actor_id,
            CourierPosition.device_time >= when - TRAIL_WINDOW,
            CourierPosition.device_time <= when + TRAIL_WINDOW,
        ).order_by(CourierPosition.device_time)).scalars().all()
        trails.append({"event_id": ev.id, "code": ev.code.value,
                       "device_time": ev.device_time.isoformat(),
                       "points": [{"lat": p.lat, "lon": p.lon, "accuracy_m": p.accuracy_m,
                                   "device_time": p.device_time.isoformat()} for p in pts]})
    return {"complaint": c, "item": shown, "gps_trails": trails, "later_events": later}


class MissingScans(NamedTuple):
    """A page of :func:`missing_scans`: its rows, how many in all, and how many were left
    out because their next attempt is due on a later day."""

    rows: list[dict[str, Any]]
    total: int
    due_later: int
    held_for_collection: int


def _held_for_collection(now: datetime) -> Any:
    """SQL: the office still holds the item for its recipient at ``now`` (its
    ``collect_until`` ahead: set only while it awaits collection, ``Item.wait_for``).
    Never NULL, so its negation keeps the items that await nothing."""
    return and_(Item.collect_until.is_not(None), Item.collect_until > now)


def missing_scans(session: Session, actor: User, office_id: int | None, *, now: datetime,
                  idle_hours: float, out_hours: float, limit: int = 50,
                  offset: int = 0, max_attempts: int | None = None) -> MissingScans:
    """Items whose next scan is overdue: at the office (or held) with no attempt for
    ``idle_hours``, or out for delivery for ``out_hours`` without a result; the
    longest silent first. One page (``limit`` rows from ``offset``) and the total:
    the database does the filtering, so a large office costs one page of rows.

    A parcel whose next attempt is due on a later day (``next_attempt_on``: the day the
    recipient asked for) is waiting as planned, not forgotten: it is left out and
    counted (``due_later``), by the rule route plans follow
    (:func:`api.route_plans.service.due_later`: out for delivery, it is judged as any
    parcel out). From that day on it is judged by its last scan as any other. An item
    whose failed attempts use up ``max_attempts`` expects its return to the sender
    (RTS), not a new round (refused): the row says so (``attempts_used_up``); so does
    one whose courier chose to return it (``Item.awaiting``). One whose recipient will
    collect it, held at the office, is waiting as planned until the office's holding
    ends (``Item.collect_until``): left out and counted (``held_for_collection``); then
    it expects its return (still in its courier's bag, it expects its scan back in)."""
    if actor.role is Role.COURIER:
        raise Forbidden("Couriers do not see the office's missing scans.")
    if actor.role is Role.DISPATCHER or office_id is not None:
        # the office rule (another office's: a 404, not the dispatcher's own silently);
        # an admin naming none sees every office
        office_id = office_for_read(actor, office_id, what="the office's missing scans")
    # an event happened when its phone says, but not after the server got it (a phone a
    # year ahead kept its item off the list for a year), and a time flagged implausible
    # (a phone reset to 2000) counts from when it was received
    ev = TrackingEvent
    when = case((cast(ev.flags, Text).like("%implausible_device_time%"), ev.server_time),
                (ev.device_time > ev.server_time, ev.server_time), else_=ev.device_time)
    # (partially delivered: the rest of its pieces waits for its return, RTS)
    waiting = Item.status.in_([Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE,
                               Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED,
                               Status.PARTIALLY_DELIVERED])
    # the last scan of the items that may be waiting (of the office) only: grouped over
    # every event ever recorded, it read the whole table, for the page and again for its
    # total (1.2 million events: 2.6 s for an office of 4 400 items, 0.16 s now)
    candidates = select(Item.id).where(waiting)
    if office_id is not None:
        candidates = candidates.where(Item.office_id == office_id)
    last = (select(ev.item_id, func.max(when).label("t"))
            .where(ev.applied.is_(True), ev.item_id.in_(candidates))
            .group_by(ev.item_id).subquery())
    out_for = Item.status == Status.OUT_FOR_DELIVERY
    later = and_(~out_for, Item.next_attempt_on > local_day(now))
    silent = (select(Item, last.c.t).join(last, last.c.item_id == Item.id)
              .where(waiting)
              .where(or_(and_(out_for, last.c.t <= now - timedelta(hours=out_hours)),
                         and_(~out_for, last.c.t <= now - timedelta(hours=idle_hours)))))
    if office_id is not None:
        silent = silent.where(Item.office_id == office_id)
    held = and_(_held_for_collection(now),
                Item.status.in_([Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE]))
    stmt = silent.where(or_(Item.next_attempt_on.is_(None), ~later), ~held)

    def count(query: Any) -> int:
        return int(session.execute(
            select(func.count()).select_from(query.order_by(None).subquery())).scalar_one())

    rows = session.execute(stmt.order_by(last.c.t, Item.id).limit(limit).offset(offset)).all()
    out = []
    for item, t in rows:
        if t.tzinfo is None:  # SQLite aggregates come back naive (UTC)
            t = t.replace(tzinfo=UTC)
        idle = (now - t).total_seconds() / 3600
        used_up = (max_attempts is not None and item.status is not Status.OUT_FOR_DELIVERY
                   and item.failed_attempts >= max_attempts)
        until = items.collect_by(item)
        out.append({"identifier": item.identifier, "status": item.status.value,
                    "since": t.isoformat(), "hours_without_scan": round(idle, 1),
                    "expected": "a delivery result (EMI or EMH)"
                    if item.status is Status.OUT_FOR_DELIVERY
                    else "a return to sender (RTS) of the pieces not delivered"
                    if item.status is Status.PARTIALLY_DELIVERED
                    else "a return to sender (RTS)"
                    if used_up or item.awaiting is Awaiting.RETURN
                    else "its scan back in at the office (EDF), to be collected there"
                    if item.awaiting is Awaiting.COLLECTION
                    and item.status is Status.DELIVERY_FAILED
                    else f"a return to sender (RTS): not collected by {until.isoformat()}"
                    if item.awaiting is Awaiting.COLLECTION and until is not None
                    else "its collection at the office (EMI), or a return to sender (RTS)"
                    if item.awaiting is Awaiting.COLLECTION
                    else "a delivery attempt (EDG)",
                    "attempts_used_up": used_up, "courier_id": item.courier_id,
                    "awaiting": None if item.status is Status.OUT_FOR_DELIVERY
                    or item.awaiting is None else item.awaiting.value,
                    "collect_by": until.isoformat() if until is not None else None})
    return MissingScans(out, count(stmt), count(silent.where(later)),
                        count(silent.where(held)))


RETURN_STATUSES = (Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE, Status.DELIVERY_FAILED,
                   Status.PARTIALLY_DELIVERED)


def returns_due(session: Session, office_id: int, *, now: datetime, max_attempts: int,
                limit: int = 50, offset: int = 0) -> tuple[list[dict[str, Any]], int]:
    """Items of ``office_id`` awaiting a return to the sender by hand: their failed
    attempts use up ``max_attempts``, or their courier chose the return at a failed
    attempt (``Item.awaiting``: refused, moved…; ``chosen_at_attempt``), but no return
    (RTS) was recorded. The last failed
    attempt returns an item by itself; one counted late (synced after the item was held
    or sent out again: docs/domain.md, "Lifecycle") does not, and no new round may start
    (EDG is refused, route plans leave it out: ``attempts_used_up``), so the item waits
    at the office, or in its courier's bag after a failure, until staff return it. An item
    out on its round is not listed (its result ends it), nor one at a pick-up point
    (waiting to be collected).

    Each row: the attempts, the last one (device time, reason, and whether it was kept
    late), and since when the item waits: when the attempt that used up the limit was
    recorded (server time), the limit counted as :func:`models.lifecycle.counted_attempts`
    counts (the item's ``failed_attempts``; each counted attempt carries its number,
    ``attempt_no``); without such an attempt (the count was set otherwise) the item's
    last change. The longest waiting first (then by identifier, in character code
    order, as Python sorts: the same on SQLite and PostgreSQL); one page (``limit``
    rows from ``offset``) and the total: the database filters, orders and pages, as for
    :func:`missing_scans`, and only the page's attempts are read."""
    nth = (select(func.min(TrackingEvent.server_time))
           .where(TrackingEvent.item_id == Item.id,
                  TrackingEvent.attempt_no == max_attempts)
           .correlate(Item).scalar_subquery())
    # one whose courier chose the return (attempts left) waits since that attempt: the
    # last applied one (awaiting is set by it, cleared by the next round); its
    # updated_at moved with every later change (scanned back in, reassigned)
    chosen = (select(func.max(TrackingEvent.server_time))
              .where(TrackingEvent.item_id == Item.id, TrackingEvent.code == EventCode.EMH,
                     TrackingEvent.applied.is_(True))
              .correlate(Item).scalar_subquery())
    # one partially delivered (the rest goes back) waits since its delivery
    delivered = (select(func.max(TrackingEvent.server_time))
                 .where(TrackingEvent.item_id == Item.id,
                        TrackingEvent.code == EventCode.EMI,
                        TrackingEvent.applied.is_(True))
                 .correlate(Item).scalar_subquery())
    partial = Item.status == Status.PARTIALLY_DELIVERED
    # one its recipient did not collect in time waits since the office's holding ended
    not_collected = and_(Item.awaiting == Awaiting.COLLECTION, Item.collect_until <= now)
    since = func.coalesce(case((partial, delivered),
                               (Item.failed_attempts >= max_attempts, nth),
                               (not_collected, Item.collect_until), else_=chosen),
                          Item.updated_at).label("since")
    due = (select(Item.id, Item.identifier, Item.status, Item.failed_attempts,
                  Item.courier_id, Item.awaiting, Item.collect_until, since)
           .where(Item.office_id == office_id, Item.status.in_(RETURN_STATUSES),
                  # used up, not while the office still holds it for its recipient
                  # (the setting lowered after the promise), as the missing scans
                  or_(and_(Item.failed_attempts >= max_attempts,
                           ~_held_for_collection(now)),
                      Item.awaiting == Awaiting.RETURN, not_collected)))
    total = int(session.execute(
        select(func.count()).select_from(due.subquery())).scalar_one())
    # the same wait: by identifier, in code order on every database (not by the
    # database's collation: pages would differ between SQLite and PostgreSQL)
    page = session.execute(due.order_by(since, in_code_order(session, Item.identifier))
                           .limit(limit).offset(offset)).all()
    last: dict[int, Any] = {}  # each item's latest counted attempt (device time)
    for h in session.execute(
            select(TrackingEvent.item_id, TrackingEvent.device_time, TrackingEvent.applied,
                   TrackingEvent.reason)
            .where(TrackingEvent.item_id.in_([it.id for it in page]),
                   TrackingEvent.attempt_no.is_not(None))
            .order_by(TrackingEvent.id)):
        if h.item_id not in last or h.device_time > last[h.item_id].device_time:
            last[h.item_id] = h
    rows = []
    for it in page:
        at = last.get(it.id)
        why = ("partially_delivered" if it.status is Status.PARTIALLY_DELIVERED
               else "attempts_used_up" if it.failed_attempts >= max_attempts
               else "return_chosen" if it.awaiting is Awaiting.RETURN else "not_collected")
        until = items.last_day_held(it.collect_until) if why == "not_collected" else None
        rows.append({
            "identifier": it.identifier, "status": it.status.value,
            "failed_attempts": it.failed_attempts,
            "last_attempt_at": at.device_time.isoformat() if at else None,
            "last_attempt_reason": at.reason.value if at and at.reason else None,
            "last_attempt_late": (not at.applied) if at else None,
            "waiting_since": it.since.isoformat(),
            "hours_waiting": round((now - it.since).total_seconds() / 3600, 1),
            "courier_id": it.courier_id,
            # why: part of it was delivered (the rest goes back), its attempts are used
            # up, its courier chose the return, or its recipient did not collect it by
            # the day on the notice
            "why": why, "collect_by": until.isoformat() if until is not None else None,
            "chosen_at_attempt": why == "return_chosen"})
    return rows, total
