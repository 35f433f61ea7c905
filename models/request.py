"""What a recipient asked the office for after a failed attempt, by phone or at the
counter: to collect the parcel later than the day on the notice, or to have it
delivered after all (on a day). Office staff record it; it changes what the item waits
for (``Item.awaiting``, ``collect_until``, ``next_attempt_on``), and the row keeps who
changed what, and from what, for complaints."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .lifecycle import Awaiting
from .user import User


class RequestKind(enum.StrEnum):
    HOLD = "hold"  # to collect it at the office by a day
    DELIVER = "deliver"  # to have it delivered, on a day


class RecipientRequest(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """One request, as recorded (rows are only ever inserted)."""

    __tablename__ = "recipient_requests"
    __table_args__ = (Index("ix_recipient_requests_item", "item_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    kind: Mapped[RequestKind] = mapped_column(str_enum(RequestKind, 16))
    # the last day held (hold), or the day of the delivery round (deliver): Viet Nam date
    day: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(String(500))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # what the item waited for before it
    awaiting_before: Mapped[Awaiting | None] = mapped_column(str_enum(Awaiting, 16))
    collect_by_before: Mapped[date | None] = mapped_column(Date)
    next_attempt_before: Mapped[date | None] = mapped_column(Date)

    actor: Mapped[User] = relationship(lazy="joined")
