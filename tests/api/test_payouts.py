"""Pension payouts: created, assigned with cash, paid against an ID check and a signed
receipt, or brought back; all of it in the courier's cash ledger."""

from __future__ import annotations

import pytest

from models import Role
from tests.api.paging import pages
from tests.conftest import at_once, when_both_arrive


def new_payout(client, h, **kw):
    body = {"program": "pension", "period": "2026-11", "amount": 3_250_000,
            "due_date": "2026-11-20",
            "beneficiary": {"name": "Cụ Trần Văn Lộc", "phone": "0905000111",
                            "address": "8 Ngô Gia Tự", "lat": 12.25, "lon": 109.19,
                            "id_number": "056012345678"}}
    body.update(kw)
    return client.post("/api/v1/payouts", json=body, headers=h)


def pay_body(evidence, **kw):
    body = {"client_event_id": "payout-0000001", "device_time": "2026-11-20T09:30:00+07:00",
            "location": {"lat": 12.25, "lon": 109.19}, "received_by": "Trần Văn Lộc",
            "id_number": "056 012 345 678", "signature": evidence["signature"]}
    body.update(kw)
    return body


def test_payout_round_trip_and_ledger(client, auth, dispatcher, courier, full_proof,
                                      make_item, office):
    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    r = new_payout(client, h)
    assert r.status_code == 201 and r.json["status"] == "pending"
    assert "056012345678" not in r.get_data(as_text=True)
    pid = r.json["id"]
    r = client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    assert r.status_code == 200 and r.json["status"] == "assigned"
    ch = auth(courier)
    assert [p["id"] for p in client.get("/api/v1/payouts", headers=ch).json] == [pid]
    bad = client.post(f"/api/v1/payouts/{pid}/pay", headers=ch,
                      json=pay_body(evidence, id_number="056000000000"))
    assert bad.status_code == 422 and bad.json["errors"][0]["pointer"] == "/id_number"
    ok = client.post(f"/api/v1/payouts/{pid}/pay", headers=ch, json=pay_body(evidence))
    assert ok.status_code == 200 and ok.json["status"] == "paid"
    assert ok.json["receipt_number"] and ok.json["id_number_last4"] == "5678"
    again = client.post(f"/api/v1/payouts/{pid}/pay", headers=ch, json=pay_body(evidence))
    assert again.status_code == 200 and again.json["receipt_number"] == ok.json["receipt_number"]
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]] == ["advance", "payout"]
    assert ledger["totals"]["advances"] == 3_250_000
    assert ledger["totals"]["paid_out"] == 3_250_000 and ledger["totals"]["on_hand"] == 0


def test_proxy_needs_authorisation_photo_and_failures_go_back(client, auth, dispatcher,
                                                              courier, full_proof, make_item,
                                                              office):
    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    ch = auth(courier)
    r = client.post(f"/api/v1/payouts/{pid}/pay", headers=ch,
                    json=pay_body(evidence, relation="proxy", id_number="079111222333"))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/photo"
    r = client.post(f"/api/v1/payouts/{pid}/fail", headers=ch, json={"note": "Cụ đi viện"})
    assert r.status_code == 200 and r.json["status"] == "failed"
    assert client.post(f"/api/v1/payouts/{pid}/pay", headers=ch,
                       json=pay_body(evidence)).status_code == 409
    # the office gives it to the courier again the next day
    r = client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    assert r.status_code == 200
    r = client.post(f"/api/v1/payouts/{pid}/pay", headers=ch, json=pay_body(
        evidence, client_event_id="payout-0000002", relation="proxy", id_number="079111222333",
        photo=evidence["photo"]))
    assert r.status_code == 200 and r.json["relation"] == "proxy"


def test_an_assignment_sent_twice_with_its_reference_gives_the_cash_once(
        client, auth, dispatcher, courier, clock):
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    body = {"courier_id": courier.id, "reference": "assign-0000001"}
    for _ in range(2):  # a resend: the same answer, one advance
        r = client.post(f"/api/v1/payouts/{pid}/assign", json=body, headers=h)
        assert r.status_code == 200 and r.json["status"] == "assigned", r.json
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]] == ["advance"]
    # the reference used for another payout: refused, nothing booked
    other = new_payout(client, h, period="2026-12").json["id"]
    r = client.post(f"/api/v1/payouts/{other}/assign", json=body, headers=h)
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
    # without a reference, a second assignment is refused as before
    r = client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id},
                    headers=h)
    assert r.status_code == 409 and r.json["type"] == "/problems/payout-not-open"
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]] == ["advance"]
    # a failure keeps its time with its note, also once the task is given out again
    clock.advance(minutes=45)
    r = client.post(f"/api/v1/payouts/{pid}/fail", json={"note": "Cụ đi viện"}, headers=h)
    assert r.status_code == 200 and r.json["failed_at"] == "2026-11-20T01:45:00+00:00", r.json
    r = client.post(f"/api/v1/payouts/{pid}/assign", headers=h,
                    json={"courier_id": courier.id, "reference": "assign-0000002"})
    assert r.json["status"] == "assigned" and r.json["failed_at"] == "2026-11-20T01:45:00+00:00"
    assert r.json["failure_note"] == "Cụ đi viện"


def test_who_may_do_what(client, auth, dispatcher, courier, make_user, make_office):
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    assert new_payout(client, auth(courier)).status_code == 403
    other = make_user(Role.COURIER, courier.office)
    client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    assert client.get("/api/v1/payouts", headers=auth(other)).json == []
    assert client.post(f"/api/v1/payouts/{pid}/fail", headers=auth(other),
                       json={"note": "xyz"}).status_code == 404
    stranger = make_user(Role.DISPATCHER, make_office())
    assert client.post(f"/api/v1/payouts/{pid}/assign", headers=auth(stranger),
                       json={"courier_id": courier.id}).status_code == 404


@pytest.mark.parametrize("override", [{"amount": 0}, {"amount": 1.5}, {"period": "2026-13"},
                                      {"program": "lottery"}, {"beneficiary": {"name": "x"}}])
def test_bad_payouts_are_422(client, auth, dispatcher, override):
    assert new_payout(client, auth(dispatcher), **override).status_code == 422


def test_a_beneficiary_phone_longer_than_the_column_is_422(client, auth, dispatcher):
    # the phone pattern allows 21 characters, the column holds 20: on PostgreSQL the
    # insert failed with a 500
    beneficiary = {"name": "Cụ Trần Văn Lộc", "address": "8 Ngô Gia Tự",
                   "id_number": "056012345678", "phone": "+84905000111222333444"}
    r = new_payout(client, auth(dispatcher), beneficiary=beneficiary)
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == ["/beneficiary/phone"]
    # the whole value must be a phone number, as on items (the pattern only had to match
    # at the start)
    r = new_payout(client, auth(dispatcher), beneficiary={**beneficiary,
                                                          "phone": "0905000111 <b>"})
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == ["/beneficiary/phone"]
    r = new_payout(client, auth(dispatcher), beneficiary={**beneficiary,
                                                          "phone": "+8490500011122233344"})
    assert r.status_code == 201, r.json


def test_payout_made_offline_arrives_by_sync(client, auth, dispatcher, courier, full_proof,
                                             make_item, office):
    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    entry = {"kind": "payout", "payout_id": pid, **pay_body(evidence)}
    r = client.post("/api/v1/sync", headers=auth(courier), json={"events": [entry]})
    assert r.status_code == 200
    res = r.json["results"][0]
    assert res["result"] == "accepted" and res["receipt_number"]
    again = client.post("/api/v1/sync", headers=auth(courier), json={"events": [entry]})
    assert again.json["results"][0]["result"] == "duplicate"
    bad = client.post("/api/v1/sync", headers=auth(courier), json={"events": [
        {**entry, "client_event_id": "payout-0000009", "payout_id": 999}]})
    assert bad.json["results"][0]["result"] == "rejected"
    # the first payout's event id used for a second payout: that entry alone is refused
    second = new_payout(client, h, period="2026-12").json["id"]
    client.post(f"/api/v1/payouts/{second}/assign", json={"courier_id": courier.id}, headers=h)
    r = client.post(f"/api/v1/payouts/{second}/pay", headers=auth(courier),
                    json=pay_body(evidence))
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
    ping = {"kind": "gps", "client_event_id": "gps-after-reuse-1",  # (08:00 now: not ahead)
            "device_time": "2026-11-20T07:40:00+07:00", "location": {"lat": 12.25, "lon": 109.19}}
    r = client.post("/api/v1/sync", headers=auth(courier), json={"events": [
        ping, {**entry, "payout_id": second}]})
    assert r.status_code == 200
    assert [x["result"] for x in r.json["results"]] == ["accepted", "rejected"]
    assert r.json["results"][1]["problem"]["status"] == 409


def test_a_payout_paid_offline_before_the_office_marked_it_failed_is_paid(
        client, auth, dispatcher, courier, full_proof, make_item, office, clock):
    """The courier paid at 09:30 with no signal; at 11:00 the office, not hearing from
    them, marked the task failed. The sync was refused (409 payout-not-open): the
    payment had no record, the courier's ledger kept 3 250 000 on hand (short by as
    much at the hand-in) and the task was open to be paid again."""
    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    other = new_payout(client, h, period="2026-12").json["id"]
    for task in (pid, other):
        client.post(f"/api/v1/payouts/{task}/assign", json={"courier_id": courier.id},
                    headers=h)
    clock.advance(hours=3)  # 11:00
    for task in (pid, other):
        r = client.post(f"/api/v1/payouts/{task}/fail", json={"note": "no answer"},
                        headers=h)
        assert r.status_code == 200 and r.json["status"] == "failed"
    clock.advance(hours=1)  # the phone finds a signal at noon
    r = client.post("/api/v1/sync", headers=auth(courier), json={
        "sent_at": clock().isoformat(), "events": [
            {"kind": "payout", "payout_id": pid, **pay_body(evidence)},
            # paid after the office marked it failed: it was no longer the courier's
            {"kind": "payout", "payout_id": other, **pay_body(
                evidence, client_event_id="payout-0000002",
                device_time="2026-11-20T11:30:00+07:00")}]})
    assert [x["result"] for x in r.json["results"]] == ["accepted", "rejected"], r.json
    assert r.json["results"][1]["problem"]["status"] == 409
    paid = client.get("/api/v1/payouts", headers=h).json
    assert {p["id"]: p["status"] for p in paid} == {pid: "paid", other: "failed"}
    assert [p["failure_note"] for p in paid if p["id"] == pid] == ["no answer"]
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert ledger["totals"]["paid_out"] == 3_250_000
    assert ledger["totals"]["on_hand"] == 3_250_000  # the other task's cash, to hand in


@pytest.mark.parametrize(("device_time", "sent_at", "flags"), [
    # a phone reset to 2000 that sends no sent_at: the device time cannot be right, and
    # the server's receive time (18:00 on the 20th) decides the shift day
    ("2000-01-01T09:00:00+07:00", None, ["implausible_device_time"]),
    # the same phone sending its (equally wrong) sent_at: the skew corrects the device
    # time to 17:00 on the 20th, which is plausible, so only the clock is flagged
    ("2000-01-01T09:00:00+07:00", "2000-01-01T10:00:00+07:00", ["device_clock_off"]),
    # a clock 8 h ahead: 00:30 on the 21st on the phone was 16:30 on the 20th
    ("2026-11-21T00:30:00+07:00", "2026-11-21T02:00:00+07:00", ["device_clock_off"]),
    # a clock 8 h ahead and a time still absurd once corrected: the server's day
    ("2000-01-01T09:00:00+07:00", "2026-11-21T02:00:00+07:00",
     ["device_clock_off", "implausible_device_time"]),
    # a sound clock: the device time decides
    ("2026-11-20T17:00:00+07:00", "2026-11-20T18:00:00+07:00", []),
])
def test_a_payout_synced_is_booked_to_the_day_it_really_happened(
        client, auth, dispatcher, courier, full_proof, make_item, office, clock,
        device_time, sent_at, flags):
    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    clock.advance(hours=10)  # the phone syncs at 18:00 on 2026-11-20 in Viet Nam
    entry = {"kind": "payout", "payout_id": pid,
             **pay_body(evidence, device_time=device_time)}
    body = {"events": [entry], **({"sent_at": sent_at} if sent_at else {})}
    res = client.post("/api/v1/sync", headers=auth(courier), json=body).json["results"][0]
    assert res["result"] == "accepted" and res["flags"] == flags, res
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]] == ["advance", "payout"]
    assert ledger["totals"]["paid_out"] == 3_250_000 and ledger["totals"]["on_hand"] == 0


@pytest.mark.parametrize(("device_time", "day"), [
    # a phone reset to 2000: the server's receive time (08:00 on the 20th) decides
    ("2000-01-01T09:00:00+07:00", "2026-11-20"),
    # a clock 16 h ahead (no sent_at here to correct it): the server's day, not the 21st
    ("2026-11-21T00:30:00+07:00", "2026-11-20"),
    # paid offline yesterday and sent now: the device time decides
    ("2026-11-19T16:00:00+07:00", "2026-11-19"),
])
def test_a_payout_paid_online_is_booked_by_the_time_flags(
        client, auth, dispatcher, courier, full_proof, make_item, office, device_time, day):
    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    r = client.post(f"/api/v1/payouts/{pid}/pay", headers=auth(courier),
                    json=pay_body(evidence, device_time=device_time))
    assert r.status_code == 200, r.json
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date={day}", headers=h).json
    assert ledger["totals"]["paid_out"] == 3_250_000


def test_a_payout_paid_from_two_phones_at_once_is_paid_once(app, client, auth, dispatcher,
                                                             courier, full_proof, make_item,
                                                             office, monkeypatch):
    from api.payouts import service

    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    # id_hash runs after the status check: without a row lock both requests get there
    # before either writes; with it the second waits for the first's commit
    monkeypatch.setattr(service.policy, "id_hash", when_both_arrive(service.policy.id_hash))
    ch = auth(courier)
    answers = at_once(app, *(
        lambda c, n=n: c.post(f"/api/v1/payouts/{pid}/pay", headers=ch,
                              json=pay_body(evidence, client_event_id=f"payout-phone-{n}"))
        for n in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409]
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]] == ["advance", "payout"]  # booked once
    assert ledger["totals"]["on_hand"] == 0


def test_an_admin_naming_an_office_that_does_not_exist(client, auth, make_user, office):
    # a payout for office 999 failed its foreign key: a 500
    h = auth(make_user(Role.ADMIN))
    missing = office.id + 1000
    r = new_payout(client, h, office_id=missing)
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == ["/office_id"]
    r = client.post("/api/v1/route-plans", headers=h,
                    json={"office_id": missing, "date": "2026-11-20"})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/office_id"
    # reports of it are a 404, not an empty report of no office
    for url in (f"/api/v1/quality?office_id={missing}&date=2026-11-20",
                f"/api/v1/returns-due?office_id={missing}",
                f"/api/v1/cash/report?office_id={missing}&date=2026-11-20"):
        r = client.get(url, headers=h)
        assert r.status_code == 404, (url, r.json)
    r = client.get(f"/api/v1/quality?office_id={office.id}&date=2026-11-20", headers=h)
    assert r.status_code == 200


def test_the_list_puts_open_payouts_first_and_pages_with_a_total(client, auth, dispatcher):
    """The list was the 1 000 oldest payouts and nothing more: after a year of paid ones
    the payouts assigned that day were not on it. Open ones now come first (oldest due
    first), then the paid ones (latest due first), a page at a time, with the total."""
    from models import PayoutStatus, PayoutTask, db

    h = auth(dispatcher)
    ids = {day: new_payout(client, h, due_date=f"2026-11-{day:02d}").json["id"]
           for day in (3, 9, 12, 18, 20)}
    for day in (3, 12, 18):  # paid long ago (as a year of history would be)
        db.session.get(PayoutTask, ids[day]).status = PayoutStatus.PAID
    db.session.commit()
    found = pages(client, "/api/v1/payouts?page_size=2", h)
    assert len(found) == 3 and all(r.headers["X-Total-Count"] == "5" for r in found)
    assert all("page_size=2" in r.headers["Link"] for r in found[:-1])
    assert [p["id"] for r in found for p in r.json] == [ids[9], ids[20], ids[18], ids[12],
                                                        ids[3]]
    r = client.get("/api/v1/payouts?status=paid&page_size=2&page=2", headers=h)
    assert [p["id"] for p in r.json] == [ids[3]] and "Link" not in r.headers
    assert r.headers["X-Total-Count"] == "3"
    bad = client.get("/api/v1/payouts?page_size=1001", headers=h)
    assert bad.status_code == 422


def test_a_payout_is_not_given_to_a_deactivated_courier(client, auth, dispatcher, office,
                                                        make_user):
    """The API gave a payout, and its cash as an advance, to a courier who was
    deactivated (and so cannot log in to pay it or bring it back); items and the
    console's form take active couriers only."""
    gone = make_user(Role.COURIER, office, active=False)
    h = auth(dispatcher)
    pid = new_payout(client, h).json["id"]
    r = client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": gone.id}, headers=h)
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/courier_id"
    assert client.get(f"/api/v1/couriers/{gone.id}/cash?date=2026-11-20",
                      headers=h).json["entries"] == []
    assert client.get("/api/v1/payouts?status=pending", headers=h).json[0]["id"] == pid


def test_a_beneficiary_id_number_cannot_be_guessed_by_retrying(app, client, auth, dispatcher,
                                                               courier, full_proof, make_item,
                                                               office):
    # as a delivery's ID check: after PROOF_FAILURE_LIMIT wrong numbers even the right
    # one is refused for a while (30 wrong ones, then the right one, paid the cash out)
    app.config["PROOF_FAILURE_LIMIT"] = "3 per hour"
    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pid, other = new_payout(client, h).json["id"], new_payout(client, h).json["id"]
    for p in (pid, other):
        client.post(f"/api/v1/payouts/{p}/assign", json={"courier_id": courier.id}, headers=h)
    ch = auth(courier)
    for n in range(3):
        r = client.post(f"/api/v1/payouts/{pid}/pay", headers=ch, json=pay_body(
            evidence, client_event_id=f"payout-guess-{n}", id_number=f"05601234500{n}"))
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/id_number"
    r = client.post(f"/api/v1/payouts/{pid}/pay", headers=ch, json=pay_body(evidence))
    assert r.status_code == 429 and r.json["type"] == "/problems/too-many-attempts"
    assert int(r.headers["Retry-After"]) > 0
    # by sync too, and nothing was paid
    r = client.post("/api/v1/sync", headers=ch, json={"device_id": "phone-1", "events": [
        {"kind": "payout", "payout_id": pid, **pay_body(evidence)}]})
    assert r.json["results"][0]["problem"]["status"] == 429
    listed = {p["id"]: p for p in client.get("/api/v1/payouts", headers=h).json}
    assert listed[pid]["status"] == "assigned"
    # other payouts are not affected
    r = client.post(f"/api/v1/payouts/{other}/pay", headers=ch,
                    json=pay_body(evidence, client_event_id="payout-other-1"))
    assert r.status_code == 200 and r.json["status"] == "paid"


def test_a_payout_reference_drawn_twice_is_drawn_again(client, auth, dispatcher, monkeypatch):
    from api.payouts import service

    drawn = iter(["CT0000000001", "CT0000000001", "CT0000000002"])
    monkeypatch.setattr(service, "new_reference", lambda: next(drawn))
    h = auth(dispatcher)
    first = new_payout(client, h)
    assert first.status_code == 201 and first.json["reference"] == "CT0000000001"
    # no reference given: the one drawn by chance again was a 409 "Payout … exists"
    r = new_payout(client, h, period="2026-12")
    assert r.status_code == 201 and r.json["reference"] == "CT0000000002"


def test_two_payouts_paid_under_one_client_event_id_at_once(app, client, auth, dispatcher,
                                                            courier, full_proof, make_item,
                                                            office, monkeypatch):
    """A phone sends two payments with one client_event_id (each checks that no other
    payout took it before either writes): the second met the first at the unique
    index, a 500 on PostgreSQL (in a sync, the whole upload's). Now a 409, as when the
    first was already stored."""
    from api.payouts import service

    evidence = full_proof(make_item(office), by=courier)
    h = auth(dispatcher)
    pids = [new_payout(client, h).json["id"] for _ in range(2)]
    for pid in pids:
        client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id}, headers=h)
    monkeypatch.setattr(service.policy, "id_hash", when_both_arrive(service.policy.id_hash))
    ch = auth(courier)
    answers = at_once(app, *(
        lambda c, pid=pid: c.post(f"/api/v1/payouts/{pid}/pay", headers=ch,
                                  json=pay_body(evidence, client_event_id="payout-one-id"))
        for pid in pids))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.json for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json["type"] == "/problems/idempotency-key-reused"
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]].count("payout") == 1


def test_one_assignment_reference_sent_for_two_payouts_at_once(app, client, auth, dispatcher,
                                                                courier, monkeypatch):
    """Two assignments of two payouts under one ``reference`` (each locks only its own
    task, so both find the reference unused before either writes): the second met the
    first at the ledger's unique reference, a 500 on PostgreSQL. Now a 409, as when the
    first was already stored; one advance is booked."""
    from api.payouts import service

    h = auth(dispatcher)
    pids = [new_payout(client, h, period=f"2026-{m}").json["id"] for m in (11, 12)]
    monkeypatch.setattr(service, "shift_day", when_both_arrive(service.shift_day))
    body = {"courier_id": courier.id, "reference": "assign-0000009"}
    answers = at_once(app, *(
        lambda c, pid=pid: c.post(f"/api/v1/payouts/{pid}/assign", json=body, headers=h)
        for pid in pids))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.json for a in answers]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json["type"] == "/problems/idempotency-key-reused"
    listed = client.get("/api/v1/payouts", headers=h).json
    assert sorted(p["status"] for p in listed) == ["assigned", "pending"]
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]] == ["advance"]
