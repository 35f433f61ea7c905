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
from datetime import UTC, date, datetime

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


# ------------------------------------------------------------------ an import's rows

def import_csv(client, text):
    import io

    return client.post("/console/import", data={
        "csrf_token": page_token(client),
        "file": (io.BytesIO(text.encode()), "items.csv")}, content_type="multipart/form-data")


def row_errors(page):
    """The import page's failed rows: (row, column, error) as shown."""
    return [tuple(html.unescape(c) for c in cells) for cells in re.findall(
        r"<tr><td>(\d+)</td><td>[^<]*</td><td>([^<]*)</td><td>([^<]*)</td></tr>", page)]


def test_an_imports_refused_rows_are_said_in_the_pages_language(console, make_item, office):
    """Each failed row of an import said in English on a Vietnamese page ("Invalid S10
    check digit", "Not a whole number.", "Item … already exists."): now in Vietnamese,
    by marshmallow's keys, the schemas' own keys and the problems' types."""
    from tests.conftest import s10

    stored = make_item(office).identifier
    head = ("identifier,sender_name,recipient_name,recipient_address,recipient_city,"
            "recipient_province,recipient_lat,recipient_lon,cod_amount,window_start,"
            "window_end,product")
    good = "Shop,Lê Thị Mai,5 Yersin,Nha Trang,Khánh Hòa"
    ems = s10("EE")
    text = "\n".join([
        head,
        f"EE123456789VN,{good},,,,,,",                                      # 1 check digit
        f"{s10('CP')},{good},12.25,,1.5,,,",                               # 2 lat alone, COD
        f"{s10('CP')},{good},,,,2026-11-20T10:00:00+07:00,2026-11-20T09:00:00+07:00,",  # 3
        f"{stored},{good},,,,,,",                                          # 4 stored
        f"{s10('CP')},{good},,,,,,,extra",                                 # 5 a cell too many
        f"{ems},{good},,,,,,parcel",                                       # 6 product
        f"{s10('CP')},{good},0,0,,,,",                                     # 7 0, 0
    ]) + "\n"
    r = import_csv(console, text)
    assert r.status_code == 200
    vi = row_errors(r.text)
    assert vi == [
        ("1", "identifier", labels.FIELD_CHECK["identifier"]),
        ("2", "recipient_lat", labels.SCHEMA_ERROR["lat_lon_pair"]),
        ("2", "cod_amount", labels.FIELD_INVALID["Integer"]),
        ("3", "window_end", labels.SCHEMA_ERROR["window_order"]),
        ("4", "", labels.PROBLEM["duplicate-item"]),
        ("5", "", labels.SCHEMA_ERROR["extra_fields"]),
        ("6", "product", "Dữ liệu chưa hợp lệ. Kiểm tra lại: Dịch vụ."),
        ("7", "recipient_lat", labels.SCHEMA_ERROR["lat_lon_zero"]),
    ]
    shown = " ".join(e for _, _, e in vi)
    for words in ("Invalid S10", "whole number", "already exists", "More fields",
                  "contradicts", "Give both", "must end", "0, 0 is not"):
        assert words not in shown
    # an English page: the service's words, as the API's
    english(console)
    r = import_csv(console, text)
    en = {(n, col): e for n, col, e in row_errors(r.text)}
    assert en[("1", "identifier")].startswith("Invalid S10 check digit")
    assert en[("2", "cod_amount")] == "Not a whole number."
    assert en[("2", "recipient_lat")] == "Give both lat and lon, or neither."
    assert en[("3", "window_end")] == "The window must end after it starts."
    assert en[("4", "")] == f"Item {stored} already exists."
    assert en[("5", "")] == "More fields than columns."
    assert en[("6", "product")].endswith("product parcel contradicts it.")
    assert en[("7", "recipient_lat")].startswith("0, 0 is not the recipient's place")


def test_the_schemas_own_rules_have_vietnamese_words():
    """Every key of the import row schema's own messages (nested ones too) has
    Vietnamese words: a new rule without them would be said in English."""
    from api.items.schemas import ItemImportRowSchema

    def keys(schema):
        out = set(schema.error_messages)
        for f in schema.fields.values():
            if hasattr(f, "schema") and type(f).__name__ == "Nested":
                out |= keys(f.schema)
        return out

    assert keys(ItemImportRowSchema()) - set(labels.SCHEMA_ERROR) == set()
    for key, said in labels.SCHEMA_ERROR.items():
        assert any(ord(c) > 127 for c in said), key


# ------------------------------------------------------------------ a route edit refused

def test_every_edit_mistake_has_vietnamese_words():
    """Each reason an edit of a plan can be refused for (its codes, and the reasons of
    a plan's own words it gives) has Vietnamese words, filled in with what the console
    gives: a new one without them fails here (as the problem types do)."""
    import inspect

    from api.route_plans import service

    given = set(service.EDIT_MISTAKES)
    given |= {"assigned_since_planned"}  # (given by name in _edit_errors)
    for fn in (service._failed_in_bag, service._failed_unplanned, service._asked_later,
               service._not_collected, service._assigned_since_planned):
        given |= set(re.findall(r'"reason": "([a-z_]+)"', inspect.getsource(fn)))
    given |= {v["reason"] for v in service._AWAITING.values()}
    assert {"failed_since_planned", "next_attempt_later", "awaits_collection",
            "not_collected", "in_bag_out"} <= given
    assert sorted(given - set(labels.EDIT_MISTAKE)) == [], "mistakes without Vietnamese"
    assert sorted(set(labels.EDIT_MISTAKE) - given) == [], "words of nothing given"
    for code, said in labels.EDIT_MISTAKE.items():
        holes = {name for _, name, _, _ in string.Formatter().parse(said) if name}
        assert holes <= {"courier", "day", "reason"}, code
        assert any(ord(c) > 127 for c in said), code
        assert refusals.reason_text({"code": code}, str)  # (no value needed to say it)


def test_a_refused_route_edit_is_said_in_the_pages_language(
        console, make_item, make_user, office, courier):
    """The map's edit refused (422 invalid-route-edit, one pointer per mistake): the
    map showed each mistake's English ``detail`` after the Vietnamese words of the
    type. Now each in Vietnamese by its reason, the courier by name."""
    from tests.api.test_console import console_plan, items_along_yersin

    other = make_user(Role.COURIER, office, username="c1", password="secret-pw",
                      full_name="Trần Văn Bình")
    outside = make_user(Role.COURIER, office, username="c2", password="secret-pw")
    ids = [i.identifier for i in items_along_yersin(make_item, office, 3)]
    bag = make_item(office, courier=courier, events=("EMG", "EDG"), recipient={
        "name": "Lê Văn Tám", "address": "9 Yersin", "city": "Nha Trang",
        "province": "Khánh Hòa", "lat": 12.25, "lon": 109.19}).identifier
    not_planned = items_along_yersin(make_item, office, 1)[0].identifier
    h = {"X-CSRF-Token": page_token(console)}
    plan = console_plan(console, h, [courier.id, other.id], ids + [bag])
    url = f"/console/api/plans/{plan['id']}/edit"
    edit = {"routes": [{"courier_id": courier.id, "identifiers": ids[:1] + ids[:1]},
                       {"courier_id": other.id, "identifiers": [bag, not_planned]},
                       {"courier_id": outside.id, "identifiers": []}]}
    r = console.post(url, headers=h, json=edit)
    assert r.status_code == 422 and r.json["type"] == "/problems/invalid-route-edit"
    assert r.json["detail"] == labels.PROBLEM["invalid-route-edit"]
    said = {e["pointer"]: e["detail"] for e in r.json["errors"]}
    assert said == {
        "/routes/0/identifiers/1": labels.EDIT_MISTAKE["named_twice"],
        "/routes/1/identifiers/0": labels.EDIT_MISTAKE["in_bag_out"].format(
            courier=courier.full_name),
        "/routes/1/identifiers/1": labels.EDIT_MISTAKE["not_a_stop"],
        "/routes/2/courier_id": labels.EDIT_MISTAKE["not_a_courier_of_plan"]}
    assert "User" in courier.full_name and courier.full_name in said["/routes/1/identifiers/0"]
    assert not any(w in " ".join(said.values()) for w in ("courier", "Not a", "Also at"))
    assert set(r.json) == {"type", "title", "status", "detail", "instance", "errors"}
    # the API's answer, and an English page's: the service's words
    english(console)
    r = console.post(url, headers=h, json=edit)
    assert {e["pointer"]: e["detail"] for e in r.json["errors"]} == {
        "/routes/0/identifiers/1": "Also at /routes/0/identifiers/0.",
        "/routes/1/identifiers/0": f"Out for delivery with courier {courier.id}: in their "
                                   "bag.",
        "/routes/1/identifiers/1": "Not a stop of this plan.",
        "/routes/2/courier_id": "Not a courier of this plan."}


def test_a_left_out_stop_named_in_an_edit_says_why_in_vietnamese():
    """Words filled in: why the plan left it out, a day, a courier."""
    from datetime import date

    assert refusals.reason_text(
        {"code": "left_out_when_made", "reason": "no_coordinates", "why": "x"}, str) == (
        "Bưu gửi này không phải điểm phát của kế hoạch: đã bị loại khi lập kế hoạch (bưu "
        "gửi chưa có tọa độ).")
    assert refusals.reason_text({"code": "next_attempt_later", "day": date(2026, 11, 21)},
                                str).startswith("Lần phát tiếp theo được hẹn vào ngày "
                                                "21/11/2026")
    assert refusals.reason_text({"code": "something_new"}, str) is None


# ------------------------------------------------------------------ a failed plan

def test_a_failed_plans_error_is_said_in_the_pages_language(console, office, courier):
    from api.route_plans import service as plans
    from models import PlanStatus, RoutePlan

    assert set(plans.PLAN_ERRORS) == set(labels.PLAN_ERROR)
    made = []
    for code in ("worker_stopped", "job_status", None):
        plan = RoutePlan(office_id=office.id, service_date=date(2026, 11, 20),
                         status=PlanStatus.FAILED, created_by_id=courier.id,
                         created_at=datetime(2026, 11, 20, tzinfo=UTC), time_limit_s=1,
                         problem={"couriers": [], "stops": []})
        if code:
            plans.failed_because(plan, code, status="stopped")
        else:  # failed before the code was kept
            plan.error = "The job of this plan stopped before it started; start a new plan."
        db.session.add(plan)
        db.session.commit()
        made.append(plan.id)
    vi = [console.get(f"/console/api/plans/{i}").json["error"] for i in made]
    assert vi == [labels.PLAN_ERROR["worker_stopped"], labels.PLAN_ERROR["job_status"],
                  labels.PLAN_ERROR_UNKNOWN]
    # the day's latest plan, as the map shows it
    assert console.get("/console/api/day?date=2026-11-20").json["plan"]["error"] == \
        labels.PLAN_ERROR_UNKNOWN
    english(console)
    en = [console.get(f"/console/api/plans/{i}").json["error"] for i in made]
    assert en == [plans.PLAN_ERRORS["worker_stopped"], "The job is stopped in the queue.",
                  "The job of this plan stopped before it started; start a new plan."]


# ------------------------------------------------------------------ the app's own errors

def test_the_apps_own_errors_on_a_console_page_are_said_in_its_language(
        console, monkeypatch):
    """What the app answers by itself (api/errors.py), outside the console's refusal
    handler: a console URL not found, a body that is not JSON, the database unreachable.
    A Vietnamese page was told in English; the API's answers stay as they were."""
    from sqlalchemy.exc import OperationalError

    from api.console import views

    page = {"Accept": "text/html"}
    h = {"X-CSRF-Token": page_token(console)}
    r = console.get("/console/nowhere", headers=page)
    assert r.status_code == 404 and r.mimetype == "text/html"
    assert f"<h1>404 Lỗi</h1><p>{html.escape(labels.HTTP_STATUS[404])}</p>" in r.text
    assert '<html lang="vi">' in r.text and r.headers["Content-Language"] == "vi"
    assert "Not Found" not in r.text and "requested URL" not in r.text
    # a body that is not JSON: the map's status line says it in Vietnamese
    r = console.post("/console/api/plans", headers=h, data="{not json",
                     content_type="application/json")
    assert r.status_code == 400 and r.mimetype == "application/problem+json"
    assert r.json["detail"] == labels.HTTP_STATUS[400] and r.json["type"] == "about:blank"
    assert r.json["title"] == "Bad Request" and r.headers["Content-Language"] == "vi"

    def down(*_a, **_k):
        raise OperationalError(None, None, Exception("connection refused"))

    monkeypatch.setattr(views, "_couriers", down)
    r = console.get("/console/", headers=page)
    assert r.status_code == 503 and r.headers["Retry-After"]
    assert html.escape(labels.PROBLEM["database-unavailable"]) in r.text
    assert "cannot be reached" not in r.text
    r = console.get("/console/api/day?date=2026-11-20")
    assert r.status_code == 503 and r.json["type"] == "/problems/database-unavailable"
    assert r.json["detail"] == labels.PROBLEM["database-unavailable"]
    # the API is not the console's: English, as it was
    r = console.get("/api/v1/nowhere")
    assert r.status_code == 404 and "Content-Language" not in r.headers
    assert r.json["detail"].startswith("The requested URL was not found")
    # an English page: as it was
    english(console)
    r = console.get("/console/", headers=page)
    assert r.status_code == 503 and "The database cannot be reached" in r.text
    assert '<html lang=' not in r.text and "Content-Language" not in r.headers
    r = console.get("/console/nowhere", headers=page)
    assert "<h1>404 Not Found</h1>" in r.text
    r = console.post("/console/api/plans", headers=h, data="{not json",
                     content_type="application/json")
    assert r.status_code == 400 and "Lỗi" not in r.json["detail"]
    assert r.json["detail"] != labels.HTTP_STATUS[400]


def test_an_error_whose_words_fail_is_answered_in_the_apps_words(console, monkeypatch):
    """The words are a nicety: one that fails (a label missing, a bug) was raised from
    the error handler itself, and the error answered as a bare 500 of the server, with
    no problem details (a 500 of a view: its handler failing in turn)."""
    from api.console import views

    def broken(*_a, **_k):
        raise KeyError("no words")

    monkeypatch.setattr(refusals, "app_error_text", broken)
    r = console.get("/console/nowhere", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.mimetype == "application/problem+json"
    assert r.json["detail"].startswith("The requested URL was not found")
    assert "Content-Language" not in r.headers
    r = console.get("/console/nowhere", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "<h1>404 Not Found</h1>" in r.text

    def fails(*_a, **_k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(views, "_couriers", fails)
    r = console.get("/console/api/day?date=2026-11-20")
    assert r.status_code == 500 and r.mimetype == "application/problem+json"
    assert r.json["title"] == "Internal server error"
