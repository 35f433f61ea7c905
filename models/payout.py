"""Pension and social-insurance payouts: cash a courier carries out to a beneficiary,
handed over after identity checks, against a signed receipt."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from .base import UTCDateTime, db, str_enum


class PayoutStatus(enum.StrEnum):
    PENDING = "pending"  # at the office, no courier yet
    ASSIGNED = "assigned"
    PAID = "paid"
    FAILED = "failed"  # the courier could not pay; back at the office


class PayoutTask(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "payout_tasks"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        Index("ix_payout_tasks_office_status", "office_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    program: Mapped[str] = mapped_column(String(30))  # pension, social_insurance
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    beneficiary_name: Mapped[str] = mapped_column(String(200))
    beneficiary_phone: Mapped[str | None] = mapped_column(String(20))
    beneficiary_address: Mapped[str] = mapped_column(String(300))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    beneficiary_id_hash: Mapped[str] = mapped_column(String(64))
    amount: Mapped[int]  # VND
    due_date: Mapped[date] = mapped_column(Date)
    status: Mapped[PayoutStatus] = mapped_column(str_enum(PayoutStatus, 16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the payment (or failure), recorded once per client_event_id
    client_event_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    device_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    server_time: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_lat: Mapped[float | None]
    paid_lon: Mapped[float | None]
    received_by: Mapped[str | None] = mapped_column(String(200))
    relation: Mapped[str | None] = mapped_column(String(16))
    id_number_last4: Mapped[str | None] = mapped_column(String(4))
    # indexed: a payment, a delivery or an event citing a file looks up its other uses
    # (api/proof/reuse.py)
    signature_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    photo_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # review flags of the payment, as an event's: device_clock_off and
    # implausible_device_time (api/devicetime.py), proof_reused (reused_from names the
    # earlier uses of its signature or photo it was not part of)
    flags: Mapped[list[str] | None] = mapped_column(JSON)
    reused_from: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # the phone's clock minus the server's when the payment arrived (a sync upload's
    # sent_at); None without one. With the flags it gives the payment's shift day.
    clock_skew_s: Mapped[float | None]
    receipt_number: Mapped[str | None] = mapped_column(String(40), unique=True)
    failure_note: Mapped[str | None] = mapped_column(Text)
    # when the last failure was reported (kept, with its note, if the task is assigned
    # again)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
