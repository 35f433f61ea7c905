"""A photo or signature cited by more than one delivery, failed attempt or payout.

A file is captured at one place, at one moment, for one hand-over: a doorstep photo or
a signature at a delivery, the door or the address plate at a failed attempt, the
receipt's signature (and a proxy's authorisation) at a pension payout. One hand-over
may cover several parcels, one door several attempts, so a file that another use cited
first is fine when both were the same visit (:func:`same_visit`, always on the same
shift day):

- two deliveries: of the same item (the same hand-over recorded again, kept as a late
  conflict), or to the same recipient (:func:`same_recipient`) on the same day;
- two failed attempts (any event's own photo): at the same address
  (:func:`same_address`) on the same day: the same item re-attempted that day, or two
  parcels for one house where nobody opened;
- a failed attempt and a delivery: to the same recipient on the same day (the recipient
  came back while the courier was still there);
- a payout and anything else: the same person (:func:`same_person`) on the same day.

Otherwise the use is recorded but flagged ``proof_reused``, naming the first earlier use
it was not part of (``reused_from``), for the staff who settle an "I never got it"
complaint or check a pension receipt. So yesterday's door photo sent for today's attempt
on the same parcel is flagged (it proves nothing about today's), and so is last month's
signature on this month's pension receipt of the same pensioner (a new month is a new
signature; the same file bytes are not). Flagged, never refused, like a delivery far
from the address: deliveries, attempts and payouts are made offline and a refused sync
entry is a visit with no record, and the courier may be right (a building's reception
signing for several residents).

The use being judged is not stored yet (or, for a payout, is left out): a replay of it
(its ``client_event_id``) is answered before any of this runs, so it never meets
itself. Callers lock the files' rows first (:func:`api.evidence.lock_evidence`): two
uses of one file at the same moment are judged one after the other.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from models import (
    DeliveryProof,
    EventCode,
    Item,
    PayoutStatus,
    PayoutTask,
    TrackingEvent,
)

from ..cash.service import event_shift_day, field_shift_day

FLAG = "proof_reused"
DELIVERY, ATTEMPT, EVENT, PAYOUT = "delivery", "attempt", "event", "payout"


def _fold(text: str | None) -> str:
    """Lower case, without Vietnamese diacritics or punctuation, single spaces:
    "Nguyễn Văn  An" and "NGUYEN VAN AN", "12 Trần Phú" and "12, Tran Phu" fold alike."""
    text = (text or "").replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())


def _phone(number: str | None) -> str:
    """The national form of a phone number: digits only, +84 / 84 as a leading 0."""
    digits = re.sub(r"\D", "", number or "")
    if digits.startswith("84") and len(digits) >= 11:
        digits = "0" + digits[2:]
    return digits


def same_address(a: Item, b: Item) -> bool:
    """Whether two items go to the same address: street address, city, province, and
    ward when both have one, compared folded (:func:`_fold`)."""
    wards = {_fold(a.recipient_ward), _fold(b.recipient_ward)} - {""}
    return (_fold(a.recipient_address) == _fold(b.recipient_address)
            and _fold(a.recipient_city) == _fold(b.recipient_city)
            and _fold(a.recipient_province) == _fold(b.recipient_province)
            and len(wards) <= 1)


def same_recipient(a: Item, b: Item) -> bool:
    """Whether two items go to the same person: the same recipient phone number, or
    the same name at the same address (:func:`same_address`), compared folded
    (:func:`_fold`). The same address alone is not enough: a building or a family home
    has several recipients, and the one who signed may not be the one who complains."""
    if _phone(a.recipient_phone) and _phone(a.recipient_phone) == _phone(b.recipient_phone):
        return True
    return _fold(a.recipient_name) == _fold(b.recipient_name) and same_address(a, b)


@dataclass(frozen=True)
class Person:
    """Who a use was for: an item's recipient or a payout's beneficiary."""

    phone: str
    name: str
    address: str  # folded; for an item its street address, a payout's as written

    @classmethod
    def of(cls, use: Use) -> Person:
        if use.payout is not None:
            p = use.payout
            return cls(_phone(p.beneficiary_phone), _fold(p.beneficiary_name),
                       _fold(p.beneficiary_address))
        assert use.item is not None
        i = use.item
        return cls(_phone(i.recipient_phone), _fold(i.recipient_name),
                   _fold(i.recipient_address))


def same_person(a: Person, b: Person) -> bool:
    """The same phone number, or the same name at the same address, one address being
    the other followed by more of it (a payout's "8 Ngô Gia Tự, Lộc Thọ" is an item's
    "8 Ngô Gia Tự"; "80 Ngô Gia Tự" is not). A payout's address is one line, an item's
    street address its first part."""
    if a.phone and a.phone == b.phone:
        return True
    if not a.name or a.name != b.name or not a.address or not b.address:
        return False
    short, long = sorted((a.address, b.address), key=len)
    return long == short or long.startswith(short + " ")


@dataclass(frozen=True)
class Use:
    """One use of a file: a delivery's proof, an event's own photo (a failed attempt's
    door photo), or a payment's receipt; on its shift day (the day its cash is, or
    would be, booked to: :func:`api.cash.service.field_shift_day`)."""

    cited_for: str  # DELIVERY, ATTEMPT (an EMH's photo), EVENT (another event's), PAYOUT
    day: date
    server_time: datetime
    item: Item | None = None
    event_id: int | None = None
    payout: PayoutTask | None = None

    def ref(self, pointer: str) -> dict[str, Any]:
        """How the use that reused its file names it: ``pointer`` is where that one
        cites the file."""
        if self.payout is not None:
            return {"pointer": pointer, "cited_for": self.cited_for,
                    "payout_id": self.payout.id, "reference": self.payout.reference}
        assert self.item is not None
        return {"pointer": pointer, "cited_for": self.cited_for,
                "identifier": self.item.identifier, "event_id": self.event_id}


def same_visit(new: Use, old: Use) -> bool:
    """Whether two uses of one file were the same visit (the module's rules)."""
    if new.item is not None and old.item is not None:
        if new.cited_for == old.cited_for == DELIVERY and new.item.id == old.item.id:
            return True  # the same hand-over recorded again (a late conflict), any day
        if new.day != old.day:
            return False
        if DELIVERY in (new.cited_for, old.cited_for):
            return same_recipient(new.item, old.item)
        return same_address(new.item, old.item)
    return new.day == old.day and same_person(Person.of(new), Person.of(old))


def _event_use(event: TrackingEvent, item: Item, cited_for: str) -> Use:
    return Use(cited_for, event_shift_day(event), event.server_time, item=item,
               event_id=event.id)


def payout_use(task: PayoutTask) -> Use:
    """A payment (its fields set) as a use of its files."""
    assert task.device_time is not None and task.server_time is not None
    return Use(PAYOUT, field_shift_day(task.device_time, task.server_time, task.flags,
                                       task.clock_skew_s),
               task.server_time, payout=task)


#: Earlier uses of one file read per check. A file cited more often than this at one
#: visit does not happen (one signature for a shop's parcels is tens): past it the file
#: is flagged as reused, naming its first use, and the check stays bounded however many
#: times a phone cites it.
REUSE_SCAN_LIMIT = 200


def _uses(session: Session, sha: str, *, not_payout: int | None) -> list[Use]:
    """The stored uses of the file, the earliest recorded first: one more than
    :data:`REUSE_SCAN_LIMIT` at most."""
    limit = REUSE_SCAN_LIMIT + 1
    found: list[tuple[datetime, int, int, Use]] = []
    for event, item in session.execute(
            select(TrackingEvent, Item)
            .join(DeliveryProof, DeliveryProof.event_id == TrackingEvent.id)
            .join(Item, Item.id == TrackingEvent.item_id)
            .where(or_(DeliveryProof.photo_sha256 == sha,
                       DeliveryProof.signature_sha256 == sha),
                   TrackingEvent.code == EventCode.EMI)
            .order_by(TrackingEvent.server_time, TrackingEvent.id).limit(limit)
    ).unique().all():
        found.append((event.server_time, 0, event.id, _event_use(event, item, DELIVERY)))
    for event, item in session.execute(
            select(TrackingEvent, Item).join(Item, Item.id == TrackingEvent.item_id)
            .where(TrackingEvent.photo_sha256 == sha)
            .order_by(TrackingEvent.server_time, TrackingEvent.id).limit(limit)
    ).unique().all():
        kind = ATTEMPT if event.code is EventCode.EMH else EVENT
        found.append((event.server_time, 1, event.id, _event_use(event, item, kind)))
    for task in session.execute(select(PayoutTask).where(
            or_(PayoutTask.signature_sha256 == sha, PayoutTask.photo_sha256 == sha),
            PayoutTask.status == PayoutStatus.PAID, PayoutTask.device_time.is_not(None),
            *([PayoutTask.id != not_payout] if not_payout is not None else []))
            .order_by(func.coalesce(PayoutTask.server_time, PayoutTask.device_time),
                      PayoutTask.id).limit(limit)).scalars():
        use = payout_use(task)  # paid: its device time is set (the query asks for it)
        found.append((use.server_time, 2, task.id, use))
    found.sort(key=lambda f: f[:3])
    return [f[3] for f in found[:limit]]


def reused_from(session: Session, new: Use, files: Sequence[tuple[str, str | None]]
                ) -> list[dict[str, Any]]:
    """For each file (``(pointer, sha256)``) the not yet stored use ``new`` cites, the
    first earlier use of it that was not the same visit (:func:`same_visit`), named as
    :meth:`Use.ref` says; empty when there is none. A file already cited more than
    :data:`REUSE_SCAN_LIMIT` times is reused whatever the visits: its first use."""
    out: list[dict[str, Any]] = []
    not_payout = new.payout.id if new.payout is not None else None
    for pointer, sha in files:
        if not sha:
            continue
        uses = _uses(session, sha, not_payout=not_payout)
        other = next((old for old in uses[:REUSE_SCAN_LIMIT] if not same_visit(new, old)),
                     uses[0] if len(uses) > REUSE_SCAN_LIMIT else None)
        if other is not None:
            out.append(other.ref(pointer))
    return out


def delivery_reuse(session: Session, item: Item, event: TrackingEvent, proof: DeliveryProof
                   ) -> list[dict[str, Any]]:
    """:func:`reused_from` for the files of a (not yet stored) delivery's proof."""
    return reused_from(session, _event_use(event, item, DELIVERY),
                       [("/proof/photo", proof.photo_sha256),
                        ("/proof/signature", proof.signature_sha256)])


def event_photo_reuse(session: Session, item: Item, event: TrackingEvent
                      ) -> list[dict[str, Any]]:
    """:func:`reused_from` for a (not yet stored) event's own photo: a failed attempt's
    door or address plate."""
    kind = ATTEMPT if event.code is EventCode.EMH else EVENT
    return reused_from(session, _event_use(event, item, kind),
                       [("/photo", event.photo_sha256)])


def payout_reuse(session: Session, task: PayoutTask) -> list[dict[str, Any]]:
    """:func:`reused_from` for a payment's signature and photo (the task's payment
    fields set, not flushed: the task itself is left out)."""
    return reused_from(session, payout_use(task), [("/signature", task.signature_sha256),
                                                   ("/photo", task.photo_sha256)])
