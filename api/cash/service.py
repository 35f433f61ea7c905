"""Cash ledger services. Entries are only ever added."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import CashEntry, CashKind, Item, Role, TrackingEvent, User, lock_rows

from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..localtime import local_day
from ..scope import office_for_read


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
    flags = flags or ()
    if "implausible_device_time" in flags:
        return shift_day(server_time)
    if "device_clock_off" in flags and clock_skew_s is not None:
        return shift_day(device_time - timedelta(seconds=clock_skew_s))
    return shift_day(device_time)


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


def _courier(session: Session, actor: User, courier_id: int) -> User:
    """Who holds the cash of a ledger: a courier, or office staff who took COD cash at
    the counter (dispatchers: a clerk's till); a courier sees only their own."""
    courier = session.get(User, courier_id)
    if courier is None or courier.role not in (Role.COURIER, Role.DISPATCHER) or (
            actor.role is Role.COURIER and actor.id != courier_id) or (
            actor.role is Role.DISPATCHER and courier.office_id != actor.office_id):
        raise NotFound(f"No courier {courier_id} that you can see.")
    return courier


def _entries(session: Session, courier_id: int, day: date) -> Sequence[CashEntry]:
    return session.execute(select(CashEntry).where(
        CashEntry.courier_id == courier_id, CashEntry.service_date == day
    ).order_by(CashEntry.id)).scalars().all()


def totals(entries: Sequence[CashEntry]) -> dict[str, int]:
    by = {k: sum(e.amount for e in entries if e.kind is k) for k in CashKind}
    advances = by[CashKind.ADVANCE]
    handed = -by[CashKind.HANDOVER]
    expected_in = by[CashKind.COD_COLLECTED]
    paid_out = -by[CashKind.PAYOUT]
    on_hand = sum(e.amount for e in entries)
    # the last hand-in's: what was short (or over) after it. A day handed in twice
    # (midday and evening) is not short by the first hand-in's part (summed, 600 000
    # then 400 000 of 1 000 000 on hand came out 400 000 short)
    handovers = [e for e in entries if e.kind is CashKind.HANDOVER]
    last = max(handovers, key=lambda e: e.id) if handovers else None
    discrepancy = 0 if last is None else -last.amount - (last.expected_on_hand or 0)
    return {"cod_collected": expected_in, "advances": advances, "paid_out": paid_out,
            "handed_in": handed,
            "corrections": by[CashKind.CORRECTION], "on_hand": on_hand,
            "discrepancy": discrepancy}


def ledger(session: Session, actor: User, courier_id: int, day: date) -> dict[str, Any]:
    courier = _courier(session, actor, courier_id)
    entries = _entries(session, courier.id, day)
    return {"courier_id": courier.id, "username": courier.username, "date": day.isoformat(),
            "entries": entries, "totals": totals(entries)}


def _staff(actor: User) -> None:
    if actor.role not in (Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("Only office staff count cash and correct the ledger.")


def handover(session: Session, actor: User, courier_id: int, day: date, counted: int, *,
             now: datetime, note: str | None, client_ref: str | None) -> CashEntry:
    """The office counts the cash a courier hands in; the difference with what the
    ledger expects on hand is the discrepancy, recorded with the entry."""
    _staff(actor)
    courier = _courier(session, actor, courier_id)
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
            and same.service_date == day and same.kind is CashKind.HANDOVER))

    if (same := earlier()) is not None:
        return same
    expected = sum(e.amount for e in _entries(session, courier.id, day))
    return _add_once(session, CashEntry(
        courier_id=courier.id, office_id=courier.office_id or actor.office_id,
        service_date=day, kind=CashKind.HANDOVER, amount=-counted, expected_on_hand=expected,
        note=note, created_by_id=actor.id, created_at=now, client_ref=client_ref), earlier)


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
    return _add_once(session, CashEntry(
        courier_id=target.courier_id, office_id=target.office_id,
        service_date=target.service_date, kind=CashKind.CORRECTION, amount=amount,
        corrects_id=target.id, item_id=target.item_id, note=reason, created_by_id=actor.id,
        created_at=now, client_ref=client_ref), earlier)


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
    names = dict(session.execute(select(User.id, User.username).where(
        User.id.in_(per))).all()) if per else {}
    per_courier = {cid: totals(es) for cid, es in per.items()}
    couriers = [{"courier_id": cid, "username": names.get(cid), **t}
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
