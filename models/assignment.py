"""Who held an item when: one row per period an item was assigned to a courier."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .user import User


class AssignmentHow(enum.StrEnum):
    """How a period began or ended."""

    MANUAL = "manual"  # POST /items/{id}/assign (a dispatcher or admin)
    ROUTE_PLAN = "route_plan"  # publishing a route plan
    BACKFILL = "backfill"  # the courier held the item when the history began (migration)


class ItemAssignment(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """A period during which an item was assigned to a courier, in server time:
    ``started_at`` up to ``ended_at`` (None while it lasts; at most one such period
    per item). Written only by :func:`api.items.custody.hand_over`, the one way an
    item's courier changes; rows are never deleted, and a row is only updated once,
    to end it."""

    __tablename__ = "item_assignments"
    __table_args__ = (
        Index("ix_item_assignments_item_started", "item_id", "started_at"),
        Index("ix_item_assignments_courier_item", "courier_id", "item_id"),
        # at most one open period per item (a second one would be a lost update)
        Index("uq_item_assignments_open", "item_id", unique=True,
              sqlite_where=text("ended_at IS NULL"),
              postgresql_where=text("ended_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    courier_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # server time. A backfilled period starts at the item's last change before the
    # history began: the courier held it at least since then (they were assigned no
    # later than that change), and what came before is unknown
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    started_how: Mapped[AssignmentHow] = mapped_column(str_enum(AssignmentHow, 16))
    started_plan_id: Mapped[int | None] = mapped_column(ForeignKey("route_plans.id"))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_how: Mapped[AssignmentHow | None] = mapped_column(str_enum(AssignmentHow, 16))
    ended_plan_id: Mapped[int | None] = mapped_column(ForeignKey("route_plans.id"))

    courier: Mapped[User] = relationship(foreign_keys=[courier_id], lazy="joined")
    started_by: Mapped[User | None] = relationship(foreign_keys=[started_by_id],
                                                   lazy="joined")
    ended_by: Mapped[User | None] = relationship(foreign_keys=[ended_by_id], lazy="joined")

    def __repr__(self) -> str:
        return (f"<ItemAssignment item={self.item_id} courier={self.courier_id} "
                f"{self.started_at:%Y-%m-%d %H:%M}-{self.ended_at or ''}>")
