"""The office's check of what a courier reported from the field.

A delivery (EMI) or failed attempt (EMH) recorded from a courier's phone is the
courier's report: the item's status follows it at once (the customer, the next plan and
the cash ledger cannot wait for the evening), but the office has not seen the parcel,
the cash or the recipient. At the end of the shift office staff check the courier's day
(the parcels brought back, the cash handed in, the proof) and confirm each outcome, or
dispute one (a parcel reported delivered found in the bag, a "recipient absent" at an
address where the recipient says they were home). An outcome recorded by office staff
themselves (a recipient collecting at the counter) is confirmed as it is recorded.

Rows are only ever inserted: the latest row of an event is its state, the earlier ones
its history (a dispute settled later is a second row, not an edit).
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .item import TrackingEvent
from .user import User


class ReviewState(enum.StrEnum):
    CONFIRMED = "confirmed"
    DISPUTED = "disputed"


class OutcomeReview(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """One check of one reported outcome, by office staff, or by the system: a
    delivery whose proof passed the server's check of the item's one-time delivery code
    (``basis`` ``delivery_code``, no actor) is confirmed as it arrives."""

    __tablename__ = "outcome_reviews"
    __table_args__ = (
        Index("ix_outcome_reviews_event", "event_id", "id"),
        # by someone, or on a basis the system checked
        CheckConstraint("actor_id IS NOT NULL OR basis IS NOT NULL", name="has_author"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("tracking_events.id"))
    state: Mapped[ReviewState] = mapped_column(str_enum(ReviewState, 16))
    note: Mapped[str | None] = mapped_column(String(500))
    # None for a confirmation by the system (``basis``)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # what a review without an actor rests on: ``delivery_code`` (the recipient gave the
    # courier the item's one-time code, checked by the server); None for staff's review
    basis: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    actor: Mapped[User | None] = relationship(lazy="joined")
    # event.reviews: oldest first, loaded in one query per timeline
    event: Mapped[TrackingEvent] = relationship(backref=db.backref(
        "reviews", lazy="selectin", order_by="OutcomeReview.id"))
