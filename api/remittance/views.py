from __future__ import annotations

from typing import Any

from flask.views import MethodView

from models import db

from ..auth import auth_required, clock, current_actor
from ..jsonbody import Blueprint
from ..localtime import local_day
from ..paging import headers_doc, page_headers
from . import service
from .schemas import (
    PaySchema,
    PendingQuerySchema,
    PendingSenderSchema,
    StatementCreateSchema,
    StatementDetailSchema,
    StatementDrawnSchema,
    StatementQuerySchema,
    StatementSchema,
)

blp = Blueprint("cod_statements", __name__, url_prefix="/api/v1",
                description="COD reconciliation with senders: statements and payments")


@blp.route("/cod-statements")
class Statements(MethodView):
    @auth_required()
    @blp.arguments(StatementQuerySchema, location="query")
    @blp.response(200, StatementSchema(many=True), headers=headers_doc("statements"))
    def get(self, q: dict[str, Any]) -> Any:
        """The office's COD statements (of a sender, in some states), latest first;
        ``page_size`` (100, at most 1 000) a page."""
        page, size = q["page"], q["page_size"]
        rows, total = service.listing(db.session(), current_actor(), q.get("office_id"),
                                      sender_phone=q.get("sender_phone"),
                                      status=q.get("status") or [], limit=size,
                                      offset=(page - 1) * size)
        return rows, 200, page_headers(page, size, total)

    @auth_required()
    @blp.arguments(StatementCreateSchema)
    @blp.response(201, StatementDrawnSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Draw up the statement of a sender's COD collected in a period and handed in."""
        drawn = service.create(db.session(), current_actor(), data, now=clock())
        db.session.commit()
        return drawn


@blp.route("/cod-statements/pending")
class Pending(MethodView):
    @auth_required()
    @blp.arguments(PendingQuerySchema, location="query")
    @blp.response(200, PendingSenderSchema(many=True))
    def get(self, q: dict[str, Any]) -> Any:
        """Per sender, the COD collected and on no statement yet: what the office owes."""
        return service.pending(db.session(), current_actor(), q.get("office_id"),
                               q.get("date_to") or local_day(clock()))


@blp.route("/cod-statements/<int:statement_id>")
class Statement(MethodView):
    @auth_required()
    @blp.response(200, StatementDetailSchema)
    def get(self, statement_id: int) -> Any:
        """A statement with its lines."""
        return service.get(db.session(), current_actor(), statement_id)


@blp.route("/cod-statements/<int:statement_id>/pay")
class Pay(MethodView):
    @auth_required()
    @blp.arguments(PaySchema)
    @blp.response(200, StatementDetailSchema)
    def post(self, data: dict[str, Any], statement_id: int) -> Any:
        """Record that the sender was paid the statement's total."""
        statement = service.pay(db.session(), current_actor(), statement_id,
                                data["reference"], data["paid_at"], now=clock())
        db.session.commit()
        return statement


@blp.route("/cod-statements/<int:statement_id>/cancel")
class Cancel(MethodView):
    @auth_required()
    @blp.response(200, StatementDetailSchema)
    def post(self, statement_id: int) -> Any:
        """Cancel a statement not paid: its items are free again."""
        statement = service.cancel(db.session(), current_actor(), statement_id, now=clock())
        db.session.commit()
        return statement
