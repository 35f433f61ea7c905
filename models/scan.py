"""Scans: what a courier's phone sent (photo and/or codes), what was read, and the
event it recorded. The photo itself lives in the evidence store, addressed by hash."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
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
