"""COD reconciliation with senders ("đối soát"): the statements of the COD an office
collected for a sender and pays back to them.

A statement lists the sender's COD collected in a period (one line per item, the cash
booked in the ledger); it is open until the post pays the sender (``paid``, with the
bank transfer's reference) or cancelled (its items free for another statement). An item
is on at most one statement that is not cancelled: its line holds the item in
``claimed_item_id``, unique, which a cancellation clears.
"""

from __future__ import annotations

import enum
import re
from datetime import date, datetime

from sqlalchemy import BigInteger, CheckConstraint, Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum

#: the digits of a sender key: a phone's last nine (Viet Nam's national number without
#: its trunk 0 or country code 84)
SENDER_KEY_DIGITS = 9


def sender_key(phone: str | None) -> str | None:
    """Who a sender is, from the phone an item carries: its last nine digits, so that
    ``0905 123 456``, ``0905.123.456``, ``+84 905 123 456`` and ``84905123456`` are one
    sender (as a complaint's phone is matched, api/complaints/service.py). None for no
    phone, or one of fewer than nine digits: such an item has no sender to remit to."""
    digits = re.sub(r"\D", "", phone or "")
    return digits[-SENDER_KEY_DIGITS:] if len(digits) >= SENDER_KEY_DIGITS else None


class StatementStatus(enum.StrEnum):
    OPEN = "open"  # drawn up, not paid yet
    PAID = "paid"
    CANCELLED = "cancelled"  # its items free again


class CodStatement(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "cod_statements"
    __table_args__ = (
        Index("ix_cod_statements_office_sender", "office_id", "sender_key", "id"),
        CheckConstraint("date_from <= date_to", name="period"),
        CheckConstraint("total >= 0", name="total_non_negative"),
        CheckConstraint("status != 'paid' OR paid_reference IS NOT NULL",
                        name="paid_has_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    sender_key: Mapped[str] = mapped_column(String(SENDER_KEY_DIGITS))
    # as asked for, and the sender's name on the latest of its items (for the page)
    sender_phone: Mapped[str] = mapped_column(String(20))
    sender_name: Mapped[str] = mapped_column(String(200))
    date_from: Mapped[date] = mapped_column(Date)  # delivery (shift) days, Viet Nam
    date_to: Mapped[date] = mapped_column(Date)
    status: Mapped[StatementStatus] = mapped_column(str_enum(StatementStatus, 16))
    total: Mapped[int] = mapped_column(BigInteger)  # VND: the COD collected, summed
    line_count: Mapped[int]
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the payment to the sender: its reference (the bank transfer's), when it was made,
    # and who recorded it when
    paid_reference: Mapped[str | None] = mapped_column(String(64))
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    paid_recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list[CodStatementLine]] = relationship(
        back_populates="statement", order_by="CodStatementLine.id", lazy="select")


class CodStatementLine(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py
    """One item's COD on a statement: what the item was to collect and what was
    collected (the ledger's COD entry with its corrections), as when the statement was
    drawn up."""

    __tablename__ = "cod_statement_lines"
    __table_args__ = (
        CheckConstraint("cod_collected > 0", name="collected_positive"),
        CheckConstraint("claimed_item_id IS NULL OR claimed_item_id = item_id",
                        name="claims_its_item"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("cod_statements.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    # the item while the statement is not cancelled: unique, so no two statements hold
    # one item, also when drawn up at once; a cancellation sets it null
    claimed_item_id: Mapped[int | None] = mapped_column(ForeignKey("items.id"), unique=True)
    cash_entry_id: Mapped[int] = mapped_column(ForeignKey("cash_entries.id"))
    identifier: Mapped[str] = mapped_column(String(40))
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the delivery's time
    delivered_on: Mapped[date] = mapped_column(Date)  # its shift day
    cod_amount: Mapped[int] = mapped_column(BigInteger)
    cod_collected: Mapped[int] = mapped_column(BigInteger)
    pieces: Mapped[int]
    pieces_delivered: Mapped[int | None]  # a partial delivery's

    statement: Mapped[CodStatement] = relationship(back_populates="lines")
