"""Courier-reported outcomes and the office's confirmation of them (api/outcomes)."""

from __future__ import annotations

import itertools
import re
import threading

import pytest

from models import OutcomeReview, Role, TrackingEvent, db

ids = (f"outcome-{n:06d}" for n in itertools.count())
DAY = "2026-11-20"


def record(client, h, item, code, *, at="2026-11-20T10:00:00+07:00", **extra):
    body = {"code": code, "client_event_id": extra.pop("client_event_id", next(ids)),
            "device_time": at, "location": {"lat": 12.238, "lon": 109.196}, **extra}
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json=body)
    assert r.status_code in (200, 201), r.json
    return r.json["event"] if "event" in r.json else r.json


@pytest.fixture
def day(client, auth, office, courier, make_item, full_proof, clock):
    """The courier's day: out at 08:00, a COD parcel delivered at 10:00, a failed attempt
    at 11:00, recorded at noon."""
    h = auth(courier)
    delivered = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000)
    failed = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(hours=4)
    ev_delivery = record(client, h, delivered, "EMI", proof=full_proof(delivered))
    ev_attempt = record(client, h, failed, "EMH", at="2026-11-20T11:00:00+07:00",
                        reason="recipient_absent", action="notice_left",
                        photo=full_proof(failed)["photo"])
    return {"delivered": delivered, "failed": failed, "delivery": ev_delivery["id"],
            "attempt": ev_attempt["id"]}


def states(body):
    return {o["event_id"]: o["confirmation"]["state"] for o in body["outcomes"]}


def test_a_couriers_outcomes_are_reported_until_the_office_confirms_them(
        client, auth, courier, dispatcher, day):
    h = auth(dispatcher)
    r = client.get(f"/api/v1/outcomes?date={DAY}", headers=h)
    assert r.status_code == 200, r.json
    assert states(r.json) == {day["delivery"]: "reported", day["attempt"]: "reported"}
    assert r.json["couriers"] == [{"courier_id": courier.id, "username": courier.username,
                                   "reported": 2, "confirmed": 0, "disputed": 0}]
    cod = {o["event_id"]: o["cod_collected"] for o in r.json["outcomes"]}
    assert cod == {day["delivery"]: 250_000, day["attempt"]: None}
    # the item's history says the same
    detail = client.get(f"/api/v1/items/{day['delivered'].identifier}", headers=h).json
    by_code = {e["code"]: e["confirmation"] for e in detail["events"]}
    assert by_code["EMI"]["state"] == "reported" and by_code["EMG"] is None

    r = client.post("/api/v1/outcomes/confirm", headers=h, json={
        "date": DAY, "courier_id": courier.id, "note": "bag and cash checked"})
    assert r.status_code == 200, r.json
    assert states(r.json) == {day["delivery"]: "confirmed", day["attempt"]: "confirmed"}
    assert r.json["couriers"][0]["confirmed"] == 2
    conf = r.json["outcomes"][0]["confirmation"]
    assert conf["basis"] == "reviewed" and conf["by"]["id"] == dispatcher.id
    assert conf["note"] == "bag and cash checked" and len(conf["reviews"]) == 1
    assert r.json["confirmed_now"] == 2
    # confirming again changes nothing
    again = client.post("/api/v1/outcomes/confirm", headers=h, json={
        "date": DAY, "courier_id": courier.id, "note": "bag and cash checked"})
    assert again.json["confirmed_now"] == 0
    assert db.session.query(OutcomeReview).count() == 2
    detail = client.get(f"/api/v1/items/{day['failed'].identifier}", headers=h).json
    emh = next(e for e in detail["events"] if e["code"] == "EMH")
    assert emh["confirmation"]["state"] == "confirmed"


def test_a_dispute_is_kept_and_settled_by_a_later_review(client, auth, courier, dispatcher,
                                                         make_user, office, day):
    h = auth(dispatcher)
    url = f"/api/v1/outcomes/{day['delivery']}/review"
    r = client.post(url, headers=h, json={"state": "disputed"})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/note"
    r = client.post(url, headers=h, json={"state": "disputed",
                                          "note": "parcel found in the bag at 18:00"})
    assert r.status_code == 200, r.json
    assert r.json["confirmation"]["state"] == "disputed"
    # confirming the day leaves a disputed outcome disputed unless it is named
    body = client.post("/api/v1/outcomes/confirm", headers=h, json={
        "date": DAY, "courier_id": courier.id}).json
    assert states(body) == {day["delivery"]: "disputed", day["attempt"]: "confirmed"}
    disputed = client.get(f"/api/v1/outcomes?date={DAY}&state=disputed", headers=h).json
    assert [o["event_id"] for o in disputed["outcomes"]] == [day["delivery"]]
    supervisor = make_user(Role.DISPATCHER, office)
    body = client.post("/api/v1/outcomes/confirm", headers=auth(supervisor), json={
        "date": DAY, "courier_id": courier.id, "event_ids": [day["delivery"]],
        "note": "recipient confirmed by phone"}).json
    conf = next(o for o in body["outcomes"] if o["event_id"] == day["delivery"])["confirmation"]
    assert conf["state"] == "confirmed" and conf["by"]["id"] == supervisor.id
    assert [(x["state"], x["by"]["id"]) for x in conf["reviews"]] == [
        ("disputed", dispatcher.id), ("confirmed", supervisor.id)]


def test_an_outcome_recorded_by_office_staff_is_confirmed_as_recorded(
        client, auth, office, dispatcher, make_item, full_proof):
    item = make_item(office, events=("EMG", "EDF"))
    ev = record(client, auth(dispatcher), item, "EMI", proof=full_proof(item, by=dispatcher))
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=auth(dispatcher)).json
    conf = next(e for e in detail["events"] if e["id"] == ev["id"])["confirmation"]
    assert conf["state"] == "confirmed" and conf["basis"] == "recorded_by_staff"
    assert conf["by"]["id"] == dispatcher.id
    # not listed among what couriers reported, and the clerk cannot review their own
    assert client.get(f"/api/v1/outcomes?date={DAY}", headers=auth(dispatcher)
                      ).json["outcomes"] == []
    r = client.post(f"/api/v1/outcomes/{ev['id']}/review", headers=auth(dispatcher),
                    json={"state": "disputed", "note": "mine"})
    assert r.status_code == 403


def test_only_outcomes_of_the_day_of_that_courier_at_that_office_are_confirmed(
        client, auth, office, courier, dispatcher, make_user, make_office, make_item,
        full_proof, clock, day):
    h = auth(dispatcher)
    other = make_user(Role.COURIER, office)
    item = make_item(office, courier=other, events=("EMG", "EDG"))
    theirs = record(client, auth(other), item, "EMI", proof=full_proof(item))
    clock.advance(days=1)
    tomorrow = make_item(office, courier=courier, events=("EMG", "EDG"))
    later = record(client, auth(courier), tomorrow, "EMI", at="2026-11-21T09:00:00+07:00",
                   proof=full_proof(tomorrow))
    h = auth(dispatcher)
    r = client.post("/api/v1/outcomes/confirm", headers=h, json={
        "date": DAY, "courier_id": courier.id,
        "event_ids": [day["delivery"], theirs["id"], later["id"], 10**6]})
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json["errors"]] == [
        "/event_ids/1", "/event_ids/2", "/event_ids/3"]
    assert db.session.query(OutcomeReview).count() == 0  # nothing confirmed
    body = client.post("/api/v1/outcomes/confirm", headers=h, json={
        "date": DAY, "courier_id": courier.id}).json
    assert set(states(body)) == {day["delivery"], day["attempt"]}
    listing = client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json
    assert states(listing)[theirs["id"]] == "reported"
    assert later["id"] not in states(listing)
    assert states(client.get("/api/v1/outcomes?date=2026-11-21", headers=h).json) == {
        later["id"]: "reported"}
    # another office's dispatcher sees none of it and reviews none of it
    stranger = make_user(Role.DISPATCHER, make_office())
    assert client.get(f"/api/v1/outcomes?date={DAY}", headers=auth(stranger)
                      ).json["outcomes"] == []
    assert client.post(f"/api/v1/outcomes/{day['attempt']}/review", headers=auth(stranger),
                       json={"state": "confirmed"}).status_code == 404


def test_who_may_confirm(client, auth, courier, dispatcher, make_user, office, day):
    assert client.get(f"/api/v1/outcomes?date={DAY}", headers=auth(courier)).status_code == 403
    assert client.post("/api/v1/outcomes/confirm", headers=auth(courier), json={
        "date": DAY, "courier_id": courier.id}).status_code == 403
    assert client.post(f"/api/v1/outcomes/{day['delivery']}/review", headers=auth(courier),
                       json={"state": "confirmed"}).status_code == 403
    admin = make_user(Role.ADMIN)
    r = client.get(f"/api/v1/outcomes?date={DAY}", headers=auth(admin))
    assert r.status_code == 422  # an admin names the office
    r = client.get(f"/api/v1/outcomes?date={DAY}&office_id={office.id}", headers=auth(admin))
    assert len(r.json["outcomes"]) == 2
    r = client.post("/api/v1/outcomes/confirm", headers=auth(admin), json={
        "date": DAY, "courier_id": dispatcher.id, "office_id": office.id})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/courier_id"


def test_events_that_are_no_outcome_are_not_reviewed(client, auth, courier, dispatcher, day):
    emg = db.session.query(TrackingEvent).filter_by(
        item_id=day["delivered"].id, code="EMG").one()
    r = client.post(f"/api/v1/outcomes/{emg.id}/review", headers=auth(dispatcher),
                    json={"state": "confirmed"})
    assert r.status_code == 409 and r.json["type"].endswith("not-an-outcome")
    assert client.post("/api/v1/outcomes/999999/review", headers=auth(dispatcher),
                       json={"state": "confirmed"}).status_code == 404


@pytest.mark.parametrize("query", [
    "", "date=yesterday", f"date={DAY}&state=delivered", f"date={DAY}&courier_id=x"])
def test_bad_queries_are_422(client, auth, dispatcher, query):
    r = client.get(f"/api/v1/outcomes?{query}", headers=auth(dispatcher))
    assert r.status_code == 422


@pytest.mark.parametrize("body", [
    {"courier_id": 1},
    {"date": DAY},
    {"date": DAY, "courier_id": 1, "event_ids": []},
    {"date": DAY, "courier_id": 1, "event_ids": ["a"]},
    {"date": DAY, "courier_id": 1, "event_ids": list(range(1, 2002))},
    {"date": DAY, "courier_id": 1, "note": "x" * 501},
    {"date": DAY, "courier_id": 1, "surprise": True},
])
def test_bad_confirmations_are_422(client, auth, dispatcher, body):
    r = client.post("/api/v1/outcomes/confirm", headers=auth(dispatcher), json=body)
    assert r.status_code == 422, r.json


def test_a_copy_of_a_delivery_kept_unapplied_is_no_outcome(client, auth, courier, dispatcher,
                                                          day, full_proof):
    """The same hand-over recorded again under another id (the phone's backlog synced
    after the scan) is kept as a late conflict: one delivery to confirm, not two."""
    item = day["delivered"]
    r = client.post("/api/v1/sync", headers=auth(courier), json={
        "device_id": "android-1", "events": [{
            "kind": "event", "identifier": item.identifier, "code": "EMI",
            "client_event_id": next(ids), "device_time": "2026-11-20T09:59:00+07:00",
            "location": {"lat": 12.238, "lon": 109.196}, "proof": full_proof(item)}]})
    assert r.status_code == 200, r.json
    assert r.json["results"][0]["flags"] == ["late_conflict"], r.json
    copy = db.session.query(TrackingEvent).filter_by(item_id=item.id, code="EMI",
                                                     applied=False).one()
    listing = client.get(f"/api/v1/outcomes?date={DAY}", headers=auth(dispatcher)).json
    assert set(states(listing)) == {day["delivery"], day["attempt"]}
    assert client.post(f"/api/v1/outcomes/{copy.id}/review", headers=auth(dispatcher),
                       json={"state": "confirmed"}).status_code == 409
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=auth(dispatcher)).json
    assert next(e for e in detail["events"] if e["id"] == copy.id)["confirmation"] is None


def test_a_day_is_read_in_a_fixed_number_of_queries(client, auth, office, courier, dispatcher,
                                                    make_item, count_queries, day):
    h = auth(dispatcher)
    client.get(f"/api/v1/outcomes?date={DAY}", headers=h)  # the token's first use
    with count_queries() as n:
        assert len(client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json["outcomes"]) == 2
    few = n()
    client.post(f"/api/v1/outcomes/{day['attempt']}/review", headers=h,
                json={"state": "disputed", "note": "neighbour saw them home"})
    for _ in range(8):
        item = make_item(office, courier=courier, events=("EMG", "EDG"))
        record(client, auth(courier), item, "EMH", at="2026-11-20T11:30:00+07:00",
               reason="unreachable_by_phone", action="notice_left")
    with count_queries() as n:
        assert len(client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json["outcomes"]) == 10
    assert n() == few


def test_the_public_page_says_whether_the_office_confirmed_a_delivery(
        client, auth, courier, dispatcher, day):
    number = day["delivered"].identifier

    def delivery(lang="en"):
        body = client.get(f"/api/v1/track/{number}?lang={lang}").json
        return next(e for e in body["events"] if e["code"] == "EMI")

    assert delivery()["confirmed"] is False
    assert next(e for e in client.get(f"/api/v1/track/{number}").json["events"]
                if e["code"] == "EMG")["confirmed"] is None
    page = client.get(f"/track/{number}?lang=en").get_data(as_text=True)
    assert "not yet confirmed by the post office" in page
    client.post(f"/api/v1/outcomes/{day['delivery']}/review", headers=auth(dispatcher),
                json={"state": "disputed", "note": "recipient says no"})
    assert delivery()["confirmed"] is False  # a dispute is shown as not confirmed
    client.post(f"/api/v1/outcomes/{day['delivery']}/review", headers=auth(dispatcher),
                json={"state": "confirmed"})
    assert delivery()["confirmed"] is True
    page = client.get(f"/track/{number}?lang=vi").get_data(as_text=True)
    assert "bưu cục chưa xác nhận" not in page


def test_the_console_confirms_a_couriers_day_and_records_a_dispute(
        client, courier, dispatcher, day):
    from tests.api.test_console import CSRF_RE, login

    assert login(client, dispatcher.username, "pw").status_code == 302
    page = client.get(f"/console/outcomes?date={DAY}").text
    assert 'id="outcome-couriers"' in page and courier.username in page
    url = f"/console/outcomes?date={DAY}&courier={courier.id}"
    page = client.get(url).text
    assert page.count('data-state="reported"') == 2
    token = CSRF_RE.search(page).group(1)
    # a dispute without a note is refused on the page, nothing recorded
    r = client.post(f"/console/outcomes/{day['delivery']}/review", data={
        "csrf_token": token, "state": "disputed", "note": "", "courier_id": courier.id,
        "date": DAY})
    assert r.status_code == 422 and db.session.query(OutcomeReview).count() == 0
    r = client.post(f"/console/outcomes/{day['delivery']}/review", data={
        "csrf_token": token, "state": "disputed", "note": "túi còn bưu gửi",
        "courier_id": courier.id, "date": DAY})
    assert r.status_code == 302
    form = confirm_all_form(client.get(url).text)
    assert form["event_ids"] == [str(day["attempt"])]  # what is still reported
    r = client.post("/console/outcomes/confirm", data=form)
    assert r.status_code == 302
    page = client.get(url).text
    assert 'data-state="disputed"' in page and 'data-state="confirmed"' in page
    assert 'id="confirm-all"' not in page  # nothing left to confirm
    assert "túi còn bưu gửi" in page
    # the item's timeline says it too
    item_page = client.get(f"/console/items?number={day['delivered'].identifier}").text
    assert "Có sai lệch" in item_page and "túi còn bưu gửi" in item_page


def confirm_all_form(page):
    """What the page's "confirm all" form sends, as a browser sends it."""
    form = re.search(r'<form[^>]*id="confirm-all".*?</form>', page, re.S).group(0)
    sent = {}
    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"',
                                  form):
        sent.setdefault(name, []).append(value)
    return {k: v if k == "event_ids" else v[0] for k, v in sent.items()} | {"note": ""}


def test_the_console_confirms_what_its_page_showed_as_reported(
        client, auth, office, courier, dispatcher, make_user, make_item, clock, day):
    """The page was shown; then the courier's phone synced one more failed attempt and a
    colleague disputed the delivery: "confirm all" confirmed both, the attempt nobody
    had looked at and, over the dispute, the delivery."""
    from tests.api.test_console import login

    login(client, dispatcher.username, "pw")
    url = f"/console/outcomes?date={DAY}&courier={courier.id}"
    form = confirm_all_form(client.get(url).text)
    assert sorted(form["event_ids"]) == sorted([str(day["delivery"]), str(day["attempt"])])
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    synced = record(client, auth(courier), item, "EMH", at="2026-11-20T15:00:00+07:00",
                    reason="unreachable_by_phone", action="notice_left")
    colleague = make_user(Role.DISPATCHER, office)
    assert client.post(f"/api/v1/outcomes/{day['delivery']}/review", headers=auth(colleague),
                       json={"state": "disputed", "note": "parcel in the bag"}
                       ).status_code == 200
    assert client.post("/console/outcomes/confirm", data=form).status_code == 302
    listing = client.get(f"/api/v1/outcomes?date={DAY}", headers=auth(dispatcher)).json
    assert states(listing) == {day["delivery"]: "disputed", day["attempt"]: "confirmed",
                               synced["id"]: "reported"}
    # the page sent again (a double click) records nothing more
    assert client.post("/console/outcomes/confirm", data=form).status_code == 302
    assert db.session.query(OutcomeReview).count() == 2


def test_a_delivery_the_office_did_not_know_of_is_an_outcome_to_check(
        client, auth, office, courier, dispatcher, make_item, full_proof, clock):
    """Delivered offline at 10:00, its COD in the courier's pocket; the office, not
    knowing, held the parcel at 17:00 and decided its return; the phone synced at 18:00.
    The delivery is kept unapplied (a late conflict: the parcel is no longer out) and
    no COD is booked: it is not a copy of a delivery recorded already, and was on no
    list for the office to check."""
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000)
    proof = full_proof(item)
    clock.advance(hours=9)
    h = auth(dispatcher)
    record(client, h, item, "EDF", at="2026-11-20T17:00:00+07:00")
    record(client, h, item, "RTS", at="2026-11-20T17:05:00+07:00")
    clock.advance(hours=1)
    r = client.post("/api/v1/sync", headers=auth(courier), json={
        "device_id": "android-1", "events": [{
            "kind": "event", "identifier": item.identifier, "code": "EMI",
            "client_event_id": next(ids), "device_time": "2026-11-20T10:00:00+07:00",
            "location": {"lat": 12.238, "lon": 109.196}, "proof": proof}]})
    assert r.status_code == 200, r.json
    assert "late_conflict" in r.json["results"][0]["flags"], r.json
    ev = db.session.query(TrackingEvent).filter_by(item_id=item.id, code="EMI").one()
    assert not ev.applied
    listing = client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json
    row = next(o for o in listing["outcomes"] if o["event_id"] == ev.id)
    assert row["confirmation"]["state"] == "reported" and row["cod_collected"] == 250_000
    assert row["applied"] is False and "late_conflict" in row["flags"]
    r = client.post(f"/api/v1/outcomes/{ev.id}/review", headers=h,
                    json={"state": "disputed", "note": "returned, yet reported delivered"})
    assert r.status_code == 200, r.json
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    conf = next(e for e in detail["events"] if e["id"] == ev.id)["confirmation"]
    assert conf["state"] == "disputed"


def _after_reading_the_day(monkeypatch, wait):
    """``_day_events`` reading as it does, then ``wait()`` (another request's turn)."""
    from api.outcomes import service

    real = service._day_events

    def read_then_wait(*args, **kwargs):
        found = real(*args, **kwargs)
        wait()
        return found

    monkeypatch.setattr(service, "_day_events", read_then_wait)


def test_a_day_confirmed_twice_at_once_is_confirmed_once(app, auth, courier, dispatcher,
                                                         day, monkeypatch):
    """Both requests read the day before either wrote (a double click, two dispatchers):
    each confirmed both outcomes, four reviews, ``confirmed_now`` 2 and 2. Now the
    second waits for the first (its lock), then finds nothing to confirm."""
    from tests.conftest import at_once

    barrier = threading.Barrier(2)

    def meet():
        try:
            barrier.wait(timeout=2)  # the first holds the second back: it goes on alone
        except threading.BrokenBarrierError:
            pass

    _after_reading_the_day(monkeypatch, meet)
    h = auth(dispatcher)
    body = {"date": DAY, "courier_id": courier.id}
    answers = at_once(app, *[lambda c: c.post("/api/v1/outcomes/confirm", headers=h,
                                              json=body)] * 2)
    assert [a.status_code for a in answers] == [200, 200], [a.json for a in answers]
    assert sorted(a.json["confirmed_now"] for a in answers) == [0, 2]
    db.session.expire_all()
    assert db.session.query(OutcomeReview).count() == 2


def test_a_dispute_made_while_the_day_is_confirmed_stays(app, auth, courier, dispatcher,
                                                         make_user, office, day,
                                                         monkeypatch):
    """A colleague disputes the delivery while "confirm every one still reported" is
    under way: the confirmation, which had read it as reported, was recorded after the
    dispute and buried it. Now the dispute waits for the confirmation, and is the
    delivery's latest word."""
    read, disputed = threading.Event(), threading.Event()

    def let_the_dispute_in():
        if not read.is_set():
            read.set()
            disputed.wait(2)  # the dispute is held back by the lock: on after 2 s

    _after_reading_the_day(monkeypatch, let_the_dispute_in)
    h, colleague = auth(dispatcher), auth(make_user(Role.DISPATCHER, office))
    body, answers = {"date": DAY, "courier_id": courier.id}, {}

    def confirm():
        with app.test_client() as c:
            answers["confirm"] = c.post("/api/v1/outcomes/confirm", headers=h, json=body)

    t = threading.Thread(target=confirm)
    t.start()
    assert read.wait(20)
    with app.test_client() as c:
        answers["dispute"] = c.post(f"/api/v1/outcomes/{day['delivery']}/review",
                                    headers=colleague,
                                    json={"state": "disputed", "note": "found in the bag"})
    disputed.set()
    t.join(30)
    assert answers["confirm"].status_code == 200 and answers["dispute"].status_code == 200
    db.session.expire_all()
    with app.test_client() as c:
        listing = c.get(f"/api/v1/outcomes?date={DAY}", headers=h).json
    assert states(listing) == {day["delivery"]: "disputed", day["attempt"]: "confirmed"}


def test_an_outcome_staff_record_for_a_courier_is_that_couriers_to_check(
        client, auth, office, courier, dispatcher, make_user, make_item, full_proof, clock):
    """The courier's phone died: they phone the office, which records the delivery and
    the failed attempt for them. Their outcomes still, the office's to check."""
    delivered = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=90_000)
    failed = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(hours=4)
    h = auth(dispatcher)
    ev = record(client, h, delivered, "EMI", proof=full_proof(delivered, by=dispatcher))
    record(client, h, failed, "EMH", at="2026-11-20T11:00:00+07:00",
           reason="unreachable_by_phone", action="notice_left")
    body = client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json
    assert body["couriers"] == [{"courier_id": courier.id, "username": courier.username,
                                 "reported": 2, "confirmed": 0, "disputed": 0}]
    assert {(o["courier"]["id"], o["recorded_by"]["id"]) for o in body["outcomes"]} == {
        (courier.id, dispatcher.id)}
    assert client.get(f"/api/v1/track/{delivered.identifier}").json["events"][0][
        "confirmed"] is False
    # the one who relayed it does not confirm it alone; a colleague does
    assert client.post(f"/api/v1/outcomes/{ev['id']}/review", headers=h,
                       json={"state": "confirmed"}).status_code == 403
    colleague = make_user(Role.DISPATCHER, office)
    r = client.post(f"/api/v1/outcomes/{ev['id']}/review", headers=auth(colleague),
                    json={"state": "confirmed"})
    assert r.status_code == 200 and r.json["confirmation"]["state"] == "confirmed"
    # a parcel given at the counter (in no bag) is the office's own, confirmed as recorded
    counter = make_item(office, events=("EMG", "EDF"))
    own = record(client, h, counter, "EMI", proof=full_proof(counter, by=dispatcher))
    assert own["confirmation"]["basis"] == "recorded_by_staff"


def test_outcomes_from_before_the_office_checked_are_confirmed_once_by_the_cli(
        app, client, auth, office, courier, dispatcher, make_user, make_item, full_proof,
        clock, day):
    """The upgrade: every outcome recorded before offices checked their couriers' days
    says "not yet confirmed" on the public page until an admin confirms them at once."""
    make_user(Role.ADMIN, username="it-admin")
    clock.advance(days=1)
    today = make_item(office, courier=courier, events=("EMG", "EDG"))
    later = record(client, auth(courier), today, "EMI", at="2026-11-21T09:00:00+07:00",
                   proof=full_proof(today))
    client.post(f"/api/v1/outcomes/{day['attempt']}/review", headers=auth(dispatcher),
                json={"state": "disputed", "note": "neighbour saw them home"})
    runner = app.test_cli_runner()
    r = runner.invoke(args=["outcomes", "confirm-before", "2026-11-21", "--by",
                            dispatcher.username])
    assert r.exit_code != 0 and "not an active admin" in r.output
    r = runner.invoke(args=["outcomes", "confirm-before", "2026-11-21", "--by", "it-admin"])
    assert r.exit_code == 0, r.output
    assert "Confirmed 1 outcomes" in r.output  # the delivery; the dispute stays
    h = auth(dispatcher)
    assert states(client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json) == {
        day["delivery"]: "confirmed", day["attempt"]: "disputed"}
    assert states(client.get("/api/v1/outcomes?date=2026-11-21", headers=h).json) == {
        later["id"]: "reported"}
    again = runner.invoke(args=["outcomes", "confirm-before", "2026-11-21", "--by",
                                "it-admin"])
    assert "Confirmed 0 outcomes" in again.output


def test_a_courier_is_told_of_the_outcomes_the_office_disputed(
        client, auth, courier, dispatcher, make_user, office, make_item, full_proof, clock,
        day):
    """The courier's phone lists each of their outcomes whose latest review is a dispute,
    with its note, until the dispute is settled; nobody else's."""
    mine = client.get("/api/v1/couriers/me/disputes", headers=auth(courier))
    assert mine.status_code == 200, mine.json
    assert mine.json["total"] == 0 and mine.json["outcomes"] == []
    h = auth(dispatcher)
    client.post(f"/api/v1/outcomes/{day['delivery']}/review", headers=h, json={
        "state": "disputed", "note": "recipient says nothing came"})
    client.post(f"/api/v1/outcomes/{day['attempt']}/review", headers=h, json={
        "state": "confirmed"})
    # another courier's disputed outcome is theirs alone
    other = make_user(Role.COURIER, office)
    parcel = make_item(office, courier=other, events=("EMG", "EDG"))
    theirs = record(client, auth(other), parcel, "EMI", proof=full_proof(parcel))
    client.post(f"/api/v1/outcomes/{theirs['id']}/review", headers=h, json={
        "state": "disputed", "note": "signature is not the recipient's"})

    mine = client.get("/api/v1/couriers/me/disputes", headers=auth(courier)).json
    assert mine["total"] == 1
    [row] = mine["outcomes"]
    assert row["event_id"] == day["delivery"]
    assert row["identifier"] == day["delivered"].identifier
    assert row["confirmation"]["note"] == "recipient says nothing came"
    assert row["confirmation"]["by"]["id"] == dispatcher.id
    assert [o["event_id"] for o in client.get(
        "/api/v1/couriers/me/disputes", headers=auth(other)).json["outcomes"]] == [theirs["id"]]

    # settled: confirmed after all, so no longer listed
    client.post(f"/api/v1/outcomes/{day['delivery']}/review", headers=h, json={
        "state": "confirmed", "note": "recipient found it with a neighbour"})
    assert client.get("/api/v1/couriers/me/disputes", headers=auth(courier)).json[
        "outcomes"] == []
    # staff have the office's lists instead
    r = client.get("/api/v1/couriers/me/disputes", headers=h)
    assert r.status_code == 403 and r.json["type"].endswith("/forbidden")


def test_a_courier_is_told_of_a_dispute_of_what_staff_recorded_for_them_until_it_is_old(
        client, auth, office, courier, dispatcher, make_user, make_item, full_proof, clock):
    """A delivery the office recorded for the courier (phoned in) is the courier's to
    answer when disputed; a dispute older than the listed period is no longer listed."""
    parcel = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(hours=4)
    ev = record(client, auth(dispatcher), parcel, "EMI",
                proof=full_proof(parcel, by=dispatcher))
    colleague = make_user(Role.DISPATCHER, office)
    r = client.post(f"/api/v1/outcomes/{ev['id']}/review", headers=auth(colleague),
                    json={"state": "disputed", "note": "no such call in the log"})
    assert r.status_code == 200, r.json
    listed = client.get("/api/v1/couriers/me/disputes", headers=auth(courier)).json
    assert [o["event_id"] for o in listed["outcomes"]] == [ev["id"]]
    assert listed["outcomes"][0]["recorded_by"]["id"] == dispatcher.id
    # nor is it the relaying dispatcher's to answer
    assert client.get("/api/v1/couriers/me/disputes",
                      headers=auth(dispatcher)).status_code == 403
    clock.advance(days=61)
    assert client.get("/api/v1/couriers/me/disputes", headers=auth(courier)).json[
        "outcomes"] == []


# ---------------------------------------------------------------- the backlog

def ids_of(body):
    return [o["event_id"] for o in body["outcomes"]]


@pytest.fixture
def earlier(client, auth, office, courier, make_user, make_item, full_proof, clock, day):
    """After the courier's day (the 20th): on the 21st the courier delivers one more and
    another courier fails an attempt and delivers one; today is the 22nd, with one more
    delivery of the courier."""
    clock.advance(days=1)  # 2026-11-21, 12:00
    second = make_item(office, courier=courier, events=("EMG", "EDG"))
    other = make_user(Role.COURIER, office)
    theirs = make_item(office, courier=other, events=("EMG", "EDG"))
    checked = make_item(office, courier=other, events=("EMG", "EDG"))
    delivered_21 = record(client, auth(courier), second, "EMI",
                          at="2026-11-21T09:00:00+07:00", proof=full_proof(second))
    attempt_21 = record(client, auth(other), theirs, "EMH", at="2026-11-21T08:30:00+07:00",
                        reason="recipient_absent", action="notice_left",
                        photo=full_proof(theirs)["photo"])
    checked_21 = record(client, auth(other), checked, "EMI", at="2026-11-21T10:00:00+07:00",
                        proof=full_proof(checked))
    clock.advance(days=1)  # 2026-11-22: today
    today = make_item(office, courier=courier, events=("EMG", "EDG"))
    today_ev = record(client, auth(courier), today, "EMI", at="2026-11-22T09:00:00+07:00",
                      proof=full_proof(today))
    return {**day, "other": other, "delivered_21": delivered_21["id"],
            "attempt_21": attempt_21["id"], "checked_21": checked_21["id"],
            "today": today_ev["id"]}


def test_the_backlog_lists_what_is_still_reported_from_earlier_days(
        client, auth, courier, dispatcher, earlier):
    h = auth(dispatcher)
    other = earlier["other"]
    assert client.post(f"/api/v1/outcomes/{earlier['checked_21']}/review", headers=h,
                       json={"state": "confirmed"}).status_code == 200
    assert client.post(f"/api/v1/outcomes/{earlier['attempt']}/review", headers=h, json={
        "state": "disputed", "note": "neighbour saw them home"}).status_code == 200
    r = client.get("/api/v1/outcomes/backlog", headers=h)
    assert r.status_code == 200, r.json
    body = r.json
    assert (body["before"], body["since"], body["total"]) == ("2026-11-22", "2026-10-22", 3)
    # neither today's, nor one confirmed or disputed; the oldest first
    assert [(o["event_id"], o["day"]) for o in body["outcomes"]] == [
        (earlier["delivery"], "2026-11-20"), (earlier["attempt_21"], "2026-11-21"),
        (earlier["delivered_21"], "2026-11-21")]
    assert {o["confirmation"]["state"] for o in body["outcomes"]} == {"reported"}
    assert body["couriers"] == [
        {"courier_id": courier.id, "username": courier.username, "reported": 2,
         "oldest_day": "2026-11-20"},
        {"courier_id": other.id, "username": other.username, "reported": 1,
         "oldest_day": "2026-11-21"}]
    # each as the day's list shows it
    day_row = next(o for o in client.get(f"/api/v1/outcomes?date={DAY}", headers=h
                                         ).json["outcomes"]
                   if o["event_id"] == earlier["delivery"])
    assert {k: v for k, v in body["outcomes"][0].items() if k != "day"} == day_row
    # before another day, from another day, one courier's, a page at a time
    assert ids_of(client.get("/api/v1/outcomes/backlog?before=2026-11-21", headers=h).json
                  ) == [earlier["delivery"]]
    assert ids_of(client.get("/api/v1/outcomes/backlog?since=2026-11-21", headers=h).json
                  ) == [earlier["attempt_21"], earlier["delivered_21"]]
    url = f"/api/v1/outcomes/backlog?courier_id={courier.id}&page_size=1"
    first = client.get(url, headers=h).json
    assert ids_of(first) == [earlier["delivery"]] and first["total"] == 2
    assert [c["courier_id"] for c in first["couriers"]] == [courier.id]
    assert ids_of(client.get(url + "&page=2", headers=h).json) == [earlier["delivered_21"]]
    assert client.get(url + "&page=3", headers=h).json["outcomes"] == []
    # confirmed, gone from it
    client.post("/api/v1/outcomes/confirm", headers=h, json={
        "date": DAY, "courier_id": courier.id})
    assert ids_of(client.get("/api/v1/outcomes/backlog", headers=h).json) == [
        earlier["attempt_21"], earlier["delivered_21"]]


def test_the_backlog_is_the_offices_and_staffs(client, auth, office, courier, dispatcher,
                                              make_user, make_office, earlier):
    assert client.get("/api/v1/outcomes/backlog", headers=auth(courier)).status_code == 403
    stranger = make_user(Role.DISPATCHER, make_office())
    assert client.get("/api/v1/outcomes/backlog", headers=auth(stranger)).json["total"] == 0
    assert client.get(f"/api/v1/outcomes/backlog?office_id={office.id}",
                      headers=auth(stranger)).status_code == 404
    admin = make_user(Role.ADMIN)
    assert client.get("/api/v1/outcomes/backlog", headers=auth(admin)).status_code == 422
    r = client.get(f"/api/v1/outcomes/backlog?office_id={office.id}", headers=auth(admin))
    assert r.status_code == 200 and r.json["total"] == 5


@pytest.mark.parametrize("query", [
    "before=yesterday", "since=2026-11-22", "since=2026-11-25", "since=2026-08-01",
    "before=2026-11-22&since=2026-08-21", "page=0", "page_size=201", "courier_id=x",
    "office_id=0"])
def test_bad_backlog_queries_are_422(client, auth, dispatcher, clock, query):
    clock.advance(days=2)  # 2026-11-22
    r = client.get(f"/api/v1/outcomes/backlog?{query}", headers=auth(dispatcher))
    assert r.status_code == 422, r.json
    assert r.json["errors"], r.json


def test_the_backlog_is_read_in_a_fixed_number_of_queries(
        client, auth, office, courier, dispatcher, make_item, count_queries, clock, earlier):
    h = auth(dispatcher)
    client.get("/api/v1/outcomes/backlog", headers=h)  # the token's first use
    with count_queries() as n:
        assert client.get("/api/v1/outcomes/backlog", headers=h).json["total"] == 5
    few = n()
    for k in range(8):
        item = make_item(office, courier=courier, events=("EMG", "EDG"))
        record(client, auth(courier), item, "EMH", at=f"2026-11-21T1{k}:00:00+07:00",
               reason="unreachable_by_phone", action="notice_left")
    with count_queries() as n:
        assert len(client.get("/api/v1/outcomes/backlog", headers=h).json["outcomes"]) == 13
    assert n() == few


def test_the_console_shows_what_is_left_from_earlier_days(client, courier, dispatcher,
                                                          earlier):
    from tests.api.test_console import login

    login(client, dispatcher.username, "pw")
    page = client.get("/console/outcomes").text
    section = re.search(r'<section class="card" id="outcome-backlog">.*?</section>', page,
                        re.S).group(0)
    assert re.findall(r'data-day="([^"]+)" data-event="(\d+)"', section) == [
        ("2026-11-20", str(earlier["delivery"])), ("2026-11-20", str(earlier["attempt"])),
        ("2026-11-21", str(earlier["attempt_21"])), ("2026-11-21", str(earlier["delivered_21"])),
        ("2026-11-21", str(earlier["checked_21"]))]
    assert f"?date=2026-11-20&amp;courier={courier.id}" in section
    # the page of the 21st: what is left from before it
    section = client.get("/console/outcomes?date=2026-11-21").text.split(
        'id="outcome-backlog"')[1].split("</section>")[0]
    assert re.findall(r'data-event="(\d+)"', section) == [
        str(earlier["delivery"]), str(earlier["attempt"])]


# ---------------------------------------------------------------- a role changed since

def test_a_courier_made_a_dispatcher_keeps_their_outcomes_reported(
        client, auth, office, courier, dispatcher, make_user, make_item, full_proof, day):
    """Their outcomes were judged by their role now: promoted, everything they had
    reported became the office's own, confirmed as recorded, and left the day's list."""
    clerk = make_user(Role.DISPATCHER, office)
    counter = make_item(office, events=("EMG", "EDF"))
    at_counter = record(client, auth(clerk), counter, "EMI",
                        proof=full_proof(counter, by=clerk))
    courier.role, clerk.role = Role.DISPATCHER, Role.COURIER
    db.session.commit()
    h = auth(dispatcher)
    body = client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json
    assert states(body) == {day["delivery"]: "reported", day["attempt"]: "reported"}
    assert body["couriers"][0]["courier_id"] == courier.id
    detail = client.get(f"/api/v1/items/{day['delivered'].identifier}", headers=h).json
    assert next(e for e in detail["events"] if e["code"] == "EMI")["confirmation"][
        "state"] == "reported"
    assert next(e for e in client.get(f"/api/v1/track/{day['delivered'].identifier}"
                                      ).json["events"] if e["code"] == "EMI")[
        "confirmed"] is False
    # and the clerk's delivery at the counter stays the office's own
    detail = client.get(f"/api/v1/items/{counter.identifier}", headers=h).json
    conf = next(e for e in detail["events"] if e["id"] == at_counter["id"])["confirmation"]
    assert (conf["state"], conf["basis"]) == ("confirmed", "recorded_by_staff")
    # theirs to check by someone else: not by themselves
    assert client.post(f"/api/v1/outcomes/{day['delivery']}/review", headers=auth(courier),
                       json={"state": "confirmed"}).status_code == 403
    assert client.post("/api/v1/outcomes/confirm", headers=auth(courier), json={
        "date": DAY, "courier_id": courier.id}).status_code == 403
    r = client.post("/api/v1/outcomes/confirm", headers=h, json={
        "date": DAY, "courier_id": courier.id})
    assert r.status_code == 200 and r.json["confirmed_now"] == 2, r.json


# ---------------------------------------------------------------- the one-time code

@pytest.fixture
def coded(office, courier, make_item):
    """A parcel worth a one-time delivery code, out with the courier (the code issued)."""
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=3_500_000)
    db.session.refresh(item)
    assert item.delivery_code
    return item


def confirmation_of(client, h, item, event_id):
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    return next(e for e in detail["events"] if e["id"] == event_id)["confirmation"]


def sync_delivery(client, h, item, proof, cid, at="2026-11-20T10:00:00+07:00"):
    r = client.post("/api/v1/sync", headers=h, json={
        "device_id": "android-1", "events": [{
            "kind": "event", "identifier": item.identifier, "code": "EMI",
            "client_event_id": cid, "device_time": at,
            "location": {"lat": 12.238, "lon": 109.196}, "proof": proof}]})
    assert r.status_code == 200, r.json
    return r.json["results"][0]


def test_a_delivery_against_the_one_time_code_is_confirmed_as_it_arrives(
        client, auth, courier, dispatcher, full_proof, clock, coded):
    h = auth(dispatcher)
    proof = full_proof(coded)
    clock.advance(hours=4)
    sync_delivery(client, auth(courier), coded, proof, "coded-delivery-1")
    # the same upload again (the phone did not get the answer): one review
    sync_delivery(client, auth(courier), coded, proof, "coded-delivery-1")
    ev = db.session.query(TrackingEvent).filter_by(item_id=coded.id, code="EMI").one()
    assert db.session.query(OutcomeReview).filter_by(event_id=ev.id).count() == 1
    conf = confirmation_of(client, h, coded, ev.id)
    assert (conf["state"], conf["basis"], conf["by"]) == ("confirmed", "delivery_code", None)
    assert [(x["state"], x["basis"], x["by"]) for x in conf["reviews"]] == [
        ("confirmed", "delivery_code", None)]
    body = client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json
    assert states(body) == {ev.id: "confirmed"}
    assert body["couriers"][0]["confirmed"] == 1
    assert client.get("/api/v1/outcomes/backlog?before=2026-11-21", headers=h
                      ).json["total"] == 0
    assert next(e for e in client.get(f"/api/v1/track/{coded.identifier}").json["events"]
                if e["code"] == "EMI")["confirmed"] is True
    # the same hand-over sent again under another id: a copy, kept unapplied, no review
    copy = sync_delivery(client, auth(courier), coded, proof, "coded-delivery-2",
                         at="2026-11-20T09:59:00+07:00")
    assert "late_conflict" in copy["flags"]
    assert db.session.query(OutcomeReview).count() == 1
    # staff may still dispute it: the latest review decides
    r = client.post(f"/api/v1/outcomes/{ev.id}/review", headers=h,
                    json={"state": "disputed", "note": "recipient says not received"})
    assert r.status_code == 200 and r.json["confirmation"]["state"] == "disputed"
    assert [x["basis"] for x in r.json["confirmation"]["reviews"]] == [
        "delivery_code", "reviewed"]


def test_only_a_couriers_full_delivery_against_the_code_confirms_itself(
        client, auth, office, courier, dispatcher, make_item, full_proof, clock, coded):
    """A failed attempt, a delivery office staff relayed (staff can read the code), a
    partial delivery and a wrong code confirm nothing."""
    h = auth(dispatcher)
    clock.advance(hours=4)
    failed = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=3_500_000)
    attempt = record(client, auth(courier), failed, "EMH", reason="recipient_absent",
                     action="notice_left", photo=full_proof(failed)["photo"])
    r = client.post(f"/api/v1/items/{coded.identifier}/events", headers=auth(courier), json={
        "code": "EMI", "client_event_id": next(ids), "device_time": "2026-11-20T10:00:00+07:00",
        "location": {"lat": 12.238, "lon": 109.196},
        "proof": full_proof(coded, delivery_code="000000")})
    assert r.status_code == 422  # nothing stored
    relayed = record(client, h, coded, "EMI", proof=full_proof(coded, by=dispatcher))
    boxes = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=3_500_000,
                      pieces=3)
    partial = record(client, auth(courier), boxes, "EMI", proof=full_proof(
        boxes, pieces_delivered=2, partial_reason="refused_part", cod_collected=2_000_000))
    assert db.session.query(OutcomeReview).count() == 0
    body = client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json
    assert states(body) == {attempt["id"]: "reported", relayed["id"]: "reported",
                            partial["id"]: "reported"}


def test_the_console_says_confirmed_by_the_one_time_code(client, auth, courier, dispatcher,
                                                         full_proof, clock, coded):
    from tests.api.test_console import login

    clock.advance(hours=4)
    ev = record(client, auth(courier), coded, "EMI", proof=full_proof(coded))
    login(client, dispatcher.username, "pw")
    page = client.get(f"/console/outcomes?date={DAY}&courier={courier.id}").text
    assert page.count('data-state="confirmed"') == 1 and 'id="confirm-all"' not in page
    assert "xác nhận bằng mã giao hàng một lần" in page
    item_page = client.get(f"/console/items?number={coded.identifier}").text
    assert "xác nhận bằng mã giao hàng một lần" in item_page
    assert ev["confirmation"]["basis"] == "delivery_code"


def test_a_coded_delivery_far_from_the_address_is_left_to_the_office(
        client, auth, courier, dispatcher, full_proof, clock, coded):
    """The recipient read the code out over the phone and the parcel never reached them:
    recorded kilometres from the address, the delivery is not confirmed by its code."""
    clock.advance(hours=4)
    r = client.post(f"/api/v1/items/{coded.identifier}/events", headers=auth(courier), json={
        "code": "EMI", "client_event_id": next(ids), "device_time": "2026-11-20T10:00:00+07:00",
        "location": {"lat": 12.30, "lon": 109.10}, "proof": full_proof(coded)})
    assert r.status_code == 201, r.json
    ev = r.json["event"] if "event" in r.json else r.json
    assert "far_from_address" in ev["flags"], ev
    assert db.session.query(OutcomeReview).count() == 0
    conf = confirmation_of(client, auth(dispatcher), coded, ev["id"])
    assert (conf["state"], conf["basis"]) == ("reported", None)


def test_a_courier_made_staff_does_not_review_what_staff_relayed_for_them(
        client, auth, office, courier, dispatcher, make_item, full_proof, clock):
    """Their outcome still (the list's `courier`): a 403 as for one they recorded, as
    `POST /outcomes/confirm` naming themselves is."""
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(hours=4)
    relayed = record(client, auth(dispatcher), item, "EMI",
                     proof=full_proof(item, by=dispatcher))
    assert relayed["confirmation"]["state"] == "reported"
    courier.role = Role.DISPATCHER
    db.session.commit()
    r = client.post(f"/api/v1/outcomes/{relayed['id']}/review", headers=auth(courier),
                    json={"state": "confirmed"})
    assert r.status_code == 403, r.json
    assert db.session.query(OutcomeReview).count() == 0


def test_the_backlog_lists_only_what_its_days_lists_find(
        client, auth, office, courier, dispatcher, make_item, full_proof, clock):
    """A phone three days ahead that synced nine days late: its delivery's shift day is
    the 20th (its time corrected), but the 20th's list does not find it (neither by
    device time nor by arrival); the backlog listed it on the 20th all the same, linking
    to a day's list that does not show it and that cannot confirm it."""
    from datetime import timedelta

    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    clock.advance(days=9)
    r = client.post("/api/v1/sync", headers=auth(courier), json={
        "device_id": "android-1", "sent_at": (clock() + timedelta(days=3)).isoformat(),
        "events": [{"kind": "event", "identifier": item.identifier, "code": "EMI",
                    "client_event_id": next(ids), "device_time": "2026-11-23T10:00:00+07:00",
                    "location": {"lat": 12.238, "lon": 109.196}, "proof": full_proof(item)}]})
    assert r.json["results"][0]["flags"] == ["device_clock_off"], r.json
    h = auth(dispatcher)
    assert client.get(f"/api/v1/outcomes?date={DAY}", headers=h).json["outcomes"] == []
    body = client.get("/api/v1/outcomes/backlog", headers=h).json
    assert (body["total"], body["outcomes"], body["couriers"]) == (0, [], [])
