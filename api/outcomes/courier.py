"""What a courier sees of the office's check of their outcomes: the ones it disputed.

A dispute is the office saying "this did not happen as you reported it" (the parcel
was not in the recipient's hands, the cash was short, the proof shows someone else):
the courier is the one who can answer it, so their phone lists each outcome of theirs
whose latest review is a dispute, with the note that says why, until staff settle it
(confirm it) or the dispute is older than :data:`DISPUTE_DAYS`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from models import OutcomeReview, ReviewState, Role, TrackingEvent, User

from ..errors import Forbidden
from .service import courier_of, outcome_row, state_of

#: how far back a courier's disputed outcomes are listed (by the dispute's date)
DISPUTE_DAYS = 60
#: at most this many, newest dispute first (a courier with more has a conversation
#: with their office to have, not a list to scroll)
MAX_DISPUTES = 200


def my_disputes(session: Session, actor: User, *, now: datetime) -> dict[str, Any]:
    """The caller's outcomes (their own, or recorded for them by staff) whose latest
    review is a dispute made in the last :data:`DISPUTE_DAYS` days, newest dispute
    first: what the office wants them to answer."""
    if actor.role is not Role.COURIER:
        raise Forbidden("Only couriers have outcomes of their own to answer for; office "
                        "staff see disputes on GET /api/v1/outcomes?state=disputed.")
    since = now - timedelta(days=DISPUTE_DAYS)
    mine = or_(and_(TrackingEvent.actor_id == actor.id,
                    TrackingEvent.for_courier_id.is_(None)),
               TrackingEvent.for_courier_id == actor.id)
    found = session.execute(
        select(TrackingEvent).join(OutcomeReview, OutcomeReview.event_id == TrackingEvent.id)
        .where(mine, OutcomeReview.state == ReviewState.DISPUTED,
               OutcomeReview.created_at >= since)
        .options(selectinload(TrackingEvent.item), selectinload(TrackingEvent.for_courier))
    ).unique().scalars().all()
    # the latest review decides: one confirmed since (the dispute settled) is not listed
    disputed = [ev for ev in found if state_of(ev) == ReviewState.DISPUTED.value
                and (c := courier_of(ev)) is not None and c.id == actor.id]
    disputed.sort(key=lambda ev: (ev.reviews[-1].created_at, ev.id), reverse=True)
    return {"courier_id": actor.id, "since": since, "total": len(disputed),
            "outcomes": [outcome_row(ev) for ev in disputed[:MAX_DISPUTES]]}
