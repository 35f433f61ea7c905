"""Partial delivery and partial return: an item of several pieces of which the recipient
accepts part; the courier hands that over and collects its COD, the rest goes back."""

from __future__ import annotations

import itertools
import re

import pytest

from api.items.service import replayed_state
from models import CashEntry, DeliveryProof, Item, Role, TrackingEvent, db
from tests.conftest import s10

ids = (f"partial-{n:06d}" for n in itertools.count())
DOOR = {"lat": 12.238, "lon": 109.196, "accuracy_m": 8}


def deliver(client, h, item, proof, **kw):
    body = {"code": "EMI", "client_event_id": next(ids),
            "device_time": "2026-11-20T09:00:00+07:00", "location": DOOR, "proof": proof}
    body.update(kw)
    return client.post(f"/api/v1/items/{item.identifier}/events", json=body, headers=h)


@pytest.fixture
def boxes(office, courier, make_item):
    """Three boxes out for delivery, 300 000 VND to collect on delivery."""
    return make_item(office, courier=courier, events=("EMG", "EDG"), pieces=3,
                     cod_amount=300_000)


def partial(full_proof, item, **kw):
    """A proof of 2 of the 3 boxes handed over, 200 000 VND paid for them."""
    return full_proof(item, **{"pieces_delivered": 2, "partial_reason": "refused_part",
                               "cod_collected": 200_000, **kw})


def stored(item):
    """What is stored of the item: its status, events, proofs and cash entries."""
    db.session.expire_all()
    it = db.session.get(Item, item.id)
    return (it.status.value, db.session.query(TrackingEvent).filter_by(item_id=it.id).count(),
            db.session.query(DeliveryProof).count(), db.session.query(CashEntry).count())


def test_a_partial_delivery_collects_its_part_of_the_cod_and_the_rest_awaits_return(
        client, auth, courier, dispatcher, boxes, full_proof):
    r = deliver(client, auth(courier), boxes, partial(full_proof, boxes),
                note="Khách chỉ nhận 2 hộp")
    assert r.status_code == 201, r.json
    assert r.json["event"]["status_after"] == "partially_delivered"
    proof = r.json["event"]["proof"]
    assert (proof["pieces_delivered"], proof["partial_reason"], proof["cod_collected"]) == (
        2, "refused_part", 200_000)
    assert r.json["item"]["status"] == "partially_delivered"
    assert r.json["item"]["awaiting"] == "return"
    assert r.json["item"]["allowed_events"] == []  # a courier records no return
    # the ledger books what was collected, not the whole COD
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                        headers=auth(courier)).json
    assert [(e["kind"], e["amount"]) for e in ledger["entries"]] == [
        ("cod_collected", 200_000)]
    h = auth(dispatcher)
    # the COD of the returned part will never be collected: not outstanding
    report = client.get("/api/v1/cash/report?date=2026-11-20", headers=h).json
    assert report["cod_outstanding_on_items"] == 0
    detail = client.get(f"/api/v1/items/{boxes.identifier}", headers=h).json
    assert (detail["pieces"], detail["status"], detail["next_attempt_on"]) == (
        3, "partially_delivered", None)
    assert detail["allowed_events"] == ["RTS"]
    item = db.session.get(Item, boxes.id)
    assert replayed_state(item) == item.state


def test_a_partial_delivery_without_cod_collected_books_no_cash(
        client, auth, courier, boxes, full_proof):
    r = deliver(client, auth(courier), boxes, partial(full_proof, boxes, cod_collected=0))
    assert r.status_code == 201, r.json
    assert db.session.query(CashEntry).count() == 0


@pytest.mark.parametrize(("change", "pointer"), [
    ({"partial_reason": None}, "/proof/partial_reason"),
    ({"pieces_delivered": 4}, "/proof/pieces_delivered"),
    ({"pieces_delivered": 0}, "/proof/pieces_delivered"),
    ({"pieces_delivered": 100}, "/proof/pieces_delivered"),
    ({"partial_reason": "lost"}, "/proof/partial_reason"),
    ({"cod_collected": 300_001}, "/proof/cod_collected"),
    # every piece handed over is no partial delivery: no reason, the whole COD
    ({"pieces_delivered": 3}, "/proof/partial_reason"),
    ({"pieces_delivered": 3, "partial_reason": None}, "/proof/cod_collected"),
    ({"pieces_delivered": None, "partial_reason": None}, "/proof/cod_collected"),
])
def test_a_wrong_partial_delivery_is_422_and_stores_nothing(
        client, auth, courier, boxes, full_proof, change, pointer):
    before = stored(boxes)
    proof = partial(full_proof, boxes)
    proof.update(change)
    r = deliver(client, auth(courier), boxes, {k: v for k, v in proof.items() if v is not None})
    assert r.status_code == 422, r.json
    assert pointer in [e["pointer"] for e in r.json["errors"]], r.json
    assert stored(boxes) == before == ("out_for_delivery", 3, 0, 0)


def test_a_full_delivery_still_collects_the_whole_cod(client, auth, courier, boxes,
                                                      full_proof):
    assert deliver(client, auth(courier), boxes,
                   full_proof(boxes, cod_collected=299_000)).status_code == 422
    r = deliver(client, auth(courier), boxes, full_proof(boxes, pieces_delivered=3))
    assert r.status_code == 201, r.json
    assert r.json["item"]["status"] == "delivered" and r.json["item"]["awaiting"] is None
    assert r.json["event"]["proof"]["pieces_delivered"] is None
    assert db.session.query(CashEntry).one().amount == 300_000


def test_a_partial_reason_on_a_one_piece_item_is_refused(client, auth, office, courier,
                                                         make_item, full_proof):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    r = deliver(client, auth(courier), item,
                full_proof(item, pieces_delivered=1, partial_reason="damaged_part"))
    assert r.status_code == 422
    assert r.json["errors"][0]["pointer"] == "/proof/partial_reason"


def test_the_rest_is_in_the_returns_due_until_its_return_closes_the_item(
        client, auth, office, courier, dispatcher, boxes, full_proof, clock):
    assert deliver(client, auth(courier), boxes, partial(full_proof, boxes)).status_code == 201
    clock.advance(hours=2)
    h = auth(dispatcher)
    due = client.get(f"/api/v1/returns-due?office_id={office.id}", headers=h).json
    assert [(x["identifier"], x["status"], x["why"], x["hours_waiting"])
            for x in due["items"]] == [
        (boxes.identifier, "partially_delivered", "partially_delivered", 2.0)]
    # nothing else may follow: no new round, no second delivery, no hold
    for code in ("EDG", "EMI", "EDF", "EMH"):
        body = {"code": code, "client_event_id": next(ids),
                "device_time": "2026-11-20T11:00:00+07:00", "location": DOOR}
        if code == "EMH":
            body.update(reason="refused", action="return_to_sender")
        r = client.post(f"/api/v1/items/{boxes.identifier}/events", json=body, headers=h)
        assert r.status_code == 409, (code, r.json)
        assert r.json["allowed_events"] == ["RTS"]
    r = client.post(f"/api/v1/items/{boxes.identifier}/events", headers=h, json={
        "code": "RTS", "client_event_id": next(ids),
        "device_time": "2026-11-20T11:00:00+07:00", "note": "1 hộp hoàn về shop"})
    assert r.status_code == 201, r.json
    assert (r.json["item"]["status"], r.json["item"]["awaiting"]) == ("return_to_sender", None)
    due = client.get(f"/api/v1/returns-due?office_id={office.id}", headers=h).json
    assert due["items"] == [] and due["total"] == 0
    item = db.session.get(Item, boxes.id)
    assert replayed_state(item) == item.state


def test_the_rest_not_returned_is_a_missing_scan(client, auth, courier, dispatcher, boxes,
                                                 full_proof, clock):
    assert deliver(client, auth(courier), boxes, partial(full_proof, boxes)).status_code == 201
    clock.advance(days=3)
    rows = client.get("/api/v1/missing-scans", headers=auth(dispatcher)).json["items"]
    assert [(x["identifier"], x["expected"], x["awaiting"]) for x in rows] == [
        (boxes.identifier, "a return to sender (RTS) of the pieces not delivered", "return")]


def test_route_plans_leave_a_partially_delivered_item_out(
        client, auth, office, courier, dispatcher, boxes, full_proof):
    assert deliver(client, auth(courier), boxes, partial(full_proof, boxes)).status_code == 201
    h = auth(dispatcher)
    r = client.post("/api/v1/route-plans", headers=h, json={
        "date": "2026-11-20", "time_limit_s": 0.5, "identifiers": [boxes.identifier]})
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == ["/identifiers/0"]
    assert "partially_delivered" in r.json["errors"][0]["detail"]
    r = client.post("/api/v1/route-plans", headers=h, json={
        "date": "2026-11-20", "time_limit_s": 0.5, "statuses": ["partially_delivered"]})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/statuses/0"


def test_public_tracking_says_part_was_delivered_and_the_rest_goes_back(
        client, auth, courier, boxes, full_proof):
    assert deliver(client, auth(courier), boxes, partial(full_proof, boxes)).status_code == 201
    body = client.get(f"/api/v1/track/{boxes.identifier}?lang=en").json
    assert body["status"] == "partially_delivered"
    assert body["status_label"] == "Partially delivered; the rest is being returned to the " \
                                   "sender"
    assert (body["pieces"], body["pieces_delivered"], body["awaiting"]) == (3, 2, "return")
    assert (body["events"][0]["code"], body["events"][0]["label"],
            body["events"][0]["reason"]) == ("EMI", "Partially delivered",
                                             "The recipient refused part of it")
    vi = client.get(f"/track/{boxes.identifier}").get_data(as_text=True)
    assert "Đã phát một phần, phần còn lại đang chuyển hoàn về người gửi" in vi
    assert "Đã giao 2/3 kiện" in vi and "Phát một phần" in vi
    en = client.get(f"/track/{boxes.identifier}?lang=en").get_data(as_text=True)
    assert "2 of 3 pieces delivered; the rest goes back to the sender" in en


def test_the_console_timeline_shows_the_pieces_delivered_and_why(
        client, auth, office, courier, boxes, full_proof, make_user):
    make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")
    assert deliver(client, auth(courier), boxes, partial(full_proof, boxes)).status_code == 201
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/console/login").text).group(1)
    assert client.post("/console/login", data={"username": "disp", "password": "secret-pw",
                                                "csrf_token": token}).status_code == 302
    page = client.get(f"/console/items?number={boxes.identifier}").text
    assert "<strong>EMI</strong> Phát một phần" in page
    assert "Phát một phần: 2/3 kiện · Người nhận từ chối một phần" in page
    assert 'id="item-pieces">3<' in page


def test_an_offline_partial_delivery_is_recorded_the_same_way(
        client, auth, courier, boxes, full_proof, clock):
    clock.advance(hours=10)
    bad = partial(full_proof, boxes, partial_reason=None)
    del bad["partial_reason"]
    r = client.post("/api/v1/sync", headers=auth(courier), json={"events": [
        {"kind": "event", "identifier": boxes.identifier, "code": "EMI",
         "client_event_id": next(ids), "device_time": "2026-11-20T09:00:00+07:00",
         "location": DOOR, "proof": bad},
        {"kind": "event", "identifier": boxes.identifier, "code": "EMI",
         "client_event_id": next(ids), "device_time": "2026-11-20T09:01:00+07:00",
         "location": DOOR, "proof": partial(full_proof, boxes)}]})
    assert r.status_code == 200, r.json
    first, second = r.json["results"]
    assert (first["result"], first["problem"]["status"]) == ("rejected", 422)
    assert first["problem"]["errors"][0]["pointer"] == "/proof/partial_reason"
    assert (second["result"], second["item_status"]) == ("accepted", "partially_delivered")
    item = db.session.get(Item, boxes.id)
    assert (item.status.value, item.awaiting.value) == ("partially_delivered", "return")
    assert db.session.query(CashEntry).one().amount == 200_000
    assert replayed_state(item) == item.state


def test_items_are_created_and_imported_with_their_pieces(client, auth, dispatcher, office):
    from tests.conftest import item_payload

    h = auth(dispatcher)
    r = client.post("/api/v1/items", headers=h, json=item_payload(pieces=4))
    assert r.status_code == 201 and r.json["pieces"] == 4
    r = client.post("/api/v1/items", headers=h, json=item_payload())
    assert r.status_code == 201 and r.json["pieces"] == 1
    for bad in (0, 100, "2.5"):
        r = client.post("/api/v1/items", headers=h, json=item_payload(pieces=bad))
        assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/pieces"
    two, one, wrong = s10("CP"), s10("CP"), s10("CP")
    csv = ("identifier,sender_name,recipient_name,recipient_address,recipient_city,"
           "recipient_province,pieces\n"
           f"{two},Shop,Lan,5 Yersin,Nha Trang,Khánh Hòa,2\n"
           f"{one},Shop,Lan,5 Yersin,Nha Trang,Khánh Hòa,\n"
           f"{wrong},Shop,Lan,5 Yersin,Nha Trang,Khánh Hòa,0\n")
    r = client.post("/api/v1/items/import", data=csv.encode(), content_type="text/csv",
                    headers=h)
    assert r.status_code == 200, r.json
    assert r.json["identifiers"] == [two, one]
    assert [(e["row"], e["errors"][0]["column"]) for e in r.json["errors"]] == [(3, "pieces")]
    got = {i.identifier: i.pieces for i in db.session.query(Item)}
    assert (got[two], got[one]) == (2, 1)


def test_every_status_and_partial_reason_has_a_label_in_both_languages():
    from api.console import labels
    from models import PartialReason, Status

    for table, keys in ((labels.STATUS, Status), (labels.PARTIAL_REASON, PartialReason)):
        for key in keys:
            vi, en = table[key.value]
            assert vi and en and vi != en, key


@pytest.mark.parametrize("returned", [False, True])
def test_a_copy_of_a_partial_delivery_is_no_outcome_of_its_own(
        client, auth, courier, dispatcher, boxes, full_proof, clock, returned):
    """The same partial hand-over sent again under another id (the phone's backlog
    synced after the scan), before or after the rest went back: one delivery to confirm,
    not a second one the history would not show."""
    clock.advance(hours=4)  # 12:00: the day's events are in the past
    first = deliver(client, auth(courier), boxes, partial(full_proof, boxes))
    assert first.status_code == 201, first.json
    h = auth(dispatcher)
    if returned:
        assert client.post(f"/api/v1/items/{boxes.identifier}/events", headers=h, json={
            "code": "RTS", "client_event_id": next(ids),
            "device_time": "2026-11-20T11:00:00+07:00"}).status_code == 201
    r = client.post("/api/v1/sync", headers=auth(courier), json={"events": [
        {"kind": "event", "identifier": boxes.identifier, "code": "EMI",
         "client_event_id": next(ids), "device_time": "2026-11-20T08:59:00+07:00",
         "location": DOOR, "proof": partial(full_proof, boxes)}]})
    assert r.json["results"][0]["flags"] == ["late_conflict"], r.json["results"]
    listing = client.get("/api/v1/outcomes?date=2026-11-20", headers=h).json
    assert [o["event_id"] for o in listing["outcomes"]] == [first.json["event"]["id"]]
    assert db.session.query(CashEntry).one().amount == 200_000


def test_the_outcomes_show_a_partial_delivery_with_its_pieces(
        client, auth, office, courier, dispatcher, boxes, full_proof, clock, make_user):
    """The office confirms a partial delivery's COD, less than the item's, knowing it was
    a partial one: how many pieces were handed over and why not the rest."""
    clock.advance(hours=4)
    r = deliver(client, auth(courier), boxes, partial(full_proof, boxes))
    assert r.status_code == 201, r.json
    row, = client.get("/api/v1/outcomes?date=2026-11-20", headers=auth(dispatcher)
                      ).json["outcomes"]
    assert (row["status_after"], row["cod_collected"], row["pieces"], row["pieces_delivered"],
            row["partial_reason"]) == ("partially_delivered", 200_000, 3, 2, "refused_part")
    make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/console/login").text).group(1)
    assert client.post("/console/login", data={"username": "disp", "password": "secret-pw",
                                                "csrf_token": token}).status_code == 302
    page = client.get(f"/console/outcomes?date=2026-11-20&courier={courier.id}").text
    assert "Phát một phần: 2/3 kiện · Người nhận từ chối một phần" in page


@pytest.mark.parametrize("pieces_delivered, cod_collected, flag", [
    (2, 0, "partial_cod_zero"),      # 2 of 3 boxes handed over, nothing paid
    (1, 300_000, "partial_cod_full"),  # 1 of 3, the whole COD paid
    (2, 200_000, None),              # a part of the COD for a part of the boxes
    (1, 1, None),
])
def test_a_partial_deliverys_cod_that_does_not_follow_its_pieces_is_flagged(
        client, auth, courier, dispatcher, boxes, full_proof, pieces_delivered,
        cod_collected, flag):
    """There is no price per piece: nothing is refused, but nothing paid for the pieces
    handed over, or everything paid for part of them, is flagged for the office."""
    r = deliver(client, auth(courier), boxes, partial(
        full_proof, boxes, pieces_delivered=pieces_delivered, cod_collected=cod_collected))
    assert r.status_code == 201, r.json
    assert (flag in r.json["event"]["flags"]) if flag else not any(
        f.startswith("partial_cod") for f in r.json["event"]["flags"])
    h = auth(dispatcher)
    row, = client.get("/api/v1/outcomes?date=2026-11-20", headers=h).json["outcomes"]
    assert (flag in row["flags"]) == (flag is not None)
    ledger = client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                        headers=h).json
    if flag is None:
        assert row["cod_review"] is None and ledger["cod_to_review"] == []
        return
    assert f"{pieces_delivered} of 3 pieces" in row["cod_review"]
    review, = ledger["cod_to_review"]
    assert (review["identifier"], review["flag"], review["pieces"], review["pieces_delivered"],
            review["cod_amount"], review["cod_collected"], review["reason"]) == (
        boxes.identifier, flag, 3, pieces_delivered, 300_000, cod_collected,
        row["cod_review"])
    entry = db.session.query(CashEntry).one_or_none()
    # nothing collected books nothing: the list is the only place the ledger shows it
    assert review["entry_id"] == (entry.id if entry is not None else None)
    assert (entry is None) == (cod_collected == 0)
    # the courier sees it on their ledger too; another day's does not list it
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-20",
                      headers=auth(courier)).json["cod_to_review"] == [review]
    assert client.get(f"/api/v1/couriers/{courier.id}/cash?date=2026-11-21",
                      headers=h).json["cod_to_review"] == []


def test_no_cod_flag_without_cod_or_on_a_delivery_of_every_piece(
        client, auth, office, courier, make_item, full_proof):
    free = make_item(office, courier=courier, events=("EMG", "EDG"), pieces=3, cod_amount=0)
    r = deliver(client, auth(courier), free, full_proof(
        free, pieces_delivered=2, partial_reason="refused_part", cod_collected=0))
    assert r.status_code == 201, r.json
    whole = make_item(office, courier=courier, events=("EMG", "EDG"), pieces=3,
                      cod_amount=300_000)
    r2 = deliver(client, auth(courier), whole, full_proof(whole, pieces_delivered=3))
    assert r2.status_code == 201, r2.json
    for answer in (r, r2):
        assert not any(f.startswith("partial_cod") for f in answer.json["event"]["flags"])


def test_an_offline_partial_delivery_with_no_cod_is_flagged_too(
        client, auth, courier, boxes, full_proof, clock):
    clock.advance(hours=10)
    r = client.post("/api/v1/sync", headers=auth(courier), json={"events": [
        {"kind": "event", "identifier": boxes.identifier, "code": "EMI",
         "client_event_id": next(ids), "device_time": "2026-11-20T09:00:00+07:00",
         "location": DOOR, "proof": partial(full_proof, boxes, cod_collected=0)}]})
    assert r.status_code == 200, r.json
    result, = r.json["results"]
    assert result["result"] == "accepted" and "partial_cod_zero" in result["flags"]


def test_the_console_shows_the_cod_flag_in_vietnamese(client, courier, dispatcher, boxes,
                                                      auth, full_proof):
    from api.console import labels
    from tests.api.test_console import login

    for flag in ("partial_cod_zero", "partial_cod_full"):
        vi, en = labels.FLAG[flag]
        assert vi and en and vi != en
    r = deliver(client, auth(courier), boxes, partial(full_proof, boxes, cod_collected=0))
    assert r.status_code == 201, r.json
    assert login(client, dispatcher.username, "pw").status_code == 302
    label = labels.FLAG["partial_cod_zero"][0]
    page = client.get(f"/console/outcomes?date=2026-11-20&courier={courier.id}").text
    assert label in page
    page = client.get(f"/console/cash?date=2026-11-20&courier={courier.id}").text
    assert 'id="cod-to-review"' in page and label in page and boxes.identifier in page
    page = client.get(f"/console/items?number={boxes.identifier}").text
    assert label in page
