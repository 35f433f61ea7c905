"""Complaint cases on items, with an SLA clock per product, and what was decided on each
(who moved it on, when, to what, with which note), kept as it was said."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .item import Item
from .office import Office
from .user import User


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
    # the office the item was at when the complaint was opened: its SLA and quality
    # figures count it there, and it answers it (closes, reopens); staff of the office
    # holding the item now see it too, investigate it and add notes
    # (api/complaints/service.py, ``_visible``, ``answers_for``)
    office: Mapped[Office] = relationship()
    history: Mapped[list[ComplaintChange]] = relationship(
        order_by="ComplaintChange.id", back_populates="complaint")


class ComplaintChange(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """One change of a complaint's status or resolution note (resolved, rejected,
    reopened, a note added), as it was made. Rows are only ever inserted: the
    complaint's ``resolution_note`` is the latest note, these are every one."""

    __tablename__ = "complaint_changes"
    __table_args__ = (Index("ix_complaint_changes_complaint", "complaint_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # who made it; None for the backfilled entry (unknown)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the status before it (None for the backfilled entry: unknown) and after it (the
    # same when only a note was given)
    status_before: Mapped[ComplaintStatus | None] = mapped_column(
        str_enum(ComplaintStatus, 16))
    status: Mapped[ComplaintStatus] = mapped_column(str_enum(ComplaintStatus, 16))
    # the note given with it; None when none was (the complaint's note stayed as it was)
    note: Mapped[str | None] = mapped_column(Text)
    # the note a complaint had when the history began (migration): ``created_at`` is the
    # complaint's last change then; who wrote it, and when, is not known
    backfill: Mapped[bool] = mapped_column(default=False, server_default=false())

    complaint: Mapped[Complaint] = relationship(back_populates="history")
    actor: Mapped[User | None] = relationship(lazy="joined")
