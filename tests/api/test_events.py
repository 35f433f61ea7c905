from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.items.service import replayed_state
from models import CashEntry, EventCode, Item, TrackingEvent, db
from tests.conftest import at_once, when_both_arrive

ids = (f"evt-{n:06d}" for n in itertools.count())
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # the fake clock: 08:00 in Viet Nam


def ev(code, **kw):
    body = {"code": code, "client_event_id": next(ids),
            "device_time": "2026-11-20T09:15:00+07:00",
            "location": {"lat": 12.2381, "lon": 109.1962, "accuracy_m": 8}}
    if code == "EMH":
        body.update(reason="unreachable_by_phone", action="notice_left")
    body.update(kw)
    return body


def post(client, h, item, body):
    ident = item if isinstance(item, str) else item.identifier
    return client.post(f"/api/v1/items/{ident}/events", json=body, headers=h)


def test_courier_delivers_an_assigned_item(client, auth, office, courier, make_item, clock,
                                           full_proof):
    item = make_item(office, courier=courier, events=("EMG",))
    h = auth(courier)
    r = post(client, h, item, ev("EDG"))
    assert r.status_code == 201 and r.json["item"]["status"] == "out_for_delivery"
    clock.advance(minutes=30)
    r = post(client, h, item, ev("EMI", note="handed to recipient", proof=full_proof(item)))
    assert r.status_code == 201
    assert r.json["item"]["status"] == "delivered" and r.json["item"]["allowed_events"] == []
    e = r.json["event"]
    assert e["actor"]["username"] == courier.username
    assert e["location"] == {"lat": 12.2381, "lon": 109.1962, "accuracy_m": 8.0}
    assert e["device_time"].startswith("2026-11-20T02:15:00")  # stored in UTC
    assert e["server_time"].startswith("2026-11-20T01:30:00")


def test_allowed_events_are_what_the_reader_may_record(client, auth, office, courier,
                                                       dispatcher, make_item):
    """A courier was offered RTS and EMG, each a 403 when sent; anyone was offered EDG
    for an item given to no courier, a 409 not-assigned."""
    mine = make_item(office, courier=courier, events=("EMG",))
    nobodys = make_item(office, events=("EMG",))
    seen = client.get(f"/api/v1/items/{mine.identifier}", headers=auth(courier)).json
    assert set(seen["allowed_events"]) == {"EDG", "EDF", "EDH"}
    staff = client.get(f"/api/v1/items/{mine.identifier}", headers=auth(dispatcher)).json
    assert {"EDG", "RTS"} <= set(staff["allowed_events"])
    free = client.get(f"/api/v1/items/{nobodys.identifier}", headers=auth(dispatcher)).json
    assert "EDG" not in free["allowed_events"] and "RTS" in free["allowed_events"]
    assert post(client, auth(dispatcher), nobodys, ev("EDG")).status_code == 409


def test_illegal_transition_is_409_with_state_and_allowed_events(client, auth, office,
                                                                 dispatcher, make_item):
    item = make_item(office)
    r = post(client, auth(dispatcher), item, ev("EMI"))
    assert r.status_code == 409
    assert r.json["type"] == "/problems/illegal-transition"
    assert r.json["current_status"] == "accepted"
    assert set(r.json["allowed_events"]) == {"EDD", "EMG"}
    assert db.session.query(TrackingEvent).count() == 1  # only the EMA


def test_replay_returns_the_original_result_and_records_nothing(client, auth, office, courier,
                                                                make_item, clock):
    item = make_item(office, courier=courier, events=("EMG",))
    h = auth(courier)
    body = ev("EDG")
    first = post(client, h, item, body)
    clock.advance(minutes=5)
    again = post(client, h, item, body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json["replayed"] is True and first.json["replayed"] is False
    assert again.json["event"] == first.json["event"]
    assert db.session.query(TrackingEvent).filter_by(item_id=item.id).count() == 3


@pytest.mark.parametrize("device_time", ["2026-11-20T08:30:00.123456+07:00",
                                         "2026-11-20T08:30:00.5Z", "2026-11-20T01:30:00Z"])
def test_a_resend_with_fractions_of_a_second_or_another_offset_is_a_replay(
        client, auth, office, courier, make_item, device_time):
    """A resend is compared by its device time (the same id at another time is another
    event): as stored, to the microsecond, in whatever offset it is written."""
    item = make_item(office, courier=courier, events=("EMG",))
    h = auth(courier)
    body = {**ev("EDG"), "device_time": device_time}
    assert post(client, h, item, body).status_code == 201
    same = body["device_time"].replace("01:30:00Z", "08:30:00+07:00")
    again = post(client, h, item, {**body, "device_time": same})
    assert again.status_code == 200 and again.json["replayed"] is True


def test_replay_after_later_events_does_not_move_state(client, auth, office, courier,
                                                       make_item, full_proof):
    item = make_item(office, courier=courier, events=("EMG",))
    h = auth(courier)
    out = ev("EDG")
    post(client, h, item, out)
    post(client, h, item, ev("EMI", proof=full_proof(item)))
    r = post(client, h, item, out)  # the phone resends its backlog
    assert r.status_code == 200 and r.json["event"]["status_after"] == "out_for_delivery"
    assert r.json["item"]["status"] == "delivered"


def test_reusing_an_event_id_for_another_event_is_409(client, auth, office, courier, make_item):
    a = make_item(office, courier=courier, events=("EMG",))
    b = make_item(office, courier=courier, events=("EMG",))
    h = auth(courier)
    body = ev("EDG")
    assert post(client, h, a, body).status_code == 201
    r = post(client, h, b, body)
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
    assert db.session.get(Item, b.id).status.value == "at_delivery_office"


def test_failed_attempt_needs_reason_and_action(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = post(client, auth(courier), item, ev("EMH", reason=None, action=None))
    assert r.status_code == 422
    assert {e["pointer"] for e in r.json["errors"]} == {"/reason", "/action"}
    r = post(client, auth(courier), item, ev("EMH", reason="teleported"))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/reason"
    r = post(client, auth(courier), item, ev("EMI", reason="refused"))
    assert r.status_code == 422


def test_third_failed_attempt_returns_to_sender(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier, events=("EMG", "EDG", "EMH", "EDG", "EMH", "EDG"))
    r = post(client, auth(courier), item, ev("EMH", reason="refused"))
    assert r.status_code == 201
    assert r.json["item"]["status"] == "return_to_sender"
    assert [e["code"] for e in r.json["follow_up_events"]] == ["RTS"]
    assert r.json["follow_up_events"][0]["actor"] is None


def test_no_fourth_round_when_attempts_are_used_up(client, auth, office, dispatcher, courier,
                                                   make_item, app):
    app.config["MAX_DELIVERY_ATTEMPTS"] = 2
    item = make_item(office, courier=courier, events=("EMG", "EDG", "EMH", "EDG"))
    body = ev("EMH")
    r = post(client, auth(courier), item, body)
    assert r.json["item"]["status"] == "return_to_sender"
    # the resend of the same EMH is a replay, not a third attempt
    again = post(client, auth(courier), item, body)
    assert again.status_code == 200 and again.json["follow_up_events"][0]["code"] == "RTS"
    assert db.session.get(Item, item.id).failed_attempts == 2


def test_out_for_delivery_needs_an_assigned_courier(client, auth, office, dispatcher, make_item):
    item = make_item(office, events=("EMG",))
    r = post(client, auth(dispatcher), item, ev("EDG"))
    assert r.status_code == 409 and r.json["type"] == "/problems/not-assigned"


def test_courier_field_events_need_gps(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = post(client, auth(courier), item, ev("EMI", location=None))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/location"


def test_couriers_cannot_record_office_events(client, auth, office, courier, make_item):
    item = make_item(office, courier=courier)
    assert post(client, auth(courier), item, ev("EMG")).status_code == 403


@pytest.mark.parametrize("override", [
    {"device_time": "2026-11-20T09:15:00"},  # no zone
    {"device_time": "yesterday"},
    {"client_event_id": "short"},
    {"client_event_id": "x" * 61},
    {"client_event_id": "bad id with spaces"},
    {"code": "XYZ"},
    {"location": {"lat": 12.2, "lon": 200}},
    {"location": {"lat": "NaN", "lon": 109}},
    {"location": {"lat": 12.2, "lon": 109, "accuracy_m": -1}},
    {"note": "x" * 1001},
    {"sent_at": "noon"},
    {"sent_at": "2026-11-20T09:15:00"},  # no zone
    {"sent_at": "0001-01-01T00:00:00+00:00"},  # outside 2000-2099, as sync refuses it
    {"sent_at": "2100-01-01T12:00:00+00:00"},
])
def test_bad_event_input_is_422(client, auth, office, courier, make_item, override):
    item = make_item(office, courier=courier, events=("EMG",))
    body = ev("EDG")
    body.update(override)
    r = post(client, auth(courier), item, body)
    assert r.status_code == 422, r.json
    assert db.session.query(TrackingEvent).filter_by(item_id=item.id).count() == 2


CODES = [c.value for c in EventCode]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(CODES), min_size=1, max_size=15))
def test_status_always_equals_the_replayed_history(client, auth, office, dispatcher, courier,
                                                   make_item, full_proof, codes):
    """Random event sequences through the API, legal or not: the stored status and
    attempt count always equal a replay of the stored events."""
    item = make_item(office, courier=courier)
    h = auth(dispatcher)
    for code in codes:
        r = post(client, h, item, ev(code, proof=full_proof(item)) if code == "EMI"
                 else ev(code))
        assert r.status_code in (201, 409), r.json
    db.session.expire_all()
    stored = db.session.get(Item, item.id)
    replayed = replayed_state(stored)
    assert replayed.status == stored.status
    assert replayed.failed_attempts == stored.failed_attempts
    last = stored.events[-1]
    assert last.status_after == stored.status


@pytest.mark.parametrize(("location", "flags"), [
    ({"lat": 12.2381, "lon": 109.1962, "accuracy_m": 8}, None),  # at the door
    ({"lat": 12.2410, "lon": 109.1962, "accuracy_m": 8}, ["far_from_address"]),  # ~330 m
    ({"lat": 12.2381, "lon": 109.1962, "accuracy_m": 250}, ["poor_gps_accuracy"]),
    ({"lat": 12.2600, "lon": 109.1962, "accuracy_m": 500},
     ["poor_gps_accuracy", "far_from_address"]),
])
def test_deliveries_far_from_the_address_are_flagged_not_refused(
        client, auth, office, courier, make_item, full_proof, location, flags):
    rcpt = {"name": "Trần Thị B", "address": "12 Trần Phú", "city": "Nha Trang",
            "province": "Khánh Hòa", "lat": 12.2381, "lon": 109.1962}
    item = make_item(office, courier=courier, events=("EMG", "EDG"), recipient=rcpt)
    # a device time the server finds plausible (ev's 09:15 is 75 min ahead of its clock,
    # which would add implausible_device_time): only the GPS flags are under test
    r = post(client, auth(courier), item, ev("EMI", location=location, proof=full_proof(item),
                                             device_time="2026-11-20T08:05:00+07:00"))
    assert r.status_code == 201
    assert r.json["event"]["flags"] == flags
    assert r.json["item"]["status"] == "delivered"


@pytest.mark.parametrize(("device_time", "flags", "day"), [
    # a phone reset to 2000: the server's receive time (08:00 on the 20th) decides
    ("2000-01-01T09:00:00+07:00", ["implausible_device_time"], "2026-11-20"),
    # a clock 16 h ahead (no sent_at here to correct it): the server's day, not the 21st
    ("2026-11-21T00:30:00+07:00", ["implausible_device_time"], "2026-11-20"),
    # a delivery made offline a few days ago and sent now: the device time decides
    ("2026-11-17T16:00:00+07:00", [], "2026-11-17"),
])
def test_cod_cash_from_the_events_endpoint_is_booked_by_the_time_flags(
        client, auth, office, courier, make_item, full_proof, device_time, flags, day):
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000)
    r = post(client, auth(courier), item, ev("EMI", device_time=device_time,
                                             proof=full_proof(item)))
    assert r.status_code == 201, r.json
    assert (r.json["event"]["flags"] or []) == flags
    entry = db.session.query(CashEntry).filter_by(item_id=item.id).one()
    assert entry.service_date.isoformat() == day


@pytest.mark.parametrize(("device_time", "sent_at", "flags", "day"), [
    # a phone 2 h ahead: the delivery at 01:50 on the 20th by its clock was 23:50 on
    # the 19th (sent at 08:00 on the 20th, 10:00 by the phone): the 19th's cash
    ("2026-11-20T01:50:00+07:00", "2026-11-20T10:00:00+07:00", ["device_clock_off"],
     "2026-11-19"),
    # the same delivery without sent_at: nothing to correct the time with
    ("2026-11-20T01:50:00+07:00", None, [], "2026-11-20"),
    # a phone reset to 2000 that sends its (equally wrong) sent_at: the skew corrects the
    # device time to 07:00 on the 20th, which is plausible, so only the clock is flagged
    ("2000-01-01T09:00:00+07:00", "2000-01-01T10:00:00+07:00", ["device_clock_off"],
     "2026-11-20"),
    # a clock 3 min behind: too little to flag, the device time decides
    ("2026-11-17T16:00:00+07:00", "2026-11-20T07:57:00+07:00", [], "2026-11-17"),
])
def test_sent_at_gives_the_clock_skew_and_books_cod_cash_as_sync_does(
        client, auth, office, courier, dispatcher, make_item, full_proof, device_time,
        sent_at, flags, day):
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000)
    extra = {"sent_at": sent_at} if sent_at else {}
    r = post(client, auth(courier), item, ev("EMI", device_time=device_time,
                                             proof=full_proof(item), **extra))
    assert r.status_code == 201, r.json
    assert (r.json["event"]["flags"] or []) == flags
    skew = r.json["event"]["clock_skew_s"]
    assert skew == (None if sent_at is None else
                    (datetime.fromisoformat(sent_at) - T0).total_seconds())
    assert db.session.query(TrackingEvent).filter_by(item_id=item.id, code="EMI").one(
        ).clock_skew_s == skew
    entry = db.session.query(CashEntry).filter_by(item_id=item.id).one()
    assert entry.service_date.isoformat() == day
    # the staff timeline shows the measured skew with the event
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=auth(dispatcher)).json
    assert [e["clock_skew_s"] for e in detail["events"] if e["code"] == "EMI"] == [skew]


def test_failed_attempt_photo_and_next_attempt_day(client, auth, office, courier, make_item,
                                                   full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    h = auth(courier)
    r = post(client, h, item, ev("EMH", reason="recipient_absent"))
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/photo"
    photo = full_proof(item)["photo"]
    r = post(client, h, item, ev("EMH", reason="recipient_absent", photo=photo))
    assert r.status_code == 201 and r.json["event"]["photo"] == photo
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    assert detail["next_attempt_on"] == "2026-11-21"  # the next day, Viet Nam time
    assert client.get(f"/api/v1/track/{item.identifier}").json["next_attempt_on"] == \
        "2026-11-21"
    assert post(client, h, item, ev("EDG")).status_code == 201
    r = post(client, h, item, ev("EMH", reason="asks_another_day",
                                 next_attempt_on="2026-11-24"))
    assert r.status_code == 201
    assert client.get(f"/api/v1/items/{item.identifier}",
                      headers=h).json["next_attempt_on"] == "2026-11-24"
    assert post(client, h, item, ev("EDG")).status_code == 201
    r = post(client, h, item, ev("EMH", reason="will_collect_at_office"))
    assert r.json["item"]["status"] == "return_to_sender"  # third attempt
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    assert detail["next_attempt_on"] is None
    assert detail["awaiting"] is None  # returned: not waiting for its recipient
    bad = post(client, h, item, ev("EMH", photo="ab" * 32))
    assert bad.status_code in (409, 422)


@pytest.mark.parametrize(("after", "kept"), [
    (("EDH",), None),  # at a pick-up point: collected there, no delivery attempt
    (("EDF",), "2026-11-24"),  # held overnight, the usual step after an attempt: still due
    (("EDF", "EDH"), None),
    (("EDF", "EMI"), None),  # collected at the office
    (("EDG",), None),  # out again: the attempt is under way
    (("RTS",), None),
])
def test_the_next_attempt_day_goes_when_no_attempt_is_coming(
        client, auth, office, courier, dispatcher, make_item, full_proof, after, kept):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = post(client, auth(courier), item, ev("EMH", reason="asks_another_day",
                                             next_attempt_on="2026-11-24"))
    assert r.status_code == 201
    h = auth(dispatcher)
    for code in after:
        extra = {"proof": full_proof(item)} if code == "EMI" else {}
        assert post(client, h, item, ev(code, **extra)).status_code == 201, code
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    assert detail["next_attempt_on"] == kept
    assert client.get(f"/api/v1/track/{item.identifier}").json["next_attempt_on"] == kept


@pytest.mark.parametrize(("reason", "action", "awaiting", "next_day"), [
    ("will_collect_at_office", "called_recipient", "collection", None),
    ("unreachable_by_phone", "hold_at_office", "collection", None),
    ("refused", "return_to_sender", "return", None),
    # the recipient asked for a day, but the courier chose the return: no day
    ("asks_another_day", "return_to_sender", "return", None),
    ("refused", "notice_left", None, "2026-11-21"),  # another round, the next day
])
def test_a_failed_attempt_the_recipient_collects_or_the_courier_returns_schedules_none(
        client, auth, office, courier, make_item, reason, action, awaiting, next_day):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    h = auth(courier)
    extra = {"next_attempt_on": "2026-11-23"} if reason == "asks_another_day" else {}
    r = post(client, h, item, ev("EMH", reason=reason, action=action, **extra))
    assert r.status_code == 201, r.json
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    assert (detail["awaiting"], detail["next_attempt_on"]) == (awaiting, next_day)
    # the recipient called back: out again, it waits for nothing
    assert post(client, h, item, ev("EDG")).status_code == 201
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=h).json
    assert (detail["awaiting"], detail["next_attempt_on"]) == (None, None)


def test_the_automatic_return_comes_after_the_attempt_that_caused_it(
        client, auth, office, courier, make_item, clock):
    item = make_item(office, courier=courier,
                     events=("EMG", "EDG", "EMH", "EDG", "EMH", "EDG"))
    # the phone's clock is 75 minutes ahead of the server's (09:15 on the phone, 08:00)
    r = post(client, auth(courier), item, ev("EMH"))
    assert r.status_code == 201 and r.json["item"]["status"] == "return_to_sender"
    events = client.get(f"/api/v1/track/{item.identifier}").json["events"]
    assert [e["code"] for e in events[:2]] == ["RTS", "EMH"]  # newest first
    # (the public page shows both at 08:00: nothing happened after the server got it)
    assert events[0]["time"] == events[1]["time"] == "2026-11-20T08:00:00+07:00"
    rts = db.session.execute(db.select(TrackingEvent).filter_by(
        item_id=item.id, code=EventCode.RTS)).scalar_one()
    assert rts.server_time == clock()  # when the server decided it


@pytest.mark.parametrize("device_time, sent_at", [
    # a phone 10 minutes behind the server, which sends its clock: the attempt was made
    # at 08:00; the return was shown at 07:50, before its cause
    ("2026-11-20T07:50:00+07:00", "2026-11-20T07:50:00+07:00"),
    # a phone reset to 2000: the attempt is shown when the server got it; the return
    # was shown on 2000-01-01, the first thing that ever happened to the parcel
    ("2000-01-01T07:00:00+07:00", None)])
def test_the_public_page_shows_the_automatic_return_at_its_causes_time(
        client, auth, office, courier, make_item, device_time, sent_at):
    item = make_item(office, courier=courier,
                     events=("EMG", "EDG", "EMH", "EDG", "EMH", "EDG"))
    r = post(client, auth(courier), item, ev("EMH", device_time=device_time,
                                             sent_at=sent_at))
    assert r.status_code == 201 and r.json["item"]["status"] == "return_to_sender"
    events = client.get(f"/api/v1/track/{item.identifier}").json["events"]
    assert [e["code"] for e in events[:2]] == ["RTS", "EMH"]  # newest first
    assert events[0]["time"] == events[1]["time"] == "2026-11-20T08:00:00+07:00"


def test_two_phones_recording_an_attempt_at_once_count_one(app, auth, office, courier,
                                                            make_item, monkeypatch):
    from api.items import service

    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    # geo_flags runs after the item is read and before anything is written: without a
    # row lock both requests get there; with it the second waits for the first's commit
    monkeypatch.setattr(service, "geo_flags", when_both_arrive(service.geo_flags))
    h = auth(courier)
    bodies = [ev("EMH"), ev("EMH")]  # two event ids: not a replay of one event
    ident, item_id = item.identifier, item.id
    answers = at_once(app, *(lambda c, b=b: post(c, h, ident, b) for b in bodies))
    assert sorted(a.status_code for a in answers) == [201, 409]
    db.session.expire_all()
    assert db.session.get(Item, item_id).failed_attempts == 1
    assert db.session.query(TrackingEvent).filter_by(item_id=item_id, code=EventCode.EMH
                                                     ).count() == 1


def test_the_same_event_resent_at_once_is_recorded_once(app, auth, office, courier, make_item,
                                                        monkeypatch):
    from api.items import service

    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    # both have looked for an earlier copy of the event before either locks the item
    monkeypatch.setattr(service, "get_item", when_both_arrive(service.get_item))
    h = auth(courier)
    body = ev("EMH")  # one event, sent twice by a phone on a flaky network
    ident, item_id = item.identifier, item.id
    answers = at_once(app, *(lambda c: post(c, h, ident, body) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert answers[0].json["event"]["id"] == answers[1].json["event"]["id"]
    db.session.expire_all()
    assert db.session.get(Item, item_id).failed_attempts == 1


def test_a_next_attempt_day_before_the_attempt_is_422(client, auth, office, courier,
                                                      make_item):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    h = auth(courier)
    # the attempt is on 2026-11-20 (Viet Nam time): the recipient cannot ask for the 19th
    r = post(client, h, item, ev("EMH", reason="asks_another_day",
                                 next_attempt_on="2026-11-19"))
    assert r.status_code == 422, r.json
    assert r.json["errors"][0]["pointer"] == "/next_attempt_on"
    assert db.session.get(Item, item.id).failed_attempts == 0
    r = post(client, h, item, ev("EMH", reason="asks_another_day",
                                 next_attempt_on="2026-11-20"))  # later the same day
    assert r.status_code == 201, r.json
    # the same rule for a scan and a synced entry
    scan = client.post("/api/v1/scans", headers=h, json={
        "action": "failed_attempt", "client_event_id": next(ids),
        "device_time": "2026-11-20T09:15:00+07:00", "codes": [{"text": item.identifier}],
        "reason": "asks_another_day", "action_taken": "notice_left",
        "next_attempt_on": "2026-11-01", "location": {"lat": 12.2381, "lon": 109.1962}})
    assert scan.status_code == 422 and scan.json["errors"][0]["pointer"] == "/next_attempt_on"
    sync = client.post("/api/v1/sync", headers=h, json={"events": [
        {"kind": "event", "identifier": item.identifier,
         **ev("EMH", reason="asks_another_day", next_attempt_on="2026-11-01")}]})
    assert sync.json["results"][0]["problem"]["errors"][0]["pointer"] == "/next_attempt_on"
