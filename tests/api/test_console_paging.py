"""Paging of the console's long lists (the payouts page, the missing-scans page's two
lists): every row reachable page by page, in one order, none twice; "rows a–b of N";
links that keep the filters; a page past the last shows the last, a bad page number is
a 422 page; the flagged count is the whole list's; pages are cut in SQL. The page sizes
are lowered here (monkeypatch) so a few rows make several pages."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Text, cast, event, select

from api.console import views
from models import PayoutStatus, PayoutTask, Role, db
from tests.api.test_console import login

DAY = date(2026, 11, 20)  # the test clock's day in Viet Nam
BAD_PAGES = ("0", "-1", "abc", "1.5", "2e3", "100001", "1" * 30)


@pytest.fixture
def office(make_office):
    return make_office()


@pytest.fixture
def dispatcher(make_user, office):
    return make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")


@pytest.fixture
def logged_in(client, dispatcher):
    assert login(client).status_code == 302
    return client


def link(page, rel, pager_id):
    """The href of a pager's prev/next link (None: not there)."""
    nav = re.search(rf'<nav class="pager row" id="{pager_id}".*?</nav>', page, re.S)
    assert nav, f"no {pager_id}"
    found = re.search(rf'<a rel="{rel}"[^>]* href="([^"]+)"', nav.group(0))
    return unescape(found.group(1)) if found else None


def query(url):
    return parse_qs(urlsplit(url).query)


def rows_text(page, pager_id):
    nav = re.search(rf'id="{pager_id}".*?</nav>', page, re.S).group(0)
    return (re.search(r'pager-rows">([^<]*)<', nav).group(1),
            re.search(r'pager-page">([^<]*)<', nav).group(1) if "pager-page" in nav else None)


def walk(client, url, pager_id, listed):
    """Follow the "next" links from ``url`` to the last page: every page's rows (by
    ``listed(page)``) and each page's URL."""
    seen, urls = [], []
    while url:
        r = client.get(url)
        assert r.status_code == 200, (url, r.text[:300])
        urls.append(url)
        seen.append(listed(r.text))
        url = link(r.text, "next", pager_id)
        assert len(urls) < 20
    return seen, urls


# ---------------------------------------------------------------- payouts

def payout(office, n, *, due=DAY, status=PayoutStatus.PENDING, flags=..., clock=None):
    t = PayoutTask(reference=f"CT{n:08d}", program="pension", period="2026-11",
                   office_id=office.id, beneficiary_name=f"Cụ {n}",
                   beneficiary_address=f"{n} Yersin", beneficiary_id_hash="0" * 64,
                   amount=1_000_000 + n, due_date=due, status=status,
                   created_at=clock() if clock else None)
    if status is PayoutStatus.PAID:
        t.server_time = t.device_time = clock()
    if flags is not ...:
        t.flags = flags  # None here is JSON null (a payment without flags); unset: SQL NULL
    db.session.add(t)
    return t


def refs(page):
    return re.findall(r'<tr id="payout-\d+"[^>]*>\s*<td>(\S+)<br>', page)


@pytest.fixture
def day_of_payouts(office, make_office, clock):
    """Nine payouts on the day's list, with two flagged, both on the last of three
    pages of three: one still open from the day before (listed first, by due date), five pending
    due that day, two paid with flags and one paid without (JSON null), one with an
    empty list of flags; and some not on the list (another office's, another day's)."""
    made = [payout(office, 1, due=DAY - timedelta(days=1), clock=clock)]
    made += [payout(office, n, clock=clock) for n in (2, 3, 4, 5)]
    made += [payout(office, 6, status=PayoutStatus.PAID, flags=None, clock=clock),
             payout(office, 7, status=PayoutStatus.PAID, flags=[], clock=clock),
             payout(office, 8, status=PayoutStatus.PAID, flags=["proof_reused"], clock=clock),
             payout(office, 9, status=PayoutStatus.PAID,
                    flags=["device_clock_off", "proof_reused"], clock=clock)]
    payout(office, 10, due=DAY + timedelta(days=1), clock=clock)  # a later day
    payout(make_office(), 11, status=PayoutStatus.PAID, flags=["proof_reused"], clock=clock)
    db.session.commit()
    return [t.reference for t in made]


def test_every_payout_of_the_day_is_reached_page_by_page(logged_in, day_of_payouts,
                                                         monkeypatch):
    monkeypatch.setattr(views, "PAYOUT_PAGE_ROWS", 3)
    seen, urls = walk(logged_in, "/console/payouts", "payouts-pager", refs)
    assert seen == [day_of_payouts[:3], day_of_payouts[3:6], day_of_payouts[6:]]
    assert [query(u) for u in urls[1:]] == [{"date": ["2026-11-20"], "page": [str(n)]}
                                            for n in (2, 3)]
    first = logged_in.get("/console/payouts").text
    assert rows_text(first, "payouts-pager") == ("Dòng 1–3 trong tổng số 9", "Trang 1/3")
    assert link(first, "prev", "payouts-pager") is None
    # the last page: its rows, no next, a link back; the same pager under the table
    last = logged_in.get("/console/payouts?page=3").text
    assert rows_text(last, "payouts-pager") == ("Dòng 7–9 trong tổng số 9", "Trang 3/3")
    assert link(last, "next", "payouts-pager") is None
    assert query(link(last, "prev", "payouts-pager")) == {"date": ["2026-11-20"],
                                                          "page": ["2"]}
    assert rows_text(last, "payouts-pager-end") == rows_text(last, "payouts-pager")
    # page 1's link carries no page number
    assert query(link(logged_in.get(urls[1]).text, "prev", "payouts-pager")) == {
        "date": ["2026-11-20"]}
    # a list on one page says how many, with no links; an empty one says it is empty
    monkeypatch.setattr(views, "PAYOUT_PAGE_ROWS", 500)
    one = logged_in.get("/console/payouts").text
    assert rows_text(one, "payouts-pager") == ("Dòng 1–9 trong tổng số 9", None)
    assert 'rel="next"' not in one and 'rel="prev"' not in one
    empty = logged_in.get("/console/payouts?date=2026-11-01&page=3").text
    assert 'id="payouts-empty"' in empty and 'class="pager' not in empty


def test_the_payout_links_keep_the_day_and_the_statuses(logged_in, office, clock,
                                                        monkeypatch):
    monkeypatch.setattr(views, "PAYOUT_PAGE_ROWS", 2)
    day = DAY + timedelta(days=3)
    made = [payout(office, n, due=day, clock=clock).reference for n in range(1, 6)]
    failed = payout(office, 6, due=day, status=PayoutStatus.FAILED, clock=clock).reference
    payout(office, 7, due=day, status=PayoutStatus.ASSIGNED, clock=clock)  # filtered out
    db.session.commit()
    url = "/console/payouts?date=2026-11-23&status=pending&status=failed"
    seen, urls = walk(logged_in, url, "payouts-pager", refs)
    assert [r for page in seen for r in page] == [*made, failed]
    for u in urls[1:]:
        q = query(u)
        assert q["date"] == ["2026-11-23"] and sorted(q["status"]) == ["failed", "pending"]
    last = logged_in.get(urls[-1]).text
    back = query(link(last, "prev", "payouts-pager"))
    assert back["date"] == ["2026-11-23"] and sorted(back["status"]) == ["failed", "pending"]
    # the forms on a page come back to that page
    assert f'name="next" value="{urls[1].replace("&", "&amp;")}"' in logged_in.get(
        urls[1]).text


def test_the_flagged_count_is_the_whole_lists(logged_in, day_of_payouts, monkeypatch):
    monkeypatch.setattr(views, "PAYOUT_PAGE_ROWS", 3)
    # every way a row has no flag is there: SQL NULL, JSON null, an empty list
    stored = dict(db.session.execute(select(PayoutTask.reference,
                                            cast(PayoutTask.flags, Text))).all())
    assert [stored[r] for r in day_of_payouts[4:]] == [
        None, "null", "[]", '["proof_reused"]', '["device_clock_off", "proof_reused"]']
    first = logged_in.get("/console/payouts").text  # the flagged two are on page 3
    assert not re.search(r'class="flagged"', first)
    assert re.search(r'id="payouts-flagged">[^<]*<strong>2</strong>', first)
    assert "(cả danh sách, mọi trang)" in first
    last = logged_in.get("/console/payouts?page=3").text
    assert re.search(r'id="payouts-flagged">[^<]*<strong>2</strong>', last)
    assert len(re.findall(r'class="flagged"', last)) == 2
    # and follows the filters: the pending ones have none
    page = logged_in.get("/console/payouts?status=pending").text
    assert 'id="payouts-flagged"' not in page
    page = logged_in.get("/console/payouts?status=paid").text
    assert re.search(r'id="payouts-flagged">[^<]*<strong>2</strong>', page)
    # one payout's page: its own flag, no pager
    one = db.session.query(PayoutTask).filter_by(reference=day_of_payouts[-1]).one()
    page = logged_in.get(f"/console/payouts/{one.id}").text
    assert re.search(r'id="payouts-flagged">[^<]*<strong>1</strong>', page)
    assert 'class="pager' not in page and "mọi trang" not in page


def test_a_page_past_the_last_shows_the_last_and_a_bad_page_is_a_422(
        logged_in, day_of_payouts, monkeypatch):
    monkeypatch.setattr(views, "PAYOUT_PAGE_ROWS", 3)
    for far in ("4", "99999", "100000"):
        r = logged_in.get(f"/console/payouts?page={far}")
        assert r.status_code == 200
        assert refs(r.text) == day_of_payouts[6:]
        assert rows_text(r.text, "payouts-pager") == ("Dòng 7–9 trong tổng số 9", "Trang 3/3")
        assert query(link(r.text, "prev", "payouts-pager"))["page"] == ["2"]
    assert refs(logged_in.get("/console/payouts?page=").text) == day_of_payouts[:3]
    for bad in BAD_PAGES:
        r = logged_in.get(f"/console/payouts?page={bad}", headers={"Accept": "text/html"})
        assert r.status_code == 422 and r.mimetype == "text/html", bad
        assert "Kiểm tra lại: Trang" in r.text


def test_payout_pages_are_cut_in_sql(logged_in, day_of_payouts, monkeypatch):
    monkeypatch.setattr(views, "PAYOUT_PAGE_ROWS", 3)
    seen: list[str] = []

    def before(conn, cursor, statement, *a):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        assert refs(logged_in.get("/console/payouts?page=2").text) == day_of_payouts[3:6]
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
    rows = [s for s in seen if re.search(r"FROM payout_tasks\b", s) and "count(" not in s]
    assert rows and all("LIMIT" in s and "OFFSET" in s for s in rows), rows


# ---------------------------------------------------------------- missing scans

def item_rows(page, table):
    part = page[page.index(f'id="{table}"'):]
    part = part[:part.index("</table>")]
    return re.findall(r'number=([A-Z0-9]+)"', part)


def missing_rows(page):
    return item_rows(page, "missing") if 'id="missing"' in page else []


def returns_rows(page):
    return item_rows(page, "returns-due") if 'id="returns-due"' in page else []


@pytest.fixture
def follow_ups(app, office, make_user, make_item, clock):
    """Seven silent items (five waiting at the office, then two held after two failed
    attempts, the limit lowered to 2) and those two awaiting a return, thirty hours on."""
    app.config["MAX_DELIVERY_ATTEMPTS"] = 2
    courier = make_user(Role.COURIER, office, username="c0")
    waiting = [make_item(office, events=("EMG",)).identifier for _ in range(5)]
    clock.advance(minutes=5)
    held = [make_item(office, courier=courier, events=(
        "EMG", "EDG", "EMH", "EDG", "EMH", "EDF")).identifier for _ in range(2)]
    clock.advance(hours=30)
    return waiting, held


def test_every_missing_scan_and_return_is_reached_page_by_page(
        client, dispatcher, follow_ups, monkeypatch):
    monkeypatch.setattr(views, "MISSING_PAGE_ROWS", 3)
    waiting, held = follow_ups
    assert login(client).status_code == 302
    url = "/console/missing?idle_hours=20&out_hours=6"
    seen, urls = walk(client, url, "missing-pager", missing_rows)
    assert seen == [waiting[:3], [*waiting[3:], held[0]], held[1:]]
    for n, u in enumerate(urls[1:], start=2):
        assert query(u) == {"idle_hours": ["20"], "out_hours": ["6"], "page": [str(n)]}
    last = client.get(urls[-1]).text
    assert rows_text(last, "missing-pager") == ("Dòng 7–7 trong tổng số 7", "Trang 3/3")
    assert link(last, "next", "missing-pager") is None
    assert query(link(last, "prev", "missing-pager"))["page"] == ["2"]
    # a threshold the links keep as it was asked for, all its digits (not the six of
    # "%g": 20.1234567 became 20.1235, another list than the one shown)
    page = client.get("/console/missing?idle_hours=20.1234567&out_hours=6").text
    assert query(link(page, "next", "missing-pager"))["idle_hours"] == ["20.1234567"]
    # the returns list pages on its own, its links keeping the other list's page
    monkeypatch.setattr(views, "MISSING_PAGE_ROWS", 1)
    page = client.get(url + "&page=4").text
    assert rows_text(page, "returns-pager") == ("Dòng 1–1 trong tổng số 2", "Trang 1/2")
    assert returns_rows(page) == held[:1]
    nxt = link(page, "next", "returns-pager")
    assert query(nxt) == {"idle_hours": ["20"], "out_hours": ["6"], "page": ["4"],
                          "returns_page": ["2"]}
    page = client.get(nxt).text
    assert returns_rows(page) == held[1:] and missing_rows(page) == waiting[3:4]
    assert link(page, "next", "returns-pager") is None
    assert query(link(page, "next", "missing-pager")) == {
        "idle_hours": ["20"], "out_hours": ["6"], "page": ["5"], "returns_page": ["2"]}
    assert query(link(page, "prev", "returns-pager")) == {
        "idle_hours": ["20"], "out_hours": ["6"], "page": ["4"]}
    # a page past the last shows the last, of each list; a bad one is a 422 page
    page = client.get("/console/missing?page=50&returns_page=50").text
    assert missing_rows(page) == held[1:] and returns_rows(page) == held[1:]
    assert rows_text(page, "missing-pager") == ("Dòng 7–7 trong tổng số 7", "Trang 7/7")
    for name in ("page", "returns_page"):
        for bad in BAD_PAGES:
            r = client.get(f"/console/missing?{name}={bad}", headers={"Accept": "text/html"})
            assert r.status_code == 422 and r.mimetype == "text/html", (name, bad)


# ---------------------------------------------------------------- complaints

def test_every_complaint_of_the_queue_is_reached_page_by_page(logged_in, office, dispatcher,
                                                              make_item, clock, monkeypatch):
    """The queue showed the 500 soonest due and nothing more."""
    from api.complaints import service as complaints

    monkeypatch.setattr(views, "COMPLAINTS_PAGE_ROWS", 2)
    made = []
    for n in range(5):
        c = complaints.open_staff(db.session, dispatcher, make_item(office).identifier,
                                  "damaged", f"Móp {n}", now=clock())
        made.append(c.reference)
        clock.advance(hours=1)
    db.session.commit()
    assert login(logged_in).status_code == 302  # a new shift

    def references(page):
        return re.findall(r'<td><a href="/console/complaints/\d+">([^<]+)</a></td>', page)

    seen, urls = walk(logged_in, "/console/complaints", "queue-pager", references)
    assert seen == [made[:2], made[2:4], made[4:]]
    assert rows_text(logged_in.get(urls[-1]).text, "queue-pager") == (
        "Dòng 5–5 trong tổng số 5", "Trang 3/3")
    clock.advance(hours=100)  # all overdue: the filter is kept by the links
    assert login(logged_in).status_code == 302
    seen, urls = walk(logged_in, "/console/complaints?overdue=1", "queue-pager", references)
    assert [r for page in seen for r in page] == made
    assert all(query(u)["overdue"] == ["1"] for u in urls)


def test_the_overdue_filter_reads_the_apis_words_and_refuses_others(logged_in, office,
                                                                     dispatcher, make_item,
                                                                     clock):
    """Only ``?overdue=1`` was read: ``?overdue=true``, as the API writes its filter,
    showed the whole queue as if it were the overdue cases."""
    from api.complaints import service as complaints

    late = complaints.open_staff(db.session, dispatcher, make_item(office).identifier,
                                 "damaged", "Móp", now=clock())
    clock.advance(hours=25)  # EMS: 24 h to answer
    fresh = complaints.open_staff(db.session, dispatcher, make_item(office).identifier,
                                  "damaged", "Rách", now=clock())
    db.session.commit()
    assert login(logged_in).status_code == 302  # a new shift

    def references(url):
        r = logged_in.get(url)
        assert r.status_code == 200, url
        return re.findall(r'<td><a href="/console/complaints/\d+">([^<]+)</a></td>', r.text)

    assert references("/console/complaints") == [late.reference, fresh.reference]
    for word in ("1", "true", "TRUE", "yes", "on"):
        assert references(f"/console/complaints?overdue={word}") == [late.reference], word
    for word in ("", "0", "false", "no"):
        assert references(f"/console/complaints?overdue={word}") == [
            late.reference, fresh.reference], word
    for bad in ("maybe", "2", "truee"):
        r = logged_in.get(f"/console/complaints?overdue={bad}", headers={"Accept": "text/html"})
        assert r.status_code == 422 and r.mimetype == "text/html", bad
        assert "Chỉ quá hạn" in r.text  # the filter, as the (Vietnamese) page names it
