"""A proof file belongs to one hand-over and to the courier who uploaded it.

A delivery cites only files its deliverer uploaded (office staff: also those of a
courier who held the item); a file another recipient's delivery cited first is
recorded but flagged ``proof_reused``, naming that delivery; one recipient's parcels
handed over together may share their photo and signature; a replay never meets itself.
"""

from __future__ import annotations

import io
import itertools

import pytest

from api.proof.reuse import same_recipient
from models import DeliveryProof, Item, Role, TrackingEvent, db
from tests.api.test_console import login
from tests.conftest import at_once, tiny_png, when_both_arrive

ids = (f"reuse-{n:06d}" for n in itertools.count())
DOOR = {"lat": 12.238, "lon": 109.196, "accuracy_m": 8}
AN = {"name": "Nguyễn Văn An", "phone": "0912345678", "address": "12 Trần Phú",
      "ward": "Lộc Thọ", "city": "Nha Trang", "province": "Khánh Hòa",
      "lat": 12.238, "lon": 109.196}
BINH = {**AN, "name": "Trần Thị Bình", "phone": "0987654321", "address": "40 Yersin",
        "ward": "Phương Sài"}


def upload_file(client, h, kind, seed):
    r = client.post("/api/v1/evidence", headers=h, content_type="multipart/form-data",
                    data={"file": (io.BytesIO(tiny_png(seed)), "x.png"), "kind": kind})
    assert r.status_code in (200, 201), r.json
    return r.json["sha256"]


@pytest.fixture
def files(client, auth, courier):
    """A doorstep photo and a signature, uploaded by the courier."""
    h = auth(courier)
    return {"photo": upload_file(client, h, "photo", 5001),
            "signature": upload_file(client, h, "signature", 5002)}


def delivery(files, time="2026-11-20T08:05:00+07:00", **kw):
    body = {"code": "EMI", "client_event_id": next(ids), "device_time": time,
            "location": DOOR, "proof": {"received_by": "An", **files}}
    body.update(kw)
    return body


def deliver(client, h, item, body):
    number = item if isinstance(item, str) else item.identifier
    return client.post(f"/api/v1/items/{number}/events", json=body, headers=h)


def sync(client, h, item, body):
    r = client.post("/api/v1/sync", headers=h, json={
        "device_id": "android-1", "events": [{"kind": "event", "identifier": item.identifier,
                                              **body}]})
    assert r.status_code == 200, r.json
    return r.json["results"][0]


def out_for_delivery(make_item, office, courier, recipient, **kw):
    return make_item(office, courier=courier, events=("EMG", "EDG"), recipient=recipient,
                     **kw)


# ---------------------------------------------------------------- whose file

def test_a_file_another_user_uploaded_is_refused_and_nothing_is_stored(
        client, auth, office, courier, make_user, make_item, files):
    other = make_user(Role.COURIER, office)
    item = out_for_delivery(make_item, office, other, AN)
    own = upload_file(client, auth(other), "signature", 5003)
    for proof, pointer in (({"photo": files["photo"], "signature": own}, "/proof/photo"),
                           ({"signature": files["signature"]}, "/proof/signature")):
        r = deliver(client, auth(other), item, delivery(proof))
        assert r.status_code == 422 and r.json["type"] == "/problems/proof-invalid", r.json
        assert [e["pointer"] for e in r.json["errors"]] == [pointer]
        assert "another user" in r.json["errors"][0]["detail"]
        # offline, the same: the entry is rejected (as a file nobody uploaded is)
        res = sync(client, auth(other), item, delivery(proof))
        assert res["result"] == "rejected" and res["problem"]["status"] == 422, res
        assert [e["pointer"] for e in res["problem"]["errors"]] == [pointer]
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"
    assert db.session.query(DeliveryProof).count() == 0
    assert db.session.query(TrackingEvent).filter_by(item_id=item.id, code="EMI").count() == 0
    # their own files are fine
    r = deliver(client, auth(other), item, delivery({"signature": own}))
    assert r.status_code == 201, r.json


def test_staff_recording_a_delivery_may_cite_the_files_of_a_courier_who_held_the_item(
        client, auth, office, courier, dispatcher, make_user, make_item, files):
    # the courier's phone died after uploading the photo: the office records the delivery
    item = out_for_delivery(make_item, office, courier, AN)
    stranger = make_user(Role.COURIER, office)
    foreign = upload_file(client, auth(stranger), "photo", 5004)
    r = deliver(client, auth(dispatcher), item, delivery({"photo": foreign}))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/photo"
    # an admin may not cite another user's file either
    r = deliver(client, auth(make_user(Role.ADMIN)), item, delivery({"photo": foreign}))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/proof/photo"
    r = deliver(client, auth(dispatcher), item, delivery(files))
    assert r.status_code == 201, r.json
    assert r.json["event"]["actor"]["id"] == dispatcher.id
    assert r.json["event"]["flags"] is None


def test_a_courier_who_held_the_item_before_is_one_whose_files_staff_may_cite(
        client, auth, office, courier, dispatcher, make_user, make_item, files):
    item = out_for_delivery(make_item, office, courier, AN)
    r = client.post(f"/api/v1/items/{item.identifier}/assign", headers=auth(dispatcher),
                    json={"courier_id": make_user(Role.COURIER, office).id})
    assert r.status_code == 200
    r = deliver(client, auth(dispatcher), item, delivery(files))
    assert r.status_code == 201, r.json


# ---------------------------------------------------------------- another recipient

@pytest.mark.parametrize("way", ["events", "sync"])
def test_a_file_cited_for_another_recipient_is_recorded_and_flagged_naming_it(
        client, auth, office, courier, dispatcher, make_item, files, way):
    first = out_for_delivery(make_item, office, courier, AN)
    second = out_for_delivery(make_item, office, courier, BINH)
    h = auth(courier)
    r = deliver(client, h, first, delivery(files))
    assert r.status_code == 201 and r.json["event"]["flags"] is None, r.json
    first_event = r.json["event"]["id"]
    body = delivery({"photo": files["photo"], "signature": upload_file(client, h, "signature",
                                                                       5005)},
                    time="2026-11-20T08:07:00+07:00")
    if way == "events":
        r = deliver(client, h, second, body)
        assert r.status_code == 201, r.json
        assert r.json["event"]["flags"] == ["proof_reused"]
        assert r.json["event"]["proof"]["reused_from"] == [
            {"pointer": "/proof/photo", "cited_for": "delivery",
             "identifier": first.identifier, "event_id": first_event}]
    else:
        res = sync(client, h, second, body)
        assert res["result"] == "accepted" and res["flags"] == ["proof_reused"], res
    assert db.session.get(Item, second.id).status.value == "delivered"
    # where complaint staff look: the item's history and the complaint case
    hd = auth(dispatcher)
    detail = client.get(f"/api/v1/items/{second.identifier}", headers=hd).json
    emi = detail["events"][-1]
    assert emi["flags"] == ["proof_reused"]
    assert emi["proof"]["reused_from"][0]["identifier"] == first.identifier
    r = client.post("/api/v1/complaints", headers=hd, json={
        "identifier": second.identifier, "category": "not_received",
        "description": "Tôi chưa nhận được"})
    assert r.status_code == 201, r.json
    case = client.get(f"/api/v1/complaints/{r.json['id']}", headers=hd).json
    emi = [e for e in case["item"]["events"] if e["code"] == "EMI"][0]
    assert emi["flags"] == ["proof_reused"]
    assert emi["proof"]["reused_from"][0]["identifier"] == first.identifier
    # the first delivery is as it was
    detail = client.get(f"/api/v1/items/{first.identifier}", headers=hd).json
    assert detail["events"][-1]["flags"] is None
    assert detail["events"][-1]["proof"]["reused_from"] is None


def test_the_console_timeline_shows_the_flag_and_links_the_other_item(
        app, client, auth, office, courier, dispatcher, make_item, files):
    first = out_for_delivery(make_item, office, courier, AN)
    second = out_for_delivery(make_item, office, courier, BINH)
    h = auth(courier)
    assert deliver(client, h, first, delivery(files)).status_code == 201
    assert deliver(client, h, second, delivery(files)).status_code == 201
    with app.test_client() as browser:
        r = login(browser, username=dispatcher.username, password="pw")
        assert r.status_code == 302, r.text
        page = browser.get(f"/console/items?number={second.identifier}").text
    assert "Ảnh/chữ ký đã dùng cho lần phát hoặc chi trả khác" in page
    assert "đã dùng trước cho việc phát bưu gửi" in page
    assert f'?number={first.identifier}">{first.identifier}</a>' in page


# ---------------------------------------------------------------- the same recipient

@pytest.mark.parametrize("recipient", [
    # the same phone number, written another way, the name as the family calls her
    {**BINH, "name": "Chị Lan", "phone": "+84 912 345 678"},
    # the same name at the same address, typed without diacritics, no phone
    {**AN, "name": "NGUYEN VAN  AN", "phone": None, "address": "12, Tran Phu",
     "ward": None},
])
def test_one_recipients_parcels_handed_over_together_share_their_proof(
        client, auth, office, courier, make_item, files, recipient):
    first = out_for_delivery(make_item, office, courier, AN)
    second = out_for_delivery(make_item, office, courier,
                              {k: v for k, v in recipient.items() if v is not None})
    h = auth(courier)
    assert deliver(client, h, first, delivery(files)).status_code == 201
    r = deliver(client, h, second, delivery(files, time="2026-11-20T08:06:00+07:00"))
    assert r.status_code == 201, r.json
    assert r.json["event"]["flags"] is None
    assert r.json["event"]["proof"]["reused_from"] is None
    # offline too, a third parcel of the same hand-over
    third = out_for_delivery(make_item, office, courier, AN)
    res = sync(client, h, third, delivery(files, time="2026-11-20T08:07:00+07:00"))
    assert res["result"] == "accepted" and res["flags"] == [], res


def test_the_same_recipient_on_another_day_is_flagged(client, auth, office, courier,
                                                      make_item, files, clock):
    first = out_for_delivery(make_item, office, courier, AN)
    second = out_for_delivery(make_item, office, courier, AN)
    h = auth(courier)
    assert deliver(client, h, first, delivery(files)).status_code == 201
    clock.advance(days=1)
    h = auth(courier)  # a new shift, a new token
    r = deliver(client, h, second, delivery(files, time="2026-11-21T08:05:00+07:00"))
    assert r.status_code == 201, r.json
    assert r.json["event"]["flags"] == ["proof_reused"]
    assert [x["pointer"] for x in r.json["event"]["proof"]["reused_from"]] == [
        "/proof/photo", "/proof/signature"]


def test_the_same_address_alone_is_not_the_same_recipient(make_item, office):
    a = make_item(office, recipient=AN)
    neighbour = make_item(office, recipient={**AN, "name": "Lê Văn Cường",
                                             "phone": "0900000001"})
    assert not same_recipient(a, neighbour)
    elsewhere = make_item(office, recipient={**AN, "phone": None, "ward": "Vĩnh Hải"})
    assert not same_recipient(make_item(office, recipient={**AN, "phone": None}), elsewhere)


# ---------------------------------------------------------------- replays

def test_the_same_delivery_sent_again_does_not_flag_itself(
        client, auth, office, courier, make_item, files):
    item = out_for_delivery(make_item, office, courier, AN)
    h = auth(courier)
    body = delivery(files)
    r = deliver(client, h, item, body)
    assert r.status_code == 201 and r.json["event"]["flags"] is None
    again = deliver(client, h, item, body)
    assert again.status_code == 200 and again.json["replayed"] is True
    assert again.json["event"]["flags"] is None
    res = sync(client, h, item, body)
    assert res["result"] == "duplicate" and res["flags"] == [], res
    # the same hand-over recorded again under another key (the scan, then the sync
    # with the phone's own earlier time): kept as a late conflict, not flagged as reused
    res = sync(client, h, item, delivery(files, time="2026-11-20T08:04:00+07:00"))
    assert res["result"] == "accepted" and res["flags"] == ["late_conflict"], res
    assert db.session.query(DeliveryProof).count() == 2


def test_a_replay_after_another_recipient_cited_the_file_answers_as_first_recorded(
        client, auth, office, courier, make_item, files):
    first = out_for_delivery(make_item, office, courier, AN)
    second = out_for_delivery(make_item, office, courier, BINH)
    h = auth(courier)
    body = delivery(files)
    assert deliver(client, h, first, body).status_code == 201
    assert deliver(client, h, second, delivery(files)).json["event"]["flags"] == [
        "proof_reused"]
    again = deliver(client, h, first, body)
    assert again.status_code == 200 and again.json["event"]["flags"] is None


# ---------------------------------------------------------------- at the same moment

def test_two_deliveries_citing_one_file_at_once_see_each_other(
        app, auth, office, courier, make_item, files, monkeypatch):
    import api.proof.reuse as reuse

    one = out_for_delivery(make_item, office, courier, AN)
    two = out_for_delivery(make_item, office, courier, BINH)
    # both have checked the file before either looks for other deliveries citing it:
    # without the file's lock neither would see the other
    monkeypatch.setattr(reuse, "reused_from", when_both_arrive(reuse.reused_from))
    h = auth(courier)
    # (plain values: the threads have no application context to load an item in)
    one_number, one_body = one.identifier, delivery(files)
    two_number, two_body = two.identifier, delivery(files)
    answers = at_once(app, lambda c: deliver(c, h, one_number, one_body),
                      lambda c: deliver(c, h, two_number, two_body))
    assert [a.status_code for a in answers] == [201, 201], [a.json for a in answers]
    flags = sorted(str(a.json["event"]["flags"]) for a in answers)
    assert flags == ["None", "['proof_reused']"]


def test_a_replay_is_never_flagged_even_resent_at_once(app, auth, office, courier,
                                                       make_item, files):
    item = out_for_delivery(make_item, office, courier, {**AN, "phone": None})
    h = auth(courier)
    number, body = item.identifier, delivery(files)
    answers = at_once(app, lambda c: deliver(c, h, number, body),
                      lambda c: deliver(c, h, number, body))
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert [a.json["event"]["flags"] for a in answers] == [None, None]
    assert db.session.query(TrackingEvent).filter_by(
        client_event_id=body["client_event_id"]).count() == 1


def test_a_file_cited_more_often_than_one_visit_can_is_flagged_and_the_check_bounded(
        client, auth, office, courier, make_item, files, monkeypatch):
    # each check read every earlier use of the file: a phone citing one file thousands
    # of times made every new use slower; past the limit the file is reused, its first
    # use named, and only that many uses are read
    from api.proof import reuse

    monkeypatch.setattr(reuse, "REUSE_SCAN_LIMIT", 3)
    h = auth(courier)
    parcels = [out_for_delivery(make_item, office, courier, AN) for _ in range(5)]
    for n, item in enumerate(parcels[:3]):  # one hand-over: three parcels, one proof
        r = deliver(client, h, item, delivery(files, time=f"2026-11-20T08:0{n}:00+07:00"))
        assert r.status_code == 201 and r.json["event"]["flags"] is None, r.json
    read = []
    real = reuse._uses
    monkeypatch.setattr(reuse, "_uses", lambda *a, **k: read.append(real(*a, **k))
                        or read[-1])
    r = deliver(client, h, parcels[3], delivery(files, time="2026-11-20T08:03:00+07:00"))
    assert r.json["event"]["flags"] is None  # three earlier uses: all looked at, one visit
    r = deliver(client, h, parcels[4], delivery(files, time="2026-11-20T08:04:00+07:00"))
    assert r.status_code == 201, r.json
    assert "proof_reused" in r.json["event"]["flags"]
    assert {e["identifier"] for e in r.json["event"]["proof"]["reused_from"]} == {
        parcels[0].identifier}
    assert max(len(u) for u in read) == 4  # the limit and one more, not every use
