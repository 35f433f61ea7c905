"""A pension payout's receipt gets the checks a delivery's proof gets.

Its signature (and a proxy's authorisation photo) are files the courier paying out
uploaded, online and in a sync; a file another visit used first (another pensioner's
payout, the same pensioner's last month, a delivery to someone else) is recorded but
flagged ``proof_reused`` on the payout, naming that use; a new signature every month is
normal, and a resent payment never flags itself.
"""

from __future__ import annotations

import pytest

from api.proof.reuse import Person, same_person
from models import CashEntry, CashKind, PayoutTask, Role, db
from tests.api.test_payouts import new_payout, pay_body
from tests.api.test_proof_reuse import AN, deliver, delivery, upload_file
from tests.conftest import at_once, when_both_arrive

LOC = {"name": "Cụ Trần Văn Lộc", "phone": "0905000111", "address": "8 Ngô Gia Tự",
       "lat": 12.25, "lon": 109.19, "id_number": "056012345678"}
MAI = {"name": "Cụ Lê Thị Mai", "phone": "0905000222", "address": "3 Hùng Vương",
       "lat": 12.24, "lon": 109.19, "id_number": "056087654321"}


def receipt(signature, **kw):
    """A payment's body citing ``signature``, paid at 08:05 on 2026-11-20 (the test
    clock's morning: no time flag)."""
    return pay_body({"signature": signature},
                    **{"device_time": "2026-11-20T08:05:00+07:00", **kw})


def assigned(client, h, courier, beneficiary=LOC, **kw):
    r = new_payout(client, h, beneficiary=beneficiary, **kw)
    assert r.status_code == 201, r.json
    pid = r.json["id"]
    r = client.post(f"/api/v1/payouts/{pid}/assign", json={"courier_id": courier.id},
                    headers=h)
    assert r.status_code == 200, r.json
    return r.json


def pay(client, h, payout, body, way="pay"):
    """``(status, payout as listed, flags answered)``; a sync entry's problem as its
    status. The payout as GET /payouts lists it to the office."""
    if way == "pay":
        r = client.post(f"/api/v1/payouts/{payout['id']}/pay", headers=h, json=body)
        return r.status_code, r.json, (r.json.get("flags") or [])
    r = client.post("/api/v1/sync", headers=h, json={"events": [
        {"kind": "payout", "payout_id": payout["id"], **body}]})
    assert r.status_code == 200, r.json
    res = r.json["results"][0]
    if res["result"] == "rejected":
        return res["problem"]["status"], res["problem"], None
    listed = [p for p in client.get("/api/v1/payouts", headers=h).json
              if p["id"] == payout["id"]][0]
    return {"accepted": 200, "duplicate": 200}[res["result"]], listed, res["flags"]


# ---------------------------------------------------------------- whose file

@pytest.mark.parametrize("way", ["pay", "sync"])
def test_a_receipt_another_user_uploaded_is_refused_and_nothing_is_paid(
        client, auth, office, dispatcher, courier, make_user, way):
    h = auth(dispatcher)
    payout = assigned(client, h, courier)
    other = make_user(Role.COURIER, office)
    foreign = upload_file(client, auth(other), "signature", 7001)
    by_office = upload_file(client, h, "photo", 7002)
    own = upload_file(client, auth(courier), "signature", 7003)
    ch = auth(courier)
    for body, pointer in ((receipt(foreign), "/signature"),
                          (receipt(own, relation="proxy",
                                    id_number="079111222333", photo=by_office), "/photo")):
        status, problem, _ = pay(client, ch, payout, body, way)
        assert status == 422 and problem["type"] == "/problems/payout-not-verified", problem
        assert [e["pointer"] for e in problem["errors"]] == [pointer]
        assert "uploaded by another user" in problem["errors"][0]["detail"]
    task = db.session.get(PayoutTask, payout["id"])
    assert task.status.value == "assigned" and task.receipt_number is None
    assert db.session.query(CashEntry).filter_by(kind=CashKind.PAYOUT).count() == 0
    status, paid, flags = pay(client, ch, payout, receipt(own), way)
    assert status == 200 and paid["status"] == "paid" and flags == [], paid


# ---------------------------------------------------------------- month after month

@pytest.mark.parametrize("way", ["pay", "sync"])
def test_the_same_pensioner_next_month_with_the_same_signature_file_is_flagged(
        client, auth, office, dispatcher, courier, clock, way):
    h = auth(dispatcher)
    november = assigned(client, h, courier)
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 7004)
    status, paid, flags = pay(client, ch, november, receipt(signed))
    assert status == 200 and flags == [] and paid["reused_from"] is None, paid
    clock.advance(days=30)  # 2026-12-20
    h, ch = auth(dispatcher), auth(courier)
    december = assigned(client, h, courier, period="2026-12", due_date="2026-12-20")
    # a new signature, as every month: nothing to see
    new = upload_file(client, ch, "signature", 7005)
    body = receipt(new, client_event_id="payout-dec-0001",
                    device_time="2026-12-20T08:05:00+07:00")
    assert pay(client, ch, december, body, way)[2] == []
    # January, last month's file bytes once more: recorded, flagged, naming December's
    clock.advance(days=31)
    h, ch = auth(dispatcher), auth(courier)
    january = assigned(client, h, courier, period="2027-01", due_date="2027-01-20")
    body = receipt(new, client_event_id="payout-jan-0001",
                    device_time="2027-01-20T08:05:00+07:00")
    status, paid, flags = pay(client, ch, january, body, way)
    assert status == 200 and paid["status"] == "paid", paid
    assert flags == ["proof_reused"]
    assert paid["flags"] == ["proof_reused"]
    assert paid["reused_from"] == [{"pointer": "/signature", "cited_for": "payout",
                                    "payout_id": december["id"],
                                    "reference": december["reference"]}]
    # booked as any payout
    entry = db.session.query(CashEntry).filter_by(kind=CashKind.PAYOUT).order_by(
        CashEntry.id.desc()).first()
    assert entry.service_date.isoformat() == "2027-01-20" and entry.amount == -3_250_000
    # the office sees it in the list; December's is as it was
    listed = {p["id"]: p for p in client.get("/api/v1/payouts", headers=h).json}
    assert listed[january["id"]]["flags"] == ["proof_reused"]
    assert listed[december["id"]]["flags"] is None
    assert listed[december["id"]]["reused_from"] is None


def test_another_pensioners_signature_is_flagged(client, auth, office, dispatcher, courier):
    h = auth(dispatcher)
    loc = assigned(client, h, courier)
    mai = assigned(client, h, courier, beneficiary=MAI)
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 7006)
    assert pay(client, ch, loc, receipt(signed))[2] == []
    body = receipt(signed, client_event_id="payout-mai-0001",
                    received_by="Lê Thị Mai", id_number="056087654321")
    status, paid, flags = pay(client, ch, mai, body)
    assert status == 200 and flags == ["proof_reused"], paid
    assert paid["reused_from"][0]["payout_id"] == loc["id"]


def test_one_visit_to_a_pensioner_paying_two_programmes_may_share_a_signature(
        client, auth, office, dispatcher, courier):
    h = auth(dispatcher)
    pension = assigned(client, h, courier)
    insurance = assigned(client, h, courier, program="social_insurance",
                         beneficiary={**LOC, "phone": None, "address": "8 Ngo Gia Tu, Loc Tho"})
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 7007)
    assert pay(client, ch, pension, receipt(signed))[2] == []
    body = receipt(signed, client_event_id="payout-ins-0001")
    assert pay(client, ch, insurance, body)[2] == []


# ---------------------------------------------------------------- deliveries

def test_a_signature_that_proved_a_delivery_to_someone_else_is_flagged_and_back(
        client, auth, office, dispatcher, courier, make_item):
    ch = auth(courier)
    item = make_item(office, courier=courier, events=("EMG", "EDG"), recipient=AN)
    signed = upload_file(client, ch, "signature", 7008)
    r = deliver(client, ch, item, delivery({"signature": signed}))
    assert r.status_code == 201 and r.json["event"]["flags"] is None, r.json
    payout = assigned(client, auth(dispatcher), courier)
    status, paid, flags = pay(client, ch, payout, receipt(signed), "sync")
    assert status == 200 and flags == ["proof_reused"], paid
    assert paid["reused_from"] == [{"pointer": "/signature", "cited_for": "delivery",
                                    "identifier": item.identifier,
                                    "event_id": r.json["event"]["id"]}]
    # the other way: a delivery citing a pensioner's receipt signature
    second = upload_file(client, ch, "signature", 7009)
    other = assigned(client, auth(dispatcher), courier, beneficiary=MAI)
    body = receipt(second, client_event_id="payout-mai-0002",
                    received_by="Lê Thị Mai", id_number="056087654321")
    assert pay(client, ch, other, body)[2] == []
    parcel = make_item(office, courier=courier, events=("EMG", "EDG"), recipient=AN)
    r = deliver(client, ch, parcel, delivery({"signature": second}))
    assert r.status_code == 201 and r.json["event"]["flags"] == ["proof_reused"], r.json
    assert r.json["event"]["proof"]["reused_from"] == [
        {"pointer": "/proof/signature", "cited_for": "payout", "payout_id": other["id"],
         "reference": other["reference"]}]


def test_a_pensioner_signing_for_a_parcel_at_the_same_visit_is_one_visit(
        client, auth, office, dispatcher, courier, make_item):
    ch = auth(courier)
    item = make_item(office, courier=courier, events=("EMG", "EDG"),
                     recipient={**AN, "name": LOC["name"], "phone": "+84 905 000 111"})
    signed = upload_file(client, ch, "signature", 7010)
    assert deliver(client, ch, item, delivery({"signature": signed})).status_code == 201
    payout = assigned(client, auth(dispatcher), courier)
    assert pay(client, ch, payout, receipt(signed))[2] == []


# ---------------------------------------------------------------- replays

def test_a_resent_payment_never_flags_itself(client, auth, office, dispatcher, courier):
    h = auth(dispatcher)
    first = assigned(client, h, courier)
    second = assigned(client, h, courier, beneficiary=MAI)
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 7011)
    body = receipt(signed)
    assert pay(client, ch, first, body)[2] == []
    # resent by the sync (the phone did not get the answer), then online again
    status, paid, flags = pay(client, ch, first, body, "sync")
    assert (status, flags, paid["flags"]) == (200, [], None)
    assert pay(client, ch, first, body)[2] == []
    # another pensioner with the same file: that one is flagged; resending it answers
    # as first recorded, and the first stays unflagged
    other = receipt(signed, client_event_id="payout-mai-0003",
                     received_by="Lê Thị Mai", id_number="056087654321")
    assert pay(client, ch, second, other, "sync")[2] == ["proof_reused"]
    assert pay(client, ch, second, other, "sync")[2] == ["proof_reused"]
    assert pay(client, ch, first, body, "sync")[2] == []
    assert db.session.query(CashEntry).filter_by(kind=CashKind.PAYOUT).count() == 2


def test_the_time_flags_are_kept_with_the_payment(client, auth, office, dispatcher, courier,
                                                  clock):
    payout = assigned(client, auth(dispatcher), courier)
    clock.advance(hours=10)
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 7012)
    r = client.post("/api/v1/sync", headers=ch, json={
        "sent_at": "2026-11-21T02:00:00+07:00", "events": [
            {"kind": "payout", "payout_id": payout["id"],
             **receipt(signed, device_time="2026-11-21T00:30:00+07:00")}]})
    assert r.json["results"][0]["flags"] == ["device_clock_off"], r.json
    listed = client.get("/api/v1/payouts", headers=ch).json[0]
    assert listed["flags"] == ["device_clock_off"] and listed["clock_skew_s"] == 28_800


# ---------------------------------------------------------------- at the same moment

def test_two_payments_citing_one_signature_at_once_see_each_other(
        app, client, auth, office, dispatcher, courier, monkeypatch):
    import api.proof.reuse as reuse

    h = auth(dispatcher)
    one, two = assigned(client, h, courier), assigned(client, h, courier, beneficiary=MAI)
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 7013)
    monkeypatch.setattr(reuse, "reused_from", when_both_arrive(reuse.reused_from))
    bodies = [receipt(signed, client_event_id="payout-once-0"),
              receipt(signed, client_event_id="payout-once-1", received_by="Lê Thị Mai",
                      id_number=MAI["id_number"])]
    answers = at_once(app, *(
        lambda c, p=p, b=b: c.post(f"/api/v1/payouts/{p['id']}/pay", headers=ch, json=b)
        for p, b in ((one, bodies[0]), (two, bodies[1]))))
    assert [a.status_code for a in answers] == [200, 200], [a.json for a in answers]
    assert sorted(str(a.json["flags"]) for a in answers) == ["None", "['proof_reused']"]


# ---------------------------------------------------------------- who is the same person

@pytest.mark.parametrize(("a", "b", "same"), [
    (Person("0905000111", "cu tran van loc", "8 ngo gia tu"),
     Person("0905000111", "ong loc", "cho dam"), True),  # the phone decides
    (Person("", "cu tran van loc", "8 ngo gia tu"),
     Person("", "cu tran van loc", "8 ngo gia tu loc tho nha trang"), True),
    (Person("", "cu tran van loc", "8 ngo gia tu"),
     Person("", "cu tran van loc", "80 ngo gia tu"), False),  # another house
    (Person("", "cu tran van loc", "8 ngo gia tu"),
     Person("", "cu le thi mai", "8 ngo gia tu"), False),  # another person, one house
    (Person("", "", ""), Person("", "", ""), False),
])
def test_same_person(a, b, same):
    assert same_person(a, b) is same and same_person(b, a) is same
