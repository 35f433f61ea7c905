"""Cash ledger services. Entries are only ever added."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    CashEntry,
    CashKind,
    CodStatement,
    CodStatementLine,
    DeliveryProof,
    EventCode,
    Item,
    Office,
    Role,
    StatementStatus,
    TrackingEvent,
    User,
    lock_rows,
)

from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..localtime import day_bounds, local_day
from ..scope import office_for_read, office_for_write

#: review flags of a partial delivery whose COD does not follow its pieces
#: (:func:`partial_cod_flag`): nothing collected for the pieces handed over, or the whole
#: COD for part of them
PARTIAL_COD_ZERO = "partial_cod_zero"
PARTIAL_COD_FULL = "partial_cod_full"
PARTIAL_COD_FLAGS = (PARTIAL_COD_ZERO, PARTIAL_COD_FULL)


def shift_day(t: datetime) -> date:
    return local_day(t)


def field_shift_day(device_time: datetime, server_time: datetime, flags: Sequence[str] | None,
                    clock_skew_s: float | None) -> date:
    """The shift day of something done in the field (a delivery, a payout): its device
    time, unless the time flags say otherwise.

    ``implausible_device_time`` (:func:`api.devicetime.time_flags`): even corrected
    for the upload's clock skew the time cannot be right (a phone reset to 2000), so the
    server's receive time decides. ``device_clock_off`` alone: the skew-corrected device
    time was found plausible and is the best estimate of when it happened (a phone reset
    to 2000 that also sends its wrong ``sent_at``)."""
    return shift_day(field_time(device_time, server_time, flags, clock_skew_s))


def field_time(device_time: datetime, server_time: datetime, flags: Sequence[str] | None,
               clock_skew_s: float | None) -> datetime:
    """When something done in the field happened, as :func:`field_shift_day` judges it."""
    flags = flags or ()
    if "implausible_device_time" in flags:
        return server_time
    if "device_clock_off" in flags and clock_skew_s is not None:
        return device_time - timedelta(seconds=clock_skew_s)
    return device_time


def event_shift_day(event: TrackingEvent) -> date:
    """The shift day of a field event (:func:`field_shift_day`), with the clock skew
    measured when it arrived."""
    return field_shift_day(event.device_time, event.server_time, event.flags,
                           event.clock_skew_s)


def record_cod(session: Session, actor: User, item: Item, event: TrackingEvent,
               amount: int, now: datetime, *, holder: int) -> CashEntry:
    """COD cash taken at a delivery: it is now in the hands of ``holder``, on the shift
    day of the delivery (:func:`event_shift_day`): the courier whose bag the item was in
    (also when office staff record the delivery for them), else whoever delivered it
    (a clerk at the counter, whose till is their ledger)."""
    entry = CashEntry(courier_id=holder, office_id=item.office_id,
                      service_date=event_shift_day(event),
                      kind=CashKind.COD_COLLECTED,
                      amount=amount, item_id=item.id, event_id=event.id,
                      created_by_id=actor.id, created_at=now,
                      note=f"COD {item.identifier}")
    session.add(entry)
    return entry


def partial_cod_flag(item: Item, pieces_delivered: int | None,
                     cod_collected: int | None) -> str | None:
    """The review flag of a partial delivery (fewer pieces than the item's) of a COD
    item whose collected COD does not follow the pieces: ``partial_cod_zero`` when
    nothing was collected although pieces were handed over, ``partial_cod_full`` when
    the whole COD was collected although pieces were not. There is no price per piece,
    so neither is refused (a recipient may have paid the shop, a free sample, the
    refused box a gift): flagged for the office to check."""
    if pieces_delivered is None or pieces_delivered >= item.pieces or item.cod_amount <= 0:
        return None
    if not cod_collected:
        return PARTIAL_COD_ZERO
    if cod_collected >= item.cod_amount:
        return PARTIAL_COD_FULL
    return None


def partial_cod_reason(flag: str | None, *, pieces: int, pieces_delivered: int | None,
                       cod_amount: int, cod_collected: int | None) -> str | None:
    """Why a partial delivery's COD is flagged, for the office (None: not flagged)."""
    part = f"{pieces_delivered} of {pieces} pieces"
    if flag == PARTIAL_COD_ZERO:
        return (f"Nothing collected for {part} handed over (COD {cod_amount} VND): check "
                "what the recipient paid.")
    if flag == PARTIAL_COD_FULL:
        return (f"The whole COD ({cod_amount} VND) collected for {part} handed over, "
                "the rest not: check what the recipient paid for.")
    return None


def _holds_cash_at(session: Session, courier_id: int, office_id: int | None,
                   day: date) -> bool:
    """Whether the courier has ledger entries of ``office_id`` on ``day``: cash owed to
    that office (COD of its items, its advances), also after they moved to another."""
    return office_id is not None and session.execute(select(CashEntry.id).where(
        CashEntry.courier_id == courier_id, CashEntry.office_id == office_id,
        CashEntry.service_date == day).limit(1)).first() is not None


def _courier(session: Session, actor: User, courier_id: int, day: date) -> User:
    """Who holds the cash of a ledger: a courier, or office staff who took COD cash at
    the counter (dispatchers: a clerk's till); a courier sees only their own; a
    dispatcher, those of their office and those who hold cash owed to it that day (a
    courier moved to another office since)."""
    courier = session.get(User, courier_id)
    if courier is None or courier.role not in (Role.COURIER, Role.DISPATCHER) or (
            actor.role is Role.COURIER and actor.id != courier_id) or (
            actor.role is Role.DISPATCHER and courier.office_id != actor.office_id
            and not _holds_cash_at(session, courier.id, actor.office_id, day)):
        raise NotFound(f"No courier {courier_id} that you can see.")
    return courier


def _entries(session: Session, courier_id: int, day: date,
             office_id: int | None = None) -> Sequence[CashEntry]:
    where = [CashEntry.courier_id == courier_id, CashEntry.service_date == day]
    if office_id is not None:
        where.append(CashEntry.office_id == office_id)
    return session.execute(select(CashEntry).where(*where).order_by(CashEntry.id)
                           ).scalars().all()


def totals(entries: Sequence[CashEntry]) -> dict[str, int]:
    by = {k: sum(e.amount for e in entries if e.kind is k) for k in CashKind}
    advances = by[CashKind.ADVANCE]
    handed = -by[CashKind.HANDOVER]
    expected_in = by[CashKind.COD_COLLECTED]
    paid_out = -by[CashKind.PAYOUT]
    on_hand = sum(e.amount for e in entries)
    # the last hand-in's: what was short (or over) after it. A day handed in twice
    # (midday and evening) is not short by the first hand-in's part (summed, 600 000
    # then 400 000 of 1 000 000 on hand came out 400 000 short). Each office counts
    # the cash owed to it: the last hand-in at each office, summed (a courier moved
    # to another office during the day hands in at both)
    last: dict[int, CashEntry] = {}
    for e in entries:
        if e.kind is CashKind.HANDOVER and (
                e.office_id not in last or e.id > last[e.office_id].id):
            last[e.office_id] = e
    discrepancy = sum(-h.amount - (h.expected_on_hand or 0) for h in last.values())
    return {"cod_collected": expected_in, "advances": advances, "paid_out": paid_out,
            "handed_in": handed,
            "corrections": by[CashKind.CORRECTION], "on_hand": on_hand,
            "discrepancy": discrepancy}


def _ledger_office(session: Session, actor: User, office_id: int | None) -> int | None:
    """Whose cash a ledger shows: a dispatcher's, their office's (another office named:
    404); a courier's or an admin's, every office's, or the one named."""
    if actor.role is Role.DISPATCHER:
        if office_id not in (None, actor.office_id):
            raise NotFound(f"No office {office_id} that you can see.")
        return actor.office_id
    if office_id is not None and session.get(Office, office_id) is None:
        raise NotFound(f"No office {office_id}.")
    return office_id


def ledger(session: Session, actor: User, courier_id: int, day: date,
           office_id: int | None = None) -> dict[str, Any]:
    """A courier's ledger of a shift day: the entries (of one office: a dispatcher's
    own, or ``office_id``), their totals, the totals per office (a courier moved to
    another office during the day owes each its own cash), and the partial deliveries
    whose COD the office should check (:func:`cod_to_review`)."""
    office = _ledger_office(session, actor, office_id)
    courier = _courier(session, actor, courier_id, day)
    entries = _entries(session, courier.id, day, office)
    per: dict[int, list[CashEntry]] = {}
    for e in entries:
        per.setdefault(e.office_id, []).append(e)
    return {"courier_id": courier.id, "username": courier.username, "date": day.isoformat(),
            "office_id": office, "entries": entries, "totals": totals(entries),
            "by_office": [{"office_id": oid, **totals(es)} for oid, es in sorted(per.items())],
            "cod_to_review": cod_to_review(session, courier.id, day, office)}


def cod_to_review(session: Session, courier_id: int, day: date,
                  office_id: int | None = None) -> list[dict[str, Any]]:
    """The partial deliveries of ``day`` whose COD booked to the courier (held by them:
    recorded by them, or for them by office staff) is flagged for the office's check
    (:func:`partial_cod_flag`): nothing collected for the pieces handed over, which
    books no entry at all, or the whole COD for part of them. Looked up as the day's
    outcomes are (api.outcomes.service: the device time within a day, or arrival
    within a week after it), then by shift day."""
    from ..outcomes.service import ARRIVAL_MARGIN, DEVICE_MARGIN

    start, end = day_bounds(day)
    where = [TrackingEvent.code == EventCode.EMI,
             or_(TrackingEvent.for_courier_id == courier_id,
                 and_(TrackingEvent.for_courier_id.is_(None),
                      TrackingEvent.actor_id == courier_id)),
             DeliveryProof.pieces_delivered.is_not(None),
             or_(TrackingEvent.device_time.between(start - DEVICE_MARGIN, end + DEVICE_MARGIN),
                 TrackingEvent.server_time.between(start, end + ARRIVAL_MARGIN))]
    if office_id is not None:
        where.append(TrackingEvent.office_id == office_id)
    rows = session.execute(
        select(TrackingEvent, DeliveryProof, Item)
        .join(DeliveryProof, DeliveryProof.event_id == TrackingEvent.id)
        .join(Item, Item.id == TrackingEvent.item_id).where(*where)
        .order_by(TrackingEvent.device_time, TrackingEvent.id)).all()
    entry_of = dict(session.execute(select(CashEntry.event_id, CashEntry.id).where(
        CashEntry.event_id.in_([ev.id for ev, _, _ in rows]))).all()) if rows else {}
    out = []
    for ev, proof, item in rows:
        flag = next((f for f in ev.flags or () if f in PARTIAL_COD_FLAGS), None)
        if flag is None or event_shift_day(ev) != day:
            continue
        out.append({"event_id": ev.id, "identifier": item.identifier, "flag": flag,
                    "reason": partial_cod_reason(
                        flag, pieces=item.pieces, pieces_delivered=proof.pieces_delivered,
                        cod_amount=item.cod_amount, cod_collected=proof.cod_collected),
                    "pieces": item.pieces, "pieces_delivered": proof.pieces_delivered,
                    "cod_amount": item.cod_amount, "cod_collected": proof.cod_collected or 0,
                    "entry_id": entry_of.get(ev.id), "office_id": ev.office_id})
    return out


def _staff(actor: User) -> None:
    if actor.role not in (Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("Only office staff count cash and correct the ledger.")


def handover(session: Session, actor: User, courier_id: int, day: date, counted: int, *,
             now: datetime, note: str | None, client_ref: str | None,
             office_id: int | None = None) -> CashEntry:
    """The office counts the cash a courier hands in; the difference with what the
    ledger expects on hand is the discrepancy, recorded with the entry.

    An office counts the cash owed to it: the courier's entries of the day at that
    office (the COD of its items, its advances, less the payouts). The office is a
    dispatcher's own (they also count in a courier moved to another office who still
    holds its cash), or the one an admin names (``office_id``; left out, the courier's
    office). A courier moved during the day hands in at each office what is owed to
    it, so neither office's report keeps the other's cash or counts it twice."""
    _staff(actor)
    named = office_id is not None
    if actor.role is Role.DISPATCHER or named:
        office_id = office_for_write(actor, office_id, what="hand-ins")
    courier = _courier(session, actor, courier_id, day)
    office = office_id if office_id is not None else courier.office_id
    if office is None:  # (every courier and dispatcher has an office: users create)
        raise Unprocessable("office_id is required: the courier has no office.",
                            errors=[{"pointer": "/office_id", "detail": "Required."}])
    if actor.role is Role.ADMIN:
        _admin_handover_office(session, courier, office, day, named=named)
    if courier.id == actor.id:
        raise Forbidden("Your cash is counted in by someone else.")
    # one hand-in of a courier at a time: two at once both read the same ledger and
    # recorded the same expected amount, the shortfall counted twice. FOR NO KEY UPDATE,
    # as a sync's pings lock the courier: FOR UPDATE also kept every row referring to
    # the user from being written (its FOREIGN KEY check takes KEY SHARE), so two clerks
    # counting each other's till at once, each inserting its entry created by the
    # other, deadlocked on PostgreSQL (one a 500)
    lock_rows(session, User, User.id == courier.id)
    session.execute(select(User.id).where(User.id == courier.id)
                    .with_for_update(key_share=True)).all()

    def earlier() -> CashEntry | None:
        return _recorded(session, client_ref, "hand-in", lambda same: (
            same.courier_id == courier.id and same.amount == -counted
            and same.service_date == day and same.kind is CashKind.HANDOVER
            and same.office_id == office))

    if (same := earlier()) is not None:
        return same
    expected = sum(e.amount for e in _entries(session, courier.id, day, office))
    return _add_once(session, CashEntry(
        courier_id=courier.id, office_id=office,
        service_date=day, kind=CashKind.HANDOVER, amount=-counted, expected_on_hand=expected,
        note=note, created_by_id=actor.id, created_at=now, client_ref=client_ref), earlier)


def _admin_handover_office(session: Session, courier: User, office: int, day: date, *,
                           named: bool) -> None:
    """An admin's hand-in counts the cash owed to ``office``: refused (422 on
    ``/office_id``, nothing recorded) when that would silently count it wrong. Left
    out, the courier's office now is taken only when they hold no other office's cash
    that day (a courier moved mid-day: the whole count was booked to the new office,
    over by the old office's cash, which that office's report kept as on hand); named,
    it is the courier's office or one whose cash they hold that day (as a dispatcher's
    hand-in: another office had the count booked against nothing)."""
    held = set(session.execute(select(CashEntry.office_id).where(
        CashEntry.courier_id == courier.id, CashEntry.service_date == day).distinct()
    ).scalars())
    if not named and held - {office}:
        codes = session.execute(select(Office.id, Office.code).where(
            Office.id.in_(held)).order_by(Office.id)).all()
        raise Unprocessable(
            f"The courier holds cash of more than one office on {day.isoformat()} "
            f"({', '.join(c for _, c in codes)}): name the office counting it in "
            "(office_id).", errors=[{"pointer": "/office_id",
                                     "detail": "Required: one of "
                                               + ", ".join(str(i) for i, _ in codes)}])
    if named and office != courier.office_id and office not in held:
        raise Unprocessable(
            f"The courier holds no cash of office {office} on {day.isoformat()}, and is "
            "not of that office.", errors=[{"pointer": "/office_id",
                                            "detail": "Not an office whose cash the "
                                                      "courier holds that day."}])


def _recorded(session: Session, client_ref: str | None, what: str,
              matches: Callable[[CashEntry], bool]) -> CashEntry | None:
    """The entry recorded under ``client_ref`` (an idempotency key; None without one, or
    when none is); one recorded for something else is a 409."""
    if not client_ref:
        return None
    same: CashEntry | None = session.execute(select(CashEntry).where(
        CashEntry.client_ref == client_ref)).scalar_one_or_none()
    if same is not None and not matches(same):
        raise Conflict(f"This reference was used for another {what}.",
                       slug="idempotency-key-reused")
    return same


def _add_once(session: Session, entry: CashEntry,
              earlier: Callable[[], CashEntry | None]) -> CashEntry:
    """Store ``entry``; the same one sent twice at once meets the other at its unique
    ``client_ref``, and ``earlier`` finds what the other request recorded."""
    try:
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            session.add(entry)
            session.flush()
    except IntegrityError:
        same = earlier()
        if same is None:
            raise
        return same
    return entry


def correct(session: Session, actor: User, entry_id: int, amount: int, reason: str, *,
            now: datetime, client_ref: str | None = None) -> CashEntry:
    """A correction is a new entry naming the one it corrects; nothing is rewritten.
    ``client_ref`` (the console form's one-time reference) makes it idempotent: the
    same correction sent again (a double submit) is recorded once."""
    _staff(actor)
    target = session.get(CashEntry, entry_id)
    if target is None or (actor.role is Role.DISPATCHER
                          and target.office_id != actor.office_id):
        raise NotFound(f"No ledger entry {entry_id} that you can see.")
    if target.courier_id == actor.id:
        # as a hand-in: a clerk who corrected the COD taken at their own counter away
        # had nothing left to hand in, and kept the cash
        raise Forbidden("Your cash is corrected by someone else.")
    if amount == 0:
        raise Unprocessable("A correction of 0 changes nothing.",
                            errors=[{"pointer": "/amount", "detail": "Must not be 0."}])

    def earlier() -> CashEntry | None:
        return _recorded(session, client_ref, "entry", lambda same: (
            same.corrects_id == target.id and same.amount == amount
            and same.kind is CashKind.CORRECTION))

    if (same := earlier()) is not None:
        return same
    if target.item_id is not None:
        _not_on_a_statement(session, target)
    return _add_once(session, CashEntry(
        courier_id=target.courier_id, office_id=target.office_id,
        service_date=target.service_date, kind=CashKind.CORRECTION, amount=amount,
        corrects_id=target.id, item_id=target.item_id, note=reason, created_by_id=actor.id,
        created_at=now, client_ref=client_ref), earlier)


def _not_on_a_statement(session: Session, target: CashEntry) -> None:
    """An item's COD on a COD statement not cancelled is as that statement was drawn
    up (api/remittance): a correction made under it was never remitted to the sender
    (or taken back), so it is a 409 ``on-cod-statement``: an open statement is cancelled
    first (the correction then goes on the next one); a paid one was settled with the
    sender. Its office is locked as a statement's drawing locks it: a correction and a
    statement made at once are taken one after the other."""
    lock_rows(session, Office, Office.id == target.office_id)
    session.execute(select(Office.id).where(Office.id == target.office_id)
                    .with_for_update(key_share=True)).all()
    held = session.execute(
        select(CodStatement.id, CodStatement.status).join(
            CodStatementLine, CodStatementLine.statement_id == CodStatement.id)
        .where(CodStatementLine.claimed_item_id == target.item_id)).first()
    if held is not None:
        how = ("paid to the sender" if held.status is StatementStatus.PAID
               else "not paid yet: cancel it first, then draw it up again")
        raise Conflict(f"The item's COD is on COD statement {held.id}, {how}.",
                       slug="on-cod-statement", statement_id=held.id)


def report(session: Session, actor: User, office_id: int | None, day: date
           ) -> dict[str, Any]:
    """Per courier and for the office: COD collected, paid out, handed in, on hand,
    discrepancies; and COD still outstanding on items not yet delivered (at the
    office, out, back from an attempt, or waiting at a pick-up point)."""
    office_id = office_for_read(actor, office_id, what="the office's cash report")
    rows = session.execute(select(CashEntry).where(
        CashEntry.office_id == office_id, CashEntry.service_date == day
    ).order_by(CashEntry.courier_id, CashEntry.id)).scalars().all()
    per: dict[int, list[CashEntry]] = {}
    for e in rows:
        per.setdefault(e.courier_id, []).append(e)
    users = {uid: (name, at) for uid, name, at in session.execute(
        select(User.id, User.username, User.office_id).where(User.id.in_(per))).all()
    } if per else {}
    per_courier = {cid: totals(es) for cid, es in per.items()}
    # every courier who holds cash owed to the office that day, also one moved to
    # another office since (``current_office_id``: hand it in here)
    couriers = [{"courier_id": cid, "username": users[cid][0],
                 "current_office_id": users[cid][1], **t}
                for cid, t in per_courier.items()]
    office = totals(rows)
    # each courier's own (the last hand-in of the office's day was one courier's: another
    # counted in exact after one who was short hid the shortfall)
    office["discrepancy"] = sum(t["discrepancy"] for t in per_courier.values())
    return {"office_id": office_id, "date": day.isoformat(), "couriers": couriers,
            "office": office,
            "cod_outstanding_on_items": cod_outstanding(session, office_id)}


def cod_outstanding(session: Session, office_id: int) -> int:
    """COD still to collect on the office's items not yet delivered: at the office, out,
    back from an attempt, or waiting at a pick-up point (collected when the recipient
    comes for it: EMI)."""
    from models import Status

    return int(session.execute(select(func.coalesce(func.sum(Item.cod_amount), 0)).where(
        Item.office_id == office_id, Item.cod_amount > 0,
        Item.status.in_([Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED,
                         Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE,
                         Status.AT_PICKUP_POINT]))).scalar_one())
