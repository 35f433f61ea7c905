from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Response, current_app, request, send_file, url_for
from flask.views import MethodView
from marshmallow import ValidationError

from models import User, db

from .. import jsonbody
from ..auth import auth_required, clock, current_actor
from ..errors import Problem, Unprocessable, validation_pointers
from ..evidence import LocalEvidenceStore
from ..items.views import event_settings
from ..jsonbody import Blueprint
from . import service
from .schemas import ScanCreateSchema, ScanResultSchema

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
        """Record a scan: decode the label, recognise the item, record the event."""
        data, photo = _payload()
        cfg, actor = current_app.config, current_actor()
        try:
            outcome = service.record_scan(
                db.session(), actor, data, photo, now=clock(), store=evidence_store(),
                carrier_patterns=cfg["CARRIER_PATTERNS"], max_attempts=cfg["MAX_DELIVERY_ATTEMPTS"],
                photo_max_bytes=cfg["PHOTO_MAX_BYTES"], rules=event_settings())
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
