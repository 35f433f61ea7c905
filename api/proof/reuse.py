"""A proof file cited by more than one delivery.

A doorstep photo or a signature belongs to one hand-over, and one hand-over may cover
several parcels: a recipient takes three parcels at once, the courier photographs them
together and the recipient signs once. So a file that another item's delivery cited
first is fine when that delivery was to the same recipient (:func:`same_recipient`) on
the same shift day; otherwise the delivery is recorded but flagged ``proof_reused``,
naming the other delivery (``DeliveryProof.reused_from``), for the staff who settle an
"I never got it" complaint. Flagged, never refused, like a delivery far from the
address: deliveries are made offline and a refused sync entry is a parcel handed over
with no record, and the courier may be right (a building's reception signing for
several residents).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import DeliveryProof, EventCode, Item, TrackingEvent

from ..cash.service import event_shift_day

FLAG = "proof_reused"
_POINTERS = (("/proof/photo", "photo_sha256"), ("/proof/signature", "signature_sha256"))


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


def same_recipient(a: Item, b: Item) -> bool:
    """Whether two items go to the same person: the same recipient phone number, or
    the same name at the same address (street address, city, province, and ward when
    both have one), compared folded (:func:`_fold`). The same address alone is not
    enough: a building or a family home has several recipients, and the one who signed
    may not be the one who complains."""
    if _phone(a.recipient_phone) and _phone(a.recipient_phone) == _phone(b.recipient_phone):
        return True
    wards = {_fold(a.recipient_ward), _fold(b.recipient_ward)} - {""}
    return (_fold(a.recipient_name) == _fold(b.recipient_name)
            and _fold(a.recipient_address) == _fold(b.recipient_address)
            and _fold(a.recipient_city) == _fold(b.recipient_city)
            and _fold(a.recipient_province) == _fold(b.recipient_province)
            and len(wards) <= 1)


def reused_from(session: Session, item: Item, event: TrackingEvent, proof: DeliveryProof
                ) -> list[dict[str, Any]]:
    """For each file the (not yet stored) delivery ``event`` cites, the first delivery
    of another item that cited it and was not to the same recipient on the same shift
    day (``api.cash.service.event_shift_day``: the day its COD cash is booked to), as
    ``{"pointer", "identifier", "event_id"}``; empty when there is none.

    Deliveries of the same item are not compared (a delivery kept as a late conflict
    after the first, with the same photo, is the same hand-over), and the event itself
    is not stored yet: a replay of it (its ``client_event_id``) is answered before any
    of this runs, so it never meets itself."""
    out: list[dict[str, Any]] = []
    day = None
    for pointer, column in _POINTERS:
        sha = getattr(proof, column)
        if not sha:
            continue
        rows = session.execute(
            select(TrackingEvent, Item)
            .join(DeliveryProof, DeliveryProof.event_id == TrackingEvent.id)
            .join(Item, Item.id == TrackingEvent.item_id)
            .where(getattr(DeliveryProof, column) == sha, TrackingEvent.item_id != item.id,
                   TrackingEvent.code == EventCode.EMI)
            .order_by(TrackingEvent.id)).unique().all()
        for other_event, other in rows:
            if same_recipient(item, other):
                day = day or event_shift_day(event)
                if event_shift_day(other_event) == day:
                    continue
            out.append({"pointer": pointer, "identifier": other.identifier,
                        "event_id": other_event.id})
            break
    return out
