"""Many requests writing at once (publishes, assignments, events, syncs, new items): each
gets an answer that says what happened (2xx, or a 4xx naming the conflict), never a 500,
on SQLite's file database as on PostgreSQL; and how SQLite's single writer is shared
(api/__init__.py, ``_sqlite_pragmas``): a write waits its turn, up to the busy timeout,
then the request is a 503 to retry."""

from __future__ import annotations

import itertools
import random
import sqlite3
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.engine import make_url

from models import Item, ItemAssignment, Office, Role, db
from tests.api.test_route_plans import plan_body, wait_for
from tests.conftest import PG_URL, item_payload

ids = (f"stress-{n:07d}" for n in itertools.count())
T0 = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)


@pytest.fixture
def office(make_office):
    return make_office(lat=12.2450, lon=109.1940)


def test_requests_writing_at_once_get_answers_not_500s(app, client, auth, make_user, office,
                                                        make_item):
    dispatcher = make_user(Role.DISPATCHER, office)
    couriers = [make_user(Role.COURIER, office, vehicle_capacity_parcels=40,
                          vehicle_capacity_kg=80.0) for _ in range(3)]
    items = []
    for i in range(18):
        rcpt = {"name": "Lê Văn Tám", "address": "1 Yersin", "city": "Nha Trang",
                "province": "Khánh Hòa", "lat": 12.238 + 0.003 * (i % 5),
                "lon": 109.185 + 0.002 * (i // 5)}
        items.append(make_item(office, events=("EMG",), recipient=rcpt))
    idents = [i.identifier for i in items]
    h = auth(dispatcher)
    urls = [client.post("/api/v1/route-plans", json=plan_body(time_limit_s=0.2),
                        headers=h).headers["Location"] for _ in range(3)]
    for u in urls:
        wait_for(client, h, u, {"succeeded"})
    heads = [auth(c) for c in couriers]
    courier_ids = [c.id for c in couriers]
    dh = [auth(dispatcher) for _ in range(4)]
    answers: list[tuple[str, int, object]] = []
    lock = threading.Lock()
    start = threading.Barrier(9)
    office_id = office.id

    def note(what, r):
        with lock:
            answers.append((what, r.status_code, r.json))

    def publisher(n):
        with app.test_client() as c:
            start.wait(10)
            note("publish", c.post(f"{urls[n]}/publish", headers=dh[n]))

    def assigner(seed):
        rnd = random.Random(seed)
        with app.test_client() as c:
            start.wait(10)
            for _ in range(12):
                note("assign", c.post(f"/api/v1/items/{rnd.choice(idents)}/assign",
                                      headers=dh[2 + seed],
                                      json={"courier_id": rnd.choice(courier_ids)}))

    def courier_work(seed):
        rnd = random.Random(seed)
        with app.test_client() as c:
            start.wait(10)
            for n in range(8):
                ident = rnd.choice(idents)
                t = (T0 + timedelta(minutes=n)).isoformat()
                body = {"code": "EDG", "client_event_id": next(ids), "device_time": t}
                if n % 2:
                    note("event", c.post(f"/api/v1/items/{ident}/events", json=body,
                                         headers=heads[seed]))
                else:
                    batch = [{"kind": "event", "identifier": i, **body,
                              "client_event_id": next(ids)} for i in rnd.sample(idents, 3)]
                    note("sync", c.post("/api/v1/sync", headers=heads[seed],
                                        json={"events": batch}))

    def creator(seed):
        with app.test_client() as c:
            start.wait(10)
            for _ in range(8):
                note("create", c.post("/api/v1/items", headers=dh[seed],
                                      json=item_payload(office_id=office_id)))

    threads = [threading.Thread(target=publisher, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=creator, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=assigner, args=(n,)) for n in range(2)]
    threads += [threading.Thread(target=courier_work, args=(n,)) for n in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    bad = [(what, status, body) for what, status, body in answers if status >= 500]
    assert bad == [], bad
    seen = Counter((what, status) for what, status, _ in answers)
    assert sum(seen.values()) == 2 + 2 * 8 + 2 * 12 + 3 * 8, seen
    assert seen[("publish", 200)] == 2, seen
    assert seen[("sync", 200)] == 3 * 4, seen
    db.session.expire_all()
    # every item has exactly one holder or none, as its open assignment says
    for item in db.session.query(Item).all():
        open_ = db.session.execute(select(ItemAssignment.courier_id).where(
            ItemAssignment.item_id == item.id, ItemAssignment.ended_at.is_(None))).scalars()
        assert list(open_) == ([item.courier_id] if item.courier_id else [])


sqlite_only = pytest.mark.skipif(PG_URL is not None, reason="SQLite's locking")


@sqlite_only
def test_a_transaction_a_savepoint_opens_waits_for_the_write_lock(app, make_office):
    """A savepoint outside a transaction (``begin_nested``) opens it. Were it deferred,
    its first write after a read could not wait for another writer: "database is
    locked" at once, whatever the busy timeout. It takes the write lock first and keeps
    it; the other writer waits its turn."""
    office_id = make_office().id
    read, written = threading.Event(), threading.Event()
    failures: list[BaseException] = []

    def first():
        with app.app_context():
            try:
                with db.session.begin_nested():
                    db.session.execute(select(Office.name)).all()
                    read.set()
                    written.wait(0.5)  # the other one writes now, or waits for us
                    db.session.execute(update(Office).values(name="first"))
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
                read.set()

    def second():
        assert read.wait(10)
        with app.app_context():
            try:
                db.session.execute(update(Office).values(name="second"))
                db.session.commit()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)
            written.set()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert failures == []
    db.session.expire_all()
    assert db.session.get(Office, office_id).name == "second"  # it waited for the first


def test_a_released_savepoint_is_undone_with_its_transaction(app, make_office):
    # on SQLite, releasing the savepoint that opened the transaction used to commit it
    with db.session.begin_nested():
        db.session.add(Office(code="SAVEPT", name="Kept?", city="Nha Trang",
                              province="Khánh Hòa", lat=12.2, lon=109.2))
    db.session.rollback()
    assert db.session.execute(select(Office).where(Office.code == "SAVEPT")).first() is None


@sqlite_only
def test_a_write_kept_waiting_past_the_busy_timeout_is_a_503(app, auth, make_user, office,
                                                             make_item, clock):
    from api import create_app

    assert db.session.execute(text("PRAGMA busy_timeout")).scalar() == 15_000
    courier = make_user(Role.COURIER, office)
    item = make_item(office, events=("EMG",))
    h = auth(make_user(Role.DISPATCHER, office))
    impatient = create_app({**{k: app.config[k] for k in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "CLOCK", "SECRET_KEY", "PHOTO_DIR",
        "RATELIMIT_STORAGE_URI")}, "SQLITE_BUSY_TIMEOUT_S": 0.2})
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process in the middle of a long write
    try:
        with impatient.test_client() as c:
            r = c.post(f"/api/v1/items/{item.identifier}/assign", headers=h,
                       json={"courier_id": courier.id})
            assert r.status_code == 503, r.json
            assert r.headers["Retry-After"] == "2"
            assert r.mimetype == "application/problem+json"
            assert r.json["type"] == "/problems/database-busy"
            # a request whose transaction a savepoint opens (BEGIN IMMEDIATE) too
            r = c.post("/api/v1/items", headers=h, json=item_payload(office_id=office.id))
            assert r.status_code == 503, r.json
            assert r.json["type"] == "/problems/database-busy"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    with impatient.test_client() as c:  # the same request again, the lock gone
        r = c.post(f"/api/v1/items/{item.identifier}/assign", headers=h,
                   json={"courier_id": courier.id})
        assert r.status_code == 200, r.json
    with impatient.app_context():
        db.engine.dispose()


@sqlite_only
def test_a_busy_database_delays_a_plan_job_but_does_not_fail_it(app, make_user, office,
                                                                make_item, clock,
                                                                monkeypatch):
    # a plan job saved its progress and its result with plain commits: another writer
    # holding SQLite's lock past the busy timeout (a long import) failed a search of
    # minutes with "OperationalError: database is locked"
    from api import create_app
    from api.route_plans import service
    from models import PlanStatus, RoutePlan
    from tests.api.test_route_plans import service_input

    dispatcher = make_user(Role.DISPATCHER, office)
    make_user(Role.COURIER, office)
    for i in range(3):
        make_item(office, events=("EMG",), recipient={
            "name": "Lê Văn Tám", "address": "1 Yersin", "city": "Nha Trang",
            "province": "Khánh Hòa", "lat": 12.238 + 0.003 * i, "lon": 109.185})
    plan_id = service.create_plan(db.session, dispatcher, service_input(),
                                  now=clock()).id
    db.session.commit()
    impatient = create_app({**{k: app.config[k] for k in (
        "TESTING", "SQLALCHEMY_DATABASE_URI", "CLOCK", "SECRET_KEY", "PHOTO_DIR",
        "RATELIMIT_STORAGE_URI")}, "SQLITE_BUSY_TIMEOUT_S": 0.2})
    path = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).database
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    real, released = service.routing.solve, threading.Event()
    releaser = threading.Thread(target=lambda: (released.wait(0.5),
                                                holder.execute("ROLLBACK")))

    def solve(problem, params, *, progress=None, **kw):
        holder.execute("BEGIN IMMEDIATE")
        try:
            progress(1234.0, 0.1)  # kept waiting past the timeout: skipped, no exception
        finally:
            holder.execute("ROLLBACK")
        result = real(problem, params, **kw)
        holder.execute("BEGIN IMMEDIATE")  # busy when the result is stored, for a while
        releaser.start()
        return result

    monkeypatch.setattr(service.routing, "solve", solve)
    try:
        with impatient.app_context():
            service.run(db.session, plan_id, clock=clock)
            db.engine.dispose()
    finally:
        released.set()
        if releaser.is_alive():
            releaser.join()
        holder.close()
    db.session.expire_all()
    plan = db.session.get(RoutePlan, plan_id)
    assert plan.status is PlanStatus.SUCCEEDED, plan.error
    assert plan.result["routes"] and plan.progress == 1.0


def test_a_deadlock_postgresql_broke_is_a_503_to_send_again(client, auth, make_user, office,
                                                            make_item, monkeypatch):
    """PostgreSQL breaks a deadlock by rolling one transaction back ("deadlock
    detected", SQLSTATE 40P01): like SQLite's busy lock, nothing was stored and the same
    request goes through when sent again; it was a 500."""
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from api.items import service

    courier = make_user(Role.COURIER, office)
    item = make_item(office, events=("EMG",))
    h = auth(make_user(Role.DISPATCHER, office))
    real = service.assign

    def deadlocked(*args, **kwargs):
        real(*args, **kwargs)  # its changes made, then the transaction chosen as victim
        raise OperationalError("UPDATE items ...", {},
                               psycopg.errors.DeadlockDetected("deadlock detected"))

    monkeypatch.setattr(service, "assign", deadlocked)
    url = f"/api/v1/items/{item.identifier}/assign"
    r = client.post(url, headers=h, json={"courier_id": courier.id})
    assert r.status_code == 503, r.json
    assert r.json["type"] == "/problems/database-busy" and r.headers["Retry-After"] == "2"
    db.session.expire_all()
    assert db.session.get(Item, item.id).courier_id is None  # rolled back
    monkeypatch.setattr(service, "assign", real)
    assert client.post(url, headers=h, json={"courier_id": courier.id}).status_code == 200


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_full_database_disk_is_a_503_to_resend_not_a_500(client, auth, office, make_user,
                                                          make_item, monkeypatch, engine):
    """The database's disk full: "something went wrong on our side" (500) told the phone
    neither that its data was not stored nor to send it again. A 503 with Retry-After,
    nothing changed. SQLite's real error (a database file capped at its size)."""
    import psycopg.errors
    from sqlalchemy.exc import OperationalError

    from api.items import service

    if engine == "sqlite":
        full = sqlite3.connect(":memory:")
        full.execute("CREATE TABLE t (x BLOB)")
        full.execute("PRAGMA max_page_count = 2")
        with pytest.raises(sqlite3.OperationalError) as caught:
            for _ in range(10):
                full.execute("INSERT INTO t VALUES (zeroblob(4000))")
        cause: Exception = caught.value
    else:
        cause = psycopg.errors.DiskFull("could not extend file: No space left on device")
    courier = make_user(Role.COURIER, office)
    item = make_item(office, events=("EMG",))
    real = service.assign

    def no_room(*args, **kwargs):
        real(*args, **kwargs)
        raise OperationalError("INSERT INTO item_assignments ...", {}, cause)

    monkeypatch.setattr(service, "assign", no_room)
    r = client.post(f"/api/v1/items/{item.identifier}/assign",
                    headers=auth(make_user(Role.DISPATCHER, office)),
                    json={"courier_id": courier.id})
    assert r.status_code == 503, r.json
    assert r.json["type"] == "/problems/database-full" and r.headers["Retry-After"] == "300"
    db.session.expire_all()
    assert db.session.get(Item, item.id).courier_id is None  # rolled back
