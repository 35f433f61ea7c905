"""A parcel its recipient will collect at the office is held for them until a day
(``POSTAL_COLLECTION_HOLD_DAYS`` after the attempt): the day on the notice, on the public
page with the office to go to; not a missing scan until then; after it, due for its return
to the sender."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from models import Item, Role, db

ids = (f"hold-{n:06d}" for n in itertools.count())
AT_DOOR = {"lat": 12.2401, "lon": 109.1902, "accuracy_m": 8}
WILL_COLLECT = {"reason": "will_collect_at_office", "action": "called_recipient"}


@pytest.fixture
def office(make_office):
    return make_office(name="Bưu cục Nha Trang", address="2 Lê Thánh Tôn")


@pytest.fixture
def reports(client, auth, dispatcher, office):
    """The office's missing scans and returns due, as its dispatcher reads them now."""

    def get(path):
        return client.get(f"/api/v1/{path}?office_id={office.id}",
                          headers=auth(dispatcher)).json

    return SimpleNamespace(missing=lambda: get("missing-scans"),
                           returns=lambda: get("returns-due"))


def attempt(client, h, identifier, when, **why):
    """A failed attempt (EMH) from the courier's phone at ``when``; the event's answer."""
    r = client.post(f"/api/v1/items/{identifier}/events", headers=h, json={
        "code": "EMH", "client_event_id": next(ids), "device_time": when.isoformat(),
        "location": AT_DOOR, **(why or WILL_COLLECT)})
    assert r.status_code == 201, r.json
    return r.json


def event(client, h, identifier, code, when):
    r = client.post(f"/api/v1/items/{identifier}/events", headers=h, json={
        "code": code, "client_event_id": next(ids), "device_time": when.isoformat()})
    assert r.status_code == 201, r.json
    return r.json


def test_the_notice_day_is_the_attempts_day_plus_the_holding_and_is_shown_to_all(
        app, client, auth, office, courier, dispatcher, make_item, clock):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(hours=14)  # 22:00 in Viet Nam on the 20th (15:00 UTC)
    # the phone is told the day to write on the notice: the 20th + 7 days
    state = attempt(client, auth(courier), item.identifier, clock())["item"]
    assert state["awaiting"] == "collection" and state["collect_by"] == "2026-11-27"
    assert state["next_attempt_on"] is None
    staff = client.get(f"/api/v1/items/{item.identifier}", headers=auth(dispatcher)).json
    assert staff["collect_by"] == "2026-11-27"
    # the public page: where and until when, no personal data
    public = client.get(f"/api/v1/track/{item.identifier}").json
    assert public["awaiting"] == "collection" and public["collect_by"] == "2026-11-27"
    assert public["collect_at"] == {"name": "Bưu cục Nha Trang", "address": "2 Lê Thánh Tôn",
                                    "city": "Nha Trang", "province": "Khánh Hòa"}
    page = client.get(f"/track/{item.identifier}?lang=en").text
    assert re.search(r'id="collect-by">Collect by: <strong>27/11/2026<', page)
    assert "Bưu cục Nha Trang, 2 Lê Thánh Tôn" in page
    # the day itself is still the recipient's; the day after, the page says it goes back
    clock.advance(days=7)  # 22:00 on the 27th
    assert "Waiting for you to collect it" in client.get(
        f"/track/{item.identifier}?lang=en").text
    clock.advance(hours=2)  # 00:00 on the 28th
    page = client.get(f"/track/{item.identifier}?lang=en").text
    assert "Not collected in time: it will be returned to the sender" in page
    assert 'id="collect-at"' not in page


def test_the_holding_is_a_setting_and_an_attempt_counts_from_its_own_day(
        app, client, auth, office, courier, make_item, clock):
    app.config["COLLECTION_HOLD_DAYS"] = 3
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    other = make_item(office, courier=courier, events=("EMG", "EDG"))
    # synced two days late, from the 20th: three days from the attempt, not the upload
    clock.advance(days=2)
    r = client.post("/api/v1/sync", headers=auth(courier), json={
        "sent_at": clock().isoformat(), "events": [
            {"kind": "event", "identifier": item.identifier, "code": "EMH",
             "client_event_id": next(ids),
             "device_time": (clock() - timedelta(days=2)).isoformat(),
             "location": AT_DOOR, **WILL_COLLECT},
            # held at the office by the courier's choice: the same holding
            {"kind": "event", "identifier": other.identifier, "code": "EMH",
             "client_event_id": next(ids), "device_time": clock().isoformat(),
             "location": AT_DOOR, "reason": "unreachable_by_phone",
             "action": "hold_at_office"}]})
    assert [x["result"] for x in r.json["results"]] == ["accepted"] * 2, r.json
    db.session.expire_all()
    assert [db.session.get(Item, i.id).collect_until for i in (item, other)] == [
        datetime(2026, 11, 23, 17, tzinfo=UTC), datetime(2026, 11, 25, 17, tzinfo=UTC)]


def test_a_new_round_a_return_or_another_failure_ends_the_holding(
        client, auth, office, courier, dispatcher, make_item, clock):
    called_back = make_item(office, courier=courier, events=("EMG", "EDG"))
    returned = make_item(office, courier=courier, events=("EMG", "EDG"))
    h = auth(courier)
    for it in (called_back, returned):
        assert attempt(client, h, it.identifier, clock())["item"]["collect_by"]
        event(client, auth(dispatcher), it.identifier, "EDF", clock())
    # the recipient called back: out again, and this time they refused it
    event(client, h, called_back.identifier, "EDG", clock() + timedelta(hours=1))
    state = attempt(client, h, called_back.identifier, clock() + timedelta(hours=2),
                    reason="refused", action="return_to_sender")["item"]
    assert state["awaiting"] == "return" and state["collect_by"] is None
    state = event(client, auth(dispatcher), returned.identifier, "RTS", clock())["item"]
    assert state["awaiting"] is None and state["collect_by"] is None
    db.session.expire_all()
    assert [db.session.get(Item, i.id).collect_until for i in (called_back, returned)] == [
        None, None]


def test_a_parcel_held_for_collection_is_not_missing_until_its_day_then_is_due_back(
        app, client, auth, office, courier, dispatcher, make_item, clock, reports):
    h, staff = auth(courier), auth(dispatcher)
    held = make_item(office, courier=courier, events=("EMG", "EDG"))
    in_bag = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, h, held.identifier, clock())
    attempt(client, h, in_bag.identifier, clock())  # never scanned back in
    event(client, staff, held.identifier, "EDF", clock() + timedelta(hours=1))
    missing, returns = reports.missing, reports.returns

    clock.advance(days=3)
    found = missing()
    # the one still in the bag is to be scanned back in; the held one is waiting as planned
    assert [x["identifier"] for x in found["items"]] == [in_bag.identifier]
    assert found["items"][0]["expected"].startswith("its scan back in")
    assert found["held_for_collection"] == 1
    assert returns()["total"] == 0
    # the 27th, the last day: still held
    clock.advance(days=4, hours=15)  # 23:00 on the 27th, Viet Nam time
    assert [x["identifier"] for x in missing()["items"]] == [in_bag.identifier]
    assert returns()["total"] == 0
    clock.advance(hours=1)
    found = missing()
    rows = {x["identifier"]: x for x in found["items"]}
    assert set(rows) == {held.identifier, in_bag.identifier}
    assert found["held_for_collection"] == 0
    assert rows[held.identifier]["expected"] == (
        "a return to sender (RTS): not collected by 2026-11-27")
    assert rows[held.identifier]["collect_by"] == "2026-11-27"
    due = returns()
    assert [(x["identifier"], x["why"], x["collect_by"], x["chosen_at_attempt"])
            for x in due["items"]] == [
        (held.identifier, "not_collected", "2026-11-27", False),
        (in_bag.identifier, "not_collected", "2026-11-27", False)]
    assert due["items"][0]["waiting_since"] == "2026-11-27T17:00:00+00:00"
    assert due["items"][0]["hours_waiting"] == 0.0
    # returned: off both lists
    event(client, auth(dispatcher), held.identifier, "RTS", clock())
    assert [x["identifier"] for x in returns()["items"]] == [in_bag.identifier]


def test_returns_due_say_why_and_order_by_how_long_each_waits(
        app, client, auth, office, courier, dispatcher, make_item, clock):
    app.config["COLLECTION_HOLD_DAYS"] = 1
    collect = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), collect.identifier, clock())  # held until the end of the 21st
    clock.advance(days=2)  # the 22nd: not collected, waiting since 17:00 UTC on the 21st
    chosen = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), chosen.identifier, clock(), reason="refused",
            action="return_to_sender")
    clock.advance(hours=1)
    due = client.get(f"/api/v1/returns-due?office_id={office.id}",
                     headers=auth(dispatcher)).json
    assert [(x["identifier"], x["why"]) for x in due["items"]] == [
        (collect.identifier, "not_collected"), (chosen.identifier, "return_chosen")]
    assert [x["hours_waiting"] for x in due["items"]] == [9.0, 1.0]


def test_the_console_shows_the_holding(
        app, client, auth, office, courier, make_user, make_item, clock):
    make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")
    from tests.api.test_console import login, page_token

    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock())
    event(client, auth(courier), item.identifier, "EDF", clock())
    assert login(client).status_code == 302
    client.post("/console/lang", data={"lang": "en", "csrf_token": page_token(client)})
    page = client.get(f"/console/items?number={item.identifier}").text
    assert re.search(r'id="item-awaiting">its recipient, at the office · collect by '
                     r'27/11/2026<', page), page
    clock.advance(days=2)
    assert login(client).status_code == 302  # (the session's idle limit passed)
    page = client.get("/console/missing").text
    assert re.search(r'id="missing-held">[^<]*: 1<', page)
    assert 'id="returns-due"' not in page
    clock.advance(days=6)
    assert login(client).status_code == 302  # (the session's idle limit passed)
    page = client.get("/console/missing").text
    returns = page[page.index('id="returns-due"'):]
    assert item.identifier in returns and "not collected by 27/11/2026" in returns


# ------------------------------------------------- the recipient's requests to the office

def ask(client, h, identifier, kind, day, note=None):
    return client.post(f"/api/v1/items/{identifier}/recipient-request", headers=h,
                       json={"kind": kind, "day": day, **({"note": note} if note else {})})


def test_the_office_holds_a_parcel_longer_for_a_recipient_who_called(
        client, auth, office, courier, dispatcher, make_item, clock):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock())  # collect by the 27th
    event(client, auth(dispatcher), item.identifier, "EDF", clock())
    clock.advance(days=6)  # the 26th: away until the 3rd
    r = ask(client, auth(dispatcher), item.identifier, "hold", "2026-12-03",
            note="Đi công tác, mùng 3 đến nhận")
    assert r.status_code == 200, r.json
    assert r.json["collect_by"] == "2026-12-03" and r.json["awaiting"] == "collection"
    (req,) = r.json["recipient_requests"]
    assert (req["kind"], req["day"], req["by"]["username"], req["collect_by_before"],
            req["awaiting_before"]) == ("hold", "2026-12-03", dispatcher.username,
                                        "2026-11-27", "collection")
    assert client.get(f"/api/v1/track/{item.identifier}").json["collect_by"] == "2026-12-03"
    # past the notice's day it is still held: not due back
    clock.advance(days=3)
    due = client.get(f"/api/v1/returns-due?office_id={office.id}",
                     headers=auth(dispatcher)).json
    assert due["total"] == 0
    # a courier does not record it; nor is the request visible to them
    assert ask(client, auth(courier), item.identifier, "hold", "2026-12-04").status_code == 403
    mine = client.get(f"/api/v1/items/{item.identifier}", headers=auth(courier)).json
    assert mine["recipient_requests"] is None


def test_a_recipient_who_asks_for_delivery_after_all_is_planned_on_that_day(
        client, auth, office, courier, dispatcher, make_item, clock):
    from tests.api.test_route_plans import plan_body, routed_to, solved_plan

    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock())
    event(client, auth(dispatcher), item.identifier, "EDF", clock())
    h = auth(dispatcher)
    # awaiting collection, a plan refuses it
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        date="2026-11-21", identifiers=[item.identifier], courier_ids=[courier.id]))
    assert r.status_code == 422, r.json
    r = ask(client, h, item.identifier, "deliver", "2026-11-21")
    assert r.status_code == 200, r.json
    assert (r.json["awaiting"], r.json["collect_by"], r.json["next_attempt_on"]) == (
        None, None, "2026-11-21")
    _, done = solved_plan(client, h, date="2026-11-21", identifiers=[item.identifier],
                          courier_ids=[courier.id])
    assert routed_to(done) == {item.identifier: courier.id}
    # not before the day asked for: the 20th's plan leaves it out, waiting as planned
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        identifiers=[item.identifier], courier_ids=[courier.id]))
    assert r.status_code == 422 and "2026-11-21" in r.json["errors"][0]["detail"], r.json


@pytest.mark.parametrize("body, status, where", [
    ({"kind": "hold", "day": "2026-11-19"}, 422, "/day"),  # yesterday
    ({"kind": "hold", "day": "2027-01-20"}, 422, "/day"),  # more than 60 days ahead
    ({"kind": "later", "day": "2026-11-25"}, 422, "/kind"),
    ({"kind": "hold"}, 422, "/day"),
    ({"kind": "hold", "day": "2026-11-25", "note": "x" * 501}, 422, "/note"),
])
def test_a_request_out_of_bounds_is_refused_and_changes_nothing(
        client, auth, office, courier, dispatcher, make_item, clock, body, status, where):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock())
    r = client.post(f"/api/v1/items/{item.identifier}/recipient-request",
                    headers=auth(dispatcher), json=body)
    assert r.status_code == status, r.json
    assert where in [e.get("pointer") for e in r.json.get("errors", [])], r.json
    after = client.get(f"/api/v1/items/{item.identifier}", headers=auth(dispatcher)).json
    assert after["collect_by"] == "2026-11-27" and after["recipient_requests"] == []


def test_a_request_needs_an_item_waiting_at_the_office_and_a_round_attempts_left(
        app, client, auth, office, courier, dispatcher, make_item, clock):
    h = auth(dispatcher)
    out = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = ask(client, h, out.identifier, "hold", "2026-11-25")
    assert r.status_code == 409 and r.json["type"].endswith("/not-waiting"), r.json
    app.config["MAX_DELIVERY_ATTEMPTS"] = 1
    used_up = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), used_up.identifier, clock())  # returned at once
    assert ask(client, h, used_up.identifier, "hold", "2026-11-25").status_code == 409
    app.config["MAX_DELIVERY_ATTEMPTS"] = 3
    other = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), other.identifier, clock())
    app.config["MAX_DELIVERY_ATTEMPTS"] = 1  # lowered since: a round would be refused
    for kind in ("deliver", "hold"):  # it goes back: the returns due list it
        r = ask(client, h, other.identifier, kind, "2026-11-30")
        assert r.status_code == 409 and r.json["type"].endswith("/attempts-used-up"), r.json
    app.config["MAX_DELIVERY_ATTEMPTS"] = 3
    assert ask(client, h, other.identifier, "hold", "2026-11-30").status_code == 200


def test_another_offices_dispatcher_cannot_record_a_request(
        client, auth, office, courier, make_office, make_user, make_item, clock):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock())
    stranger = make_user(Role.DISPATCHER, make_office())
    assert ask(client, auth(stranger), item.identifier, "hold", "2026-11-30"
               ).status_code == 404


def test_the_console_records_a_request(
        app, client, auth, office, courier, make_user, make_item, clock):
    make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")
    from tests.api.test_console import login, page_token

    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock())
    assert login(client).status_code == 302
    client.post("/console/lang", data={"lang": "en", "csrf_token": page_token(client)})
    page = client.get(f"/console/items?number={item.identifier}").text
    assert 'id="request-form"' in page
    r = client.post(f"/console/items/{item.identifier}/recipient-request", data={
        "kind": "deliver", "day": "2026-11-22", "note": "",
        "csrf_token": page_token(client)})
    assert r.status_code == 302, r.text
    page = client.get(r.headers["Location"]).text
    assert "The recipient&#39;s request is recorded." in page
    assert re.search(r'id="item-requests"><li>[^<]*· disp · deliver on 22/11/2026</li>', page)
    assert re.search(r'id="item-next-attempt">22/11/2026<', page)
    # out of range: said, nothing recorded, and the form as typed (it was emptied)
    r = client.post(f"/console/items/{item.identifier}/recipient-request", data={
        "kind": "deliver", "day": "2027-03-01", "note": "gọi trước 30 phút",
        "csrf_token": page_token(client)})
    assert r.status_code == 422
    page = r.text
    assert "The day must be from today (2026-11-20) to 2027-01-19." in page
    assert '<option value="deliver" selected>' in page and 'value="2027-03-01"' in page
    assert 'value="gọi trước 30 phút"' in page
    assert len(re.findall(r"<li>", page[page.index('id="item-requests"'):].split(
        "</ul>")[0])) == 1


# ------------------------------------- a failed attempt synced after the office held it

def synced_attempt(client, h, identifier, when, **why):
    """A failed attempt made offline at ``when``, synced now; its result."""
    r = client.post("/api/v1/sync", headers=h, json={"events": [{
        "kind": "event", "identifier": identifier, "code": "EMH",
        "client_event_id": next(ids), "device_time": when.isoformat(), "location": AT_DOOR,
        **(why or WILL_COLLECT)}]})
    assert r.status_code == 200, r.json
    (res,) = r.json["results"]
    assert res["result"] == "accepted" and res["applied"] is False, res
    return res


def test_an_attempt_synced_after_the_office_held_the_parcel_still_says_what_comes_next(
        client, auth, office, courier, dispatcher, make_item, clock):
    """The courier's phone was offline: the office scanned the parcel back in before the
    attempt arrived. The attempt is kept unapplied (late) and counted, and what it said
    holds: the recipient collects it by the notice's day, or is visited on the day they
    asked for. Before, the parcel was routed the next morning all the same."""
    collect = make_item(office, courier=courier, events=("EMG", "EDG"))  # out at 08:00
    asked = make_item(office, courier=courier, events=("EMG", "EDG"))
    made_at = clock() + timedelta(hours=1)  # 09:00, offline
    clock.advance(hours=8)  # 16:00: back at the office, scanned in
    for it in (collect, asked):
        event(client, auth(dispatcher), it.identifier, "EDF", clock())
    clock.advance(minutes=30)  # the phone syncs
    h = auth(courier)
    synced_attempt(client, h, collect.identifier, made_at)
    synced_attempt(client, h, asked.identifier, made_at, reason="asks_another_day",
                   action="called_recipient", next_attempt_on="2026-11-24")
    staff = auth(dispatcher)
    got = {it.identifier: client.get(f"/api/v1/items/{it.identifier}", headers=staff).json
           for it in (collect, asked)}
    assert [(x["status"], x["failed_attempts"], x["awaiting"], x["collect_by"],
             x["next_attempt_on"]) for x in got.values()] == [
        ("held_at_office", 1, "collection", "2026-11-27", None),
        ("held_at_office", 1, None, None, "2026-11-24")]


def test_a_late_attempt_does_not_undo_a_later_round_or_the_offices_request(
        client, auth, office, courier, dispatcher, make_item, clock):
    again = make_item(office, courier=courier, events=("EMG", "EDG"))
    called = make_item(office, courier=courier, events=("EMG", "EDG"))
    made_at = clock() + timedelta(hours=1)  # 09:00, offline
    clock.advance(hours=2)  # 10:00: the office scans both back in
    staff = auth(dispatcher)
    for it in (again, called):
        event(client, staff, it.identifier, "EDF", clock())
    # one goes out again and fails, the recipient asking for the 23rd
    clock.advance(hours=1)
    event(client, auth(courier), again.identifier, "EDG", clock())
    attempt(client, auth(courier), again.identifier, clock() + timedelta(hours=1),
            reason="asks_another_day", action="called_recipient",
            next_attempt_on="2026-11-23")
    # the other's recipient calls the office: they will come on the 30th
    assert ask(client, staff, called.identifier, "hold", "2026-11-30").status_code == 200
    clock.advance(hours=4)  # the phone syncs the 09:00 attempts
    for it in (again, called):
        synced_attempt(client, auth(courier), it.identifier, made_at)
    got = [client.get(f"/api/v1/items/{it.identifier}", headers=auth(dispatcher)).json
           for it in (again, called)]
    assert [(x["failed_attempts"], x["awaiting"], x["collect_by"], x["next_attempt_on"])
            for x in got] == [(2, None, None, "2026-11-23"),
                              (1, "collection", "2026-11-30", None)]


def test_a_late_attempt_that_uses_up_the_attempts_holds_nothing_it_goes_back(
        app, client, auth, office, courier, dispatcher, make_item, clock):
    """Its last attempt counted late, the parcel goes back (as an applied one returns it
    at once): what it said about a collection is no holding. Before, it awaited its
    recipient until the notice's day: the public page said to collect it by then and the
    missing scans left it out as held, while the returns due listed it at once."""
    app.config["MAX_DELIVERY_ATTEMPTS"] = 2
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock(), reason="asks_another_day",
            action="called_recipient")
    event(client, auth(dispatcher), item.identifier, "EDF", clock())
    clock.advance(days=1)
    event(client, auth(courier), item.identifier, "EDG", clock())
    made_at = clock() + timedelta(hours=1)  # offline
    clock.advance(hours=3)
    event(client, auth(dispatcher), item.identifier, "EDF", clock())
    clock.advance(hours=1)
    synced_attempt(client, auth(courier), item.identifier, made_at)  # will collect
    staff = auth(dispatcher)
    got = client.get(f"/api/v1/items/{item.identifier}", headers=staff).json
    assert (got["failed_attempts"], got["awaiting"], got["collect_by"],
            got["next_attempt_on"]) == (2, None, None, None)
    public = client.get(f"/api/v1/track/{item.identifier}").json
    assert (public["awaiting"], public["collect_by"]) == (None, None)
    clock.advance(days=2)
    staff = auth(dispatcher)
    missing = client.get(f"/api/v1/missing-scans?office_id={office.id}", headers=staff).json
    assert [(x["identifier"], x["expected"]) for x in missing["items"]] == [
        (item.identifier, "a return to sender (RTS)")]
    due = client.get(f"/api/v1/returns-due?office_id={office.id}", headers=staff).json
    assert [(x["identifier"], x["why"]) for x in due["items"]] == [
        (item.identifier, "attempts_used_up")]


def test_a_parcel_held_for_its_recipient_is_not_due_back_before_the_day(
        app, client, auth, office, courier, dispatcher, make_item, clock, reports):
    """Held for its recipient until the 30th (their request), then the attempt limit
    lowered to its one attempt: not due back before the day its recipient was promised,
    as the missing scans say. Before, the returns due listed it at once while the
    missing scans left it out as held."""
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    attempt(client, auth(courier), item.identifier, clock(), reason="asks_another_day",
            action="called_recipient")
    event(client, auth(dispatcher), item.identifier, "EDF", clock())
    staff = auth(dispatcher)
    assert ask(client, staff, item.identifier, "hold", "2026-11-30").status_code == 200
    app.config["MAX_DELIVERY_ATTEMPTS"] = 1  # lowered since
    due, missing = reports.returns, reports.missing

    clock.advance(days=10, hours=15)  # 23:00 on the 30th, its last day
    assert due()["total"] == 0
    assert missing()["items"] == [] and missing()["held_for_collection"] == 1
    clock.advance(hours=1)  # the 1st: not collected, due back
    assert [(x["identifier"], x["why"]) for x in due()["items"]] == [
        (item.identifier, "attempts_used_up")]
    assert [x["identifier"] for x in missing()["items"]] == [item.identifier]


def test_an_earlier_rounds_attempt_synced_last_does_not_undo_the_later_rounds(
        app, client, auth, office, courier, dispatcher, make_item, clock):
    """Offline all afternoon, the courier went out twice more (EDG, kept late: each opens
    a round) and synced the second round first; the first round's attempt came after
    (another upload, a photo scan). It counts, but the later round's result stands:
    before, it said what came next as if no round had started after it (only applied
    departures were looked at), and the recipient who would collect the parcel was
    sent a courier on the 24th."""
    app.config["MAX_DELIVERY_ATTEMPTS"] = 5
    item = make_item(office, courier=courier, events=("EMG", "EDG"))  # out at 08:00
    t0 = clock()
    attempt(client, auth(courier), item.identifier, t0 + timedelta(hours=1),
            reason="asks_another_day", action="called_recipient")  # 09:00, online
    h = auth(courier)

    def sync(*evs):
        r = client.post("/api/v1/sync", headers=h, json={"events": [
            {"kind": "event", "identifier": item.identifier, "client_event_id": next(ids),
             **e} for e in evs]})
        assert [(x["result"], x["applied"]) for x in r.json["results"]] == [
            ("accepted", False)] * len(evs), r.json

    clock.advance(hours=6)  # 14:00: the office scans it back in
    event(client, auth(dispatcher), item.identifier, "EDF", clock())
    clock.advance(hours=1)
    sync({"code": "EDG", "device_time": (t0 + timedelta(hours=2)).isoformat()},
         {"code": "EDG", "device_time": (t0 + timedelta(hours=4)).isoformat()},
         {"code": "EMH", "device_time": (t0 + timedelta(hours=5)).isoformat(),
          "location": AT_DOOR, **WILL_COLLECT})  # 13:00: they will collect it
    sync({"code": "EMH", "device_time": (t0 + timedelta(hours=3)).isoformat(),
          "location": AT_DOOR, "reason": "asks_another_day", "action": "called_recipient",
          "next_attempt_on": "2026-11-24"})  # 11:00, the round before
    got = client.get(f"/api/v1/items/{item.identifier}", headers=auth(dispatcher)).json
    assert (got["failed_attempts"], got["awaiting"], got["collect_by"],
            got["next_attempt_on"]) == (3, "collection", "2026-11-27", None)
