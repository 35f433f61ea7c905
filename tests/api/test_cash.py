"""Courier cash ledger: COD in, hand-ins counted by the office, corrections, reports."""

from __future__ import annotations

import itertools

import pytest

from models import CashEntry, Role, db
from tests.conftest import at_once, when_both_arrive

ids = (f"cash-{n:06d}" for n in itertools.count())


def deliver(client, h, item, proof):
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EMI", "client_event_id": next(ids), "device_time": "2026-11-20T10:00:00+07:00",
        "location": {"lat": 12.238, "lon": 109.196}, "proof": proof})
    assert r.status_code == 201, r.json
    return r


@pytest.fixture
def day(client, auth, office, courier, make_item, full_proof):
    items = [make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=amount)
             for amount in (250_000, 1_200_000)]
    pending = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=90_000)
    for it in items:
        deliver(client, auth(courier), it, full_proof(it))
    return items, pending


def test_cod_collected_lands_in_the_couriers_ledger(client, auth, courier, day):
    r = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=auth(courier))
    assert r.status_code == 200
    assert [e["kind"] for e in r.json["entries"]] == ["cod_collected", "cod_collected"]
    assert r.json["totals"]["cod_collected"] == 1_450_000
    assert r.json["totals"]["on_hand"] == 1_450_000
    other_day = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-21",
                           headers=auth(courier)).json
    assert other_day["entries"] == []


def test_handover_records_the_discrepancy_and_corrections_add_entries(
        client, auth, courier, dispatcher, day):
    h = auth(dispatcher)
    body = {"courier_id": courier.id, "date": "2026-11-20", "counted_amount": 1_400_000,
            "note": "counted twice", "reference": "receipt-000123"}
    r = client.post("/api/v1/cash/handovers", json=body, headers=h)
    assert r.status_code == 201
    assert r.json["amount"] == -1_400_000 and r.json["expected_on_hand"] == 1_450_000
    again = client.post("/api/v1/cash/handovers", json=body, headers=h)
    assert again.json["id"] == r.json["id"]  # the same receipt is one hand-in
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert ledger["totals"]["discrepancy"] == -50_000
    assert ledger["totals"]["on_hand"] == 50_000
    first = ledger["entries"][0]
    fix = client.post("/api/v1/cash/corrections", headers=h, json={
        "entry_id": first["id"], "amount": -50_000, "reason": "recipient paid 200,000 only; "
        "shop agreed"})
    assert fix.status_code == 201 and fix.json["corrects_id"] == first["id"]
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert ledger["totals"]["on_hand"] == 0
    assert ledger["entries"][0] == first  # the corrected entry itself is unchanged
    assert client.post("/api/v1/cash/corrections", headers=h, json={
        "entry_id": first["id"], "amount": 0, "reason": "nothing"}).status_code == 422
    assert db.session.query(CashEntry).count() == 4


def test_who_may_do_what(client, auth, courier, dispatcher, day, make_user, make_office):
    other = make_user(Role.COURIER, courier.office)
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=auth(other)).status_code == 404
    r = client.post("/api/v1/cash/handovers", headers=auth(courier), json={
        "courier_id": courier.id, "date": "2026-11-20", "counted_amount": 1})
    assert r.status_code == 403
    stranger = make_user(Role.DISPATCHER, make_office())
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=auth(stranger)).status_code == 404
    assert client.get("/api/v1/cash/report?date=2026-11-20",
                      headers=auth(courier)).status_code == 403


@pytest.mark.parametrize("body", [
    {"courier_id": 1, "date": "2026-11-20", "counted_amount": -5},
    {"courier_id": 1, "date": "2026-11-20", "counted_amount": 10.5},
    {"courier_id": 1, "date": "today", "counted_amount": 5},
    {"courier_id": 1, "date": "2026-11-20"},
])
def test_bad_handovers_are_422(client, auth, dispatcher, body):
    assert client.post("/api/v1/cash/handovers", json=body,
                       headers=auth(dispatcher)).status_code == 422


def test_office_report(client, auth, courier, dispatcher, day):
    h = auth(dispatcher)
    client.post("/api/v1/cash/handovers", headers=h, json={
        "courier_id": courier.id, "date": "2026-11-20", "counted_amount": 1_450_000})
    r = client.get("/api/v1/cash/report?date=2026-11-20", headers=h)
    assert r.status_code == 200
    row = r.json["couriers"][0]
    assert (row["courier_id"], row["cod_collected"], row["handed_in"], row["discrepancy"],
            row["on_hand"]) == (courier.id, 1_450_000, 1_450_000, 0, 0)
    assert r.json["office"]["cod_collected"] == 1_450_000
    assert r.json["cod_outstanding_on_items"] == 90_000


def test_ledger_has_no_update_or_delete(client, auth, dispatcher, day):
    entry = db.session.query(CashEntry).first()
    for method in ("put", "patch", "delete"):
        r = getattr(client, method)(f"/api/v1/cash/handovers/{entry.id}",
                                    headers=auth(dispatcher))
        assert r.status_code in (404, 405)


def test_the_same_handover_sent_twice_at_once_is_one(app, client, auth, courier, dispatcher,
                                                     day, monkeypatch):
    from api.cash import service

    # _entries runs after the reference check, before the insert
    monkeypatch.setattr(service, "_entries", when_both_arrive(service._entries))
    h = auth(dispatcher)
    body = {"courier_id": courier.id, "date": "2026-11-20", "counted_amount": 1_400_000,
            "reference": "receipt-000777"}
    answers = at_once(app, *(lambda c: c.post("/api/v1/cash/handovers", json=body, headers=h)
                             for _ in range(2)))
    assert [a.status_code for a in answers] == [201, 201]
    assert answers[0].json["id"] == answers[1].json["id"]
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert [e["kind"] for e in ledger["entries"]].count("handover") == 1

def test_hand_ins_are_for_couriers_and_a_reference_is_one_day(client, auth, courier,
                                                             dispatcher, day, make_user):
    h = auth(dispatcher)
    body = {"courier_id": dispatcher.id, "date": "2026-11-20", "counted_amount": 100}
    r = client.post("/api/v1/cash/handovers", json=body, headers=h)
    assert r.status_code == 403  # nobody counts their own cash in (a clerk's till)
    admin = auth(make_user(Role.ADMIN))
    assert client.post("/api/v1/cash/handovers", json={**body, "courier_id": 10**6},
                       headers=admin).status_code == 404
    body = {"courier_id": courier.id, "date": "2026-11-20", "counted_amount": 100,
            "reference": "RCPT-DAY-0001"}
    assert client.post("/api/v1/cash/handovers", json=body, headers=h).status_code == 201
    r = client.post("/api/v1/cash/handovers", json={**body, "date": "2026-11-19"}, headers=h)
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
    r = client.get("/api/v1/cash/report?date=9999-12-31", headers=h)
    assert r.status_code == 422


def test_the_largest_amounts_allowed_are_stored(client, auth, courier, dispatcher, day):
    # 10^10 VND is within the schemas' limit but over a 32-bit integer (PostgreSQL's
    # INTEGER): a hand-in or correction that large was a 500 there
    h = auth(dispatcher)
    r = client.post("/api/v1/cash/handovers", headers=h, json={
        "courier_id": courier.id, "date": "2026-11-20", "counted_amount": 10**10})
    assert r.status_code == 201, r.json
    assert r.json["amount"] == -10**10
    for amount in (10**10, 10**10):  # the expected cash on hand grows past 2^31 too
        fix = client.post("/api/v1/cash/corrections", headers=h, json={
            "entry_id": r.json["id"], "amount": amount, "reason": "miscounted"})
        assert fix.status_code == 201, fix.json
    r = client.post("/api/v1/cash/handovers", headers=h, json={
        "courier_id": courier.id, "date": "2026-11-20", "counted_amount": 0})
    assert r.status_code == 201, r.json
    assert r.json["expected_on_hand"] == 1_450_000 + 10**10
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=h).json
    assert ledger["totals"]["on_hand"] == 1_450_000 + 10**10
    report = client.get("/api/v1/cash/report?date=2026-11-20", headers=h).json
    assert report["office"]["corrections"] == 2 * 10**10


def test_a_day_handed_in_twice_is_short_only_by_what_is_still_out(client, auth, courier,
                                                                   dispatcher, day):
    # 1 450 000 on hand: 1 000 000 at midday, 450 000 in the evening. Summed over both
    # hand-ins the day was 450 000 short though every dong came in
    h = auth(dispatcher)
    for counted, ref in ((1_000_000, "receipt-midday-1"), (450_000, "receipt-evening-1")):
        r = client.post("/api/v1/cash/handovers", headers=h, json={
            "courier_id": courier.id, "date": "2026-11-20", "counted_amount": counted,
            "reference": ref})
        assert r.status_code == 201, r.json
    totals = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                        headers=h).json["totals"]
    assert totals["on_hand"] == 0 and totals["discrepancy"] == 0
    r = client.post("/api/v1/cash/handovers", headers=h, json={
        "courier_id": courier.id, "date": "2026-11-20", "counted_amount": 0})
    assert r.status_code == 201 and r.json["expected_on_hand"] == 0


def test_two_hand_ins_at_once_each_expect_what_the_other_left(app, client, auth, courier,
                                                              dispatcher, day, monkeypatch):
    from api.cash import service

    # both read the ledger before either wrote: each expected 1 450 000
    monkeypatch.setattr(service, "_entries", when_both_arrive(service._entries))
    h, courier_id = auth(dispatcher), courier.id
    answers = at_once(app, *(
        lambda c, n=n, ref=ref: c.post("/api/v1/cash/handovers", headers=h, json={
            "courier_id": courier_id, "date": "2026-11-20", "counted_amount": n,
            "reference": ref})
        for n, ref in ((1_000_000, "receipt-at-once-a"), (450_000, "receipt-at-once-b"))))
    assert [a.status_code for a in answers] == [201, 201]
    expected = sorted(a.json["expected_on_hand"] for a in answers)
    assert expected in ([450_000, 1_450_000], [1_000_000, 1_450_000])
    totals = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                        headers=h).json["totals"]
    assert totals["on_hand"] == 0 and totals["discrepancy"] == 0


def test_cod_a_dispatcher_records_for_a_courier_is_in_the_couriers_ledger(
        client, auth, office, courier, dispatcher, make_item, make_user, full_proof):
    """The phone died after the photo: a dispatcher records the delivery for the courier.
    The cash is in the courier's hands; it was booked to the dispatcher, whose ledger
    no endpoint showed and whose cash no hand-in could take: the office report showed it
    on hand for good, and the courier's hand-in 700 000 over."""
    out = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=700_000)
    h = auth(dispatcher)
    deliver(client, h, out, full_proof(out, by=courier))
    mine = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=auth(courier)).json
    assert mine["totals"]["cod_collected"] == 700_000
    # at the counter (the item at the office): the clerk took the cash, their till is a
    # ledger that another member of staff counts in
    counter = make_item(office, events=("EMG", "EDH"), cod_amount=90_000)
    deliver(client, h, counter, full_proof(counter, by=dispatcher))
    till = client.get(f"/api/v1/couriers/{dispatcher.id}/cash?date=2026-11-20", headers=h)
    assert till.status_code == 200 and till.json["totals"]["on_hand"] == 90_000
    body = {"courier_id": dispatcher.id, "date": "2026-11-20", "counted_amount": 90_000}
    assert client.post("/api/v1/cash/handovers", json=body, headers=h).status_code == 403
    # nor corrects it: the clerk corrected the COD of their own counter away, had
    # nothing left to hand in, and kept the cash
    own = till.json["entries"][0]["id"]
    fix = {"entry_id": own, "amount": -90_000, "reason": "recipient paid nothing"}
    r = client.post("/api/v1/cash/corrections", json=fix, headers=h)
    assert r.status_code == 403, r.json
    assert client.get(f"/api/v1/couriers/{dispatcher.id}/cash?date=2026-11-20",
                      headers=h).json["totals"]["on_hand"] == 90_000
    other = auth(make_user(Role.DISPATCHER, office))
    r = client.post("/api/v1/cash/handovers", json=body, headers=other)
    assert r.status_code == 201, r.json
    report = client.get("/api/v1/cash/report?date=2026-11-20", headers=h).json
    assert report["office"]["on_hand"] == 700_000  # the courier's, not yet handed in
    assert client.get(f"/api/v1/couriers/{dispatcher.id}/cash?date=2026-11-20",
                      headers=auth(courier)).status_code == 404


def test_an_admin_takes_no_cod_cash_at_the_counter(
        client, auth, office, courier, make_item, make_user, full_proof):
    """An admin recorded a COD delivery at the counter: the cash was booked to them, and
    no ledger showed it nor any hand-in took it (the office report had it on hand for
    good). Refused, nothing recorded; the COD of a parcel in a courier's bag is still
    the courier's when an admin records it for them."""
    from models import Item

    admin = make_user(Role.ADMIN)
    counter = make_item(office, events=("EMG", "EDH"), cod_amount=90_000)
    r = client.post(f"/api/v1/items/{counter.identifier}/events", headers=auth(admin), json={
        "code": "EMI", "client_event_id": next(ids), "device_time": "2026-11-20T10:00:00+07:00",
        "location": {"lat": 12.238, "lon": 109.196}, "proof": full_proof(counter, by=admin)})
    assert r.status_code == 403 and "no cash till" in r.json["detail"], r.json
    assert db.session.get(Item, counter.id).status.value == "at_pickup_point"
    assert db.session.query(CashEntry).count() == 0
    plain = make_item(office, events=("EMG", "EDH"))  # no cash: an admin may hand it over
    deliver(client, auth(admin), plain, full_proof(plain, by=admin))
    out = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=50_000)
    deliver(client, auth(admin), out, full_proof(out, by=courier))
    mine = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=auth(courier)).json
    assert mine["totals"]["cod_collected"] == 50_000


def test_the_office_discrepancy_is_every_couriers_not_the_last_hand_in(
        client, auth, office, courier, dispatcher, day, make_item, make_user, full_proof):
    """The office's total discrepancy was the last hand-in's of the day, whoever's: a
    courier 50 000 short, then another counted in exact, and the office showed 0 short
    (the console's cash page footer too)."""
    other = make_user(Role.COURIER, office)
    it = make_item(office, courier=other, events=("EMG", "EDG"), cod_amount=300_000)
    deliver(client, auth(other), it, full_proof(it))
    h = auth(dispatcher)
    for who, counted in ((courier, 1_400_000), (other, 300_000)):
        assert client.post("/api/v1/cash/handovers", headers=h, json={
            "courier_id": who.id, "date": "2026-11-20",
            "counted_amount": counted}).status_code == 201
    report = client.get("/api/v1/cash/report?date=2026-11-20", headers=h).json
    assert sorted(r["discrepancy"] for r in report["couriers"]) == [-50_000, 0]
    assert report["office"]["discrepancy"] == -50_000
    assert report["office"]["on_hand"] == 50_000


def test_cod_waiting_at_a_pick_up_point_is_outstanding(client, auth, office, courier,
                                                       dispatcher, day, make_item):
    """A COD parcel at a pick-up point is not delivered and its cash not collected: the
    cash report and the quality report left it out of the COD outstanding."""
    make_item(office, events=("EMG", "EDH"), cod_amount=400_000)
    h = auth(dispatcher)
    report = client.get("/api/v1/cash/report?date=2026-11-20", headers=h).json
    assert report["cod_outstanding_on_items"] == 90_000 + 400_000
    quality = client.get("/api/v1/quality?date=2026-11-20", headers=h).json
    assert quality["cod_outstanding"] == 90_000 + 400_000


def test_two_clerks_counting_each_others_till_at_once_both_get_an_answer(
        app, client, auth, office, dispatcher, make_user, make_item, full_proof,
        monkeypatch):
    """Two counter clerks count each other's till at the same moment (the end of the
    day). Each hand-in locked its till's user row FOR UPDATE, which also keeps every
    other transaction from inserting a row that refers to that user; each then inserted
    its entry, created by the other clerk (whose row the other hand-in held): on
    PostgreSQL a deadlock, one of them a 500."""
    from api.cash import service

    other = make_user(Role.DISPATCHER, office)
    for clerk in (dispatcher, other):
        counter = make_item(office, events=("EMG", "EDH"), cod_amount=90_000)
        deliver(client, auth(clerk), counter, full_proof(counter, by=clerk))
    monkeypatch.setattr(service, "_entries", when_both_arrive(service._entries, timeout=3))
    pairs = ((auth(other), dispatcher.id), (auth(dispatcher), other.id))
    answers = at_once(app, *(
        lambda c, h=h, till=till: c.post("/api/v1/cash/handovers", headers=h, json={
            "courier_id": till, "date": "2026-11-20", "counted_amount": 90_000})
        for h, till in pairs))
    assert [a.status_code for a in answers] == [201, 201], [a.json for a in answers]
    assert [a.json["expected_on_hand"] for a in answers] == [90_000, 90_000]



@pytest.fixture
def moved(client, auth, courier, day, make_office, make_item, full_proof):
    """The courier collected 1 450 000 VND of COD on office A's parcels in the morning,
    was then moved to office B (an admin changed their office) and collected 100 000
    there in the afternoon."""
    other = make_office()
    courier.office_id = other.id
    db.session.commit()
    it = make_item(other, courier=courier, events=("EMG", "EDG"), cod_amount=100_000)
    r = client.post(f"/api/v1/items/{it.identifier}/events", headers=auth(courier), json={
        "code": "EMI", "client_event_id": next(ids),
        "device_time": "2026-11-20T15:00:00+07:00",
        "location": {"lat": 12.238, "lon": 109.196}, "proof": full_proof(it)})
    assert r.status_code == 201, r.json
    return other


def _report(client, h, **q):
    r = client.get("/api/v1/cash/report", query_string={"date": "2026-11-20", **q}, headers=h)
    assert r.status_code == 200, r.json
    return r.json


def test_a_courier_moved_mid_day_hands_in_each_offices_cash_at_that_office(
        client, auth, office, courier, dispatcher, moved, make_user):
    """A's COD is A's money until handed in: A's dispatcher still sees the courier's
    cash owed to A and counts it in; B's hand-in expects B's cash only; neither
    report loses the other's cash or counts it twice."""
    a, b = auth(dispatcher), auth(make_user(Role.DISPATCHER, moved))
    # office A still lists the courier, with A's cash on hand and where they are now
    row, = _report(client, a)["couriers"]
    assert (row["courier_id"], row["cod_collected"], row["on_hand"],
            row["current_office_id"]) == (courier.id, 1_450_000, 1_450_000, moved.id)
    # A's dispatcher sees the courier's ledger of A's cash (it was a 404: not theirs now)
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20", headers=a)
    assert ledger.status_code == 200, ledger.json
    assert ledger.json["office_id"] == office.id
    assert {e["office_id"] for e in ledger.json["entries"]} == {office.id}
    assert ledger.json["totals"]["on_hand"] == 1_450_000
    # B counts in B's cash: it expects 100 000, not A's 1 450 000 as well (it expected
    # 1 550 000: a 1 450 000 shortfall at B, and A's report kept the cash as on hand)
    r = client.post("/api/v1/cash/handovers", headers=b, json={
        "courier_id": courier.id, "date": "2026-11-20", "counted_amount": 100_000})
    assert r.status_code == 201, r.json
    assert (r.json["expected_on_hand"], r.json["office_id"]) == (100_000, moved.id)
    # A counts in A's cash (refused before: a 404)
    r = client.post("/api/v1/cash/handovers", headers=a, json={
        "courier_id": courier.id, "date": "2026-11-20", "counted_amount": 1_450_000})
    assert r.status_code == 201, r.json
    assert (r.json["expected_on_hand"], r.json["office_id"]) == (1_450_000, office.id)
    for h, cod in ((a, 1_450_000), (b, 100_000)):
        report = _report(client, h)
        row, = report["couriers"]
        assert (row["cod_collected"], row["handed_in"], row["on_hand"],
                row["discrepancy"]) == (cod, cod, 0, 0)
        assert (report["office"]["on_hand"], report["office"]["discrepancy"]) == (0, 0)
    # the courier's own ledger: the whole day, per office
    mine = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=auth(courier)).json
    assert mine["office_id"] is None
    assert (mine["totals"]["cod_collected"], mine["totals"]["on_hand"],
            mine["totals"]["discrepancy"]) == (1_550_000, 0, 0)
    assert [(o["office_id"], o["handed_in"]) for o in mine["by_office"]] == [
        (office.id, 1_450_000), (moved.id, 100_000)]


def test_each_office_keeps_its_own_shortfall_after_a_move(client, auth, office, courier,
                                                          dispatcher, moved, make_user):
    a, b = auth(dispatcher), auth(make_user(Role.DISPATCHER, moved))
    for h, counted in ((a, 1_400_000), (b, 100_000)):
        assert client.post("/api/v1/cash/handovers", headers=h, json={
            "courier_id": courier.id, "date": "2026-11-20",
            "counted_amount": counted}).status_code == 201
    assert _report(client, a)["office"]["discrepancy"] == -50_000
    assert _report(client, b)["office"]["discrepancy"] == 0
    # the day's, over both offices: each office's last hand-in, summed
    mine = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=auth(courier)).json["totals"]
    assert (mine["discrepancy"], mine["on_hand"]) == (-50_000, 50_000)


def test_who_counts_in_a_moved_couriers_cash(client, auth, office, courier, dispatcher,
                                             moved, make_user, make_office):
    a = auth(dispatcher)
    body = {"courier_id": courier.id, "date": "2026-11-20", "counted_amount": 5}
    # a dispatcher counts for their own office only
    r = client.post("/api/v1/cash/handovers", headers=a, json={**body, "office_id": moved.id})
    assert r.status_code == 403
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20&office_id="
                      f"{moved.id}", headers=a).status_code == 404
    # A's dispatcher sees the moved courier only on the days they hold A's cash
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-21",
                      headers=a).status_code == 404
    assert client.post("/api/v1/cash/handovers", headers=a, json={
        **body, "date": "2026-11-21"}).status_code == 404
    # a third office's dispatcher sees nothing of them
    stranger = auth(make_user(Role.DISPATCHER, make_office()))
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=stranger).status_code == 404
    # an admin names the office (the courier holds two offices' cash that day: see
    # test_an_admin_names_the_office_of_a_courier_holding_two_offices_cash); an unknown
    # one is a 422
    admin = auth(make_user(Role.ADMIN))
    r = client.post("/api/v1/cash/handovers", headers=admin, json={**body,
                                                                   "office_id": 10**6})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/office_id"
    r = client.post("/api/v1/cash/handovers", headers=admin, json={**body,
                                                                   "office_id": moved.id})
    assert (r.status_code, r.json["office_id"], r.json["expected_on_hand"]) == (
        201, moved.id, 100_000)
    r = client.post("/api/v1/cash/handovers", headers=admin, json={**body,
                                                                   "office_id": office.id})
    assert (r.status_code, r.json["office_id"], r.json["expected_on_hand"]) == (
        201, office.id, 1_450_000)
    only_a = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20&office_id="
                        f"{office.id}", headers=admin).json
    assert {e["office_id"] for e in only_a["entries"]} == {office.id}
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20&office_id="
                      f"{10**6}", headers=admin).status_code == 404
    assert db.session.query(CashEntry).filter_by(kind="handover").count() == 2


def test_the_console_counts_in_a_moved_couriers_cash_at_the_old_office(
        client, courier, dispatcher, moved):
    from tests.api.test_console import CSRF_RE, login

    assert login(client, dispatcher.username, "pw").status_code == 302
    page = client.get("/console/cash?date=2026-11-20").text
    assert "còn giữ tiền của bưu cục này" in page
    page = client.get(f"/console/cash?date=2026-11-20&courier={courier.id}").text
    assert 'id="handover-form"' in page
    token = CSRF_RE.search(page).group(1)
    r = client.post("/console/cash/handover", data={
        "csrf_token": token, "courier_id": courier.id, "date": "2026-11-20",
        "counted_amount": "1450000", "reference": "console-moved-1"})
    assert r.status_code == 302
    entry = db.session.query(CashEntry).filter_by(kind="handover").one()
    assert (entry.office_id, entry.expected_on_hand, entry.amount) == (
        dispatcher.office_id, 1_450_000, -1_450_000)


def test_an_admin_names_the_office_of_a_courier_holding_two_offices_cash(
        client, auth, office, courier, dispatcher, moved, make_user, make_office):
    """An admin's hand-in without ``office_id`` was booked to the courier's office now:
    for a courier moved mid-day, the whole count (1 550 000) was counted against the
    new office's 100 000 (1 450 000 over there) while the old office's report kept its
    1 450 000 on hand, without a word. It asks for the office (422, nothing recorded);
    a named office whose cash the courier does not hold, nor theirs, is refused too."""
    admin = auth(make_user(Role.ADMIN))
    body = {"courier_id": courier.id, "date": "2026-11-20", "counted_amount": 1_550_000}
    r = client.post("/api/v1/cash/handovers", headers=admin, json=body)
    assert r.status_code == 422, r.json
    assert r.json["errors"][0]["pointer"] == "/office_id"
    assert office.code in r.json["detail"] and moved.code in r.json["detail"]
    stranger = make_office()
    r = client.post("/api/v1/cash/handovers", headers=admin,
                    json={**body, "office_id": stranger.id})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/office_id"
    assert db.session.query(CashEntry).filter_by(kind="handover").count() == 0
    # named, each office counts its own
    for where, counted in ((office, 1_450_000), (moved, 100_000)):
        r = client.post("/api/v1/cash/handovers", headers=admin, json={
            **body, "office_id": where.id, "counted_amount": counted})
        assert (r.status_code, r.json["expected_on_hand"]) == (201, counted), r.json
    row, = _report(client, auth(dispatcher))["couriers"]
    assert (row["on_hand"], row["discrepancy"]) == (0, 0)
    # a courier who holds only their own office's cash: the default as before
    mine = make_user(Role.COURIER, office)
    r = client.post("/api/v1/cash/handovers", headers=admin, json={
        **body, "courier_id": mine.id, "counted_amount": 0})
    assert (r.status_code, r.json["office_id"]) == (201, office.id), r.json
