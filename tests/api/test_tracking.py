from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from models import Role


@pytest.fixture
def delivered_after_failure(make_office, make_user, make_item):
    office = make_office(city="Nha Trang", province="Khánh Hòa")
    courier = make_user(Role.COURIER, office, full_name="Trần Văn Bưu Tá", username="btnhatrang",
                        phone="0905111222")
    item = make_item(office, courier=courier, events=("EMG", "EDG", "EMH", "EDG", "EMI"),
                     cod_amount=150_000)
    return item, courier


def test_public_tracking_shows_history_without_personal_data(client, delivered_after_failure):
    item, courier = delivered_after_failure
    r = client.get(f"/api/v1/track/{item.identifier}")
    assert r.status_code == 200
    body = r.json
    assert body["status"] == "delivered" and body["status_label"] == "Đã giao thành công"
    assert [e["code"] for e in body["events"]] == ["EMI", "EDG", "EMH", "EDG", "EMG", "EMA"]
    failed = body["events"][2]
    assert failed["reason"] == "Người nhận vắng nhà"
    assert body["destination"] == "Nha Trang, Khánh Hòa"
    assert body["events"][0]["time"].endswith("+07:00")
    raw = json.dumps(body, ensure_ascii=False)
    for secret in ["Nguyễn Văn An", "0912345678", "12 Trần Phú", "Shop Hoa Biển", "0901234567",
                   courier.full_name, courier.username, "0905111222", "12.238", "109.196",
                   "Lộc Thọ"]:
        assert secret not in raw, secret


def test_public_tracking_in_english(client, delivered_after_failure):
    item, _ = delivered_after_failure
    body = client.get(f"/api/v1/track/{item.identifier}?lang=en").json
    assert body["status_label"] == "Delivered"
    assert body["events"][2]["reason"] == "Recipient not at home"
    assert client.get(f"/api/v1/track/{item.identifier}?lang=fr").status_code == 422


def test_public_tracking_unknown_and_invalid_numbers(client, app):
    r = client.get("/api/v1/track/EE123456785VN")
    assert r.status_code == 404 and r.content_type == "application/problem+json"
    r = client.get("/api/v1/track/EE123456789VN")
    assert r.status_code == 422 and "check digit" in r.json["detail"]


def test_tracking_page_is_vietnamese_by_default_and_private(client, delivered_after_failure):
    item, courier = delivered_after_failure
    r = client.get(f"/track/{item.identifier.lower()}")
    assert r.status_code == 200 and r.content_type.startswith("text/html")
    html = r.get_data(as_text=True)
    assert '<html lang="vi">' in html and "Đã giao thành công" in html
    assert "Người nhận vắng nhà" in html
    for secret in ["Nguyễn Văn An", "0912345678", "12 Trần Phú", courier.full_name,
                   courier.username]:
        assert secret not in html
    en = client.get(f"/track/{item.identifier}?lang=en").get_data(as_text=True)
    assert '<html lang="en">' in en and "Delivered" in en


@pytest.mark.parametrize(("reason", "action", "awaiting", "vi", "en"), [
    ("will_collect_at_office", "called_recipient", "collection",
     "chờ quý khách đến nhận tại bưu cục", "Waiting for you to collect it at the post office"),
    ("refused", "return_to_sender", "return",
     "chuyển hoàn cho người gửi", "It will be returned to the sender"),
])
def test_tracking_page_says_a_parcel_waits_for_its_recipient_or_its_return(
        client, auth, make_office, make_user, make_item, reason, action, awaiting, vi, en):
    office = make_office()
    courier = make_user(Role.COURIER, office)
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EMH", "client_event_id": f"page-awaiting-{awaiting}", "reason": reason,
        "action": action, "device_time": "2026-11-20T09:15:00+07:00",
        "location": {"lat": 12.2381, "lon": 109.1962}})
    assert r.status_code == 201, r.json
    body = client.get(f"/api/v1/track/{item.identifier}").json
    assert (body["awaiting"], body["next_attempt_on"]) == (awaiting, None)
    page = client.get(f"/track/{item.identifier}").get_data(as_text=True)
    assert 'id="awaiting"' in page and vi in page and 'id="next-attempt"' not in page
    assert en in client.get(f"/track/{item.identifier}?lang=en").get_data(as_text=True)
    # sent out again (the recipient called back): waiting for nothing
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EDG", "client_event_id": f"page-awaiting-{awaiting}-out",
        "device_time": "2026-11-20T10:15:00+07:00"})
    assert r.status_code == 201, r.json
    assert client.get(f"/api/v1/track/{item.identifier}").json["awaiting"] is None
    assert 'id="awaiting"' not in client.get(f"/track/{item.identifier}").get_data(
        as_text=True)


def test_tracking_page_shows_the_next_attempt_day(client, auth, make_office, make_user,
                                                   make_item, clock):
    office = make_office()
    courier = make_user(Role.COURIER, office)
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EMH", "client_event_id": "page-next-attempt-1", "reason": "asks_another_day",
        "action": "called_recipient", "next_attempt_on": "2026-11-24",
        "device_time": "2026-11-20T09:15:00+07:00",
        "location": {"lat": 12.2381, "lon": 109.1962}})
    assert r.status_code == 201, r.json
    assert client.get(f"/api/v1/track/{item.identifier}").json["next_attempt_on"] == \
        "2026-11-24"
    vi = client.get(f"/track/{item.identifier}").get_data(as_text=True)
    assert 'id="next-attempt"' in vi and "Dự kiến phát lại: 24/11/2026" in vi
    en = client.get(f"/track/{item.identifier}?lang=en").get_data(as_text=True)
    assert "Next delivery attempt: 24/11/2026" in en
    # the day gone by without the attempt (held at the office since): no longer "next"
    clock.advance(days=4, hours=15)  # 23:00 on the 24th
    assert client.get(f"/api/v1/track/{item.identifier}").json["next_attempt_on"] == \
        "2026-11-24"
    clock.advance(days=1)
    assert client.get(f"/api/v1/track/{item.identifier}").json["next_attempt_on"] is None
    assert 'id="next-attempt"' not in client.get(f"/track/{item.identifier}").get_data(
        as_text=True)
    # none scheduled (a delivered item): no line at all
    done = make_item(office, courier=courier, events=("EMG", "EDG", "EMI"))
    assert 'id="next-attempt"' not in client.get(f"/track/{done.identifier}").get_data(
        as_text=True)


def test_tracking_page_errors_are_pages(client, app):
    r = client.get("/track/EE123456785VN")
    assert r.status_code == 404 and "Không tìm thấy" in r.get_data(as_text=True)
    r = client.get("/track/EE123456789VN?lang=en")
    assert r.status_code == 422 and "Invalid item number" in r.get_data(as_text=True)
    r = client.get("/track?number=ee123456785vn")
    assert r.status_code == 302 and "/track/ee123456785vn" in r.headers["Location"]
    # a pasted link, a slash: no page has that path (a bare 404 before), the form says so
    for typed in ("https://example.vn/track/EE123456785VN", "EE123456785VN/", ".."):
        r = client.get("/track", query_string={"number": typed, "lang": "en"})
        assert r.status_code == 422 and "Invalid item number" in r.get_data(as_text=True)
    r = client.get("/track/<img src=x onerror=alert(1)>")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "<img" not in html and "&lt;img" in html


def test_the_public_page_cannot_be_framed_or_load_anything(client):
    for path in ("/track", "/track/EE123456785VN"):
        r = client.get(path)
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        csp = r.headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'none'" in csp


def test_public_tracking_shows_when_events_most_likely_happened(client, auth, make_office,
                                                                make_user, make_item, clock):
    """A phone set to 2090 showed the customer a scan in 2090, on top of the history: the
    page shows the time corrected by the phone's measured clock skew, never later than the
    server received it."""
    office = make_office()
    courier = make_user(Role.COURIER, office)
    item = make_item(office, courier=courier, events=("EMG",))
    clock.advance(minutes=30)
    now = clock()
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EDG", "client_event_id": "track-2090-1",
        "device_time": "2090-01-01T08:00:00+07:00", "sent_at": "2090-01-01T08:05:00+07:00"})
    assert r.status_code == 201, r.json
    clock.advance(minutes=30)
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=auth(courier), json={
        "code": "EMH", "client_event_id": "track-2090-2", "reason": "asks_another_day",
        "action": "called_recipient", "device_time": "2091-06-01T09:00:00+07:00",
        "location": {"lat": 12.2381, "lon": 109.1962}})
    assert r.status_code == 201, r.json
    body = client.get(f"/api/v1/track/{item.identifier}").json
    assert [e["code"] for e in body["events"]] == ["EMH", "EDG", "EMG", "EMA"]
    times = [datetime.fromisoformat(e["time"]) for e in body["events"]]
    assert times == sorted(times, reverse=True) and times[0] <= clock()
    assert times[1] == now - timedelta(minutes=5)  # 08:00 on a clock 5 minutes before it sent
    assert "2090" not in str(body) and "2091" not in str(body)


def test_public_tracking_shows_a_failed_attempt_once_as_it_counted(
        client, auth, make_office, make_user, make_item, clock):
    """The same failed attempt recorded twice (the phone's sync, then its photo scan,
    two event ids), both arriving after the office sent the item out again, counts once
    (``failed_attempts`` 1): the customer was shown two failed attempts, and a third
    "attempt" dated before the item ever went out, which counts for nothing."""
    office = make_office()
    courier = make_user(Role.COURIER, office)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    item, other = (make_item(office, courier=courier, events=("EMG",)) for _ in range(2))
    t0 = clock()
    clock.advance(hours=10)  # the evening: the phone syncs its day

    def at(minutes):
        return (t0 + timedelta(minutes=minutes)).isoformat()

    door = {"lat": 12.238, "lon": 109.196, "accuracy_m": 10}
    r = client.post("/api/v1/sync", headers=h, json={"events": [
        {"kind": "event", "identifier": item.identifier, "code": "EDG",
         "client_event_id": "pub-dup-edg-1", "device_time": at(60), "location": door}]})
    assert r.json["results"][0]["applied"] is True, r.json
    for n, (code, minutes) in enumerate((("EDF", 180), ("EDG", 200))):
        r = client.post(f"/api/v1/items/{item.identifier}/events", headers=disp, json={
            "code": code, "client_event_id": f"pub-dup-office-{n}", "device_time": at(minutes)})
        assert r.status_code == 201, r.json
    r = client.post("/api/v1/sync", headers=h, json={"events": [
        {"kind": "event", "identifier": item.identifier, "code": "EMH",
         "client_event_id": f"pub-dup-emh-{minutes}", "device_time": at(minutes),
         "location": door, "reason": "unreachable_by_phone", "action": "notice_left"}
        for minutes in (90, 91, -60)]})
    assert [(x["applied"], x["flags"]) for x in r.json["results"]] == [
        (False, ["late_event"])] * 3, r.json
    staff = client.get(f"/api/v1/items/{item.identifier}", headers=disp).json
    assert staff["failed_attempts"] == 1 and staff["status"] == "out_for_delivery"
    assert [e["code"] for e in staff["events"]].count("EMH") == 3  # staff see every record
    body = client.get(f"/api/v1/track/{item.identifier}").json
    assert [e["code"] for e in body["events"]] == ["EDG", "EDF", "EMH", "EDG", "EMG", "EMA"]
    attempt = body["events"][2]
    assert attempt["time"] == datetime.fromisoformat(at(90)).astimezone(
        datetime.fromisoformat(attempt["time"]).tzinfo).isoformat()
    html = client.get(f"/track/{item.identifier}").get_data(as_text=True)
    assert html.count("Phát không thành công") == 1
    # the attempt applied as it came, then its photo scan uploaded after the item went
    # out again: kept late, counting nothing (the round's attempt counted): shown once
    r = client.post("/api/v1/sync", headers=h, json={"events": [
        {"kind": "event", "identifier": other.identifier, "code": code,
         "client_event_id": f"pub-dup2-{code}", "device_time": at(minutes), "location": door,
         **({"reason": "unreachable_by_phone", "action": "notice_left"}
            if code == "EMH" else {})}
        for code, minutes in (("EDG", 60), ("EMH", 90))]})
    assert [x["applied"] for x in r.json["results"]] == [True, True], r.json
    r = client.post(f"/api/v1/items/{other.identifier}/events", headers=disp, json={
        "code": "EDG", "client_event_id": "pub-dup2-office", "device_time": at(200)})
    assert r.status_code == 201, r.json
    r = client.post("/api/v1/scans", headers=h, json={
        "action": "failed_attempt", "codes": [{"text": other.identifier}],
        "client_event_id": "pub-dup2-scan", "device_time": at(91), "location": door,
        "reason": "unreachable_by_phone", "action_taken": "notice_left"})
    assert r.status_code == 201 and r.json["event"]["flags"] == ["late_event"], r.json
    assert client.get(f"/api/v1/items/{other.identifier}", headers=disp).json[
        "failed_attempts"] == 1
    body = client.get(f"/api/v1/track/{other.identifier}").json
    assert [e["code"] for e in body["events"]] == ["EDG", "EMH", "EDG", "EMG", "EMA"]
