from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask.views import MethodView

from models import EventCode, Role, User, db, lifecycle

from ..auth import auth_required, clock, current_actor
from ..devicetime import clock_skew, device_flags
from ..errors import Problem, Unprocessable
from ..jsonbody import Blueprint
from . import custody, service
from .schemas import (
    AssignSchema,
    EventPostSchema,
    EventResultSchema,
    ImportResultSchema,
    ItemCreateSchema,
    ItemDetailSchema,
    ItemPageSchema,
    ItemQuerySchema,
    ItemSchema,
    RecipientRequestCreateSchema,
)

blp = Blueprint("items", __name__, url_prefix="/api/v1",
                description="Items and their tracking events (staff)")


def event_settings() -> service.EventSettings:
    cfg = current_app.config
    return {"geo_max_distance_m": float(cfg["GEO_FLAG_DISTANCE_M"]),
            "geo_max_accuracy_m": float(cfg["GEO_FLAG_ACCURACY_M"]),
            "collection_hold_days": int(cfg["COLLECTION_HOLD_DAYS"])}


def with_allowed_events(item: Any, actor: User) -> Any:
    """The events the lifecycle allows next that ``actor`` may record: a courier was
    offered RTS and EMG (a 403 each), and anyone EDG for an item given to no courier
    (a 409 ``not-assigned``)."""
    allowed = [e.value for e in lifecycle.allowed_events(
        item.state, current_app.config["MAX_DELIVERY_ATTEMPTS"])
        if (actor.role is not Role.COURIER or e in service.COURIER_EVENTS)
        and (e is not EventCode.EDG or item.courier_id is not None)]
    item.allowed_events = allowed  # transient attribute for the schema
    return item


def with_history(item: Any, actor: User) -> Any:
    """The item with its assignment history and its delivery round for office staff;
    none for couriers (it names other couriers)."""
    from ..rounds import service as rounds

    staff = actor.role is not Role.COURIER
    item.assignment_history = custody.history(db.session(), item.id) if staff else None
    item.recipient_requests = (service.recipient_requests(db.session(), item.id) if staff
                               else None)
    item.delivery_round = rounds.round_of(db.session(), item) if staff else None
    return item


def item_state(item: Any, actor: User) -> Any:
    """The item as an event's or a scan's answer shows it. A courier who no longer holds
    the item (an event accepted because they held it then, a scan of theirs looked at
    later) is not told who holds it now, nor offered events on it."""
    if actor.role is Role.COURIER and item.courier_id != actor.id:
        return {"identifier": item.identifier, "status": item.status,
                "failed_attempts": item.failed_attempts, "courier": None,
                "allowed_events": [], "next_attempt_on": item.next_attempt_on,
                "awaiting": item.awaiting, "collect_by": service.collect_by(item)}
    return with_allowed_events(item, actor)


@blp.route("/items")
class Items(MethodView):
    @auth_required()
    @blp.arguments(ItemQuerySchema, location="query")
    @blp.response(200, ItemPageSchema)
    def get(self, q: dict[str, Any]) -> dict[str, Any]:
        """List items you can see, newest first, with filters and pagination."""
        f = service.ItemFilters(**q)
        rows, total = service.list_items(db.session(), current_actor(), f)
        return {"items": rows, "page": f.page, "page_size": f.page_size, "total": total}

    @auth_required()
    @blp.arguments(ItemCreateSchema)
    @blp.response(201, ItemDetailSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create an item (records its acceptance, EMA)."""
        actor = current_actor()
        item = service.create_item(db.session(), actor, data, now=clock(),
                                   carrier_patterns=current_app.config["CARRIER_PATTERNS"])
        db.session.commit()
        return with_history(with_allowed_events(item, actor), actor)


@blp.route("/items/import")
class ItemImport(MethodView):
    @auth_required()
    @blp.response(200, ImportResultSchema)
    @blp.doc(requestBody={"content": {
        "text/csv": {"schema": {"type": "string"}},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "file": {"type": "string", "format": "binary"}}}}}})
    def post(self) -> dict[str, Any]:
        """Bulk import from CSV (UTF-8). Each row stands alone: valid rows are kept,
        invalid ones are reported with their row number and column."""
        actor = current_actor()
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else request.get_data()
        if not raw:
            raise Unprocessable("Send the CSV as the request body (text/csv) or as the "
                                "multipart field 'file'.", slug="csv-missing")
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise Unprocessable("The CSV must be UTF-8.", slug="csv-encoding") from exc
        result = service.import_csv(
            db.session(), actor, text, now=clock(),
            carrier_patterns=current_app.config["CARRIER_PATTERNS"],
            max_rows=current_app.config["IMPORT_MAX_ROWS"])
        db.session.commit()
        return {"created": len(result.created), "failed": len(result.errors),
                "identifiers": result.created, "errors": result.errors}


@blp.route("/items/<string:identifier>")
class ItemDetail(MethodView):
    @auth_required()
    @blp.response(200, ItemDetailSchema)
    def get(self, identifier: str) -> Any:
        """An item with its full event timeline (staff)."""
        actor = current_actor()
        item = service.get_item(db.session(), actor, identifier, with_events=True)
        return with_history(with_allowed_events(item, actor), actor)


@blp.route("/items/<string:identifier>/assign")
class ItemAssign(MethodView):
    @auth_required()
    @blp.arguments(AssignSchema)
    @blp.response(200, ItemSchema)
    def post(self, data: dict[str, Any], identifier: str) -> Any:
        """Assign the item to a courier of its office (or unassign with null)."""
        item = service.assign(db.session(), current_actor(), identifier, data["courier_id"],
                              now=clock())
        db.session.commit()
        return item


@blp.route("/items/<string:identifier>/recipient-request")
class ItemRecipientRequest(MethodView):
    @auth_required()
    @blp.arguments(RecipientRequestCreateSchema)
    @blp.response(200, ItemDetailSchema)
    def post(self, data: dict[str, Any], identifier: str) -> Any:
        """Record what the recipient asked the office for after a failed attempt: to
        collect it at the office by a day (hold), or a delivery round on a day
        (deliver). Office staff."""
        actor = current_actor()
        item = service.recipient_request(
            db.session(), actor, identifier, data, now=clock(),
            max_attempts=current_app.config["MAX_DELIVERY_ATTEMPTS"])
        db.session.commit()
        item = service.get_item(db.session(), actor, identifier, with_events=True)
        return with_history(with_allowed_events(item, actor), actor)


@blp.route("/items/<string:identifier>/events")
class ItemEvents(MethodView):
    @auth_required()
    @blp.arguments(EventPostSchema)
    @blp.response(201, EventResultSchema)
    @blp.alt_response(200, schema=EventResultSchema,
                      description="Replay of a client_event_id already recorded: the "
                                  "original result, nothing recorded twice")
    def post(self, data: dict[str, Any], identifier: str) -> Any:
        """Record a tracking event. Idempotent per client_event_id."""
        now, actor = clock(), current_actor()
        skew = clock_skew(data["sent_at"], now)
        try:
            # the sync's clock and time flags, from this request's sent_at (without it,
            # no clock skew): COD cash is booked by them
            # (api.cash.service.field_shift_day)
            result = service.record_event(
                db.session(), actor, identifier, data, now=now,
                max_attempts=current_app.config["MAX_DELIVERY_ATTEMPTS"],
                flags=device_flags(data["device_time"], skew, now), clock_skew_s=skew,
                **event_settings())
        except Problem:
            db.session.rollback()
            raise
        db.session.commit()
        body = {"event": result.event, "item": item_state(result.item, actor),
                "replayed": result.replayed, "follow_up_events": result.follow_up_events}
        return body, (200 if result.replayed else 201)
