"""A failed attempt's door photo gets the checks a delivery's proof gets.

It cites only a photo its recorder uploaded (office staff: also a courier who held the
item), online, by scan and in a sync; a photo another visit used first (an attempt at
another address, or on another day, a delivery to another recipient) is recorded but
flagged ``proof_reused``, naming that use; the same door on the same day is one visit,
and a replay never meets itself.
"""

from __future__ import annotations

import itertools

import pytest

from models import Item, Role, TrackingEvent, db
from tests.api.test_console import login
from tests.api.test_proof_reuse import AN, BINH, DOOR, deliver, delivery, upload_file
from tests.conftest import at_once, when_both_arrive

ids = (f"attempt-{n:06d}" for n in itertools.count())
# An's sister at the same house: another recipient, the same door
AN_SISTER = {**AN, "name": "Nguyễn Thị Hoa", "phone": "0911111111"}


@pytest.fixture
def door(client, auth, courier):
    """A photo of the door, uploaded by the courier."""
    return upload_file(client, auth(courier), "photo", 6001)


def attempt(photo, time="2026-11-20T08:05:00+07:00", **kw):
    body = {"code": "EMH", "client_event_id": next(ids), "device_time": time,
            "location": DOOR, "reason": "recipient_absent", "action": "notice_left",
            "photo": photo}
    body.update(kw)
    return body


def out(make_item, office, courier, recipient):
    return make_item(office, courier=courier, events=("EMG", "EDG"), recipient=recipient)


def record(client, h, item, body, way="events"):
    """The attempt sent ``way`` (events, sync or scan): ``(status, flags, event id)``,
    the sync entry's 422 as its status."""
    if way == "events":
        r = client.post(f"/api/v1/items/{item.identifier}/events", json=body, headers=h)
        ev = r.json.get("event") or {}
        return r.status_code, ev.get("flags"), ev.get("id"), r.json
    if way == "scan":
        scan = {"action": "failed_attempt", "client_event_id": body["client_event_id"],
                "device_time": body["device_time"], "location": body["location"],
                "reason": body["reason"], "action_taken": body["action"],
                "photo": body["photo"], "codes": [{"text": item.identifier}]}
        r = client.post("/api/v1/scans", json=scan, headers=h)
        ev = r.json.get("event") or {}
        return r.status_code, ev.get("flags"), ev.get("id"), r.json
    r = client.post("/api/v1/sync", headers=h, json={
        "device_id": "android-1", "events": [{"kind": "event", "identifier": item.identifier,
                                              **body}]})
    assert r.status_code == 200, r.json
    res = r.json["results"][0]
    if res["result"] == "rejected":
        return res["problem"]["status"], None, None, res["problem"]
    return ({"accepted": 201, "duplicate": 200}[res["result"]], res["flags"] or None,
            res["event_id"], res)


def stored(event_id):
    return db.session.get(TrackingEvent, event_id)


# ---------------------------------------------------------------- whose photo

@pytest.mark.parametrize("way", ["events", "scan", "sync"])
def test_a_door_photo_another_courier_uploaded_is_refused_and_nothing_is_stored(
        client, auth, office, courier, make_user, make_item, door, way):
    other = make_user(Role.COURIER, office)
    item = out(make_item, office, other, AN)
    status, _, _, body = record(client, auth(other), item, attempt(door), way)
    assert status == 422 and body["type"] == "/problems/proof-invalid", body
    assert [e["pointer"] for e in body["errors"]] == ["/photo"]
    assert "uploaded by another user" in body["errors"][0]["detail"]
    item = db.session.get(Item, item.id)
    assert (item.status.value, item.failed_attempts) == ("out_for_delivery", 0)
    assert db.session.query(TrackingEvent).filter_by(item_id=item.id, code="EMH").count() == 0
    # their own photo is fine
    own = upload_file(client, auth(other), "photo", 6002)
    status, flags, _, body = record(client, auth(other), item, attempt(own), way)
    assert status == 201 and flags is None, body


def test_staff_recording_an_attempt_may_cite_the_photo_of_a_courier_who_held_the_item(
        client, auth, office, courier, dispatcher, make_user, make_item, door):
    item = out(make_item, office, courier, AN)
    stranger = make_user(Role.COURIER, office)
    foreign = upload_file(client, auth(stranger), "photo", 6003)
    status, _, _, body = record(client, auth(dispatcher), item, attempt(foreign))
    assert status == 422 and body["errors"][0]["pointer"] == "/photo", body
    status, _, _, body = record(client, auth(make_user(Role.ADMIN)), item, attempt(foreign))
    assert status == 422 and body["errors"][0]["pointer"] == "/photo", body
    # the courier's phone died after uploading the door photo: the office records it
    status, flags, event_id, body = record(client, auth(dispatcher), item, attempt(door))
    assert status == 201 and flags is None, body
    assert stored(event_id).actor_id == dispatcher.id


def test_a_photo_nobody_uploaded_is_still_refused(client, auth, office, courier, make_item):
    item = out(make_item, office, courier, AN)
    status, _, _, body = record(client, auth(courier), item, attempt("ab" * 32))
    assert status == 422 and body["errors"][0]["detail"].startswith("No uploaded photo"), body


# ---------------------------------------------------------------- one visit

def test_the_same_item_re_attempted_the_same_day_with_the_same_photo_is_not_flagged(
        client, auth, office, courier, make_item, door, clock):
    item = out(make_item, office, courier, AN)
    h = auth(courier)
    assert record(client, h, item, attempt(door))[:2] == (201, None)
    # the courier comes back in the afternoon, the recipient is still out; the phone
    # sends the morning's door photo again
    clock.advance(hours=7)
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EDG", "client_event_id": next(ids),
        "device_time": "2026-11-20T14:30:00+07:00"})
    assert r.status_code == 201, r.json
    status, flags, event_id, body = record(client, h, item,
                                           attempt(door, time="2026-11-20T14:50:00+07:00"))
    assert (status, flags) == (201, None), body
    assert stored(event_id).photo_reused_from is None


@pytest.mark.parametrize("way", ["events", "sync"])
def test_one_door_photo_for_two_parcels_at_the_same_address_is_not_flagged(
        client, auth, office, courier, make_item, door, way):
    # An's parcel and his sister's: nobody opened, one photo of the door
    first = out(make_item, office, courier, AN)
    second = out(make_item, office, courier, {**AN_SISTER, "address": "12, TRAN PHU"})
    h = auth(courier)
    assert record(client, h, first, attempt(door))[:2] == (201, None)
    status, flags, _, body = record(client, h, second,
                                    attempt(door, time="2026-11-20T08:06:00+07:00"), way)
    assert (status, flags) == (201, None), body


# ---------------------------------------------------------------- another visit

@pytest.mark.parametrize("way", ["events", "scan", "sync"])
def test_the_same_door_photo_at_another_address_is_recorded_and_flagged_naming_it(
        client, auth, office, courier, dispatcher, make_item, door, way):
    first = out(make_item, office, courier, AN)
    second = out(make_item, office, courier, BINH)
    h = auth(courier)
    status, flags, first_event, _ = record(client, h, first, attempt(door))
    assert (status, flags) == (201, None)
    status, flags, event_id, body = record(client, h, second,
                                           attempt(door, time="2026-11-20T08:09:00+07:00"),
                                           way)
    assert (status, flags) == (201, ["proof_reused"]), body
    assert stored(event_id).photo_reused_from == [
        {"pointer": "/photo", "cited_for": "attempt", "identifier": first.identifier,
         "event_id": first_event}]
    # recorded as any attempt: counted, the next attempt scheduled
    item = db.session.get(Item, second.id)
    assert (item.status.value, item.failed_attempts) == ("delivery_failed", 1)
    # where complaint staff look: the item's history and the complaint case
    hd = auth(dispatcher)
    emh = client.get(f"/api/v1/items/{second.identifier}", headers=hd).json["events"][-1]
    assert emh["flags"] == ["proof_reused"] and emh["photo"] == door
    assert emh["photo_reused_from"][0]["identifier"] == first.identifier
    r = client.post("/api/v1/complaints", headers=hd, json={
        "identifier": second.identifier, "category": "false_attempt",
        "description": "Tôi ở nhà cả ngày, không ai đến"})
    assert r.status_code == 201, r.json
    case = client.get(f"/api/v1/complaints/{r.json['id']}", headers=hd).json
    emh = [e for e in case["item"]["events"] if e["code"] == "EMH"][0]
    assert emh["flags"] == ["proof_reused"]
    assert emh["photo_reused_from"][0]["cited_for"] == "attempt"
    # the first attempt is as it was
    emh = client.get(f"/api/v1/items/{first.identifier}", headers=hd).json["events"][-1]
    assert emh["flags"] is None and emh["photo_reused_from"] is None


def test_yesterdays_door_photo_for_todays_attempt_on_the_same_parcel_is_flagged(
        client, auth, office, courier, make_item, door, clock):
    item = out(make_item, office, courier, AN)
    h = auth(courier)
    _, _, first_event, _ = record(client, h, item, attempt(door))
    clock.advance(days=1)
    h = auth(courier)  # a new shift, a new token
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EDG", "client_event_id": next(ids),
        "device_time": "2026-11-21T07:50:00+07:00"})
    assert r.status_code == 201, r.json
    status, flags, event_id, body = record(client, h, item,
                                           attempt(door, time="2026-11-21T07:55:00+07:00"))
    assert (status, flags) == (201, ["proof_reused"]), body
    assert stored(event_id).photo_reused_from == [
        {"pointer": "/photo", "cited_for": "attempt", "identifier": item.identifier,
         "event_id": first_event}]


def test_a_door_photo_that_proved_another_recipients_delivery_is_flagged_and_back(
        client, auth, office, courier, make_item, door):
    delivered = out(make_item, office, courier, BINH)
    failed = out(make_item, office, courier, AN)
    h = auth(courier)
    r = deliver(client, h, delivered, delivery({"photo": door}))
    assert r.status_code == 201 and r.json["event"]["flags"] is None, r.json
    status, flags, event_id, body = record(client, h, failed, attempt(door))
    assert (status, flags) == (201, ["proof_reused"]), body
    assert stored(event_id).photo_reused_from == [
        {"pointer": "/photo", "cited_for": "delivery", "identifier": delivered.identifier,
         "event_id": r.json["event"]["id"]}]
    # the other way: a delivery citing the door photo of a failed attempt on another
    # recipient's parcel (nobody opened there; the photo proves no hand-over)
    photo = upload_file(client, h, "photo", 6004)
    third = out(make_item, office, courier, BINH)
    _, _, attempt_id, _ = record(client, h, third, attempt(photo))
    fourth = out(make_item, office, courier, AN)
    r = deliver(client, h, fourth, delivery({"photo": photo}))
    assert r.status_code == 201, r.json
    assert r.json["event"]["flags"] == ["proof_reused"]
    assert r.json["event"]["proof"]["reused_from"] == [
        {"pointer": "/proof/photo", "cited_for": "attempt", "identifier": third.identifier,
         "event_id": attempt_id}]


def test_the_recipient_coming_back_while_the_courier_is_there_is_one_visit(
        client, auth, office, courier, make_item, door):
    item = out(make_item, office, courier, AN)
    h = auth(courier)
    assert record(client, h, item, attempt(door))[:2] == (201, None)
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EDG", "client_event_id": next(ids),
        "device_time": "2026-11-20T08:07:00+07:00"})
    assert r.status_code == 201
    r = deliver(client, h, item, delivery({"photo": door}, time="2026-11-20T08:08:00+07:00"))
    assert r.status_code == 201 and r.json["event"]["flags"] is None, r.json


# ---------------------------------------------------------------- replays

def test_the_same_attempt_sent_again_does_not_flag_itself(client, auth, office, courier,
                                                          make_item, door):
    item = out(make_item, office, courier, AN)
    h = auth(courier)
    body = attempt(door)
    status, flags, event_id, _ = record(client, h, item, body)
    assert (status, flags) == (201, None)
    assert record(client, h, item, body)[:3] == (200, None, event_id)
    assert record(client, h, item, body, "sync")[:3] == (200, None, event_id)
    # the same attempt once more under another key (the sync, then the photo scan a
    # minute off): kept unapplied as a late copy, one visit, not a reuse
    other = next(ids)
    status, flags, _, res = record(client, h, item,
                                   {**body, "client_event_id": other,
                                    "device_time": "2026-11-20T08:04:00+07:00"}, "scan")
    assert status == 201 and "proof_reused" not in (flags or []), res
    assert db.session.get(Item, item.id).failed_attempts == 1


def test_a_replay_after_another_address_used_the_photo_answers_as_first_recorded(
        client, auth, office, courier, make_item, door):
    first = out(make_item, office, courier, AN)
    second = out(make_item, office, courier, BINH)
    h = auth(courier)
    body = attempt(door)
    assert record(client, h, first, body)[:2] == (201, None)
    assert record(client, h, second, attempt(door))[:2] == (201, ["proof_reused"])
    for way in ("events", "sync"):
        assert record(client, h, first, body, way)[:2] == (200, None)


def test_a_batch_with_the_photo_twice_flags_the_later_address_only(
        client, auth, office, courier, make_item, door):
    # sent out of order: the batch applies them in device-time order
    first = out(make_item, office, courier, AN)
    second = out(make_item, office, courier, BINH)
    later = attempt(door, time="2026-11-20T08:06:00+07:00")
    earlier = attempt(door, time="2026-11-20T08:02:00+07:00")
    r = client.post("/api/v1/sync", headers=auth(courier), json={"events": [
        {"kind": "event", "identifier": second.identifier, **later},
        {"kind": "event", "identifier": first.identifier, **earlier}]})
    assert r.status_code == 200, r.json
    assert [(x["result"], x["flags"]) for x in r.json["results"]] == [
        ("accepted", ["proof_reused"]), ("accepted", [])]
    assert stored(r.json["results"][0]["event_id"]).photo_reused_from[0]["identifier"] == \
        first.identifier
    again = client.post("/api/v1/sync", headers=auth(courier), json={"events": [
        {"kind": "event", "identifier": second.identifier, **later},
        {"kind": "event", "identifier": first.identifier, **earlier}]})
    assert [(x["result"], x["flags"]) for x in again.json["results"]] == [
        ("duplicate", ["proof_reused"]), ("duplicate", [])]


# ---------------------------------------------------------------- at the same moment

def test_two_attempts_citing_one_photo_at_once_see_each_other(
        app, auth, office, courier, make_item, door, monkeypatch):
    import api.proof.reuse as reuse

    one = out(make_item, office, courier, AN)
    two = out(make_item, office, courier, BINH)
    monkeypatch.setattr(reuse, "reused_from", when_both_arrive(reuse.reused_from))
    h = auth(courier)
    one_number, one_body = one.identifier, attempt(door)
    two_number, two_body = two.identifier, attempt(door)
    answers = at_once(
        app, lambda c: c.post(f"/api/v1/items/{one_number}/events", json=one_body, headers=h),
        lambda c: c.post(f"/api/v1/items/{two_number}/events", json=two_body, headers=h))
    assert [a.status_code for a in answers] == [201, 201], [a.json for a in answers]
    assert sorted(str(a.json["event"]["flags"]) for a in answers) == [
        "None", "['proof_reused']"]


# ---------------------------------------------------------------- the console

def test_the_console_shows_the_door_photo_and_where_it_was_first_used(
        app, client, auth, office, courier, dispatcher, make_user, make_item, door):
    first = out(make_item, office, courier, AN)
    second = out(make_item, office, courier, BINH)
    h = auth(courier)
    record(client, h, first, attempt(door))
    record(client, h, second, attempt(door))
    # an admin (of no office) records an attempt with a photo of their own: the office's
    # dispatchers see it with the item as they see a delivery's proof
    admin = make_user(Role.ADMIN)
    third = out(make_item, office, courier, AN_SISTER)
    own = upload_file(client, auth(admin), "photo", 6005)
    assert record(client, auth(admin), third, attempt(own))[0] == 201
    with app.test_client() as browser:
        r = login(browser, username=dispatcher.username, password="pw")
        assert r.status_code == 302, r.text
        page = browser.get(f"/console/items?number={second.identifier}").text
        with browser.get(f"/console/evidence/{door}") as photo:
            assert photo.status_code == 200 and photo.mimetype == "image/png"
        with browser.get(f"/console/evidence/{own}") as photo:
            assert photo.status_code == 200 and photo.mimetype == "image/png"
    assert "Ảnh/chữ ký đã dùng cho lần phát hoặc chi trả khác" in page
    assert f"/console/evidence/{door}" in page and "Ảnh tại địa chỉ" in page
    assert "đã dùng trước cho lần phát không thành công bưu gửi" in page
    assert f'?number={first.identifier}">{first.identifier}</a>' in page
