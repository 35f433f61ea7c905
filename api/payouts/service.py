"""Payout tasks: created by the office, assigned to a courier who is given the cash
(an advance in the ledger), paid to the beneficiary after an ID check against a signed
receipt (a payout in the ledger), or brought back."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Text, case, cast, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import (
    CashEntry,
    CashKind,
    EvidenceKind,
    PayoutStatus,
    PayoutTask,
    Role,
    User,
    lock_rows,
    locked_one,
)

from .. import ratelimit
from ..cash.service import field_shift_day, shift_day
from ..errors import Conflict, Forbidden, NotFound, Unprocessable
from ..evidence import lock_evidence, unknown_evidence
from ..items.service import ordering_time
from ..localtime import LOCAL_TZ
from ..proof import policy, reuse
from ..scope import office_for_read, office_for_write

#: A task still to settle: not paid yet (a failed one goes back to the office, to be
#: assigned again)
OPEN = (PayoutStatus.PENDING, PayoutStatus.ASSIGNED, PayoutStatus.FAILED)


def _staff_office(actor: User, office_id: int | None) -> int:
    return office_for_write(actor, office_id, what="or assign payouts")


def new_reference() -> str:
    """A payout reference for a task created without one (``CT`` and 10 hex digits)."""
    return f"CT{secrets.token_hex(5).upper()}"


def _unused_reference(session: Session) -> str:
    """A new reference no task has: one drawn by chance twice (40 random bits: among a
    million tasks, likely) was a 409 ``Payout … exists`` for a reference nobody gave."""
    for _ in range(4):
        ref = new_reference()
        if session.execute(select(PayoutTask.id).where(PayoutTask.reference == ref)
                           ).first() is None:
            return ref
    return new_reference()  # (the unique reference still refuses a clash)


def _same_task(t: PayoutTask, office_id: int, data: Mapping[str, Any]) -> bool:
    """Whether the stored task is the one ``data`` (a create's fields) describes."""
    b = data["beneficiary"]
    return (t.office_id == office_id and t.program == data["program"]
            and t.period == data["period"] and t.amount == data["amount"]
            and t.due_date == data["due_date"] and t.beneficiary_name == b["name"]
            and t.beneficiary_address == b["address"]
            and t.beneficiary_phone == b.get("phone")
            and hmac.compare_digest(t.beneficiary_id_hash,
                                    policy.id_hash(t.reference, b["id_number"])))


def create(session: Session, actor: User, data: Mapping[str, Any], *, now: datetime,
           replay: bool = False) -> PayoutTask:
    """A new task (office staff). A ``reference`` already used is a 409
    ``duplicate-payout``; with ``replay`` (the console's form, whose reference is made
    once per form), the same task sent again is answered with the stored one instead,
    so a double submit records it once. Two creates of one reference at the same moment
    meet at the unique reference: the second is answered as if it came after."""
    office_id = _staff_office(actor, data.get("office_id"))
    ref = data.get("reference") or _unused_reference(session)

    def earlier() -> PayoutTask | None:
        t: PayoutTask | None = session.execute(
            select(PayoutTask).where(PayoutTask.reference == ref)).scalar()
        if t is None:
            return None
        if replay and _same_task(t, office_id, data):
            return t
        raise Conflict(f"Payout {ref} exists.", slug="duplicate-payout")

    if (same := earlier()) is not None:
        return same
    b = data["beneficiary"]
    task = PayoutTask(
        reference=ref, program=data["program"], period=data["period"], office_id=office_id,
        beneficiary_name=b["name"], beneficiary_phone=b.get("phone"),
        beneficiary_address=b["address"], lat=b.get("lat"), lon=b.get("lon"),
        beneficiary_id_hash=policy.id_hash(ref, b["id_number"]), amount=data["amount"],
        due_date=data["due_date"], status=PayoutStatus.PENDING, created_at=now)
    try:
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            session.add(task)
            session.flush()
    except IntegrityError:
        if (same := earlier()) is None:
            raise
        return same
    return task


def visible(session: Session, actor: User, task_id: int, *, for_update: bool = False
            ) -> PayoutTask:
    """The task if the actor may see it (404 otherwise); ``for_update``: with its row
    locked until commit, so that two requests cannot both pass a status check and
    both book the cash (:func:`models.locked_one`)."""
    if for_update:
        t = locked_one(session, PayoutTask, PayoutTask.id == task_id)
    else:
        t = session.get(PayoutTask, task_id)
    if t is None or (actor.role is Role.COURIER and t.courier_id != actor.id) or (
            actor.role is Role.DISPATCHER and t.office_id != actor.office_id):
        raise NotFound(f"No payout {task_id} that you can see.")
    return t


def lock_payouts(session: Session, actor: User, ids: Collection[int]) -> None:
    """Lock, in id order, the rows of the payouts (by id) that the actor may pay (a
    courier's own: nobody else pays out), as :func:`api.items.service.lock_items` does
    for a sync batch's items: before the files the batch cites
    (:func:`api.evidence.lock_evidence`), in the order a single payment takes them (its
    payout, then its files)."""
    wanted = sorted(set(ids))
    if not wanted or actor.role is not Role.COURIER:  # (anyone else is refused anyway)
        return
    where = (PayoutTask.id.in_(wanted), PayoutTask.courier_id == actor.id)
    lock_rows(session, PayoutTask, *where)
    session.execute(select(PayoutTask.id).where(*where).order_by(PayoutTask.id)
                    .with_for_update(of=PayoutTask)).all()


PAYOUT_RULE = "a payout cites only files the courier paying out uploaded."


def listing(session: Session, actor: User, status: list[PayoutStatus], *, limit: int = 500,
            offset: int = 0) -> tuple[list[PayoutTask], int]:
    """One page of the payouts the actor sees, and how many in all: the open ones first
    (to pay, or back at the office: :data:`OPEN`), oldest due first, then the paid ones,
    latest due first. The list was the 1 000 oldest and nothing more: after a year of
    paid payouts a courier's phone no longer listed the ones assigned that day."""
    stmt = select(PayoutTask)
    if actor.role is Role.COURIER:
        stmt = stmt.where(PayoutTask.courier_id == actor.id)
    elif actor.role is Role.DISPATCHER:
        stmt = stmt.where(PayoutTask.office_id == actor.office_id)
    if status:
        stmt = stmt.where(PayoutTask.status.in_(status))
    total = int(session.execute(select(func.count()).select_from(stmt.subquery())).scalar_one())
    is_open = PayoutTask.status.in_(OPEN)
    # (each key is the same within the other group: where NULLs sort does not matter)
    open_first = case((is_open, 0), else_=1)
    rows = session.execute(stmt.order_by(
        open_first,
        case((is_open, PayoutTask.due_date), else_=None).asc(),
        case((is_open, None), else_=PayoutTask.due_date).desc(),
        PayoutTask.id).limit(limit).offset(offset)).scalars()
    return list(rows), total


class OfficeDay(NamedTuple):
    """A page of :func:`office_day`: its rows, how many in all, and how many of all
    those carry review flags (not only the page's)."""

    rows: list[PayoutTask]
    total: int
    flagged: int


def office_day(session: Session, actor: User, office_id: int | None, day: date,
               status: Collection[PayoutStatus] = (), *, limit: int = 500, offset: int = 0
               ) -> OfficeDay:
    """An office's payouts for a day (the console's payouts page): those due that day,
    those still open (:data:`OPEN`) from an earlier day, and those paid that day (the
    server's time, in Viet Nam) whatever their due date; by due date, then id (a total
    order: pages neither skip nor repeat a row). Office staff only, on the office rule
    of :func:`api.scope.office_for_read`. One page (``limit`` rows from ``offset``),
    the total and how many are flagged: the database filters, counts and pages."""
    office_id = office_for_read(actor, office_id, what="payouts")
    start = datetime.combine(day, time(), LOCAL_TZ)
    stmt = select(PayoutTask).where(
        PayoutTask.office_id == office_id,
        (PayoutTask.due_date == day)
        | ((PayoutTask.due_date < day) & PayoutTask.status.in_(OPEN))
        | ((PayoutTask.status == PayoutStatus.PAID) & (PayoutTask.server_time >= start)
           & (PayoutTask.server_time < start + timedelta(days=1))))
    if status:
        stmt = stmt.where(PayoutTask.status.in_(list(status)))
    # flagged: a list with a flag in it. Flags are strings, so its JSON text has a
    # double quote; SQL NULL, JSON null (a payment without flags) and [] have none
    # (the same on SQLite and PostgreSQL, without JSON functions that differ)
    flagged = case((cast(PayoutTask.flags, Text).contains('"'), 1), else_=0)
    sub = stmt.with_only_columns(flagged.label("flagged")).subquery()
    total, n_flagged = session.execute(
        select(func.count(), func.coalesce(func.sum(sub.c.flagged), 0)).select_from(sub)).one()
    rows = list(session.execute(stmt.order_by(PayoutTask.due_date, PayoutTask.id)
                                .limit(limit).offset(offset)).scalars())
    return OfficeDay(rows, int(total), int(n_flagged))


def _advance_note(t: PayoutTask) -> str:
    return f"Cash for payout {t.reference}"


def assign(session: Session, actor: User, task_id: int, courier_id: int, *, now: datetime,
           client_ref: str | None = None) -> PayoutTask:
    """Give the task and its cash to a courier: the ledger records the advance.
    ``client_ref``: a one-time reference (the console's form, the API's ``reference``)
    kept on the advance, so the same assignment sent twice gives the cash once; used
    for anything else, a 409 ``idempotency-key-reused``."""
    t = visible(session, actor, task_id, for_update=True)
    _staff_office(actor, t.office_id)
    if client_ref:  # (the task's row is locked: a resend waits for the first to commit)
        same = session.execute(select(CashEntry).where(CashEntry.client_ref == client_ref)
                               ).scalar()
        if same is not None:
            if (same.kind is CashKind.ADVANCE and same.courier_id == courier_id
                    and same.office_id == t.office_id and same.note == _advance_note(t)):
                return t
            raise Conflict("This reference was used for another assignment.",
                           slug="idempotency-key-reused")
    if t.status not in (PayoutStatus.PENDING, PayoutStatus.FAILED):
        raise Conflict(f"Payout {t.reference} is {t.status.value}.", slug="payout-not-open",
                       current_status=t.status.value)
    courier = session.get(User, courier_id)
    # (a deactivated courier cannot log in to pay it or bring it back: the cash was
    # booked to them all the same)
    if (courier is None or courier.role is not Role.COURIER or not courier.active
            or courier.office_id != t.office_id):
        raise Unprocessable("Not an active courier of the payout's office.",
                            errors=[{"pointer": "/courier_id", "detail": "Unknown courier."}])
    try:
        # the same reference sent for another payout at the same moment (each locks only
        # its own task: both found it unused above) meets this one at the ledger's
        # unique reference: a 409 as above, where it was a 500
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            t.courier_id, t.status = courier.id, PayoutStatus.ASSIGNED
            t.client_event_id = None
            session.add(CashEntry(courier_id=courier.id, office_id=t.office_id,
                                  service_date=shift_day(now), kind=CashKind.ADVANCE,
                                  amount=t.amount, created_by_id=actor.id, created_at=now,
                                  note=_advance_note(t), client_ref=client_ref or None))
            session.flush()
    except IntegrityError:
        if not client_ref or session.execute(select(CashEntry.id).where(
                CashEntry.client_ref == client_ref)).first() is None:
            raise
        raise Conflict("This reference was used for another assignment.",
                       slug="idempotency-key-reused") from None
    return t


def pay(session: Session, actor: User, task_id: int, data: Mapping[str, Any], *,
        now: datetime, flags: Sequence[str] = (), clock_skew_s: float | None = None
        ) -> tuple[PayoutTask, bool]:
    """The courier pays the beneficiary: ID checked against the number on file (a proxy
    shows their own ID and the authorisation), a signature on the receipt. The
    signature and the photo are files the courier uploaded (only the assigned courier
    pays out), else 422 as for a file nobody uploaded.

    The payout is booked to the shift day :func:`api.cash.service.field_shift_day` gives
    for its device time, time ``flags`` (:func:`api.devicetime.time_flags`) and the
    upload's ``clock_skew_s``, like COD cash; the payment keeps them. A signature or
    photo another visit used first (another person's payout or delivery, the same
    pensioner's payout on another day: :mod:`api.proof.reuse`) is recorded but flagged
    ``proof_reused``, naming that use (``reused_from``). A task marked failed since is
    paid by a payment made before that (:func:`_paid_before_it_failed`)."""
    t = visible(session, actor, task_id, for_update=True)
    if t.client_event_id is not None and t.client_event_id == data["client_event_id"]:
        return t, True  # the phone resent it
    if actor.role is not Role.COURIER or t.courier_id != actor.id:
        raise Forbidden("Only the assigned courier pays out.")
    if t.status is not PayoutStatus.ASSIGNED and not _paid_before_it_failed(
            t, data["device_time"], flags, clock_skew_s):
        raise Conflict(f"Payout {t.reference} is {t.status.value}.", slug="payout-not-open",
                       current_status=t.status.value)
    if session.execute(select(PayoutTask.id).where(
            PayoutTask.client_event_id == data["client_event_id"])).first() is not None:
        raise Conflict(f"client_event_id {data['client_event_id']} was already used for "
                       "another payout.", slug="idempotency-key-reused")
    errors = []
    proxy = data["relation"] == "proxy"
    if not proxy:
        # as a delivery's ID check: a number cannot be found by retrying (the cash was
        # paid to whoever guessed it after any number of wrong ones)
        ratelimit.check_proof_attempts(t.id, payout=True)
        if not hmac.compare_digest(policy.id_hash(t.reference, data["id_number"]),
                                   t.beneficiary_id_hash):
            ratelimit.proof_failed(t.id, payout=True)
            errors.append({"pointer": "/id_number",
                           "detail": "Does not match the beneficiary's ID number."})
    if proxy and not data.get("photo"):
        errors.append({"pointer": "/photo", "detail": "A proxy needs a photo of the "
                       "authorisation."})
    # the files' rows locked (after the payout's) for the look-up of their other uses
    lock_evidence(session, [data.get("signature"), data.get("photo")])
    errors += unknown_evidence(session, {
        "/signature": (data.get("signature"), EvidenceKind.SIGNATURE),
        "/photo": (data.get("photo"), EvidenceKind.PHOTO)}, uploaders={actor.id},
        rule=PAYOUT_RULE)
    if errors:
        raise Unprocessable("The payout cannot be recorded.", slug="payout-not-verified",
                            errors=errors)
    loc = data.get("location") or {}
    cid = data["client_event_id"]
    try:
        # another payout paid under this client_event_id at the same moment (checked
        # above, before either wrote) meets this one at its unique index: a 409 as
        # above, where it was a 500 (in a sync, the whole upload's)
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            t.status = PayoutStatus.PAID
            t.client_event_id, t.device_time, t.server_time = (data["client_event_id"],
                                                               data["device_time"], now)
            t.paid_lat, t.paid_lon = loc.get("lat"), loc.get("lon")
            t.received_by, t.relation = data["received_by"], data["relation"]
            t.id_number_last4 = policy.normalise_id(data["id_number"])[-4:]
            t.signature_sha256, t.photo_sha256 = data["signature"], data.get("photo")
            t.receipt_number = f"BN{t.id:06d}{secrets.token_hex(2).upper()}"
            t.flags, t.clock_skew_s = list(flags) or None, clock_skew_s
            t.reused_from = reuse.payout_reuse(session, t) or None
            if t.reused_from:
                t.flags = [*(t.flags or ()), reuse.FLAG]
            session.add(CashEntry(courier_id=actor.id, office_id=t.office_id,
                                  service_date=field_shift_day(data["device_time"], now, flags,
                                                               clock_skew_s),
                                  kind=CashKind.PAYOUT,
                                  amount=-t.amount, created_by_id=actor.id, created_at=now,
                                  note=f"Payout {t.reference}, receipt {t.receipt_number}"))
            session.flush()
    except IntegrityError:
        if session.execute(select(PayoutTask.id).where(
                PayoutTask.client_event_id == cid,
                PayoutTask.id != task_id)).first() is None:
            raise
        raise Conflict(f"client_event_id {cid} was already used for another payout.",
                       slug="idempotency-key-reused") from None
    return t, False


def _paid_before_it_failed(t: PayoutTask, device_time: datetime, flags: Sequence[str],
                           clock_skew_s: float | None) -> bool:
    """Whether a payment of a task marked failed since (by the office, while its courier
    was out of reach) happened before that: the courier paid offline, and the task is
    still theirs (not given out again). Refused, the payment had no record: the
    courier's ledger kept the cash as on hand, a shortfall at the hand-in, and the
    pensioner could be paid twice. Its time is taken as an offline event's is against
    the office's actions (:func:`api.items.service.ordering_time`); an implausible one
    says nothing about the order."""
    if t.status is not PayoutStatus.FAILED or t.failed_at is None:
        return False
    when = ordering_time(device_time, flags, clock_skew_s)
    return when is not None and when < t.failed_at


def fail(session: Session, actor: User, task_id: int, note: str, *, now: datetime
         ) -> PayoutTask:
    """Not paid (beneficiary absent...): the task goes back to the office; the cash is
    returned with the courier's hand-in."""
    t = visible(session, actor, task_id, for_update=True)
    if actor.role is Role.COURIER and t.courier_id != actor.id:
        raise Forbidden("Only the assigned courier reports on a payout.")
    if t.status is not PayoutStatus.ASSIGNED:
        raise Conflict(f"Payout {t.reference} is {t.status.value}.", slug="payout-not-open",
                       current_status=t.status.value)
    t.status, t.failure_note, t.failed_at = PayoutStatus.FAILED, note, now
    session.flush()
    return t
