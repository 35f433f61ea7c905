"""Who held an item when: the assignment history written by every change of an item's
courier and shown to office staff (item detail, complaint case, console), never to
couriers. Its use for couriers' offline events is in test_held_then.py."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from models import Item, Role, db

ids = (f"cust-{n:07d}" for n in itertools.count())
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 in Viet Nam, the fake clock's start
DOOR = {"lat": 12.238, "lon": 109.196, "accuracy_m": 10}


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def set_clock(clock, minutes: float) -> None:
    clock.now = T0 + timedelta(minutes=minutes)


def event(identifier, code, minutes, **kw):
    body = {"kind": "event", "identifier": identifier, "code": code,
            "client_event_id": next(ids), "device_time": at(minutes), "location": DOOR}
    if code == "EMH":
        body.update(reason="unreachable_by_phone", action="notice_left")
    body.update(kw)
    return body


def upload(client, h, entries, **kw):
    body = {"device_id": "android-1", "events": entries}
    body.update(kw)
    r = client.post("/api/v1/sync", json=body, headers=h)
    assert r.status_code == 200, r.json
    return r.json


def assign(client, h, item, courier):
    r = client.post(f"/api/v1/items/{item.identifier}/assign", headers=h,
                    json={"courier_id": courier.id if courier else None})
    assert r.status_code == 200, r.json
    return r


@pytest.fixture
def couriers(make_user, office):
    return [make_user(Role.COURIER, office) for _ in range(3)]


def reassign_meanwhile(client, auth, clock, office, couriers, dispatcher, make_item):
    """A COD parcel given to courier A at 08:00, out for delivery with A at 08:05 (synced
    online), given to courier B by the dispatcher at 11:00; the server's clock is then
    18:00, when A's phone comes back online."""
    a, b = couriers[0], couriers[1]
    item = make_item(office, courier=a, events=("EMG",), cod_amount=250_000)
    set_clock(clock, 5)
    assert upload(client, auth(a), [event(item.identifier, "EDG", 5)])[
        "results"][0]["result"] == "accepted"
    set_clock(clock, 180)
    assign(client, auth(dispatcher), item, b)
    set_clock(clock, 600)
    return item


def history(client, h, item):
    r = client.get(f"/api/v1/items/{item.identifier}", headers=h)
    assert r.status_code == 200, r.json
    return r.json["assignments"]


# ------------------------------------------------------------------ the history

def test_assigning_reassigning_and_unassigning_are_recorded_with_who_and_how(
        client, auth, clock, office, couriers, dispatcher, make_item, make_user):
    a, b = couriers[0], couriers[1]
    item = make_item(office)
    h = auth(dispatcher)
    assert history(client, h, item) == []
    set_clock(clock, 10)
    assign(client, h, item, a)
    set_clock(clock, 20)
    assign(client, h, item, a)  # the same courier again: no new period
    set_clock(clock, 30)
    assign(client, h, item, b)
    set_clock(clock, 40)
    assign(client, h, item, None)
    rows = history(client, h, item)
    assert [(r["courier"]["username"], r["started_at"], r["ended_at"]) for r in rows] == [
        (a.username, at(10), at(30)), (b.username, at(30), at(40))]
    for r in rows:
        assert r["started_how"] == r["ended_how"] == "manual"
        assert r["started_by"]["username"] == r["ended_by"]["username"] == dispatcher.username
        assert r["started_plan_id"] is None and r["ended_plan_id"] is None
    set_clock(clock, 50)
    assign(client, h, item, a)  # A again: a period of its own
    rows = history(client, h, item)
    assert [(r["courier"]["id"], r["started_at"], r["ended_at"]) for r in rows[2:]] == [
        (a.id, at(50), None)]
    # an admin sees it too; a courier is never shown it, even on their own item
    assert len(history(client, auth(make_user(Role.ADMIN)), item)) == 3
    mine = client.get(f"/api/v1/items/{item.identifier}", headers=auth(a))
    assert mine.status_code == 200 and mine.json["assignments"] is None
    # B, who held it before, cannot see the item at all
    assert client.get(f"/api/v1/items/{item.identifier}", headers=auth(b)).status_code == 404


def test_a_refused_assignment_changes_no_history(client, auth, office, couriers, dispatcher,
                                                 make_item, make_office, make_user):
    from models import ItemAssignment

    item = make_item(office, courier=couriers[0])
    h = auth(dispatcher)
    elsewhere = make_user(Role.COURIER, make_office())
    r = client.post(f"/api/v1/items/{item.identifier}/assign", headers=h,
                    json={"courier_id": elsewhere.id})
    assert r.status_code == 422
    rows = db.session.query(ItemAssignment).filter_by(item_id=item.id).all()
    assert [(r.courier_id, r.ended_at) for r in rows] == [(couriers[0].id, None)]


def test_the_complaint_case_shows_who_held_the_item_when(client, auth, clock, office,
                                                         dispatcher, couriers, make_item):
    reassigned = reassign_meanwhile(client, auth, clock, office, couriers, dispatcher,
                                    make_item)
    h = auth(dispatcher)
    r = client.post("/api/v1/complaints", headers=h, json={
        "identifier": reassigned.identifier, "category": "not_received",
        "description": "Chưa nhận được hàng"})
    assert r.status_code == 201, r.json
    case = client.get(f"/api/v1/complaints/{r.json['id']}", headers=h).json
    assert [(x["courier"]["id"], x["ended_at"]) for x in case["item"]["assignments"]] == [
        (couriers[0].id, at(180)), (couriers[1].id, None)]


def test_the_console_item_page_shows_the_history(client, auth, clock, office, dispatcher,
                                                 couriers, make_item):
    from tests.api.test_console import login

    reassigned = reassign_meanwhile(client, auth, clock, office, couriers, dispatcher,
                                    make_item)
    assert login(client, dispatcher.username, "pw").status_code in (302, 303)
    page = client.get(f"/console/items?number={reassigned.identifier}")
    assert page.status_code == 200
    custody = page.text[page.text.index('id="custody"'):]
    assert custody.index(couriers[0].username) < custody.index(couriers[1].username)


def test_two_assignments_at_once_leave_one_courier_and_one_open_period(
        app, auth, office, couriers, dispatcher, make_item, monkeypatch):
    from api.items import custody
    from models import ItemAssignment
    from tests.conftest import at_once, when_both_arrive

    item = make_item(office, courier=couriers[0])
    # without the item's row lock both requests would end the same period and open one
    # each; with it the second waits for the first's commit
    monkeypatch.setattr(custody, "hand_over", when_both_arrive(custody.hand_over))
    h = auth(dispatcher)
    ident, item_id, first = item.identifier, item.id, couriers[0].id
    answers = at_once(app, *(
        lambda cl, c=c: cl.post(f"/api/v1/items/{ident}/assign", headers=h,
                                json={"courier_id": c}) for c in (couriers[1].id,
                                                                   couriers[2].id)))
    assert [a.status_code for a in answers] == [200, 200], [a.json for a in answers]
    db.session.expire_all()
    periods = db.session.query(ItemAssignment).filter_by(item_id=item_id).order_by(
        ItemAssignment.id).all()
    assert len(periods) == 3 and [p.ended_at is None for p in periods] == [
        False, False, True]
    assert periods[-1].courier_id == db.session.get(Item, item_id).courier_id
    assert periods[0].courier_id == first
    assert periods[1].ended_at == periods[2].started_at
