from __future__ import annotations

from typing import Any

from flask import Response, current_app
from flask.views import MethodView

from models import Role, db

from ..auth import PUBLIC, auth_required, clock, current_actor
from ..jsonbody import Blueprint
from ..paging import headers_doc, page_headers
from ..ratelimit import cfg, item_number_key, limiter
from ..scope import office_for_read
from . import quality, service
from .schemas import (
    ComplaintCreateSchema,
    ComplaintEvidenceSchema,
    ComplaintSchema,
    ComplaintUpdateSchema,
    MissingPageSchema,
    MissingQuerySchema,
    PublicComplaintResultSchema,
    PublicComplaintSchema,
    QualityQuerySchema,
    QueueQuerySchema,
    ReturnsDuePageSchema,
    ReturnsDueQuerySchema,
)

blp = Blueprint("complaints", __name__, url_prefix="/api/v1",
                description="Complaints, missing scans and quality figures")


@blp.route("/track/<string:number>/complaints")
class PublicComplaint(MethodView):
    @blp.doc(security=PUBLIC)
    @blp.arguments(PublicComplaintSchema)
    @blp.response(201, PublicComplaintResultSchema)
    @blp.alt_response(429, description="Too many complaints from this address or about "
                      "this item; see Retry-After")
    @limiter.shared_limit(cfg("COMPLAINT_LIMIT_IP"), "complaint-ip")
    @limiter.shared_limit(cfg("COMPLAINT_LIMIT_ITEM"), "complaint-item", key_func=item_number_key)
    def post(self, data: dict[str, Any], number: str) -> Any:
        """A customer opens a complaint: the item number and the phone number on it."""
        c = service.open_public(db.session(), number, data["phone"], data["category"],
                                data["description"], now=clock())
        db.session.commit()
        return c


@blp.route("/complaints")
class Complaints(MethodView):
    @auth_required()
    @blp.arguments(QueueQuerySchema, location="query")
    @blp.response(200, ComplaintSchema(many=True), headers=headers_doc("complaints"))
    def get(self, q: dict[str, Any]) -> Any:
        """The complaints queue, soonest due first (open and investigating by default);
        ``page_size`` (500, at most 1 000) a page, the total in ``X-Total-Count`` and the
        next page in ``Link``."""
        page, size = q["page"], q["page_size"]
        rows, total = service.queue(db.session(), current_actor(),
                                    statuses=q.get("status") or [], overdue_only=q["overdue"],
                                    now=clock(), limit=size, offset=(page - 1) * size)
        return rows, 200, page_headers(page, size, total)

    @auth_required()
    @blp.arguments(ComplaintCreateSchema)
    @blp.response(201, ComplaintSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Office staff open a complaint on an item."""
        c = service.open_staff(db.session(), current_actor(), data["identifier"],
                               data["category"], data["description"], now=clock())
        db.session.commit()
        return c


@blp.route("/complaints/<int:complaint_id>")
class ComplaintDetail(MethodView):
    @auth_required()
    @blp.response(200, ComplaintEvidenceSchema)
    def get(self, complaint_id: int) -> Any:
        """The case with its whole evidence: events, proof, photos, GPS trails (for
        the office the item has left, its history up to then and ``later_events``)."""
        from ..items.views import with_allowed_events

        actor = current_actor()
        out = service.evidence(db.session(), actor, complaint_id)
        out["item"] = with_allowed_events(out["item"], actor)
        if actor.role is Role.DISPATCHER and out["item"].office_id != actor.office_id:
            # the item moved to another office since: its events are that office's
            out["item"].allowed_events = []
        return out

    @auth_required()
    @blp.arguments(ComplaintUpdateSchema)
    @blp.response(200, ComplaintSchema)
    def patch(self, data: dict[str, Any], complaint_id: int) -> Any:
        """Move the case along (open → investigating → resolved/rejected) and answer."""
        c = service.update(db.session(), current_actor(), complaint_id, data, now=clock())
        db.session.commit()
        return c


@blp.route("/missing-scans")
class MissingScans(MethodView):
    @auth_required()
    @blp.arguments(MissingQuerySchema, location="query")
    @blp.response(200, MissingPageSchema)
    def get(self, q: dict[str, Any]) -> Any:
        """Items whose next scan is overdue, the longest silent first, one page at a
        time (open a complaint with category missing_scan from here)."""
        found = service.missing_scans(
            db.session(), current_actor(), q.get("office_id"), now=clock(),
            idle_hours=q["idle_hours"], out_hours=q["out_hours"],
            limit=q["page_size"], offset=(q["page"] - 1) * q["page_size"],
            max_attempts=current_app.config["MAX_DELIVERY_ATTEMPTS"])
        return {"items": found.rows, "page": q["page"], "page_size": q["page_size"],
                "total": found.total, "due_later": found.due_later,
                "held_for_collection": found.held_for_collection}


@blp.route("/returns-due")
class ReturnsDue(MethodView):
    @auth_required()
    @blp.arguments(ReturnsDueQuerySchema, location="query")
    @blp.response(200, ReturnsDuePageSchema)
    def get(self, q: dict[str, Any]) -> Any:
        """Items awaiting a return to the sender by hand: their failed attempts use up
        the limit (one counted late returns nothing by itself) and no return (RTS) is
        recorded; the longest waiting first, one page at a time."""
        office_id = office_for_read(current_actor(), q.get("office_id"),
                                    what="the office's returns due")
        max_attempts = current_app.config["MAX_DELIVERY_ATTEMPTS"]
        rows, total = service.returns_due(
            db.session(), office_id, now=clock(), max_attempts=max_attempts,
            limit=q["page_size"], offset=(q["page"] - 1) * q["page_size"])
        return {"items": rows, "max_attempts": max_attempts, "page": q["page"],
                "page_size": q["page_size"], "total": total}


@blp.route("/quality")
class Quality(MethodView):
    @auth_required()
    @blp.arguments(QualityQuerySchema, location="query")
    @blp.response(200, description="JSON, or CSV with format=csv")
    def get(self, q: dict[str, Any]) -> Any:
        """On-time rate, first-attempt success, failed attempts by reason, COD
        outstanding, complaints, per office and day."""
        office_id = office_for_read(current_actor(), q.get("office_id"),
                                    what="office figures")
        report = quality.figures(db.session(), office_id, q["date"], q["days"])
        if q["format"] == "csv":
            return Response(quality.to_csv(report), mimetype="text/csv", headers={
                "Content-Disposition": f"attachment; filename=quality-{office_id}-"
                                       f"{q['date'].isoformat()}.csv"})
        return report
