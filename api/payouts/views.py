from __future__ import annotations

from typing import Any

from flask.views import MethodView

from models import db

from ..auth import auth_required, clock, current_actor
from ..devicetime import time_flags
from ..jsonbody import Blueprint
from ..paging import headers_doc, page_headers
from . import service
from .schemas import (
    PayoutAssignSchema,
    PayoutCreateSchema,
    PayoutFailSchema,
    PayoutPaySchema,
    PayoutQuerySchema,
    PayoutSchema,
)

blp = Blueprint("payouts", __name__, url_prefix="/api/v1",
                description="Pension and social-insurance payouts")


@blp.route("/payouts")
class Payouts(MethodView):
    @auth_required()
    @blp.arguments(PayoutQuerySchema, location="query")
    @blp.response(200, PayoutSchema(many=True), headers=headers_doc("payouts"))
    def get(self, q: dict[str, Any]) -> Any:
        """Payout tasks you can see (couriers: theirs): the open ones (pending,
        assigned, failed) first, oldest due first, then the paid ones, latest due
        first; ``page_size`` (500, at most 1 000) a page, the total in
        ``X-Total-Count`` and the next page in ``Link``."""
        page, size = q["page"], q["page_size"]
        rows, total = service.listing(db.session(), current_actor(), q.get("status") or [],
                                      limit=size, offset=(page - 1) * size)
        return rows, 200, page_headers(page, size, total)

    @auth_required()
    @blp.arguments(PayoutCreateSchema)
    @blp.response(201, PayoutSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a payout task (office staff)."""
        t = service.create(db.session(), current_actor(), data, now=clock())
        db.session.commit()
        return t


@blp.route("/payouts/<int:task_id>/assign")
class PayoutAssign(MethodView):
    @auth_required()
    @blp.arguments(PayoutAssignSchema)
    @blp.response(200, PayoutSchema)
    def post(self, data: dict[str, Any], task_id: int) -> Any:
        """Give the task and its cash to a courier (recorded as an advance). Idempotent
        per ``reference`` when one is sent."""
        t = service.assign(db.session(), current_actor(), task_id, data["courier_id"],
                           now=clock(), client_ref=data.get("reference"))
        db.session.commit()
        return t


@blp.route("/payouts/<int:task_id>/pay")
class PayoutPay(MethodView):
    @auth_required()
    @blp.arguments(PayoutPaySchema)
    @blp.response(200, PayoutSchema)
    def post(self, data: dict[str, Any], task_id: int) -> Any:
        """The courier pays the beneficiary (ID checked, signed receipt). Idempotent per
        client_event_id. Booked to the day the sync's time flags give (no sent_at here,
        so no clock skew), like COD cash."""
        now = clock()
        t, _replayed = service.pay(db.session(), current_actor(), task_id, data, now=now,
                                   flags=time_flags(data["device_time"], None, now))
        db.session.commit()
        return t


@blp.route("/payouts/<int:task_id>/fail")
class PayoutFail(MethodView):
    @auth_required()
    @blp.arguments(PayoutFailSchema)
    @blp.response(200, PayoutSchema)
    def post(self, data: dict[str, Any], task_id: int) -> Any:
        """Not paid: the task goes back to the office."""
        t = service.fail(db.session(), current_actor(), task_id, data["note"], now=clock())
        db.session.commit()
        return t
