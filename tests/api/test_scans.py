from __future__ import annotations

import io
import itertools
import json
from datetime import timedelta

import numpy as np
import pytest

from models import CashEntry, Role, Scan, TrackingEvent, db
from tests.conftest import at_once, when_both_arrive
from tests.scanning._images import encode, make_label, png_bomb, progressive_jpeg_header

ids = (f"scan-{n:06d}" for n in itertools.count())


@pytest.fixture
def app(app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path / "evidence")
    return app


def label_photo(s10: str, fmt: str = "JPEG", **kw) -> bytes:
    gray, _ = make_label(s10=s10, **kw)
    return encode(gray, fmt)


def fields(action="out_for_delivery", **kw):
    data = {"action": action, "client_event_id": next(ids),
            "device_time": "2026-11-20T08:05:00+07:00",
            "location": {"lat": 12.2452, "lon": 109.1941, "accuracy_m": 6}}
    data.update(kw)
    return data


def post_photo(client, h, photo, data, as_json_field=True):
    form = {"photo": (io.BytesIO(photo), "label.jpg")}
    if as_json_field:
        form["data"] = json.dumps(data)
    else:
        form.update({k: json.dumps(v) if isinstance(v, dict | list) else v
                     for k, v in data.items()})
    return client.post("/api/v1/scans", data=form, headers=h, content_type="multipart/form-data")


def test_photo_scan_finds_item_records_event_and_keeps_photo(client, auth, office, courier,
                                                             make_item, make_user):
    item = make_item(office, courier=courier, events=("EMG",))
    photo = label_photo(item.identifier)
    r = post_photo(client, auth(courier), photo, fields())
    assert r.status_code == 201, r.json
    body = r.json
    assert body["identified_code"] == item.identifier
    assert body["item"]["status"] == "out_for_delivery"
    assert body["event"]["code"] == "EDG" and body["event"]["scan_id"] == body["scan_id"]
    symbologies = {c["symbology"] for c in body["codes"]}
    assert {"CODE128", "QR_CODE", "DATA_MATRIX"} <= symbologies
    assert all(c["source"] == "photo" and len(c["polygon"]) == 4 for c in body["codes"])
    # the photo is evidence: the courier and the office's staff can fetch it
    got = client.get(body["photo_url"], headers=auth(courier))
    assert got.status_code == 200 and got.data == photo and got.mimetype == "image/jpeg"
    assert "no-store" in got.headers["Cache-Control"]
    got.close()
    dispatcher = make_user(Role.DISPATCHER, office)
    got = client.get(body["photo_url"], headers=auth(dispatcher))
    assert got.data == photo
    got.close()
    # ... and the item's timeline links to it
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=auth(dispatcher)).json
    assert detail["events"][-1]["photo_url"] == body["photo_url"]


def test_form_fields_work_as_well_as_a_json_data_field(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    r = post_photo(client, auth(courier), label_photo(item.identifier, "PNG"), fields(),
                   as_json_field=False)
    assert r.status_code == 201, r.json


def test_phone_decoded_codes_without_photo(client, auth, office, courier, make_item,
                                           full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    data = fields("delivered", codes=[{"text": "https://example/qr", "symbology": "QR_CODE"},
                                      {"text": item.identifier.lower(), "symbology": "CODE_128"}],
                  proof=full_proof(item))
    r = client.post("/api/v1/scans", json=data, headers=auth(courier))
    assert r.status_code == 201, r.json
    assert r.json["item"]["status"] == "delivered" and r.json["photo_url"] is None
    assert r.json["identified_code"] == item.identifier


def test_a_label_with_two_item_numbers_scans_the_one_that_is_an_item(
        client, auth, office, courier, make_item, make_office):
    item = make_item(office, courier=courier, events=("EMG",))
    elsewhere = make_item(make_office(), events=("EMG",))  # another office's parcel
    codes = [{"text": "EE123456785VN", "symbology": "CODE_128"},  # no item at all
             {"text": elsewhere.identifier, "symbology": "CODE_128"},
             {"text": item.identifier, "symbology": "CODE_128"}]
    r = client.post("/api/v1/scans", json=fields(codes=codes), headers=auth(courier))
    assert r.status_code == 201, r.json  # was a 404 for the first number
    assert r.json["identified_code"] == item.identifier
    assert r.json["item"]["status"] == "out_for_delivery"
    r = client.post("/api/v1/scans", json=fields(codes=codes[:2]), headers=auth(courier))
    assert r.status_code == 404 and r.json["code"] == "EE123456785VN"


def test_a_label_whose_first_number_was_reassigned_away_scans_the_courier_s_own(
        client, auth, office, courier, make_item, make_user):
    """The first number on the label is an item the courier had and no longer has, the
    second is theirs: the scan was refused as item-reassigned, where the docs promise
    the first number that is an item they can see."""
    before = make_item(office, courier=courier, events=("EMG",))
    mine = make_item(office, courier=courier, events=("EMG",), identifier="GHNX24680")
    r = client.post(f"/api/v1/items/{before.identifier}/assign",
                    json={"courier_id": make_user(Role.COURIER, office).id},
                    headers=auth(make_user(Role.DISPATCHER, office)))
    assert r.status_code == 200
    codes = [{"text": before.identifier}, {"text": mine.identifier}]
    r = client.post("/api/v1/scans", json=fields(codes=codes), headers=auth(courier))
    assert r.status_code == 201, r.json
    assert r.json["identified_code"] == mine.identifier
    # alone, it is still the distinct 404 the phone keeps the scan for
    r = client.post("/api/v1/scans", json=fields(codes=codes[:1]), headers=auth(courier))
    assert r.status_code == 404 and r.json["type"] == "/problems/item-reassigned"
    assert r.json["code"] == before.identifier


def test_a_label_with_an_s10_that_is_no_item_scans_its_carrier_number(
        client, auth, office, courier, make_item):
    # another post's S10 on a parcel a local carrier delivers: the docs promise the S10s
    # first, then the other carriers' numbers; only the S10s were tried (404)
    item = make_item(office, courier=courier, events=("EMG",), identifier="GHNX12345")
    photo = label_photo("EE123456785VN", carrier=item.identifier)
    r = post_photo(client, auth(courier), photo, fields())
    assert r.status_code == 201, r.json
    assert r.json["identified_code"] == item.identifier
    other = make_item(office, courier=courier, events=("EMG",), identifier="GHNX67890")
    codes = [{"text": "EE123456785VN"}, {"text": other.identifier}]
    r = client.post("/api/v1/scans", json=fields(codes=codes), headers=auth(courier))
    assert r.status_code == 201, r.json
    assert r.json["identified_code"] == other.identifier
    # an S10 with a wrong check digit is still never the item, nor a carrier number
    r = client.post("/api/v1/scans", json=fields(codes=[{"text": "EE123456784VN"}]),
                    headers=auth(courier))
    assert r.status_code == 422 and r.json["misreads"]


def test_an_empty_photo_field_is_no_photo(client, auth, office, courier, make_item):
    # a form whose file field was left empty sends a part with no file name and no
    # bytes: the phone's codes were refused as an unreadable image
    item = make_item(office, courier=courier, events=("EMG",))
    data = fields(codes=json.dumps([{"text": item.identifier}]))
    data.pop("location")
    form = {**data, "photo": (io.BytesIO(b""), "")}
    r = client.post("/api/v1/scans", data=form, headers=auth(courier),
                    content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    assert r.json["identified_code"] == item.identifier and r.json["photo_url"] is None
    # a file that is empty is still an unreadable photo: the scan is the phone's codes
    # (test_an_unreadable_photo_sent_with_the_phone_s_codes_keeps_the_scan)
    other = make_item(office, courier=courier, events=("EMG",))
    form = {**fields(codes=json.dumps([{"text": other.identifier}])),
            "photo": (io.BytesIO(b""), "label.jpg")}
    form.pop("location")
    r = client.post("/api/v1/scans", data=form, headers=auth(courier),
                    content_type="multipart/form-data")
    assert r.status_code == 201 and r.json["photo_error"]["type"] == "unreadable-image"
    assert r.json["identified_code"] == other.identifier and r.json["photo_url"] is None


def test_replay_returns_original_without_decoding_again(client, auth, office, courier,
                                                         make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    data = fields()
    first = post_photo(client, auth(courier), label_photo(item.identifier), data)
    # the resend carries a broken photo: it is not even looked at
    again = post_photo(client, auth(courier), b"not an image at all", data)
    assert first.status_code == 201 and again.status_code == 200, again.json
    assert again.json["replayed"] is True
    assert again.json["scan_id"] == first.json["scan_id"]
    assert again.json["event"] == first.json["event"]
    assert db.session.query(Scan).count() == 1
    assert db.session.query(TrackingEvent).filter_by(item_id=item.id).count() == 3


def test_a_scan_id_used_again_at_another_time_is_refused(client, auth, office, courier,
                                                         make_item):
    # a phone whose ids start over (reinstalled): its next scan of the item reuses an id.
    # Answered as a replay, the phone dropped the scan: lost
    item = make_item(office, courier=courier, events=("EMG",))
    data = fields(codes=[{"text": item.identifier, "symbology": "CODE_128"}])
    first = client.post("/api/v1/scans", json=data, headers=auth(courier))
    assert first.status_code == 201, first.json
    later = {**data, "device_time": "2026-11-20T09:40:00+07:00"}
    r = client.post("/api/v1/scans", json=later, headers=auth(courier))
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
    # the same scan resent (the same instant written in UTC) is a replay
    same = {**data, "device_time": "2026-11-20T01:05:00+00:00"}
    r = client.post("/api/v1/scans", json=same, headers=auth(courier))
    assert r.status_code == 200 and r.json["replayed"] is True
    assert db.session.query(Scan).count() == 1


def test_no_code_found_is_422_listing_what_was_seen(client, auth, courier):
    gray, _ = make_label(s10="EE123456784VN")  # wrong check digit: a misread
    r = post_photo(client, auth(courier), encode(gray, "PNG"), fields())
    assert r.status_code == 422 and r.json["type"] == "/problems/no-item-code"
    texts = {c["text"] for c in r.json["codes"]}
    assert "EE123456784VN" in texts
    assert any("check digit" in m["reason"] for m in r.json["misreads"])
    blank = encode(make_label()[0][600:, :], "PNG")
    r = post_photo(client, auth(courier), blank, fields())
    assert r.status_code == 422 and r.json["codes"] == []
    assert db.session.query(Scan).count() == 0


def test_unknown_item_is_404_naming_the_code(client, auth, courier):
    r = post_photo(client, auth(courier), label_photo("EE876543216CA"), fields())
    assert r.status_code == 404 and r.json["code"] == "EE876543216CA"
    assert "EE876543216CA" in r.json["detail"]


def test_someone_elses_item_is_404_too(client, auth, office, courier, make_item, make_user):
    item = make_item(office, courier=make_user(Role.COURIER, office), events=("EMG",))
    r = post_photo(client, auth(courier), label_photo(item.identifier), fields())
    assert r.status_code == 404


@pytest.mark.parametrize(("device_time", "flags", "day"), [
    # a phone reset to 2000: the server's receive time (08:00 on the 20th) decides
    ("2000-01-01T09:00:00+07:00", ["implausible_device_time"], "2026-11-20"),
    # a clock 16 h ahead: the server's day, not the 21st
    ("2026-11-21T00:30:00+07:00", ["implausible_device_time"], "2026-11-20"),
    # a delivery scanned offline a few days ago and sent now: the device time decides
    ("2026-11-17T16:00:00+07:00", [], "2026-11-17"),
])
def test_cod_cash_from_a_delivered_scan_is_booked_by_the_time_flags(
        client, auth, office, courier, make_item, full_proof, clock, device_time, flags, day):
    # out for delivery before the delivery of the 17th (one after it would be late and
    # kept unapplied, its cash not booked); scanned and sent on the 20th at 08:00
    clock.advance(days=-4)
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000)
    clock.advance(days=4)
    data = fields("delivered", codes=[{"text": item.identifier}], device_time=device_time,
                  location={"lat": 12.238, "lon": 109.196, "accuracy_m": 6},  # at the door
                  proof=full_proof(item))
    r = client.post("/api/v1/scans", json=data, headers=auth(courier))
    assert r.status_code == 201, r.json
    assert (r.json["event"]["flags"] or []) == flags
    entry = db.session.query(CashEntry).filter_by(item_id=item.id).one()
    assert entry.service_date.isoformat() == day


def test_illegal_transition_is_409(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    r = client.post("/api/v1/scans", json=fields("delivered", codes=[{"text": item.identifier}]),
                    headers=auth(courier))
    assert r.status_code == 409 and r.json["current_status"] == "at_delivery_office"


def test_failed_attempt_scan_needs_reason(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = client.post("/api/v1/scans", json=fields("failed_attempt",
                                                 codes=[{"text": item.identifier}]),
                    headers=auth(courier))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/reason"
    r = client.post("/api/v1/scans", json=fields("failed_attempt", reason="refused",
                                                 action_taken="return_to_sender",
                                                 codes=[{"text": item.identifier}]),
                    headers=auth(courier))
    assert r.status_code == 201 and r.json["event"]["reason"] == "refused"


def test_photo_size_limit_is_413(client, auth, courier, app):
    app.config["PHOTO_MAX_BYTES"] = 50_000
    big = encode(make_label()[0], "PNG") + b"\x00" * 60_000
    r = post_photo(client, auth(courier), big, fields())
    assert r.status_code == 413 and r.json["type"] == "/problems/photo-too-large"
    # a byte over the limit reads as over it (was "48 KB; the limit is 48 KB")
    app.config["PHOTO_MAX_BYTES"] = 48 * 1024
    r = post_photo(client, auth(courier), big[:48 * 1024 + 1], fields())
    assert r.status_code == 413 and "49 KB; the limit is 48 KB" in r.json["detail"]


@pytest.mark.parametrize(("photo", "status", "slug"), [
    (b"hello, not an image", 422, "unreadable-image"),
    (b"GIF89a" + b"\x00" * 100, 415, "unsupported-image-format"),
    (png_bomb(), 413, "image-too-large"),
    (progressive_jpeg_header(7000, 7100, "CMYK", 0), 413, "image-too-large"),  # 0.5 GB
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50, 422, "unreadable-image"),  # truncated JPEG
])
def test_bad_photos_are_clear_errors(client, auth, courier, photo, status, slug):
    r = post_photo(client, auth(courier), photo, fields())
    assert r.status_code == status, r.json
    assert r.json["type"] == f"/problems/{slug}"


@pytest.mark.parametrize(("photo", "slug"), [
    (b"\xff\xd8\xff\xe0" + b"\x00" * 50, "unreadable-image"),  # truncated JPEG
    (b"\x00\x00\x00\x18ftypheic" + b"\x00" * 100, "unsupported-image-format"),  # HEIC
    (png_bomb(), "image-too-large"),
])
def test_an_unreadable_photo_sent_with_the_phone_s_codes_keeps_the_scan(
        client, auth, office, courier, make_item, photo, slug):
    """The phone decoded the label and sent its photo too, which the server cannot read
    (the camera app truncated it or wrote a HEIC): the whole scan was refused, the
    courier's taking the parcel out lost with it. It is recorded from the phone's codes,
    saying why the photo is not kept; a replay answers the same."""
    item = make_item(office, courier=courier, events=("EMG",))
    data = fields(codes=[{"text": item.identifier, "symbology": "CODE_128"}])
    r = post_photo(client, auth(courier), photo, data)
    assert r.status_code == 201, r.json
    assert r.json["item"]["status"] == "out_for_delivery"
    assert r.json["identified_code"] == item.identifier and r.json["photo_url"] is None
    assert r.json["photo_error"]["type"] == slug and r.json["photo_error"]["detail"]
    assert [c["source"] for c in r.json["codes"]] == ["phone"]
    again = post_photo(client, auth(courier), photo, data)
    assert again.status_code == 200 and again.json["photo_error"] == r.json["photo_error"]
    # a photo read well says nothing
    other = make_item(office, courier=courier, events=("EMG",))
    r = post_photo(client, auth(courier), label_photo(other.identifier),
                   fields(codes=[{"text": other.identifier}]))
    assert r.status_code == 201 and r.json["photo_error"] is None and r.json["photo_url"]


@pytest.mark.parametrize("size", [(65_536, 1), (1, 100_000), (70_000, 700)])
def test_a_photo_wider_than_zxing_takes_is_no_code_not_a_500(client, auth, courier, size):
    # a well-formed PNG of under 50 MP with a side above 65535 px: zxing-cpp raises a
    # ValueError on it (in the full-resolution retry), which must not become a 500
    photo = encode(np.full(size[::-1], 255, np.uint8), "PNG")
    r = post_photo(client, auth(courier), photo, fields())
    assert r.status_code == 422, r.json
    assert r.json["type"] == "/problems/no-item-code"


@pytest.mark.parametrize("data", [
    {"action": "teleported"},
    {"device_time": "2026-11-20T08:05:00"},
    {"codes": []},
    {"codes": [{"text": ""}]},
    {"codes": [{"text": "x"}] * 21},
    {"codes": "EE123456785VN"},
    {"sent_at": "noon"},
    {"sent_at": "0001-01-01T00:00:00+00:00"},  # outside 2000-2099, as sync refuses it
])
def test_bad_scan_fields_are_422(client, auth, courier, data):
    body = fields(codes=[{"text": "EE123456785VN"}])
    body.update(data)
    r = client.post("/api/v1/scans", json=body, headers=auth(courier))
    assert r.status_code == 422, r.json


@pytest.mark.parametrize("data", ["{nope", '{"codes": ["\\ud800"]}', "[" * 50_000])
def test_bad_multipart_data_field(client, auth, courier, data):
    r = client.post("/api/v1/scans", data={"photo": (io.BytesIO(b"x"), "a.jpg"), "data": data},
                    headers=auth(courier), content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/data"


def test_fields_sent_two_ways_or_twice_are_422_not_some_dropped(client, auth, office,
                                                                 courier, make_item):
    # a data field and form fields: the data field won and the form's were dropped; a form
    # field sent twice: the first won
    item = make_item(office, courier=courier, events=("EMG",))
    data = fields(codes=[{"text": item.identifier}])
    form = {"data": json.dumps(data), "action": "delivered",
            "photo": (io.BytesIO(b""), "")}
    r = client.post("/api/v1/scans", data=form, headers=auth(courier),
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["errors"] == [
        {"pointer": "/action", "detail": "Also in 'data'? Send the fields one way."}], r.json
    from werkzeug.datastructures import MultiDict

    form = MultiDict([*((k, json.dumps(v) if isinstance(v, dict | list) else v)
                        for k, v in data.items()), ("action", "delivered")])
    r = client.post("/api/v1/scans", data=form, headers=auth(courier),
                    content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["errors"] == [
        {"pointer": "/action", "detail": "Sent more than once."}], r.json
    assert client.get(f"/api/v1/items/{item.identifier}", headers=auth(courier)
                      ).json["status"] == "at_delivery_office"


def test_two_photos_in_one_scan_are_422_not_one_dropped(client, auth, courier):
    png = encode(make_label()[0], "PNG")
    r = client.post("/api/v1/scans", headers=auth(courier), content_type="multipart/form-data",
                    data={"photo": [(io.BytesIO(png), "a.png"), (io.BytesIO(png), "b.png")],
                          "data": json.dumps(fields())})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/photo"


def test_scan_and_photo_visibility(client, auth, office, courier, make_item, make_user,
                                   make_office):
    item = make_item(office, courier=courier, events=("EMG",))
    scan = post_photo(client, auth(courier), label_photo(item.identifier), fields()).json
    url = f"/api/v1/scans/{scan['scan_id']}"
    other_courier = make_user(Role.COURIER, office)
    other_dispatcher = make_user(Role.DISPATCHER, make_office())
    admin = make_user(Role.ADMIN)
    assert client.get(url, headers=auth(courier)).status_code == 200
    photo = client.get(url + "/photo", headers=auth(courier))
    assert photo.status_code == 200
    photo.close()
    assert client.get(url, headers=auth(admin)).status_code == 200
    assert client.get(url).status_code == 401
    for who in (other_courier, other_dispatcher):
        assert client.get(url, headers=auth(who)).status_code == 404
        assert client.get(url + "/photo", headers=auth(who)).status_code == 404


def test_a_scan_uploaded_late_is_kept_and_flagged(client, auth, office, courier, make_item,
                                                  clock, full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(hours=3)
    h = auth(courier)
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EMI", "client_event_id": next(ids), "device_time": clock().isoformat(),
        "location": {"lat": 12.238, "lon": 109.196}, "proof": full_proof(item)})
    assert r.status_code == 201
    # the photo of an earlier failed attempt arrives after the delivery
    early = (clock() - timedelta(hours=1)).isoformat()
    r = post_photo(client, h, label_photo(item.identifier),
                   fields("failed_attempt", reason="refused", action_taken="return_to_sender",
                          device_time=early))
    assert r.status_code == 201, r.json
    assert r.json["event"]["applied"] is False
    assert "late_conflict" in r.json["event"]["flags"]  # (and far from the door: test GPS)
    assert r.json["item"]["status"] == "delivered"


def test_a_late_scan_that_is_still_legal_does_not_move_the_status_back(
        client, auth, office, courier, make_item, make_user, clock, full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))  # out at 08:00
    disp = auth(make_user(Role.DISPATCHER, office))
    for code, hours in (("EDF", 2), ("EDG", 1)):  # held at 10:00, out again at 11:00
        clock.advance(hours=hours)  # (as they happen: a time hours ahead is implausible)
        r = client.post(f"/api/v1/items/{item.identifier}/events", headers=disp, json={
            "code": code, "client_event_id": next(ids), "device_time": clock().isoformat()})
        assert r.status_code == 201, r.json
    clock.advance(hours=2)
    h = auth(courier)
    # the photo of the 08:30 failed attempt is uploaded at 13:00
    r = post_photo(client, h, label_photo(item.identifier),
                   fields("failed_attempt", reason="refused", action_taken="notice_left",
                          device_time="2026-11-20T08:30:00+07:00"))
    assert r.status_code == 201, r.json
    assert r.json["event"]["applied"] is False
    assert "late_event" in r.json["event"]["flags"]  # (and far from the door: test GPS)
    assert "late_conflict" not in r.json["event"]["flags"]
    assert r.json["item"]["status"] == "out_for_delivery"
    # so the real delivery at 12:00 still fits
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EMI", "client_event_id": next(ids),
        "device_time": "2026-11-20T12:00:00+07:00",
        "location": {"lat": 12.238, "lon": 109.196}, "proof": full_proof(item)})
    assert r.status_code == 201, r.json


@pytest.mark.parametrize(("sent_at", "applied"), [
    # 10:59 on a phone 3 minutes behind was 11:02: after the office sent the item out
    # again at 11:00, so the attempt is applied (too little skew to flag the clock)
    ("2026-11-20T11:02:00+07:00", True),
    # without sent_at nothing corrects 10:59: before 11:00, kept as a late event
    (None, False),
])
def test_a_scans_sent_at_corrects_its_device_time_for_the_late_test(
        client, auth, office, courier, make_item, make_user, clock, sent_at, applied):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))  # out at 08:00
    disp = auth(make_user(Role.DISPATCHER, office))
    for code, hours in (("EDF", 2), ("EDG", 1)):  # held at 10:00, out again at 11:00
        clock.advance(hours=hours)  # (as they happen: a time hours ahead is implausible)
        r = client.post(f"/api/v1/items/{item.identifier}/events", headers=disp, json={
            "code": code, "client_event_id": next(ids), "device_time": clock().isoformat()})
        assert r.status_code == 201, r.json
    clock.advance(minutes=5)  # 11:05
    extra = {"sent_at": sent_at} if sent_at else {}
    r = post_photo(client, auth(courier), label_photo(item.identifier),
                   fields("failed_attempt", reason="refused", action_taken="notice_left",
                          device_time="2026-11-20T10:59:00+07:00", **extra),
                   as_json_field=False)  # (sent_at as a form field)
    assert r.status_code == 201, r.json
    ev = r.json["event"]
    assert ev["applied"] is applied
    assert ev["clock_skew_s"] == (-180 if sent_at else None)
    assert "device_clock_off" not in (ev["flags"] or [])
    assert ("late_event" in (ev["flags"] or [])) is not applied
    assert r.json["item"]["status"] == ("delivery_failed" if applied else "out_for_delivery")


@pytest.mark.parametrize(("sent_at", "flags"), [
    # a phone 16 h 40 min ahead, which says so (sent at 08:00 by the server's clock): its
    # delivery at 00:30 on the 21st was 07:50 on the 20th, plausible once corrected;
    # only the clock is flagged
    ("2026-11-21T00:40:00+07:00", ["device_clock_off"]),
    # without sent_at the time cannot be right; the server's day books the cash
    (None, ["implausible_device_time"]),
])
def test_a_scans_clock_skew_flags_it_as_sync_does(client, auth, office, courier, make_item,
                                                  full_proof, sent_at, flags):
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000)
    data = fields("delivered", codes=[{"text": item.identifier}],
                  device_time="2026-11-21T00:30:00+07:00",
                  location={"lat": 12.238, "lon": 109.196, "accuracy_m": 6},
                  proof=full_proof(item), **({"sent_at": sent_at} if sent_at else {}))
    r = client.post("/api/v1/scans", json=data, headers=auth(courier))
    assert r.status_code == 201, r.json
    assert r.json["event"]["flags"] == flags
    entry = db.session.query(CashEntry).filter_by(item_id=item.id).one()
    assert entry.service_date.isoformat() == "2026-11-20"


def test_the_same_scan_sent_twice_at_once_is_one_scan(app, auth, office, courier, make_item,
                                                      monkeypatch):
    from api.scans import service

    item = make_item(office, courier=courier, events=("EMG",))
    # both have looked for an earlier scan (none) before either records the event
    monkeypatch.setattr(service.items, "record_event",
                        when_both_arrive(service.items.record_event))
    h = auth(courier)
    body = fields(codes=[{"text": item.identifier}])
    item_id = item.id
    answers = at_once(app, *(lambda c: c.post("/api/v1/scans", json=body, headers=h)
                             for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 201], [a.json for a in answers]
    assert answers[0].json["scan_id"] == answers[1].json["scan_id"]
    db.session.expire_all()
    assert db.session.query(Scan).count() == 1
    assert db.session.query(TrackingEvent).filter_by(item_id=item_id).count() == 3
