"""Proof of delivery: policies per product, evidence, ID checks, COD, delivery codes."""

from __future__ import annotations

import io
import itertools
import json

import pytest

from api.proof import policy
from models import DeliveryProof, Item, Role, db
from tests.conftest import at_once, s10, tiny_png, when_both_arrive

ids = (f"proof-{n:06d}" for n in itertools.count())


def deliver(client, h, item, proof, **kw):
    body = {"code": "EMI", "client_event_id": next(ids),
            "device_time": "2026-11-20T09:00:00+07:00",
            "location": {"lat": 12.238, "lon": 109.196, "accuracy_m": 8}, "proof": proof}
    body.update(kw)
    return client.post(f"/api/v1/items/{item.identifier}/events", json=body, headers=h)


@pytest.mark.parametrize(("prefix", "product", "expected"), [
    ("EE", None, ["/proof", "/proof/received_by"]),
    ("RR", None, ["/proof/received_by", "/proof/signature"]),
    ("VV", None, ["/proof/id_number", "/proof/received_by", "/proof/signature"]),
    ("BA", "admin_document", ["/proof/id_number", "/proof/photo", "/proof/received_by",
                              "/proof/signature"]),
    ("CP", None, ["/proof"]),
    ("PA", "letter", []),
])
def test_each_product_says_what_proof_it_needs(client, auth, office, courier, make_item,
                                               prefix, product, expected):
    extra = {"product": product} if product else {}
    item = make_item(office, courier=courier, events=("EMG", "EDG"), identifier=s10(prefix),
                     **extra)
    r = deliver(client, auth(courier), item, None)
    if not expected:
        assert r.status_code == 201, r.json
        return
    assert r.status_code == 422 and r.json["type"] == "/problems/proof-required"
    assert sorted(e["pointer"] for e in r.json["errors"]) == expected
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"


def test_signature_is_enough_for_ems_and_is_kept(client, auth, office, courier, make_item,
                                                 full_proof, make_user):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    full = full_proof(item)
    r = deliver(client, auth(courier), item, {"received_by": "Chị Lan (vợ)",
                                              "signature": full["signature"]})
    assert r.status_code == 201, r.json
    proof = r.json["event"]["proof"]
    assert proof["received_by"] == "Chị Lan (vợ)" and proof["signature"] == full["signature"]
    staff = client.get(f"/api/v1/items/{item.identifier}",
                       headers=auth(make_user(Role.DISPATCHER, office))).json
    assert staff["events"][-1]["proof"]["signature"] == full["signature"]
    got = client.get(f"/api/v1/evidence/{full['signature']}",
                     headers=auth(make_user(Role.ADMIN)))
    assert got.status_code == 200 and got.mimetype == "image/png"
    got.close()


def test_the_office_sees_the_proof_of_its_delivery_whoever_uploaded_it(
        client, auth, office, make_item, make_user, make_office, full_proof):
    """An admin records a delivery at the counter with files of their own: the item
    detail names the signature, and the office's complaint staff got a 404 for it from
    the API (the console showed it). Another office's dispatcher still gets nothing."""
    item = make_item(office, events=("EMG", "EDF"))
    admin = make_user(Role.ADMIN)
    proof = full_proof(item, by=admin)
    assert deliver(client, auth(admin), item, proof).status_code == 201
    h = auth(make_user(Role.DISPATCHER, office))
    named = client.get(f"/api/v1/items/{item.identifier}", headers=h).json["events"][-1]
    assert named["proof"]["signature"] == proof["signature"]
    for sha in (proof["signature"], proof["photo"]):
        with client.get(f"/api/v1/evidence/{sha}", headers=h) as got:
            assert got.status_code == 200 and got.mimetype == "image/png"
        other = auth(make_user(Role.DISPATCHER, make_office()))
        assert client.get(f"/api/v1/evidence/{sha}", headers=other).status_code == 404


def test_unknown_evidence_is_refused(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = deliver(client, auth(courier), item, {"received_by": "A", "signature": "ab" * 32})
    assert r.status_code == 422 and r.json["type"] == "/problems/proof-invalid"
    assert r.json["errors"][0]["pointer"] == "/proof/signature"


def test_an_offices_dispatcher_sees_its_proof_whoever_uploaded_it(
        client, auth, office, courier, make_item, make_office, make_user, full_proof):
    """GET /evidence/{sha256} answered a dispatcher only for files uploaded by someone
    now of their office: once the courier who made a delivery moved to another office,
    the office's own proof of it was a 404 (the console showed it), and so was the
    signature of a delivery an admin recorded at the counter."""
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    full = full_proof(item)
    assert deliver(client, auth(courier), item, full).status_code == 201
    courier.office_id = make_office().id  # moved since
    db.session.commit()
    admin = make_user(Role.ADMIN)
    held = make_item(office, events=("EMG", "EDF"))
    counter = full_proof(held, by=admin)
    assert deliver(client, auth(admin), held, counter).status_code == 201
    h = auth(make_user(Role.DISPATCHER, office))
    for sha in (full["signature"], full["photo"], counter["signature"]):
        got = client.get(f"/api/v1/evidence/{sha}", headers=h)
        assert got.status_code == 200, sha
        got.close()
    # another office's dispatcher still does not see the counter's signature
    other = auth(make_user(Role.DISPATCHER, make_office()))
    assert client.get(f"/api/v1/evidence/{counter['signature']}",
                      headers=other).status_code == 404


def test_id_number_must_match_the_one_on_file(client, auth, office, courier, make_item,
                                              full_proof):
    rcpt = {"name": "Phạm Văn Cường", "address": "3 Yersin", "city": "Nha Trang",
            "province": "Khánh Hòa", "lat": 12.238, "lon": 109.196,
            "id_number": "079 123 456 789"}
    item = make_item(office, courier=courier, events=("EMG", "EDG"), identifier=s10("BA"),
                     product="admin_document", recipient=rcpt)
    assert db.session.get(Item, item.id).recipient_id_hash is not None
    h = auth(courier)
    r = deliver(client, h, item, full_proof(item, id_number="079123456000"))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/id_number"
    r = deliver(client, h, item, full_proof(item, id_number="079-123-456-789"))
    assert r.status_code == 201, r.json
    proof = r.json["event"]["proof"]
    assert proof["id_matched"] is True and proof["id_number_last4"] == "6789"
    assert "079123456789" not in json.dumps(r.json)
    stored = db.session.query(DeliveryProof).one()
    assert "079123456789" not in (stored.id_number_hash or "")


@pytest.mark.parametrize("number", ["      ", "------", "...-- ", "12 . -"])
def test_an_id_number_without_letters_or_digits_is_no_id_check(client, auth, office, courier,
                                                                make_item, full_proof, number,
                                                                make_user):
    # an administrative document whose recipient's ID is not on file: the ID shown at
    # the door is recorded, so it must be a number, not blanks or punctuation
    item = make_item(office, courier=courier, events=("EMG", "EDG"), identifier=s10("BA"),
                     product="admin_document")
    r = deliver(client, auth(courier), item, full_proof(item, id_number=number))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/id_number"
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"
    rcpt = {"name": "B", "address": "3 Yersin", "city": "Nha Trang", "province": "Khánh Hòa",
            "id_number": number}
    r = client.post("/api/v1/items", headers=auth(make_user(Role.DISPATCHER, office)),
                    json={"identifier": s10("BA"), "product": "admin_document",
                          "sender": {"name": "UBND"}, "recipient": rcpt})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/recipient/id_number"


# insured letters ask for the ID number by product, without the item's ID-check flag:
# a proxy's authorisation photo was not required there
@pytest.mark.parametrize(("product", "prefix"), [("admin_document", "BA"), ("insured", "VA")])
def test_a_proxy_shows_their_id_and_the_authorisation(client, auth, office, courier, make_item,
                                                      full_proof, product, prefix):
    item = make_item(office, courier=courier, events=("EMG", "EDG"), identifier=s10(prefix),
                     product=product)
    p = full_proof(item, relation="proxy")
    del p["photo"]
    r = deliver(client, auth(courier), item, p)
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json["errors"]] == ["/proof/photo"]
    r = deliver(client, auth(courier), item, full_proof(item, relation="proxy"))
    assert r.status_code == 201 and r.json["event"]["proof"]["relation"] == "proxy"
    if product == "insured":  # the recipient in person needs no photo
        other = make_item(office, courier=courier, events=("EMG", "EDG"), identifier=s10(prefix),
                          product=product)
        p = full_proof(other)
        del p["photo"]
        assert deliver(client, auth(courier), other, p).status_code == 201


def test_cod_must_be_collected_in_full(client, auth, office, courier, make_item, full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=450_000)
    h = auth(courier)
    r = deliver(client, h, item, full_proof(item, cod_collected=400_000))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/cod_collected"
    r = deliver(client, h, item, full_proof(item))
    assert r.status_code == 201 and r.json["event"]["proof"]["cod_collected"] == 450_000


def test_no_cash_is_booked_for_an_item_without_cod(client, auth, office, courier, make_item,
                                                   full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))  # cod_amount 0
    h = auth(courier)
    r = deliver(client, h, item, {**full_proof(item), "cod_collected": 50_000_000})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/cod_collected"
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"
    r = deliver(client, h, item, full_proof(item))
    assert r.status_code == 201
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert ledger["entries"] == []


def test_device_times_out_of_any_plausible_range_are_422(client, auth, office, courier,
                                                         make_item, full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    h = auth(courier)
    for t in ("0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-01:00",
              "1999-12-31T23:59:59+00:00", "2100-01-01T00:00:00+00:00"):
        r = deliver(client, h, item, full_proof(item), device_time=t)
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/device_time", t
        r = client.post("/api/v1/scans", headers=h, json={
            "action": "delivered", "client_event_id": next(ids), "device_time": t,
            "codes": [{"text": item.identifier}], "proof": full_proof(item)})
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/device_time", t
    assert client.get(f"/api/v1/track/{item.identifier}").status_code == 200


def coded_and_out(client, auth, office, courier, make_item, make_user):
    """An item valuable enough for a one-time code, sent out by ``courier`` at 08:30
    (EDG issues the code); the item and its code, as a dispatcher reads it."""
    item = make_item(office, courier=courier, events=("EMG",),
                     cod_amount=policy.CODE_COD_THRESHOLD)
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EDG", "client_event_id": next(ids),
        "device_time": "2026-11-20T08:30:00+07:00"})
    assert r.status_code == 201
    code = client.get(f"/api/v1/items/{item.identifier}/delivery-code",
                      headers=auth(make_user(Role.DISPATCHER, office))).json["delivery_code"]
    return item, code


def test_valuable_items_get_a_delivery_code(client, auth, office, courier, make_item,
                                            make_user, full_proof):
    item, code = coded_and_out(client, auth, office, courier, make_item, make_user)
    h = auth(courier)
    assert code and len(code) == 6
    assert client.get(f"/api/v1/items/{item.identifier}/delivery-code",
                      headers=h).status_code == 403
    assert code not in json.dumps(client.get(f"/api/v1/items/{item.identifier}",
                                             headers=h).json)
    wrong = "000000" if code != "000000" else "111111"
    r = deliver(client, h, item, full_proof(item, delivery_code=wrong))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/delivery_code"
    r = deliver(client, h, item, full_proof(item, delivery_code=code))
    assert r.status_code == 201 and r.json["event"]["proof"]["code_verified"] is True
    assert db.session.get(Item, item.id).delivery_code is None


def test_a_courier_cannot_skip_the_code_by_never_sending_the_item_out(
        client, auth, office, courier, dispatcher, make_item, full_proof):
    """The code is issued when the item goes out (EDG): a courier who recorded the
    delivery of a valuable item never sent out (at a pick-up point, at the office) was
    asked for no code at all. Staff at the counter still deliver it (they check the
    person)."""
    item = make_item(office, courier=courier, events=("EMG", "EDH"),
                     cod_amount=policy.CODE_COD_THRESHOLD)
    before = item.status
    r = deliver(client, auth(courier), item, full_proof(item, by=courier))
    assert r.status_code == 422, r.json
    assert r.json["errors"][0]["pointer"] == "/proof/delivery_code"
    db.session.expire_all()
    assert db.session.get(Item, item.id).status is before
    r = deliver(client, auth(dispatcher), item, full_proof(item, by=dispatcher))
    assert r.status_code == 201, r.json
    assert r.json["event"]["proof"]["code_verified"] is False


def test_the_same_coded_hand_over_recorded_again_is_kept_as_a_late_conflict(
        client, auth, office, courier, make_item, make_user, full_proof, clock):
    """The delivery used the item's code (cleared); the phone's sync then sends the same
    hand-over under another client_event_id, dated a minute earlier. Like any other
    item's, it is kept unapplied (late_conflict): it was refused as an item "never sent
    out (EDG)", which it was."""
    clock.advance(hours=2)  # 10:00 in Viet Nam: the times below are the morning's
    item, code = coded_and_out(client, auth, office, courier, make_item, make_user)
    h = auth(courier)
    proof = full_proof(item, delivery_code=code)
    assert deliver(client, h, item, proof).status_code == 201
    r = client.post("/api/v1/sync", headers=h, json={"device_id": "android-1", "events": [{
        "kind": "event", "identifier": item.identifier, "code": "EMI",
        "client_event_id": next(ids), "device_time": "2026-11-20T08:59:00+07:00",
        "location": {"lat": 12.238, "lon": 109.196, "accuracy_m": 8}, "proof": proof}]})
    res = r.json["results"][0]
    assert res["result"] == "accepted", res.get("problem")
    assert res["flags"] == ["late_conflict"] and res["item_status"] == "delivered"
    assert db.session.query(DeliveryProof).count() == 2


def test_evidence_upload_is_idempotent_and_checked(client, auth, courier, app):
    h = auth(courier)

    def up(data, kind="photo"):
        return client.post("/api/v1/evidence", headers=h, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "x"), "kind": kind})

    first = up(tiny_png(3))
    again = up(tiny_png(3))
    assert first.status_code == 201 and again.status_code == 200
    assert first.json["sha256"] == again.json["sha256"] and len(first.json["sha256"]) == 64
    assert up(b"not an image").status_code == 422
    assert up(b"GIF89a" + b"\0" * 50).status_code == 415
    assert up(tiny_png(4), kind="selfie").status_code == 422
    # a valid header over broken pixels is no photo: it could not prove a delivery
    import cv2
    import numpy as np
    noise = (np.random.default_rng(0).random((120, 160)) * 255).astype(np.uint8)
    jpeg = cv2.imencode(".jpg", noise)[1].tobytes()
    png = bytearray(cv2.imencode(".png", noise)[1].tobytes())
    at = png.find(b"IDAT")
    png[at + 10:at + 60] = bytes(50)
    rgba = bytearray(cv2.imencode(".png", np.dstack([noise] * 4))[1].tobytes())  # transparent
    at = rgba.find(b"IDAT")
    rgba[at + 10:at + 60] = bytes(50)
    for broken in (jpeg[: len(jpeg) * 6 // 10], bytes(png), bytes(rgba)):
        r = up(broken)
        assert r.status_code == 422 and r.json["type"] == "/problems/unreadable-image"
    assert up(jpeg).status_code == 201
    app.config["PHOTO_MAX_BYTES"] = 100
    assert up(tiny_png(5)).status_code == 413


@pytest.mark.parametrize("ext", [".png", ".webp", ".jpg"])
@pytest.mark.parametrize("shape", [(1, 1), (1, 40), (40, 1)])
def test_an_image_one_pixel_wide_or_high_is_evidence(client, auth, courier, ext, shape):
    """A PNG or WebP is decoded whole and then halved: one pixel wide or high, to
    nothing, and OpenCV's failed assertion came back as an unreadable image (422)."""
    import cv2
    import numpy as np

    data = cv2.imencode(ext, np.full(shape, 200, np.uint8))[1].tobytes()
    r = client.post("/api/v1/evidence", headers=auth(courier),
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(data), "x"), "kind": "signature"})
    assert r.status_code == 201, r.json


def test_two_files_in_one_upload_are_refused(client, auth, courier):
    """Two ``file`` parts (a photo and a signature in one request): the first was stored
    (201) and the second dropped, so the delivery citing it was refused later."""
    from models import Evidence

    r = client.post("/api/v1/evidence", headers=auth(courier),
                    content_type="multipart/form-data",
                    data={"file": [(io.BytesIO(tiny_png(61)), "a"),
                                   (io.BytesIO(tiny_png(62)), "b")], "kind": "photo"})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/file"
    assert db.session.query(Evidence).count() == 0


def test_the_same_file_uploaded_twice_at_once_is_stored_once(app, auth, courier, monkeypatch):
    import api.proof.views as views
    from models import Evidence

    # both have looked for the file before either stores it (a phone retrying on a
    # flaky network): the second insert hits the unique SHA-256, which was a 500
    monkeypatch.setattr(views, "evidence_store", when_both_arrive(views.evidence_store))
    h = auth(courier)
    data = tiny_png(9)

    def up(client):
        return client.post("/api/v1/evidence", headers=h, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(data), "x"), "kind": "signature"})

    answers = at_once(app, up, up)
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert answers[0].json["sha256"] == answers[1].json["sha256"]
    assert db.session.query(Evidence).count() == 1


def test_a_file_sent_again_as_the_other_kind_is_a_409_and_changes_nothing(
        client, auth, office, courier, make_user, make_item, full_proof):
    """The same bytes sent as a signature after a photo answered 200 with kind
    "photo": the phone took it for a stored signature, and the delivery citing it as
    one was refused later (offline, a visit with no record). A file is one kind of
    evidence, the kind a proof cites it as: a 409 naming the kind it is stored as."""
    from models import Evidence

    def up(h, kind):
        return client.post("/api/v1/evidence", headers=h, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(tiny_png(21)), "x"), "kind": kind})

    h = auth(courier)
    first = up(h, "photo")
    assert first.status_code == 201 and first.json["kind"] == "photo"
    sha = first.json["sha256"]
    colleague = auth(make_user(Role.COURIER, office))
    for who in (h, colleague):  # the uploader's phone, or anyone else with the bytes
        r = up(who, "signature")
        assert r.status_code == 409 and r.mimetype == "application/problem+json", r.json
        assert r.json["type"] == "/problems/evidence-kind-conflict"
        assert r.json["kind"] == "photo" and r.json["sha256"] == sha
        assert "already stored as a photo" in r.json["detail"]
    # nothing changed: one file, still the photo of its first uploader
    (ev,) = db.session.query(Evidence).all()
    assert (ev.kind.value, ev.uploaded_by_id) == ("photo", courier.id)
    # a retry of the first upload is still harmless
    again = up(h, "photo")
    assert again.status_code == 200 and again.json == first.json
    # and the file cannot stand as the delivery's signature
    item = make_item(office, identifier=s10("RR"), courier=courier,
                     events=("EMG", "EDG"))
    r = deliver(client, h, item, full_proof(item, signature=sha))
    assert r.status_code == 422 and r.json["type"] == "/problems/proof-invalid"
    assert [e["pointer"] for e in r.json["errors"]] == ["/proof/signature"]


def test_the_same_file_sent_at_once_as_two_kinds_is_stored_as_one(app, auth, courier,
                                                                   monkeypatch):
    """Both requests looked for the file before either stored it: the one that lost
    the race answered 200 with the winner's kind, as if its own were stored."""
    import api.proof.views as views
    from models import Evidence

    monkeypatch.setattr(views, "evidence_store", when_both_arrive(views.evidence_store))
    h = auth(courier)

    def up(kind):
        def send(client):
            return client.post("/api/v1/evidence", headers=h,
                               content_type="multipart/form-data",
                               data={"file": (io.BytesIO(tiny_png(22)), "x"), "kind": kind})
        return send

    answers = at_once(app, up("photo"), up("signature"))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.json for a in answers]
    stored = next(a for a in answers if a.status_code == 201).json["kind"]
    refused = next(a for a in answers if a.status_code == 409).json
    assert refused["type"] == "/problems/evidence-kind-conflict"
    assert refused["kind"] == stored
    (ev,) = db.session.query(Evidence).all()
    assert ev.kind.value == stored


def test_proof_only_with_a_delivery(client, auth, office, courier, make_item, full_proof):
    item = make_item(office, courier=courier, events=("EMG",))
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EDG", "client_event_id": next(ids), "device_time": "2026-11-20T08:30:00+07:00",
        "proof": {"received_by": "x"}})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof"


def test_scan_delivery_carries_proof(client, auth, office, courier, make_item, full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    body = {"action": "delivered", "client_event_id": next(ids),
            "device_time": "2026-11-20T09:00:00+07:00", "codes": [{"text": item.identifier}],
            "location": {"lat": 12.238, "lon": 109.196}}
    r = client.post("/api/v1/scans", json=body, headers=auth(courier))
    assert r.status_code == 422 and r.json["type"] == "/problems/proof-required"
    body["client_event_id"] = next(ids)
    body["proof"] = full_proof(item)
    r = client.post("/api/v1/scans", json=body, headers=auth(courier))
    assert r.status_code == 201 and r.json["event"]["proof"]["signature"]


def test_a_full_disk_is_a_503_and_leaves_no_part_of_the_file(client, auth, courier, app,
                                                              monkeypatch):
    # ENOSPC while writing was a 500, and the part written stayed as a hidden
    # `.upload-*` file in the store, one more for every retry of the phone
    import errno
    import os
    from pathlib import Path

    from api import evidence

    real_fdopen = os.fdopen

    class FullDisk:
        def __init__(self, fd, mode):
            self.fh = real_fdopen(fd, mode)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data):
            self.fh.write(data[:10])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(evidence.os, "fdopen", FullDisk)
    r = client.post("/api/v1/evidence", headers=auth(courier),
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(tiny_png(6)), "x"), "kind": "photo"})
    assert r.status_code == 503, r.json
    assert r.json["type"] == "/problems/evidence-store-unavailable"
    assert "disk is full" in r.json["detail"] and r.headers["Retry-After"]
    root = Path(app.config["PHOTO_DIR"])
    assert [p for p in root.rglob("*") if p.is_file()] == []
    with app.app_context():
        from models import Evidence

        assert db.session.query(Evidence).count() == 0
    monkeypatch.setattr(evidence.os, "fdopen", real_fdopen)
    again = client.post("/api/v1/evidence", headers=auth(courier),
                        content_type="multipart/form-data",
                        data={"file": (io.BytesIO(tiny_png(6)), "x"), "kind": "photo"})
    assert again.status_code == 201


def test_a_file_missing_from_the_store_is_a_503_and_uploading_it_again_restores_it(
        client, auth, courier, app):
    # the evidence volume not mounted, or a database restored without its files: every
    # photo link was a 500, and the phone resending the photo got a 200 while the file
    # stayed missing
    from pathlib import Path

    h = auth(courier)

    def up():
        return client.post("/api/v1/evidence", headers=h, content_type="multipart/form-data",
                           data={"file": (io.BytesIO(tiny_png(7)), "x"), "kind": "photo"})

    first = up()
    assert first.status_code == 201
    sha = first.json["sha256"]
    stored = [p for p in Path(app.config["PHOTO_DIR"]).rglob("*") if p.is_file()]
    assert len(stored) == 1
    stored[0].unlink()
    r = client.get(f"/api/v1/evidence/{sha}", headers=h)
    assert r.status_code == 503 and r.json["type"] == "/problems/evidence-file-missing"
    assert up().status_code == 200
    with client.get(f"/api/v1/evidence/{sha}", headers=h) as r:
        assert r.status_code == 200 and r.data == tiny_png(7)


def test_an_evidence_directory_the_server_cannot_write_is_a_503(client, auth, courier,
                                                                monkeypatch):
    # PHOTO_DIR owned by another user (e.g. a volume mounted root-owned): a 500
    import errno
    import pathlib

    def refused(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))

    monkeypatch.setattr(pathlib.Path, "mkdir", refused)
    r = client.post("/api/v1/evidence", headers=auth(courier),
                    content_type="multipart/form-data",
                    data={"file": (io.BytesIO(tiny_png(8)), "x"), "kind": "photo"})
    assert r.status_code == 503 and r.json["type"] == "/problems/evidence-store-unavailable"
    assert "disk is full" not in r.json["detail"]
