"""A courier's offline event on an item reassigned since (sync, /events, scans) is
accepted when the assignment history shows the courier held the item at the event's
device time (corrected by the phone's measured clock skew), and handled by the late-event rules;
otherwise it stays a 404 item-reassigned."""

from __future__ import annotations

import pytest

from models import CashEntry, Item, Role, TrackingEvent, db
from tests.api.test_custody import (
    DOOR,
    assign,
    at,
    event,
    ids,
    reassign_meanwhile,
    set_clock,
    upload,
)


@pytest.fixture
def couriers(make_user, office):
    return [make_user(Role.COURIER, office) for _ in range(3)]


@pytest.fixture
def reassigned(client, auth, clock, office, couriers, dispatcher, make_item):
    """Courier A's COD parcel, out for delivery with A since 08:05, given to courier B
    at 11:00; now 18:00 (:func:`tests.api.test_custody.reassign_meanwhile`)."""
    return reassign_meanwhile(client, auth, clock, office, couriers, dispatcher, make_item)


def test_an_offline_delivery_on_an_item_reassigned_since_is_accepted_and_its_cash_booked(
        client, auth, couriers, dispatcher, reassigned, full_proof):
    a, b = couriers[0], couriers[1]
    res = upload(client, auth(a), [event(reassigned.identifier, "EMI", 120,
                                         proof=full_proof(reassigned, by=a))])["results"][0]
    assert res["result"] == "accepted", res
    assert res["applied"] is True and res["item_status"] == "delivered"
    assert res["flags"] == ["held_then"]
    stored = db.session.get(Item, reassigned.id)
    assert stored.status.value == "delivered"
    # the cash is on the hands of the courier who collected it, not the item's courier
    cash = db.session.query(CashEntry).filter_by(item_id=reassigned.id).one()
    assert (cash.courier_id, cash.amount) == (a.id, 250_000)
    h = auth(dispatcher)
    ledger = client.get(f"/api/v1/couriers/{a.id}/cash?date=2026-11-20", headers=h).json
    assert ledger["totals"]["cod_collected"] == 250_000
    ledger = client.get(f"/api/v1/couriers/{b.id}/cash?date=2026-11-20", headers=h).json
    assert ledger["totals"]["cod_collected"] == 0
    # staff see who did it and why it was taken
    detail = client.get(f"/api/v1/items/{reassigned.identifier}", headers=h).json
    emi = [e for e in detail["events"] if e["code"] == "EMI"]
    assert [(e["actor"]["id"], e["flags"], e["applied"]) for e in emi] == [
        (a.id, ["held_then"], True)]


def test_the_same_delivery_from_the_events_endpoint_and_from_a_scan(
        client, auth, office, couriers, dispatcher, make_item, clock, full_proof):
    a, b = couriers[0], couriers[1]
    one = make_item(office, courier=a, events=("EMG", "EDG"), cod_amount=100_000)
    two = make_item(office, courier=a, events=("EMG", "EDG"))
    set_clock(clock, 180)
    for it in (one, two):
        assign(client, auth(dispatcher), it, b)
    set_clock(clock, 600)
    h = auth(a)
    body = {"code": "EMI", "client_event_id": next(ids), "device_time": at(60),
            "location": DOOR, "proof": full_proof(one, by=a)}
    r = client.post(f"/api/v1/items/{one.identifier}/events", headers=h, json=body)
    assert r.status_code == 201, r.json
    assert r.json["event"]["flags"] == ["held_then"] and r.json["event"]["applied"] is True
    # A is not told who holds the item now, nor offered anything to do with it
    assert r.json["item"]["status"] == "delivered"
    assert r.json["item"]["courier"] is None and r.json["item"]["allowed_events"] == []
    assert db.session.query(CashEntry).filter_by(courier_id=a.id, item_id=one.id).count() == 1
    r = client.post("/api/v1/scans", headers=h, json={
        "action": "delivered", "client_event_id": next(ids), "device_time": at(70),
        "codes": [{"text": two.identifier}], "proof": full_proof(two, by=a), "location": DOOR})
    assert r.status_code == 201, r.json
    assert r.json["event"]["flags"] == ["held_then"] and r.json["item"]["courier"] is None
    assert db.session.get(Item, two.id).status.value == "delivered"
    scan = client.get(f"/api/v1/scans/{r.json['scan_id']}", headers=h)
    assert scan.status_code == 200 and scan.json["item"]["courier"] is None
    # office staff still see the item's courier in the same answers
    scan = client.get(f"/api/v1/scans/{r.json['scan_id']}", headers=auth(dispatcher))
    assert scan.json["item"]["courier"]["id"] == b.id


def test_an_event_outside_the_couriers_period_is_still_refused(
        client, auth, office, couriers, dispatcher, make_item, make_user, clock):
    a, b, c = couriers
    item = make_item(office, courier=b, events=("EMG",))  # B from 08:00
    set_clock(clock, 60)
    assign(client, auth(dispatcher), item, a)  # A from 09:00
    set_clock(clock, 180)
    assign(client, auth(dispatcher), item, c)  # C from 11:00
    set_clock(clock, 600)
    h = auth(a)
    for minutes in (30, 180, 200):  # before A had it; at and after the handover to C
        res = upload(client, h, [event(item.identifier, "EDG", minutes)])["results"][0]
        assert res["result"] == "rejected", (minutes, res)
        assert res["problem"]["type"] == "/problems/item-reassigned", res
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EDG", "client_event_id": next(ids), "device_time": at(200)})
    assert r.status_code == 404 and r.json["type"] == "/problems/item-reassigned"
    # A held it at 10:00 even though A never recorded anything on it
    res = upload(client, h, [event(item.identifier, "EDG", 120)])["results"][0]
    assert res["result"] == "accepted" and res["flags"] == ["held_then", "late_event"], res
    # a courier who never held it learns nothing
    stranger = auth(make_user(Role.COURIER, office))
    res = upload(client, stranger, [event(item.identifier, "EDG", 120)])["results"][0]
    assert res["problem"]["type"] == "/problems/not-found"
    assert db.session.get(Item, item.id).status.value == "at_delivery_office"


def test_an_implausible_device_time_proves_nothing(client, auth, couriers, reassigned,
                                                   full_proof):
    res = upload(client, auth(couriers[0]), [event(
        reassigned.identifier, "EMI", 0, device_time="2000-01-01T09:00:00+07:00",
        proof=full_proof(reassigned, by=couriers[0]))])["results"][0]
    assert res["problem"]["type"] == "/problems/item-reassigned", res
    assert db.session.query(CashEntry).count() == 0


def send_alone(client, h, entry, sent_at, way):
    """One ``event`` entry (:func:`tests.api.test_custody.event`) sent on its own with
    the phone's ``sent_at``: in an upload, to ``/items/{id}/events`` or as a scan; the
    entry's result as a sync upload words it (``result``, ``flags``, ``problem``), and
    the clock skew the server measured."""
    if way == "sync":
        out = upload(client, h, [entry], sent_at=sent_at)
        return out["results"][0], out["clock_skew_s"]
    if way == "events":
        body = {k: v for k, v in entry.items() if k not in ("kind", "identifier")}
        r = client.post(f"/api/v1/items/{entry['identifier']}/events", headers=h,
                        json={**body, "sent_at": sent_at})
    else:
        assert entry["code"] == "EMI"
        r = client.post("/api/v1/scans", headers=h, json={
            "action": "delivered", "codes": [{"text": entry["identifier"]}],
            "sent_at": sent_at, **{k: entry[k] for k in (
                "client_event_id", "device_time", "location", "proof")}})
    if r.status_code >= 400:
        return {"result": "rejected", "problem": r.json}, None
    assert r.status_code == 201, r.json
    ev = r.json["event"]
    return {"result": "accepted", "flags": ev["flags"] or []}, ev["clock_skew_s"]


@pytest.mark.parametrize("way", ["sync", "events", "scan"])
@pytest.mark.parametrize(("device_minutes", "skew_minutes", "accepted"), [
    # the phone is 2 h ahead: 12:00 on its clock was 10:00, while A held the item
    (240, 120, True),
    # the phone is 2 h behind: 09:30 on its clock was 11:30, after B was given it
    (90, -120, False),
])
def test_the_device_time_is_corrected_by_the_measured_clock_skew(
        client, auth, couriers, reassigned, full_proof, device_minutes, skew_minutes,
        accepted, way):
    sent_at = at(600 + skew_minutes)
    res, skew = send_alone(client, auth(couriers[0]), event(
        reassigned.identifier, "EMI", device_minutes,
        proof=full_proof(reassigned, by=couriers[0])), sent_at, way)
    if accepted:
        assert res["result"] == "accepted", res
        assert skew == skew_minutes * 60
        assert res["flags"] == ["device_clock_off", "held_then"]
        assert db.session.get(Item, reassigned.id).status.value == "delivered"
        stored = db.session.query(TrackingEvent).filter_by(item_id=reassigned.id,
                                                           code="EMI").one()
        assert stored.clock_skew_s == skew_minutes * 60  # kept with the event
        # booked to the day the delivery really happened
        cash = db.session.query(CashEntry).filter_by(item_id=reassigned.id).one()
        assert cash.courier_id == couriers[0].id
        assert cash.service_date.isoformat() == "2026-11-20"
    else:
        assert res["problem"]["type"] == "/problems/item-reassigned", res
        assert db.session.query(CashEntry).count() == 0


def test_other_events_held_then_follow_the_late_event_rules(
        client, auth, couriers, dispatcher, reassigned, full_proof, clock):
    a, b = couriers[0], couriers[1]
    h = auth(a)
    # a failed attempt at 10:00, legal now: kept unapplied, the item's status is what
    # the office and B made it since; but A did try, and the attempt counts
    res = upload(client, h, [event(reassigned.identifier, "EMH", 120)])["results"][0]
    assert res["result"] == "accepted" and res["applied"] is False, res
    assert res["flags"] == ["held_then", "late_event"]
    stored = db.session.get(Item, reassigned.id)
    assert stored.status.value == "out_for_delivery" and stored.failed_attempts == 1
    assert stored.next_attempt_on is None and stored.courier_id == b.id
    # B delivers; A's delivery of 10:30 then no longer fits: kept, flagged, no cash
    r = client.post(f"/api/v1/items/{reassigned.identifier}/events", headers=auth(b), json={
        "code": "EMI", "client_event_id": next(ids), "device_time": at(590),
        "location": DOOR, "proof": full_proof(reassigned)})
    assert r.status_code == 201, r.json
    res = upload(client, h, [event(reassigned.identifier, "EMI", 150,
                                   proof=full_proof(reassigned, by=a))])["results"][0]
    assert res["result"] == "accepted" and res["applied"] is False, res
    assert res["flags"] == ["held_then", "late_conflict"]
    assert [c.courier_id for c in db.session.query(CashEntry)] == [b.id]
    db.session.refresh(stored)
    from api.items.service import replayed_state

    assert replayed_state(stored) == stored.state
    assert stored.failed_attempts == 1


def test_a_held_then_event_on_an_item_nobody_holds_now_is_kept_not_refused(
        client, auth, couriers, dispatcher, office, make_item, clock):
    # A was given the item at 08:00 and took it out at 09:00 offline; the dispatcher
    # took it back (unassigned) at 11:00, the item still at the office as far as it knew
    a = couriers[0]
    item = make_item(office, courier=a, events=("EMG",))
    set_clock(clock, 180)
    assign(client, auth(dispatcher), item, None)
    set_clock(clock, 600)
    res = upload(client, auth(a), [event(item.identifier, "EDG", 60)])["results"][0]
    assert res["result"] == "accepted", res
    assert res["flags"] == ["held_then", "late_event"] and res["applied"] is False
    stored = db.session.get(Item, item.id)
    assert stored.status.value == "at_delivery_office" and stored.courier_id is None


def test_a_held_then_event_sent_again_is_a_duplicate(client, auth, couriers, reassigned,
                                                    full_proof, dispatcher, clock):
    a = couriers[0]
    delivery = event(reassigned.identifier, "EMI", 120, proof=full_proof(reassigned, by=a))
    first = upload(client, auth(a), [delivery])["results"][0]
    assert first["result"] == "accepted", first
    again = upload(client, auth(a), [delivery])["results"][0]
    assert again["result"] == "duplicate" and again["event_id"] == first["event_id"], again
    body = {k: v for k, v in delivery.items() if k not in ("kind", "identifier")}
    r = client.post(f"/api/v1/items/{reassigned.identifier}/events", headers=auth(a),
                    json=body)
    assert r.status_code == 200 and r.json["replayed"] is True, r.json
    assert r.json["item"]["courier"] is None
    assert db.session.query(CashEntry).count() == 1
    assert db.session.query(TrackingEvent).filter_by(
        client_event_id=delivery["client_event_id"]).count() == 1
    # someone else's copy of the key is still refused
    r = client.post(f"/api/v1/items/{reassigned.identifier}/events",
                    headers=auth(couriers[1]), json=body)
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
