from __future__ import annotations

from typing import Any

from flask.views import MethodView

from models import db

from ..auth import auth_required, clock, current_actor
from ..jsonbody import Blueprint
from . import service
from .schemas import (
    CashEntrySchema,
    CorrectionSchema,
    HandoverSchema,
    LedgerQuerySchema,
    LedgerSchema,
    ReportQuerySchema,
)

blp = Blueprint("cash", __name__, url_prefix="/api/v1",
                description="Courier cash ledgers: COD, hand-ins, corrections, reports")


@blp.route("/couriers/<int:courier_id>/cash")
class CourierLedger(MethodView):
    @auth_required()
    @blp.arguments(LedgerQuerySchema, location="query")
    @blp.response(200, LedgerSchema)
    def get(self, q: dict[str, Any], courier_id: int) -> Any:
        """A courier's cash ledger for a shift: entries and totals."""
        return service.ledger(db.session(), current_actor(), courier_id, q["date"],
                              q.get("office_id"))


@blp.route("/cash/handovers")
class Handovers(MethodView):
    @auth_required()
    @blp.arguments(HandoverSchema)
    @blp.response(201, CashEntrySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Record the cash a courier hands in, as counted by office staff."""
        entry = service.handover(db.session(), current_actor(), data["courier_id"], data["date"],
                                 data["counted_amount"], now=clock(), note=data.get("note"),
                                 client_ref=data.get("reference"),
                                 office_id=data.get("office_id"))
        db.session.commit()
        return entry


@blp.route("/cash/corrections")
class Corrections(MethodView):
    @auth_required()
    @blp.arguments(CorrectionSchema)
    @blp.response(201, CashEntrySchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Correct a ledger entry by adding a new one (entries are never changed)."""
        entry = service.correct(db.session(), current_actor(), data["entry_id"], data["amount"],
                                data["reason"], now=clock(), client_ref=data.get("reference"))
        db.session.commit()
        return entry


@blp.route("/cash/report")
class CashReport(MethodView):
    @auth_required()
    @blp.arguments(ReportQuerySchema, location="query")
    @blp.response(200)
    def get(self, q: dict[str, Any]) -> Any:
        """An office's cash for a day: per courier and in total."""
        return service.report(db.session(), current_actor(), q.get("office_id"), q["date"])
