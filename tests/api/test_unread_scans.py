"""Scans to resolve: a label photo with no item number on it is kept for the courier's
office (api/scans/unread.py), where it was refused and dropped."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from models import Role, Scan, TrackingEvent, db
from tests.api.test_scans import fields, label_photo, post_photo
from tests.scanning._images import encode, make_label


@pytest.fixture
def app(app, tmp_path):
    app.config["PHOTO_DIR"] = str(tmp_path / "evidence")
    return app


def blank_photo() -> bytes:
    """The lower part of a test label: text and lines, no code."""
    return encode(make_label()[0][600:, :], "PNG")


def plain_photo(shade: int = 200) -> bytes:
    """A plain grey picture (a photo of the ground, the sky)."""
    return encode(np.full((480, 640), shade, dtype=np.uint8), "JPEG")


def keep(client, auth, courier, photo=None, **kw):
    r = post_photo(client, auth(courier), photo or blank_photo(), data := fields(**kw))
    assert r.status_code == 422 and r.json["type"] == "/problems/no-item-code", r.json
    assert r.json["photo_kept"] is True, r.json
    return r.json["unread_scan_id"], data


def kept_rows():
    from models import UnreadScan  # (not at import: each test fails on its own before)

    return db.session.query(UnreadScan).all()


def listed(client, auth, user, query=""):
    r = client.get(f"/api/v1/unread-scans{query}", headers=auth(user))
    assert r.status_code == 200, r.json
    return r.json


def test_a_photo_without_a_code_is_kept_and_listed_for_the_office(
        client, auth, office, courier, dispatcher):
    photo = blank_photo()
    data = fields("delivered", sent_at="2026-11-20T08:06:00+07:00", note="cổng xanh",
                  proof={"received_by": "Chị Lan", "delivery_code": "123456"})
    r = post_photo(client, auth(courier), photo, data)
    # still a refusal for the phone (type the number or retake), which says it was kept
    assert r.status_code == 422 and r.json["type"] == "/problems/no-item-code"
    assert r.json["photo_kept"] is True and r.json["unread_scan_state"] == "open"
    kept_id = r.json["unread_scan_id"]
    assert "kept" in r.json["detail"]
    page = listed(client, auth, dispatcher)
    assert page["total"] == 1 and len(page["items"]) == 1
    row = page["items"][0]
    assert row["id"] == kept_id and row["state"] == "open"
    assert row["courier"]["id"] == courier.id and row["action"] == "delivered"
    assert row["device_time"] == "2026-11-20T01:05:00+00:00"
    assert row["server_time"] == "2026-11-20T01:00:00+00:00"
    assert row["location"] == {"lat": 12.2452, "lon": 109.1941, "accuracy_m": 6}
    assert row["fields"]["note"] == "cổng xanh"
    assert row["fields"]["sent_at"].startswith("2026-11-20T08:06:00")
    # a delivery code is never kept in clear
    assert row["fields"]["proof"]["received_by"] == "Chị Lan"
    assert "delivery_code" not in row["fields"]["proof"]
    assert "123456" not in json.dumps(row)
    # the photo, as evidence files are stored (content-addressed)
    got = client.get(row["photo_url"], headers=auth(dispatcher))
    assert got.status_code == 200 and got.data == photo and got.mimetype == "image/png"
    # never sniffed into anything else by a browser
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in got.headers["Cache-Control"]
    got.close()
    [kept] = kept_rows()
    assert hashlib.sha256(photo).hexdigest() in kept.photo_key
    # the courier sees their own
    r = client.get(f"/api/v1/unread-scans/{kept_id}", headers=auth(courier))
    assert r.status_code == 200 and r.json["state"] == "open"
    # a plain picture too; a file that is no image is not kept (nothing to look at)
    keep(client, auth, courier, plain_photo())
    r = post_photo(client, auth(courier), b"hello, not an image", fields())
    assert r.status_code == 422 and r.json["type"] == "/problems/unreadable-image"
    assert "photo_kept" not in r.json
    assert listed(client, auth, dispatcher)["total"] == 2
    assert db.session.query(Scan).count() == 0


def test_a_retry_is_one_record_and_one_that_decodes_resolves_it(
        client, auth, office, courier, dispatcher, make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    kept_id, data = keep(client, auth, courier)
    r = post_photo(client, auth(courier), plain_photo(), data)  # retaken, still nothing
    assert r.status_code == 422 and r.json["unread_scan_id"] == kept_id
    assert listed(client, auth, dispatcher)["total"] == 1
    row = client.get(f"/api/v1/unread-scans/{kept_id}", headers=auth(dispatcher)).json
    assert row["attempts"] == 2 and row["last_attempt_at"] == row["server_time"]
    # the same id for another scan is refused, as for any scan
    r = post_photo(client, auth(courier), blank_photo(),
                   {**data, "device_time": "2026-11-20T09:00:00+07:00"})
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
    # retaken once more, readable this time: the scan is recorded and the record settled
    r = post_photo(client, auth(courier), label_photo(item.identifier), data)
    assert r.status_code == 201, r.json
    assert r.json["item"]["status"] == "out_for_delivery"
    assert listed(client, auth, dispatcher)["total"] == 0
    row = client.get(f"/api/v1/unread-scans/{kept_id}", headers=auth(dispatcher)).json
    assert row["state"] == "resolved" and row["scan_id"] == r.json["scan_id"]
    assert row["identifier"] == item.identifier and row["resolved_by"] is None


def test_the_number_typed_with_the_same_id_resolves_it_and_keeps_the_photo(
        client, auth, office, courier, dispatcher, make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    photo = blank_photo()
    kept_id, data = keep(client, auth, courier, photo)
    r = client.post("/api/v1/scans", json={**data, "codes": [{"text": item.identifier}]},
                    headers=auth(courier))
    assert r.status_code == 201, r.json
    got = client.get(r.json["photo_url"], headers=auth(dispatcher))
    assert got.data == photo  # the kept photo is the scan's evidence
    got.close()
    row = client.get(f"/api/v1/unread-scans/{kept_id}", headers=auth(dispatcher)).json
    assert row["state"] == "resolved" and row["scan_id"] == r.json["scan_id"]


def test_resolving_records_the_courier_s_scan_at_their_device_time(
        client, auth, clock, office, courier, dispatcher, make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    photo = blank_photo()
    kept_id, data = keep(client, auth, courier, photo)
    clock.advance(hours=3)  # the office looks at it later
    r = client.post(f"/api/v1/unread-scans/{kept_id}/resolve",
                    json={"identifier": item.identifier.lower()}, headers=auth(dispatcher))
    assert r.status_code == 201, r.json
    scan, row = r.json["scan"], r.json["unread_scan"]
    assert row["state"] == "resolved" and row["resolved_by"]["id"] == dispatcher.id
    assert row["scan_id"] == scan["scan_id"] and row["identifier"] == item.identifier
    assert scan["item"]["status"] == "out_for_delivery"
    event = scan["event"]
    assert event["code"] == "EDG" and event["client_event_id"] == data["client_event_id"]
    assert event["actor"]["id"] == courier.id  # the courier's scan, not the dispatcher's
    assert event["device_time"] == "2026-11-20T01:05:00+00:00"
    assert event["server_time"] == "2026-11-20T04:00:00+00:00"
    stored = db.session.get(TrackingEvent, event["id"])
    assert (stored.lat, stored.lon) == (12.2452, 109.1941)
    assert scan["codes"][0]["source"] == "office"
    got = client.get(scan["photo_url"], headers=auth(courier))
    assert got.data == photo
    got.close()
    # settled once; the phone sending it again gets the scan
    r = client.post(f"/api/v1/unread-scans/{kept_id}/resolve",
                    json={"identifier": item.identifier}, headers=auth(dispatcher))
    assert r.status_code == 409 and r.json["type"] == "/problems/unread-scan-settled"
    r = post_photo(client, auth(courier), photo, data)
    assert r.status_code == 200 and r.json["replayed"] is True
    assert db.session.query(TrackingEvent).filter_by(code="EDG").count() == 1


def test_a_refused_resolution_is_the_answer_and_the_scan_stays_open(
        client, auth, office, courier, dispatcher, make_item, make_user):
    someone_else = make_user(Role.COURIER, office)
    theirs = make_item(office, courier=someone_else, events=("EMG",))
    delivered = make_item(office, courier=courier, events=("EMG", "EDG", "EMI"))
    kept_id, _ = keep(client, auth, courier)
    url = f"/api/v1/unread-scans/{kept_id}/resolve"
    r = client.post(url, json={"identifier": theirs.identifier}, headers=auth(dispatcher))
    assert r.status_code == 404 and r.json["type"] == "/problems/item-not-found"
    r = client.post(url, json={"identifier": delivered.identifier}, headers=auth(dispatcher))
    assert r.status_code == 409, r.json
    r = client.post(url, json={"identifier": "not a number"}, headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["type"] == "/problems/no-item-code"
    r = client.post(url, json={}, headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/identifier"
    assert listed(client, auth, dispatcher)["items"][0]["state"] == "open"
    assert db.session.query(Scan).count() == 0


def test_dismissing_keeps_the_reason(client, auth, office, courier, dispatcher, make_item):
    kept_id, _ = keep(client, auth, courier, plain_photo())
    url = f"/api/v1/unread-scans/{kept_id}/dismiss"
    r = client.post(url, json={"reason": "  "}, headers=auth(dispatcher))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/reason"
    r = client.post(url, json={"reason": "Ảnh chụp mặt đường"}, headers=auth(dispatcher))
    assert r.status_code == 200, r.json
    assert r.json["state"] == "dismissed" and r.json["dismiss_reason"] == "Ảnh chụp mặt đường"
    assert r.json["resolved_by"]["id"] == dispatcher.id
    assert listed(client, auth, dispatcher)["total"] == 0
    assert listed(client, auth, dispatcher, "?state=dismissed")["items"][0]["id"] == kept_id
    item = make_item(office, courier=courier, events=("EMG",))
    r = client.post(f"/api/v1/unread-scans/{kept_id}/resolve",
                    json={"identifier": item.identifier}, headers=auth(dispatcher))
    assert r.status_code == 409
    r = client.post(url, json={"reason": "again"}, headers=auth(dispatcher))
    assert r.status_code == 409


def test_a_dismissed_one_the_courier_records_after_all_names_the_scan(
        client, auth, office, courier, dispatcher, make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    kept_id, data = keep(client, auth, courier, plain_photo())
    client.post(f"/api/v1/unread-scans/{kept_id}/dismiss", json={"reason": "blurred"},
                headers=auth(dispatcher))
    # the courier types the number after all, under the same id
    r = client.post("/api/v1/scans", json={**data, "codes": [{"text": item.identifier}]},
                    headers=auth(courier))
    assert r.status_code == 201, r.json
    row = client.get(f"/api/v1/unread-scans/{kept_id}", headers=auth(dispatcher)).json
    assert row["state"] == "resolved" and row["scan_id"] == r.json["scan_id"]
    assert row["dismiss_reason"] == "blurred"


def test_only_the_courier_s_office_sees_and_settles_it(
        client, auth, office, courier, dispatcher, make_item, make_user, make_office):
    item = make_item(office, courier=courier, events=("EMG",))
    kept_id, _ = keep(client, auth, courier)
    other_office = make_office()
    stranger = make_user(Role.DISPATCHER, other_office)
    assert listed(client, auth, stranger)["total"] == 0
    r = client.get(f"/api/v1/unread-scans?office_id={office.id}", headers=auth(stranger))
    assert r.status_code == 404
    for path in ("", "/photo"):
        r = client.get(f"/api/v1/unread-scans/{kept_id}{path}", headers=auth(stranger))
        assert r.status_code == 404
    r = client.post(f"/api/v1/unread-scans/{kept_id}/resolve",
                    json={"identifier": item.identifier}, headers=auth(stranger))
    assert r.status_code == 404
    r = client.post(f"/api/v1/unread-scans/{kept_id}/dismiss", json={"reason": "x"},
                    headers=auth(stranger))
    assert r.status_code == 404
    # couriers do not settle scans, nor list the office's; another courier sees nothing
    assert client.get("/api/v1/unread-scans", headers=auth(courier)).status_code == 403
    r = client.post(f"/api/v1/unread-scans/{kept_id}/resolve",
                    json={"identifier": item.identifier}, headers=auth(courier))
    assert r.status_code == 403
    colleague = make_user(Role.COURIER, office)
    assert client.get(f"/api/v1/unread-scans/{kept_id}",
                      headers=auth(colleague)).status_code == 404
    # an admin names the office
    admin = make_user(Role.ADMIN)
    assert client.get("/api/v1/unread-scans", headers=auth(admin)).status_code == 422
    assert listed(client, auth, admin, f"?office_id={office.id}")["total"] == 1
    assert listed(client, auth, dispatcher)["items"][0]["state"] == "open"


def test_a_courier_s_kept_photos_are_capped_per_day(app, client, auth, clock, office, courier,
                                                    dispatcher):
    app.config["UNREAD_SCAN_DAILY_CAP"] = 2
    first, data = keep(client, auth, courier)
    keep(client, auth, courier, plain_photo(150))
    r = post_photo(client, auth(courier), plain_photo(100), fields())
    assert r.status_code == 422 and r.json["type"] == "/problems/no-item-code"
    assert r.json["photo_kept"] is False and "unread_scan_id" not in r.json
    # a retry of one kept is still that record
    r = post_photo(client, auth(courier), blank_photo(), data)
    assert r.json["photo_kept"] is True and r.json["unread_scan_id"] == first
    assert listed(client, auth, dispatcher)["total"] == 2
    photos = [p for p in Path(app.config["PHOTO_DIR"]).rglob("*") if p.is_file()]
    assert len(photos) == 2
    # the next (Viet Nam) day starts again
    clock.advance(hours=23)  # 07:00 the next day in Viet Nam
    keep(client, auth, courier, plain_photo(100))
    assert listed(client, auth, dispatcher)["total"] == 3


def test_purge_drops_old_unsettled_ones_and_their_photos(app, client, auth, clock, office,
                                                         courier, dispatcher, make_item):
    item = make_item(office, courier=courier, events=("EMG",))
    photo = blank_photo()
    open_id, _ = keep(client, auth, courier, plain_photo())
    dismissed_id, _ = keep(client, auth, courier, plain_photo(120))
    client.post(f"/api/v1/unread-scans/{dismissed_id}/dismiss", json={"reason": "nothing"},
                headers=auth(dispatcher))
    resolved_id, _ = keep(client, auth, courier, photo)
    r = client.post(f"/api/v1/unread-scans/{resolved_id}/resolve",
                    json={"identifier": item.identifier}, headers=auth(dispatcher))
    assert r.status_code == 201
    runner = app.test_cli_runner()
    assert "Deleted 0" in runner.invoke(args=["scans", "purge-unread"]).output
    clock.advance(days=31)
    out = runner.invoke(args=["scans", "purge-unread"]).output
    assert "Deleted 2 scans to resolve" in out and "and 2 photos" in out
    assert {k.id for k in kept_rows()} == {resolved_id}
    files = [p for p in Path(app.config["PHOTO_DIR"]).rglob("*") if p.is_file()]
    assert [f.read_bytes() for f in files] == [photo]  # the scan's evidence stays
    got = client.get(r.json["scan"]["photo_url"], headers=auth(dispatcher))
    assert got.status_code == 200
    got.close()
    assert client.get(f"/api/v1/unread-scans/{open_id}",
                      headers=auth(dispatcher)).status_code == 404


def test_the_console_lists_them_and_staff_resolve_or_dismiss_there(
        client, auth, office, courier, make_item, make_user):
    from tests.api.test_console import CSRF_RE, login

    item = make_item(office, courier=courier, events=("EMG",))
    first, _ = keep(client, auth, courier)
    second, _ = keep(client, auth, courier, plain_photo())
    make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")
    assert login(client).status_code == 302
    page = client.get("/console/unread-scans").text
    assert "Ảnh nhãn bưu tá gửi không đọc được số hiệu" in page  # Vietnamese by default
    assert f'id="unread-{first}"' in page and f'id="unread-{second}"' in page
    got = client.get(f"/console/unread-scans/{first}/photo")
    assert got.status_code == 200 and got.data == blank_photo()
    got.close()
    token = CSRF_RE.search(page).group(1)
    # a refusal is shown, in the page's language, and the scan stays
    r = client.post(f"/console/unread-scans/{first}/resolve",
                    data={"identifier": "EE123456785VN", "csrf_token": token})
    assert r.status_code == 302
    page = client.get("/console/unread-scans").text
    assert "Không tìm thấy bưu gửi mang số hiệu này." in page and f'id="unread-{first}"' in page
    r = client.post(f"/console/unread-scans/{first}/resolve",
                    data={"identifier": item.identifier, "csrf_token": token})
    assert r.status_code == 302
    r = client.post(f"/console/unread-scans/{second}/dismiss",
                    data={"reason": "Ảnh mặt đường", "csrf_token": token})
    assert r.status_code == 302
    page = client.get("/console/unread-scans").text
    assert f'id="unread-{first}"' not in page and f'id="unread-{second}"' not in page
    assert 'id="unread-empty"' in page
    detail = client.get(f"/api/v1/items/{item.identifier}",
                        headers=auth(make_user(Role.DISPATCHER, office))).json
    assert detail["status"] == "out_for_delivery"
    assert detail["events"][-1]["actor"]["id"] == courier.id


def test_a_photo_the_store_cannot_write_is_still_the_no_item_code_refusal(
        app, client, auth, tmp_path, office, courier, dispatcher):
    # a full disk (or a PHOTO_DIR the server may not write): keeping the photo is what
    # fails, not the scan; the phone is still told to type the number or retake it, where
    # it got a 503 "send it again later" and resent a photo that can never be read
    blocked = tmp_path / "not-a-directory"
    blocked.write_bytes(b"")
    app.config["PHOTO_DIR"] = str(blocked / "evidence")
    r = post_photo(client, auth(courier), blank_photo(), fields())
    assert r.status_code == 422 and r.json["type"] == "/problems/no-item-code", r.json
    assert r.json["photo_kept"] is False and "could not store" in r.json["detail"]
    assert kept_rows() == []
    assert listed(client, auth, dispatcher)["total"] == 0


def test_the_courier_recording_it_as_an_event_settles_it(
        app, client, auth, clock, office, courier, dispatcher, make_item):
    # the number typed on the phone and sent as an event (offline sync, or the events
    # API) under the scan's client_event_id: recorded once, and the scan to resolve no
    # longer waits on the office's list (staff trying to record it got a 409
    # idempotency-key-reused, and it stayed open)
    synced = make_item(office, courier=courier, events=("EMG",))
    kept_id, data = keep(client, auth, courier)
    entry = {"kind": "event", "identifier": synced.identifier, "code": "EDG",
             "client_event_id": data["client_event_id"], "device_time": data["device_time"],
             "location": data["location"]}
    r = client.post("/api/v1/sync", json={"events": [entry]}, headers=auth(courier))
    assert r.status_code == 200 and r.json["results"][0]["result"] == "accepted", r.json
    row = client.get(f"/api/v1/unread-scans/{kept_id}", headers=auth(dispatcher)).json
    assert row["state"] == "resolved" and row["identifier"] == synced.identifier
    assert row["scan_id"] is None and row["resolved_by"] is None
    assert listed(client, auth, dispatcher)["total"] == 0
    r = client.post(f"/api/v1/unread-scans/{kept_id}/resolve",
                    json={"identifier": synced.identifier}, headers=auth(dispatcher))
    assert r.status_code == 409 and r.json["type"] == "/problems/unread-scan-settled"
    assert db.session.query(TrackingEvent).filter_by(code="EDG").count() == 1
    # through the events API too
    posted = make_item(office, courier=courier, events=("EMG",))
    kept_id, data = keep(client, auth, courier, plain_photo())
    r = client.post(f"/api/v1/items/{posted.identifier}/events", headers=auth(courier), json={
        "code": "EDG", "client_event_id": data["client_event_id"],
        "device_time": data["device_time"], "location": data["location"]})
    assert r.status_code == 201, r.json
    row = client.get(f"/api/v1/unread-scans/{kept_id}", headers=auth(dispatcher)).json
    assert row["state"] == "resolved" and row["identifier"] == posted.identifier
    # another action under its id is not that scan: it stays for the office
    other = make_item(office, courier=courier, events=("EMG",))
    kept_id, data = keep(client, auth, courier, plain_photo(90))
    r = client.post("/api/v1/sync", json={"events": [{
        **entry, "identifier": other.identifier, "client_event_id": data["client_event_id"],
        "device_time": "2026-11-20T08:30:00+07:00"}]}, headers=auth(courier))
    assert r.json["results"][0]["result"] == "accepted", r.json
    assert client.get(f"/api/v1/unread-scans/{kept_id}",
                      headers=auth(dispatcher)).json["state"] == "open"
    # the purge keeps the resolved ones, as those a scan was recorded from
    clock.advance(days=31)
    out = app.test_cli_runner().invoke(args=["scans", "purge-unread"]).output
    assert "Deleted 1 scans to resolve" in out, out
    assert {k.state.value for k in kept_rows()} == {"resolved"}
