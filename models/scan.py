"""Scans: what a courier's phone sent (photo and/or codes), what was read, and the
event it recorded. The photo itself lives in the evidence store, addressed by hash."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .item import Item, TrackingEvent
from .lifecycle import EventCode
from .user import User


class ScanAction(enum.StrEnum):
    """What the courier was doing when scanning, and the event it records."""

    SORTING_IN = "sorting_in"
    SORTING_OUT = "sorting_out"
    ARRIVAL_AT_OFFICE = "arrival_at_office"
    HELD_AT_OFFICE = "held_at_office"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    FAILED_ATTEMPT = "failed_attempt"
    AT_PICKUP_POINT = "at_pickup_point"
    RETURN_TO_SENDER = "return_to_sender"

    @property
    def event_code(self) -> EventCode:
        return _EVENTS[self]


_EVENTS = {
    ScanAction.SORTING_IN: EventCode.EDD,
    ScanAction.SORTING_OUT: EventCode.EDE,
    ScanAction.ARRIVAL_AT_OFFICE: EventCode.EMG,
    ScanAction.HELD_AT_OFFICE: EventCode.EDF,
    ScanAction.OUT_FOR_DELIVERY: EventCode.EDG,
    ScanAction.DELIVERED: EventCode.EMI,
    ScanAction.FAILED_ATTEMPT: EventCode.EMH,
    ScanAction.AT_PICKUP_POINT: EventCode.EDH,
    ScanAction.RETURN_TO_SENDER: EventCode.RTS,
}


class Scan(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "scans"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    action: Mapped[ScanAction] = mapped_column(str_enum(ScanAction))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("tracking_events.id"), unique=True)
    device_time: Mapped[datetime] = mapped_column(UTCDateTime())
    server_time: Mapped[datetime] = mapped_column(UTCDateTime())
    # every code read: [{"symbology", "text", "polygon", "engine", "source"}]
    codes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    identified_code: Mapped[str] = mapped_column(String(60))
    misreads: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    photo_key: Mapped[str | None] = mapped_column(String(200))
    photo_content_type: Mapped[str | None] = mapped_column(String(40))
    photo_bytes: Mapped[int | None]
    #: the photo could not be read (``{"type", "detail"}``: a truncated JPEG, a HEIC, a
    #: decompression bomb), so the scan is the phone's codes alone and no photo is kept
    photo_error: Mapped[dict[str, str] | None] = mapped_column(JSON)

    actor: Mapped[User] = relationship()
    item: Mapped[Item] = relationship()
    # event.scan_record: the scan behind an event, loaded in one query per timeline
    event: Mapped[TrackingEvent] = relationship(
        backref=backref("scan_record", uselist=False, lazy="selectin"))


class UnreadState(enum.StrEnum):
    """Where a kept photo with no item number stands."""

    OPEN = "open"  # nobody has settled it yet
    RESOLVED = "resolved"  # recorded as the courier's scan (staff read it, or a retry),
    # or by the courier's event under its client_event_id (sync, events API)
    DISMISSED = "dismissed"  # staff decided nothing is to be recorded (with a reason)


class UnreadScan(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """A scan refused for want of an item number on its photo (the photo decoded, but
    held no code, or none that is an item number), kept as a "scan to resolve": who,
    when, where, what they were doing, and the photo, for the office's staff to record
    from the number they read on it, or to dismiss. One per ``client_event_id``."""

    __tablename__ = "unread_scans"
    __table_args__ = (
        Index("ix_unread_scans_office_state_time", "office_id", "state", "server_time"),
        Index("ix_unread_scans_actor_time", "actor_id", "server_time"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    action: Mapped[ScanAction] = mapped_column(str_enum(ScanAction))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    #: the courier's office when they scanned: its staff settle it
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    device_time: Mapped[datetime] = mapped_column(UTCDateTime())
    server_time: Mapped[datetime] = mapped_column(UTCDateTime())  # first received
    last_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the latest retry
    attempts: Mapped[int] = mapped_column(default=1)  # the same scan sent how many times
    location: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: the scan's other fields as sent (JSON), without a delivery code or ID number
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)
    codes: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # what was read, if anything
    misreads: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    photo_key: Mapped[str] = mapped_column(String(200))
    photo_content_type: Mapped[str] = mapped_column(String(40))
    photo_bytes: Mapped[int]
    state: Mapped[UnreadState] = mapped_column(str_enum(UnreadState, 16),
                                               default=UnreadState.OPEN)
    #: staff who resolved or dismissed it (null: resolved by the courier's own retry)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    identifier: Mapped[str | None] = mapped_column(String(60))  # the number read on it
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id"), unique=True)
    dismiss_reason: Mapped[str | None] = mapped_column(String(500))

    actor: Mapped[User] = relationship(foreign_keys=[actor_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])
    scan: Mapped[Scan | None] = relationship()
