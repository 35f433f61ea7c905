from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, current_app, request, send_file, url_for
from flask.views import MethodView
from marshmallow import ValidationError

from models import UnreadState, User, db

from .. import jsonbody
from ..auth import auth_required, clock, current_actor
from ..errors import Problem, Unprocessable, validation_pointers
from ..evidence import LocalEvidenceStore
from ..items.views import event_settings
from ..jsonbody import Blueprint
from ..scope import office_for_read
from . import service, unread
from .schemas import (
    ScanCreateSchema,
    ScanResultSchema,
    UnreadDismissSchema,
    UnreadPageSchema,
    UnreadQuerySchema,
    UnreadResolvedSchema,
    UnreadResolveSchema,
    UnreadScanSchema,
)

blp = Blueprint("scans", __name__, url_prefix="/api/v1",
                description="Courier scans: label photos or phone-decoded codes")


def evidence_store() -> LocalEvidenceStore:
    root = current_app.config.get("PHOTO_DIR") or str(Path(current_app.instance_path)
                                                       / "evidence")
    return LocalEvidenceStore(Path(root))


def _result(outcome: service.ScanOutcome, actor: User) -> dict[str, Any]:
    scan = outcome.scan
    from ..items.views import item_state

    return {"scan_id": scan.id, "codes": scan.codes, "identified_code": scan.identified_code,
            "misreads": scan.misreads,
            "photo_url": url_for("scans.ScanPhoto", scan_id=scan.id) if scan.photo_key
            else None, "photo_error": scan.photo_error,
            "event": scan.event, "item": item_state(scan.item, actor),
            "replayed": outcome.replayed}


def _payload() -> tuple[dict[str, Any], bytes | None]:
    """JSON body, or multipart with a ``photo`` file and the fields either as one JSON
    ``data`` field or as form fields."""
    photo = None
    if request.mimetype == "multipart/form-data":
        upload = jsonbody.single_file("photo", "One photo a scan.")
        photo = upload.read() if upload is not None else None
        if photo == b"" and not upload.filename:
            photo = None  # a form's file field left empty: no photo, the codes decide
        others = sorted(k for k in request.form if k != "data")
        if "data" in request.form and others:
            # both ways at once: the data field won, the form fields silently dropped
            raise Unprocessable("Send the fields either as one JSON 'data' field or as form "
                                "fields, not both.", errors=[
                                    {"pointer": f"/{k}", "detail": "Also in 'data'? Send "
                                     "the fields one way."} for k in others[:20]])
        twice = sorted(k for k in request.form if len(request.form.getlist(k)) > 1)
        if twice:
            # the first was taken, the others dropped: which one the phone meant is unknown
            raise Unprocessable("Some fields were sent more than once.", errors=[
                {"pointer": f"/{k}", "detail": "Sent more than once."} for k in twice[:20]])
        if "data" in request.form:
            try:
                raw: Any = jsonbody.loads(request.form["data"])
            except ValueError as exc:
                raise Unprocessable("The 'data' field is not JSON.", errors=[
                    {"pointer": "/data", "detail": "Not valid JSON."}]) from exc
        else:
            raw = {k: v for k, v in request.form.items()}
            for key in ("location", "codes"):
                if isinstance(raw.get(key), str):
                    try:
                        raw[key] = jsonbody.loads(raw[key])
                    except ValueError:
                        pass  # the schema reports the field
    else:
        raw = request.get_json(silent=True)
        if raw is None:
            raise Problem("Send JSON, or multipart/form-data with a 'photo'.", status=400,
                          title="Bad Request")
    if not isinstance(raw, dict):
        raise Unprocessable("The scan must be an object.", errors=[
            {"pointer": "/", "detail": "Expected an object."}])
    try:
        data = ScanCreateSchema().load(raw)
    except ValidationError as exc:
        raise Unprocessable("Some fields are invalid; see errors.",
                            errors=validation_pointers({"json": exc.messages})) from exc
    if photo is None and not data["codes"]:
        raise Unprocessable("Send a photo or the codes the phone decoded.", errors=[
            {"pointer": "/codes", "detail": "Required without a photo."}])
    return data, photo


@blp.route("/scans")
class Scans(MethodView):
    @auth_required()
    @blp.doc(requestBody={"required": True, "content": {
        "application/json": {"schema": ScanCreateSchema},
        "multipart/form-data": {"schema": {"type": "object", "properties": {
            "photo": {"type": "string", "format": "binary"},
            "data": {"type": "string", "description": "the JSON fields"}}}}}})
    @blp.response(201, ScanResultSchema)
    @blp.alt_response(200, schema=ScanResultSchema,
                      description="Replay of a client_event_id: the original result")
    def post(self) -> Any:
        """Record a scan: decode the label, recognise the item, record the event. A
        photo that decodes but holds no item number is a 422 ``no-item-code`` that keeps
        the photo as a scan to resolve (``photo_kept``, ``unread_scan_id``)."""
        data, photo = _payload()
        cfg, actor = current_app.config, current_actor()
        try:
            outcome = service.record_scan(
                db.session(), actor, data, photo, now=clock(), store=evidence_store(),
                carrier_patterns=cfg["CARRIER_PATTERNS"], max_attempts=cfg["MAX_DELIVERY_ATTEMPTS"],
                photo_max_bytes=cfg["PHOTO_MAX_BYTES"], rules=event_settings(),
                unread_daily_cap=int(cfg["UNREAD_SCAN_DAILY_CAP"]))
        except service.PhotoKept:
            db.session.commit()  # the refusal stands; the photo is kept for the office
            raise
        except Exception:
            db.session.rollback()
            raise
        db.session.commit()
        return _result(outcome, actor), (200 if outcome.replayed else 201)


@blp.route("/scans/<int:scan_id>")
class ScanDetail(MethodView):
    @auth_required()
    @blp.response(200, ScanResultSchema)
    def get(self, scan_id: int) -> Any:
        """A recorded scan: codes read, misreads, the event and the photo link."""
        actor = current_actor()
        return _result(service.ScanOutcome(service.get_scan(db.session(), actor, scan_id),
                                           False), actor)


@blp.route("/scans/<int:scan_id>/photo")
class ScanPhoto(MethodView):
    @auth_required()
    @blp.response(200, description="The photo (image/jpeg, image/png or image/webp)")
    def get(self, scan_id: int) -> Response:
        """The scan's photo, kept as evidence."""
        scan = service.get_scan(db.session(), current_actor(), scan_id)
        if not scan.photo_key:
            raise Problem(f"Scan {scan_id} has no photo.", status=404, slug="not-found",
                          title="Not found")
        resp = send_file(evidence_store().existing(scan.photo_key),
                         mimetype=scan.photo_content_type, max_age=0)
        resp.headers["Cache-Control"] = "private, no-store"
        return resp


def _unread(kept: Any) -> dict[str, Any]:
    return {**{k: getattr(kept, k) for k in (
        "id", "client_event_id", "action", "actor", "office_id", "device_time", "server_time",
        "last_attempt_at", "attempts", "location", "fields", "codes", "misreads",
        "photo_bytes", "state", "resolved_by", "resolved_at", "identifier", "scan_id",
        "dismiss_reason")}, "photo_url": url_for("scans.UnreadScanPhoto", unread_id=kept.id)}


@blp.route("/unread-scans")
class UnreadScans(MethodView):
    @auth_required()
    @blp.arguments(UnreadQuerySchema, location="query")
    @blp.response(200, UnreadPageSchema)
    def get(self, q: dict[str, Any]) -> Any:
        """Scans to resolve: the office's label photos with no item number (open by
        default), the oldest first, paged."""
        actor = current_actor()
        office_id = office_for_read(actor, q.get("office_id"), what="scans to resolve")
        rows, total = unread.list_unread(
            db.session(), office_id, q.get("state") or [UnreadState.OPEN],
            limit=q["page_size"], offset=(q["page"] - 1) * q["page_size"])
        return {"items": [_unread(r) for r in rows], "page": q["page"],
                "page_size": q["page_size"], "total": total}


@blp.route("/unread-scans/<int:unread_id>")
class UnreadScanDetail(MethodView):
    @auth_required()
    @blp.response(200, UnreadScanSchema)
    def get(self, unread_id: int) -> Any:
        """A scan to resolve: who, when, where, what they were doing, and how it was
        settled."""
        return _unread(unread.get_unread(db.session(), current_actor(), unread_id))


@blp.route("/unread-scans/<int:unread_id>/photo")
class UnreadScanPhoto(MethodView):
    @auth_required()
    @blp.response(200, description="The photo (image/jpeg, image/png or image/webp)")
    def get(self, unread_id: int) -> Response:
        """The kept photo."""
        kept = unread.get_unread(db.session(), current_actor(), unread_id)
        resp = send_file(evidence_store().existing(kept.photo_key),
                         mimetype=kept.photo_content_type, max_age=0)
        resp.headers["Cache-Control"] = "private, no-store"
        return resp


@blp.route("/unread-scans/<int:unread_id>/resolve")
class UnreadScanResolve(MethodView):
    @auth_required()
    @blp.arguments(UnreadResolveSchema)
    @blp.response(201, UnreadResolvedSchema)
    def post(self, data: dict[str, Any], unread_id: int) -> Any:
        """Record the scan as the courier's, for the item number read on the photo
        (their action, device time and location; every rule of the lifecycle applies,
        and a refusal is the answer)."""
        cfg, actor = current_app.config, current_actor()
        try:
            kept, outcome = unread.resolve(
                db.session(), actor, unread_id, data["identifier"], now=clock(),
                store=evidence_store(), carrier_patterns=cfg["CARRIER_PATTERNS"],
                max_attempts=cfg["MAX_DELIVERY_ATTEMPTS"],
                photo_max_bytes=cfg["PHOTO_MAX_BYTES"], rules=event_settings())
        except Exception:
            db.session.rollback()
            raise
        db.session.commit()
        return {"unread_scan": _unread(kept), "scan": _result(outcome, actor)}


@blp.route("/unread-scans/<int:unread_id>/dismiss")
class UnreadScanDismiss(MethodView):
    @auth_required()
    @blp.arguments(UnreadDismissSchema)
    @blp.response(200, UnreadScanSchema)
    def post(self, data: dict[str, Any], unread_id: int) -> Any:
        """Nothing is to be recorded for it: dismissed, with the reason."""
        kept = unread.dismiss(db.session(), current_actor(), unread_id, data["reason"],
                              now=clock())
        db.session.commit()
        return _unread(kept)
