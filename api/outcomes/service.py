"""Courier-reported outcomes and the office's confirmation of them (models/review.py).

An outcome is a delivery (EMI) or failed attempt (EMH) that moved the item or counts
toward the attempt limit, or a delivery kept unapplied at an item that was not delivered
(:func:`is_outcome`): a copy of one, kept unapplied (a late conflict that counts for
nothing), is no outcome of its own. Recorded by a courier, it is ``reported`` until
office staff confirm or dispute it; recorded by office staff, it is ``confirmed`` as it
is recorded (by whether its recorder was a courier or office staff *then*:
``TrackingEvent.actor_role``). A delivery a courier recorded whose proof passed the
server's check of the item's one-time delivery code is confirmed as it arrives, by the
system (:func:`confirm_by_code`). The latest review decides; every review is kept.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, or_, select
from sqlalchemy.orm import Session, selectinload

from models import (
    DeliveryProof,
    EventCode,
    OutcomeReview,
    ReviewState,
    Role,
    Status,
    TrackingEvent,
    User,
    lock_rows,
    locked_one,
)

from ..cash.service import (
    PARTIAL_COD_FLAGS,
    event_shift_day,
    field_shift_day,
    partial_cod_reason,
)
from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..localtime import day_bounds, day_start
from ..scope import office_for_read, office_for_write

OUTCOME_CODES = (EventCode.EMI, EventCode.EMH)
#: what an item is after a hand-over (every piece, or part of them)
HANDED_OVER = (Status.DELIVERED, Status.PARTIALLY_DELIVERED)
REPORTED = "reported"
STATES = (REPORTED, ReviewState.CONFIRMED.value, ReviewState.DISPUTED.value)
# a day's outcomes are looked up by device time within a day of the shift day, or by
# when they arrived within a week after it (a phone whose clock was wrong, synced late):
# an outcome whose clock was wrong and that arrived later still is listed on no day
# (its item's page shows it, and it can be reviewed there)
DEVICE_MARGIN = timedelta(days=1)
ARRIVAL_MARGIN = timedelta(days=7)
#: a confirmation by the system, without an actor: the recipient gave the courier the
#: item's one-time delivery code, which the server checked (OutcomeReview.basis)
BY_CODE = "delivery_code"
#: the days before ``before`` a backlog looks at by default, and at most (each day one
#: more range of the office's events in the two indexes a day's list reads)
BACKLOG_DAYS = 31
BACKLOG_MAX_DAYS = 92


def is_outcome(ev: TrackingEvent) -> bool:
    """A delivery or failed attempt that moved the item or counts toward the attempt
    limit, or a delivery kept unapplied at an item that was not delivered when it came.

    A delivery kept unapplied (``late_conflict``) is a copy when the item was delivered
    already (``status_after``: the same hand-over recorded again). At an item that was
    not (the office returned or held the parcel, or a failed attempt was recorded after
    it, before the phone synced) it is a hand-over the history does not show, its COD
    cash in the courier's hands and booked nowhere: the office checks it as any other.
    A partially delivered item was handed over too: a delivery kept unapplied there is a
    copy of that partial delivery, also once the rest went back (RTS) after it.
    A failed attempt kept unapplied that the limit does not count (the same attempt
    recorded again, one in no round) is none."""
    plain = _outcome_by_columns(ev.code, ev.applied, ev.attempt_no, ev.status_after)
    if plain is not None:
        return plain
    # (returned since: the item's history, read only for such a rare event)
    return not any(e.code is EventCode.EMI and e.applied and e.id < ev.id
                   for e in ev.item.events)


def _outcome_by_columns(code: EventCode, applied: bool, attempt_no: int | None,
                        status_after: Status) -> bool | None:
    """:func:`is_outcome` as the event's own columns answer it; None for a delivery kept
    unapplied at an item returned (RTS) since, which its item's history decides (an
    applied delivery before it: a copy of that one, no outcome)."""
    if code not in OUTCOME_CODES:
        return False
    if applied or attempt_no is not None:
        return True
    if code is not EventCode.EMI or status_after in HANDED_OVER:
        return False
    return None if status_after is Status.RETURN_TO_SENDER else True


def recorded_as(ev: TrackingEvent) -> Role | None:
    """The role its actor had when the event was recorded (None: no actor); for a row
    written without it (a bulk insert, bypassing the services), the actor's role now."""
    if ev.actor_role is not None:
        return ev.actor_role
    return ev.actor.role if ev.actor is not None else None


def _by_staff(ev: TrackingEvent) -> bool:
    """Recorded by office staff on their own account (not relayed for a courier)."""
    return ev.for_courier_id is None and recorded_as(ev) is not Role.COURIER


def courier_of(ev: TrackingEvent) -> User | None:
    """Whose outcome it is: the courier who recorded it, or for whom staff recorded it."""
    return ev.for_courier if ev.for_courier_id is not None else ev.actor


def _person(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "role": user.role.value}


def state_of(ev: TrackingEvent) -> str | None:
    """``reported``, ``confirmed`` or ``disputed``; None for an event that is no outcome."""
    if not is_outcome(ev):
        return None
    if ev.reviews:
        return str(ev.reviews[-1].state.value)
    return ReviewState.CONFIRMED.value if _by_staff(ev) else REPORTED


def confirmation(ev: TrackingEvent) -> dict[str, Any] | None:
    """What the office made of an outcome: its state, who decided it and when (the
    latest review; for an outcome staff recorded and nobody reviewed since, its
    recording), and every review, oldest first. None for an event that is no outcome.

    ``basis``: ``reviewed`` (by staff), ``delivery_code`` (confirmed by the system as it
    arrived: :func:`confirm_by_code`; ``by`` null), ``recorded_by_staff``, or null while
    reported."""
    state = state_of(ev)
    if state is None:
        return None
    history = [{"state": r.state.value, "basis": r.basis or "reviewed",
                "by": _person(r.actor), "at": r.created_at, "note": r.note}
               for r in ev.reviews]
    if history:
        last = history[-1]
        return {"state": state, "basis": last["basis"], "by": last["by"], "at": last["at"],
                "note": last["note"], "reviews": history}
    if state == REPORTED:
        return {"state": state, "basis": None, "by": None, "at": None, "note": None,
                "reviews": []}
    return {"state": state, "basis": "recorded_by_staff", "by": _person(ev.actor),
            "at": ev.server_time, "note": None, "reviews": []}


def _staff(actor: User) -> None:
    if actor.role not in (Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("Only office staff confirm what couriers report.")


def _day_events(session: Session, office_id: int, day: date,
                courier_id: int | None = None, *, lock: bool = False) -> list[TrackingEvent]:
    """The outcomes couriers recorded at the office's items on ``day`` (their shift day,
    as the cash ledger books a delivery's COD), by courier and time.

    ``lock``: the events looked at are locked until the transaction ends, in id order
    (:func:`models.lock_rows`, then ``SELECT ... FOR UPDATE``), and read with their
    reviews as they are then: two confirmations of a courier's day at once (a double
    click, two dispatchers) take turns, and the second sees the first's reviews."""
    start, end = day_bounds(day)
    where = [TrackingEvent.office_id == office_id, TrackingEvent.code.in_(OUTCOME_CODES),
             or_(TrackingEvent.device_time.between(start - DEVICE_MARGIN, end + DEVICE_MARGIN),
                 TrackingEvent.server_time.between(start, end + ARRIVAL_MARGIN))]
    if courier_id is not None:
        where.append(or_(TrackingEvent.actor_id == courier_id,
                         TrackingEvent.for_courier_id == courier_id))
    # a courier's own, or one office staff recorded for them (relayed from the field)
    q = select(TrackingEvent).join(User, TrackingEvent.actor_id == User.id).where(
        *where, _couriers_report()
    ).options(selectinload(TrackingEvent.item), selectinload(TrackingEvent.for_courier))
    if lock:
        lock_rows(session, TrackingEvent, *where)
        q = (q.order_by(TrackingEvent.id).with_for_update(of=TrackingEvent)
             .execution_options(populate_existing=True))
    found = session.execute(q).unique().scalars().all()
    return sorted((e for e in found if is_outcome(e) and event_shift_day(e) == day
                   and (courier_id is None or _courier_id(e) == courier_id)),
                  key=lambda e: (_courier_id(e), e.device_time, e.id))


def _on_days_list(day: date, device_time: datetime, server_time: datetime) -> bool:
    """Whether a day's list (:func:`_day_events`) looks an event of these times up."""
    start, end = day_bounds(day)
    return (start - DEVICE_MARGIN <= device_time <= end + DEVICE_MARGIN
            or start <= server_time <= end + ARRIVAL_MARGIN)


def _couriers_report() -> Any:
    """An event recorded by a courier (their role then: :func:`recorded_as`), or by
    office staff for one (relayed from the field); with ``users`` joined on its actor."""
    return or_(func.coalesce(TrackingEvent.actor_role, User.role) == Role.COURIER,
               TrackingEvent.for_courier_id.is_not(None))


def _courier_id(ev: TrackingEvent) -> int:
    courier = courier_of(ev)
    assert courier is not None  # listed: a courier's (the query)
    return int(courier.id)


def cod_review(ev: TrackingEvent, proof: Any) -> str | None:
    """Why the COD of a partial delivery is flagged for the office's check (its flag
    ``partial_cod_zero`` or ``partial_cod_full``), or None."""
    flag = next((f for f in ev.flags or () if f in PARTIAL_COD_FLAGS), None)
    if flag is None or proof is None:
        return None
    return partial_cod_reason(flag, pieces=ev.item.pieces,
                              pieces_delivered=proof.pieces_delivered,
                              cod_amount=ev.item.cod_amount, cod_collected=proof.cod_collected)


def outcome_row(ev: TrackingEvent) -> dict[str, Any]:
    proof = getattr(ev, "proof", None)
    return {"event_id": ev.id, "identifier": ev.item.identifier, "code": ev.code.value,
            "device_time": ev.device_time, "server_time": ev.server_time,
            "courier": _person(courier_of(ev)), "recorded_by": _person(ev.actor),
            "status_after": ev.status_after.value,
            "reason": ev.reason.value if ev.reason else None,
            "action": ev.action.value if ev.action else None,
            "applied": ev.applied, "attempt_no": ev.attempt_no, "flags": ev.flags or [],
            "cod_collected": proof.cod_collected if proof is not None else None,
            # a partial delivery: the part handed over, for the COD it collected
            "pieces": ev.item.pieces,
            "pieces_delivered": proof.pieces_delivered if proof is not None else None,
            "partial_reason": proof.partial_reason.value
            if proof is not None and proof.partial_reason else None,
            "cod_review": cod_review(ev, proof),
            "confirmation": confirmation(ev)}


def _summary(office_id: int, day: date, events: Sequence[TrackingEvent], *,
             courier_id: int | None = None, state: str | None = None) -> dict[str, Any]:
    per: dict[int, Counter[str]] = {}
    names: dict[int, str] = {}
    for ev in events:
        courier = courier_of(ev)
        assert courier is not None  # a courier's (the query)
        per.setdefault(courier.id, Counter())[state_of(ev) or REPORTED] += 1
        names[courier.id] = courier.username
    couriers = [{"courier_id": cid, "username": names[cid],
                 **{s: counts[s] for s in STATES}} for cid, counts in per.items()]
    shown = [e for e in events if state is None or state_of(e) == state]
    return {"office_id": office_id, "date": day.isoformat(), "courier_id": courier_id,
            "couriers": couriers, "outcomes": [outcome_row(e) for e in shown]}


def day_outcomes(session: Session, actor: User, office_id: int | None, day: date, *,
                 courier_id: int | None = None, state: str | None = None) -> dict[str, Any]:
    """An office's outcomes reported by its couriers on a shift day: per courier how
    many are reported, confirmed and disputed, and the outcomes themselves (one
    courier's, or those in one state, when asked)."""
    office_id = office_for_read(actor, office_id, what="what couriers reported")
    events = _day_events(session, office_id, day, courier_id)
    return _summary(office_id, day, events, courier_id=courier_id, state=state)


def _review(session: Session, actor: User, ev: TrackingEvent, state: ReviewState,
            note: str | None, now: datetime) -> bool:
    """Record the review unless the outcome is already in that state with that note
    (the same form sent twice). Whether a row was added. A blank note is none."""
    note = note or None
    if state_of(ev) == state.value and (note is None or (
            ev.reviews and ev.reviews[-1].note == note)):
        return False
    review = OutcomeReview(event_id=ev.id, state=state, note=note, actor=actor,
                           created_at=now)
    session.add(review)
    ev.reviews.append(review)
    return True


def confirm_day(session: Session, actor: User, office_id: int | None, courier_id: int,
                day: date, event_ids: Sequence[int] | None, note: str | None, *,
                now: datetime, only_reported: bool = False) -> dict[str, Any]:
    """Confirm a courier's outcomes of a day at the office: those named, or else every
    one still reported (a disputed one stays disputed unless named: naming it settles
    the dispute; with ``only_reported``, those named that are still reported: the
    console's "confirm all" confirms what its page showed as reported, not what
    arrived since, nor what a colleague disputed meanwhile). Returns the courier's day
    as :func:`day_outcomes` does, and how many outcomes this call confirmed
    (``confirmed_now``: 0 for the same call sent again, also at the same moment: the
    day's outcomes are locked, :func:`_day_events`)."""
    _staff(actor)
    office_id = office_for_write(actor, office_id, what="confirmations")
    courier = session.get(User, courier_id)
    if courier is None:
        raise Unprocessable(f"No courier {courier_id}.", errors=[
            {"pointer": "/courier_id", "detail": "Not a courier."}])
    if courier.id == actor.id:  # a courier made office staff since: theirs to others
        raise Forbidden("Your own outcomes are confirmed by someone else.")
    events = _day_events(session, office_id, day, courier.id, lock=True)
    if courier.role is not Role.COURIER and not events:
        # (one who was a courier that day, staff now, still has their outcomes of it)
        raise Unprocessable(f"No courier {courier_id}.", errors=[
            {"pointer": "/courier_id", "detail": "Not a courier."}])
    if event_ids is None:
        targets = [e for e in events if state_of(e) == REPORTED]
    else:
        by_id = {e.id: e for e in events}
        errors = [{"pointer": f"/event_ids/{k}",
                   "detail": f"Event {eid} is no outcome {courier.username} reported on "
                             f"{day.isoformat()} at this office."}
                  for k, eid in enumerate(event_ids) if eid not in by_id]
        if errors:
            raise Unprocessable("Some events are not this courier's outcomes of the day; "
                                "nothing was confirmed.", errors=errors[:200])
        wanted = (REPORTED,) if only_reported else (REPORTED, ReviewState.DISPUTED.value)
        targets = [by_id[eid] for eid in dict.fromkeys(event_ids)
                   if state_of(by_id[eid]) in wanted]
    added = sum(_review(session, actor, ev, ReviewState.CONFIRMED, note, now)
                for ev in targets)
    return {**_summary(office_id, day, events, courier_id=courier.id),
            "confirmed_now": added}


def review_outcome(session: Session, actor: User, event_id: int, state: ReviewState,
                   note: str | None, *, now: datetime) -> dict[str, Any]:
    """Confirm or dispute one outcome (a dispute says why: the schema requires a note).
    Staff of the event's office, or an admin; never on an outcome they recorded."""
    _staff(actor)
    # locked, with its reviews as they are now: the same review sent twice at once is
    # recorded once (:func:`_review`)
    ev = locked_one(session, TrackingEvent, TrackingEvent.id == event_id)
    if ev is None or (actor.role is Role.DISPATCHER and ev.office_id != actor.office_id):
        raise NotFound(f"No event {event_id} that you can see.")
    if not is_outcome(ev):
        what = ("a copy of an outcome recorded already, kept in the history"
                if ev.code in OUTCOME_CODES else f"an {ev.code.value} event")
        raise Conflict(f"Event {event_id} is {what}: only deliveries and failed attempts "
                       "are confirmed or disputed.", slug="not-an-outcome")
    if actor.id in (ev.actor_id, ev.for_courier_id):
        # also one staff relayed for them when they were a courier (made staff since)
        raise Forbidden("Your own outcomes are checked by someone else.")
    _review(session, actor, ev, state, note, now)
    return outcome_row(ev)


#: a delivery with one of these review flags is not confirmed by its code alone
#: (:func:`confirm_by_code`): the office checks it
WITHHOLD_FLAGS = frozenset({"far_from_address", "proof_reused"})


def confirm_by_code(session: Session, ev: TrackingEvent, proof: DeliveryProof,
                    now: datetime) -> bool:
    """Confirm, by the system, a delivery a courier just recorded whose proof passed the
    server's check of the item's one-time delivery code (``code_verified``): the
    recipient gave the code to the courier, who never sees it (only office staff read
    it, to give it to the recipient). A review without an actor, ``basis``
    ``delivery_code``; staff may still dispute it (the latest review decides).

    Not for a delivery kept unapplied (a late conflict: the office has a contradiction
    to settle, and such a copy's code is not checked), nor one recorded by office staff
    (for a courier or not: staff can read the code), nor a partial delivery (the code
    proves the hand-over, not which pieces came back to the office), nor a failed
    attempt. Called once, where the event is first stored (``record_event``): a replay
    of the same ``client_event_id`` stores nothing, so nothing is confirmed twice.
    Nor one flagged as recorded far from the recipient's address or citing a photo or
    signature another visit used (:data:`WITHHOLD_FLAGS`): a code read out over the
    phone by a recipient who never had the parcel is the fraud the check is there to
    catch, and such a delivery is the office's to look at. Whether it confirmed."""
    if not (ev.code is EventCode.EMI and ev.applied and ev.for_courier_id is None
            and recorded_as(ev) is Role.COURIER and proof.code_verified
            and proof.event_id == ev.id and not proof.partial and is_outcome(ev)
            and not WITHHOLD_FLAGS.intersection(ev.flags or ())):
        return False
    review = OutcomeReview(event_id=ev.id, state=ReviewState.CONFIRMED, basis=BY_CODE,
                           actor=None, created_at=now)
    session.add(review)
    ev.reviews.append(review)
    return True


def backlog(session: Session, actor: User, office_id: int | None, before: date,
            since: date | None = None, *, courier_id: int | None = None, page: int = 1,
            page_size: int = 50) -> dict[str, Any]:
    """The office's outcomes still ``reported`` (neither confirmed nor disputed) of the
    shift days from ``since`` (default :data:`BACKLOG_DAYS` before ``before``) to the
    day before ``before``, oldest first (by shift day, device time): per courier how
    many and their oldest day, and one page of the outcomes, each with its ``day``.

    They are found as a day's list finds its outcomes (:func:`_day_events`: device time
    within a day of the days, or arrival within a week after them, each a range of an
    index on the office's events), those without a review only (the reviews' index by
    event), in one query of a few columns; the shift day is then judged as a day's list
    judges it, and only the page's outcomes are read whole. A fixed number of queries,
    whatever the backlog's length."""
    office_id = office_for_read(actor, office_id, what="what couriers reported")
    since = since if since is not None else before - timedelta(days=BACKLOG_DAYS)
    if not since < before or (before - since).days > BACKLOG_MAX_DAYS:
        raise Unprocessable(
            f"since must be before {before.isoformat()}, at most {BACKLOG_MAX_DAYS} days "
            "before it.", errors=[{"parameter": "since", "detail": (
                f"A day before `before`, at most {BACKLOG_MAX_DAYS} days before it.")}])
    start, end = day_start(since), day_start(before)
    who = func.coalesce(TrackingEvent.for_courier_id, TrackingEvent.actor_id)
    where = [TrackingEvent.office_id == office_id, TrackingEvent.code.in_(OUTCOME_CODES),
             or_(TrackingEvent.device_time.between(start - DEVICE_MARGIN, end + DEVICE_MARGIN),
                 TrackingEvent.server_time.between(start, end + ARRIVAL_MARGIN)),
             ~exists().where(OutcomeReview.event_id == TrackingEvent.id),
             _couriers_report()]
    if courier_id is not None:
        where.append(who == courier_id)
    found = session.execute(
        select(TrackingEvent.id, TrackingEvent.item_id, TrackingEvent.code,
               TrackingEvent.applied, TrackingEvent.attempt_no, TrackingEvent.status_after,
               TrackingEvent.device_time, TrackingEvent.server_time, TrackingEvent.flags,
               TrackingEvent.clock_skew_s, who.label("courier_id"))
        .join(User, TrackingEvent.actor_id == User.id).where(*where)).all()
    # a delivery kept unapplied at an item returned since: a copy when an applied one
    # came before it (:func:`is_outcome`), looked up at once for all such
    unsure = {r.item_id for r in found if _outcome_by_columns(
        r.code, r.applied, r.attempt_no, r.status_after) is None}
    first_delivery: dict[int, int] = {}
    if unsure:
        for item_id, ev_id in session.execute(
                select(TrackingEvent.item_id, func.min(TrackingEvent.id)).where(
                    TrackingEvent.item_id.in_(unsure), TrackingEvent.code == EventCode.EMI,
                    TrackingEvent.applied.is_(True)).group_by(TrackingEvent.item_id)):
            first_delivery[item_id] = ev_id
    rows: list[tuple[date, datetime, int, int]] = []
    for r in found:
        outcome = _outcome_by_columns(r.code, r.applied, r.attempt_no, r.status_after)
        if outcome is None:
            outcome = not (r.item_id in first_delivery and first_delivery[r.item_id] < r.id)
        day = field_shift_day(r.device_time, r.server_time, r.flags, r.clock_skew_s)
        # and looked up by that day's list (not only by the days' joint ranges: a phone
        # days ahead, synced more than a week late, is on no day's list)
        if outcome and since <= day < before and _on_days_list(day, r.device_time,
                                                                r.server_time):
            rows.append((day, r.device_time, r.id, r.courier_id))
    rows.sort(key=lambda x: (x[0], x[1], x[2]))
    per: dict[int, Counter[str]] = {}
    oldest: dict[int, date] = {}
    for day, _, _, cid in rows:
        per.setdefault(cid, Counter())[REPORTED] += 1
        oldest.setdefault(cid, day)
    names = dict(session.execute(select(User.id, User.username).where(
        User.id.in_(per))).all()) if per else {}
    couriers = sorted(({"courier_id": cid, "username": names.get(cid, ""),
                        "reported": n[REPORTED], "oldest_day": oldest[cid].isoformat()}
                       for cid, n in per.items()),
                      key=lambda c: (c["oldest_day"], c["username"]))
    shown = rows[(page - 1) * page_size:page * page_size]
    events = {e.id: e for e in session.execute(
        select(TrackingEvent).where(TrackingEvent.id.in_([x[2] for x in shown]))
        .options(selectinload(TrackingEvent.item), selectinload(TrackingEvent.for_courier))
    ).unique().scalars()} if shown else {}
    return {"office_id": office_id, "before": before.isoformat(),
            "since": since.isoformat(), "courier_id": courier_id, "couriers": couriers,
            "outcomes": [{**outcome_row(events[eid]), "day": day.isoformat()}
                         for day, _, eid, _ in shown],
            "page": page, "page_size": page_size, "total": len(rows)}


def confirm_before(session: Session, actor: User, before: datetime, note: str, *,
                   now: datetime, batch: int = 1000) -> int:
    """Confirm every outcome still reported that arrived before ``before``, as
    ``actor`` (an admin) with ``note``: what an office that starts checking its couriers'
    days does once for the outcomes from before it did (``flask outcomes
    confirm-before``; else their public page says "not yet confirmed" for good).
    ``batch`` events at a time, each batch committed. How many were confirmed."""
    if actor.role is not Role.ADMIN:
        raise Forbidden("Only an admin confirms outcomes of every office at once.")
    done, after_id = 0, 0
    while True:
        events = session.execute(
            select(TrackingEvent).where(
                TrackingEvent.id > after_id, TrackingEvent.code.in_(OUTCOME_CODES),
                TrackingEvent.server_time < before)
            .order_by(TrackingEvent.id).limit(batch)).unique().scalars().all()
        if not events:
            return done
        after_id = events[-1].id
        for ev in events:
            if state_of(ev) == REPORTED:
                done += _review(session, actor, ev, ReviewState.CONFIRMED, note, now)
        # (the session holds what is no longer referenced weakly: one batch in memory)
        session.commit()
