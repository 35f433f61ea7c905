"""A refused console form or request in the page's language (api/console/refusals.py).

The services refuse in English (problem details, marshmallow's messages). A Vietnamese
page said it in English all the same: a hand-in counted as "200.000" was
"counted_amount: Not a whole number.", a recipient's request on a parcel out for
delivery "Item ... is out_for_delivery: a recipient's request applies to ...". Now a
Vietnamese page says it in Vietnamese, by the problem's type and marshmallow's error
keys (never by the English words), the service's words kept for a type without
Vietnamese words; an English page says what it said."""

from __future__ import annotations

import html
import inspect
import re
import string

import pytest

from api.console import labels, refusals
from api.errors import Conflict, Problem, Unprocessable
from models import CashEntry, CashKind, Complaint, Role, db
from tests.api.test_console import CSRF_RE, login, page_token


@pytest.fixture
def office(make_office):
    return make_office(lat=12.2450, lon=109.1940)


@pytest.fixture
def courier(make_user, office):
    return make_user(Role.COURIER, office, username="c0", password="secret-pw")


@pytest.fixture
def console(client, make_user, office):
    """A dispatcher logged in to the console, the page in Vietnamese (the default)."""
    make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")
    assert login(client).status_code == 302
    return client


def english(client):
    r = client.post("/console/lang", data={"lang": "en", "csrf_token": page_token(client)})
    assert r.status_code == 302


def flashed(page):
    """The error messages a page shows (flashed, or the payout and import pages' own)."""
    return [html.unescape(m) for m in re.findall(
        r'<p class="flash error"[^>]*>([^<]*)</p>', page)]


# ------------------------------------------------------------------ the words

def test_every_problem_type_has_vietnamese_words():
    """Every type the code can answer with (a new one cannot ship without them: it
    would be said in English on the Vietnamese page), and none of a type gone."""
    from api.apidocs import PROBLEM_TYPES
    from tests.api.test_errors import raised_slugs

    types = set(PROBLEM_TYPES) | set(raised_slugs())
    assert sorted(types - set(labels.PROBLEM)) == [], "types without Vietnamese words"
    assert sorted(set(labels.PROBLEM) - types) == [], "words of a type nothing raises"
    for slug, said in labels.PROBLEM.items():
        assert said.strip() and any(ord(c) > 127 for c in said), slug  # Vietnamese


def test_field_words_fill_in_only_what_marshmallow_gives():
    """A field's Vietnamese message is formatted by marshmallow with the English one's
    values: a placeholder it does not give would be a KeyError (a 500) on the page."""
    from marshmallow import fields

    from api.items.schemas import Int, Text

    def holes(text):
        return {name for _, name, _, _ in string.Formatter().parse(text) if name}

    kinds = [c for c in vars(fields).values()
             if inspect.isclass(c) and issubclass(c, fields.Field)] + [Int, Text]
    keys = set()
    for kind in kinds:
        english_words = {}
        for cls in reversed(kind.__mro__):  # as marshmallow merges them
            english_words.update(getattr(cls, "default_error_messages", {}))
        for key, en in english_words.items():
            keys.add(key)
            vi = refusals.message(kind, key, en)
            assert holes(vi) <= holes(en), (kind, key, vi)
            vi.format(**{h: "x" for h in holes(en)})
    assert set(labels.FIELD_ERROR) <= keys  # no words of a key nothing has
    assert set(labels.FIELD_INVALID) <= {k.__name__ for k in kinds}
    assert refusals.message(Int, "invalid", "Not a whole number.").startswith(
        "Phải là số nguyên")


def test_a_type_without_vietnamese_words_is_said_in_the_services_words():
    new = Problem("Something new went wrong.", slug="something-new", status=409)
    assert refusals.problem_text(new, "vi") == "Something new went wrong."
    known = Conflict("Payout CT1 is paid.", slug="payout-not-open")
    assert refusals.problem_text(known, "vi") == labels.PROBLEM["payout-not-open"]
    assert refusals.problem_text(known, "en") == "Payout CT1 is paid."
    # a service's refused field: named in Vietnamese (its own words have no code)
    zero = Unprocessable("A correction of 0 changes nothing.",
                         errors=[{"pointer": "/amount", "detail": "Must not be 0."}])
    assert refusals.problem_text(zero, "vi") == "Dữ liệu chưa hợp lệ. Kiểm tra lại: Số tiền."
    assert refusals.problem_text(zero, "en") == "A correction of 0 changes nothing."


def test_a_form_loaded_in_vietnamese_leaves_the_apis_words_alone():
    from marshmallow import ValidationError

    from api.payouts.schemas import PayoutCreateSchema

    bad = {"program": "x", "period": "2026-11", "amount": "1.5", "due_date": "2026-11-20",
           "beneficiary": {"name": "An", "address": "1 Yersin", "phone": "abc",
                           "id_number": "12"}}
    with pytest.raises(ValidationError) as vi:
        refusals.localized(PayoutCreateSchema()).load(bad)
    assert refusals.refusal(vi.value, "vi") == (
        "Dữ liệu chưa hợp lệ. Chế độ: Phải là một trong: pension, social_insurance; "
        "Số điện thoại: Không phải số điện thoại (chữ số, có thể có dấu +, dấu cách, dấu "
        "chấm, gạch ngang); Số CCCD/CMND: Cần 6-20 chữ cái hoặc chữ số, như trên CCCD/CMND; "
        "Số tiền: Phải là số nguyên (chỉ gồm chữ số, không có dấu chấm hay dấu phẩy).")
    with pytest.raises(ValidationError) as en:  # the class as it was: the API's words
        PayoutCreateSchema().load(bad)
    assert en.value.messages == {
        "program": ["Must be one of: pension, social_insurance."],
        "beneficiary": {"phone": ["Not a phone number (digits, optionally +, spaces, dots, "
                                  "dashes)."], "id_number": ["6-20 letters or digits."]},
        "amount": ["Not a whole number."]}
    assert refusals.refusal(en.value, "en") == (
        "program: Must be one of: pension, social_insurance.; beneficiary/phone: Not a "
        "phone number (digits, optionally +, spaces, dots, dashes).; beneficiary/id_number: "
        "6-20 letters or digits.; amount: Not a whole number.")


# ------------------------------------------------------------------ the forms

def test_a_refused_cash_hand_in_is_said_in_the_pages_language(console, courier):
    url = f"/console/cash?date=2026-11-20&courier={courier.id}"
    page = console.get(url).text
    form = {"csrf_token": CSRF_RE.search(page).group(1), "courier_id": courier.id,
            "date": "2026-11-20", "reference": "r" * 24, "counted_amount": "200.000"}
    # thousands written with dots, as a Vietnamese cashier does: the field, in Vietnamese
    r = console.post("/console/cash/handover", data=form)
    assert r.status_code == 422
    assert flashed(r.text) == ["Dữ liệu chưa hợp lệ. Số tiền đếm được: Phải là số nguyên "
                               "(chỉ gồm chữ số, không có dấu chấm hay dấu phẩy)."]
    assert console.post("/console/cash/handover", data={
        **form, "counted_amount": "200000"}).status_code == 302
    # the form's one-time reference sent again for another amount: the service's 409
    r = console.post("/console/cash/handover", data={**form, "counted_amount": "150000"})
    assert r.status_code == 409
    assert flashed(r.text) == [labels.PROBLEM["idempotency-key-reused"]]
    assert db.session.query(CashEntry).filter_by(kind=CashKind.HANDOVER).count() == 1
    # an English page: the service's own words, as before
    english(console)
    r = console.post("/console/cash/handover", data={**form, "counted_amount": "150000"})
    assert r.status_code == 409
    assert flashed(r.text) == ["This reference was used for another hand-in."]
    r = console.post("/console/cash/handover", data=form)
    assert flashed(r.text) == ["counted_amount: Not a whole number."]


def test_a_refused_recipient_request_is_said_in_the_pages_language(
        console, make_item, office, courier):
    out = make_item(office, courier=courier, events=("EMG", "EDG"))  # out for delivery
    form = {"kind": "hold", "day": "2026-11-25", "note": "gọi trước",
            "csrf_token": page_token(console)}
    url = f"/console/items/{out.identifier}/recipient-request"
    r = console.post(url, data=form)
    assert r.status_code == 409
    assert flashed(r.text) == [labels.PROBLEM["not-waiting"]]
    english(console)
    r = console.post(url, data=form)
    assert r.status_code == 409
    assert flashed(r.text) == [
        f"Item {out.identifier} is out_for_delivery: a recipient's request applies to an "
        "item at the office, held there, or back from a failed attempt."]


def test_a_refused_complaint_form_is_said_in_the_pages_language(
        console, make_item, office, courier):
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    token = page_token(console)
    r = console.post(f"/console/items/{item.identifier}/complaints", data={
        "category": "late", "description": "abc", "csrf_token": token})
    assert r.status_code == 422
    assert flashed(r.text) == ["Dữ liệu chưa hợp lệ. Nội dung: Cần từ 5 đến 2.000 ký tự."]
    url = console.post(f"/console/items/{item.identifier}/complaints", data={
        "category": "late", "description": "Chưa nhận được hàng",
        "csrf_token": token}).location
    # closed without a resolution note: the service's own refusal, the field named
    r = console.post(url, data={"status": "resolved", "seen_status": "open",
                                "csrf_token": token})
    assert r.status_code == 422
    assert flashed(r.text) == ["Dữ liệu chưa hợp lệ. Kiểm tra lại: Kết quả xử lý."]
    assert db.session.query(Complaint).one().status.value == "open"


def test_the_import_form_and_a_pages_bad_query_are_said_in_the_pages_language(console):
    token = page_token(console)
    r = console.post("/console/import", data={"csrf_token": token})
    assert r.status_code == 422
    assert flashed(r.text) == ["Chưa chọn tệp CSV."]
    page = {"Accept": "text/html"}
    r = console.get("/console/cash?date=2026-02-30", headers=page)
    assert r.status_code == 422 and r.mimetype == "text/html"
    assert "<h1>422 Lỗi</h1><p>Dữ liệu chưa hợp lệ. Kiểm tra lại: Ngày.</p>" in r.text
    # a yes or no the queue's filter does not take: the filter named as the page names it
    r = console.get("/console/complaints?overdue=maybe", headers=page)
    assert r.status_code == 422
    assert "<p>Dữ liệu chưa hợp lệ. Kiểm tra lại: Chỉ quá hạn.</p>" in r.text
    english(console)
    r = console.get("/console/cash?date=2026-02-30", headers=page)
    assert "<p>date: Not a valid date.</p>" in r.text
    r = console.post("/console/import", data={"csrf_token": token})
    assert flashed(r.text) == ["Choose a CSV file."]


def test_a_refused_plan_action_is_said_in_the_pages_language(console, courier):
    """The map's actions are JSON: the problem's ``detail`` (what the map shows) in the
    page's language, its type and every other member as the API's."""
    h = {"X-CSRF-Token": page_token(console)}
    r = console.post("/console/api/plans", headers=h, json={"date": "2026-11-20"})
    assert r.status_code == 422 and r.mimetype == "application/problem+json"
    assert r.json["type"] == "/problems/nothing-to-plan" and "notes" in r.json
    assert r.json["detail"] == labels.PROBLEM["nothing-to-plan"]
    assert r.headers["Content-Language"] == "vi"
    # a field refused by the form's schema: named, and its reason, in Vietnamese
    r = console.post("/console/api/plans", headers=h,
                     json={"date": "2026-11-20", "time_limit_s": 1000})
    assert r.status_code == 422 and r.json["type"] == "/problems/validation-error"
    assert r.json["detail"] == "Dữ liệu chưa hợp lệ. Kiểm tra lại: Thời gian tối ưu (giây)."
    assert r.json["errors"] == [{"pointer": "/time_limit_s",
                                 "detail": "Phải từ 0,2 đến 300."}]
    r = console.post("/console/api/plans", headers={"X-CSRF-Token": "wrong"},
                     json={"date": "2026-11-20"})
    assert r.status_code == 400 and r.json["detail"] == labels.PROBLEM["csrf-failed"]
    english(console)
    r = console.post("/console/api/plans", headers=h,
                     json={"date": "2026-11-20", "time_limit_s": 1000})
    assert r.json["detail"] == "Some fields are invalid; see errors."
    assert r.json["errors"][0]["detail"] == (
        "Must be greater than or equal to 0.2 and less than or equal to 300.")
    assert r.headers["Content-Language"] == "en"
