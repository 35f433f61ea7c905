"""Complaint cases on items, with an SLA clock per product."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .item import Item


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class ComplaintCategory(enum.StrEnum):
    NOT_RECEIVED = "not_received"
    LATE = "late"
    DAMAGED = "damaged"
    WRONG_COD = "wrong_cod"
    FALSE_ATTEMPT = "false_attempt"  # "nobody came", but an attempt was recorded
    COURIER_CONDUCT = "courier_conduct"
    MISSING_SCAN = "missing_scan"
    OTHER = "other"


CLOSED = frozenset({ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED})
TRANSITIONS = {
    ComplaintStatus.OPEN: {ComplaintStatus.INVESTIGATING, ComplaintStatus.RESOLVED,
                           ComplaintStatus.REJECTED},
    ComplaintStatus.INVESTIGATING: {ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED},
    ComplaintStatus.RESOLVED: {ComplaintStatus.INVESTIGATING},  # reopened
    ComplaintStatus.REJECTED: {ComplaintStatus.INVESTIGATING},
}


class Complaint(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "complaints"
    __table_args__ = (Index("ix_complaints_office_status", "office_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(20), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    channel: Mapped[str] = mapped_column(String(16))  # "public" or "office"
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    category: Mapped[ComplaintCategory] = mapped_column(str_enum(ComplaintCategory, 24))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolution_note: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    item: Mapped[Item] = relationship(lazy="joined")
