"""The courier cash ledger: COD collected, payouts, hand-ins at the office, corrections.

Entries are never changed or deleted; a correction is a new entry that names the one it
corrects. Amounts are integer VND, signed from the courier's point of view (cash on hand
goes up with COD collected, down with payouts and hand-ins).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .user import User


class CashKind(enum.StrEnum):
    COD_COLLECTED = "cod_collected"
    ADVANCE = "advance"  # cash the office gives the courier for payouts
    PAYOUT = "payout"
    HANDOVER = "handover"
    CORRECTION = "correction"


class CashEntry(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "cash_entries"
    __table_args__ = (
        Index("ix_cash_entries_courier_day", "courier_id", "service_date"),
        Index("ix_cash_entries_office_day", "office_id", "service_date"),
        CheckConstraint("kind NOT IN ('cod_collected', 'advance') OR amount > 0",
                        name="in_positive"),
        CheckConstraint("kind NOT IN ('payout', 'handover') OR amount <= 0",
                        name="out_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    courier_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    service_date: Mapped[date] = mapped_column(Date)  # the shift's day, Viet Nam time
    kind: Mapped[CashKind] = mapped_column(str_enum(CashKind, 16))
    # VND, signed; 64-bit: hand-ins and corrections go up to 10^10 (api.cash.schemas)
    amount: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"))
    event_id: Mapped[int | None] = mapped_column(ForeignKey("tracking_events.id"), unique=True)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("cash_entries.id"))
    # a hand-in: what the ledger expected on hand when the office counted the cash
    expected_on_hand: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    client_ref: Mapped[str | None] = mapped_column(String(64), unique=True)

    courier: Mapped[User] = relationship(foreign_keys=[courier_id])
