"""The console and the public tracking page in a real browser: Debian's Chromium driven by
Playwright for Python (never ``playwright install``), against a live server on 127.0.0.1
(werkzeug in a thread) with a SQLite file of demo data (60 items).

Each test stands alone: alone, in any order, on any pytest-xdist worker (``--dist
load`` too). The server, the browser and its cache of static files are shared per
module, for speed; no data, page or session is. Each test starts from the demo data as
loaded (the file is put back from a copy first: ``site``) or, when it asks for
``published_day``, from the demo day with a plan for every courier published (built
once), in a new tab whose cookies are reset: logged in as the dispatcher, on the map
(``console``), or not logged in (``tab``).

Map tiles point at a closed local port: the tests run offline and check that the map
still draws items, routes and couriers. Screenshots go to ``test-artifacts/``."""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

CHROMIUM = os.environ.get("POSTAL_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
LEAFLET = Path(__file__).resolve().parents[2] / "api/console/assets/node_modules/leaflet"


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    sync_api = pytest.importorskip("playwright.sync_api",
                                   reason="playwright is not installed (make install)")
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"Chromium not found at {CHROMIUM}: `make test` installs it with "
                    "apt-get (apt-get install chromium); browser tests skipped")
    pw = sync_api.sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
    except Exception as exc:
        pw.stop()
        pytest.skip(f"Chromium at {CHROMIUM} cannot be launched: {exc}".splitlines()[0])
    yield b
    b.close()
    pw.stop()


def morning_clock() -> Callable[[], datetime]:
    """The server's clock for these tests: it runs at the real pace from 08:30 Viet Nam
    time today. The console plans "today" from the clock's time, against the demo's
    08:00-17:30 shifts: on the real clock, a run in the late afternoon or at night
    would plan a day already over, with few or no stops to move."""
    from api.localtime import LOCAL_TZ
    from models import utcnow

    started = utcnow()
    day = started.astimezone(LOCAL_TZ).date()
    morning = datetime.combine(day, time(8, 30), tzinfo=LOCAL_TZ).astimezone(UTC)
    return lambda: morning + (utcnow() - started)


def restore(source: Path, target: Path) -> None:
    """Copy one SQLite database over another, in place (the backup API): the server's
    pooled connections read the copy from their next statement on."""
    with closing(sqlite3.connect(source)) as src, \
            closing(sqlite3.connect(target, timeout=15)) as dst:
        src.backup(dst)


@pytest.fixture(scope="module")
def live(tmp_path_factory: Any) -> Iterator[dict[str, Any]]:
    """A live server on a free port with the demo office and 60 items; ``demo`` is a
    copy of that data as loaded, which :func:`site` puts back before each test."""
    from werkzeug.serving import make_server

    from api import create_app
    from api.demo import load_demo
    from models import CourierPosition, Item, Role, Status, User, db

    if not LEAFLET.is_dir():
        pytest.skip("the console's npm packages are missing (make install runs npm ci)")
    tmp = tmp_path_factory.mktemp("e2e")
    app = create_app({"TESTING": True, "DEMO_MODE": True, "SECRET_KEY": "e2e-secret",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'e2e.sqlite3'}",
                      "REDIS_URL": None, "PHOTO_DIR": str(tmp / "evidence"),
                      "CONSOLE_TILE_URL": "http://127.0.0.1:9/{z}/{x}/{y}.png",
                      "CLOCK": morning_clock()})
    info: dict[str, Any] = {"db": tmp / "e2e.sqlite3", "demo": tmp / "demo.sqlite3",
                            "tmp": tmp}
    with app.app_context():
        db.create_all()
        now = app.config["CLOCK"]()
        load_demo(db.session, now=now, n_items=60)
        couriers = db.session.execute(db.select(User).where(User.role == Role.COURIER)
                                      .order_by(User.id)).scalars().all()
        # a courier whose vehicle takes nothing: a stop moved to them overloads it. One
        # holding no parcel (the demo's bags depend on the hour): a bag is on board
        # whatever the vehicle takes, and would give them a route of its own
        holding = set(db.session.execute(db.select(Item.courier_id).where(
            Item.courier_id.is_not(None), Item.status.not_in(
                [Status.DELIVERED, Status.RETURN_TO_SENDER]))).scalars())
        empty = [c for c in couriers if c.id not in holding]
        assert empty, "every demo courier holds a parcel"
        empty[-1].vehicle_capacity_parcels = 0
        info["no_room"] = empty[-1].id
        for n, c in enumerate(couriers[:3]):  # three couriers out on the road
            db.session.add(CourierPosition(
                client_event_id=f"e2e-pos-{n}", courier_id=c.id, lat=12.24 + 0.004 * n,
                lon=109.19, accuracy_m=10.0, device_time=now - timedelta(minutes=n),
                server_time=now))
        db.session.commit()
        delivered = db.session.execute(db.select(Item).where(
            Item.status == Status.DELIVERED).order_by(Item.id)).unique().scalars().first()
        info["delivered"] = delivered.identifier
        info["delivered_phone"] = delivered.recipient_phone
        db.session.remove()
    restore(info["db"], info["demo"])
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    info["url"] = f"http://127.0.0.1:{server.server_port}"
    info["app"] = app
    yield info
    server.shutdown()
    thread.join(5)
    server.server_close()
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def published_day(live: dict[str, Any]) -> Path:
    """The demo day with a plan for every courier published, of the items the console's
    planning form offers, made once through the services (a 1 s optimisation): a copy
    that :func:`site` puts back for each test asking for it."""
    from api.localtime import local_day
    from api.route_plans import service
    from api.route_plans.schemas import PlanCreateSchema
    from models import User, db

    app = live["app"]
    restore(live["demo"], live["db"])
    with app.app_context():
        dispatcher = db.session.execute(db.select(User).where(
            User.username == "dispatcher1")).scalar_one()
        now = app.config["CLOCK"]()
        # the console opens on this day for the tests using it (:func:`console`), not on
        # the day they run: a suite crossing local midnight (17:00 UTC) would otherwise
        # show them the next day, with no route in force
        live["published_on"] = local_day(now)
        # what the console's planning form offers (not what is out for delivery)
        data = PlanCreateSchema().load({"date": live["published_on"].isoformat(),
                                        "statuses": [s.value for s in service.PLANNABLE],
                                        "time_limit_s": 1})
        attempts = app.config["MAX_DELIVERY_ATTEMPTS"]
        plan = service.create_plan(db.session, dispatcher, data, now=now,
                                   max_attempts=attempts)
        db.session.commit()
        service.run(db.session, plan.id, clock=app.config["CLOCK"])
        # (accepted, should the 1 s optimisation leave a stop late: the tests need the
        # routes in force, not a clean plan)
        service.publish(db.session, dispatcher, plan.id, now=app.config["CLOCK"](),
                        accept_issues=True, max_attempts=attempts)
        db.session.commit()
        db.session.remove()
    path: Path = live["tmp"] / "published.sqlite3"
    restore(live["db"], path)
    return path


@pytest.fixture
def site(request: Any, live: dict[str, Any]) -> dict[str, Any]:
    """The live server with the data each test starts from: the demo data as loaded,
    or the published day for a test that asks for ``published_day``."""
    if "published_day" in request.fixturenames:
        restore(request.getfixturevalue("published_day"), live["db"])
        live["day"] = live["published_on"]
    else:
        restore(live["demo"], live["db"])
        live["day"] = None  # the console's own day: today
    return live


@pytest.fixture(scope="module")
def desktop(browser: Any) -> Iterator[Any]:
    """The browser context the console tests open their tabs in, for its cache of the
    static files (Leaflet, the console's script): each test resets its cookies."""
    # bypass_csp: wait_for_function evaluates strings, which the console's CSP forbids
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN",
                                  bypass_csp=True)
    context.set_default_timeout(15_000)
    yield context
    context.close()


def new_tab(context: Any, cookies: list[dict[str, Any]]) -> Any:
    """A new tab with only ``cookies``: none is a visitor not logged in."""
    context.clear_cookies()
    context.add_cookies(cookies)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    return page


@pytest.fixture
def tab(desktop: Any, site: dict[str, Any]) -> Iterator[Any]:
    """A tab of its own, not logged in."""
    page = new_tab(desktop, [])
    yield page
    page.close()


@pytest.fixture(scope="module")
def dispatcher_login(desktop: Any, live: dict[str, Any]) -> list[dict[str, Any]]:
    """The cookies of one login as the dispatcher, for each test's tab: the signed
    session cookie holds the whole session (docs/console.md), so a tab given it is
    logged in, and what a test does with it (switch the language, log out, which the
    server records in the database put back after the test) goes with that tab's
    cookies, which the next test replaces. Logging in once spares each test the
    password check and the form."""
    page = new_tab(desktop, [])
    page.goto(f"{live['url']}/console/login", wait_until="domcontentloaded")
    page.fill("input[name=username]", "dispatcher1")
    page.fill("input[name=password]", "demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#map")
    cookies: list[dict[str, Any]] = desktop.cookies()
    page.close()
    return cookies


LOADS_JS = "() => +document.getElementById('day-updated').dataset.loads"


def console_url(site: dict[str, Any], **query: str) -> str:
    """The console's map on the site's day (:func:`site`), with ``query``."""
    if site["day"]:
        query = {"date": site["day"].isoformat(), **query}
    return f"{site['url']}/console/" + ("?" + urlencode(query) if query else "")


@pytest.fixture
def console(desktop: Any, site: dict[str, Any], dispatcher_login: list[dict[str, Any]]
            ) -> Iterator[Any]:
    """A tab of its own logged in as the dispatcher, on the map with the day's data
    loaded."""
    page = new_tab(desktop, dispatcher_login)
    page.goto(console_url(site), wait_until="domcontentloaded")
    page.wait_for_selector("#map.leaflet-container")
    page.wait_for_function(f"{LOADS_JS} >= 1")
    yield page
    page.close()


def log_in_to_the_map(page: Any) -> None:
    """Log in as the demo dispatcher on the login page shown, and wait for the map with
    the day's parcels and couriers drawn."""
    page.fill("input[name=username]", "dispatcher1")
    page.fill("input[name=password]", "demo")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#map.leaflet-container")
    page.wait_for_function("document.querySelectorAll('path.item-marker').length > 10")
    page.wait_for_function("document.querySelectorAll('path.courier-marker').length >= 3")


def test_courier_is_refused_and_dispatcher_logs_in_to_the_map(tab, site):
    page = tab
    page.goto(f"{site['url']}/console/", wait_until="domcontentloaded")
    assert "/console/login" in page.url
    page.fill("input[name=username]", "courier1")
    page.fill("input[name=password]", "demo")
    page.click("#login-form button[type=submit]")
    assert "Bưu tá dùng ứng dụng" in page.inner_text("#login-error")

    log_in_to_the_map(page)
    assert page.locator("#unassigned li").count() > 0
    assert int(page.inner_text("#item-count")) > 0
    # no tile server reachable: the map says so and keeps drawing
    page.wait_for_selector("#map.tiles-failed", state="attached")
    # tooltips hold text nodes (Leaflet would put a string in with innerHTML)
    page.locator("path.office-marker").first.hover(force=True)
    tip = page.wait_for_selector(".leaflet-tooltip")
    assert tip.inner_text().strip() != ""
    assert tip.eval_on_selector("span", "e => e.children.length") == 0
    shot(page, "console-map")
    assert page.js_errors == []


def test_plan_reassign_reorder_and_publish(console, site):
    page = console
    page.fill("#time-limit", "1")
    page.click("#start-plan")
    page.wait_for_selector("#plan-status[data-status=succeeded]", timeout=40_000)
    assert page.eval_on_selector("#plan-progress", "p => p.value") == 1
    assert page.inner_text("#plan-cost") not in ("", "–")
    n_lines = page.locator("path.route-line").count()
    assert n_lines >= 2 and page.locator("path.stop-marker").count() > 10
    # the day's first plan: nothing to start from, no route in force to compare with
    assert page.is_checked("#warm-start")
    assert page.inner_text("#warm-start-info") == "Tối ưu từ đầu, không dựa trên tuyến nào"
    assert page.locator("#routes .route p.kept").count() == 0
    shot(page, "console-plan")

    # a parcel in its courier's bag (the demo day has some out, depending on the hour)
    # stays with them: its move box is off, and says why
    bag = page.locator("#routes li.stop:has(select.move:disabled)")
    for n in range(bag.count()):
        assert bag.nth(n).locator("select.move").get_attribute("title") == \
            "Trong túi bưu tá: không chuyển cho người khác được"
    first = page.locator(".route:has(li.stop select.move:enabled)").first
    stop = first.locator("li.stop:has(select.move:enabled)").first
    moved = stop.get_attribute("data-identifier")
    source = first.get_attribute("data-courier")
    target = page.locator(f"#routes .route[data-courier]:not([data-courier='{source}'])"
                          ).first.get_attribute("data-courier")
    stop.locator("select.move").select_option(target)
    page.wait_for_selector(f".route[data-courier='{target}'] li[data-identifier='{moved}']")
    assert page.locator(f".route[data-courier='{source}'] "
                        f"li[data-identifier='{moved}']").count() == 0
    assert "giờ đến đã tính lại" in page.inner_text("#plan-status")

    route = page.locator(f".route[data-courier='{target}']")
    second = route.locator("li.stop").nth(1).get_attribute("data-identifier")
    route.locator("li.stop").first.locator("button.down").click()
    page.wait_for_function(
        "([c, id]) => document.querySelector(`.route[data-courier='${c}'] li.stop`)"
        ".dataset.identifier === id", arg=[target, second])

    # a stop given to the courier whose vehicle takes nothing: the route says what is
    # wrong, in the page's language, and publishing asks first
    no_room = site["no_room"]
    assert page.locator(f".route[data-courier='{no_room}']").count() == 0
    movable = route.locator("li.stop:has(select.move:enabled)")
    extra = movable.last.get_attribute("data-identifier")
    loads = int(page.get_attribute("#day-updated", "data-loads"))
    movable.last.locator("select.move").select_option(str(no_room))
    issue = page.wait_for_selector(
        f".route.has-issues[data-courier='{no_room}'] ul.issues li[data-code=over_parcels]")
    assert issue.inner_text() == "⚠ Quá tải 1 bưu gửi (1/0)"
    assert issue.eval_on_selector("xpath=.", "e => e.children.length") == 0  # text only
    assert page.locator(f".route[data-courier='{no_room}'] "
                        f"li[data-identifier='{extra}']").count() == 1
    assert "vượt giới hạn" in page.inner_text("#plan-status")
    # the day's data, reloaded after the edit, brings the same plan back (on PostgreSQL
    # with its JSON keys in another order): what the status line says of the edit stays
    page.wait_for_function(
        "n => +document.getElementById('day-updated').dataset.loads > n", arg=loads)
    assert "vượt giới hạn" in page.inner_text("#plan-status")
    assert page.locator("#plan-status.bad").count() == 1
    issue.scroll_into_view_if_needed()
    shot(page, "console-plan-issues")
    asked: list[str] = []

    def answer(accept):
        def on_dialog(dialog):
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()
        return on_dialog

    page.once("dialog", answer(False))
    page.click("#publish")
    page.wait_for_function("document.querySelector('#plan-status').textContent "
                           "=== 'Chưa công bố.'")
    assert page.get_attribute("#plan-status", "data-status") == "succeeded"
    page.once("dialog", answer(True))
    page.click("#publish")
    page.wait_for_selector("#plan-status[data-status=published]")
    assert len(asked) == 2 and all("Vẫn công bố" in m for m in asked)
    page.wait_for_function("document.querySelectorAll('path.route-line').length > 0")
    assert page.locator("select.move").count() == 0  # a published plan is read-only
    # the issues stay in view on the published plan, now a route in force, with who
    # accepted them
    page.wait_for_selector(f".force-route[data-courier='{no_room}'] ul.issues "
                           "li[data-code=over_parcels]")
    assert page.inner_text(f".force-route[data-courier='{no_room}'] p.accepted").startswith(
        "Đã chấp nhận vượt giới hạn: dispatcher1, lúc ")
    # no draft any more (what the plan left out, if anything, is still listed)
    assert page.locator("#routes .route[data-courier]").count() == 0
    assert page.locator("#draft-heading").count() == 0
    shot(page, "console-published")
    assert page.js_errors == []


def test_a_second_click_while_an_edit_or_publish_is_on_its_way_sends_nothing(console, site):
    """A double click (or an impatient second click on a slow line) on the draft's
    controls or on publish: the second would be made from the same routes as the first
    (each edit sends every route) and silently undo it, and a second publish answers 409
    after the first succeeded, the status line then saying it failed."""
    page = console
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url.rsplit("/", 1)[-1])
            if r.method == "POST" and "/console/api/plans/" in r.url else None)
    page.fill("#time-limit", "1")
    page.click("#start-plan")
    page.wait_for_selector("#plan-status[data-status=succeeded]", timeout=40_000)
    first, second = (page.locator("#routes .route[data-courier]").nth(n) for n in (0, 1))
    a, b = first.get_attribute("data-courier"), second.get_attribute("data-courier")
    orders = {c: [li.get_attribute("data-identifier") for li in
                  page.locator(f".route[data-courier='{c}'] li.stop").all()] for c in (a, b)}
    # two reorders in one go, the second before the first is answered
    page.evaluate("""ids => ids.forEach(c => document.querySelector(
        `.route[data-courier='${c}'] li.stop button.down`).click())""", [a, b])
    page.wait_for_function("document.querySelector('#plan-status').textContent !== '…'")
    page.wait_for_timeout(500)
    assert sent == ["edit"]
    shown = [li.get_attribute("data-identifier") for li in
             page.locator(f".route[data-courier='{a}'] li.stop").all()]
    assert shown[:2] == orders[a][1::-1]  # the edit that was sent is the one shown

    page.once("dialog", lambda d: d.accept())  # the plan may have issues
    page.dblclick("#publish")
    page.wait_for_selector("#plan-status[data-status=published]")
    page.wait_for_timeout(500)
    assert sent == ["edit", "publish"]
    assert page.locator("#plan-status.bad").count() == 0
    assert page.js_errors == []


def test_a_refused_edit_says_why_and_puts_the_stop_back_on_its_courier(console, site):
    """A parcel of the draft was given by hand to another courier since: an edit keeping
    it on its route is refused (a 422 naming it); the status line gives the reason, not
    only "see errors", and a moved stop's select shows its courier again."""
    from api.items import service as items_service
    from models import User, db

    page = console
    page.fill("#time-limit", "1")
    page.click("#start-plan")
    page.wait_for_selector("#plan-status[data-status=succeeded]", timeout=40_000)
    stop = page.locator("#routes li.stop:has(select.move:enabled)").first
    given = stop.get_attribute("data-identifier")
    holder = page.locator(f"#routes .route[data-courier]:has(li[data-identifier='{given}'])"
                          ).get_attribute("data-courier")
    other = next(c for c in (r.get_attribute("data-courier") for r in
                             page.locator("#routes .route[data-courier]").all()) if c != holder)
    with site["app"].app_context():
        dispatcher = db.session.execute(db.select(User).where(
            User.username == "dispatcher1")).scalar_one()
        items_service.assign(db.session, dispatcher, given, int(other),
                             now=site["app"].config["CLOCK"]())
        db.session.commit()
        taker = db.session.get(User, int(other))
        taker_name = taker.full_name or taker.username
        db.session.remove()
    # any edit sends every route: this one keeps the parcel on its old courier's
    mine = page.locator(f"#routes .route[data-courier='{holder}'] li.stop").all()
    other_stop = next(li for li in mine if li.get_attribute("data-identifier") != given
                      and li.locator("select.move:enabled").count())
    other_stop.locator("select.move").select_option(other)
    page.wait_for_selector("#plan-status.bad")
    # the reason in the page's language, then the refused stops' own, in it too (naming
    # who has the parcel now)
    said = page.inner_text("#plan-status")
    assert said.startswith("Không sửa tuyến được") and (
        f"cho bưu tá {taker_name}") in said, said
    assert "courier" not in said, said
    moved = other_stop.get_attribute("data-identifier")
    again = page.locator(f"#routes li[data-identifier='{moved}']")
    assert again.locator("select.move").input_value() == holder
    assert page.js_errors == []


# each route in force: its stops, and those the planning form offers a box for (not
# what is out in the courier's bag, which a plan for the courier takes anyway)
DAY_JS = """async () => {
  const day = JSON.parse(document.getElementById('console-config').textContent).date;
  const r = await fetch('/console/api/day?date=' + day, {credentials: 'same-origin'});
  const data = await r.json();
  const boxed = new Set(data.items.filter(i => i.plannable).map(i => i.identifier));
  // routes with a parcel to tick first (in their order): which they are depends on the
  // hour the demo day was loaded at, how much is out already
  return data.in_force.routes.map(
    r => ({courier: r.courier_id, plan: r.plan_id, stops: r.stops.map(s => s.identifier),
           ticks: r.stops.map(s => s.identifier).filter(i => boxed.has(i))}))
    .sort((a, b) => (b.ticks.length > 0) - (a.ticks.length > 0));
}"""


PLAN_JS = """async id => {
  const r = await fetch('/console/api/plans/' + id, {credentials: 'same-origin'});
  return await r.json();
}"""


def test_a_plan_for_one_courier_keeps_the_others_routes_on_the_map(console, published_day):
    """Re-planning one courier's round takes over only their route: after publishing it
    the map still draws every other courier's route in force, from the earlier plan.
    While it is a draft, it is drawn dashed and the route it would replace faded."""
    page = console
    before = page.evaluate(DAY_JS)
    assert len(before) >= 2, before
    page.wait_for_function("n => document.querySelectorAll('path.route-line').length === n",
                           arg=len(before))
    first_plan = before[0]["plan"]
    mine = before[0]["courier"]
    # only that courier, and only the parcels of their round
    page.click("details:has(#item-checks) > summary")
    page.click("#items-none")
    for ident in before[0]["ticks"]:
        page.check(f"#item-checks input[value='{ident}']")
    # ticked too, another courier's parcel: not sent, it stays theirs
    others = before[1]["ticks"][0]
    page.check(f"#item-checks input[value='{others}']")
    for box in page.locator("#courier-checks input").all():
        box.set_checked(box.get_attribute("value") == str(mine))
    page.fill("#time-limit", "1")
    with page.expect_request(lambda r: r.url.endswith("/console/api/plans")
                             and r.method == "POST") as sent:
        page.click("#start-plan")
    assert sorted(sent.value.post_data_json["identifiers"]) == sorted(before[0]["ticks"])
    page.wait_for_selector("#plan-status[data-status=succeeded]", timeout=40_000)
    # the draft, dashed, over the routes in force; the one it would replace faded
    page.wait_for_selector("path.route-line.draft", state="attached")
    assert page.locator("path.route-line.draft").count() == 1
    assert page.locator(f"path.route-line.draft.courier-{mine}").count() == 1
    assert page.get_attribute("path.route-line.draft", "stroke-dasharray")
    assert page.locator("path.route-line.in-force").count() == len(before)
    assert page.locator("path.route-line.in-force.covered").count() == 1
    assert page.locator(f"path.route-line.in-force.covered.courier-{mine}").count() == 1
    assert page.locator("path.route-line.in-force:not([stroke-dasharray])").count() == len(before)
    # the side panel: every route in force, and the draft's routes apart, marked
    assert page.locator(".force-route").count() == len(before)
    assert page.inner_text("#in-force-count") == str(len(before))
    for r in before:
        assert page.locator(f".force-route[data-courier='{r['courier']}']"
                            f"[data-plan='{r['plan']}']").count() == 1
    covered = page.locator(".force-route.covered")
    assert covered.count() == 1 and covered.get_attribute("data-courier") == str(mine)
    assert "sẽ được thay nếu công bố kế hoạch #" in covered.inner_text()
    draft_id = page.inner_text("#draft-heading").rsplit("#", 1)[1]
    assert page.inner_text("#draft-heading") == f"Kế hoạch chưa công bố #{draft_id}"
    # it started from the courier's route in force, and says how much of it it kept
    result = page.evaluate(PLAN_JS, draft_id)["result"]
    assert result["warm_start"] == {"plan_ids": [first_plan], "stops": len(before[0]["stops"])}
    assert page.inner_text("#warm-start-info") == (
        f"Khởi đầu từ tuyến có sẵn: {len(before[0]['stops'])} điểm, theo kế hoạch "
        f"#{first_plan}")
    (route,) = result["routes"]
    assert route["previous_stops"] == len(before[0]["stops"])
    kept = page.locator(f"#routes .route[data-courier='{mine}'] p.kept")
    assert kept.inner_text() == (f"Giữ {route['kept_from_previous']}/"
                                 f"{route['previous_stops']} điểm của tuyến đang áp dụng")
    assert kept.evaluate("e => e.children.length") == 0  # text only
    assert [r.get_attribute("data-courier") for r in page.locator("#routes .route[data-courier]")
            .all()] == [str(mine)]
    shot(page, "console-draft-over-in-force")
    # the legend's checkboxes hide and show each kind
    page.uncheck("#show-in-force")
    assert page.locator("path.route-line.in-force").count() == 0
    assert page.locator("path.route-line.draft").count() == 1
    page.uncheck("#show-draft")
    assert page.locator("path.route-line").count() == 0
    page.check("#show-in-force")
    # the draft hidden, nothing is faded
    assert page.locator("path.route-line.in-force").count() == len(before)
    assert page.locator("path.route-line.covered").count() == 0
    page.check("#show-draft")
    assert page.locator("path.route-line.in-force.covered").count() == 1

    page.click("#publish")
    page.wait_for_selector("#plan-status[data-status=published]")
    after = page.evaluate(DAY_JS)
    by_courier = {r["courier"]: r["plan"] for r in after}
    second_plan = by_courier[mine]
    assert second_plan != first_plan
    assert {c: p for c, p in by_courier.items() if c != mine} == {
        r["courier"]: first_plan for r in before if r["courier"] != mine}
    # every courier's route in force is drawn, from the plan it comes from
    page.wait_for_function("n => document.querySelectorAll('path.route-line').length === n "
                           "&& !document.querySelector('path.route-line.draft')",
                           arg=len(after))
    for courier, plan in by_courier.items():
        assert page.locator(f"path.route-line.in-force.courier-{courier}.plan-{plan}"
                            ).count() == 1, (courier, plan)
    assert page.locator("path.route-line.covered").count() == 0
    # the panel lists every courier's route in force, each from its plan
    page.wait_for_function("n => document.querySelectorAll('.force-route').length === n",
                           arg=len(after))
    for courier, plan in by_courier.items():
        card = page.locator(f".force-route[data-courier='{courier}'][data-plan='{plan}']")
        assert card.count() == 1, (courier, plan)
        text = card.inner_text()
        assert f"theo kế hoạch #{plan} · công bố lúc " in text
        assert " điểm · " in text and " km" in text and "về bưu cục lúc " in text
    assert page.locator(".force-route.covered").count() == 0
    assert page.locator("#draft-heading").count() == 0
    shot(page, "console-partial-published")
    assert page.js_errors == []


ITEMS_JS = """async () => {
  const day = JSON.parse(document.getElementById('console-config').textContent).date;
  const r = await fetch('/console/api/day?date=' + day, {credentials: 'same-origin'});
  const data = await r.json();
  return {items: data.items.filter(i => i.plannable)
                 .map(i => ({identifier: i.identifier, courier: i.courier_id})),
          names: Object.fromEntries(data.couriers.map(c => [c.id, c.username]))};
}"""


def test_a_plan_for_some_couriers_says_which_ticked_parcels_it_leaves_out(
        console, published_day):
    """Ticked parcels that other couriers were given are not sent with a plan for some
    couriers (they stay theirs): the form says how many and which, with whose they
    are, as the choice changes, and still once the plan is made."""
    page = console
    day = page.evaluate(ITEMS_JS)
    names = {int(k): v for k, v in day["names"].items()}
    routes = page.evaluate(DAY_JS)
    mine, theirs = routes[0]["courier"], routes[1]["courier"]
    note = page.locator("#left-out-note")
    assert note.is_hidden()  # every courier chosen: nothing is left out

    def others(chosen):
        return [i for i in day["items"] if i["courier"] and i["courier"] not in chosen]

    # one courier chosen, every item ticked: the others' parcels are left out
    for box in page.locator("#courier-checks input").all():
        box.set_checked(box.get_attribute("value") == str(mine))
    left = others({mine})
    assert len(left) >= 2, left
    page.wait_for_selector("#left-out-note:not([hidden])")
    assert note.get_attribute("data-count") == str(len(left))
    text = note.inner_text()
    assert text.startswith(f"{len(left)} bưu gửi đã chọn thuộc bưu tá không có trong kế "
                           "hoạch nên không được đưa vào: "), text
    first = left[0]
    assert f"{first['identifier']} ({names[first['courier']]})" in text
    if len(left) > 5:
        assert text.endswith(f"và {len(left) - 5} bưu gửi khác")
    assert note.get_attribute("title").split("\n") == [
        f"{i['identifier']} ({names[i['courier']]})" for i in left]
    assert note.evaluate("e => e.children.length") == 0  # text only
    # another courier chosen too: their parcels are theirs to plan, no longer left out
    page.check(f"#courier-checks input[value='{theirs}']")
    assert note.get_attribute("data-count") == str(len(others({mine, theirs})))
    page.uncheck(f"#courier-checks input[value='{theirs}']")
    # an item unticked is not counted
    page.click("details:has(#item-checks) > summary")
    page.uncheck(f"#item-checks input[value='{first['identifier']}']")
    left = left[1:]
    assert note.get_attribute("data-count") == str(len(left))
    assert first["identifier"] not in note.get_attribute("title")

    page.fill("#time-limit", "0.5")
    with page.expect_request(lambda r: r.url.endswith("/console/api/plans")
                             and r.method == "POST") as sent:
        page.click("#start-plan")
    body = sent.value.post_data_json
    assert body["courier_ids"] == [mine]
    ticked = {i["identifier"] for i in day["items"]} - {first["identifier"]}
    assert set(body["identifiers"]) == ticked - {i["identifier"] for i in left}
    page.wait_for_selector("#plan-status[data-status=succeeded]", timeout=40_000)
    # the plan is made: the note still says what it left out
    page.wait_for_function(f"{LOADS_JS} >= 2")
    assert note.is_visible() and note.get_attribute("data-count") == str(len(left))
    shot(page, "console-left-out")
    # every courier chosen again: nothing left out, no note
    for box in page.locator("#courier-checks input").all():
        box.check()
    assert note.is_hidden()
    assert page.js_errors == []


def test_a_plan_started_with_the_box_unticked_starts_cold(console, site, published_day):
    """Unticking "start from the routes in force" sends warm_start false: the plan
    starts from scratch, says so, and still says how much of each round it kept. A
    plan stored before warm starts (no figures) shows none."""
    from models import RoutePlan, db

    page = console
    routes = page.evaluate(DAY_JS)
    mine = routes[0]["courier"]
    page.click("details:has(#item-checks) > summary")
    page.click("#items-none")
    for ident in routes[0]["ticks"]:
        page.check(f"#item-checks input[value='{ident}']")
    for box in page.locator("#courier-checks input").all():
        box.set_checked(box.get_attribute("value") == str(mine))
    page.uncheck("#warm-start")
    page.fill("#time-limit", "0.5")
    with page.expect_request(lambda r: r.url.endswith("/console/api/plans")
                             and r.method == "POST") as sent:
        page.click("#start-plan")
    assert sent.value.post_data_json["warm_start"] is False
    # parcels already given out stay with their couriers unless the box says otherwise
    assert sent.value.post_data_json["keep_assignments"] is True
    page.wait_for_selector("#plan-status[data-status=succeeded]", timeout=40_000)
    draft_id = page.inner_text("#draft-heading").rsplit("#", 1)[1]
    result = page.evaluate(PLAN_JS, draft_id)["result"]
    assert result["warm_start"] is None
    assert page.inner_text("#warm-start-info") == "Tối ưu từ đầu, không dựa trên tuyến nào"
    (route,) = result["routes"]
    assert route["previous_stops"] == len(routes[0]["stops"])
    assert page.inner_text(f"#routes .route[data-courier='{mine}'] p.kept") == (
        f"Giữ {route['kept_from_previous']}/{route['previous_stops']} điểm của tuyến đang "
        "áp dụng")
    shot(page, "console-cold-start")
    # the same draft as a plan made before warm starts stored it: no figures, no error
    with site["app"].app_context():
        plan = db.session.get(RoutePlan, int(draft_id))
        plan.result = {**{k: v for k, v in plan.result.items() if k != "warm_start"},
                       "routes": [{k: v for k, v in r.items()
                                   if k not in ("previous_stops", "kept_from_previous")}
                                  for r in plan.result["routes"]]}
        db.session.commit()
    page.evaluate("() => document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_selector("#warm-start-info", state="detached")
    assert page.locator("#routes .route p.kept").count() == 0
    assert page.locator(f"#routes .route[data-courier='{mine}'] li.stop").count() == len(
        routes[0]["stops"])
    # the box stays as the dispatcher left it until the page is loaded again
    assert not page.is_checked("#warm-start")
    page.check("#warm-start")
    page.click("#publish")
    page.wait_for_selector("#plan-status[data-status=published]")
    assert page.js_errors == []


def test_a_rebalancing_plan_sends_its_move_cost_and_says_what_moved(console, site,
                                                                   published_day):
    """The move cost box is live only with "may move" ticked: ticked, the plan is sent
    with keep_assignments false and the cost typed, and its draft says how many stops
    of the routes in force went to another courier, at what cost."""
    page = console
    routes = [r for r in page.evaluate(DAY_JS) if r["stops"]][:2]
    chosen = {r["courier"] for r in routes}
    page.click("details:has(#item-checks) > summary")
    page.click("#items-none")
    for route in routes:
        for ident in route["ticks"]:
            page.check(f"#item-checks input[value='{ident}']")
    for box in page.locator("#courier-checks input").all():
        box.set_checked(int(box.get_attribute("value")) in chosen)
    assert page.is_disabled("#move-cost")
    page.check("#rebalance")
    assert page.is_enabled("#move-cost") and page.input_value("#move-cost") == "2000"
    page.fill("#move-cost", "500")
    page.fill("#time-limit", "0.5")
    with page.expect_request(lambda r: r.url.endswith("/console/api/plans")
                             and r.method == "POST") as sent:
        page.click("#start-plan")
    body = sent.value.post_data_json
    assert body["keep_assignments"] is False and body["move_cost_m"] == 500
    page.wait_for_selector("#plan-status[data-status=succeeded]", timeout=40_000)
    draft_id = page.inner_text("#draft-heading").rsplit("#", 1)[1]
    result = page.evaluate(PLAN_JS, draft_id)["result"]
    assert result["move_cost_m"] == 500
    figures = result["stability"]
    assert page.inner_text("#moved-info") == (
        f"Chuyển {figures['moved']}/{figures['previous_stops']} điểm của các tuyến đang áp "
        "dụng sang bưu tá khác (chi phí chuyển 500 m)")
    page.uncheck("#rebalance")
    assert page.is_disabled("#move-cost")
    assert page.js_errors == []


def test_a_stop_given_to_another_courier_is_shown_apart_on_its_route_in_force(
        console, site, published_day):
    """A parcel the dispatcher gave another courier by hand after the route was
    published: the route's card lists it struck through, saying who has it now, and
    counts one stop less; its marker on the map is hollow."""
    from api.items import service as items_service
    from models import User, db

    page = console
    routes = [r for r in page.evaluate(DAY_JS) if len(r["stops"]) >= 2]
    assert len(routes) >= 2, routes
    route, other = routes[0], routes[1]
    ident = route["stops"][1]
    with site["app"].app_context():
        dispatcher = db.session.execute(db.select(User).where(
            User.username == "dispatcher1")).scalar_one()
        items_service.assign(db.session, dispatcher, ident, other["courier"],
                               now=site["app"].config["CLOCK"]())
        db.session.commit()
        name = db.session.get(User, other["courier"]).username
    page.goto(console_url(site), wait_until="domcontentloaded")
    card = page.locator(f".force-route[data-courier='{route['courier']}']")
    moved = card.locator(f"ul.moved-away li[data-identifier='{ident}']")
    moved.wait_for()
    assert moved.locator("s").inner_text() == ident
    assert f"nay thuộc {name}" in moved.inner_text()
    assert f" · {len(route['stops']) - 1} điểm · " in card.locator("h3").inner_text()
    assert page.locator(f"path.stop-marker.moved-away.courier-{route['courier']}"
                        ).count() == 1
    shot(page, "console-moved-away")
    assert page.js_errors == []


def test_a_stop_done_before_a_reoptimisation_is_grey_on_the_map_without_its_eta(
        console, site, published_day):
    """A stop the courier attempted (failed) before re-optimising their route: the map
    drew it as a stop still to make, at the ETA planned before. Its marker is small and
    grey now, and says it is done."""
    from models import User, db

    page = console
    route = next(r for r in page.evaluate(DAY_JS) if len(r["stops"]) >= 2)
    ident = route["stops"][0]
    with site["app"].app_context():
        name = db.session.get(User, route["courier"]).username
    phone = site["app"].test_client()
    token = phone.post("/api/v1/auth/token", json={"username": name, "password": "demo"}
                       ).json["access_token"]
    h = {"Authorization": f"Bearer {token}"}
    now = site["app"].config["CLOCK"]()
    for n, code in enumerate(("EDG", "EMH")):
        body = {"code": code, "client_event_id": f"done-on-the-map-{n}",
                "device_time": now.isoformat(), "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMH":
            body.update(reason="unreachable_by_phone", action="called_recipient")
        r = phone.post(f"/api/v1/items/{ident}/events", headers=h, json=body)
        assert r.status_code == 201, r.json
    r = phone.post("/api/v1/couriers/me/route/reoptimize", headers=h, json={
        "date": site["day"].isoformat(), "location": {"lat": 12.24, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert next(s for s in r.json["stops"] if s["identifier"] == ident)["done"]
    page.goto(console_url(site), wait_until="domcontentloaded")
    marker = page.locator(f"path.stop-marker.in-force.done.courier-{route['courier']}")
    marker.wait_for()
    assert marker.count() == 1
    marker.dispatch_event("mouseover")  # lines may lie over it
    assert f"{ident} · ✓ đã xong" in page.wait_for_selector(".leaflet-tooltip").inner_text()
    assert page.js_errors == []


def test_the_map_refreshes_itself_keeping_the_view_and_the_choices(
        console, site, published_day):
    """The day's data is polled (here every second: ?refresh=1): a change made elsewhere
    shows without a reload, the map's zoom and the user's unticked items stay, nothing
    is polled while the tab is hidden, and a failed poll is a quiet notice."""
    from models import User, db

    page = console
    day_requests: list[str] = []
    page.on("request", lambda r: day_requests.append(r.url) if "/console/api/day" in r.url
            else None)
    page.goto(console_url(site, refresh="1"), wait_until="domcontentloaded")
    page.wait_for_function(f"{LOADS_JS} >= 1")
    page.wait_for_selector(".force-route")
    # the user zooms in and unticks an item
    page.click(".leaflet-control-zoom-in")
    page.wait_for_timeout(400)
    pane = "document.querySelector('.leaflet-map-pane').style.transform"
    view = page.evaluate(pane)
    page.click("details:has(#item-checks) > summary")
    box = page.locator("#item-checks input").first
    unticked = box.get_attribute("value")
    box.uncheck()

    # elsewhere (another tab, an admin): a courier with a route in force is deactivated
    card = page.locator(".force-route").first
    gone = int(card.get_attribute("data-courier"))
    app = site["app"]
    with app.app_context():
        db.session.get(User, gone).active = False
        db.session.commit()
    loads = page.evaluate(LOADS_JS)
    page.wait_for_selector(f".force-route[data-courier='{gone}'] .inactive-courier")
    assert page.evaluate(LOADS_JS) > loads
    name = page.inner_text(f".force-route[data-courier='{gone}'] .name")
    assert name.endswith("(bưu tá đã ngừng hoạt động)"), name
    # still drawn in its colour, not grey
    colour = page.get_attribute(f"path.route-line.in-force.courier-{gone}", "stroke")
    assert colour and colour.lower() not in ("#777", "#777777")
    assert page.evaluate(pane) == view  # the zoom and pan stay
    assert not page.is_checked(f"#item-checks input[value='{unticked}']")
    assert page.locator(f"#courier-checks input[value='{gone}']").count() == 1  # as loaded
    shot(page, "console-refreshed-deactivated")

    # the rate stays modest: one request a second at most, one at a time
    day_requests.clear()
    page.wait_for_timeout(3000)
    assert 1 <= len(day_requests) <= 4, day_requests

    # hidden: no polling; visible again: at once
    page.evaluate("""() => {
      Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});
      document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(300)
    day_requests.clear()
    page.wait_for_timeout(2500)
    assert day_requests == []
    page.evaluate("""() => {
      Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});
      document.dispatchEvent(new Event('visibilitychange'));
    }""")
    page.wait_for_timeout(300)
    assert len(day_requests) == 1

    # the server cannot be reached: a notice, no dialog; it goes once a poll succeeds
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.route("**/console/api/day*", lambda route: route.abort())
    page.wait_for_selector("#stale-notice:not([hidden])")
    assert "Không tải lại được dữ liệu" in page.inner_text("#stale-notice")
    assert page.locator(".force-route").count() > 0  # what was shown stays
    shot(page, "console-stale")
    page.unroute("**/console/api/day*")
    page.wait_for_selector("#stale-notice", state="hidden")
    assert dialogs == []
    assert page.js_errors == []


def test_item_timeline_and_a_complaint_case(console, site):
    page = console
    page.click("#nav-items")
    page.fill("input[name=number]", site["delivered"])
    page.click("#item-search button")
    page.wait_for_selector("#timeline")
    assert page.inner_text("#item-status") == "Đã giao thành công"
    assert "EMI" in page.inner_text("#timeline")
    images = page.locator("img.evidence")
    assert images.count() >= 2
    page.wait_for_function("[...document.querySelectorAll('img.evidence')]"
                           ".every(i => i.complete && i.naturalWidth > 0)")
    page.wait_for_selector("#trail-map.leaflet-container")
    assert page.locator("#trail-map path.attempt-marker").count() >= 1
    shot(page, "console-item")

    if not page.eval_on_selector("#complaint-form", "f => f.closest('details').open"):
        page.click("details:has(#complaint-form) > summary")  # closed when cases exist
    page.select_option("#complaint-form select[name=category]", "false_attempt")
    page.fill("#complaint-form textarea", "Khách báo không ai đến giao.")
    page.click("#complaint-form button[type=submit]")
    page.wait_for_selector("#complaint-ref")
    ref = page.inner_text("#complaint-ref").split(" ")[0]
    assert re.fullmatch(r"KN[0-9A-F]{8}", ref)
    page.click("#nav-complaints")
    page.wait_for_selector("#queue")
    row = page.locator("#queue tr", has_text=ref)
    assert row.count() == 1 and "còn lại" in row.locator("td.sla").inner_text()
    shot(page, "console-complaints")
    assert page.js_errors == []


def test_language_switch_and_the_other_pages(console):
    page = console
    assert page.inner_text("#nav-map") == "Bản đồ & lập tuyến"
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=en]")
    assert page.inner_text("#nav-map") == "Map & planning"
    assert page.inner_text("#nav-complaints") == "Complaints"
    page.click("#nav-quality")
    page.wait_for_function("document.querySelectorAll('canvas').length === 4 && "
                           "[...document.querySelectorAll('canvas')].every(c => c.width > 0)")
    assert "On-time rate" in page.inner_text("#kpis")
    shot(page, "console-quality")
    page.click("#nav-cash")
    page.wait_for_selector("#cash-report")  # count() doesn't wait for the new page
    assert page.locator("#cash-report").count() == 1
    page.click("#nav-payouts")
    page.wait_for_selector("#payouts")  # the demo's payouts, due today
    assert page.locator("#payouts tbody tr").count() >= 1
    assert "Waiting for a courier" in page.inner_text("#payouts")
    shot(page, "console-payouts")
    page.click("#lang-switch")
    page.wait_for_selector("html[lang=vi]")
    assert page.inner_text("#nav-map") == "Bản đồ & lập tuyến"
    assert page.js_errors == []


def test_csv_import_shows_row_errors(console, tmp_path):
    from scanning.s10 import s10_check_digit

    good = f"EE{'12345670'}{s10_check_digit('12345670')}VN"
    csv = ("identifier,product,sender_name,recipient_name,recipient_phone,"
           "recipient_address,recipient_city,recipient_province,weight_g\n"
           f"{good},ems,Shop,An,0912345678,1 Yersin,Nha Trang,Khánh Hòa,500\n"
           "EE123456789VN,ems,Shop,An,0912345678,1 Yersin,Nha Trang,Khánh Hòa,-1\n")
    path = tmp_path / "items.csv"
    path.write_text(csv, encoding="utf-8")
    page = console
    page.click("#nav-import")
    page.set_input_files("#import-form input[type=file]", str(path))
    page.click("#import-form button[type=submit]")
    page.wait_for_selector("#import-result")
    assert page.inner_text("#import-created") == "1"
    assert page.inner_text("#import-failed") == "1"
    assert page.locator("#import-errors tbody tr").count() >= 1
    shot(page, "console-import")


def test_logout(console, site):
    page = console
    page.click("#logout")
    page.wait_for_selector("#login-form")
    page.goto(f"{site['url']}/console/cash", wait_until="domcontentloaded")
    assert "/console/login" in page.url


def test_tracking_page_on_a_phone_with_a_complaint(browser, site):
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True,
                                  has_touch=True, locale="vi-VN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(f"{site['url']}/track/{site['delivered']}", wait_until="load")
    assert page.inner_text("#status") == "Đã giao thành công"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scroll
    assert len(requests) == 1  # the page is one request: inline CSS, no script
    page.click("#complaint summary")
    page.fill("#complaint input[name=phone]", site["delivered_phone"])
    page.select_option("#complaint select[name=category]", "damaged")
    page.fill("#complaint textarea[name=description]", "Hộp bị móp khi nhận.")
    page.click("#complaint button[type=submit]")
    page.wait_for_selector("#complaint-reference")
    assert re.fullmatch(r"KN[0-9A-F]{8}", page.inner_text("#complaint-reference"))
    shot(page, "track-phone")
    page.click("text=English")
    page.wait_for_selector("html[lang=en]")  # a new page: #status is on the old one too
    assert page.inner_text("#status") == "Delivered"
    context.close()


@pytest.fixture(scope="module")
def prefixed(live: dict[str, Any]) -> Iterator[str]:
    """The live server's app served again under a path prefix (``/postal``), as behind a
    proxy that passes the path on (docs/deployment.md, "Serving under a path prefix");
    its root URL."""
    from werkzeug.exceptions import NotFound
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, DispatcherMiddleware(NotFound(), {
        "/postal": live["app"]}), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/postal"
    server.shutdown()
    thread.join(5)
    server.server_close()


def test_the_console_works_under_a_path_prefix(tab, site, prefixed):
    """Under ``/postal`` the login, its redirect and every request the console's script
    makes (the day's data, positions) stay under the prefix: the script fetched
    ``/console/api/day`` from the host's root, and the map stayed empty."""
    page = tab
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.goto(f"{prefixed}/console/", wait_until="domcontentloaded")
    assert page.url.startswith(f"{prefixed}/console/login")
    log_in_to_the_map(page)
    assert page.url.startswith(f"{prefixed}/console/")
    host = prefixed.removesuffix("/postal")  # (the tiles' server is another)
    local = [u for u in asked if u.startswith(f"{host}/")]
    assert local and all(u.startswith(f"{prefixed}/") for u in local), local
    assert any("/postal/console/api/day" in u for u in local)
    assert page.js_errors == []
