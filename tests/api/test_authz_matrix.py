"""Role x endpoint: who gets 200/201/204, 401, 403 or 404 on every endpoint."""

from __future__ import annotations

import pytest

from models import Role
from tests.api.test_import import row, to_csv
from tests.conftest import item_payload, tiny_png

ROLES = ["anon", "courier_own", "courier_other", "dispatcher_own", "dispatcher_other", "admin"]


@pytest.fixture
def world(app, tmp_path, clock, make_office, make_user, make_item):
    office, other = make_office(), make_office()
    w = {
        "courier_own": make_user(Role.COURIER, office),
        "courier_other": make_user(Role.COURIER, office),
        "dispatcher_own": make_user(Role.DISPATCHER, office),
        "dispatcher_other": make_user(Role.DISPATCHER, other),
        "admin": make_user(Role.ADMIN),
    }
    w["office"] = office
    w["item"] = make_item(office, courier=w["courier_own"], events=("EMG",))
    w["make_scan"] = lambda: _make_scan(app, tmp_path, clock, make_item, w)
    w["make_plan"] = lambda: _make_plan(clock, w)
    w["make_evidence"] = lambda: _make_evidence(clock, w)
    w["make_cash"] = lambda: _make_cash(clock, w)
    w["make_complaint"] = lambda: _make_complaint(clock, w)
    w["make_payout"] = lambda: _make_payout(clock, w)
    w["make_outcome"] = lambda: _make_outcome(clock, make_item, w)
    w["make_unread"] = lambda: _make_unread(app, tmp_path, clock, w)
    w["make_round"] = lambda: _make_round(clock, w)
    w["make_remittable"] = lambda: _make_remittable(clock, make_item, w)
    w["make_statement"] = lambda: _make_statement(clock, make_item, w)
    return w


def _make_round(clock, w):
    """A delivery round of the world's office, ridden by its courier."""
    from api.rounds import service as rounds
    from models import db

    r = rounds.create(db.session, w["dispatcher_own"], {
        "code": "T01", "name": "Tuyến 1", "wards": ["Lộc Thọ"],
        "courier_id": w["courier_own"].id}, now=clock())
    db.session.commit()
    return r.id


def _make_unread(app, tmp_path, clock, w):
    """A label photo with no item number the world's courier sent: kept for the office."""
    from pathlib import Path

    from api.evidence import LocalEvidenceStore
    from api.scans import service as scans
    from models import ScanAction, db
    from tests.scanning._images import encode, make_label

    app.config["PHOTO_DIR"] = str(tmp_path / "evidence")
    with pytest.raises(scans.PhotoKept) as kept:
        scans.record_scan(
            db.session, w["courier_own"],
            {"action": ScanAction.OUT_FOR_DELIVERY, "client_event_id": "matrix-unread-01",
             "device_time": clock(), "codes": []},
            encode(make_label()[0][600:, :], "PNG"), now=clock(),
            store=LocalEvidenceStore(Path(app.config["PHOTO_DIR"])), carrier_patterns={},
            max_attempts=3, photo_max_bytes=10**7, unread_daily_cap=30)
    db.session.commit()
    return kept.value.extensions["unread_scan_id"]


def _make_remittable(clock, make_item, w):
    """COD the world's courier collected for the sender 0901234567 and handed in."""
    from api.cash import service as cash
    from models import db

    make_item(w["office"], courier=w["courier_own"], events=("EMG", "EDG", "EMI"),
              cod_amount=100_000)
    cash.handover(db.session, w["admin"], w["courier_own"].id, clock().date(), 100_000,
                  now=clock(), note=None, client_ref=None)
    db.session.commit()


def _make_statement(clock, make_item, w):
    """An open COD statement of the world's office."""
    from datetime import date

    from api.remittance import service as remittance
    from models import db

    _make_remittable(clock, make_item, w)
    drawn = remittance.create(db.session, w["dispatcher_own"], {
        "sender_phone": "0901234567", "date_from": date(2026, 11, 20),
        "date_to": date(2026, 11, 20)}, now=clock())
    db.session.commit()
    return drawn.id


def _make_outcome(clock, make_item, w):
    """A failed attempt the world's courier reported."""
    from api.items import service
    from models import EventCode, db

    item = make_item(w["office"], courier=w["courier_own"], events=("EMG", "EDG"))
    service.record_event(db.session, w["courier_own"], item.identifier, {
        "code": EventCode.EMH, "client_event_id": "matrix-outcome-01", "device_time": clock(),
        "reason": "unreachable_by_phone", "action": "notice_left",
        "location": {"lat": 12.238, "lon": 109.196}}, now=clock(),
        max_attempts=3)
    db.session.commit()
    return item.events[-1].id


def _make_payout(clock, w):
    """A pending payout of the world's office."""
    from datetime import date

    from api.payouts import service as payouts
    from models import db

    t = payouts.create(db.session, w["dispatcher_own"], {
        "program": "pension", "period": "2026-11", "amount": 100_000,
        "due_date": date(2026, 11, 20),
        "beneficiary": {"name": "A", "address": "B", "id_number": "056012345678"}},
        now=clock())
    db.session.commit()
    return t.id


def _make_complaint(clock, w):
    from api.complaints import service as complaints
    from models import ComplaintCategory, db

    c = complaints.open_staff(db.session, w["dispatcher_own"], w["item"].identifier,
                              ComplaintCategory.LATE, "Giao trễ", now=clock())
    db.session.commit()
    return c.id


def _make_cash(clock, w):
    """A hand-in entry of the world's courier (for corrections)."""
    from api.cash import service as cash
    from models import db

    entry = cash.handover(db.session, w["admin"], w["courier_own"].id, clock().date(), 0,
                          now=clock(), note=None, client_ref=None)
    db.session.commit()
    return entry.id


def _make_evidence(clock, w):
    """A signature uploaded by the item's courier."""
    from api.proof.views import upload_evidence
    from models import EvidenceKind, db

    ev, _ = upload_evidence(db.session, w["courier_own"], tiny_png(9), EvidenceKind.SIGNATURE,
                            now=clock(), max_bytes=10**7)
    db.session.commit()
    return ev.sha256


def _make_plan(clock, w):
    """A queued route plan of the world's office (its job is never run here)."""
    from datetime import date

    from api.route_plans import service
    from models import db

    plan = service.create_plan(db.session, w["dispatcher_own"], {
        "date": date(2026, 11, 20), "shift_start_s": 28_800, "shift_end_s": 61_200,
        "time_limit_s": 1.0, "statuses": ["at_delivery_office"]}, now=clock())
    db.session.commit()
    return plan


def _make_scan(app, tmp_path, clock, make_item, w):
    """A scan with a photo by the item's courier (built only where the URL needs one:
    decoding costs time)."""
    office = w["office"]
    from pathlib import Path

    from api.evidence import LocalEvidenceStore
    from api.scans import service as scans
    from models import ScanAction, db
    from tests.scanning._images import encode, make_label

    app.config["PHOTO_DIR"] = str(tmp_path / "evidence")
    scanned = make_item(office, courier=w["courier_own"], events=("EMG",))
    outcome = scans.record_scan(
        db.session, w["courier_own"],
        {"action": ScanAction.OUT_FOR_DELIVERY, "client_event_id": "matrix-scan-0001",
         "device_time": clock(), "codes": []},
        encode(make_label(s10=scanned.identifier)[0], "PNG"), now=clock(),
        store=LocalEvidenceStore(Path(app.config["PHOTO_DIR"])), carrier_patterns={},
        max_attempts=3, photo_max_bytes=10**7)
    db.session.commit()
    return outcome.scan



def _event():
    return {"code": "EDG", "client_event_id": "matrix-event-0001",
            "device_time": "2026-11-20T09:00:00+07:00",
            "location": {"lat": 12.24, "lon": 109.19}}


# (name, method, url template, body builder, expected status per role)
MATRIX = [
    ("login (public)", "post", "/api/v1/auth/token",
     lambda w: {"json": {"username": w["admin"].username, "password": "pw"}},
     dict(anon=201, courier_own=201, courier_other=201, dispatcher_own=201,
          dispatcher_other=201, admin=201)),
    ("me", "get", "/api/v1/auth/me", None,
     dict(anon=401, courier_own=200, courier_other=200, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("logout", "delete", "/api/v1/auth/token", None,
     dict(anon=401, courier_own=204, courier_other=204, dispatcher_own=204,
          dispatcher_other=204, admin=204)),
    ("list items", "get", "/api/v1/items", None,
     dict(anon=401, courier_own=200, courier_other=200, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("create item", "post", "/api/v1/items",
     lambda w: {"json": item_payload(office_id=w["office"].id)},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=403, admin=201)),
    ("import items", "post", "/api/v1/items/import",
     lambda w: {"data": to_csv([row()]), "content_type": "text/csv"},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("item detail", "get", "/api/v1/items/{item}", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("assign", "post", "/api/v1/items/{item}/assign",
     lambda w: {"json": {"courier_id": w["courier_own"].id}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("recipient request", "post", "/api/v1/items/{item}/recipient-request",
     lambda w: {"json": {"kind": "hold", "day": "2026-11-25"}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("record event", "post", "/api/v1/items/{item}/events", lambda w: {"json": _event()},
     dict(anon=401, courier_own=201, courier_other=404, dispatcher_own=201,
          dispatcher_other=404, admin=201)),
    ("revoke tokens", "post", "/api/v1/users/{courier}/revoke-tokens", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("scan", "post", "/api/v1/scans",
     lambda w: {"json": {"action": "out_for_delivery", "client_event_id": "matrix-scan-0002",
                         "device_time": "2026-11-20T09:00:00+07:00",
                         "codes": [{"text": w["item"].identifier}]}},
     dict(anon=401, courier_own=201, courier_other=404, dispatcher_own=201,
          dispatcher_other=404, admin=201)),
    ("scan detail", "get", "/api/v1/scans/{scan}", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("scan photo", "get", "/api/v1/scans/{scan}/photo", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("create route plan", "post", "/api/v1/route-plans",
     lambda w: {"json": {"date": "2026-11-20", "office_id": w["office"].id}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=202,
          dispatcher_other=403, admin=202)),
    ("route plan", "get", "/api/v1/route-plans/{plan}", None,
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    # a queued plan cannot be edited: 409 shows the caller got past the access check
    ("edit route plan", "patch", "/api/v1/route-plans/{plan}", lambda w: {"json": {"routes": []}},
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=409,
          dispatcher_other=404, admin=409)),
    ("route plan geojson", "get", "/api/v1/route-plans/{plan}/geojson", None,
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("cancel route plan", "post", "/api/v1/route-plans/{plan}/cancel", None,
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    # a queued plan cannot be published: 409 shows the caller got past the access check
    ("publish route plan", "post", "/api/v1/route-plans/{plan}/publish", None,
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=409,
          dispatcher_other=404, admin=409)),
    ("my route", "get", "/api/v1/couriers/me/route", None,
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=403,
          dispatcher_other=403, admin=403)),
    ("reoptimize my route", "post", "/api/v1/couriers/me/route/reoptimize",
     lambda w: {"json": {"location": {"lat": 12.24, "lon": 109.19}}},
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=403,
          dispatcher_other=403, admin=403)),
    ("sync", "post", "/api/v1/sync",
     lambda w: {"json": {"events": [{"kind": "event", "identifier": w["item"].identifier,
                                     "code": "EDG", "client_event_id": "matrix-sync-001",
                                     "device_time": "2026-11-20T08:00:00+07:00"}]}},
     dict(anon=401, courier_own=200, courier_other=200, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("courier track", "get", "/api/v1/couriers/{courier}/track?date=2026-11-20", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("courier positions", "get", "/api/v1/courier-positions?office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("upload evidence", "post", "/api/v1/evidence",
     lambda w: {"data": {"file": (__import__("io").BytesIO(tiny_png(5)), "s.png"),
                         "kind": "signature"}, "content_type": "multipart/form-data"},
     dict(anon=401, courier_own=201, courier_other=201, dispatcher_own=201,
          dispatcher_other=201, admin=201)),
    ("evidence file", "get", "/api/v1/evidence/{evidence}", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("delivery code", "get", "/api/v1/items/{item}/delivery-code", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("courier cash ledger", "get", "/api/v1/couriers/{courier}/cash?date=2026-11-20", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("cash handover", "post", "/api/v1/cash/handovers",
     lambda w: {"json": {"courier_id": w["courier_own"].id, "date": "2026-11-20",
                         "counted_amount": 0}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=404, admin=201)),
    ("cash correction", "post", "/api/v1/cash/corrections",
     lambda w: {"json": {"entry_id": w["make_cash"](), "amount": 1000, "reason": "recount"}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=404, admin=201)),
    ("cash report", "get", "/api/v1/cash/report?date=2026-11-20&office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("cod statements", "get", "/api/v1/cod-statements?office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("draw up cod statement", "post", "/api/v1/cod-statements",
     lambda w: w["make_remittable"]() or {"json": {
         "sender_phone": "0901234567", "date_from": "2026-11-20", "date_to": "2026-11-20",
         "office_id": w["office"].id}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=403, admin=201)),
    ("cod owed to senders", "get", "/api/v1/cod-statements/pending?office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("cod statement", "get", "/api/v1/cod-statements/{statement}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("pay cod statement", "post", "/api/v1/cod-statements/{statement}/pay",
     lambda w: {"json": {"reference": "CK-0001", "paid_at": "2026-11-20T07:30:00+07:00"}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("cancel cod statement", "post", "/api/v1/cod-statements/{statement}/cancel", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("public complaint", "post", "/api/v1/track/{item}/complaints",
     lambda w: {"json": {"phone": "0912345678", "category": "late",
                         "description": "Chưa nhận được"}},
     dict(anon=201, courier_own=201, courier_other=201, dispatcher_own=201,
          dispatcher_other=201, admin=201)),
    ("complaints queue", "get", "/api/v1/complaints", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("open complaint", "post", "/api/v1/complaints",
     lambda w: {"json": {"identifier": w["item"].identifier, "category": "late",
                         "description": "Giao trễ"}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=404, admin=201)),
    ("complaint case", "get", "/api/v1/complaints/{complaint}", None,
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("update complaint", "patch", "/api/v1/complaints/{complaint}",
     lambda w: {"json": {"status": "investigating"}},
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("missing scans", "get", "/api/v1/missing-scans", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("returns due", "get", "/api/v1/returns-due?office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("quality", "get", "/api/v1/quality?date=2026-11-20&office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("payouts", "get", "/api/v1/payouts", None,
     dict(anon=401, courier_own=200, courier_other=200, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("create payout", "post", "/api/v1/payouts",
     lambda w: {"json": {"program": "pension", "period": "2026-11", "amount": 100_000,
                         "due_date": "2026-11-20", "office_id": w["office"].id,
                         "beneficiary": {"name": "A", "address": "B",
                                         "id_number": "056012345678"}}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=403, admin=201)),
    ("assign payout", "post", "/api/v1/payouts/{payout}/assign",
     lambda w: {"json": {"courier_id": w["courier_own"].id}},
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    # the payout is pending, not assigned: 403 (not the assigned courier) or 404 (unseen)
    ("pay payout", "post", "/api/v1/payouts/{payout}/pay",
     lambda w: {"json": {"client_event_id": "matrix-pay-0001",
                         "device_time": "2026-11-20T09:00:00+07:00",
                         "location": {"lat": 12.24, "lon": 109.19}, "received_by": "A",
                         "id_number": "056012345678", "signature": "ab" * 32}},
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=403,
          dispatcher_other=404, admin=403)),
    ("fail payout", "post", "/api/v1/payouts/{payout}/fail", lambda w: {"json": {"note": "vắng"}},
     dict(anon=401, courier_own=404, courier_other=404, dispatcher_own=409,
          dispatcher_other=404, admin=409)),
    ("day outcomes", "get", "/api/v1/outcomes?date=2026-11-20&office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("outcomes backlog", "get", "/api/v1/outcomes/backlog?office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("confirm outcomes", "post", "/api/v1/outcomes/confirm",
     lambda w: {"json": {"date": "2026-11-20", "courier_id": w["courier_own"].id,
                         "office_id": w["office"].id}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=403, admin=200)),
    ("review outcome", "post", "/api/v1/outcomes/{outcome}/review",
     lambda w: {"json": {"state": "confirmed"}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("my disputes", "get", "/api/v1/couriers/me/disputes", None,
     dict(anon=401, courier_own=200, courier_other=200, dispatcher_own=403,
          dispatcher_other=403, admin=403)),
    ("scans to resolve", "get", "/api/v1/unread-scans?office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("scan to resolve", "get", "/api/v1/unread-scans/{unread}", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("scan to resolve photo", "get", "/api/v1/unread-scans/{unread}/photo", None,
     dict(anon=401, courier_own=200, courier_other=404, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("resolve scan", "post", "/api/v1/unread-scans/{unread}/resolve",
     lambda w: {"json": {"identifier": w["item"].identifier}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=404, admin=201)),
    ("dismiss scan", "post", "/api/v1/unread-scans/{unread}/dismiss",
     lambda w: {"json": {"reason": "a photo of the ground"}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("delivery rounds", "get", "/api/v1/rounds?office_id={office}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("create delivery round", "post", "/api/v1/rounds",
     lambda w: {"json": {"code": "T02", "name": "Tuyến 2", "wards": ["Tân Lập"],
                         "office_id": w["office"].id}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=201,
          dispatcher_other=403, admin=201)),
    ("delivery round", "get", "/api/v1/rounds/{round}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("update delivery round", "patch", "/api/v1/rounds/{round}",
     lambda w: {"json": {"name": "Tuyến Lộc Thọ"}},
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=200,
          dispatcher_other=404, admin=200)),
    ("delete delivery round", "delete", "/api/v1/rounds/{round}", None,
     dict(anon=401, courier_own=403, courier_other=403, dispatcher_own=204,
          dispatcher_other=404, admin=204)),
    ("public tracking", "get", "/api/v1/track/{item}", None,
     dict(anon=200, courier_own=200, courier_other=200, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
    ("tracking page", "get", "/track/{item}", None,
     dict(anon=200, courier_own=200, courier_other=200, dispatcher_own=200,
          dispatcher_other=200, admin=200)),
]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize(("name", "method", "url", "body", "expected"), MATRIX,
                         ids=[m[0] for m in MATRIX])
def test_role_matrix(client, auth, world, monkeypatch, role, name, method, url, body,
                     expected):
    from api import jobs

    monkeypatch.setattr(jobs, "submit", lambda *a, **k: "not-run")
    headers = {} if role == "anon" else auth(world[role])
    scan_id = world["make_scan"]().id if "{scan}" in url else None
    plan_id = world["make_plan"]().id if "{plan}" in url else None
    evidence = world["make_evidence"]() if "{evidence}" in url else None
    complaint = world["make_complaint"]() if "{complaint}" in url else None
    payout = world["make_payout"]() if "{payout}" in url else None
    outcome = world["make_outcome"]() if "{outcome}" in url else None
    unread = world["make_unread"]() if "{unread}" in url else None
    round_id = world["make_round"]() if "{round}" in url else None
    statement = world["make_statement"]() if "{statement}" in url else None
    path = url.format(item=world["item"].identifier, courier=world["courier_own"].id,
                      scan=scan_id, plan=plan_id, office=world["office"].id,
                      evidence=evidence, complaint=complaint, payout=payout,
                      outcome=outcome, unread=unread, round=round_id,
                      statement=statement)
    kwargs = body(world) if body else {}
    r = getattr(client, method)(path, headers=headers, **kwargs)
    assert r.status_code == expected[role], (role, name, r.get_json(silent=True))
    r.close()
    if r.status_code >= 400:
        assert r.content_type == "application/problem+json"


def test_every_api_endpoint_is_in_the_matrix(app):
    import re

    covered = {(m[1].upper(), re.sub(r"\{\w+\}", "<>", m[2].split("?")[0])) for m in MATRIX}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith(("api-docs.",
                                                                             "apidocs.")):
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, re.sub(r"<[^>]+>", "<>", rule.rule)) in covered, (method, rule.rule)
