"""The console's payouts page: the office's pension payouts for a day, their flags (a
reused signature with a link to where it was first used, a phone clock off), and the
forms to create a task, give it to a courier (an advance) and mark it failed, on the
same services as the API; refused input is a 4xx page and stores nothing, a double
submit records once."""

from __future__ import annotations

import re

import pytest

from models import CashEntry, CashKind, PayoutStatus, PayoutTask, Role, db
from tests.api.test_console import CSRF_RE, login
from tests.api.test_payout_proof_reuse import LOC, MAI, assigned, receipt
from tests.api.test_payouts import new_payout
from tests.api.test_proof_reuse import upload_file


@pytest.fixture
def office(make_office):
    return make_office()


@pytest.fixture
def dispatcher(make_user, office):
    return make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")


@pytest.fixture
def courier(make_user, office):
    return make_user(Role.COURIER, office, username="c0", password="secret-pw")


@pytest.fixture
def logged_in(client, dispatcher):
    assert login(client).status_code == 302
    return client


def token(client, path="/console/payouts"):
    return CSRF_RE.search(client.get(path).text).group(1)


def rows(page):
    """The payouts listed, by reference, in order."""
    return re.findall(r'<tr id="payout-\d+"[^>]*>\s*<td>(\S+)<br>', page)


def tasks():
    db.session.expire_all()
    return db.session.query(PayoutTask).order_by(PayoutTask.id).all()


def advances():
    return db.session.query(CashEntry).filter_by(kind=CashKind.ADVANCE).count()


# ---------------------------------------------------------------- who sees what

def test_the_page_needs_a_staff_login(client, dispatcher, courier):
    r = client.get("/console/payouts")
    assert r.status_code == 302 and r.location.startswith("/console/login?next=/console/payouts")
    assert login(client, "c0").status_code == 403  # couriers: the phone app
    assert client.get("/console/payouts").status_code == 302
    r = client.post("/console/payouts", data={"csrf_token": token(client, "/console/login"),
                                              "amount": "1"})
    assert r.status_code == 302 and "/console/login" in r.location
    assert tasks() == []
    assert login(client).status_code == 302
    page = client.get("/console/payouts").text
    assert 'id="nav-payouts"' in page and 'href="/console/payouts"' in page


def test_the_day_lists_the_offices_payouts_due_open_or_paid_that_day(
        logged_in, client, auth, office, dispatcher, courier, make_office, make_user):
    h = auth(dispatcher)
    today = new_payout(client, h).json["reference"]  # due 2026-11-20, the clock's day
    late = new_payout(client, h, due_date="2026-11-18").json["reference"]  # still open
    later = new_payout(client, h, due_date="2026-11-23").json["reference"]
    done = assigned(client, h, courier, due_date="2026-11-18")  # paid today, due earlier
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 8101)
    r = client.post(f"/api/v1/payouts/{done['id']}/pay", headers=ch, json=receipt(signed))
    assert r.status_code == 200, r.json
    far = make_office()
    other = new_payout(client, auth(make_user(Role.DISPATCHER, far))).json["reference"]

    page = logged_in.get("/console/payouts").text
    assert rows(page) == [late, done["reference"], today]  # by due date
    assert other not in page and later not in page
    assert "3.250.000 ₫" in page and "Cụ Trần Văn Lộc" in page and "8 Ngô Gia Tự" in page
    assert "056012345678" not in page  # the ID number is never shown
    paid = page[page.index(f'id="payout-{done["id"]}"'):]
    assert "Đã chi" in paid and "c0" in paid and "…5678" in paid
    # the next day: what is still open, not what was paid or due the day before
    assert rows(logged_in.get("/console/payouts?date=2026-11-21").text) == [late, today]
    assert rows(logged_in.get("/console/payouts?date=2026-11-23").text) == [late, today, later]
    # by status
    assert rows(logged_in.get("/console/payouts?status=paid").text) == [done["reference"]]
    assert rows(logged_in.get("/console/payouts?status=pending&status=failed").text) == [
        late, today]
    for bad in ("status=lost", "date=2026-02-30"):
        r = logged_in.get(f"/console/payouts?{bad}", headers={"Accept": "text/html"})
        assert r.status_code == 422 and r.mimetype == "text/html", bad
    # one payout: the office's own only (another office's is not found)
    other_id = db.session.query(PayoutTask).filter_by(reference=other).one().id
    assert logged_in.get(f"/console/payouts/{other_id}").status_code == 404
    r = logged_in.get(f"/console/payouts/{done['id']}")
    assert r.status_code == 200 and rows(r.text) == [done["reference"]]


def test_an_admin_sees_the_office_chosen_in_the_header(client, auth, make_user, office,
                                                       dispatcher, make_office):
    mine = new_payout(client, auth(dispatcher)).json["reference"]
    far = make_office()
    theirs = new_payout(client, auth(make_user(Role.DISPATCHER, far))).json["reference"]
    make_user(Role.ADMIN, username="root", password="secret-pw")
    assert login(client, "root").status_code == 302
    assert rows(client.get("/console/payouts").text) == [mine]  # the first office
    client.post("/console/office", data={"office_id": far.id, "csrf_token": token(client)})
    assert rows(client.get("/console/payouts").text) == [theirs]
    # and a task created there goes to that office
    r = client.post("/console/payouts", data={
        "csrf_token": token(client), "reference": "CTADMIN00001", "program": "pension",
        "period": "2026-11", "name": "Cụ Lê Thị Mai", "address": "3 Hùng Vương",
        "id_number": "056087654321", "amount": "1500000", "due_date": "2026-11-20"})
    assert r.status_code == 302, r.text
    assert db.session.query(PayoutTask).filter_by(reference="CTADMIN00001").one(
    ).office_id == far.id


# ---------------------------------------------------------------- flags

def test_a_flagged_payout_shows_its_flags_and_where_its_signature_was_first_used(
        logged_in, client, auth, office, dispatcher, courier):
    h = auth(dispatcher)
    first, second = assigned(client, h, courier), assigned(client, h, courier, beneficiary=MAI)
    late = assigned(client, h, courier, beneficiary={**LOC, "name": "Cụ Phạm Văn Ba",
                                                     "phone": "0905000333",
                                                     "address": "1 Yersin"})
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 8201)
    assert client.post(f"/api/v1/payouts/{first['id']}/pay", headers=ch,
                       json=receipt(signed)).status_code == 200
    # another pensioner, the same signature file: recorded, flagged
    r = client.post(f"/api/v1/payouts/{second['id']}/pay", headers=ch, json=receipt(
        signed, client_event_id="payout-mai-0001", received_by="Lê Thị Mai",
        id_number="056087654321"))
    assert r.json["flags"] == ["proof_reused"], r.json
    # a phone whose clock is 20 min ahead, synced
    own = upload_file(client, ch, "signature", 8202)
    r = client.post("/api/v1/sync", headers=ch, json={
        "sent_at": "2026-11-20T08:20:00+07:00", "events": [
            {"kind": "payout", "payout_id": late["id"],
             **receipt(own, client_event_id="payout-ba-0001", received_by="Phạm Văn Ba",
                       id_number="056012345678", device_time="2026-11-20T08:15:00+07:00")}]})
    assert r.json["results"][0]["flags"] == ["device_clock_off"], r.json

    page = logged_in.get("/console/payouts").text
    assert re.search(r'id="payouts-flagged">[^<]*<strong>2<', page)
    at = {p["id"]: page.index(f'id="payout-{p["id"]}"') for p in (first, second, late)}
    clean = page[at[first["id"]]:at[second["id"]]]
    assert 'class="flagged"' not in clean and '<span class="flag">' not in clean
    assert 'class="flag reuse"' not in clean
    flagged = page[at[second["id"]]:at[late["id"]]]
    assert 'class="flagged"' in flagged
    assert "Ảnh/chữ ký đã dùng cho lần phát hoặc chi trả khác" in flagged
    link = f'<a href="/console/payouts/{first["id"]}">{first["reference"]}</a>'
    assert f"Chữ ký đã dùng trước cho khoản chi trả {link}" in flagged
    # the signature, through the console's evidence route
    images = re.findall(r'src="(/console/evidence/[0-9a-f]{64})"', flagged)
    assert images == [f"/console/evidence/{signed}"]
    with logged_in.get(images[0]) as img:
        assert img.status_code == 200 and img.mimetype == "image/png"
    clock_off = page[at[late["id"]]:]
    assert "Đồng hồ thiết bị lệch" in clock_off and "lệch so với máy chủ 20 phút" in clock_off
    # the link leads to the first payout
    r = logged_in.get(f"/console/payouts/{first['id']}")
    assert r.status_code == 200 and rows(r.text) == [first["reference"]]
    # in English
    logged_in.post("/console/lang", data={"lang": "en", "csrf_token": token(logged_in)})
    page = logged_in.get("/console/payouts").text
    assert "Photo or signature already used for another delivery, attempt or payout" in page
    assert f"Signature first used for payout {link}" in page
    assert "Device clock off" in page and "Phone clock off the server time by 20 min" in page
    assert "Payouts flagged for review" in page


def test_a_payout_receipt_shows_when_its_courier_moved_to_another_office(
        logged_in, client, auth, office, dispatcher, courier, make_office):
    payout = assigned(client, auth(dispatcher), courier)
    ch = auth(courier)
    signed = upload_file(client, ch, "signature", 8301)
    assert client.post(f"/api/v1/payouts/{payout['id']}/pay", headers=ch,
                       json=receipt(signed)).status_code == 200
    courier.office_id = make_office().id  # the uploader is no longer of the office
    db.session.commit()
    with logged_in.get(f"/console/evidence/{signed}") as img:  # its payout is the office's
        assert img.status_code == 200


# ---------------------------------------------------------------- forms

def create_form(client, **kw):
    page = client.get("/console/payouts").text
    form = {"csrf_token": CSRF_RE.search(page).group(1),
            "reference": re.search(r'name="reference" value="(CT[0-9A-F]{10})"', page).group(1),
            "program": "pension", "period": "2026-11", "name": "Cụ Trần Văn Lộc",
            "phone": "0905000111", "address": "8 Ngô Gia Tự", "id_number": "056012345678",
            "amount": "3250000", "due_date": "2026-11-20", "date": "2026-11-20",
            "next": "/console/payouts?date=2026-11-20"}
    form.update(kw)
    return form


def test_create_a_payout_task_once_and_refuse_bad_input(logged_in, office):
    form = create_form(logged_in)
    r = logged_in.post("/console/payouts", data=form)
    assert r.status_code == 302 and r.location == "/console/payouts?date=2026-11-20"
    page = logged_in.get(r.location).text
    assert f"Đã tạo khoản chi trả: {form['reference']}" in page
    assert rows(page) == [form["reference"]]
    assert logged_in.post("/console/payouts", data=form).status_code == 302  # double submit
    [task] = tasks()
    assert (task.reference, task.office_id, task.amount, task.status) == (
        form["reference"], office.id, 3_250_000, PayoutStatus.PENDING)
    # the same reference for another beneficiary: a conflict, not a replay
    r = logged_in.post("/console/payouts", data={**form, "name": "Cụ Lê Thị Mai"})
    assert r.status_code == 409 and "Mã chi trả đã tồn tại" in r.text
    # bad input: a 422 page saying which field, nothing stored, the form filled in again
    # (each field by its name on the page, in its language)
    for bad, field in (({"amount": "-5"}, "Số tiền"), ({"amount": "1.5"}, "Số tiền"),
                       ({"id_number": "12"}, "Số CCCD/CMND"),
                       ({"period": "2026-13"}, "Kỳ"), ({"name": ""}, "Họ tên"),
                       ({"program": "lottery"}, "Chế độ"), ({"reference": ""}, "Mã tham chiếu"),
                       ({"due_date": "2026-02-30"}, "Ngày đến hạn")):
        r = logged_in.post("/console/payouts", data={**form, **bad, "reference":
                                                     bad.get("reference", "CTBAD0000001")})
        assert r.status_code == 422, (bad, r.status_code)
        assert r.mimetype == "text/html" and 'id="payout-error"' in r.text
        said = re.search(r'id="payout-error">([^<]*)<', r.text).group(1)
        assert said.startswith("Dữ liệu chưa hợp lệ.") and f"{field}:" in said, bad
        assert 'value="8 Ngô Gia Tự"' in r.text and "056012345678" not in r.text
    # without the CSRF token
    r = logged_in.post("/console/payouts", data={**form, "csrf_token": "",
                                                 "reference": "CTNOCSRF0001"})
    assert r.status_code == 400
    assert [t.reference for t in tasks()] == [form["reference"]]


def assign_form(client, payout_id, courier_id):
    page = client.get("/console/payouts").text
    row = page[page.index(f'id="payout-{payout_id}"'):]
    return {"csrf_token": CSRF_RE.search(page).group(1),
            "reference": re.search(r'name="reference" value="([0-9a-f]{24})"', row).group(1),
            "courier_id": courier_id, "date": "2026-11-20", "next": "/console/payouts"}


def test_assign_a_payout_to_a_courier_of_the_office_once(
        logged_in, client, auth, office, dispatcher, courier, make_user, make_office):
    h = auth(dispatcher)
    payout = new_payout(client, h).json
    url = f"/console/payouts/{payout['id']}/assign"
    form = assign_form(logged_in, payout["id"], courier.id)
    # refused, nothing stored: an unknown courier, a courier of another office, a
    # dispatcher, no courier at all, no CSRF token
    far_office = make_office()
    far = make_user(Role.COURIER, far_office, username="far")
    for bad, status in (({"courier_id": 999_999}, 422), ({"courier_id": far.id}, 422),
                        ({"courier_id": dispatcher.id}, 422), ({"courier_id": "x"}, 422),
                        ({"reference": "short"}, 422), ({"csrf_token": ""}, 400)):
        r = logged_in.post(url, data={**form, **bad})
        assert r.status_code == status, (bad, r.status_code)
        if status == 422:
            assert 'id="payout-error"' in r.text
    assert "Dữ liệu chưa hợp lệ. Kiểm tra lại: Bưu tá." in logged_in.post(
        url, data={**form, "courier_id": far.id}).text
    assert tasks()[0].status is PayoutStatus.PENDING and advances() == 0
    # given to the courier: the advance in their ledger, once for a double submit
    r = logged_in.post(url, data=form)
    assert r.status_code == 302 and r.location == "/console/payouts"
    assert logged_in.post(url, data=form).status_code == 302
    [task] = tasks()
    assert task.status is PayoutStatus.ASSIGNED and task.courier_id == courier.id
    [advance] = db.session.query(CashEntry).filter_by(kind=CashKind.ADVANCE).all()
    assert (advance.courier_id, advance.amount) == (courier.id, 3_250_000)
    page = logged_in.get("/console/payouts").text
    assert "Đã giao khoản chi trả cho bưu tá" in page and "Bưu tá đang đi chi" in page
    # a new form for a task already with a courier: a conflict, shown, nothing changed
    r = logged_in.post(url, data={**form, "reference": "f" * 24})
    assert r.status_code == 409 and advances() == 1
    assert "Khoản chi trả không còn ở trạng thái cho phép thao tác này" in r.text
    # the one-time reference of this form used for another payout: refused
    second = new_payout(client, h, reference="CTSECOND0001").json
    r = logged_in.post(f"/console/payouts/{second['id']}/assign", data=form)
    assert r.status_code == 409 and advances() == 1
    # another office's payout: not found
    foreign = new_payout(client, auth(make_user(Role.DISPATCHER, far_office))).json
    r = logged_in.post(f"/console/payouts/{foreign['id']}/assign",
                       data={**form, "reference": "e" * 24})
    assert r.status_code == 404 and advances() == 1
    # the cash page counts the advance in the courier's ledger
    page = logged_in.get(f"/console/cash?date=2026-11-20&courier={courier.id}").text
    assert "Tạm ứng chi trả" in page and "3.250.000 ₫" in page


def test_the_language_switch_on_a_refused_form_goes_back_to_a_page(
        logged_in, client, auth, dispatcher, courier):
    # the page answering a refused form is at the form's address (a POST): the switch
    # went back there with a GET, a 405 for /payouts/{id}/assign and /fail
    payout = new_payout(client, auth(dispatcher)).json
    form = assign_form(logged_in, payout["id"], courier.id)
    r = logged_in.post(f"/console/payouts/{payout['id']}/assign",
                       data={**form, "courier_id": 999_999})
    assert r.status_code == 422
    back = re.search(r'name="next" value="([^"]*)">\s*<input type="hidden" name="lang"',
                     r.text).group(1).replace("&amp;", "&")
    assert back == "/console/payouts?date=2026-11-20"
    r = logged_in.post("/console/lang", data={"lang": "en", "next": back,
                                              "csrf_token": form["csrf_token"]})
    assert logged_in.get(r.location).status_code == 200
    # a form whose address is a page too comes back to it; a page shown by GET, as it was
    r = logged_in.post("/console/import", data={"csrf_token": form["csrf_token"]})
    assert re.search(r'name="next" value="/console/import">\s*<input type="hidden" '
                     'name="lang"', r.text)
    page = logged_in.get("/console/payouts?date=2026-11-20&status=pending").text
    assert re.search(r'name="next" value="/console/payouts\?date=2026-11-20&amp;'
                     r'status=pending">\s*<input type="hidden" name="lang"', page)


def test_mark_a_payout_failed_with_a_note_then_give_it_again(
        logged_in, client, auth, office, dispatcher, courier, clock):
    h = auth(dispatcher)
    pending = new_payout(client, h).json
    payout = assigned(client, h, courier, reference="CTFAIL000001")
    page = logged_in.get("/console/payouts").text
    tok = CSRF_RE.search(page).group(1)
    assert f'action="/console/payouts/{payout["id"]}/fail"' in page
    assert f'action="/console/payouts/{pending["id"]}/fail"' not in page  # not with a courier
    url = f"/console/payouts/{payout['id']}/fail"
    form = {"csrf_token": tok, "note": "Cụ đi viện, không có nhà", "date": "2026-11-20",
            "next": "/console/payouts"}
    for bad, status in (({"note": "x"}, 422), ({"note": ""}, 422), ({"csrf_token": ""}, 400)):
        assert logged_in.post(url, data={**form, **bad}).status_code == status, bad
    r = logged_in.post(f"/console/payouts/{pending['id']}/fail", data=form)
    assert r.status_code == 409 and "pending" in r.text  # nobody to report on it
    assert tasks()[1].status is PayoutStatus.ASSIGNED
    clock.advance(minutes=30)
    assert logged_in.post(url, data=form).status_code == 302
    assert logged_in.post(url, data=form).status_code == 302  # a double submit: done
    task = tasks()[1]
    assert task.status is PayoutStatus.FAILED and task.failure_note == form["note"]
    assert task.failed_at == clock()
    assert logged_in.post(url, data={**form, "note": "Another story"}).status_code == 409
    assert tasks()[1].failure_note == form["note"]
    page = logged_in.get("/console/payouts").text
    row = page[page.index(f'id="payout-{payout["id"]}"'):]
    assert "Không chi được, đã về bưu cục" in row and "20/11/2026 08:30" in row
    assert form["note"] in row and f'/console/payouts/{payout["id"]}/assign' in row
    # given to the courier again: a second advance, the failure kept as history
    r = logged_in.post(f"/console/payouts/{payout['id']}/assign",
                       data=assign_form(logged_in, payout["id"], courier.id))
    assert r.status_code == 302 and advances() == 2
    page = logged_in.get("/console/payouts").text
    row = page[page.index(f'id="payout-{payout["id"]}"'):]
    assert "Lần giao trước không chi được" in row and form["note"] in row


def test_a_new_task_submitted_twice_at_once_is_created_once(app, client, office, dispatcher,
                                                            monkeypatch):
    from api.payouts import service
    from tests.conftest import at_once, when_both_arrive

    assert login(client).status_code == 302
    form = create_form(client)
    # the ID number is hashed after the look for the reference, before the insert: both
    # requests get past the look; the second meets the first's row at the insert
    monkeypatch.setattr(service.policy, "id_hash", when_both_arrive(service.policy.id_hash))

    def submit(c):
        assert login(c).status_code == 302
        return c.post("/console/payouts", data={**form, "csrf_token": token(c)})

    answers = at_once(app, submit, submit)
    assert [a.status_code for a in answers] == [302, 302], [a.text for a in answers]
    assert [t.reference for t in tasks()] == [form["reference"]]
