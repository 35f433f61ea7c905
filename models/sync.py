"""Offline sync uploads and courier GPS positions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from .base import UTCDateTime, db


class SyncUpload(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """One ``POST /sync`` call: who, when, and how far the device clock was off."""

    __tablename__ = "sync_uploads"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[str | None] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    device_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # device clock minus server clock at upload, seconds (positive: device ahead)
    clock_skew_s: Mapped[float | None]
    received: Mapped[int] = mapped_column(default=0)
    accepted: Mapped[int] = mapped_column(default=0)
    duplicates: Mapped[int] = mapped_column(default=0)
    rejected: Mapped[int] = mapped_column(default=0)
    flagged: Mapped[int] = mapped_column(default=0)


class CourierPosition(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """A GPS ping. Kept at most one per courier per ``GPS_MIN_INTERVAL_S`` (30 s by
    default) and for ``GPS_RETENTION_DAYS`` (90 by default; ``flask gps purge``)."""

    __tablename__ = "courier_positions"
    __table_args__ = (Index("ix_courier_positions_courier_time", "courier_id", "device_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    client_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    courier_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    device_time: Mapped[datetime] = mapped_column(UTCDateTime())
    server_time: Mapped[datetime] = mapped_column(UTCDateTime())
    lat: Mapped[float]
    lon: Mapped[float]
    accuracy_m: Mapped[float | None]
    sync_upload_id: Mapped[int | None] = mapped_column(ForeignKey("sync_uploads.id"))
