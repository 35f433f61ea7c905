from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from flask import Response, current_app, request, send_file
from flask.views import MethodView
from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from models import Evidence, EvidenceKind, Role, User, db
from scanning.loading import decode_pixels, probe_image, sniff_format

from ..auth import auth_required, clock, current_actor
from ..errors import Conflict, Forbidden, NotFound, Problem, ProblemSchema, Unprocessable
from ..evidence import CONTENT_TYPES, cited_by_office
from ..items import service as items
from ..jsonbody import Blueprint, single_file
from ..scans.views import evidence_store

blp = Blueprint("proof", __name__, url_prefix="/api/v1",
                description="Evidence uploads (photos, signatures) and delivery codes")


class EvidenceSchema(Schema):
    sha256 = fields.String()
    kind = fields.Enum(EvidenceKind, by_value=True)
    content_type = fields.String()
    size_bytes = fields.Integer()
    uploaded_at = fields.AwareDateTime()


class EvidenceKindConflictSchema(ProblemSchema):
    """409 ``evidence-kind-conflict``: the file is stored as the other kind."""

    sha256 = fields.String(metadata={"description": "the file's SHA-256"})
    kind = fields.Enum(EvidenceKind, by_value=True,
                       metadata={"description": "the kind it is stored as"})


def kind_conflict(existing: Evidence, kind: EvidenceKind) -> Conflict:
    """The same bytes sent as another kind than they are stored as: a 409, nothing
    changed. A file is one kind of evidence, the kind a proof cites it as (a delivery's
    ``proof.signature`` names an uploaded *signature*): answered 200 with the stored kind,
    as a retry is, the phone took the upload for done and its delivery citing the file
    as the other kind was refused later, offline a visit with no record; and one file
    standing as both the photo and the signature of one hand-over proves one thing."""
    return Conflict(
        f"This file is already stored as a {existing.kind.value}, not a {kind.value}; "
        f"nothing was changed. Cite it as a {existing.kind.value}, or capture the "
        f"{kind.value} as a file of its own.", slug="evidence-kind-conflict",
        sha256=existing.sha256, kind=existing.kind.value)


def upload_evidence(session: Session, actor: User, data: bytes, kind: EvidenceKind, *,
                    now: datetime, max_bytes: int) -> tuple[Evidence, bool]:
    """Store a photo or signature image; the same bytes twice are one file (of one kind:
    sent again as the other kind, :func:`kind_conflict`)."""
    if len(data) > max_bytes:
        raise Problem(f"The file is {-(-len(data) // 1024)} KB; the limit is "
                      f"{max_bytes // 1024} KB.", status=413, slug="photo-too-large",
                      title="File too large")
    header = probe_image(data, max_pixels=50_000_000, max_bytes=max_bytes)  # or 4xx
    # a corrupt or truncated body is no proof: 422. Decoded at half size: the whole
    # stream is still read, in a quarter of the memory (and a transparent image is
    # not flattened: a 50-megapixel RGBA PNG of 200 KB took 0.7 GB at full size); an
    # image one pixel wide or high (a PNG or WebP is decoded whole and then halved, to
    # nothing: OpenCV failed on it) at full size: at most one row or column of pixels
    decode_pixels(data, header, reduce=2 if min(header.width, header.height) >= 2 else 1)
    ext = sniff_format(data).lower()
    sha = hashlib.sha256(data).hexdigest()
    existing = session.execute(select(Evidence).where(Evidence.sha256 == sha)).scalar()
    if existing is not None and existing.kind is not kind:
        raise kind_conflict(existing, kind)
    # written again when its file is gone from the store (a lost volume, a restored
    # database): a phone resending its photo got a 200 and the file stayed missing
    path = evidence_store().save(data, CONTENT_TYPES[ext][1])
    if existing is not None:
        return existing, False
    ev = Evidence(sha256=sha, path=path, kind=kind, content_type=CONTENT_TYPES[ext][0],
                  size_bytes=len(data), uploaded_by_id=actor.id, uploaded_at=now)
    try:
        with session.begin_nested():  # (it flushes what is pending first: add inside)
            session.add(ev)
            session.flush()
    except IntegrityError:
        # the same file sent twice at once (a phone retrying): the other request stored it
        existing = session.execute(select(Evidence).where(Evidence.sha256 == sha)).scalar()
        if existing is None:
            raise
        if existing.kind is not kind:  # the other request sent it as the other kind
            raise kind_conflict(existing, kind) from None
        return existing, False
    return ev, True


@blp.route("/evidence")
class EvidenceUpload(MethodView):
    @auth_required()
    @blp.doc(requestBody={"required": True, "content": {"multipart/form-data": {"schema": {
        "type": "object", "properties": {
            "file": {"type": "string", "format": "binary"},
            "kind": {"type": "string", "enum": ["photo", "signature"]}}}}}})
    @blp.response(201, EvidenceSchema)
    @blp.alt_response(200, schema=EvidenceSchema, description="Already uploaded")
    @blp.alt_response(409, schema=EvidenceKindConflictSchema,
                      content_type="application/problem+json",
                      description="evidence-kind-conflict: the file is already stored as "
                      "the other kind (kind); nothing changed")
    def post(self) -> Any:
        """Upload a photo or a signature image (JPEG, PNG, WebP); refer to it by its
        SHA-256 in a delivery's proof. Uploading the same file again is harmless; as
        the other kind, a 409."""
        # (a second was dropped: a delivery citing it was refused as citing no upload)
        upload = single_file("file", "One file an upload.")
        kind = request.form.get("kind", "photo")
        if upload is None:
            raise Unprocessable("Send the file as the multipart field 'file'.",
                                errors=[{"pointer": "/file", "detail": "Required."}])
        if kind not in {k.value for k in EvidenceKind}:
            raise Unprocessable("kind must be photo or signature.",
                                errors=[{"pointer": "/kind", "detail": "photo or signature"}])
        ev, created = upload_evidence(db.session(), current_actor(), upload.read(),
                                      EvidenceKind(kind), now=clock(),
                                      max_bytes=current_app.config["PHOTO_MAX_BYTES"])
        db.session.commit()
        return ev, (201 if created else 200)


@blp.route("/evidence/<string:sha256>")
class EvidenceFile(MethodView):
    @auth_required()
    @blp.response(200, description="The file")
    def get(self, sha256: str) -> Response:
        """An evidence file: its uploader, dispatchers of the uploader's office or of an
        office whose delivery, event or payout cites it, admins."""
        actor = current_actor()
        ev = db.session.execute(select(Evidence).where(Evidence.sha256 == sha256)).scalar()
        uploader = db.session.get(User, ev.uploaded_by_id) if ev else None
        # the proof of a delivery of the office, whoever uploaded it (an admin at the
        # counter): the console showed it, the API answered the office's complaint
        # staff a 404 for the signature its item detail names
        if ev is None or uploader is None or not (
                actor.role is Role.ADMIN or actor.id == ev.uploaded_by_id
                or (actor.role is Role.DISPATCHER and (
                    uploader.office_id == actor.office_id
                    or cited_by_office(db.session(), ev.sha256, actor.office_id)))):
            raise NotFound(f"No evidence {sha256[:70]} that you can see.")
        resp = send_file(evidence_store().existing(ev.path), mimetype=ev.content_type, max_age=0)
        resp.headers["Cache-Control"] = "private, no-store"
        return resp


class DeliveryCodeSchema(Schema):
    identifier = fields.String()
    delivery_code = fields.String(allow_none=True)


@blp.route("/items/<string:identifier>/delivery-code")
class DeliveryCode(MethodView):
    @auth_required()
    @blp.response(200, DeliveryCodeSchema)
    def get(self, identifier: str) -> Any:
        """The one-time code to give the recipient (office staff only, never couriers).
        Set when a valuable or high-COD item goes out for delivery."""
        actor = current_actor()
        if actor.role is Role.COURIER:
            raise Forbidden("Couriers never see delivery codes.")
        item = items.get_item(db.session(), actor, identifier)
        return {"identifier": item.identifier, "delivery_code": item.delivery_code}
