from __future__ import annotations

from typing import Any

from flask.views import MethodView

from models import db

from ..auth import auth_required, clock, current_actor
from ..jsonbody import Blueprint
from ..localtime import local_day
from . import courier, service
from .schemas import (
    BacklogQuerySchema,
    BacklogSchema,
    ConfirmDayResultSchema,
    ConfirmDaySchema,
    DayOutcomesSchema,
    DayQuerySchema,
    MyDisputesSchema,
    OutcomeSchema,
    ReviewCreateSchema,
)

blp = Blueprint("outcomes", __name__, url_prefix="/api/v1",
                description="Outcomes couriers report (deliveries, failed attempts) and "
                            "the office's confirmation of them")


@blp.route("/outcomes")
class DayOutcomes(MethodView):
    @auth_required()
    @blp.arguments(DayQuerySchema, location="query")
    @blp.response(200, DayOutcomesSchema)
    def get(self, q: dict[str, Any]) -> Any:
        """An office's outcomes reported by its couriers on a shift day, and how many of
        each courier's are reported, confirmed and disputed."""
        return service.day_outcomes(db.session(), current_actor(), q.get("office_id"),
                                    q["date"], courier_id=q.get("courier_id"),
                                    state=q.get("state"))


@blp.route("/outcomes/backlog")
class Backlog(MethodView):
    @auth_required()
    @blp.arguments(BacklogQuerySchema, location="query")
    @blp.response(200, BacklogSchema)
    def get(self, q: dict[str, Any]) -> Any:
        """The office's outcomes still reported (neither confirmed nor disputed) from
        the days before ``before`` (today by default), oldest first: per courier how many
        and their oldest day, and one page of the outcomes with their day."""
        return service.backlog(db.session(), current_actor(), q.get("office_id"),
                               q.get("before") or local_day(clock()), q.get("since"),
                               courier_id=q.get("courier_id"), page=q["page"],
                               page_size=q["page_size"])


@blp.route("/outcomes/confirm")
class ConfirmDay(MethodView):
    @auth_required()
    @blp.arguments(ConfirmDaySchema)
    @blp.response(200, ConfirmDayResultSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Confirm a courier's outcomes of a day (those named, or every one still
        reported) after checking the parcels brought back, the cash and the proof."""
        out = service.confirm_day(db.session(), current_actor(), data.get("office_id"),
                                  data["courier_id"], data["date"], data.get("event_ids"),
                                  data.get("note"), now=clock())
        db.session.commit()
        return out


@blp.route("/outcomes/<int:event_id>/review")
class Review(MethodView):
    @auth_required()
    @blp.arguments(ReviewCreateSchema)
    @blp.response(200, OutcomeSchema)
    def post(self, data: dict[str, Any], event_id: int) -> Any:
        """Confirm or dispute one outcome (a dispute needs a note)."""
        out = service.review_outcome(db.session(), current_actor(), event_id, data["state"],
                                     data.get("note"), now=clock())
        db.session.commit()
        return out


@blp.route("/couriers/me/disputes")
class MyDisputes(MethodView):
    @auth_required()
    @blp.response(200, MyDisputesSchema)
    def get(self) -> Any:
        """The caller's outcomes the office disputed (the latest review of each is a
        dispute), newest first, with the note that says why: couriers only."""
        return courier.my_disputes(db.session(), current_actor(), now=clock())
