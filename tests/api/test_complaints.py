"""Complaints (public and staff), the SLA queue, evidence, missing scans, quality."""

from __future__ import annotations

import csv
import html
import io
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from models import Complaint, Item, Role, db
from models.sync import CourierPosition
from tests.api.paging import pages

ids = (f"cmp-{n:06d}" for n in itertools.count())
AT_DOOR = {"lat": 12.238, "lon": 109.196, "accuracy_m": 10}
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 in Viet Nam, the fake clock's start


def minutes(m):
    """``m`` minutes after 08:00 of the 20th, the day's events."""
    return T0 + timedelta(minutes=m)


def record(client, h, identifier, code, when, **kw):
    """An event from ``POST /items/{id}/events`` at ``when`` (an aware time)."""
    body = {"code": code, "client_event_id": next(ids), "device_time": when.isoformat(),
            "location": AT_DOOR, **kw}
    if code == "EMH":
        body = {"reason": "unreachable_by_phone", "action": "notice_left", **body}
    r = client.post(f"/api/v1/items/{identifier}/events", headers=h, json=body)
    assert r.status_code == 201, r.json
    return r.json


def synced(client, h, identifier, code, when, **kw):
    """One event from a phone's offline backlog (``POST /sync``); its result."""
    entry = {"kind": "event", "identifier": identifier, "code": code,
             "client_event_id": next(ids), "device_time": when.isoformat(),
             "location": AT_DOOR, **kw}
    if code == "EMH":
        entry = {"reason": "unreachable_by_phone", "action": "notice_left", **entry}
    r = client.post("/api/v1/sync", headers=h, json={"device_id": "phone-1",
                                                    "events": [entry]})
    assert r.status_code == 200, r.json
    return r.json["results"][0]


def attempts_used_up_late(client, auth, office, courier, dispatcher, make_item, clock):
    """An item whose third failed attempt came late (synced after the item was held at
    the office): counted, it uses up the limit (3), but no automatic return follows it.
    The clock ends 10 hours later, when the late attempt arrived."""
    item = make_item(office, courier=courier, events=("EMG",))
    t0 = clock()

    def minutes(m):  # the round's events, from when the item arrived
        return t0 + timedelta(minutes=m)

    clock.advance(hours=10)  # the phone syncs in the evening
    h, disp = auth(courier), auth(dispatcher)
    assert synced(client, h, item.identifier, "EDG", minutes(0))["applied"] is True
    record(client, disp, item.identifier, "EDF", minutes(45))  # the round closed
    record(client, disp, item.identifier, "EDG", minutes(50))
    record(client, h, item.identifier, "EMH", minutes(60))
    record(client, disp, item.identifier, "EDG", minutes(100))
    record(client, h, item.identifier, "EMH", minutes(180), reason="refused")
    record(client, disp, item.identifier, "EDF", minutes(240))
    late = synced(client, h, item.identifier, "EMH", minutes(30))  # of the first round
    assert late["applied"] is False, late
    db.session.expire_all()
    stored = db.session.get(Item, item.id)
    assert stored.failed_attempts == 3 and stored.status.value == "held_at_office"
    return item


def test_customer_opens_a_complaint_with_the_phone_number(client, office, make_item):
    item = make_item(office)  # recipient phone 0912345678, sender 0901234567
    url = f"/api/v1/track/{item.identifier}/complaints"
    body = {"phone": "+84 912 345 678", "category": "not_received",
            "description": "Tôi chưa nhận được hàng"}
    r = client.post(url, json=body)
    assert r.status_code == 201, r.json
    assert set(r.json) == {"reference", "status", "due_at"}
    assert r.json["reference"].startswith("KN") and r.json["status"] == "open"
    for phone in ("0999999999", "12345"):
        bad = client.post(url, json={**body, "phone": phone})
        assert bad.status_code in (403, 422)
    unknown = client.post("/api/v1/track/EE876543216CA/complaints", json=body)
    wrong = client.post(url, json={**body, "phone": "0999999999"})
    assert unknown.status_code == wrong.status_code == 403
    assert unknown.json["detail"] == wrong.json["detail"]


def test_a_customers_phone_is_a_phone_number_and_nothing_after_it(client, office, make_item):
    """The phone number was matched from its start only: any text after a phone number
    (a second number, a script, a megabyte of digits) was taken, where the item's own
    phone numbers must be one."""
    item = make_item(office)  # recipient phone 0912345678
    url = f"/api/v1/track/{item.identifier}/complaints"
    body = {"category": "late", "description": "Tôi chưa nhận được hàng"}
    for phone in ("0912345678<script>", "0912345678 hoặc gọi 0999999999",
                  "0912345678" * 100, "0912345678\n"):
        r = client.post(url, json={**body, "phone": phone})
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/phone", phone
    assert db.session.query(Complaint).count() == 0
    assert client.post(url, json={**body, "phone": "+84 912-345.678"}).status_code == 201


def test_a_customer_is_told_only_the_categories_they_may_file(client, office, make_item):
    item = make_item(office)
    url = f"/api/v1/track/{item.identifier}/complaints"
    for category in ("missing_scan", "no-such-category"):
        r = client.post(url, json={"phone": "0912345678", "category": category,
                                   "description": "Tôi chưa nhận được hàng"})
        assert r.status_code == 422, r.json
        detail = r.json["errors"][0]["detail"]
        assert detail.startswith("One of: ") and "missing_scan" not in detail, category


def test_a_complaint_reference_drawn_twice_is_drawn_again(client, auth, office, dispatcher,
                                                          make_item, monkeypatch):
    from api.complaints import service

    item = make_item(office)
    drawn = iter(["KN00000001", "KN00000001", "KN00000001", "KN00000002"])
    monkeypatch.setattr(service, "new_reference", lambda: next(drawn))
    first = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "late", "description": "Giao chậm"})
    assert first.status_code == 201 and first.json["reference"] == "KN00000001"
    # the customer's complaint draws the same reference (a 500 before), then another
    r = client.post(f"/api/v1/track/{item.identifier}/complaints", json={
        "phone": "0912345678", "category": "late", "description": "Giao chậm quá"})
    assert r.status_code == 201 and r.json["reference"] == "KN00000002"
    assert db.session.query(Complaint).count() == 2


def test_a_customer_cannot_file_an_office_only_category(client, office, make_item):
    # missing_scan is the office's own (opened from the missing-scans list): the page's
    # form never offered it, the JSON took it
    item = make_item(office)
    r = client.post(f"/api/v1/track/{item.identifier}/complaints", json={
        "phone": "0912345678", "category": "missing_scan", "description": "Chưa có gì"})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/category"
    assert db.session.query(Complaint).count() == 0


def test_the_overdue_filter_is_a_yes_or_no_in_words(client, auth, office, dispatcher,
                                                    make_item, clock):
    """A query parameter is text: ``overdue`` takes the words a CSV cell does, in any
    case (marshmallow's took ``TRUE`` and ``True`` but not ``tRUE``), and refuses others
    with a 422 naming it."""
    h = auth(dispatcher)
    late = client.post("/api/v1/complaints", headers=h, json={
        "identifier": make_item(office).identifier, "category": "late",
        "description": "Quá hạn EMS"}).json["id"]
    clock.advance(hours=25)  # EMS: 24 h to answer
    h = auth(dispatcher)
    fresh = client.post("/api/v1/complaints", headers=h, json={
        "identifier": make_item(office).identifier, "category": "late",
        "description": "Chưa nhận"}).json["id"]
    for word, ids in (("true", [late]), ("tRUE", [late]), ("1", [late]), ("yes", [late]),
                      ("false", [late, fresh]), ("No", [late, fresh])):
        r = client.get(f"/api/v1/complaints?overdue={word}", headers=h)
        assert r.status_code == 200 and [c["id"] for c in r.json] == ids, word
    for bad in ("maybe", "2", ""):
        r = client.get(f"/api/v1/complaints?overdue={bad}", headers=h)
        assert r.status_code == 422 and r.json["errors"][0]["parameter"] == "overdue", bad


def test_queue_sla_and_workflow(client, auth, office, dispatcher, make_item, clock,
                                make_user, make_office, courier):
    h = auth(dispatcher)
    ems = make_item(office)  # EMS: 24 h to answer
    parcel = make_item(office, identifier="CP123456785VN")  # parcel: 72 h
    a = client.post("/api/v1/complaints", headers=h, json={
        "identifier": parcel.identifier, "category": "damaged", "description": "Hộp bị móp"})
    b = client.post("/api/v1/complaints", headers=h, json={
        "identifier": ems.identifier, "category": "late", "description": "Quá hạn EMS"})
    assert a.status_code == b.status_code == 201
    q = client.get("/api/v1/complaints", headers=h).json
    assert [c["id"] for c in q] == [b.json["id"], a.json["id"]]  # soonest due first
    clock.advance(hours=25)
    h = auth(dispatcher)  # a new shift, a new token
    overdue = client.get("/api/v1/complaints?overdue=true", headers=h).json
    assert [c["id"] for c in overdue] == [b.json["id"]] and overdue[0]["overdue"] is True
    url = f"/api/v1/complaints/{b.json['id']}"
    assert client.patch(url, headers=h, json={"status": "resolved"}).status_code == 422
    assert client.patch(url, headers=h, json={"status": "investigating"}).status_code == 200
    r = client.patch(url, headers=h, json={"status": "resolved",
                                           "resolution_note": "Bồi thường cước EMS"})
    assert r.status_code == 200 and r.json["answered_at"]
    r = client.patch(url, headers=h, json={"status": "rejected"})
    assert r.status_code == 409 and r.json["allowed"] == ["investigating"]
    assert client.get("/api/v1/complaints", headers=auth(courier)).status_code == 403
    stranger = make_user(Role.DISPATCHER, make_office())
    assert client.get("/api/v1/complaints", headers=auth(stranger)).json == []
    assert client.get(url, headers=auth(stranger)).status_code == 404


def test_a_reopened_complaint_keeps_every_answer_in_its_history(
        client, auth, office, dispatcher, make_user, make_item, clock):
    """A complaint reopened and resolved again had its resolution note replaced: what
    was said first was lost. Each change of status or note is kept, in order, with who
    and when; ``resolution_note`` stays the latest note."""
    other = make_user(Role.DISPATCHER, office)
    item = make_item(office)
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "not_received",
        "description": "Khách chưa nhận được hàng"}).json
    assert c["history"] == [] and c["office_id"] == office.id
    url = f"/api/v1/complaints/{c['id']}"
    resolved_at = clock.advance(hours=1)
    r = client.patch(url, headers=auth(dispatcher), json={
        "status": "resolved", "resolution_note": "Đã giao lại cho khách"})
    assert r.status_code == 200
    # refused changes leave no trace
    assert client.patch(url, headers=auth(other), json={"status": "rejected"}
                        ).status_code == 409
    assert client.patch(url, headers=auth(other), json={
        "resolution_note": "x\x07"}).status_code == 422
    # a change that changes nothing is no entry either
    assert client.patch(url, headers=auth(other), json={"status": "resolved"}
                        ).status_code == 200
    reopened_at = clock.advance(hours=5)
    r = client.patch(url, headers=auth(other), json={"status": "investigating"})
    assert r.status_code == 200 and r.json["answered_at"] is None
    noted_at = clock.advance(hours=1)
    r = client.patch(url, headers=auth(other), json={
        "resolution_note": "Khách gọi lại: vẫn chưa nhận được"})
    assert r.status_code == 200
    again_at = clock.advance(hours=1)
    r = client.patch(url, headers=auth(other), json={
        "status": "resolved", "resolution_note": "Bồi thường theo quy định"})
    assert r.status_code == 200
    assert r.json["resolution_note"] == "Bồi thường theo quy định"  # the latest, as before
    expected = [
        (resolved_at, dispatcher.username, "open", "resolved", "Đã giao lại cho khách"),
        (reopened_at, other.username, "resolved", "investigating", None),
        (noted_at, other.username, "investigating", "investigating",
         "Khách gọi lại: vẫn chưa nhận được"),
        (again_at, other.username, "investigating", "resolved", "Bồi thường theo quy định"),
    ]

    def entries(complaint):
        return [(datetime.fromisoformat(e["at"]), e["by"]["username"], e["status_before"],
                 e["status"], e["note"]) for e in complaint["history"]]

    assert entries(r.json) == expected
    assert not any(e["backfill"] for e in r.json["history"])
    case = client.get(url, headers=auth(dispatcher)).json["complaint"]
    assert entries(case) == expected
    queue = client.get("/api/v1/complaints?status=resolved", headers=auth(dispatcher)).json
    assert [entries(q) for q in queue] == [expected]


def test_a_complaint_about_an_item_moved_to_another_office_is_seen_by_both(
        client, auth, office, dispatcher, make_office, make_user, make_item, clock):
    """A complaint stayed with the office its item had when it was opened: once the item
    moved to another office, that office's staff, who hold the item now, could neither
    see nor answer it. Staff of either office see and handle it; its SLA and quality
    figures stay with the office it was opened at; a third office sees nothing."""
    there = make_office()
    theirs, stranger = make_user(Role.DISPATCHER, there), make_user(Role.DISPATCHER,
                                                                    make_office())
    item = make_item(office)
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "late",
        "description": "Giao chậm"}).json
    url = f"/api/v1/complaints/{c['id']}"
    assert client.get(url, headers=auth(theirs)).status_code == 404
    # transferred: the item is now the other office's (no endpoint moves an item yet;
    # a transfer changes its office)
    db.session.get(Item, item.id).office_id = there.id
    db.session.commit()
    for who in (dispatcher, theirs):
        h = auth(who)
        assert [q["id"] for q in client.get("/api/v1/complaints", headers=h).json] == [
            c["id"]], who.username
        case = client.get(url, headers=h)
        assert case.status_code == 200 and case.json["complaint"]["office_id"] == office.id
        assert case.json["item"]["office_id"] == there.id
    # the events are the office holding the item's to record
    assert client.get(url, headers=auth(dispatcher)).json["item"]["allowed_events"] == []
    assert client.get(url, headers=auth(theirs)).json["item"]["allowed_events"]
    # the office holding the item works on it; the answer is the opening office's
    r = client.patch(url, headers=auth(theirs), json={
        "status": "investigating", "resolution_note": "Bưu cục mới đã giao"})
    assert r.status_code == 200 and r.json["history"][0]["by"]["id"] == theirs.id
    r = client.patch(url, headers=auth(dispatcher), json={"status": "resolved"})
    assert r.status_code == 200
    h = auth(stranger)
    assert client.get("/api/v1/complaints", headers=h).json == []
    assert client.get(url, headers=h).status_code == 404
    assert client.patch(url, headers=h, json={"status": "resolved"}).status_code == 404
    # counted where it was opened
    for where, opened in ((office, 1), (there, 0)):
        r = client.get(f"/api/v1/quality?date=2026-11-20&office_id={where.id}",
                       headers=auth(make_user(Role.ADMIN)))
        assert r.json["rows"][0]["complaints_opened"] == opened


def test_the_office_an_item_left_sees_no_gps_trail_of_the_other_offices_couriers(
        client, auth, office, dispatcher, courier, make_office, make_user, make_item,
        clock):
    """The case of a complaint about an item moved to another office showed the office
    it was opened at the GPS trail of the other office's courier around each of their
    attempts, an hour of a courier's positions for each, where a courier's track is
    their own office's dispatchers' (``GET /couriers/{id}/track``). That office is shown
    the trails of the attempts made while it held the item; the office holding the item
    now, every trail, as on its item page."""
    from tests.api.test_console import login

    def pings(who, around):
        for m in (-10, 0, 10):
            db.session.add(CourierPosition(
                client_event_id=next(ids), courier_id=who.id, lat=12.238, lon=109.196,
                device_time=around + timedelta(minutes=m), server_time=around,
                accuracy_m=5))
        db.session.commit()

    there = make_office()
    theirs, their_courier = (make_user(Role.DISPATCHER, there),
                             make_user(Role.COURIER, there))
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    ours_at = clock()
    pings(courier, ours_at)
    record(client, auth(courier), item.identifier, "EMH", ours_at)
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "late",
        "description": "Giao chậm"}).json
    url = f"/api/v1/complaints/{c['id']}"
    # transferred, given to a courier of the other office, who tries again next day
    db.session.get(Item, item.id).office_id = there.id
    db.session.commit()
    admin = make_user(Role.ADMIN)
    assert client.post(f"/api/v1/items/{item.identifier}/assign", headers=auth(theirs),
                       json={"courier_id": their_courier.id}).status_code == 200
    theirs_at = clock.advance(days=1)
    pings(their_courier, theirs_at)
    record(client, auth(their_courier), item.identifier, "EDG", theirs_at)
    record(client, auth(their_courier), item.identifier, "EMH",
           theirs_at + timedelta(minutes=1))

    def trails(who):
        case = client.get(url, headers=auth(who)).json
        # the office the item left: its history up to then (the other office's two
        # events are counted: test_the_office_an_item_left_sees_its_history_until_then…)
        assert len(case["item"]["events"]) == (4 if who is dispatcher else 6)
        return sorted((t["device_time"], len(t["points"])) for t in case["gps_trails"])

    ours = (ours_at.isoformat(), 3)
    assert trails(dispatcher) == [ours]
    assert trails(theirs) == [ours, ((theirs_at + timedelta(minutes=1)).isoformat(), 3)]
    assert len(trails(admin)) == 2
    # the console's complaint page draws the same
    assert login(client, username=dispatcher.username, password="pw").status_code == 302
    page = client.get(f"/console/complaints/{c['id']}").text
    drawn = page.split('id="trail-data">')[1].split("</script>")[0]
    assert [len(t["points"]) for t in json.loads(html.unescape(drawn))["trails"]] == [3]


def moved(item, there):
    """The item transferred to ``there`` (no endpoint moves an item yet: a transfer
    changes its office)."""
    db.session.get(Item, item.id).office_id = there.id
    db.session.commit()


def test_the_office_an_item_left_sees_its_history_until_then_and_a_summary_after(
        app, client, auth, office, dispatcher, courier, make_office, make_user, make_item,
        clock, full_proof):
    """The office a complaint was opened at kept seeing, through the case, everything
    the office the item moved to recorded since: each event with its GPS and actor, the
    proof of delivery (who received it, the signature and photo), that office's couriers
    and dispatchers by name. It sees the item's history up to when it left, and after
    it a count, the offices and the status now (delivered); the office holding the item
    and admins see everything; the console's case page shows the same."""
    from tests.api.test_console import login

    there = make_office()
    theirs = make_user(Role.DISPATCHER, there, username="their-disp")
    their_courier = make_user(Role.COURIER, there, username="their-courier")
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    record(client, auth(courier), item.identifier, "EMH", clock())
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "late",
        "description": "Giao chậm"}).json
    url = f"/api/v1/complaints/{c['id']}"
    moved(item, there)
    assert client.post(f"/api/v1/items/{item.identifier}/assign", headers=auth(theirs),
                       json={"courier_id": their_courier.id}).status_code == 200
    clock.advance(days=1)
    h = auth(their_courier)
    record(client, h, item.identifier, "EDG", clock())
    record(client, h, item.identifier, "EMI", clock() + timedelta(minutes=5),
           proof=full_proof(item, relation="proxy", received_by="Lê Thị Hàng Xóm"))
    admin = make_user(Role.ADMIN)
    full = ["EMA", "EMG", "EDG", "EMH", "EDG", "EMI"]
    for who in (theirs, admin):
        case = client.get(url, headers=auth(who)).json
        assert [e["code"] for e in case["item"]["events"]] == full, who.username
        assert case["later_events"] is None
        assert case["item"]["events"][-1]["proof"]["signature"]
    case = client.get(url, headers=auth(dispatcher)).json
    assert [e["code"] for e in case["item"]["events"]] == full[:4]
    assert case["later_events"] == {"count": 2, "status": "delivered", "offices": [
        {"id": there.id, "code": there.code, "name": there.name}]}
    assert case["item"]["status"] == "delivered" and case["item"]["courier"] is None
    # who held it: its own courier's period, not the other office's courier, nor who
    # ended the period there
    periods = case["item"]["assignments"]
    assert [p["courier"]["id"] for p in periods] == [courier.id]
    assert periods[0]["ended_at"] and periods[0]["ended_by"] is None
    text = json.dumps(case, ensure_ascii=False)
    proof = client.get(url, headers=auth(theirs)).json["item"]["events"][-1]["proof"]
    for secret in ("their-disp", "their-courier", proof["signature"], proof["photo"],
                   proof["received_by"]):
        assert secret not in text, secret
    # the console's case page: the same
    assert login(client, username=dispatcher.username, password="pw").status_code == 302
    page = client.get(f"/console/complaints/{c['id']}").text
    assert 'id="later-events"' in page and "their-courier" not in page
    assert "their-disp" not in page and "/console/evidence/" not in page
    assert page.count("<tr class=") - page.split('id="timeline"')[0].count("<tr class=") == 4
    other = app.test_client()  # (another browser)
    assert login(other, username=theirs.username, password="pw").status_code == 302
    page = other.get(f"/console/complaints/{c['id']}").text
    assert 'id="later-events"' not in page and "their-courier" in page
    assert "/console/evidence/" in page


def test_the_office_an_item_left_sees_its_couriers_attempt_synced_after_it_left(
        client, auth, office, dispatcher, courier, make_office, make_user, make_item, clock):
    """An attempt the office's courier made offline while they held the item, synced
    after the item moved to another office (accepted: held then), is booked to the
    office holding the item when it arrived. The office the complaint was opened at did
    not see it (its own courier's attempt, likely what the complaint is about) nor its
    GPS trail, and it was counted among the other office's events since. It is shown
    with its trail; the other office's own events stay counted only."""
    there = make_office()
    theirs = make_user(Role.DISPATCHER, there)
    their_courier = make_user(Role.COURIER, there)
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "late",
        "description": "Giao chậm"}).json
    url = f"/api/v1/complaints/{c['id']}"
    offline_at = clock() + timedelta(minutes=10)  # the door, no signal
    for m in (0, 10):
        db.session.add(CourierPosition(
            client_event_id=next(ids), courier_id=courier.id, lat=12.238, lon=109.196,
            device_time=offline_at + timedelta(minutes=m), server_time=offline_at,
            accuracy_m=5))
    db.session.commit()
    clock.advance(hours=2)
    moved(item, there)
    assert client.post(f"/api/v1/items/{item.identifier}/assign", headers=auth(theirs),
                       json={"courier_id": their_courier.id}).status_code == 200
    clock.advance(hours=1)
    late = synced(client, auth(courier), item.identifier, "EMH", offline_at)
    assert late["result"] == "accepted" and "held_then" in late["flags"], late
    clock.advance(days=1)
    record(client, auth(their_courier), item.identifier, "EMH", clock())
    case = client.get(url, headers=auth(dispatcher)).json
    assert [e["code"] for e in case["item"]["events"]] == ["EMA", "EMG", "EDG", "EMH"]
    assert case["item"]["events"][-1]["id"] == late["event_id"]
    assert case["later_events"]["count"] == 1  # the other office's attempt only
    assert [len(t["points"]) for t in case["gps_trails"]] == [2]
    full = client.get(url, headers=auth(theirs)).json
    assert [e["code"] for e in full["item"]["events"]] == ["EMA", "EMG", "EDG", "EMH", "EMH"]


def test_the_office_holding_the_item_works_on_a_complaint_the_opening_office_answers(
        client, auth, office, dispatcher, make_office, make_user, make_item, clock):
    """The office an item moved to could resolve, reject and reopen a complaint counted
    in the figures of the office it was opened at (its SLA, its complaints closed and
    hours to answer): the answer is that office's (and an admin's). The holding office
    sets it investigating and adds notes (what it found, the answer it proposes, which
    the opening office may close with) while it is open; the console offers it no
    closing status."""
    from tests.api.test_console import csrf, login

    there = make_office()
    theirs = make_user(Role.DISPATCHER, there)
    item = make_item(office)
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "not_received",
        "description": "Chưa nhận được"}).json
    url = f"/api/v1/complaints/{c['id']}"
    moved(item, there)
    h = auth(theirs)
    for body in ({"status": "resolved", "resolution_note": "Đã giao"},
                 {"status": "rejected", "resolution_note": "Không có cơ sở"}):
        r = client.patch(url, headers=h, json=body)
        assert r.status_code == 403 and r.json["type"].endswith(
            "/complaint-answered-elsewhere") and r.json["office_id"] == office.id, r.json
    r = client.patch(url, headers=h, json={"status": "investigating",
                                           "resolution_note": "Đã giao ngày 21"})
    assert r.status_code == 200 and r.json["status"] == "investigating"
    # the opening office closes it with the note proposed
    r = client.patch(url, headers=auth(dispatcher), json={"status": "resolved"})
    assert r.status_code == 200 and r.json["resolution_note"] == "Đã giao ngày 21"
    answered = r.json["answered_at"]
    for body in ({"status": "investigating"}, {"resolution_note": "Sửa câu trả lời"}):
        r = client.patch(url, headers=h, json=body)
        assert r.status_code == 403, body
    stored = client.get(url, headers=auth(dispatcher)).json["complaint"]
    assert (stored["status"], stored["answered_at"], len(stored["history"])) == (
        "resolved", answered, 2)
    # an admin may reopen it
    r = client.patch(url, headers=auth(make_user(Role.ADMIN)), json={"status": "investigating"})
    assert r.status_code == 200
    # the console: no closing status offered, a form that closes anyway is refused
    assert login(client, username=theirs.username, password="pw").status_code == 302
    page = client.get(f"/console/complaints/{c['id']}").text
    assert 'id="answered-by-opening-office"' in page
    assert 'value="resolved"' not in page and 'value="rejected"' not in page
    r = client.post(f"/console/complaints/{c['id']}", data={
        "csrf_token": csrf(client, f"/console/complaints/{c['id']}"), "status": "resolved",
        "seen_status": "investigating",
        "resolution_note": "Đóng"})
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Complaint, c["id"]).status.value == "investigating"


def test_the_queue_reads_each_office_branch_by_its_index(
        client, auth, office, dispatcher, make_office, make_user, make_item, clock):
    """The queue of a dispatcher was one OR (the office's complaints, or those whose
    item's office, looked up for each complaint, is theirs), which no index serves: every
    complaint of the statuses, of every office, was read. It is two selects put together
    (each on its index), ordered and paged as one list: soonest due first, each once,
    the filters kept, a third office's left out."""
    from sqlalchemy import event

    there, third = make_office(), make_office()
    h, mine = auth(dispatcher), []
    for n in range(6):  # due one hour apart; every other one's item moves here
        opener = (office, dispatcher) if n % 2 == 0 else (there, make_user(
            Role.DISPATCHER, there))
        item = make_item(opener[0])
        r = client.post("/api/v1/complaints", headers=auth(opener[1]), json={
            "identifier": item.identifier, "category": "damaged", "description": f"Móp {n}"})
        assert r.status_code == 201
        mine.append(r.json["id"])
        if n % 2:
            moved(item, office)
        clock.advance(hours=1)
    # not the office's: opened at a third office, its item there
    r = client.post("/api/v1/complaints", headers=auth(make_user(Role.DISPATCHER, third)),
                    json={"identifier": make_item(third).identifier, "category": "damaged",
                          "description": "Móp khác"})
    assert r.status_code == 201
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", seen)
    try:
        h = auth(dispatcher)
        found = pages(client, "/api/v1/complaints?page_size=4", h)
    finally:
        event.remove(db.engine, "before_cursor_execute", seen)
    assert [c["id"] for r in found for c in r.json] == mine
    assert all(r.headers["X-Total-Count"] == "6" for r in found)
    queue = [s for s in statements if "FROM complaints" in s and "UNION ALL" in s]
    assert queue and not any(" OR " in s for s in queue), statements
    due = {c["id"]: datetime.fromisoformat(c["due_at"]) for r in found for c in r.json}
    clock.now = sorted(due.values())[2] + timedelta(minutes=1)  # three overdue
    late = [c for c in mine if due[c] < clock()]
    assert len(late) == 3
    found = pages(client, "/api/v1/complaints?overdue=true&page_size=2", auth(dispatcher))
    assert [c["id"] for r in found for c in r.json] == late
    assert all(r.headers["X-Total-Count"] == "3" for r in found)


def test_the_queue_pages_with_a_total_past_its_first_500(client, auth, office, dispatcher,
                                                          make_item, clock):
    """The queue was the 500 soonest due and nothing more: the 501st open case was
    out of sight without a word. It now pages, soonest due first, with the total, and
    the next page's link keeps the filters."""
    h = auth(dispatcher)
    made = []
    for n in range(5):  # one complaint an hour: due in that order (same category)
        item = make_item(office)
        r = client.post("/api/v1/complaints", headers=h, json={
            "identifier": item.identifier, "category": "damaged", "description": f"Móp {n}"})
        assert r.status_code == 201
        made.append(r.json["id"])
        clock.advance(hours=1)
    h = auth(dispatcher)
    found = pages(client, "/api/v1/complaints?page_size=2&status=open", h)
    assert [c["id"] for r in found for c in r.json] == made and len(found) == 3
    assert all(r.headers["X-Total-Count"] == "5" for r in found)
    for r in found[:-1]:  # the next page's link keeps the filters
        assert "page_size=2" in r.headers["Link"] and "status=open" in r.headers["Link"]
    r = client.get("/api/v1/complaints?page=4&page_size=2", headers=h)
    assert r.status_code == 200 and r.json == [] and r.headers["X-Total-Count"] == "5"
    for bad in ("page=0", "page_size=0", "page_size=1001", "page=x"):
        assert client.get(f"/api/v1/complaints?{bad}", headers=h).status_code == 422


def test_the_next_page_link_keeps_any_query_argument_as_query(client, auth, office,
                                                              dispatcher, make_item):
    """The next page's link was built by ``url_for`` with the request's query arguments
    as its keywords: ``?endpoint=`` or ``?_scheme=``, ``_anchor``, ``_method`` were a 500,
    and ``?_external=1`` made the link absolute on whatever host the request's ``Host``
    header named. Every argument is kept as a query argument, the link stays relative."""
    from urllib.parse import parse_qs, urlsplit

    h = auth(dispatcher)
    for n in range(2):
        r = client.post("/api/v1/complaints", headers=h, json={
            "identifier": make_item(office).identifier, "category": "damaged",
            "description": f"Móp {n}"})
        assert r.status_code == 201
    for arg in ("endpoint", "_scheme", "_anchor", "_method", "_external", "values"):
        r = client.get(f"/api/v1/complaints?page_size=1&{arg}=x%3E%3B%22", headers=h,
                       environ_overrides={"HTTP_HOST": "evil.example"})
        assert r.status_code == 200, (arg, r.json)
        link = r.headers["Link"]
        assert link.startswith("</api/v1/complaints?") and link.endswith('>; rel="next"')
        url = urlsplit(link[1:link.index(">")])
        assert not url.netloc and not url.fragment
        assert parse_qs(url.query) == {"page": ["2"], "page_size": ["1"], arg: ['x>;"']}


def test_case_shows_the_whole_trail(client, auth, office, dispatcher, courier, make_item,
                                    clock, full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG", "EMH", "EDG"))
    t = clock()
    for minutes in (-40, -20, -5, 10, 25, 50):
        db.session.add(CourierPosition(
            client_event_id=next(ids), courier_id=courier.id, lat=12.238, lon=109.196,
            device_time=t + timedelta(minutes=minutes), server_time=t, accuracy_m=5))
    db.session.commit()
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EMI", "client_event_id": next(ids), "device_time": t.isoformat(),
        "location": {"lat": 12.238, "lon": 109.196, "accuracy_m": 6},
        "proof": full_proof(item)})
    assert r.status_code == 201
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "false_attempt",
        "description": "Không ai đến nhà"}).json
    case = client.get(f"/api/v1/complaints/{c['id']}", headers=auth(dispatcher)).json
    codes = [e["code"] for e in case["item"]["events"]]
    assert codes == ["EMA", "EMG", "EDG", "EMH", "EDG", "EMI"]
    delivered = case["item"]["events"][-1]
    assert delivered["device_time"] and delivered["server_time"]
    assert delivered["proof"]["signature"] and delivered["location"]["accuracy_m"] == 6
    trails = {tr["code"]: tr for tr in case["gps_trails"]}
    assert set(trails) == {"EMH", "EMI"}
    assert len(trails["EMI"]["points"]) == 4  # -20, -5, +10, +25 minutes


def test_the_trail_of_an_attempt_from_a_clock_found_off_shows_the_pings_around_it(
        client, auth, office, dispatcher, courier, make_item, clock):
    # a phone an hour behind syncs in the evening: its pings are stored at their
    # corrected times, and the trail looked around the attempt's uncorrected time, an
    # hour before it: the courier who did ring showed no GPS near the door
    item = make_item(office, courier=courier, events=("EMG",))
    clock.advance(hours=10)  # 18:00: the phone syncs the day
    behind = timedelta(hours=1)
    pings = [{"kind": "gps", "client_event_id": next(ids),
              "device_time": (minutes(m) - behind).isoformat(), "location": AT_DOOR}
             for m in (100, 115, 130, 145)]
    events = [{"kind": "event", "identifier": item.identifier, "code": code,
               "client_event_id": next(ids), "device_time": (minutes(m) - behind).isoformat(),
               "location": AT_DOOR, **kw}
              for code, m, kw in (("EDG", 90, {}), ("EMH", 120, {
                  "reason": "unreachable_by_phone", "action": "notice_left"}))]
    r = client.post("/api/v1/sync", headers=auth(courier), json={
        "sent_at": (clock() - behind).isoformat(), "events": [*events, *pings]})
    assert [x["result"] for x in r.json["results"]] == ["accepted"] * 6, r.json
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": item.identifier, "category": "false_attempt",
        "description": "Không ai đến nhà"}).json
    case = client.get(f"/api/v1/complaints/{c['id']}", headers=auth(dispatcher)).json
    (trail,) = case["gps_trails"]
    assert trail["code"] == "EMH" and len(trail["points"]) == 4, trail
    # the console's item page draws the same trail
    from api.console.views import gps_trails

    (drawn,) = gps_trails(db.session.get(Item, item.id))
    assert drawn["code"] == "EMH" and len(drawn["points"]) == 4, drawn


def test_missing_scans(client, auth, office, dispatcher, courier, make_item, clock,
                       make_office, make_user):
    stale = make_item(office, events=("EMG",))
    out = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(hours=20)
    fresh = make_item(office, events=("EMG",))
    clock.advance(hours=6)
    r = client.get("/api/v1/missing-scans", headers=auth(dispatcher))
    assert r.status_code == 200, r.json
    listed = {i["identifier"]: i for i in r.json["items"]}
    assert set(listed) == {stale.identifier, out.identifier}
    assert listed[out.identifier]["expected"].startswith("a delivery result")
    assert listed[stale.identifier]["hours_without_scan"] == 26.0
    assert fresh.identifier not in listed
    assert r.json["total"] == 2 and r.json["page"] == 1
    assert client.get("/api/v1/missing-scans", headers=auth(courier)).status_code == 403
    # another office is a 404 (it was the dispatcher's own, silently), as on every report
    other = make_office()
    r = client.get(f"/api/v1/missing-scans?office_id={other.id}", headers=auth(dispatcher))
    assert r.status_code == 404
    admin = auth(make_user(Role.ADMIN))
    r = client.get(f"/api/v1/missing-scans?office_id={other.id}", headers=admin)
    assert r.status_code == 200 and r.json["total"] == 0
    assert client.get(f"/api/v1/missing-scans?office_id={other.id + 99}",
                      headers=admin).status_code == 404
    assert client.get("/api/v1/missing-scans", headers=admin).json["total"] == 2  # every office


def test_a_phone_clock_far_off_does_not_hide_or_age_a_silent_item(
        client, auth, office, dispatcher, courier, make_item, clock):
    """Silence is counted from when a scan happened, never later than the server got it:
    one event from a phone a year ahead kept its item off the list for a year, and one
    from a phone reset to 2000 listed it at once as silent for 26 years."""
    ahead = make_item(office, courier=courier, events=("EMG",))
    reset = make_item(office, courier=courier, events=("EMG",))
    clock.advance(hours=1)
    record(client, auth(courier), ahead.identifier, "EDG", clock() + timedelta(days=365))
    record(client, auth(courier), reset.identifier, "EDG", datetime(2000, 1, 1, tzinfo=UTC))
    r = client.get("/api/v1/missing-scans", headers=auth(dispatcher))
    assert r.json["total"] == 0  # both just scanned
    clock.advance(hours=13)  # out for delivery for 13 hours without a result
    r = client.get("/api/v1/missing-scans", headers=auth(dispatcher))
    listed = {i["identifier"]: i["hours_without_scan"] for i in r.json["items"]}
    assert listed == {ahead.identifier: 13.0, reset.identifier: 13.0}


def test_a_parcel_whose_next_attempt_is_due_on_a_later_day_is_not_idle(
        client, auth, office, dispatcher, courier, make_item, clock):
    # the recipient asked for the 25th: the parcel waits at the office for that day, as
    # planned, and is not listed as silent before it; the answer counts it (due_later).
    # A parcel failed the same morning with its retry due the next day is listed once
    # silent for idle_hours, as before.
    asked = make_item(office, courier=courier, events=("EMG", "EDG"))
    record(client, auth(courier), asked.identifier, "EMH", clock(),
           reason="asks_another_day", action="called_recipient", next_attempt_on="2026-11-25")
    nextday = make_item(office, courier=courier, events=("EMG", "EDG"))
    record(client, auth(courier), nextday.identifier, "EMH", clock())
    for item in (asked, nextday):
        record(client, auth(dispatcher), item.identifier, "EDF", clock())
    clock.advance(hours=26)  # the 21st, 10:00
    r = client.get("/api/v1/missing-scans", headers=auth(dispatcher))
    assert r.status_code == 200, r.json
    assert [i["identifier"] for i in r.json["items"]] == [nextday.identifier]
    assert r.json["total"] == 1 and r.json["due_later"] == 1
    # on the 25th it is due: silent since its last scan, it is listed as any other
    clock.advance(days=4)
    r = client.get("/api/v1/missing-scans", headers=auth(dispatcher))
    assert {i["identifier"] for i in r.json["items"]} == {asked.identifier,
                                                          nextday.identifier}
    assert r.json["due_later"] == 0


def test_missing_scans_expect_a_return_of_an_item_whose_attempts_are_used_up(
        client, auth, office, dispatcher, courier, make_item, clock):
    used_up = attempts_used_up_late(client, auth, office, courier, dispatcher, make_item,
                                    clock)
    clock.advance(hours=30)
    r = client.get("/api/v1/missing-scans", headers=auth(dispatcher))
    row, = r.json["items"]
    assert row["identifier"] == used_up.identifier and row["attempts_used_up"] is True
    assert row["expected"] == "a return to sender (RTS)"  # a new round would be refused


def test_missing_scans_are_paged_by_the_database_longest_silent_first(
        client, auth, office, dispatcher, make_item, clock):
    silent = []
    for _ in range(5):
        silent.append(make_item(office, events=("EMG",)))
        clock.advance(hours=1)
    clock.advance(hours=24)
    for _ in range(3):  # scanned just now: neither listed nor counted
        make_item(office, events=("EMG",))
    seen = []
    for page in (1, 2, 3):
        r = client.get(f"/api/v1/missing-scans?page_size=2&page={page}", headers=auth(dispatcher))
        assert r.status_code == 200, r.json
        assert r.json["total"] == 5
        assert len(r.json["items"]) == (2 if page < 3 else 1)
        seen += [i["identifier"] for i in r.json["items"]]
    assert seen == [i.identifier for i in silent]  # longest silent first, none twice
    bad = client.get("/api/v1/missing-scans?page_size=500", headers=auth(dispatcher))
    assert bad.status_code == 422 and "page_size" in str(bad.json)


def _delivered_history(office, n, when):
    """``n`` items of ``office`` delivered long ago, five events each, inserted in bulk:
    a table that has served a while."""
    from sqlalchemy import insert, select

    from models import TrackingEvent

    first = len(db.session.execute(select(Item.id)).all())
    ids = db.session.execute(insert(Item).returning(Item.id), [dict(
        identifier=f"OLD{first + k:09d}", identifier_kind="external", product="parcel",
        sender_name="S", sender_address="", recipient_name="R", recipient_address="A",
        recipient_city="Nha Trang", recipient_province="Khánh Hòa", weight_g=0,
        cod_amount=0, declared_value=0, id_check_required=False, signature_required=False,
        status="delivered", failed_attempts=0, office_id=office.id, created_at=when,
        updated_at=when) for k in range(n)]).scalars().all()
    db.session.execute(insert(TrackingEvent), [dict(
        item_id=item_id, code=code, client_event_id=f"old-{item_id}-{code}",
        device_time=when, server_time=when, office_id=office.id, status_after="delivered",
        source="api", applied=True) for item_id in ids
        for code in ("EMA", "EMG", "EDG", "EMI", "EDF")])
    db.session.commit()


def test_missing_scans_read_the_events_of_the_items_that_may_wait_only(
        client, auth, office, dispatcher, make_item, make_office, clock):
    # the last scan of every item ever recorded was grouped for each page (and again for
    # its total): 1.2 million events, 2.6 s for an office of 4 400 items, however few
    # parcels it had waiting. Measured in SQLite's virtual machine steps: the work of a
    # page must not grow with other offices' history, nor with the office's delivered
    # items
    if db.engine.dialect.name != "sqlite":
        pytest.skip("counts the steps of SQLite's virtual machine")
    from sqlalchemy import event

    silent = make_item(office, events=("EMG",))
    clock.advance(hours=30)
    h = auth(dispatcher)
    steps = [0]

    def tick():
        steps[0] += 1
        return 0

    def watch(conn, cursor, statement, *a):
        conn.connection.driver_connection.set_progress_handler(tick, 100)

    def work():
        steps[0] = 0
        event.listen(db.engine, "before_cursor_execute", watch)
        try:
            r = client.get("/api/v1/missing-scans", headers=h)
        finally:
            event.remove(db.engine, "before_cursor_execute", watch)
        assert r.status_code == 200, r.json
        assert [i["identifier"] for i in r.json["items"]] == [silent.identifier]
        return steps[0]

    before = work()
    _delivered_history(make_office(), 1000, T0 - timedelta(days=60))
    _delivered_history(office, 1000, T0 - timedelta(days=60))
    assert work() < before * 1.5 + 50


def test_quality_figures(client, auth, office, dispatcher, courier, make_item, clock,
                         full_proof):
    start = clock()
    window = {"start": (start + timedelta(hours=1)).isoformat(),
              "end": (start + timedelta(hours=2)).isoformat()}
    make_item(office, courier=courier, events=("EMG", "EDG", "EMI"))  # first try, no window
    second = make_item(office, courier=courier, events=("EMG", "EDG", "EMH", "EDG"))
    late = make_item(office, courier=courier, events=("EMG", "EDG"), delivery_window=window)
    clock.advance(hours=3)  # past the window
    h = auth(courier)
    for item in (second, late):
        r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
            "code": "EMI", "client_event_id": next(ids), "device_time": clock().isoformat(),
            "location": {"lat": 12.238, "lon": 109.196}, "proof": full_proof(item)})
        assert r.status_code == 201
    c = client.post("/api/v1/complaints", headers=auth(dispatcher), json={
        "identifier": late.identifier, "category": "late", "description": "Giao trễ giờ hẹn"})
    clock.advance(hours=2)
    client.patch(f"/api/v1/complaints/{c.json['id']}", headers=auth(dispatcher),
                 json={"status": "resolved", "resolution_note": "Xin lỗi khách"})
    r = client.get("/api/v1/quality?date=2026-11-20", headers=auth(dispatcher))
    assert r.status_code == 200
    row = r.json["rows"][0]
    assert row["delivered"] == 3 and row["on_time"] == 2
    assert row["first_attempt"] == 2 and row["first_attempt_rate"] == pytest.approx(2 / 3,
                                                                                    abs=1e-3)
    assert row["failed_attempts_by_reason"] == {"recipient_absent": 1}
    assert row["complaints_opened"] == 1 and row["complaints_closed"] == 1
    assert row["median_answer_hours"] == 2.0
    text = client.get("/api/v1/quality?date=2026-11-20&format=csv", headers=auth(dispatcher))
    assert text.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(text.get_data(as_text=True))))
    assert rows[0]["delivered"] == "3" and rows[0]["failed_attempts_by_reason"] == \
        "recipient_absent=1"
    assert client.get("/api/v1/quality?date=2026-11-20", headers=h).status_code == 403
    for day in ("9999-12-31", "0001-01-01"):
        r = client.get(f"/api/v1/quality?date={day}", headers=auth(dispatcher))
        assert r.status_code == 422 and r.json["errors"][0]["parameter"] == "date"


def test_quality_counts_each_failed_attempt_once_as_the_attempt_limit_does(
        client, auth, office, dispatcher, courier, make_item, clock, full_proof):
    # one day's attempts, sent twice or late: the report counts what the item's attempt
    # count (failed_attempts) counts, reason by reason
    late = make_item(office, courier=courier, events=("EMG",))
    twice = make_item(office, courier=courier, events=("EMG",))
    clock.advance(hours=10)  # the phone syncs in the evening
    h, disp = auth(courier), auth(dispatcher)
    # late: out at 08:00, held at 10:00 without a result, out again at 11:00 and
    # delivered at 12:00; then the attempt of 08:30 arrives, sent by the sync and again
    # by the photo scan (08:31, another event id): one attempt, counted once, and the
    # delivery was not a first-attempt success
    synced(client, h, late.identifier, "EDG", minutes(0))
    record(client, disp, late.identifier, "EDF", minutes(120))
    record(client, disp, late.identifier, "EDG", minutes(180))
    record(client, h, late.identifier, "EMI", minutes(240), proof=full_proof(late))
    for m in (30, 31):
        assert synced(client, h, late.identifier, "EMH", minutes(m),
                      reason="recipient_absent", photo=full_proof(late)["photo"]
                      )["applied"] is False
    # twice: the attempt of 09:00 applied, then the same attempt once more from the
    # photo scan (08:59, another id): kept unapplied, not a second attempt
    synced(client, h, twice.identifier, "EDG", minutes(0))
    assert synced(client, h, twice.identifier, "EMH", minutes(60))["applied"] is True
    assert synced(client, h, twice.identifier, "EMH", minutes(59))["applied"] is False
    db.session.expire_all()
    made = {i.identifier: i.failed_attempts for i in db.session.query(Item)}
    assert made == {late.identifier: 1, twice.identifier: 1}
    r = client.get("/api/v1/quality?date=2026-11-20", headers=disp)
    assert r.status_code == 200, r.json
    row = r.json["rows"][0]
    assert row["failed_attempts"] == sum(made.values()) == 2
    assert row["failed_attempts_by_reason"] == {"recipient_absent": 1,
                                                "unreachable_by_phone": 1}
    assert r.json["failed_attempts_by_reason"] == row["failed_attempts_by_reason"]
    assert row["delivered"] == 1 and row["first_attempt"] == 0
    # the next day has none of them
    nxt = client.get("/api/v1/quality?date=2026-11-21", headers=disp).json["rows"][0]
    assert nxt["failed_attempts"] == 0 and nxt["failed_attempts_by_reason"] == {}


def as_each_history_counts(office_id, first, days):
    """The quality figures as the attempt rule reads each item's whole history (how the
    report was made before each counted attempt carried its number): per day,
    deliveries, on time, first-attempt successes and the failed attempts by reason."""
    from collections import Counter

    from api.localtime import day_bounds
    from models import EventCode, Product
    from models.lifecycle import counted_attempts

    deliveries, attempts = [], []
    for item in db.session.execute(db.select(Item)).unique().scalars():
        events = sorted(item.events, key=lambda e: e.id)
        counted = counted_attempts((e.code, e.device_time, e.applied) for e in events)
        tried = [e.device_time for e, c in zip(events, counted, strict=True) if c]
        arrivals = [e.device_time for e in events if e.applied and e.code is EventCode.EMG]
        for e, c in zip(events, counted, strict=True):
            if e.office_id != office_id:
                continue
            if e.code is EventCode.EMI and e.applied:
                arrived = min((t for t in arrivals if t <= e.device_time), default=None)
                promise = timedelta(hours=24 if item.product is Product.EMS else 48)
                on_time = (e.device_time <= item.window_end if item.window_end
                           else arrived is not None and e.device_time - arrived <= promise)
                deliveries.append((e.device_time, on_time,
                                   not any(t <= e.device_time for t in tried)))
            elif c and e.reason is not None:
                attempts.append((e.device_time, e.reason.value))
    rows = []
    for n in range(days):
        lo, hi = day_bounds(first + timedelta(days=n))
        day = [d for d in deliveries if lo <= d[0] < hi]
        reasons = Counter(r for t, r in attempts if lo <= t < hi)
        rows.append({"date": (first + timedelta(days=n)).isoformat(), "delivered": len(day),
                     "on_time": sum(d[1] for d in day), "first_attempt": sum(d[2] for d in day),
                     "failed_attempts": sum(reasons.values()),
                     "failed_attempts_by_reason": dict(sorted(reasons.items()))})
    return rows


def test_quality_counts_as_the_attempt_rule_reads_each_history(
        client, auth, office, dispatcher, courier, make_item, make_office, make_user, clock,
        full_proof):
    # three days of an office's deliveries and attempts, recorded in and out of order
    # (late, copies, synced after the delivery), at the edges of the days and of the
    # promises: the report (counted in SQL from each attempt's number) gives what the
    # attempt rule gives reading each item's history, and what was worked out by hand
    from datetime import date

    from api.localtime import LOCAL_TZ
    from models import TrackingEvent
    from tests.conftest import s10

    def at(day, h, m=0, s=0, us=0):  # local time, November 2026
        return datetime(2026, 11, day, h, m, s, us, tzinfo=LOCAL_TZ).astimezone(UTC)

    clock.now = at(18, 8)  # the items come in before any of it
    window = {"start": at(20, 11).isoformat(), "end": at(20, 12).isoformat()}
    elsewhere = make_office()
    other_courier = make_user(Role.COURIER, elsewhere)
    made = {}
    for name, kw in [("first_try", {}), ("ems_edge", {}), ("ems_over", {}),
                     ("parcel_edge", {"identifier": s10("CP")}),
                     ("parcel_over", {"identifier": s10("CP")}),
                     ("window_edge", {"delivery_window": window}),
                     ("window_over", {"delivery_window": window}),
                     ("retried", {}), ("late_twice", {}), ("copy", {}), ("before_round", {}),
                     ("late_days_before", {}), ("no_arrival", {"identifier": s10("CP")}),
                     ("midnight", {}), ("past_the_period", {}), ("same_time", {})]:
        made[name] = make_item(office, courier=courier, **kw)
    made["elsewhere"] = make_item(elsewhere, courier=other_courier)
    clock.now = at(22, 20)  # the evening of the 22nd: everything is synced by now
    office_h, courier_h = auth(make_user(Role.ADMIN)), auth(courier)
    other_h = auth(other_courier)

    def history(name, *steps, by=courier_h):
        item = made[name]
        for code, when, *reason in steps:
            kw = {"reason": reason[0]} if reason else {}
            if code == "EMI":
                kw["proof"] = full_proof(item)
            if code == "EMH":
                kw["photo"] = full_proof(item)["photo"]
            if code in ("EMG", "EDF"):
                record(client, office_h, item.identifier, code, when)
            else:
                record(client, by, item.identifier, code, when, **kw)

    def late(name, when, reason="unreachable_by_phone"):
        r = synced(client, courier_h, made[name].identifier, "EMH", when, reason=reason,
                   photo=full_proof(made[name])["photo"])
        assert r["applied"] is False, r

    history("first_try", ("EMG", at(19, 7)), ("EDG", at(19, 8)), ("EMI", at(19, 9)))
    # EMS: delivered 24 h after arriving (on time), and a microsecond later (not)
    history("ems_edge", ("EMG", at(19, 10)), ("EDG", at(20, 9)), ("EMI", at(20, 10)))
    history("ems_over", ("EMG", at(19, 10)), ("EDG", at(20, 9)),
            ("EMI", at(20, 10, us=1)))
    # parcels: 48 h (on time), 48 h and a second (not)
    history("parcel_edge", ("EMG", at(19, 6)), ("EDG", at(21, 5)), ("EMI", at(21, 6)))
    history("parcel_over", ("EMG", at(19, 6)), ("EDG", at(21, 5)), ("EMI", at(21, 6, 0, 1)))
    # a window ending at 12:00: delivered at 12:00 (on time), a second later (not)
    history("window_edge", ("EMG", at(20, 7)), ("EDG", at(20, 8)), ("EMI", at(20, 12)))
    history("window_over", ("EMG", at(20, 7)), ("EDG", at(20, 8)), ("EMI", at(20, 12, 0, 1)))
    # failed on the 19th, delivered on the 20th (26 h after arriving: late for EMS)
    history("retried", ("EMG", at(19, 7)), ("EDG", at(19, 8)),
            ("EMH", at(19, 9), "recipient_absent"), ("EDG", at(20, 8)), ("EMI", at(20, 9)))
    # the attempt of 08:30 synced after the delivery, twice (the sync, the photo scan):
    # one attempt, and the delivery no first-attempt success
    history("late_twice", ("EMG", at(20, 7)), ("EDG", at(20, 8)), ("EDF", at(20, 10)),
            ("EDG", at(20, 11)), ("EMI", at(20, 12)))
    late("late_twice", at(20, 8, 30), "recipient_absent")
    late("late_twice", at(20, 8, 31), "recipient_absent")
    # an applied attempt, then its copy from the photo scan (not a second attempt)
    history("copy", ("EMG", at(20, 7)), ("EDG", at(20, 8)), ("EMH", at(20, 9)))
    late("copy", at(20, 8, 59))
    history("copy", ("EDG", at(21, 8)), ("EMI", at(21, 9)))
    # a late attempt dated before the item went out: in no round, not counted
    history("before_round", ("EMG", at(21, 7)), ("EDG", at(21, 9)), ("EMI", at(21, 10)))
    late("before_round", at(21, 8))
    # a late attempt of the 19th (the round closed by the office), synced after the
    # delivery of the 21st
    history("late_days_before", ("EMG", at(19, 7)), ("EDG", at(19, 8)), ("EDF", at(19, 18)),
            ("EDG", at(21, 8)), ("EMI", at(21, 9)))
    late("late_days_before", at(19, 10), "weather")
    # its arrival dated after the delivery (a phone's clock): no arrival before it
    history("no_arrival", ("EMG", at(20, 7)), ("EDG", at(20, 8)), ("EMI", at(20, 9)))
    # a failure a microsecond before midnight, delivered at midnight
    history("midnight", ("EMG", at(20, 20)), ("EDG", at(20, 21)),
            ("EMH", at(20, 23, 59, 59, 999_999), "refused"), ("EDG", at(21, 0)),
            ("EMI", at(21, 0)))
    history("past_the_period", ("EMG", at(21, 22)), ("EDG", at(21, 23)), ("EMI", at(22, 0)))
    # a failure and the delivery at the same time: the failure came before it
    history("same_time", ("EMG", at(20, 14)), ("EDG", at(20, 14, 30)), ("EMH", at(20, 15)),
            ("EDG", at(20, 15)), ("EMI", at(20, 15)))
    # another office's failure and delivery
    history("elsewhere", ("EMG", at(20, 7)), ("EDG", at(20, 8)), ("EMH", at(20, 9)),
            ("EDG", at(20, 10)), ("EMI", at(20, 11)), by=other_h)
    db.session.execute(db.update(TrackingEvent).where(
        TrackingEvent.item_id == made["no_arrival"].id, TrackingEvent.code == "EMG")
        .values(device_time=at(20, 9, 30)))
    db.session.commit()
    db.session.expire_all()

    by_hand = [
        {"date": "2026-11-19", "delivered": 1, "on_time": 1, "first_attempt": 1,
         "failed_attempts": 2,
         "failed_attempts_by_reason": {"recipient_absent": 1, "weather": 1}},
        # ems_edge, ems_over, window_edge, window_over, retried, late_twice, no_arrival,
        # same_time; late_twice, copy, midnight, same_time failed
        {"date": "2026-11-20", "delivered": 8, "on_time": 4, "first_attempt": 5,
         "failed_attempts": 4,
         "failed_attempts_by_reason": {"recipient_absent": 1, "refused": 1,
                                       "unreachable_by_phone": 2}},
        # parcel_edge, parcel_over, copy, before_round, late_days_before, midnight
        {"date": "2026-11-21", "delivered": 6, "on_time": 3, "first_attempt": 3,
         "failed_attempts": 0, "failed_attempts_by_reason": {}},
    ]
    assert as_each_history_counts(office.id, date(2026, 11, 19), 3) == by_hand
    h = auth(dispatcher)
    r = client.get("/api/v1/quality?date=2026-11-19&days=3", headers=h)
    assert r.status_code == 200, r.json
    assert [{k: row[k] for k in by_hand[0]} for row in r.json["rows"]] == by_hand
    assert r.json["failed_attempts_by_reason"] == {
        "recipient_absent": 2, "refused": 1, "unreachable_by_phone": 2, "weather": 1}
    assert [row["on_time_rate"] for row in r.json["rows"]] == [1.0, 0.5, 0.5]
    assert [row["first_attempt_rate"] for row in r.json["rows"]] == [1.0, 0.625, 0.5]
    # a day at a time: the same rows
    for n, expected in enumerate(by_hand):
        one = client.get(f"/api/v1/quality?date=2026-11-{19 + n}", headers=h).json
        assert [{k: one["rows"][0][k] for k in expected}] == [expected]
    nxt = client.get("/api/v1/quality?date=2026-11-22", headers=h).json["rows"][0]
    assert nxt["delivered"] == 1 and nxt["first_attempt"] == 1 and nxt["on_time"] == 1


def test_returns_due_lists_items_whose_attempts_are_used_up(
        client, auth, office, dispatcher, courier, make_item, make_user, make_office, clock):
    used_up = attempts_used_up_late(client, auth, office, courier, dispatcher, make_item,
                                    clock)
    reached = clock()  # when the late third attempt was recorded
    # not listed: attempts left; returned already; out on its last round, which ends it
    make_item(office, courier=courier, events=("EMG", "EDG", "EMH", "EDF"))
    make_item(office, courier=courier,
              events=("EMG", "EDG", "EMH", "EDG", "EMH", "EDG", "EMH"))  # RTS by the 3rd
    make_item(make_office(), events=("EMG",))
    clock.advance(hours=14)
    disp = auth(dispatcher)
    r = client.get("/api/v1/returns-due", headers=disp)
    assert r.status_code == 200, r.json
    assert r.json["total"] == 1 and r.json["max_attempts"] == 3
    row, = r.json["items"]
    assert row == {
        "identifier": used_up.identifier, "status": "held_at_office", "failed_attempts": 3,
        "last_attempt_at": (reached - timedelta(hours=10) + timedelta(minutes=180)).isoformat(),
        "last_attempt_reason": "refused", "last_attempt_late": False,
        "waiting_since": reached.isoformat(), "hours_waiting": 14.0,
        "courier_id": courier.id, "chosen_at_attempt": False, "why": "attempts_used_up",
        "collect_by": None}
    # the office returns it: off the list
    record(client, disp, used_up.identifier, "RTS", clock())
    assert client.get("/api/v1/returns-due", headers=disp).json["total"] == 0
    # who may see it: the office's dispatchers and admins, who name the office
    other = make_user(Role.DISPATCHER, make_office())
    r = client.get(f"/api/v1/returns-due?office_id={office.id}", headers=auth(other))
    assert r.status_code == 404
    assert client.get("/api/v1/returns-due", headers=auth(courier)).status_code == 403
    admin = auth(make_user(Role.ADMIN))
    r = client.get("/api/v1/returns-due", headers=admin)
    assert r.status_code == 422 and r.json["errors"][0]["parameter"] == "office_id"
    assert client.get(f"/api/v1/returns-due?office_id={office.id}",
                      headers=admin).status_code == 200
    r = client.get("/api/v1/returns-due?page_size=0", headers=disp)
    assert r.status_code == 422 and "page_size" in str(r.json)


def test_a_return_chosen_at_an_attempt_waits_since_that_attempt(
        client, auth, office, dispatcher, courier, make_item, clock):
    # the courier chose the return (refused) at the first attempt, and the office
    # scanned the parcel back in 5 hours later: it has waited since the attempt, not
    # since its last change (the item's updated_at, which the scan moved)
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    chosen = clock()
    record(client, auth(courier), item.identifier, "EMH", chosen, reason="refused",
           action="return_to_sender")
    clock.advance(hours=5)
    disp = auth(dispatcher)
    record(client, disp, item.identifier, "EDF", clock())
    clock.advance(hours=3)
    row, = client.get("/api/v1/returns-due", headers=disp).json["items"]
    assert row["chosen_at_attempt"] is True
    assert (row["waiting_since"], row["hours_waiting"]) == (chosen.isoformat(), 8.0)


def test_returns_due_longest_waiting_first_and_paged(
        client, auth, office, dispatcher, courier, make_item, clock):
    first = attempts_used_up_late(client, auth, office, courier, dispatcher, make_item, clock)
    second = attempts_used_up_late(client, auth, office, courier, dispatcher, make_item,
                                   clock)
    disp = auth(dispatcher)
    seen = []
    for page in (1, 2):
        r = client.get(f"/api/v1/returns-due?page_size=1&page={page}", headers=disp)
        assert r.status_code == 200 and r.json["total"] == 2, r.json
        seen += [i["identifier"] for i in r.json["items"]]
    assert seen == [first.identifier, second.identifier]


def as_the_history_says(office_id, max_attempts):
    """The returns due as the attempt rule reads each item's whole history (how the list
    was made before each counted attempt carried its number): every row, the longest
    waiting first, then by identifier."""
    from api.complaints.service import RETURN_STATUSES
    from models.lifecycle import counted_attempts

    rows = []
    for item in db.session.execute(db.select(Item).where(
            Item.office_id == office_id, Item.status.in_(RETURN_STATUSES),
            Item.failed_attempts >= max_attempts)).unique().scalars():
        events = sorted(item.events, key=lambda e: e.id)
        counted = counted_attempts((e.code, e.device_time, e.applied) for e in events)
        attempts = [e for e, c in zip(events, counted, strict=True) if c]
        since = (attempts[max_attempts - 1].server_time if len(attempts) >= max_attempts
                 else item.updated_at)
        last = max(attempts, key=lambda e: e.device_time, default=None)
        rows.append((since, item.identifier, {
            "identifier": item.identifier, "waiting_since": since.isoformat(),
            "failed_attempts": item.failed_attempts,
            "last_attempt_at": last.device_time.isoformat() if last else None,
            "last_attempt_late": (not last.applied) if last else None}))
    rows.sort(key=lambda r: r[:2])
    return [r for _, _, r in rows]


def test_returns_due_are_filtered_ordered_and_paged_by_the_database(
        app, client, auth, office, dispatcher, courier, make_item, make_office, make_user,
        clock, count_queries):
    # the limit lowered to 2 (POSTAL_MAX_DELIVERY_ATTEMPTS) after the items' attempts:
    # every item below with two attempts is due, waiting since its second
    two = ("EMG", "EDG", "EMH", "EDG", "EMH", "EDF")
    oldest = make_item(office, courier=courier, events=two)
    clock.advance(hours=1)
    # three items whose second attempts were recorded at the same time (one sync): the
    # same wait, in identifier order
    tied = [make_item(office, courier=courier, events=two) for _ in range(3)]
    in_bag = make_item(office, courier=courier, events=two[:-1])  # back, not scanned in
    clock.advance(hours=1)
    # three attempts, the first counted late, an hour after the others: waiting since
    # the second counted, not since the third
    late = make_item(office, courier=courier, events=("EMG",))
    h, disp = auth(courier), auth(dispatcher)
    start = clock()
    clock.advance(hours=10)
    synced(client, h, late.identifier, "EDG", start)
    for code, m in (("EDF", 45), ("EDG", 50), ("EMH", 60), ("EDG", 100), ("EMH", 180),
                    ("EDF", 240)):
        record(client, h if code == "EMH" else disp, late.identifier, code,
               start + timedelta(minutes=m))
    second = clock()
    clock.advance(hours=1)
    assert synced(client, h, late.identifier, "EMH", start + timedelta(minutes=30)
                  )["applied"] is False
    # counted otherwise (no attempt in its history): waiting since its last change
    clock.advance(hours=1)
    odd = make_item(office, courier=courier, events=("EMG",))
    db.session.get(Item, odd.id).failed_attempts = 2
    db.session.get(Item, odd.id).updated_at = clock() - timedelta(hours=30)
    db.session.commit()
    # not due: out on a round, too few attempts, another office's
    make_item(office, courier=courier, events=(*two[:-1], "EDG"))
    make_item(office, courier=courier, events=two[:3])
    elsewhere = make_office()
    make_item(elsewhere, courier=make_user(Role.COURIER, elsewhere), events=two)
    clock.advance(hours=5)
    app.config["MAX_DELIVERY_ATTEMPTS"] = 2
    db.session.expire_all()

    expected = as_the_history_says(office.id, 2)
    assert expected[-1]["waiting_since"] == second.isoformat()
    assert [r["identifier"] for r in expected] == [
        odd.identifier, oldest.identifier, *sorted(t.identifier for t in tied),
        in_bag.identifier, late.identifier]
    disp = auth(dispatcher)  # (a fresh token: the clock moved on)
    full = client.get("/api/v1/returns-due?page_size=200", headers=disp)
    assert full.status_code == 200, full.json
    full = full.json
    assert full["total"] == len(expected) == 7 and full["max_attempts"] == 2
    assert [{k: row[k] for k in expected[0]} for row in full["items"]] == expected
    assert full["items"][0]["last_attempt_at"] is None  # no attempt on record
    assert full["items"][-1]["last_attempt_late"] is False  # the latest by device time
    # every page size, page after page, up to the first page past the end
    for size in range(1, len(expected) + 2):
        seen, page = [], 1
        while True:
            r = client.get(f"/api/v1/returns-due?page_size={size}&page={page}",
                           headers=disp)
            assert r.status_code == 200, r.json
            assert r.json["total"] == len(expected) and r.json["page_size"] == size
            assert len(r.json["items"]) == min(size, len(expected) - len(seen))
            if not r.json["items"]:
                break
            seen += r.json["items"]
            page += 1
        assert seen == full["items"], size
        assert page == -(-len(expected) // size) + 1  # the page past the end is empty
    far = client.get("/api/v1/returns-due?page_size=3&page=1000", headers=disp).json
    assert far["items"] == [] and far["total"] == len(expected)
    # a page costs the same statements however many rows it holds or the office has
    with count_queries() as one:
        client.get("/api/v1/returns-due?page_size=1", headers=disp)
    with count_queries() as all_rows:
        client.get("/api/v1/returns-due?page_size=200", headers=disp)
    assert one() == all_rows()


@pytest.fixture
def identifiers_in_a_language_collation(app):
    """On PostgreSQL, ``items.identifier`` in a language's collation for the test (as
    in a database created with ``en_US.UTF-8``; this one is ``C``); SQLite has none."""
    from sqlalchemy import text

    def collate(name):
        db.session.commit()  # (no transaction left open to wait for)
        with db.engine.begin() as conn:
            conn.execute(text("ALTER TABLE items ALTER COLUMN identifier "
                              f'TYPE VARCHAR(40) COLLATE "{name}"'))

    if db.engine.dialect.name != "postgresql":
        yield
        return
    names = db.session.execute(text(
        "SELECT collname FROM pg_collation WHERE collname IN "
        "('en_US.utf8', 'en-US-x-icu', 'und-x-icu')")).scalars().all()
    if not names:
        pytest.skip("no language collation in this PostgreSQL")
    collate(sorted(names)[0])
    yield
    collate("default")


def test_returns_due_with_the_same_wait_in_code_order_on_every_database(
        app, client, auth, office, dispatcher, courier, make_item,
        identifiers_in_a_language_collation):
    # carriers' codes with punctuation, their second attempts recorded at the same
    # time: by identifier in code order (as Python sorts), whatever the collation
    # (en_US sets punctuation aside or before letters; code order puts '_' after them)
    two = ("EMG", "EDG", "EMH", "EDG", "EMH", "EDF")
    names = ["SHOP_0", "SHOPA", "SHOP-2", "SHOP1", "SHOP.3"]
    for name in names:
        make_item(office, courier=courier, identifier=name, events=two)
    app.config["MAX_DELIVERY_ATTEMPTS"] = 2
    disp = auth(dispatcher)
    r = client.get("/api/v1/returns-due", headers=disp)
    assert r.status_code == 200, r.json
    assert [i["identifier"] for i in r.json["items"]] == sorted(names) == [
        "SHOP-2", "SHOP.3", "SHOP1", "SHOPA", "SHOP_0"]
    assert len({i["waiting_since"] for i in r.json["items"]}) == 1  # all tied
    paged = [i["identifier"] for page in (1, 2, 3) for i in client.get(
        f"/api/v1/returns-due?page_size=2&page={page}", headers=disp).json["items"]]
    assert paged == sorted(names)


def test_each_counted_attempt_carries_its_number(
        client, auth, office, dispatcher, courier, make_item, clock):
    from models.lifecycle import counted_attempts

    late = attempts_used_up_late(client, auth, office, courier, dispatcher, make_item,
                                 clock)
    # the same late attempt once more (the photo scan, another event id): no number
    h = auth(courier)
    assert synced(client, h, late.identifier, "EMH", minutes(31))["applied"] is False
    plain = make_item(office, courier=courier, events=("EMG", "EDG", "EMH", "EDF"))
    db.session.expire_all()
    for item in (late, plain):
        events = db.session.get(Item, item.id).events
        counted = counted_attempts((e.code, e.device_time, e.applied) for e in events)
        numbers = list(itertools.accumulate(counted))
        assert [e.attempt_no for e in events] == [
            n if c else None for n, c in zip(numbers, counted, strict=True)]
    assert [e.attempt_no for e in db.session.get(Item, late.id).events
            if e.attempt_no] == [1, 2, 3]


def test_line_breaks_are_kept_in_descriptions_and_notes_other_controls_refused(
        client, auth, office, dispatcher, make_item):
    from models import Complaint

    item = make_item(office)
    # the public form's textarea sends CRLF
    r = client.post(f"/track/{item.identifier}/complaint?lang=en", data={
        "phone": "0912345678", "category": "late",
        "description": "Nobody came.\r\nPlease call me before delivering."})
    assert r.status_code == 201, r.text
    stored = db.session.execute(db.select(Complaint)).scalars().one()
    assert stored.description == "Nobody came.\nPlease call me before delivering."
    h = auth(dispatcher)
    r = client.post("/api/v1/complaints", headers=h, json={
        "identifier": item.identifier, "category": "damaged", "description": "Box\n\tdented"})
    assert r.status_code == 201, r.json
    r = client.patch(f"/api/v1/complaints/{r.json['id']}", headers=h, json={
        "status": "resolved", "resolution_note": "Called back.\nRefunded."})
    assert r.status_code == 200, r.json
    assert r.json["resolution_note"] == "Called back.\nRefunded."
    bad = client.post("/api/v1/complaints", headers=h, json={
        "identifier": item.identifier, "category": "damaged", "description": "Box\x07dented"})
    assert bad.status_code == 422


@pytest.mark.slow
def test_quality_of_a_month_with_more_deliveries_than_query_parameters(
        client, auth, office, dispatcher, courier, clock):
    # a busy office's month: more delivered items than one statement may carry
    # parameters on PostgreSQL (65,535); listing their ids in an IN (...) was a 500 there
    from sqlalchemy import Integer, String, cast, insert, literal, select

    from models import EventCode, Item, Product, Status, TrackingEvent

    n, now = 65_600, clock()
    nums = select(literal(0, Integer).label("n")).cte("nums", recursive=True)
    nums = nums.union_all(select(nums.c.n + 1).where(nums.c.n < n - 1))
    number = cast(nums.c.n, String)
    const = {"identifier_kind": literal("external"), "product": literal(Product.PARCEL.value),
             "sender_name": literal("S"), "sender_address": literal(""),
             "recipient_name": literal("R"), "recipient_address": literal("A"),
             "recipient_city": literal("C"), "recipient_province": literal("P"),
             "weight_g": literal(0), "cod_amount": literal(0), "declared_value": literal(0),
             "id_check_required": literal(False), "signature_required": literal(False),
             "status": literal(Status.DELIVERED.value), "failed_attempts": literal(0),
             "office_id": literal(office.id), "created_at": literal(now, Item.created_at.type),
             "updated_at": literal(now, Item.updated_at.type)}
    db.session.execute(insert(Item).from_select(
        ["identifier", *const], select(literal("BULK") + number, *const.values())))
    emi = {"code": literal(EventCode.EMI.value), "device_time": literal(now, Item.created_at.type),
           "server_time": literal(now, Item.created_at.type), "actor_id": literal(courier.id),
           "office_id": literal(office.id), "status_after": literal(Status.DELIVERED.value),
           "source": literal("api"), "applied": literal(True)}
    db.session.execute(insert(TrackingEvent).from_select(
        ["item_id", "client_event_id", *emi],
        select(Item.id, literal("bulk-emi-") + cast(Item.id, String), *emi.values())
        .where(Item.identifier.startswith("BULK"))))
    db.session.commit()
    r = client.get("/api/v1/quality?date=2026-11-20", headers=auth(dispatcher))
    assert r.status_code == 200, r.json
    assert r.json["rows"][0]["delivered"] == n
    assert r.json["rows"][0]["first_attempt"] == n
