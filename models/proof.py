"""Evidence files (photos, signatures) and proof of delivery."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .item import TrackingEvent


class EvidenceKind(enum.StrEnum):
    PHOTO = "photo"
    SIGNATURE = "signature"


class Evidence(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """A file uploaded as evidence, addressed by its SHA-256 (uploading it twice is a
    no-op). Proofs reference it by ``sha256``."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(200))  # in the evidence store
    kind: Mapped[EvidenceKind] = mapped_column(str_enum(EvidenceKind, 16))
    content_type: Mapped[str] = mapped_column(String(40))
    size_bytes: Mapped[int]
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Relation(enum.StrEnum):
    RECIPIENT = "recipient"
    PROXY = "proxy"  # an authorised person, with their own ID


class PartialReason(enum.StrEnum):
    """Why a delivery handed over only part of the pieces (the rest goes back)."""

    REFUSED_PART = "refused_part"  # the recipient refused the rest
    DAMAGED_PART = "damaged_part"  # the rest arrived damaged
    MISSING_PART = "missing_part"  # the rest is missing (not in the courier's bag)
    OTHER = "other"  # said in the event's note


class DeliveryProof(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """What proves a delivery (EMI). ID numbers are kept as a salted hash and their last
    four characters only."""

    __tablename__ = "delivery_proofs"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("tracking_events.id"), unique=True)
    relation: Mapped[Relation] = mapped_column(str_enum(Relation, 16))
    received_by: Mapped[str | None] = mapped_column(String(200))
    id_number_last4: Mapped[str | None] = mapped_column(String(4))
    id_number_hash: Mapped[str | None] = mapped_column(String(64))
    id_matched: Mapped[bool | None]  # against the number on file, when there is one
    # indexed: a delivery looks up the other deliveries citing the same file
    photo_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    signature_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    code_verified: Mapped[bool] = mapped_column(default=False)
    cod_collected: Mapped[int | None]  # VND
    # a delivery of part of the item's pieces (a partial delivery, the item's status
    # ``partially_delivered``): how many were handed over, and why not the rest; both
    # null for a delivery of every piece
    pieces_delivered: Mapped[int | None]
    partial_reason: Mapped[PartialReason | None] = mapped_column(str_enum(PartialReason, 16))
    # the deliveries of other recipients that cited the same file first, when the
    # event is flagged proof_reused: [{"pointer", "identifier", "event_id"}]
    reused_from: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    event: Mapped[TrackingEvent] = relationship(
        backref=db.backref("proof", uselist=False, lazy="selectin"))

    @property
    def partial(self) -> bool:
        """Whether it proves a partial delivery (part of the pieces handed over)."""
        return self.partial_reason is not None
