"""COD reconciliation with senders ("đối soát"): statements of a sender's COD collected
and handed in, their payment, cancellation, and what the office still owes."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy.exc import IntegrityError

from models import CodStatement, CodStatementLine, Item, Role, db, sender_key
from tests.conftest import at_once, item_payload, when_both_arrive

ids = (f"remit-{n:06d}" for n in itertools.count())
SHOP = {"name": "Shop Hoa Biển", "phone": "0905 123 456", "address": "Q1, HCM"}
# the same shop, its phone written another way on another parcel
SHOP_INTL = {"name": "Shop Hoa Biển", "phone": "+84 905.123.456", "address": "Q1, HCM"}
OTHER_SHOP = {"name": "Tiệm Sách Nhỏ", "phone": "0912000111", "address": "Q3, HCM"}
DAY = "2026-11-20"


def deliver(client, h, item, proof, when=f"{DAY}T07:30:00+07:00"):
    r = client.post(f"/api/v1/items/{item.identifier}/events", headers=h, json={
        "code": "EMI", "client_event_id": next(ids), "device_time": when,
        "location": {"lat": 12.238, "lon": 109.196}, "proof": proof})
    assert r.status_code == 201, r.json
    return r


def hand_in(client, h, courier, counted, day=DAY):
    r = client.post("/api/v1/cash/handovers", headers=h, json={
        "courier_id": courier.id, "date": day, "counted_amount": counted})
    assert r.status_code == 201, r.json


def draw(client, h, phone="0905123456", date_from=DAY, date_to=DAY, **kw):
    return client.post("/api/v1/cod-statements", headers=h, json={
        "sender_phone": phone, "date_from": date_from, "date_to": date_to, **kw})


@pytest.fixture
def shift(client, auth, office, courier, dispatcher, make_item, make_office, make_user,
          full_proof):
    """A courier's day for the shop: a delivery (250 000), a partial one (2 of 3 boxes,
    200 000 of 300 000 collected, the shop's phone written another way), a failed
    attempt (90 000 not collected), another shop's delivery (100 000); handed in. The
    same shop's parcel delivered by another office (handed in there)."""
    ch = auth(courier)
    full = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=250_000,
                     sender=SHOP)
    boxes = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=300_000,
                      pieces=3, sender=SHOP_INTL)
    failed = make_item(office, courier=courier, events=("EMG", "EDG", "EMH"),
                       cod_amount=90_000, sender=SHOP)
    other_shop = make_item(office, courier=courier, events=("EMG", "EDG"),
                           cod_amount=100_000, sender=OTHER_SHOP)
    deliver(client, ch, full, full_proof(full))
    deliver(client, ch, boxes, full_proof(boxes, pieces_delivered=2,
                                          partial_reason="refused_part",
                                          cod_collected=200_000))
    deliver(client, ch, other_shop, full_proof(other_shop))
    hand_in(client, auth(dispatcher), courier, 550_000)
    far = make_office()
    far_courier = make_user(Role.COURIER, far)
    elsewhere = make_item(far, courier=far_courier, events=("EMG", "EDG"),
                          cod_amount=70_000, sender=SHOP)
    deliver(client, auth(far_courier), elsewhere, full_proof(elsewhere))
    hand_in(client, auth(make_user(Role.DISPATCHER, far)), far_courier, 70_000)
    return {"full": full, "boxes": boxes, "failed": failed, "other_shop": other_shop,
            "elsewhere": elsewhere, "far": far}


def test_the_sender_is_the_phones_last_nine_digits(client, auth, dispatcher, office):
    assert {sender_key(p) for p in ("0905123456", "0905 123 456", "+84 905.123.456",
                                    "84905123456", "0905-123-456")} == {"905123456"}
    assert sender_key("0912000111") != sender_key("0905123456")
    assert sender_key(None) is None and sender_key("12-34-56-78") is None
    h = auth(dispatcher)
    body = item_payload(office_id=office.id, sender=SHOP_INTL)
    assert client.post("/api/v1/items", json=body, headers=h).status_code == 201
    assert db.session.query(Item).one().sender_key == "905123456"
    from tests.api.test_import import HEADER, row, to_csv

    imported = client.post("/api/v1/items/import", headers=h, content_type="text/csv",
                           data=to_csv([row() + ["84-905-123-456"], row() + [""]],
                                       HEADER + ["sender_phone"]))
    assert imported.status_code == 200, imported.json
    assert sorted(i.sender_key or "" for i in db.session.query(Item)) == [
        "", "905123456", "905123456"]


def test_a_statement_lists_the_senders_cod_collected_and_handed_in(
        client, auth, courier, dispatcher, shift, make_item, office, full_proof):
    h = auth(dispatcher)
    # delivered after the hand-in: its cash is still with the courier
    late = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=40_000,
                     sender=SHOP)
    deliver(client, auth(courier), late, full_proof(late), when=f"{DAY}T07:45:00+07:00")
    r = draw(client, h, phone="+84 905 123 456")
    assert r.status_code == 201, r.json
    st = r.json
    assert (st["status"], st["sender_key"], st["sender_name"], st["office_id"]) == (
        "open", "905123456", "Shop Hoa Biển", office.id)
    lines = {ln["identifier"]: (ln["cod_amount"], ln["cod_collected"],
                                ln["pieces_delivered"], ln["delivered_on"])
             for ln in st["lines"]}
    assert lines == {shift["full"].identifier: (250_000, 250_000, None, DAY),
                     shift["boxes"].identifier: (300_000, 200_000, 2, DAY)}
    assert st["lines"][0]["delivered_at"] == "2026-11-20T00:30:00+00:00"
    assert (st["total"], st["line_count"]) == (450_000, 2)
    assert [(w["identifier"], w["cod_collected"], w["courier_id"])
            for w in st["not_handed_in"]] == [(late.identifier, 40_000, courier.id)]
    # the same again: each item is on one statement; the late one waits for its hand-in
    again = draw(client, h)
    assert again.status_code == 409 and again.json["type"] == "/problems/nothing-to-remit"
    assert [w["identifier"] for w in again.json["not_handed_in"]] == [late.identifier]
    # another period: nothing
    assert draw(client, h, date_from="2026-11-21",
                date_to="2026-11-22").json["type"] == "/problems/nothing-to-remit"
    hand_in(client, h, courier, 40_000)
    later = draw(client, h)
    assert later.status_code == 201, later.json
    assert [ln["identifier"] for ln in later.json["lines"]] == [late.identifier]
    assert later.json["not_handed_in"] == []
    detail = client.get(f"/api/v1/cod-statements/{st['id']}", headers=h)
    assert detail.status_code == 200 and len(detail.json["lines"]) == 2
    listed = client.get("/api/v1/cod-statements?sender_phone=0905123456", headers=h)
    assert [s["id"] for s in listed.json] == [later.json["id"], st["id"]]
    assert listed.headers["X-Total-Count"] == "2"
    assert client.get("/api/v1/cod-statements?sender_phone=0912000111",
                      headers=h).json == []


def test_the_other_shops_statement_has_only_its_own(client, auth, dispatcher, shift):
    r = draw(client, auth(dispatcher), phone="0912 000 111")
    assert r.status_code == 201
    assert [ln["identifier"] for ln in r.json["lines"]] == [shift["other_shop"].identifier]
    assert r.json["total"] == 100_000


def test_a_correction_of_the_cod_is_what_the_sender_is_owed(client, auth, dispatcher,
                                                            shift):
    h = auth(dispatcher)
    entry = next(e for e in client.get(
        f"/api/v1/couriers/{shift['full'].courier_id}/cash?date={DAY}",
        headers=h).json["entries"] if e["note"] == f"COD {shift['full'].identifier}")
    assert client.post("/api/v1/cash/corrections", headers=h, json={
        "entry_id": entry["id"], "amount": -50_000,
        "reason": "recipient paid 200,000 only; shop agreed"}).status_code == 201
    st = draw(client, h).json
    assert {ln["identifier"]: ln["cod_collected"] for ln in st["lines"]}[
        shift["full"].identifier] == 200_000
    assert st["total"] == 400_000


def test_paying_a_statement_is_idempotent_by_its_reference(client, auth, dispatcher, shift,
                                                          clock):
    h = auth(dispatcher)
    st = draw(client, h).json
    url = f"/api/v1/cod-statements/{st['id']}"
    paid = {"reference": "CK-20261121-0042", "paid_at": "2026-11-20T07:55:00+07:00"}
    assert client.post(f"{url}/pay", headers=h, json={
        **paid, "paid_at": "2026-11-20T09:00:00+07:00"}).status_code == 422  # ahead
    r = client.post(f"{url}/pay", headers=h, json=paid)
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["paid_reference"], r.json["paid_at"]) == (
        "paid", "CK-20261121-0042", "2026-11-20T00:55:00+00:00")
    clock.advance(hours=1)
    again = client.post(f"{url}/pay", headers=h, json=paid)
    assert again.status_code == 200 and again.json == r.json
    other = client.post(f"{url}/pay", headers=h, json={**paid, "reference": "CK-other-1"})
    assert other.status_code == 409 and other.json["type"] == "/problems/statement-paid"
    cancel = client.post(f"{url}/cancel", headers=h)
    assert cancel.status_code == 409 and cancel.json["type"] == "/problems/statement-paid"
    stored = db.session.get(CodStatement, st["id"])
    db.session.refresh(stored)
    assert (stored.status.value, stored.paid_reference) == ("paid", "CK-20261121-0042")
    assert client.get("/api/v1/cod-statements?status=paid",
                      headers=h).json[0]["id"] == st["id"]
    assert client.get("/api/v1/cod-statements?status=open", headers=h).json == []


def test_a_cancelled_statement_frees_its_items(client, auth, dispatcher, shift):
    h = auth(dispatcher)
    st = draw(client, h).json
    url = f"/api/v1/cod-statements/{st['id']}"
    r = client.post(f"{url}/cancel", headers=h)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert client.post(f"{url}/cancel", headers=h).json["status"] == "cancelled"
    pay = client.post(f"{url}/pay", headers=h, json={
        "reference": "CK-1234", "paid_at": "2026-11-20T07:00:00+07:00"})
    assert pay.status_code == 409 and pay.json["type"] == "/problems/statement-cancelled"
    anew = draw(client, h)
    assert anew.status_code == 201
    assert sorted(ln["identifier"] for ln in anew.json["lines"]) == sorted(
        ln["identifier"] for ln in st["lines"])
    # the cancelled one keeps its lines, for the record
    assert len(client.get(url, headers=h).json["lines"]) == 2


def test_two_statements_drawn_at_once_do_not_share_an_item(app, client, auth, dispatcher,
                                                           shift, monkeypatch):
    from api.remittance import service

    monkeypatch.setattr(service, "collected", when_both_arrive(service.collected))
    h = auth(dispatcher)
    body = {"sender_phone": "0905123456", "date_from": DAY, "date_to": DAY}
    answers = at_once(app, *(lambda c: c.post("/api/v1/cod-statements", json=body,
                                               headers=h) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [201, 409], [a.json for a in answers]
    assert db.session.query(CodStatement).count() == 1
    assert db.session.query(CodStatementLine).count() == 2


def test_the_database_keeps_an_item_on_one_statement(client, auth, dispatcher, shift):
    st = draw(client, auth(dispatcher)).json
    line = db.session.query(CodStatementLine).first()
    copy = CodStatementLine(**{c: getattr(line, c) for c in (
        "statement_id", "item_id", "claimed_item_id", "cash_entry_id", "identifier",
        "delivered_at", "delivered_on", "cod_amount", "cod_collected", "pieces")})
    db.session.add(copy)
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()
    assert db.session.query(CodStatementLine).count() == st["line_count"]


def test_what_the_office_owes_each_sender(client, auth, courier, dispatcher, shift,
                                          make_item, office, full_proof):
    h = auth(dispatcher)
    late = make_item(office, courier=courier, events=("EMG", "EDG"), cod_amount=40_000,
                     sender=SHOP)
    deliver(client, auth(courier), late, full_proof(late), when=f"{DAY}T07:45:00+07:00")
    r = client.get(f"/api/v1/cod-statements/pending?date_to={DAY}", headers=h)
    assert r.status_code == 200
    rows = {row["sender_key"]: (row["count"], row["amount"], row["not_handed_in_count"],
                                row["not_handed_in_amount"]) for row in r.json}
    # the other office's delivery for the shop is that office's to remit
    assert rows == {"905123456": (2, 450_000, 1, 40_000), "912000111": (1, 100_000, 0, 0)}
    assert client.get("/api/v1/cod-statements/pending?date_to=2026-11-19",
                      headers=h).json == []
    draw(client, h)
    rows = {row["sender_key"]: (row["count"], row["amount"], row["not_handed_in_count"])
            for row in client.get("/api/v1/cod-statements/pending", headers=h).json}
    assert rows == {"905123456": (0, 0, 1), "912000111": (1, 100_000, 0)}


def test_who_sees_and_draws_up_statements(client, auth, courier, dispatcher, shift,
                                          make_user):
    st = draw(client, auth(dispatcher)).json
    far = auth(make_user(Role.DISPATCHER, shift["far"]))
    url = f"/api/v1/cod-statements/{st['id']}"
    assert client.get(url, headers=far).status_code == 404
    assert client.post(f"{url}/cancel", headers=far).status_code == 404
    assert client.get(url, headers=auth(courier)).status_code == 403
    assert draw(client, auth(courier)).status_code == 403
    # the other office draws up its own: the shop's parcel it delivered, not ours
    theirs = draw(client, far)
    assert [ln["identifier"] for ln in theirs.json["lines"]] == [
        shift["elsewhere"].identifier]
    assert draw(client, far, office_id=st["office_id"]).status_code == 403
    admin = auth(make_user(Role.ADMIN))
    assert draw(client, admin).status_code == 422  # which office?
    assert client.get(url, headers=admin).status_code == 200
    assert client.get("/api/v1/cod-statements", headers=admin).status_code == 422


@pytest.mark.parametrize(("body", "pointer"), [
    ({"sender_phone": "12-34-56-78"}, "/sender_phone"),
    ({"sender_phone": "abc"}, "/sender_phone"),
    ({"date_from": "2026-11-21", "date_to": "2026-11-20"}, "/date_to"),
    ({"date_from": "2026-01-01", "date_to": "2026-11-20"}, "/date_to"),
    ({"date_to": "today"}, "/date_to"),
])
def test_bad_statements_are_422_and_store_nothing(client, auth, dispatcher, shift, body,
                                                  pointer):
    r = draw(client, auth(dispatcher), **{"phone": body.pop("sender_phone", "0905123456"),
                                          **body})
    assert r.status_code == 422, r.json
    assert pointer in [e.get("pointer") for e in r.json["errors"]]
    assert db.session.query(CodStatement).count() == 0


def test_the_console_lists_whom_the_office_owes_draws_up_and_pays(client, dispatcher,
                                                                 shift):
    from tests.api.test_console import CSRF_RE, login

    assert login(client, dispatcher.username, "pw").status_code == 302
    page = client.get("/console/remittance")
    assert page.status_code == 200
    assert "Đối soát và trả tiền thu hộ cho người gửi" in page.text
    assert "Shop Hoa Biển" in page.text and "450.000 ₫" in page.text
    token = CSRF_RE.search(page.text).group(1)
    r = client.post("/console/remittance/draw", data={
        "csrf_token": token, "sender_phone": "0905123456", "date_from": DAY,
        "date_to": DAY})
    assert r.status_code == 302, r.text
    st = db.session.query(CodStatement).one()
    assert r.headers["Location"].endswith(f"/console/remittance?statement={st.id}")
    shown = client.get(r.headers["Location"]).text
    assert shift["boxes"].identifier in shown and "Chờ trả tiền" in shown
    # a payment ahead of the clock is refused in Vietnamese, the form kept as typed
    ahead = client.post(f"/console/remittance/{st.id}/pay", data={
        "csrf_token": token, "reference": "CK-5555", "paid_at": "2026-11-20T09:30"})
    assert ahead.status_code == 422 and 'value="CK-5555"' in ahead.text
    assert "Thời điểm chuyển tiền" in ahead.text
    paid = client.post(f"/console/remittance/{st.id}/pay", data={
        "csrf_token": token, "reference": "CK-5555", "paid_at": "2026-11-20T07:50"})
    assert paid.status_code == 302
    db.session.refresh(st)
    assert (st.status.value, st.paid_reference, st.paid_at.isoformat()) == (
        "paid", "CK-5555", "2026-11-20T00:50:00+00:00")
    refused = client.post(f"/console/remittance/{st.id}/cancel", data={"csrf_token": token})
    assert refused.status_code == 409
    assert "đã được thanh toán" in refused.text


def cod_entry(client, h, item):
    return next(e for e in client.get(
        f"/api/v1/couriers/{item.courier_id}/cash?date={DAY}",
        headers=h).json["entries"] if e["note"] == f"COD {item.identifier}")


def correct(client, h, entry_id, amount):
    return client.post("/api/v1/cash/corrections", headers=h, json={
        "entry_id": entry_id, "amount": amount, "reason": "recipient paid less"})


def test_a_correction_of_an_item_on_a_statement_waits_for_its_cancellation(
        client, auth, dispatcher, shift):
    # the statement holds the amount as drawn up: a correction made after it was never
    # remitted (nor taken back), the item being on a statement already
    h = auth(dispatcher)
    entry = cod_entry(client, h, shift["full"])
    st = draw(client, h).json
    assert st["total"] == 450_000
    r = correct(client, h, entry["id"], -50_000)
    assert r.status_code == 409 and r.json["type"] == "/problems/on-cod-statement"
    assert str(st["id"]) in r.json["detail"]
    url = f"/api/v1/cod-statements/{st['id']}"
    assert client.post(f"{url}/cancel", headers=h).status_code == 200
    assert correct(client, h, entry["id"], -50_000).status_code == 201
    anew = draw(client, h).json
    assert anew["total"] == 400_000
    assert client.post(f"/api/v1/cod-statements/{anew['id']}/pay", headers=h, json={
        "reference": "CK-20261120-7", "paid_at": "2026-11-20T07:55:00+07:00"}
    ).status_code == 200
    # paid: what the sender got is final; the ledger is not changed under it
    r = correct(client, h, entry["id"], +50_000)
    assert r.status_code == 409 and r.json["type"] == "/problems/on-cod-statement"
    assert client.get("/api/v1/cod-statements/pending?date_to=" + DAY,
                      headers=h).json[0]["sender_key"] != "905123456"


def test_a_correction_of_a_correction_counts_on_the_statement(client, auth, dispatcher,
                                                             shift):
    # the ledger sums every entry: undoing a wrong correction by correcting it is what
    # the courier owes, and what the sender is owed
    h = auth(dispatcher)
    entry = cod_entry(client, h, shift["full"])
    wrong = correct(client, h, entry["id"], -50_000)
    assert wrong.status_code == 201
    assert correct(client, h, wrong.json["id"], +50_000).status_code == 201
    st = draw(client, h).json
    assert {ln["identifier"]: ln["cod_collected"] for ln in st["lines"]}[
        shift["full"].identifier] == 250_000
    assert st["total"] == 450_000


def test_a_delivery_the_office_disputes_is_held_back_until_settled(
        client, auth, dispatcher, shift):
    """The parcel reported delivered was found in the bag: its COD is not paid out to
    the shop while the office disputes the delivery; once settled, it is."""
    h = auth(dispatcher)
    full = shift["full"].identifier
    emi = next(e for e in client.get(f"/api/v1/items/{full}", headers=h).json["events"]
               if e["code"] == "EMI")
    r = client.post(f"/api/v1/outcomes/{emi['id']}/review", headers=h, json={
        "state": "disputed", "note": "parcel found in the bag at 18:00"})
    assert r.status_code == 200, r.json
    rows = {row["sender_key"]: (row["count"], row["amount"], row["disputed_count"],
                                row["disputed_amount"]) for row in client.get(
        f"/api/v1/cod-statements/pending?date_to={DAY}", headers=h).json}
    assert rows["905123456"] == (1, 200_000, 1, 250_000)
    st = draw(client, h)
    assert st.status_code == 201, st.json
    assert [ln["identifier"] for ln in st.json["lines"]] == [shift["boxes"].identifier]
    assert [d["identifier"] for d in st.json["disputed"]] == [full]
    again = draw(client, h)
    assert again.status_code == 409 and [d["identifier"] for d in again.json["disputed"]
                                         ] == [full]
    # settled: the recipient had it after all
    client.post(f"/api/v1/outcomes/{emi['id']}/review", headers=h, json={
        "state": "confirmed", "note": "recipient confirmed by phone"})
    later = draw(client, h)
    assert later.status_code == 201, later.json
    assert [ln["identifier"] for ln in later.json["lines"]] == [full]
