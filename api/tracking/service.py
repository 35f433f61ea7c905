"""Public tracking: what anyone with the number may see.

Never a name, phone number, street address or courier identity: only statuses,
times and places at city level.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from models import Awaiting, EventCode, Item, Status, TrackingEvent
from models.lifecycle import TRANSITIONS

from ..devicetime import likely_time
from ..errors import NotFound, Unprocessable
from ..items import identifiers
from ..items.service import collect_by
from ..localtime import LOCAL_TZ, local_day
from ..outcomes.service import state_of
from ..route_plans.eta import expected_delivery
from . import labels


def public_tracking(session: Session, number: str, lang: str, *, now: datetime
                    ) -> dict[str, Any]:
    try:
        ident = identifiers.classify(number)
    except ValueError as exc:
        raise Unprocessable(str(exc), slug="invalid-identifier", errors=[
            {"parameter": "number", "detail": str(exc)}]) from exc
    item = session.execute(
        select(Item).where(Item.identifier == ident.value)
        .options(selectinload(Item.events))
    ).unique().scalar_one_or_none()
    if item is None:
        raise NotFound(f"No item {ident.value}.", slug="item-not-found")
    events = []
    # each at the time it most likely happened: a phone set to 2090 showed the customer
    # an event in 2090, on top of the list
    when = {ev.id: likely_time(ev.device_time, ev.server_time, ev.flags, ev.clock_skew_s)
            for ev in item.events}
    # an unapplied event that no longer fits (late_conflict): staff only; a legal one
    # that came late (late_event) did happen and fits where it happened: shown there,
    # unless it repeats what the history already says then (the same attempt recorded
    # again, the sync then the photo scan: an attempt the limit does not count; a
    # departure while the item was already out), which showed the customer two failed
    # attempts or two departures for one. A failed attempt the limit counts is shown
    # even when it no longer fitted when it came (the office had held the parcel
    # before the phone synced it): it is one of the attempts the parcel goes back after
    shown = [e for e in item.events if e.applied or (
        ("late_event" in (e.flags or ()) or e.code is EventCode.EMH)
        and _fits(e, item.events, when))]
    for ev in sorted(shown, key=lambda e: (when[e.id], e.id), reverse=True):
        place = f"{ev.office.city}, {ev.office.province}" if ev.office else None
        # a delivery of part of the pieces says so, and why not the rest
        partial = ev.proof.partial_reason if getattr(ev, "proof", None) is not None else None
        events.append({
            "code": ev.code.value,
            "label": labels.label(labels.EVENT, ev.code.value, lang) if partial is None
            else labels.PARTIAL_DELIVERY[0 if lang == "vi" else 1],
            "time": when[ev.id].astimezone(LOCAL_TZ),
            "place": place,
            "reason": labels.label(labels.REASON, ev.reason.value if ev.reason else None, lang)
            if partial is None else labels.label(labels.PARTIAL_REASON, partial.value, lang),
            "action": labels.label(labels.ACTION, ev.action.value if ev.action else None, lang),
            # a delivery or failed attempt: whether the office confirmed what the courier
            # reported (api/outcomes); a disputed one is not confirmed either
            "confirmed": None if (state := state_of(ev)) is None else state == "confirmed",
        })
    return {
        "number": item.identifier,
        "product": item.product.value,
        "product_label": labels.label(labels.PRODUCT, item.product.value, lang),
        "status": item.status.value,
        "status_label": labels.label(labels.STATUS, item.status.value, lang),
        "destination": f"{item.recipient_city}, {item.recipient_province}",
        "cash_on_delivery": item.is_cod,
        "pieces": item.pieces,
        # partially delivered (then returned: the rest): the pieces handed over
        "pieces_delivered": next((ev.proof.pieces_delivered for ev in item.events
                                  if ev.applied and ev.proof is not None
                                  and ev.proof.partial), None),
        # a day gone by is no next attempt (the retry is overdue: staff see the day, the
        # customer was told "next attempt: 21/11" on the 28th)
        "next_attempt_on": item.next_attempt_on.isoformat()
        if item.next_attempt_on and item.next_attempt_on >= local_day(now) else None,
        # after a failed attempt, no other round: waiting for its recipient at the
        # office, or for its return (none once it moved on: Item.awaiting is cleared)
        "awaiting": item.awaiting.value if item.awaiting is not None else None,
        # where and until when its recipient can collect it (the office is no personal
        # data; the day passed, it is due for its return)
        "collect_by": day.isoformat() if (day := collect_by(item)) else None,
        "collect_at": {"name": item.office.name, "address": item.office.address,
                       "city": item.office.city, "province": item.office.province}
        if item.awaiting is Awaiting.COLLECTION else None,
        "expected_delivery": expected_delivery(session, item, now),
        "lang": lang,
        "events": events,
    }


def _fits(ev: TrackingEvent, history: list[TrackingEvent], when: dict[int, datetime]
          ) -> bool:
    """Whether a late event (kept unapplied, still legal when it came) fits where it
    happened: a failed attempt that counts toward the limit (a copy of one, or one
    before the item went out, does not: :func:`models.lifecycle.counted_attempts`), any
    other event legal after the event before it in the customer's order: the applied
    one, or a late attempt that counted (a departure after it is the courier's next
    round, as ``counted_attempts`` has it)."""
    if ev.code is EventCode.EMH:
        return ev.attempt_no is not None
    before = [e for e in history if (e.applied or (
        e.code is EventCode.EMH and e.attempt_no is not None))
        and (when[e.id], e.id) < (when[ev.id], ev.id)]
    if not before:
        return False
    last = max(before, key=lambda e: (when[e.id], e.id))
    status = last.status_after if last.applied else Status.DELIVERY_FAILED
    return status in TRANSITIONS[ev.code][0]
