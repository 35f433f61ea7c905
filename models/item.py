"""Items (postal articles) and their append-only tracking events."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .lifecycle import Awaiting, EventCode, FailureAction, FailureReason, ItemState, Status
from .office import Office
from .user import Role, User


class Product(enum.StrEnum):
    EMS = "ems"
    REGISTERED = "registered"
    PARCEL = "parcel"
    EXPRESS_LETTER = "express_letter"
    INSURED = "insured"
    ECOMMERCE = "ecommerce"
    ADMIN_DOCUMENT = "admin_document"
    LETTER = "letter"


class IdentifierKind(enum.StrEnum):
    S10 = "s10"
    EXTERNAL = "external"


class Item(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint("cod_amount >= 0", name="cod_non_negative"),
        CheckConstraint("declared_value >= 0", name="declared_value_non_negative"),
        CheckConstraint("weight_g >= 0", name="weight_non_negative"),
        CheckConstraint("failed_attempts >= 0", name="attempts_non_negative"),
        CheckConstraint("pieces >= 1 AND pieces <= 99", name="pieces_range"),
        Index("ix_items_office_status", "office_id", "status"),
        # an office's items' ids from the index alone (the complaints about an item
        # the office holds now: api/complaints/service.py, _office_ids)
        Index("ix_items_office_id", "office_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    identifier: Mapped[str] = mapped_column(String(40), unique=True)
    identifier_kind: Mapped[IdentifierKind] = mapped_column(str_enum(IdentifierKind, 16))
    carrier: Mapped[str | None] = mapped_column(String(50))
    product: Mapped[Product] = mapped_column(str_enum(Product))

    sender_name: Mapped[str] = mapped_column(String(200))
    sender_phone: Mapped[str | None] = mapped_column(String(20))
    # who the sender is for the COD the post remits to them: the phone's last nine
    # digits (models.remittance.sender_key), set when the item is created
    sender_key: Mapped[str | None] = mapped_column(String(9))
    sender_address: Mapped[str] = mapped_column(String(300), default="")

    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_phone: Mapped[str | None] = mapped_column(String(20))
    recipient_address: Mapped[str] = mapped_column(String(300))
    recipient_ward: Mapped[str | None] = mapped_column(String(100))
    recipient_city: Mapped[str] = mapped_column(String(100))
    recipient_province: Mapped[str] = mapped_column(String(100))
    recipient_lat: Mapped[float | None]
    recipient_lon: Mapped[float | None]

    weight_g: Mapped[int] = mapped_column(default=0)
    # the pieces (boxes) shipped under the one number; a delivery may hand over part of
    # them (models.proof.DeliveryProof.pieces_delivered), the rest going back
    pieces: Mapped[int] = mapped_column(server_default="1")
    cod_amount: Mapped[int] = mapped_column(default=0)  # VND, no minor unit
    # VND; up to 10^11 (api.items.schemas): past a 32-bit integer
    declared_value: Mapped[int] = mapped_column(BigInteger, default=0)
    window_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    window_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    id_check_required: Mapped[bool] = mapped_column(default=False)
    # the recipient's ID number, when the sender gave it (administrative documents):
    # a salted hash, compared with the number shown at the door
    recipient_id_hash: Mapped[str | None] = mapped_column(String(64))
    # one-time code the recipient gives the courier (valuable or high-COD items);
    # set when the item goes out for delivery, shown to office staff, never to couriers
    delivery_code: Mapped[str | None] = mapped_column(String(8))
    # after a failed attempt: the day of the next attempt (Viet Nam date)
    next_attempt_on: Mapped[date | None] = mapped_column(Date)
    # after a failed attempt: no further round, the parcel waits for its recipient at
    # the office or for its return to the sender (models.lifecycle.awaiting_after)
    awaiting: Mapped[Awaiting | None] = mapped_column(str_enum(Awaiting, 16))
    # awaiting collection: when the office stops holding it for its recipient (local
    # midnight after the last day, the day on the notice: api.items.service.collection_end);
    # after it the parcel is due for its return to the sender
    collect_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    signature_required: Mapped[bool] = mapped_column(default=False)

    status: Mapped[Status] = mapped_column(str_enum(Status), index=True)
    failed_attempts: Mapped[int] = mapped_column(default=0)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    office: Mapped[Office] = relationship(lazy="joined")
    courier: Mapped[User | None] = relationship(lazy="joined")
    events: Mapped[list[TrackingEvent]] = relationship(
        back_populates="item", order_by="TrackingEvent.id", lazy="select"
    )

    @property
    def state(self) -> ItemState:
        return ItemState(status=self.status, failed_attempts=self.failed_attempts)

    def move_to(self, state: ItemState, now: datetime) -> None:
        """Take on the state the lifecycle computed; the only way status changes."""
        assert state.status is not None
        self.status = state.status
        self.failed_attempts = state.failed_attempts
        self.updated_at = now

    def wait_for(self, awaiting: Awaiting | None, collect_until: datetime | None = None
                 ) -> None:
        """Set what the parcel waits for instead of another round (None: nothing, or
        another round); ``collect_until`` only with :attr:`Awaiting.COLLECTION`."""
        if (collect_until is not None) != (awaiting is Awaiting.COLLECTION):
            raise ValueError("collect_until goes with awaiting collection, and only with it")
        self.awaiting = awaiting
        self.collect_until = collect_until

    @property
    def is_cod(self) -> bool:
        return self.cod_amount > 0

    def __repr__(self) -> str:
        return f"<Item {self.identifier} {self.status}>"


class TrackingEvent(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """One thing that happened to an item. Rows are only ever inserted."""

    __tablename__ = "tracking_events"
    __table_args__ = (
        Index("ix_tracking_events_item_order", "item_id", "id"),
        # an office's events of a period (the quality report): a range of the index,
        # not a scan of every event ever recorded
        Index("ix_tracking_events_office_time", "office_id", "device_time"),
        # an office's outcomes to confirm of a day (api/outcomes): those synced late
        # (an implausible device time) are found by when they arrived
        Index("ix_tracking_events_office_server_time", "office_id", "server_time"),
        CheckConstraint("lat IS NULL OR (lat >= -90 AND lat <= 90)", name="lat_range"),
        CheckConstraint("lon IS NULL OR (lon >= -180 AND lon <= 180)", name="lon_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    code: Mapped[EventCode] = mapped_column(str_enum(EventCode, 8))
    # The idempotency key, generated on the device (a UUID); unique across the system.
    client_event_id: Mapped[str] = mapped_column(String(64), unique=True)
    device_time: Mapped[datetime] = mapped_column(UTCDateTime())
    server_time: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # a delivery or failed attempt office staff recorded for a parcel in a courier's bag
    # (the courier phoned it in: a dead phone): that courier, whose outcome it is and
    # which the office still checks (api/outcomes); None otherwise
    for_courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the actor's role when the event was recorded (None: no actor, a system event):
    # whether an outcome is a courier's report or the office's own is judged by it, not
    # by the role the account has now (a courier made a dispatcher later). Events
    # recorded before it was stored took their actor's role at the upgrade
    actor_role: Mapped[Role | None] = mapped_column(str_enum(Role, 20))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    accuracy_m: Mapped[float | None]
    reason: Mapped[FailureReason | None] = mapped_column(str_enum(FailureReason))
    action: Mapped[FailureAction | None] = mapped_column(str_enum(FailureAction))
    note: Mapped[str | None] = mapped_column(Text)
    status_after: Mapped[Status] = mapped_column(str_enum(Status))
    source: Mapped[str] = mapped_column(String(16), default="api")
    # False for an event kept in the history without moving the state (a late event
    # that conflicts with what is already recorded); such events carry review flags.
    applied: Mapped[bool] = mapped_column(default=True, server_default=true())
    flags: Mapped[list[str] | None] = mapped_column(JSON)
    # a photo taken with the event (e.g. the door, for "recipient absent"); indexed: an
    # event with a photo looks up the other uses of the same file (api/proof/reuse.py)
    photo_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    # when the event is flagged proof_reused for its photo: the earlier uses of the same
    # file it was not part of, [{"pointer": "/photo", "cited_for", ...}]
    photo_reused_from: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    sync_upload_id: Mapped[int | None] = mapped_column(ForeignKey("sync_uploads.id"),
                                                       index=True)
    # the phone's clock minus the server's, seconds, measured when the event arrived
    # (``sent_at``: its sync upload's, or the event or scan request's own); None when
    # the phone sent none. It corrects the device time (api/devicetime.py).
    clock_skew_s: Mapped[float | None]
    # a failed attempt that counts toward the attempt limit: its number among the
    # item's counted attempts (1, 2, ...), by :func:`models.lifecycle.counted_attempts`,
    # which judges each on what was stored when it came, so the number never changes;
    # None for every other event (and a copy of an attempt, or a late one that fell in
    # no round). Reports find the attempt that used up the limit by it, in SQL.
    attempt_no: Mapped[int | None]

    item: Mapped[Item] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship(lazy="joined", foreign_keys=[actor_id])
    for_courier: Mapped[User | None] = relationship(foreign_keys=[for_courier_id])
    office: Mapped[Office | None] = relationship(lazy="joined")

    def __repr__(self) -> str:
        return f"<TrackingEvent {self.code} item={self.item_id}>"
