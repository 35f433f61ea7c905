"""Route plans: a dispatcher's optimisation job for an office and a day, its result,
and its publication (which assigns the items to the couriers)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .office import Office


class PlanStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


ACTIVE = frozenset({PlanStatus.QUEUED, PlanStatus.RUNNING})


class RoutePlan(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "route_plans"
    __table_args__ = (Index("ix_route_plans_office_day", "office_id", "service_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    service_date: Mapped[date] = mapped_column(Date)
    status: Mapped[PlanStatus] = mapped_column(str_enum(PlanStatus, 16))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the worker's heartbeat: a running plan whose heartbeat stops is reported failed
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    progress: Mapped[float] = mapped_column(default=0.0)
    best_cost: Mapped[float | None]
    time_limit_s: Mapped[float]
    job_id: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    # why it failed as a stable code (api/route_plans/service.py PLAN_ERRORS), for a
    # reader that says it in another language (the console); None before it was kept
    error_code: Mapped[str | None] = mapped_column(String(40))
    # the routing problem as given to the solver (routing.Problem.from_dict shape)
    problem: Mapped[dict[str, Any]] = mapped_column(JSON)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    office: Mapped[Office] = relationship()
