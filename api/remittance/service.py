"""COD reconciliation with senders ("đối soát"): the statements of the COD an office
collected for a sender, and their payment.

What a statement lists is the ledger's: the COD entries (api/cash) of the office's items
of the sender, of the shift days of the period, with the corrections made to them (a
recipient who paid less, agreed with the shop). Only cash handed in is remitted: an
entry is on a statement once its courier's hand-in of that shift day at that office
came after it (that count covered it); the others are listed as not yet handed in, and
wait for a later statement. An item is on at most one statement that is not cancelled
(models.remittance, ``claimed_item_id``); an office draws up one statement at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from models import (
    CashEntry,
    CashKind,
    CodStatement,
    CodStatementLine,
    DeliveryProof,
    Item,
    Office,
    OutcomeReview,
    ReviewState,
    Role,
    StatementStatus,
    TrackingEvent,
    User,
    lock_rows,
    locked_one,
    sender_key,
)

from ..cash.service import field_time
from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..localtime import local_day
from ..scope import office_for_read, office_for_write

#: the longest period one statement covers (days)
MAX_PERIOD_DAYS = 92
#: a payment's time may be this far ahead of the server's clock (a clerk's PC)
PAID_AT_MARGIN = timedelta(minutes=10)


def key_of(phone: str, *, pointer: str | None = None, parameter: str | None = None) -> str:
    """The sender key of a phone given in a request (:func:`models.sender_key`); 422
    for one with fewer than nine digits."""
    key = sender_key(phone)
    if key is None:
        where = {"pointer": pointer} if pointer else {"parameter": parameter or "sender_phone"}
        raise Unprocessable("A sender is named by a phone number of at least 9 digits.",
                            errors=[{**where, "detail": "At least 9 digits."}])
    return key


@dataclass
class Collected:
    """One item's COD collected, as the ledger holds it."""

    item_id: int
    entry_id: int
    identifier: str
    sender_key: str | None
    sender_name: str
    sender_phone: str | None
    courier_id: int
    delivered_at: datetime
    delivered_on: date
    cod_amount: int
    cod_collected: int
    pieces: int
    pieces_delivered: int | None
    handed_in: bool
    #: the office disputes the delivery (its latest review, api/outcomes): held back
    #: from statements until the dispute is settled (confirmed) or the COD corrected
    disputed: bool = False

    def waiting(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "delivered_on": self.delivered_on.isoformat(),
                "courier_id": self.courier_id, "cod_collected": self.cod_collected}


def collected(session: Session, office_id: int, *, key: str | None = None,
              date_from: date | None = None, date_to: date) -> list[Collected]:
    """The COD the office's couriers collected on its items (of the sender ``key``)
    on the shift days up to ``date_to`` (from ``date_from``) and that is on no
    statement not cancelled: one per item, its corrections added, those that come to
    nothing left out; oldest first."""
    fix = aliased(CashEntry)
    hand_in = aliased(CashEntry)
    review, later = aliased(OutcomeReview), aliased(OutcomeReview)
    # the delivery's latest review is a dispute (api.outcomes.service.state_of)
    disputed = exists().where(
        review.event_id == CashEntry.event_id, review.state == ReviewState.DISPUTED,
        ~exists().where(later.event_id == review.event_id, later.id > review.id))
    # every correction of the item's COD at the office: of its entry, and of a correction
    # of it (a wrong correction undone by correcting it), as the ledger sums them all
    corrections = select(func.coalesce(func.sum(fix.amount), 0)).where(
        fix.kind == CashKind.CORRECTION, fix.item_id == CashEntry.item_id,
        fix.office_id == CashEntry.office_id).scalar_subquery()
    # the courier's hand-in of that shift day at that office, made after the entry: its
    # count took the entry in (api.cash.service.handover: the entries then on record)
    handed_in = exists().where(
        hand_in.kind == CashKind.HANDOVER, hand_in.courier_id == CashEntry.courier_id,
        hand_in.office_id == CashEntry.office_id,
        hand_in.service_date == CashEntry.service_date, hand_in.id > CashEntry.id)
    where = [CashEntry.office_id == office_id, CashEntry.kind == CashKind.COD_COLLECTED,
             CashEntry.service_date <= date_to,
             ~exists().where(CodStatementLine.claimed_item_id == CashEntry.item_id)]
    if date_from is not None:
        where.append(CashEntry.service_date >= date_from)
    if key is not None:
        where.append(Item.sender_key == key)
    rows = session.execute(
        select(CashEntry, Item.identifier, Item.sender_key, Item.sender_name,
               Item.sender_phone, Item.cod_amount, Item.pieces, TrackingEvent,
               DeliveryProof.pieces_delivered, corrections.label("corrections"),
               handed_in.label("handed_in"), disputed.label("disputed"))
        .join(Item, Item.id == CashEntry.item_id)
        .join(TrackingEvent, TrackingEvent.id == CashEntry.event_id)
        .outerjoin(DeliveryProof, DeliveryProof.event_id == TrackingEvent.id)
        .where(*where).order_by(CashEntry.service_date, CashEntry.id)).all()
    by_item: dict[int, Collected] = {}
    for (entry, ident, key_, name, phone, cod, pieces, ev, delivered, fixed,
         handed, held) in rows:
        same = by_item.get(entry.item_id)
        if same is not None:  # (one delivery per item: a second would add to its line)
            same.cod_collected += entry.amount  # (the item's corrections are on it)
            same.handed_in = same.handed_in and bool(handed)
            same.disputed = same.disputed or bool(held)
            continue
        by_item[entry.item_id] = Collected(
            item_id=entry.item_id, entry_id=entry.id, identifier=ident, sender_key=key_,
            sender_name=name, sender_phone=phone, courier_id=entry.courier_id,
            delivered_at=field_time(ev.device_time, ev.server_time, ev.flags,
                                    ev.clock_skew_s),
            delivered_on=entry.service_date, cod_amount=cod,
            cod_collected=entry.amount + int(fixed or 0),
            pieces=pieces, pieces_delivered=delivered, handed_in=bool(handed),
            disputed=bool(held))
    return [c for c in by_item.values() if c.cod_collected > 0]


class DrawnStatement:
    """A statement just drawn up, with the sender's COD of the period left off it
    because it is not handed in yet (``not_handed_in``)."""

    def __init__(self, statement: CodStatement, not_handed_in: list[dict[str, Any]],
                 disputed: list[dict[str, Any]]) -> None:
        self.statement = statement
        self.not_handed_in = not_handed_in
        self.disputed = disputed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.statement, name)


def _period(date_from: date, date_to: date) -> None:
    if date_to < date_from:
        raise Unprocessable("The period ends before it starts.", errors=[
            {"pointer": "/date_to", "detail": "Before date_from."}])
    if (date_to - date_from).days >= MAX_PERIOD_DAYS:
        raise Unprocessable(f"A statement covers at most {MAX_PERIOD_DAYS} days.", errors=[
            {"pointer": "/date_to", "detail": f"At most {MAX_PERIOD_DAYS} days after "
                                              "date_from."}])


def create(session: Session, actor: User, data: dict[str, Any], *, now: datetime
           ) -> DrawnStatement:
    """Draw up the statement of a sender's COD of the office's items, collected on the
    shift days ``date_from`` to ``date_to`` and handed in, on no other statement. A
    dispatcher's office, or the one an admin names. Nothing to put on it is a 409
    ``nothing-to-remit`` (with what waits for its hand-in)."""
    office_id = office_for_write(actor, data.get("office_id"), what="COD statements")
    key = key_of(data["sender_phone"], pointer="/sender_phone")
    date_from, date_to = data["date_from"], data["date_to"]
    _period(date_from, date_to)
    # one statement of the office at a time: two drawn up at once would both read the
    # same items free. FOR NO KEY UPDATE: the office's other writes (its items, ledger
    # entries: foreign keys take KEY SHARE) go on meanwhile
    lock_rows(session, Office, Office.id == office_id)
    session.execute(select(Office.id).where(Office.id == office_id)
                    .with_for_update(key_share=True)).all()
    found = collected(session, office_id, key=key, date_from=date_from, date_to=date_to)
    ready = [c for c in found if c.handed_in and not c.disputed]
    waiting = [c.waiting() for c in found if not c.handed_in and not c.disputed]
    # a delivery the office disputes (the parcel found in the bag, the recipient says
    # they never had it) is not paid out to the sender until the dispute is settled
    held = [c.waiting() for c in found if c.disputed]
    if not ready:
        raise Conflict("No COD of this sender collected in the period and handed in that "
                       "is not on a statement already (nor held back by a dispute).",
                       slug="nothing-to-remit", not_handed_in=waiting, disputed=held)
    latest = max(ready, key=lambda c: c.item_id)
    statement = CodStatement(
        office_id=office_id, sender_key=key, sender_phone=data["sender_phone"],
        sender_name=latest.sender_name, date_from=date_from, date_to=date_to,
        status=StatementStatus.OPEN, total=sum(c.cod_collected for c in ready),
        line_count=len(ready), created_by_id=actor.id, created_at=now)
    try:
        with session.begin_nested():
            session.add(statement)
            session.flush()
            session.add_all(CodStatementLine(
                statement_id=statement.id, item_id=c.item_id, claimed_item_id=c.item_id,
                cash_entry_id=c.entry_id, identifier=c.identifier,
                delivered_at=c.delivered_at, delivered_on=c.delivered_on,
                cod_amount=c.cod_amount, cod_collected=c.cod_collected, pieces=c.pieces,
                pieces_delivered=c.pieces_delivered) for c in ready)
            session.flush()
    except IntegrityError:
        # (the office lock keeps this from happening: an item taken meanwhile)
        raise Conflict("An item was put on another statement meanwhile; draw it up "
                       "again.") from None
    return DrawnStatement(statement, waiting, held)


def _staff(actor: User) -> None:
    if actor.role not in (Role.DISPATCHER, Role.ADMIN):
        raise Forbidden("Couriers do not see COD statements.")


def get(session: Session, actor: User, statement_id: int, *, lock: bool = False
        ) -> CodStatement:
    """A statement the actor sees: office staff's of their office, an admin's any."""
    _staff(actor)
    statement = (locked_one(session, CodStatement, CodStatement.id == statement_id)
                 if lock else session.get(CodStatement, statement_id))
    if statement is None or (actor.role is Role.DISPATCHER
                             and statement.office_id != actor.office_id):
        raise NotFound(f"No COD statement {statement_id} that you can see.")
    return statement


def listing(session: Session, actor: User, office_id: int | None, *,
            sender_phone: str | None, status: list[StatementStatus], limit: int,
            offset: int) -> tuple[list[CodStatement], int]:
    """One page of the office's statements (of a sender, in some states), latest first,
    and how many in all."""
    office = office_for_read(actor, office_id, what="COD statements")
    where = [CodStatement.office_id == office]
    if sender_phone is not None:
        where.append(CodStatement.sender_key == key_of(sender_phone))
    if status:
        where.append(CodStatement.status.in_(status))
    total = session.execute(select(func.count()).select_from(CodStatement)
                            .where(*where)).scalar_one()
    rows = session.execute(select(CodStatement).where(*where)
                           .order_by(CodStatement.id.desc()).limit(limit).offset(offset)
                           ).scalars().all()
    return list(rows), int(total)


def pay(session: Session, actor: User, statement_id: int, reference: str,
        paid_at: datetime, *, now: datetime) -> CodStatement:
    """Record that the post paid the sender the statement's total. The same payment
    recorded again (its reference) changes nothing; another one is a 409
    ``statement-paid``; a cancelled statement is not paid (409 ``statement-cancelled``)."""
    statement = get(session, actor, statement_id, lock=True)
    if statement.status is StatementStatus.PAID:
        if statement.paid_reference == reference:
            return statement
        raise Conflict(f"COD statement {statement.id} is already paid under reference "
                       f"{statement.paid_reference}.", slug="statement-paid")
    if statement.status is StatementStatus.CANCELLED:
        raise Conflict(f"COD statement {statement.id} is cancelled.",
                       slug="statement-cancelled")
    if paid_at > now + PAID_AT_MARGIN:
        raise Unprocessable("The payment cannot be in the future.",
                            errors=[{"pointer": "/paid_at", "detail": "In the future."}])
    if local_day(paid_at) < statement.date_from:
        raise Unprocessable("The payment cannot be before the COD it pays was collected.",
                            errors=[{"pointer": "/paid_at",
                                     "detail": "Before the statement's period."}])
    statement.status = StatementStatus.PAID
    statement.paid_reference = reference
    statement.paid_at = paid_at
    statement.paid_by_id = actor.id
    statement.paid_recorded_at = now
    return statement


def cancel(session: Session, actor: User, statement_id: int, *, now: datetime
           ) -> CodStatement:
    """Cancel a statement not paid: its items are free for another one. Cancelling it
    again changes nothing; a paid one is a 409 ``statement-paid``."""
    statement = get(session, actor, statement_id, lock=True)
    if statement.status is StatementStatus.PAID:
        raise Conflict(f"COD statement {statement.id} is paid: it cannot be cancelled.",
                       slug="statement-paid")
    if statement.status is StatementStatus.OPEN:
        statement.status = StatementStatus.CANCELLED
        statement.cancelled_by_id = actor.id
        statement.cancelled_at = now
        for line in statement.lines:
            line.claimed_item_id = None
    return statement


def pending(session: Session, actor: User, office_id: int | None, date_to: date
            ) -> list[dict[str, Any]]:
    """Per sender, the COD the office's couriers collected for them up to ``date_to``
    that is on no statement: handed in (what the office owes them now) and not yet
    handed in; the sender longest waiting first. COD of items with no sender phone
    (of fewer than nine digits) is one row, ``sender_key`` null: no statement is
    drawn up for it."""
    office = office_for_read(actor, office_id, what="COD owed to senders")
    rows: dict[str | None, dict[str, Any]] = {}
    latest: dict[str | None, int] = {}
    for c in collected(session, office, date_to=date_to):
        row = rows.setdefault(c.sender_key, {
            "sender_key": c.sender_key, "count": 0, "amount": 0,
            "not_handed_in_count": 0, "not_handed_in_amount": 0,
            "disputed_count": 0, "disputed_amount": 0,
            "first_day": c.delivered_on.isoformat()})
        if c.item_id > latest.get(c.sender_key, 0):
            latest[c.sender_key] = c.item_id
            row["sender_name"], row["sender_phone"] = c.sender_name, c.sender_phone
        if c.disputed:
            row["disputed_count"] += 1
            row["disputed_amount"] += c.cod_collected
        elif c.handed_in:
            row["count"] += 1
            row["amount"] += c.cod_collected
        else:
            row["not_handed_in_count"] += 1
            row["not_handed_in_amount"] += c.cod_collected
        row["first_day"] = min(row["first_day"], c.delivered_on.isoformat())
    return sorted(rows.values(), key=lambda r: (r["first_day"], r["sender_key"] or ""))
