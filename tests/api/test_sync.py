"""Offline sync: partial success, idempotency, device-time order, late conflicts,
clock skew, GPS downsampling; and a 10 000-entry replay against a clean single pass."""

from __future__ import annotations

import itertools
import random
from datetime import UTC, datetime, timedelta, timezone

import pytest

from api.items.service import replayed_state
from models import CashEntry, CourierPosition, Item, Role, SyncUpload, TrackingEvent, db
from models.lifecycle import EventCode, replay

ids = (f"sync-{n:07d}" for n in itertools.count())
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 in Viet Nam, the fake clock's start


def at(minutes: float) -> str:
    return (T0 + timedelta(minutes=minutes)).isoformat()


def event(identifier, code, minutes, **kw):
    body = {"kind": "event", "identifier": identifier, "code": code,
            "client_event_id": next(ids), "device_time": at(minutes),
            "location": {"lat": 12.238, "lon": 109.196, "accuracy_m": 10}}  # at the door
    if code == "EMH":
        body.update(reason="unreachable_by_phone", action="notice_left")
    body.update(kw)
    return body


def ping(minutes, lat=12.24, lon=109.19):
    return {"kind": "gps", "client_event_id": next(ids), "device_time": at(minutes),
            "location": {"lat": lat, "lon": lon, "accuracy_m": 8}}


def evening(clock):
    """Phones sync after the fact: the server's now becomes 18:00; items arrived at the
    office at 08:00 and the day's events lie between."""
    clock.advance(hours=10)


def upload(client, h, entries, **kw):
    body = {"device_id": "android-1", "events": entries}
    body.update(kw)
    return client.post("/api/v1/sync", json=body, headers=h)


def test_partial_success_and_exact_once(client, auth, office, courier, make_item, clock,
                                        full_proof):
    a = make_item(office, courier=courier, events=("EMG",))
    b = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    batch = [event(a.identifier, "EDG", 1), event(a.identifier, "EMI", 20, proof=full_proof(a)),
             event(b.identifier, "EDG", 2), {"kind": "event", "code": "EMI"},
             event("EE123456789VN", "EDG", 3), {"kind": "fax"}, event(b.identifier, "EMI", 1),
             {"kind": ["event"]}, {"kind": {"a": 1}},
             event(b.identifier, "EMH", 0, device_time="0001-01-01T00:00:00+00:00"),
             {**ping(0), "device_time": "9999-12-31T23:59:59-01:00"}]
    r = upload(client, auth(courier), batch)
    assert r.status_code == 200, r.json
    got = [x["result"] for x in r.json["results"]]
    assert got == ["accepted", "accepted", "accepted", "rejected", "rejected", "rejected",
                   "rejected", "rejected", "rejected", "rejected", "rejected"]
    assert [x["problem"]["errors"][0]["pointer"] for x in r.json["results"][7:]] == [
        "/kind", "/kind", "/device_time", "/device_time"]
    assert r.json["results"][3]["problem"]["status"] == 422
    assert r.json["results"][4]["problem"]["status"] in (404, 422)
    # b's EMI has a device time before its EDG: applied in device-time order it is illegal
    assert r.json["results"][6]["problem"]["status"] == 409
    assert r.json["counts"] == {"accepted": 3, "duplicate": 0, "downsampled": 0,
                                "rejected": 8, "flagged": 0}
    assert db.session.get(Item, a.id).status.value == "delivered"
    again = upload(client, auth(courier), batch)
    assert [x["result"] for x in again.json["results"]][:3] == ["duplicate"] * 3
    assert db.session.query(TrackingEvent).filter_by(item_id=a.id).count() == 4


def test_events_are_applied_in_device_time_order(client, auth, office, courier, make_item,
                                                  clock, full_proof):
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    batch = [event(item.identifier, "EMI", 30, proof=full_proof(item)),
             event(item.identifier, "EMH", 10),
             event(item.identifier, "EDG", 25), event(item.identifier, "EDG", 5)]
    r = upload(client, auth(courier), batch)
    assert [x["result"] for x in r.json["results"]] == ["accepted"] * 4
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=auth(courier)).json
    assert [e["code"] for e in detail["events"]] == ["EMA", "EMG", "EDG", "EMH", "EDG", "EMI"]
    assert detail["status"] == "delivered" and detail["failed_attempts"] == 1


def test_late_conflicting_event_is_kept_flagged_and_does_not_move_state(
        client, auth, office, courier, make_item, make_user, clock, full_proof):
    item = make_item(office, courier=courier, events=("EMG",))
    other = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h = auth(courier)
    upload(client, h, [event(item.identifier, "EDG", 0),
                       event(item.identifier, "EMI", 60, proof=full_proof(item))])
    # a second phone's backlog: a failed attempt half an hour before the delivery
    r = upload(client, h, [event(item.identifier, "EMH", 30)])
    res = r.json["results"][0]
    assert res["result"] == "accepted" and res["applied"] is False
    assert res["flags"] == ["late_conflict"] and res["item_status"] == "delivered"
    stored = db.session.get(Item, item.id)
    # the state does not move; the attempt did happen on that round, and counts
    assert stored.status.value == "delivered" and stored.failed_attempts == 1
    staff = client.get(f"/api/v1/items/{item.identifier}",
                       headers=auth(make_user(Role.DISPATCHER, office))).json
    flagged = [e for e in staff["events"] if e["flags"]]
    assert len(flagged) == 1 and flagged[0]["applied"] is False
    # the customer sees it where it happened, as every attempt the limit counts (it
    # was staff only: a parcel sent back after three attempts showed two)
    public = client.get(f"/api/v1/track/{item.identifier}").json
    assert [e["code"] for e in public["events"]] == ["EMI", "EMH", "EDG", "EMG", "EMA"]
    # a non-late illegal event is refused
    r = upload(client, h, [event(other.identifier, "EMI", 90, proof=full_proof(other))])
    assert r.json["results"][0]["problem"]["status"] == 409


def staff_event(client, h, identifier, code, minutes):
    r = client.post(f"/api/v1/items/{identifier}/events", headers=h, json={
        "code": code, "client_event_id": next(ids), "device_time": at(minutes)})
    assert r.status_code == 201, r.json
    return r


def test_a_late_event_that_is_still_legal_does_not_move_the_status_back(
        client, auth, office, courier, make_item, make_user, clock, full_proof):
    # QA's case: the courier goes out at 08:00; the dispatcher holds the item at 10:00
    # and sends it out again at 11:00; the courier's failed attempt of 08:30 arrives
    # after that. It would be legal (out for delivery -> failed), but applying it would
    # move the status back to delivery_failed and the real delivery at 12:00 be refused.
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    upload(client, h, [event(item.identifier, "EDG", 0)])
    staff_event(client, disp, item.identifier, "EDF", 120)
    staff_event(client, disp, item.identifier, "EDG", 180)
    r = upload(client, h, [event(item.identifier, "EMH", 30)])
    res = r.json["results"][0]
    assert res["result"] == "accepted" and res["applied"] is False, res
    assert res["flags"] == ["late_event"] and res["item_status"] == "out_for_delivery"
    stored = db.session.get(Item, item.id)
    # it counts as an attempt (it happened), but sets no retry day: the item is out
    assert stored.status.value == "out_for_delivery" and stored.failed_attempts == 1
    assert stored.next_attempt_on is None
    r = upload(client, h, [event(item.identifier, "EMI", 240, proof=full_proof(item))])
    res = r.json["results"][0]
    assert res["result"] == "accepted", res
    assert res["applied"] is True and res["item_status"] == "delivered"
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=disp).json
    late = [e for e in detail["events"] if not e["applied"]]
    assert [(e["code"], e["flags"]) for e in late] == [("EMH", ["late_event"])]
    assert detail["failed_attempts"] == 1
    # the public history shows it where it happened: it did happen, and it fits
    public = client.get(f"/api/v1/track/{item.identifier}").json
    assert [e["code"] for e in public["events"]] == [
        "EMI", "EDG", "EDF", "EMH", "EDG", "EMG", "EMA"]
    assert public["status"] == "delivered"


def test_the_public_page_shows_a_late_copy_of_an_attempt_or_departure_once(
        client, auth, office, courier, make_item, make_user, clock):
    # the attempt of 08:30 synced at once; the dispatcher holds the item (10:00) and sends
    # it out again (11:00); then the photo scan of the same attempt arrives (08:30:12,
    # another event id). Kept as a late_event that the limit does not count (a copy), it
    # showed the customer two failed attempts. Likewise the phone's own departure
    # (08:05), arriving after the office's (08:00) and the attempt: the item was out.
    item = make_item(office, courier=courier, events=("EMG",))
    out = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    upload(client, h, [event(item.identifier, "EDG", 0), event(item.identifier, "EMH", 30)])
    staff_event(client, disp, item.identifier, "EDF", 120)
    staff_event(client, disp, item.identifier, "EDG", 180)
    r = upload(client, h, [event(item.identifier, "EMH", 30.2)])
    assert r.json["results"][0]["flags"] == ["late_event"], r.json
    assert db.session.get(Item, item.id).failed_attempts == 1
    public = client.get(f"/api/v1/track/{item.identifier}").json
    assert [e["code"] for e in public["events"]] == ["EDG", "EDF", "EMH", "EDG", "EMG", "EMA"]
    staff_event(client, disp, out.identifier, "EDG", 0)
    upload(client, h, [event(out.identifier, "EMH", 60)])
    r = upload(client, h, [event(out.identifier, "EDG", 5)])
    assert r.json["results"][0]["flags"] == ["late_event"], r.json
    public = client.get(f"/api/v1/track/{out.identifier}").json
    assert [e["code"] for e in public["events"]] == ["EMH", "EDG", "EMG", "EMA"]
    # staff see every copy
    staff = client.get(f"/api/v1/items/{out.identifier}", headers=disp).json
    assert [e["code"] for e in staff["events"]].count("EDG") == 2


def test_a_phone_a_few_minutes_behind_is_not_late_for_what_it_did_after_the_office(
        client, auth, office, courier, make_item, make_user, clock):
    # the dispatcher sends the item out again at 11:00; the courier's attempt at 11:01
    # comes from a phone 3 minutes behind (10:58 on its clock): not enough to flag the
    # clock, but the upload's measured skew puts the attempt after 11:00
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    upload(client, h, [event(item.identifier, "EDG", 0)])
    staff_event(client, disp, item.identifier, "EDF", 120)
    staff_event(client, disp, item.identifier, "EDG", 180)
    behind = (T0 + timedelta(hours=10, minutes=-3)).isoformat()
    r = upload(client, h, [event(item.identifier, "EMH", 178)], sent_at=behind)
    assert r.json["clock_skew_s"] == -180 and not r.json.get("flags"), r.json
    res = r.json["results"][0]
    assert res["applied"] is True and res["item_status"] == "delivery_failed", res
    assert db.session.get(Item, item.id).failed_attempts == 1


def test_a_late_legal_event_triggers_nothing_that_hangs_on_applying_it(
        client, auth, office, courier, make_item, make_user, clock, full_proof):
    # two failed attempts and out again (08:00): a third, late, "attempt" from 07:30
    # must not send the item back to the sender or set a next attempt day; dated before
    # any round of the item, it does not count either (test_a_late_failed_attempt_...:
    # one within a round does)
    item = make_item(office, courier=courier,
                     events=("EMG", "EDG", "EMH", "EDG", "EMH", "EDG"))
    paid = make_item(office, courier=courier, events=("EMG",), cod_amount=250_000)
    evening(clock)
    h = auth(courier)
    r = upload(client, h, [event(item.identifier, "EMH", -30)])
    res = r.json["results"][0]
    assert res["applied"] is False and res["flags"] == ["late_event"], res
    stored = db.session.get(Item, item.id)
    assert stored.status.value == "out_for_delivery" and stored.failed_attempts == 2
    assert stored.next_attempt_on is None
    assert db.session.query(TrackingEvent).filter_by(
        item_id=item.id, code=EventCode.RTS).count() == 0
    # but a delivery made offline at 09:00, synced after the dispatcher held the item at
    # 10:00, is applied: the parcel is gone, and its COD cash is booked
    upload(client, h, [event(paid.identifier, "EDG", 0)])
    staff_event(client, auth(make_user(Role.DISPATCHER, office)), paid.identifier, "EDF", 120)
    r = upload(client, h, [event(paid.identifier, "EMI", 60, proof=full_proof(paid))])
    res = r.json["results"][0]
    assert res["applied"] is True and not res.get("flags"), res
    assert res["item_status"] == "delivered"
    assert [c.amount for c in db.session.query(CashEntry).filter_by(item_id=paid.id)] == [
        250_000]
    stored = db.session.get(Item, paid.id)
    assert stored.status.value == "delivered"
    for it in (item, paid):
        db.session.refresh(it)
        assert replay(e.code for e in it.events if e.applied).status is it.status


def test_clock_skew_is_recorded_and_absurd_times_flagged(client, auth, office, courier,
                                                         make_item, clock):
    item = make_item(office, courier=courier, events=("EMG",))
    other = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    skewed = (T0 + timedelta(hours=12)).isoformat()  # the phone's clock is 2 h ahead
    r = upload(client, auth(courier), [event(item.identifier, "EDG", 125)], sent_at=skewed)
    assert r.json["clock_skew_s"] == 7200 and r.json["flags"] == ["device_clock_off"]
    assert r.json["results"][0]["flags"] == ["device_clock_off"]
    assert db.session.query(SyncUpload).one().clock_skew_s == 7200
    r = upload(client, auth(courier), [event(other.identifier, "EDG", 0,
                                             device_time="2031-01-01T00:00:00+07:00")],
               sent_at=(T0 + timedelta(hours=10)).isoformat())
    assert r.json["results"][0]["flags"] == ["implausible_device_time"]
    assert r.json["counts"]["flagged"] == 1


@pytest.mark.parametrize(("device_time", "sent_at", "flags", "day"), [
    # a phone reset to 2000 that sends no sent_at: the device time cannot be right, and
    # the server's receive time (18:00 on the 20th) decides the shift day
    ("2000-01-01T09:00:00+07:00", None, ["implausible_device_time"], "2026-11-20"),
    # the same phone sending its (equally wrong) sent_at: the skew corrects the device
    # time to 17:00 on the 20th, which is plausible, so only the clock is flagged
    ("2000-01-01T09:00:00+07:00", "2000-01-01T10:00:00+07:00", ["device_clock_off"],
     "2026-11-20"),
    # a clock 8 h ahead: 00:30 on the 21st on the phone was 16:30 on the 20th
    ("2026-11-21T00:30:00+07:00", "2026-11-21T02:00:00+07:00", ["device_clock_off"],
     "2026-11-20"),
    # a sound clock: the device time decides, even for an upload the next morning
    ("2026-11-20T17:00:00+07:00", "2026-11-20T18:00:00+07:00", [], "2026-11-20"),
])
def test_cod_cash_is_booked_to_the_day_the_delivery_really_happened(
        client, auth, office, courier, make_item, clock, full_proof, device_time, sent_at,
        flags, day):
    item = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000)
    evening(clock)  # 18:00 on 2026-11-20 in Viet Nam
    extra = {"sent_at": sent_at} if sent_at else {}
    r = upload(client, auth(courier), [event(item.identifier, "EMI", 0, device_time=device_time,
                                             proof=full_proof(item))], **extra)
    res = r.json["results"][0]
    assert res["result"] == "accepted" and res["flags"] == flags, res
    entry = db.session.query(CashEntry).filter_by(item_id=item.id).one()
    assert entry.service_date.isoformat() == day
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date={day}",
                        headers=auth(courier)).json
    assert ledger["totals"]["cod_collected"] == 250_000


def test_an_offline_delivery_on_an_item_reassigned_meanwhile_is_a_distinct_404(
        client, auth, office, courier, make_user, make_item, clock, full_proof):
    """The delivery (09:00) was made after the item was reassigned (08:00): the
    assignment history does not show the courier holding it then, so it cannot be
    accepted, but the phone must be told to keep it for a supervisor, not that the item
    is unknown. (One made while they held it is accepted: tests/api/test_held_then.py.)"""
    other = make_user(Role.COURIER, office)
    dispatcher = make_user(Role.DISPATCHER, office)
    item = make_item(office, courier=courier, events=("EMG",), cod_amount=250_000)
    r = upload(client, auth(courier), [event(item.identifier, "EDG", 5)])  # online, 08:05
    assert r.json["results"][0]["result"] == "accepted"
    r = client.post(f"/api/v1/items/{item.identifier}/assign", headers=auth(dispatcher),
                    json={"courier_id": other.id})
    assert r.status_code == 200
    evening(clock)
    delivery = event(item.identifier, "EMI", 60, proof=full_proof(item))
    r = upload(client, auth(courier), [delivery])
    problem = r.json["results"][0]["problem"]
    assert problem["status"] == 404 and problem["type"] == "/problems/item-reassigned", problem
    assert "supervisor" in problem["detail"]
    assert db.session.query(CashEntry).count() == 0
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"
    # the same answer from the single-event endpoint and a scan
    h = auth(courier)
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        k: v for k, v in delivery.items() if k not in ("kind", "identifier")})
    assert r.status_code == 404 and r.json["type"] == "/problems/item-reassigned"
    r = client.post("/api/v1/scans", headers=h, json={
        "action": "delivered", "client_event_id": next(ids), "device_time": at(60),
        "codes": [{"text": item.identifier}], "proof": full_proof(item),
        "location": {"lat": 12.238, "lon": 109.196}})
    assert r.status_code == 404 and r.json["type"] == "/problems/item-reassigned"
    assert client.get("/problems/item-reassigned").status_code == 200
    # a courier who never had the item learns nothing: the plain 404
    stranger = make_user(Role.COURIER, office)
    r = upload(client, auth(stranger), [event(item.identifier, "EMI", 61,
                                              proof=full_proof(item))])
    assert r.json["results"][0]["problem"]["type"] == "/problems/not-found"


def test_gps_pings_are_downsampled_and_served(client, auth, office, courier, make_user,
                                              make_office, app, clock):
    evening(clock)
    h = auth(courier)
    pings = [ping(m / 6, lat=12.24 + m * 1e-4) for m in range(0, 24)]  # every 10 s for 4 min
    r = upload(client, h, pings[::-1])  # any order
    kept = [x for x in r.json["results"] if x["result"] == "accepted"]
    assert len(kept) == 8  # one per 30 s
    assert r.json["counts"]["downsampled"] == 16
    again = upload(client, h, pings).json["counts"]
    assert (again["duplicate"], again["downsampled"], again["accepted"]) == (8, 16, 0)
    assert db.session.query(CourierPosition).count() == 8
    dispatcher = make_user(Role.DISPATCHER, office)
    r = client.get(f"/api/v1/couriers/{courier.id}/track?date=2026-11-20",
                   headers=auth(dispatcher))
    assert r.mimetype == "application/geo+json"
    track = r.json
    line = track["features"][0]["geometry"]["coordinates"]
    assert len(line) == 8 and line == sorted(line, key=lambda c: c[1])
    pos = client.get("/api/v1/courier-positions", headers=auth(dispatcher)).json["couriers"]
    assert pos[0]["courier_id"] == courier.id
    assert pos[0]["position"]["lat"] == pytest.approx(12.24 + 21 * 1e-4)
    stranger = make_user(Role.DISPATCHER, make_office())
    assert client.get(f"/api/v1/couriers/{courier.id}/track?date=2026-11-20",
                      headers=auth(stranger)).status_code == 404
    assert client.get("/api/v1/courier-positions", headers=auth(courier)).status_code == 403
    # retention
    runner = app.test_cli_runner()
    assert "Deleted 0" in runner.invoke(args=["gps", "purge"]).output
    clock.advance(days=91)
    assert "Deleted 8" in runner.invoke(args=["gps", "purge"]).output
    assert db.session.query(CourierPosition).count() == 0


def test_a_ping_id_another_courier_used_is_refused_not_a_duplicate(
        client, auth, office, courier, make_user, clock):
    # two phones whose apps number their pings alike: the second courier's ping was
    # answered "duplicate" (of the first courier's), and the phone dropped it
    other = make_user(Role.COURIER, office)
    evening(clock)
    p = ping(590)
    assert upload(client, auth(courier), [p]).json["results"][0]["result"] == "accepted"
    res = upload(client, auth(other), [dict(p, device_time=at(595))]).json["results"][0]
    assert res["result"] == "rejected", res
    assert res["problem"]["status"] == 409
    assert res["problem"]["type"].endswith("/idempotency-key-reused")
    assert upload(client, auth(courier), [p]).json["results"][0]["result"] == "duplicate"
    assert db.session.query(CourierPosition).filter_by(courier_id=other.id).count() == 0


def test_a_track_of_fewer_than_two_pings_is_valid_geojson(client, auth, office, courier,
                                                          clock):
    """A LineString has two or more positions (RFC 7946): a day without pings answered
    an empty line, a day of one ping a one-point line, which map libraries refuse."""
    evening(clock)
    h = auth(courier)
    url = f"/api/v1/couriers/{courier.id}/track?date=2026-11-20"
    track = client.get(url, headers=h).json
    assert track["features"] == [{"type": "Feature", "geometry": None, "properties": {
        "courier_id": courier.id, "date": "2026-11-20", "points": 0}}]
    upload(client, h, [ping(0)])
    track = client.get(url, headers=h).json
    assert track["features"][0]["geometry"] is None
    assert track["features"][0]["properties"]["points"] == 1
    assert [f["geometry"]["type"] for f in track["features"][1:]] == ["Point"]
    upload(client, h, [ping(1)])
    line = client.get(url, headers=h).json["features"][0]["geometry"]
    assert line["type"] == "LineString" and len(line["coordinates"]) == 2


# (entries that are no objects, [1, 2], are refused one by one: see
# test_an_entry_that_is_no_object_is_refused_alone)
@pytest.mark.parametrize("body", [{"events": []}, {"events": [{}] * 501}, {"events": "x"},
                                  {"events": [{"kind": "gps"}], "sent_at": "noon"},
                                  {"events": [{"kind": "gps"}],
                                   "sent_at": "0001-01-01T00:00:00+00:00"}])
def test_bad_uploads_are_422(client, auth, courier, body):
    r = client.post("/api/v1/sync", json=body, headers=auth(courier))
    assert r.status_code == 422


# ------------------------------------------------------------------ 10 000 entries

LIFE = [("EDG", 0), ("EMH", 30), ("EDG", 60), ("EMH", 90), ("EDG", 120), ("EMI", 150)]


def _backlog(items, rng, proofs):
    """Each item's day as its courier records it, plus GPS pings: 10 000 entries."""
    entries = []
    for n, ident in enumerate(items):
        stop = rng.randint(1, len(LIFE))  # some items end out for delivery or failed
        for code, minute in LIFE[:stop]:
            # one recipient's parcels share a proof by the hundred: one visit each, not
            # more uses than a visit has (more are flagged as reused, api.proof.reuse)
            extra = {"proof": proofs[n * len(proofs) // len(items)]} if code == "EMI" else {}
            entries.append(event(ident, code, minute + n * 0.01, **extra))
    while len(entries) < 10_000:
        entries.append(ping(rng.uniform(0, 600)))
    entries.sort(key=lambda e: e["device_time"])  # the phone's queue is in time order
    return entries[:10_000]


@pytest.mark.slow
def test_ten_thousand_offline_entries_equal_a_clean_single_pass(client, auth, office, courier,
                                                                make_item, app, clock,
                                                                full_proof):
    app.config["MAX_DELIVERY_ATTEMPTS"] = 5
    rng = random.Random(7)
    made = [make_item(office, courier=courier, events=("EMG",)) for _ in range(1500)]
    items = [i.identifier for i in made]
    evening(clock)
    backlog = _backlog(items, rng, [full_proof(it) for it in made[::150]])
    h = auth(courier)
    batches = [backlog[i:i + 475] for i in range(0, len(backlog), 475)]
    sent = 0
    for k, batch in enumerate(batches):
        batch = batch[:]
        rng.shuffle(batch)  # reordered within the upload
        if k % 4 == 1:  # cut off halfway, then the whole batch is resent
            upload(client, h, batch[: len(batch) // 2])
            sent += len(batch) // 2
        if k > 0:  # duplicates of earlier entries ride along
            batch += rng.sample(batches[k - 1], 25)
        r = upload(client, h, batch)
        assert r.status_code == 200
        assert r.json["counts"]["rejected"] == 0, [x for x in r.json["results"]
                                                   if x["result"] == "rejected"][:3]
        sent += len(batch)
    assert sent > 11_000

    # the clean single pass, computed independently
    by_item: dict[str, list[tuple[str, str]]] = {}
    pings = []
    for e in backlog:
        if e["kind"] == "event":
            by_item.setdefault(e["identifier"], []).append((e["device_time"], e["code"]))
        else:
            pings.append(e["device_time"])
    stored = db.session.query(TrackingEvent).filter(TrackingEvent.source == "sync").all()
    assert sorted(e.client_event_id for e in stored) == sorted(
        e["client_event_id"] for e in backlog if e["kind"] == "event")
    assert all(e.applied and not e.flags for e in stored)
    for item in db.session.query(Item).all():
        codes = [EventCode.EMA, EventCode.EMG] + [EventCode(c) for _, c in
                                                   sorted(by_item[item.identifier])]
        expected = replay(codes)
        assert (item.status, item.failed_attempts) == (expected.status,
                                                       expected.failed_attempts)
    # GPS: at most one ping per 30 s is kept, and every ping sent is within 30 s of one
    times = sorted(p.device_time for p in db.session.query(CourierPosition))
    assert all(b - a >= timedelta(seconds=30) for a, b in zip(times, times[1:], strict=False))
    import bisect

    for p in pings:
        t = datetime.fromisoformat(p)
        k = bisect.bisect_left(times, t)
        near = [times[j] for j in (k - 1, k) if 0 <= j < len(times)]
        assert any(abs(t - x) < timedelta(seconds=30) for x in near)


def test_latest_positions_lists_each_courier_once(client, auth, office, courier, make_user,
                                                  clock):
    from models import CourierPosition

    t = clock()
    for n in range(2):  # two pings with the same device time
        db.session.add(CourierPosition(client_event_id=f"tie-{n}", courier_id=courier.id,
                                       device_time=t, server_time=t, lat=12.24 + n * 1e-3,
                                       lon=109.19, accuracy_m=5))
    db.session.commit()
    rows = client.get("/api/v1/courier-positions",
                      headers=auth(make_user(Role.DISPATCHER, office))).json["couriers"]
    assert [r["courier_id"] for r in rows] == [courier.id]


def test_latest_positions_look_up_each_courier_not_every_ping(
        client, auth, office, courier, make_user, make_office, clock):
    # the console's map asks every 10 s: each courier's latest ping is found in the
    # (courier_id, device_time) index, where a grouped max read every ping kept (90
    # days, every office)
    from sqlalchemy import event as sa_event

    from models import CourierPosition

    other = make_user(Role.COURIER, make_office())
    t = clock()
    for n, who in enumerate((courier, courier, other)):
        db.session.add(CourierPosition(client_event_id=f"map-{n}", courier_id=who.id,
                                       device_time=t - timedelta(minutes=n), server_time=t,
                                       lat=12.24 + n * 1e-3, lon=109.19, accuracy_m=5))
    db.session.commit()
    seen = []

    def keep(conn, cursor, statement, parameters, *a):
        if "courier_positions" in statement:
            seen.append((statement, parameters))

    sa_event.listen(db.engine, "before_cursor_execute", keep)
    try:
        rows = client.get("/api/v1/courier-positions",
                          headers=auth(make_user(Role.DISPATCHER, office))).json["couriers"]
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", keep)
    assert [(r["courier_id"], r["position"]["lat"]) for r in rows] == [(courier.id, 12.24)]
    assert len(seen) == 1
    if db.engine.dialect.name != "sqlite":
        return  # (PostgreSQL's planner reads a table this small whole whatever the query)
    statement, parameters = seen[0]
    plan = [r[-1] for r in db.session.connection().exec_driver_sql(
        "EXPLAIN QUERY PLAN " + statement, parameters)]
    assert not [p for p in plan if p.startswith("SCAN courier_positions")], plan


def test_the_same_pings_resent_at_once_are_kept_once(app, auth, office, courier, clock,
                                                     monkeypatch):
    from api.sync import service
    from tests.conftest import at_once, when_both_arrive

    evening(clock)
    h = auth(courier)
    batch = [ping(1), ping(2)]  # a phone that timed out resends the upload at once
    # both have looked for an earlier copy of the ping before either inserts it
    monkeypatch.setattr(service, "_ping", when_both_arrive(service._ping))
    answers = at_once(app, *(lambda c: upload(c, h, batch) for _ in range(2)))
    assert [a.status_code for a in answers] == [200, 200]
    results = sorted(x["result"] for a in answers for x in a.json["results"])
    assert results == ["accepted", "accepted", "duplicate", "duplicate"]
    db.session.expire_all()
    assert db.session.query(CourierPosition).count() == 2


def test_two_uploads_on_the_same_items_in_opposite_orders_both_succeed(
        app, auth, office, courier, make_user, make_item, clock, monkeypatch):
    from api.items import service
    from tests.conftest import at_once, when_both_arrive

    a = make_item(office, courier=courier, events=("EMG",))
    b = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    # the courier's phone took a then b out; the office's backlog holds b, then a:
    # applied in device-time order, each upload would lock one item and wait for the
    # other's (PostgreSQL: a deadlock, one upload failed with a 500)
    phone = [event(a.identifier, "EDG", 10), event(b.identifier, "EDG", 20)]
    office_backlog = [event(b.identifier, "EDF", 0), event(a.identifier, "EDF", 30)]
    monkeypatch.setattr(service, "geo_flags", when_both_arrive(service.geo_flags))
    h1, h2 = auth(courier), auth(make_user(Role.DISPATCHER, office))
    answers = at_once(app, lambda c: upload(c, h1, phone),
                      lambda c: upload(c, h2, office_backlog))
    assert [r.status_code for r in answers] == [200, 200]
    db.session.expire_all()
    for item in (a, b):
        stored = db.session.get(Item, item.id)
        assert replay(e.code for e in stored.events if e.applied).status is stored.status


def test_a_late_failed_attempt_counts_toward_the_limit(
        client, auth, office, courier, make_item, make_user, clock):
    # the limit is 3. The courier's first attempt (08:30) is made offline and synced only
    # after the dispatcher held the item (10:00) and sent it out again (11:00): kept
    # unapplied (late_event), but it happened and counts. The attempts at 11:30 and
    # 13:30 are the second and third: the third sends the item back, no fourth round.
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    upload(client, h, [event(item.identifier, "EDG", 0)])
    staff_event(client, disp, item.identifier, "EDF", 120)
    staff_event(client, disp, item.identifier, "EDG", 180)
    late = event(item.identifier, "EMH", 30)
    r = upload(client, h, [late])
    res = r.json["results"][0]
    assert res["applied"] is False and res["flags"] == ["late_event"], res
    assert res["item_status"] == "out_for_delivery"  # the state is not rewound
    stored = db.session.get(Item, item.id)
    assert stored.failed_attempts == 1 and stored.next_attempt_on is None
    # the same scan sent again counts once
    r = upload(client, h, [late])
    assert r.json["results"][0]["result"] == "duplicate"
    assert db.session.get(Item, item.id).failed_attempts == 1
    upload(client, h, [event(item.identifier, "EMH", 210)])
    assert db.session.get(Item, item.id).failed_attempts == 2
    staff_event(client, disp, item.identifier, "EDF", 240)
    staff_event(client, disp, item.identifier, "EDG", 300)
    r = upload(client, h, [event(item.identifier, "EMH", 330)])
    res = r.json["results"][0]
    assert res["applied"] is True and res["item_status"] == "return_to_sender", res
    detail = client.get(f"/api/v1/items/{item.identifier}", headers=disp).json
    assert detail["failed_attempts"] == 3 and detail["status"] == "return_to_sender"
    stored = db.session.get(Item, item.id)
    db.session.refresh(stored)
    assert replayed_state(stored) == stored.state


def test_a_failed_attempt_recorded_twice_in_one_round_counts_once(
        client, auth, office, courier, make_item, make_user, clock):
    # one round (out at 08:00, held at 10:00): the phone's sync and, later, the photo
    # scan of the same failed attempt (08:30 and 08:31, two event ids) both arrive after
    # the hold. Both are kept; the round had one failed attempt, and it counts once. An
    # "attempt" dated before the item ever went out (07:00) fits no round: not counted.
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    upload(client, h, [event(item.identifier, "EDG", 60)])
    staff_event(client, disp, item.identifier, "EDF", 180)
    r = upload(client, h, [event(item.identifier, "EMH", 90), event(item.identifier, "EMH", 91),
                           event(item.identifier, "EMH", -60)])
    assert [x["applied"] for x in r.json["results"]] == [False, False, False], r.json
    stored = db.session.get(Item, item.id)
    assert stored.failed_attempts == 1 and stored.status.value == "held_at_office"
    db.session.refresh(stored)
    assert replayed_state(stored) == stored.state


def test_an_attempt_synced_with_its_departure_after_the_office_moved_on_counts(
        client, auth, office, courier, make_item, make_user, clock):
    # the courier goes out at 08:00 and fails at 08:30, offline; the dispatcher holds the
    # item at 10:00 and sends it out again at 11:00; then the phone syncs both. The
    # departure is no longer legal (late_conflict), the attempt still is (late_event): the
    # attempt happened in the round the departure opened and counts, where it counted
    # for nothing (no applied EDG before it). Its copy (the photo scan) counts once.
    item = make_item(office, courier=courier, events=("EMG",))
    dup = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    staff_event(client, disp, item.identifier, "EDF", 120)
    staff_event(client, disp, item.identifier, "EDG", 180)
    r = upload(client, h, [event(item.identifier, "EDG", 0), event(item.identifier, "EMH", 30),
                           event(item.identifier, "EMH", 31)])
    assert [(x["applied"], x["flags"]) for x in r.json["results"]] == [
        (False, ["late_conflict"]), (False, ["late_event"]), (False, ["late_event"])], r.json
    stored = db.session.get(Item, item.id)
    assert stored.failed_attempts == 1 and stored.status.value == "out_for_delivery"
    assert [e.attempt_no for e in db.session.query(TrackingEvent).filter_by(
        item_id=item.id, code=EventCode.EMH).order_by(TrackingEvent.id)] == [1, None]
    db.session.refresh(stored)
    assert replayed_state(stored) == stored.state
    # a departure recorded twice (the office's, then the phone's a few minutes later)
    # opens no second round: the item was already out (and the attempt's copy adds
    # nothing). (A departure after the phone's own attempt is another round: test_a_
    # second_round_made_offline_after_a_late_attempt_counts_its_attempt)
    staff_event(client, disp, dup.identifier, "EDG", 0)
    staff_event(client, disp, dup.identifier, "EDF", 120)
    staff_event(client, disp, dup.identifier, "EDG", 180)
    r = upload(client, h, [event(dup.identifier, "EDG", 5), event(dup.identifier, "EMH", 30),
                           event(dup.identifier, "EMH", 40)])
    assert [x["applied"] for x in r.json["results"]] == [False, False, False], r.json
    assert db.session.get(Item, dup.id).failed_attempts == 1


def test_a_second_round_made_offline_after_a_late_attempt_counts_its_attempt(
        client, auth, office, courier, make_item, make_user, clock):
    # the courier goes out at 08:00 (synced), then, offline, fails at 08:20, goes out
    # again at 08:35 and fails again at 08:50; the dispatcher scans the parcel back in
    # at 10:00, and only then does the phone sync the three. Both attempts happened, in
    # two rounds (the 08:35 departure left from an attempt: it fitted where it
    # happened): they count 2, as when synced as they happened. They counted 1, and the
    # parcel got a fourth round past the limit of 3.
    item = make_item(office, courier=courier, events=("EMG",))
    online = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    upload(client, h, [event(item.identifier, "EDG", 0)])
    staff_event(client, disp, item.identifier, "EDF", 120)
    r = upload(client, h, [event(item.identifier, "EMH", 20), event(item.identifier, "EDG", 35),
                           event(item.identifier, "EMH", 50)])
    assert [x["applied"] for x in r.json["results"]] == [False, False, False], r.json
    stored = db.session.get(Item, item.id)
    assert stored.status.value == "held_at_office" and stored.failed_attempts == 2
    assert [e.attempt_no for e in db.session.query(TrackingEvent).filter_by(
        item_id=item.id, code=EventCode.EMH).order_by(TrackingEvent.id)] == [1, 2]
    db.session.refresh(stored)
    assert replayed_state(stored) == stored.state
    # the customer sees both rounds: the first attempt (kept late: the office had held
    # the parcel) and the second departure were not shown
    public = client.get(f"/api/v1/track/{item.identifier}").json
    assert [e["code"] for e in public["events"]][:5] == [
        "EDF", "EMH", "EDG", "EMH", "EDG"], public["events"]
    # the same day synced as it happened: the same count
    for entry in (event(online.identifier, "EDG", 0), event(online.identifier, "EMH", 20),
                  event(online.identifier, "EDG", 35), event(online.identifier, "EMH", 50)):
        upload(client, h, [entry])
    staff_event(client, disp, online.identifier, "EDF", 120)
    assert db.session.get(Item, online.id).failed_attempts == 2
    # the third attempt uses up the limit: no fourth round
    staff_event(client, disp, item.identifier, "EDG", 180)
    r = upload(client, h, [event(item.identifier, "EMH", 200)])
    assert r.json["results"][0]["item_status"] == "return_to_sender", r.json
    assert db.session.get(Item, item.id).failed_attempts == 3


def test_a_late_attempt_that_reaches_the_limit_after_the_item_moved_on(
        client, auth, office, courier, make_item, make_user, clock):
    # two attempts applied (09:00, 11:00) and the item held at the office (12:00), its
    # retry due the next day; then the courier's attempt of 08:30, from a round the
    # dispatcher closed by holding the item (08:45), arrives: the third. The item is not
    # sent back by it (nothing moves back or on by a late event), but no further round
    # is due: the retry day is cleared, a new round is refused, and the dispatcher
    # returns it.
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h, disp = auth(courier), auth(make_user(Role.DISPATCHER, office))
    upload(client, h, [event(item.identifier, "EDG", 0)])
    staff_event(client, disp, item.identifier, "EDF", 45)
    staff_event(client, disp, item.identifier, "EDG", 50)
    upload(client, h, [event(item.identifier, "EMH", 60)])
    staff_event(client, disp, item.identifier, "EDG", 100)
    upload(client, h, [event(item.identifier, "EMH", 180)])
    staff_event(client, disp, item.identifier, "EDF", 240)
    stored = db.session.get(Item, item.id)
    assert stored.failed_attempts == 2 and stored.next_attempt_on is not None
    r = upload(client, h, [event(item.identifier, "EMH", 30)])
    res = r.json["results"][0]
    assert res["applied"] is False and res["item_status"] == "held_at_office", res
    stored = db.session.get(Item, item.id)
    db.session.refresh(stored)
    assert stored.failed_attempts == 3 and stored.status.value == "held_at_office"
    assert stored.next_attempt_on is None
    assert db.session.query(TrackingEvent).filter_by(
        item_id=item.id, code=EventCode.RTS).count() == 0
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=disp, json={
        "code": "EDG", "client_event_id": next(ids), "device_time": at(300)})
    assert r.status_code == 409 and "used up" in r.json["detail"], r.json
    staff_event(client, disp, item.identifier, "RTS", 310)
    assert db.session.get(Item, item.id).status.value == "return_to_sender"


def test_a_phone_far_ahead_neither_sets_the_next_attempt_nor_makes_later_events_late(
        client, auth, office, courier, make_item, clock):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))  # out at 08:00
    evening(clock)  # 18:00 on the 20th
    h = auth(courier)
    # a failed attempt timed 400 days ahead by a phone whose clock nobody measured
    ahead = (clock() + timedelta(days=400)).isoformat()
    r = upload(client, h, [event(item.identifier, "EMH", 0, device_time=ahead,
                                 action="retry_next_round")], sent_at=clock().isoformat())
    res = r.json["results"][0]
    assert res["applied"] is True and "implausible_device_time" in res["flags"]
    # the next attempt is the day after the server's day, not a year on (the parcel
    # could not be planned until then)
    assert db.session.get(Item, item.id).next_attempt_on.isoformat() == "2026-11-21"
    # the next morning the courier takes it out again: applied, not kept as late behind
    # the event of next year
    clock.advance(hours=15)  # 09:00 on the 21st
    h = auth(courier)
    r = upload(client, h, [event(item.identifier, "EDG", 25 * 60)], sent_at=clock().isoformat())
    res = r.json["results"][0]
    assert res["applied"] is True and "late_event" not in res["flags"], res
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"


def test_a_phone_a_year_ahead_that_sends_its_clock_gets_its_next_attempt_right(
        client, auth, office, courier, make_item, clock):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    evening(clock)
    year = timedelta(days=365)
    r = upload(client, auth(courier), [event(
        item.identifier, "EMH", 9 * 60, device_time=(T0 + timedelta(hours=9) + year).isoformat(),
        action="retry_next_round")], sent_at=(clock() + year).isoformat())
    assert r.json["results"][0]["flags"] == ["device_clock_off"]
    assert db.session.get(Item, item.id).next_attempt_on.isoformat() == "2026-11-21"


def test_an_illegal_event_from_a_fast_phone_is_judged_late_at_its_corrected_time(
        client, auth, office, courier, make_item, make_user, clock):
    # the attempt happened at 08:30, before the office held the item at 08:45; the phone
    # is 20 minutes fast. Judged at its raw 08:50 it was not late: a 409, the attempt lost
    item = make_item(office, courier=courier, events=("EMG", "EDG"))  # out at 08:00
    clock.advance(minutes=45)
    staff_event(client, auth(make_user(Role.DISPATCHER, office)), item.identifier, "EDF", 45)
    clock.advance(minutes=30)  # 09:15 on the server, 09:35 on the phone
    r = upload(client, auth(courier), [event(item.identifier, "EMH", 50)],
               sent_at=(clock() + timedelta(minutes=20)).isoformat())
    res = r.json["results"][0]
    assert res["result"] == "accepted", res
    assert res["applied"] is False and "late_conflict" in res["flags"]
    assert db.session.get(Item, item.id).failed_attempts == 1


@pytest.mark.parametrize(("days", "sent_days", "stored"), [
    (300, 0, None),  # a phone 300 days ahead, its clock unknown: not stored
    (-3650, 0, None),  # reset to 2016
    (365, 365, 0),  # a year ahead and saying so: stored at when it was taken
])
def test_a_ping_with_an_impossible_time_is_not_the_couriers_latest_position(
        client, auth, office, courier, make_user, clock, days, sent_days, stored):
    clock.advance(hours=1)  # 09:00
    h = auth(courier)
    upload(client, h, [ping(55)], sent_at=clock().isoformat())  # the real 08:55
    odd = ping(60, lat=10.0, lon=100.0)
    odd["device_time"] = (clock() + timedelta(days=days)).isoformat()
    r = upload(client, h, [odd], sent_at=(clock() + timedelta(days=sent_days)).isoformat())
    assert r.json["results"][0]["result"] == ("rejected" if stored is None else "accepted")
    rows = client.get("/api/v1/courier-positions",
                      headers=auth(make_user(Role.DISPATCHER, office))).json["couriers"]
    (mine,) = [row for row in rows if row["courier_id"] == courier.id]
    age = mine["position"]["age_s"]
    if stored is None:
        assert mine["position"]["lat"] == 12.24 and age == 5 * 60
    else:
        assert mine["position"]["lat"] == 10.0 and 0 <= age < 5


def test_two_uploads_at_once_keep_one_ping_per_interval(app, auth, office, courier, clock,
                                                       monkeypatch):
    from api.sync import service
    from tests.conftest import at_once, when_both_arrive

    evening(clock)
    h = auth(courier)
    # two uploads from one phone (a retry of the last one while the next goes out), with
    # different pings 10 s apart: one per 30 s is kept, whichever upload stores it
    monkeypatch.setattr(service, "_ping", when_both_arrive(service._ping))
    answers = at_once(app, lambda c: upload(c, h, [ping(1)]),
                      lambda c: upload(c, h, [ping(1 + 1 / 6)]))
    assert [a.status_code for a in answers] == [200, 200]
    results = sorted(a.json["results"][0]["result"] for a in answers)
    assert results == ["accepted", "downsampled"]
    db.session.expire_all()
    assert db.session.query(CourierPosition).count() == 1


def test_an_entry_that_is_no_object_is_refused_alone(client, auth, office, courier,
                                                     make_item, clock):
    # a phone's array with a hole serialises it as null: that entry is refused, not the
    # whole backlog with the good entries around it
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    batch = [event(item.identifier, "EDG", 1), None, "EDG", 7, [], True]
    r = upload(client, auth(courier), batch)
    assert r.status_code == 200, r.json
    results = r.json["results"]
    assert [x["result"] for x in results] == ["accepted"] + ["rejected"] * 5
    assert all(x["problem"]["status"] == 422 and x["problem"]["errors"][0]["pointer"] == ""
               and x["kind"] is None and x["client_event_id"] is None for x in results[1:])
    assert r.json["counts"]["accepted"] == 1 and r.json["counts"]["rejected"] == 5
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"


def test_an_event_id_used_again_for_another_attempt_on_the_item_is_refused(
        client, auth, office, courier, make_item, clock):
    # a phone whose ids start over (reinstalled): its second failed attempt on the item
    # reuses the first one's id. Answered "duplicate", the phone dropped it: lost
    item = make_item(office, courier=courier, events=("EMG",))
    evening(clock)
    h = auth(courier)
    first = event(item.identifier, "EMH", 10, client_event_id="reused-0000001")
    r = upload(client, h, [event(item.identifier, "EDG", 5), first])
    assert [x["result"] for x in r.json["results"]] == ["accepted", "accepted"]
    second = {**first, "device_time": at(40)}
    r = upload(client, h, [event(item.identifier, "EDG", 30), second])
    res = r.json["results"][1]
    assert res["result"] == "rejected", res
    assert res["problem"]["type"] == "/problems/idempotency-key-reused"
    # the same moment with another reason is not the same attempt either
    r = upload(client, h, [{**first, "reason": "refused"}])
    assert r.json["results"][0]["problem"]["type"] == "/problems/idempotency-key-reused"
    body = {k: v for k, v in second.items() if k not in ("kind", "identifier")}
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json=body)
    assert r.status_code == 409 and r.json["type"] == "/problems/idempotency-key-reused"
    # the first attempt resent as it was (another zone, the same instant) is a duplicate
    same = {**first, "device_time": (T0 + timedelta(minutes=10)).astimezone(
        timezone(timedelta(hours=7))).isoformat()}
    r = upload(client, h, [same])
    assert r.json["results"][0]["result"] == "duplicate", r.json
    assert db.session.query(TrackingEvent).filter_by(
        client_event_id="reused-0000001").count() == 1
    assert db.session.get(Item, item.id).status.value == "out_for_delivery"


def test_a_ping_id_used_again_for_another_ping_is_refused_not_dropped(
        client, auth, office, courier, make_user, clock):
    """A ping whose client_event_id was stored was a duplicate whoever sent it and
    wherever: another courier's phone using the same ids, or this phone's ids starting
    over after a reinstall, had its pings answered "duplicate", dropped by the phone and
    lost (the courier's trail with them), where an event's id is refused (409)."""
    evening(clock)
    h = auth(courier)
    first = {**ping(1), "client_event_id": "gps-00000001"}
    assert upload(client, h, [first]).json["results"][0]["result"] == "accepted"
    # resent as it was: a duplicate, stored once
    assert upload(client, h, [first]).json["results"][0]["result"] == "duplicate"
    other = auth(make_user(Role.COURIER, office))
    for hh, entry in ((other, first), (h, {**first, "device_time": at(40),
                                           "location": {"lat": 12.25, "lon": 109.2}})):
        res = upload(client, hh, [entry]).json["results"][0]
        assert res["result"] == "rejected", res
        assert res["problem"]["type"] == "/problems/idempotency-key-reused"
        assert res["problem"]["status"] == 409
    assert db.session.query(CourierPosition).count() == 1


def test_a_ping_without_a_gps_fix_is_not_the_couriers_position(client, auth, office,
                                                                courier, make_user, clock):
    # a phone without a fix sends 0, 0: kept, the courier stood in the Gulf of Guinea on
    # the office's map, and the real fix 10 s later was dropped as downsampled
    evening(clock)
    r = upload(client, auth(courier), [ping(600, lat=0, lon=0), ping(600 + 1 / 6)])
    no_fix, real = r.json["results"]
    assert no_fix["result"] == "rejected", no_fix
    assert no_fix["problem"]["errors"][0]["pointer"] == "/location"
    assert real["result"] == "accepted", real
    pos = client.get("/api/v1/courier-positions",
                     headers=auth(make_user(Role.DISPATCHER, office))).json["couriers"]
    assert pos[0]["position"]["lat"] == pytest.approx(12.24)
    assert db.session.query(CourierPosition).count() == 1
