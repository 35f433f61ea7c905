"""Route plans end to end: in-process jobs and RQ on the local Redis."""

from __future__ import annotations

import os
import time
import uuid

import pytest

from api import jobs
from api.route_plans import service
from models import Item, PlanStatus, Role, RoutePlan, db
from tests.conftest import at_once, when_both_arrive

REDIS = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def office(make_office):
    return make_office(lat=12.2450, lon=109.1940)


@pytest.fixture
def couriers(make_user, office):
    return [make_user(Role.COURIER, office, vehicle_capacity_parcels=30,
                      vehicle_capacity_kg=50.0) for _ in range(2)]


@pytest.fixture
def day_items(make_item, office):
    spots = [(12.238 + 0.003 * (i % 5), 109.185 + 0.002 * (i // 5)) for i in range(12)]
    items = []
    for lat, lon in spots:
        rcpt = {"name": "Lê Văn Tám", "address": "1 Yersin", "city": "Nha Trang",
                "province": "Khánh Hòa", "lat": lat, "lon": lon}
        items.append(make_item(office, events=("EMG",), recipient=rcpt))
    return items


def wait_for(client, h, url, statuses, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(url, headers=h).json
        if body["status"] in statuses:
            return body
        time.sleep(0.1)
    raise AssertionError(f"plan still {body['status']}")


def plan_body(**kw):
    body = {"date": "2026-11-20", "time_limit_s": 0.5}
    body.update(kw)
    return body


def test_plan_publish_and_courier_route_in_process(client, auth, dispatcher, couriers,
                                                   day_items):
    h = auth(dispatcher)
    r = client.post("/api/v1/route-plans", json=plan_body(), headers=h)
    assert r.status_code == 202, r.json
    assert r.json["stops"] == 12 and r.json["couriers"] == 2
    url = r.headers["Location"]
    done = wait_for(client, h, url, {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert done["progress"] == 1.0 and done["best_cost"] > 0
    routed = [s["identifier"] for r in done["result"]["routes"] for s in r["stops"]]
    assert sorted(routed) == sorted(i.identifier for i in day_items)
    assert done["result"]["unassigned"] == []
    for route in done["result"]["routes"]:
        etas = [s["eta"] for s in route["stops"]]
        assert etas == sorted(etas) and etas[0].startswith("2026-11-20T08")
        assert [s["sequence"] for s in route["stops"]] == list(range(1, len(etas) + 1))

    r = client.get(f"{url}/geojson", headers=h)
    assert r.mimetype == "application/geo+json"  # RFC 7946's type, for maps and GIS tools
    gj = r.json
    kinds = [f["properties"]["kind"] for f in gj["features"]]
    assert kinds.count("stop") == 12 and kinds.count("office") == 1
    assert kinds.count("route") == len(done["result"]["routes"])

    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200 and r.json["status"] == "published"
    by_courier = {r["courier_id"]: [s["identifier"] for s in r["stops"]]
                  for r in done["result"]["routes"]}
    for item in db.session.query(Item).all():
        assert item.courier_id is not None
        assert item.identifier in by_courier[item.courier_id]

    courier = next(c for c in couriers if c.id in by_courier)
    mine = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(courier))
    assert mine.status_code == 200
    assert [s["identifier"] for s in mine.json["stops"]] == by_courier[courier.id]
    assert all(s["still_yours"] and s["status"] == "at_delivery_office"
               for s in mine.json["stops"])
    assert client.get("/api/v1/couriers/me/route?date=2026-11-21",
                      headers=auth(courier)).status_code == 404


def test_pinned_items_stay_with_their_courier(client, auth, dispatcher, couriers, make_item,
                                              office, day_items):
    pinned = make_item(office, courier=couriers[1], events=("EMG",))
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded", "failed"})
    owner = [r["courier_id"] for r in done["result"]["routes"]
             for s in r["stops"] if s["identifier"] == pinned.identifier]
    assert owner == [couriers[1].id]


def test_unplannable_input_is_422(client, auth, dispatcher, couriers, day_items, make_user,
                                  make_office, make_item, office):
    h = auth(dispatcher)
    make_item(office)  # accepted, not at the delivery office yet
    for body, pointer in [
        (plan_body(shift_start_s=10 * 3600, shift_end_s=9 * 3600), "/shift_end_s"),
        (plan_body(time_limit_s=1000), "/time_limit_s"),
        (plan_body(date="tomorrow"), "/date"),
        (plan_body(date="9999-12-31"), "/date"),  # ETAs would leave the calendar
        (plan_body(date="0001-01-01"), "/date"),
        (plan_body(office_id=1.9), "/office_id"),  # not office 1
        (plan_body(shift_start_s=28800.99), "/shift_start_s"),
        (plan_body(courier_ids=[couriers[0].id + 0.5]), "/courier_ids/0"),
        (plan_body(courier_ids=[make_user(Role.COURIER, make_office()).id]), "/courier_ids"),
        # a plan of parcels not to deliver (delivered, not at the office yet) handed
        # nothing over, yet published it took every courier's route in force
        (plan_body(statuses=["delivered"]), "/statuses/0"),
        (plan_body(statuses=["at_delivery_office", "accepted"]), "/statuses/1"),
        # JSON booleans only: "no" was read as false (a rebalancing plan), "yes" as true
        (plan_body(keep_assignments="no"), "/keep_assignments"),
        (plan_body(warm_start=0), "/warm_start"),
    ]:
        r = client.post("/api/v1/route-plans", json=body, headers=h)
        assert r.status_code == 422, body
        assert pointer in [e["pointer"] for e in r.json["errors"]]
    r = client.post("/api/v1/route-plans", json=plan_body(statuses=["held_at_office"]),
                    headers=h)
    assert r.status_code == 422 and r.json["type"] == "/problems/nothing-to-plan"
    assert db.session.query(RoutePlan).count() == 0


def test_publish_before_done_and_cancel(client, auth, dispatcher, couriers, day_items, app,
                                        clock):
    h = auth(dispatcher)
    # a plan whose job never runs (queued)
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    url = f"/api/v1/route-plans/{plan.id}"
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 409 and r.json["current_status"] == "queued"
    assert client.post(f"{url}/cancel", headers=h).json["status"] == "cancelled"
    assert client.post(f"{url}/cancel", headers=h).status_code == 409


def service_input(**kw):
    from datetime import date

    data = {"date": date(2026, 11, 20), "shift_start_s": 8 * 3600, "shift_end_s": 17 * 3600,
            "time_limit_s": 0.5}
    data.update(kw)
    return data


def test_chosen_items_are_looked_up_as_everywhere_else(dispatcher, couriers, day_items,
                                                        clock):
    # lower case and spaces, as typed: the same items (they matched nothing before)
    chosen = [i.identifier for i in day_items[:3]]
    typed = [f" {c[:2].lower()} {c[2:11]} {c[11:].lower()} " for c in chosen]
    plan = service.create_plan(db.session, dispatcher, service_input(identifiers=typed),
                               now=clock())
    assert sorted(s["id"] for s in plan.problem["stops"]) == sorted(chosen)


def test_a_courier_who_carries_nothing_is_given_no_stops(client, auth, dispatcher, couriers,
                                                         day_items, make_user, office, clock):
    # a stored capacity of 0 (the model and the solver take it: carries nothing) became
    # the default 60 parcels / 80 kg through `or`, and the courier was given stops
    empty = make_user(Role.COURIER, office, vehicle_capacity_parcels=0, vehicle_capacity_kg=5)
    weightless = make_user(Role.COURIER, office, vehicle_capacity_parcels=20,
                           vehicle_capacity_kg=0.0)
    plan = service.create_plan(db.session, dispatcher, service_input(
        courier_ids=[empty.id, weightless.id, couriers[0].id]), now=clock())
    db.session.rollback()
    caps = {c["id"]: c["capacity"] for c in plan.problem["couriers"]}
    assert caps[str(empty.id)] == {"parcels": 0, "weight_g": 5000}
    assert caps[str(weightless.id)] == {"parcels": 20, "weight_g": 0}
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(
        courier_ids=[empty.id, weightless.id, couriers[0].id]), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert {r["courier_id"] for r in done["result"]["routes"]} == {couriers[0].id}


def test_a_dead_worker_is_reported_not_lost(client, auth, dispatcher, couriers, day_items,
                                            clock):
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    plan.status, plan.heartbeat_at = PlanStatus.RUNNING, clock()
    db.session.commit()
    h = auth(dispatcher)
    url = f"/api/v1/route-plans/{plan.id}"
    assert client.get(url, headers=h).json["status"] == "running"
    clock.advance(minutes=5)  # the worker stopped beating
    body = client.get(url, headers=h).json
    assert body["status"] == "failed" and "stopped" in body["error"]


def test_a_result_stored_while_a_reader_finds_the_heartbeat_stale_stays(
        client, auth, dispatcher, couriers, day_items, clock, monkeypatch):
    # the reader decided "failed" on the row it read without a lock; the worker, late
    # but alive, stored its result before the reader wrote: the plan read failed, with
    # its result attached
    from sqlalchemy import update

    from models import RoutePlan

    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    plan.status, plan.heartbeat_at = PlanStatus.RUNNING, clock()
    db.session.commit()
    plan_id, real_lock = plan.id, service.lock_plan
    clock.advance(minutes=5)

    def worker_stores_first(session, pid):
        with db.engine.begin() as conn:  # the worker's own transaction
            conn.execute(update(RoutePlan).where(RoutePlan.id == pid).values(
                status=PlanStatus.SUCCEEDED, progress=1.0, finished_at=clock()))
        return real_lock(session, pid)

    monkeypatch.setattr(service, "lock_plan", worker_stores_first)
    body = client.get(f"/api/v1/route-plans/{plan_id}", headers=auth(dispatcher)).json
    assert body["status"] == "succeeded" and body["error"] is None


def test_failed_solve_is_recorded(app, dispatcher, couriers, day_items, clock, monkeypatch):
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()

    def boom(*a, **k):
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(service.routing, "solve", boom)
    service.run(db.session, plan.id, clock=clock)
    db.session.refresh(plan)
    assert plan.status is PlanStatus.FAILED and "RuntimeError" in plan.error


def test_no_feasible_plan_yet_is_no_best_cost_not_infinity(client, auth, app, dispatcher,
                                                            couriers, day_items, clock,
                                                            monkeypatch):
    # the solver reports an infinite best cost until it has a feasible plan; stored as
    # is, the plan's JSON said "best_cost": Infinity, which JSON parsers refuse
    import json
    import math

    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    seen = []
    real = service.routing.solve

    def solve(problem, params, *, progress=None, **kw):
        progress(math.inf, 0.1)  # no feasible plan yet
        seen.append(client.get(f"/api/v1/route-plans/{plan.id}",
                               headers=auth(dispatcher)).get_data(as_text=True))
        return real(problem, params, progress=progress, **kw)

    monkeypatch.setattr(service.routing, "solve", solve)
    service.run(db.session, plan.id, clock=clock)

    def strict(text):
        return json.loads(text, parse_constant=lambda c: pytest.fail(f"not JSON: {c}"))

    assert strict(seen[0])["best_cost"] is None
    done = client.get(f"/api/v1/route-plans/{plan.id}", headers=auth(dispatcher))
    assert strict(done.get_data(as_text=True))["best_cost"] > 0


@pytest.mark.parametrize("ended", ["stale", "cancelled"])
def test_a_job_ending_after_its_plan_stopped_running_leaves_it_so(
        client, auth, app, dispatcher, couriers, day_items, clock, monkeypatch, ended):
    # a plan marked failed (no heartbeat for two minutes) or cancelled while its solver
    # gave no progress (the single-route search before its first feasible route) was
    # overwritten with "succeeded" when the job finished, or its search ran on
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    h = auth(dispatcher)
    url = f"/api/v1/route-plans/{plan.id}"
    real, beats = service.routing.solve, []

    def solve(problem, params, *, progress=None, **kw):
        assert client.get(url, headers=h).json["status"] == "running"
        if ended == "stale":
            clock.advance(minutes=5)  # the job's first heartbeat comes too late
            assert client.get(url, headers=h).json["status"] == "failed"
        else:
            assert client.post(f"{url}/cancel", headers=h).status_code == 200

        def counted(cost, elapsed):
            beats.append(cost)
            progress(cost, elapsed)

        return real(problem, params, progress=counted, **kw)

    monkeypatch.setattr(service.routing, "solve", solve)
    service.run(db.session, plan.id, clock=clock)
    body = client.get(url, headers=h).json
    assert body["status"] == ("failed" if ended == "stale" else "cancelled"), body
    assert body["result"] is None and body["progress"] < 1.0
    assert len(beats) == 1  # the job stopped at its first progress report


def test_a_solver_failing_after_a_cancel_leaves_the_plan_cancelled(
        client, auth, dispatcher, couriers, day_items, clock, monkeypatch):
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    h = auth(dispatcher)
    url = f"/api/v1/route-plans/{plan.id}"

    def solve(*a, **k):
        assert client.post(f"{url}/cancel", headers=h).status_code == 200
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(service.routing, "solve", solve)
    service.run(db.session, plan.id, clock=clock)
    body = client.get(url, headers=h).json
    assert body["status"] == "cancelled" and body["error"] is None


def test_a_cancel_as_the_job_starts_is_not_overwritten(app, auth, dispatcher, couriers,
                                                      day_items, clock):
    # the job read its plan queued without a lock; a cancel committed before the job
    # wrote "running" over it, so the dispatcher was told "cancelled" and the plan went
    # on to be solved and stored as succeeded
    import threading

    from sqlalchemy import event

    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    plan_id, h, answers, fired = plan.id, auth(dispatcher), [], []
    url = f"/api/v1/route-plans/{plan_id}"
    db.session.remove()  # the job reads the plan afresh, as a worker does

    def cancel():
        with app.test_client() as c:
            answers.append(c.post(f"{url}/cancel", headers=h).status_code)

    canceller = threading.Thread(target=cancel)

    def cancel_as_it_is_read(target, context):
        if not fired:  # the job's read of its plan: the dispatcher cancels right then
            fired.append(True)
            canceller.start()
            canceller.join(2)  # done at once, unless the job's read holds the plan locked

    event.listen(RoutePlan, "load", cancel_as_it_is_read)
    try:
        service.run(db.session, plan_id, clock=clock)
    finally:
        event.remove(RoutePlan, "load", cancel_as_it_is_read)
    canceller.join(30)
    assert answers == [200]
    body = app.test_client().get(url, headers=h).json
    assert body["status"] == "cancelled" and body["result"] is None, body


def test_best_cost_is_documented_as_what_it_is(client):
    # the API documentation called best_cost the "best distance (m)": while a plan runs
    # it is the solver's objective, which adds a penalty for each stop left unserved
    spec = client.get("/api/v1/openapi.json").json
    text = spec["components"]["schemas"]["Plan"]["properties"]["best_cost"]["description"]
    assert "unserved" in text and "penalty" in text and "distance" in text
    import pathlib

    api_md = (pathlib.Path(__file__).parents[2] / "docs" / "api.md").read_text()
    row = next(line for line in api_md.splitlines() if "GET /api/v1/route-plans/{id}`" in line)
    assert "penalty" in row and "unserved" in row


def test_other_offices_plans_are_invisible(client, auth, dispatcher, couriers, day_items, clock,
                                           make_user, make_office):
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    stranger = make_user(Role.DISPATCHER, make_office())
    for path in ("", "/geojson"):
        r = client.get(f"/api/v1/route-plans/{plan.id}{path}", headers=auth(stranger))
        assert r.status_code == 404
    assert client.get(f"/api/v1/route-plans/{plan.id}",
                      headers=auth(couriers[0])).status_code == 404


@pytest.fixture
def redis_queue(app):
    redis = pytest.importorskip("redis")
    conn = redis.Redis.from_url(REDIS)
    try:
        conn.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip(f"no Redis at {REDIS} (.ci/run starts one)")
    from rq import Queue

    name = f"{jobs.QUEUE}-{uuid.uuid4().hex[:6]}"
    app.config["REDIS_URL"] = REDIS
    jobs_queue = jobs.QUEUE
    jobs.QUEUE = name
    jobs.set_worker_app(app)
    yield Queue(name, connection=conn)
    jobs.QUEUE = jobs_queue
    jobs.set_worker_app(None)
    Queue(name, connection=conn).empty()


def test_plan_runs_on_rq_when_redis_is_configured(client, auth, dispatcher, couriers, day_items,
                                                  redis_queue):
    from rq import SimpleWorker

    h = auth(dispatcher)
    r = client.post("/api/v1/route-plans", json=plan_body(), headers=h)
    assert r.status_code == 202
    plan_id = r.json["id"]
    assert len(redis_queue) == 1  # queued on Redis, not run in a thread
    assert client.get(f"/api/v1/route-plans/{plan_id}", headers=h).json["status"] == "queued"
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    body = client.get(f"/api/v1/route-plans/{plan_id}", headers=h).json
    assert body["status"] == "succeeded" and len(body["result"]["routes"]) >= 1


def test_a_plan_cancelled_while_queued_leaves_the_queue(client, auth, dispatcher, couriers,
                                                        day_items, redis_queue):
    h = auth(dispatcher)
    plan_id = client.post("/api/v1/route-plans", json=plan_body(), headers=h).json["id"]
    assert len(redis_queue) == 1
    r = client.post(f"/api/v1/route-plans/{plan_id}/cancel", headers=h)
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert len(redis_queue) == 0  # no worker takes it only to find nothing to do
    assert client.get(f"/api/v1/route-plans/{plan_id}", headers=h).json["status"] == "cancelled"


def test_the_rq_worker_loads_the_routing_kernels_before_it_forks_its_jobs(redis_queue):
    # a plain rq worker forked every job from a process that had never loaded them: each
    # job's solve paid for PyVRP and the compiled kernels out of its own budget
    import subprocess
    import sys

    code = ("import sys, redis; from api.rqworker import RoutingWorker\n"
            "assert 'pyvrp' not in sys.modules\n"
            f"RoutingWorker(['{jobs.QUEUE}'], connection=redis.Redis.from_url('{REDIS}'))\n"
            "from routing import tsptw\n"
            "assert 'pyvrp' in sys.modules and tsptw.warm_up() == 0.0\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def test_rq_job_that_failed_in_the_queue_is_reported(client, auth, dispatcher, couriers,
                                                     day_items, redis_queue, monkeypatch):
    from rq import SimpleWorker

    h = auth(dispatcher)
    plan_id = client.post("/api/v1/route-plans", json=plan_body(), headers=h).json["id"]

    def killed(*a, **k):  # the job dies before it can record anything
        raise SystemError("worker killed")

    monkeypatch.setattr(service, "run", killed)
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    body = client.get(f"/api/v1/route-plans/{plan_id}", headers=h).json
    assert body["status"] == "failed" and "failed" in body["error"]


def test_rq_job_that_ended_without_solving_its_plan_is_reported(
        client, auth, dispatcher, couriers, day_items, redis_queue, monkeypatch):
    # a worker on another database (started without the app's DATABASE_URL, or another
    # deployment's sharing the Redis) takes the job, finds no such plan and ends: RQ says
    # finished, and the plan stayed queued for ever
    from rq import SimpleWorker

    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    monkeypatch.setattr(service, "run", lambda session, plan_id, **kw: service._plan_gone(
        plan_id))
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    body = client.get(url, headers=h).json
    assert body["status"] == "failed", body
    assert "ended without solving it" in body["error"] and "DATABASE_URL" in body["error"]
    # a job that solved its plan ended as well: the plan is what it stored
    monkeypatch.undo()
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    assert client.get(url, headers=h).json["status"] == "succeeded"


@pytest.mark.parametrize("death", ["stopped_beating", "expired"])
def test_an_rq_job_whose_worker_died_before_it_started_the_plan_is_reported_failed(
        client, auth, dispatcher, couriers, day_items, redis_queue, clock, death):
    # QA: a worker killed after it took the job, before the job marked its plan running:
    # RQ keeps the job "started" until another worker's cleanup fails it after the job
    # timeout, so with no other worker the plan stayed "queued" for ever
    from rq import Worker
    from rq.job import Job
    from rq.utils import utcformat

    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    waiting = client.post("/api/v1/route-plans", json=plan_body(),
                          headers=h).headers["Location"]  # no free worker for it
    conn = redis_queue.connection
    worker = Worker([redis_queue], connection=conn)
    worker.register_birth()
    try:
        job = Job.fetch(redis_queue.pop_job_id(), connection=conn)
        worker.prepare_job_execution(job)  # what a worker does as it takes a job …
        # … and then it is killed. Its times are set on the app's clock:
        conn.hset(job.key, "started_at", utcformat(clock()))
        conn.hset(worker.key, "last_heartbeat", utcformat(clock()))
        assert Job.fetch(job.id, connection=conn).get_status() == "started"
        assert client.get(url, headers=h).json["status"] == "queued"
        clock.advance(minutes=5)
        conn.hset(worker.key, "last_heartbeat", utcformat(clock()))
        # a worker still beating is slow, not dead: left to RQ's own job timeout
        assert client.get(url, headers=h).json["status"] == "queued"
        clock.advance(minutes=3)
        if death == "expired":  # the worker's key expired (RQ gives it 90 s a beat)
            conn.delete(worker.key)
        body = client.get(url, headers=h).json
        assert body["status"] == "failed", body
        assert "stopped before it started" in body["error"], body
        # a plan whose job waits in the queue for a free worker is not failed
        assert client.get(waiting, headers=h).json["status"] == "queued"
    finally:
        worker.register_death()


def test_a_plan_queued_on_rq_is_failed_once_the_app_runs_without_a_queue(
        app, client, auth, dispatcher, couriers, day_items, redis_queue, clock):
    # queued on RQ, then the app was restarted without REDIS_URL: nothing could see or
    # run its job any more, and the plan stayed "queued" for ever
    from rq import SimpleWorker

    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    assert len(redis_queue) == 1
    app.config["REDIS_URL"] = None  # restarted without it
    # a worker still on that Redis takes a fresh job soon: not failed at once
    assert client.get(url, headers=h).json["status"] == "queued"
    clock.advance(minutes=5)
    body = client.get(url, headers=h).json
    assert body["status"] == "failed", body
    assert "REDIS_URL" in body["error"] and "start a new plan" in body["error"], body
    # such a worker that takes it later finds the plan failed and leaves it so
    SimpleWorker([redis_queue], connection=redis_queue.connection).work(burst=True)
    after = client.get(url, headers=h).json
    assert (after["status"], after["error"], after["result"]) == ("failed", body["error"], None)
    # a plan a worker was already running is followed by its heartbeat, not failed
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    plan.job_id, plan.status = "0c1d2e3f-rq-job", PlanStatus.RUNNING
    plan.started_at = plan.heartbeat_at = clock()
    db.session.commit()
    clock.advance(minutes=1)
    assert client.get(f"/api/v1/route-plans/{plan.id}", headers=h).json["status"] == "running"
    clock.advance(minutes=2)
    body = client.get(f"/api/v1/route-plans/{plan.id}", headers=h).json
    assert body["status"] == "failed" and "stopped before it finished" in body["error"]


def test_a_queued_plan_whose_rq_job_is_gone_from_redis_is_reported_failed(
        client, auth, dispatcher, couriers, day_items, redis_queue, clock):
    # Redis emptied, or restarted without its data: no worker will ever take the job
    from rq.job import Job

    h = auth(dispatcher)
    queued = client.post("/api/v1/route-plans", json=plan_body(), headers=h).json["id"]
    running = client.post("/api/v1/route-plans", json=plan_body(), headers=h).json["id"]
    plan = db.session.get(RoutePlan, running)  # as a worker marks the plan it took
    plan.status, plan.started_at = PlanStatus.RUNNING, clock()
    plan.heartbeat_at = clock()
    db.session.commit()
    for plan_id in (queued, running):
        Job.fetch(db.session.get(RoutePlan, plan_id).job_id,
                  connection=redis_queue.connection).delete()
    body = client.get(f"/api/v1/route-plans/{queued}", headers=h).json
    assert body["status"] == "failed", body
    assert body["error"] == ("The job of this plan is no longer in the queue (Redis was "
                             "emptied or lost its data); start a new plan.")
    # the worker running the other may still be solving it: its heartbeat tells
    url = f"/api/v1/route-plans/{running}"
    assert client.get(url, headers=h).json["status"] == "running"
    clock.advance(minutes=3)  # it stopped beating
    body = client.get(url, headers=h).json
    assert body["status"] == "failed" and "stopped before it finished" in body["error"]


def test_courier_reoptimizes_from_where_they_stand(client, auth, dispatcher, couriers,
                                                   day_items, clock, full_proof):
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(courier_ids=[couriers[0].id]),
                      headers=h).headers["Location"]
    wait_for(client, h, url, {"succeeded"})
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    ch = auth(couriers[0])
    route = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=ch).json
    order = [s["identifier"] for s in route["stops"]]
    assert len(order) == 12
    # the courier goes out and delivers the first two stops
    for n, ident in enumerate(order[:2]):
        for code in ("EDG", "EMI"):
            body = {"code": code, "client_event_id": f"reopt-{n}-{code}",
                    "device_time": "2026-11-20T09:00:00+07:00",
                    "location": {"lat": 12.24, "lon": 109.19}}
            if code == "EMI":
                body["proof"] = full_proof(next(i for i in day_items if i.identifier == ident))
            r = client.post(f"/api/v1/items/{ident}/events", headers=ch, json=body)
            assert r.status_code == 201, r.json
    clock.advance(hours=2)  # 10:00 in Viet Nam
    heading_to = order[-1]
    typed = " ".join([heading_to[:2].lower(), heading_to[2:5], heading_to[5:11],
                      heading_to[11:].lower()])  # as a courier types it: normalised
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 12.2500, "lon": 109.1900},
        "keep_next": typed})
    assert r.status_code == 200, r.json
    new = [s["identifier"] for s in r.json["stops"]]
    assert new[:2] == order[:2]  # done stops stay where they were
    assert new[2] == heading_to
    assert sorted(new[2:]) == sorted(order[2:])
    assert all(s["eta"] >= "2026-11-20T10:00" for s in r.json["stops"][2:])
    # what the courier fetches next is the new order
    again = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=ch).json
    assert [s["identifier"] for s in again["stops"]] == new
    bad = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19},
        "keep_next": order[0]})
    assert bad.status_code == 422
    bad = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 95, "lon": 109.19}})
    assert bad.status_code == 422


def test_a_courier_cannot_hold_every_web_thread_with_reoptimizations(
        app, client, auth, dispatcher, couriers, day_items):
    # each re-optimisation solves for about 1 s in a web thread, with no limit: one
    # courier's phone sending 40 at once kept a dispatcher's request waiting 21 s
    app.config["REOPTIMIZE_RATE_LIMIT"] = "3 per minute"
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    wait_for(client, h, url, {"succeeded"})
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    body = {"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}}
    first, other = auth(couriers[0]), auth(couriers[1])
    for _ in range(3):
        assert client.post("/api/v1/couriers/me/route/reoptimize", headers=first,
                           json=body).status_code == 200
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=first, json=body)
    assert r.status_code == 429 and r.json["type"] == "/problems/rate-limited"
    assert int(r.headers["Retry-After"]) >= 1
    # per courier: the others are not held up by it (200, or 404 with no route)
    assert client.post("/api/v1/couriers/me/route/reoptimize", headers=other,
                       json=body).status_code in (200, 404)


def test_a_reoptimized_route_starts_where_the_courier_stood(client, auth, dispatcher,
                                                            couriers, day_items, office, clock,
                                                            full_proof):
    # the GeoJSON line of every route started at the office, also for a route re-planned
    # from the courier's position; the result JSON did not say where a route starts
    h = auth(dispatcher)
    url, done = published_plan(client, h, courier_ids=[couriers[0].id])
    home = [office.lon, office.lat]
    (route,) = done["result"]["routes"]
    assert route["start_location"] == {"lat": office.lat, "lon": office.lon}
    line = next(f for f in client.get(f"{url}/geojson", headers=h).json["features"]
                if f["properties"]["kind"] == "route")["geometry"]["coordinates"]
    assert line == [home, *([s["lon"], s["lat"]] for s in route["stops"]), home]

    ch = auth(couriers[0])
    first = route["stops"][0]["identifier"]
    for code in ("EDG", "EMI"):
        body = {"code": code, "client_event_id": f"geoline-{code}",
                "device_time": "2026-11-20T09:00:00+07:00",
                "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMI":
            body["proof"] = full_proof(next(i for i in day_items if i.identifier == first))
        r = client.post(f"/api/v1/items/{first}/events", headers=ch, json=body)
        assert r.status_code == 201, r.json
    clock.advance(hours=2)  # 10:00 in Viet Nam
    here = {"lat": 12.2500, "lon": 109.1900}
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch,
                    json={"date": "2026-11-20", "location": here})
    assert r.status_code == 200, r.json
    assert r.json["start"].startswith("2026-11-20T10:00")  # the new route starts now
    (stored,) = client.get(url, headers=h).json["result"]["routes"]
    assert stored["start_location"] == here
    line = next(f for f in client.get(f"{url}/geojson", headers=h).json["features"]
                if f["properties"]["kind"] == "route")["geometry"]["coordinates"]
    ahead = [[s["lon"], s["lat"]] for s in stored["stops"][1:]]  # the delivered one is behind
    assert len(ahead) == 11
    # the other eleven parcels are still at the office (only the first went out): the
    # courier passes by it to load them before the next stop
    assert stored["office_visit"]["before_sequence"] == 2
    assert r.json["office_visit"] == stored["office_visit"]
    assert line == [[here["lon"], here["lat"]], home, *ahead, home]
    # the plan's result names nothing its OpenAPI document does not (a client generated
    # from it, strict about unknown keys, failed on start_location and office_visit)
    result = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Plan"][
        "properties"]["result"]["properties"]
    documented = result["routes"]["items"]["properties"]
    assert set(stored) <= set(documented), set(stored) - set(documented)
    assert set(stored["office_visit"]) == set(documented["office_visit"]["properties"])
    assert set(stored["start_location"]) == set(documented["start_location"]["properties"])
    assert set(client.get(url, headers=h).json["result"]) <= set(result)


def test_a_reoptimized_route_is_summed_over_the_stops_ahead(client, auth, dispatcher,
                                                            couriers, day_items, clock,
                                                            full_proof):
    # after a re-optimisation the stored route kept the original plan's duration,
    # lateness, parcels and weight (only distance, start and end were the new route's)
    from datetime import datetime

    h = auth(dispatcher)
    url, done = published_plan(client, h, courier_ids=[couriers[0].id])
    (route,) = done["result"]["routes"]
    assert route["parcels"] == 12
    ch = auth(couriers[0])
    delivered = [s["identifier"] for s in route["stops"][:3]]
    for n, ident in enumerate(delivered):
        for code in ("EDG", "EMI"):
            body = {"code": code, "client_event_id": f"sums-{n}-{code}",
                    "device_time": "2026-11-20T09:00:00+07:00",
                    "location": {"lat": 12.24, "lon": 109.19}}
            if code == "EMI":
                body["proof"] = full_proof(next(i for i in day_items if i.identifier == ident))
            r = client.post(f"/api/v1/items/{ident}/events", headers=ch, json=body)
            assert r.status_code == 201, r.json
    clock.advance(hours=2)  # 10:00 in Viet Nam
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch,
                    json={"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}})
    assert r.status_code == 200, r.json
    (stored,) = client.get(url, headers=h).json["result"]["routes"]
    ahead = [s for s in stored["stops"] if not s.get("done") and not s.get("unplaced")]
    assert len(ahead) == 9
    weight = {i.identifier: i.weight_g for i in day_items}
    assert stored["parcels"] == 9
    assert stored["weight_g"] == sum(weight[s["identifier"]] for s in ahead)
    assert stored["lateness_s"] == sum(s["lateness_s"] for s in ahead)
    span = datetime.fromisoformat(stored["end"]) - datetime.fromisoformat(stored["start"])
    assert stored["duration_s"] == span.total_seconds()
    assert stored["start"].startswith("2026-11-20T10:00")

    # after the shift nothing is planned ahead: nothing is counted
    clock.advance(hours=8)  # 18:00 in Viet Nam
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch,
                    json={"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert all(s.get("done") or s.get("unplaced") for s in r.json["stops"])
    (stored,) = client.get(url, headers=h).json["result"]["routes"]
    assert (stored["distance_m"], stored["duration_s"], stored["lateness_s"],
            stored["parcels"], stored["weight_g"]) == (0, 0, 0, 0, 0)


def test_dispatcher_moves_and_reorders_stops_then_publishes(client, auth, dispatcher, couriers,
                                                            day_items):
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    order = {r["courier_id"]: [s["identifier"] for s in r["stops"]]
             for r in done["result"]["routes"]}
    everything = [i for ids in order.values() for i in ids]
    a, b = couriers[0].id, couriers[1].id
    # all stops to courier a, reversed, except one moved to b and one taken off
    moved, dropped = everything[0], everything[1]
    rest = [i for i in everything if i not in (moved, dropped)][::-1]
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a, "identifiers": [i.lower() for i in rest]},
        {"courier_id": b, "identifiers": [moved]}]})
    assert r.status_code == 200, r.json
    res = r.json["result"]
    new = {rt["courier_id"]: [s["identifier"] for s in rt["stops"]] for rt in res["routes"]}
    assert new == {a: rest, b: [moved]}
    etas = [s["eta"] for s in res["routes"][0]["stops"]]
    assert etas == sorted(etas)
    assert [u["identifier"] for u in res["unassigned"]] == [dropped]
    assert res["unassigned"][0]["reason"] == "left_out_by_dispatcher"
    assert res["edited_by"] == dispatcher.username
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a, "identifiers": [moved]}, {"courier_id": a, "identifiers": [dropped]}]})
    assert r.json["errors"] == [{"pointer": "/routes/1/courier_id",
                                 "detail": "Already given a route above."}]
    for bad in ({"routes": [{"courier_id": 999, "identifiers": [moved]}]},
                {"routes": [{"courier_id": a, "identifiers": [moved]},  # the last would win
                            {"courier_id": a, "identifiers": [dropped]}]},
                {"routes": [{"courier_id": a + 0.9, "identifiers": [moved]}]},
                {"routes": [{"courier_id": a, "identifiers": [moved, moved]}]},
                {"routes": [{"courier_id": a, "identifiers": ["EE123456785VN"]}]},
                {"routes": "all to a"}):
        assert client.patch(url, headers=h, json=bad).status_code == 422, bad
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    assert db.session.get(Item, next(i.id for i in day_items if i.identifier == moved)
                          ).courier_id == b
    dropped_item = next(i for i in day_items if i.identifier == dropped)
    assert db.session.get(Item, dropped_item.id).courier_id is None
    r = client.patch(url, headers=h, json={"routes": []})
    assert r.status_code == 409  # published plans are not edited


def test_a_plan_made_before_one_published_since_is_not_published_over_it(
        client, auth, dispatcher, couriers, day_items, clock):
    """The morning's plan left open in a tab, published after the noon re-plan: it took
    the couriers' routes back, and what the re-plan had handed over and it had not
    was left on no route. Refused (409 plan-outdated), nothing changed; a plan for
    other couriers, or one made after, is published as ever."""
    a, b = couriers
    h = auth(dispatcher)
    morning = client.post("/api/v1/route-plans", json=plan_body(),
                          headers=h).headers["Location"]
    wait_for(client, h, morning, {"succeeded"})
    only_a = client.post("/api/v1/route-plans", json=plan_body(courier_ids=[a.id]),
                         headers=h).headers["Location"]
    wait_for(client, h, only_a, {"succeeded"})
    clock.advance(hours=4)
    noon, done = published_plan(client, h, courier_ids=[b.id])
    routed = {s["identifier"] for r in done["result"]["routes"] for s in r["stops"]}
    holders = {i.identifier: i.courier_id for i in day_items}
    db.session.expire_all()

    r = client.post(f"{morning}/publish", headers=h)
    assert r.status_code == 409 and r.json["type"] == "/problems/plan-outdated", r.json
    assert r.json["plan_ids"] == [int(noon.rsplit("/", 1)[1])]
    assert r.json["courier_ids"] == [b.id]
    assert client.get(morning, headers=h).json["status"] == "succeeded"
    assert client.get(noon, headers=h).json["status"] == "published"
    for it in day_items:
        db.session.refresh(it)
        assert it.courier_id == holders[it.identifier]
    assert all(holders[i] == b.id for i in routed)
    # a plan for the other courier only undoes nothing
    assert client.post(f"{only_a}/publish", headers=h).status_code == 200
    # one made after the noon plan takes over from it
    later, _ = published_plan(client, h)
    assert client.get(noon, headers=h).json["status"] == "superseded"


def published_plan(client, h, **kw):
    url = client.post("/api/v1/route-plans", json=plan_body(**kw), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    return url, done


def route_of(client, auth, courier):
    return client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(courier)).json


ROAD = {"date": "2026-11-20", "location": {"lat": 12.2630, "lon": 109.1940}}


def on_the_road_with_two_left(client, auth, dispatcher, courier, clock):
    """``courier``'s published route of the day's items, all but its last two taken out
    at 08:30, re-optimised at 10:00 from 2 km north of the office (``ROAD``): their
    headers, the route's order as published and the re-optimisation's response."""
    published_plan(client, auth(dispatcher), courier_ids=[courier.id])
    ch = auth(courier)
    order = [s["identifier"] for s in route_of(client, auth, courier)["stops"]]
    for n, ident in enumerate(order[:-2]):
        r = client.post(f"/api/v1/items/{ident}/events", headers=ch, json={
            "code": "EDG", "client_event_id": f"on-the-road-{n}",
            "device_time": "2026-11-20T08:30:00+07:00",
            "location": {"lat": 12.245, "lon": 109.194}})
        assert r.status_code == 201, r.json
    clock.advance(hours=2)  # 10:00 in Viet Nam
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=ROAD)
    assert r.status_code == 200, r.json
    return ch, order, r


def test_a_courier_on_the_road_passes_by_the_office_for_parcels_still_there(
        client, auth, dispatcher, couriers, day_items, clock):
    # the route's parcels the courier has not taken out are at the office: re-planned
    # from the road, the route went straight from the courier's position to them
    ch, order, r = on_the_road_with_two_left(client, auth, dispatcher, couriers[0], clock)
    left_behind = set(order[-2:])
    visit = r.json["office_visit"]
    assert visit is not None
    stops = r.json["stops"]
    assert sorted(s["identifier"] for s in stops) == sorted(order)
    before = {s["identifier"] for s in stops if s["sequence"] < visit["before_sequence"]}
    assert not before & left_behind  # loaded at the office: after it
    assert all(s["status"] == "out_for_delivery" for s in stops
               if s["identifier"] in before)
    first_after = next(s for s in stops if s["sequence"] == visit["before_sequence"])
    assert visit["arrival"] < visit["departure"] <= first_after["eta"]
    assert client.get("/api/v1/couriers/me/route?date=2026-11-20",
                      headers=ch).json["office_visit"] == visit
    # once they are taken out too, the route needs no pass by the office
    for n, ident in enumerate(sorted(left_behind)):
        assert client.post(f"/api/v1/items/{ident}/events", headers=ch, json={
            "code": "EDG", "client_event_id": f"road-late-{n}",
            "device_time": "2026-11-20T10:05:00+07:00",
            "location": {"lat": 12.245, "lon": 109.194}}).status_code == 201
        if n == 0:  # one parcel still waits there
            assert client.get("/api/v1/couriers/me/route?date=2026-11-20",
                              headers=ch).json["office_visit"] == visit
    # the pass by the office is behind them: their route stops sending them there
    # before they re-optimise (it stayed, and the phone led them back to load nothing)
    again = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=ch).json
    assert again["office_visit"] is None
    assert [s["identifier"] for s in again["stops"]] == [s["identifier"] for s in stops]
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=ROAD)
    assert r.status_code == 200, r.json
    assert r.json["office_visit"] is None


def test_a_courier_on_the_road_loads_in_the_time_their_plan_was_made_with(
        app, client, auth, dispatcher, couriers, day_items, clock):
    """Loading takes a base time and a time per parcel (POSTAL_OFFICE_LOAD_MINUTES,
    POSTAL_OFFICE_LOAD_SECONDS_PER_PARCEL): a re-optimisation times the pass by the
    office with the plan's, settings changed since or not; a plan stored before the
    time per parcel loads in its fixed time."""
    from datetime import datetime, timedelta

    from sqlalchemy.orm.attributes import flag_modified

    def load_time(visit):
        return (datetime.fromisoformat(visit["departure"])
                - datetime.fromisoformat(visit["arrival"]))

    app.config.update(OFFICE_LOAD_MINUTES=4, OFFICE_LOAD_SECONDS_PER_PARCEL=90)
    ch, order, r = on_the_road_with_two_left(client, auth, dispatcher, couriers[0], clock)
    # the two parcels left at the office: 4 minutes and 90 s each
    assert load_time(r.json["office_visit"]) == timedelta(minutes=4, seconds=2 * 90)
    plan = db.session.scalars(db.select(RoutePlan).filter_by(
        status=PlanStatus.PUBLISHED)).one()
    assert plan.problem["office"]["load_s"] == 240
    assert plan.problem["office"]["load_per_parcel_s"] == 90
    app.config.update(OFFICE_LOAD_MINUTES=30, OFFICE_LOAD_SECONDS_PER_PARCEL=0)
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=ROAD)
    assert r.status_code == 200, r.json
    assert load_time(r.json["office_visit"]) == timedelta(minutes=4, seconds=2 * 90)
    # stored before: no load_per_parcel_s, a fixed load_s (or none: the 10 minutes)
    for office, fixed in (({"load_s": 420}, timedelta(minutes=7)), ({}, timedelta(minutes=10))):
        stored = {k: v for k, v in plan.problem["office"].items()
                  if k not in ("load_s", "load_per_parcel_s")}
        plan.problem["office"] = {**stored, **office}
        flag_modified(plan, "problem")
        db.session.commit()
        r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=ROAD)
        assert r.status_code == 200, r.json
        assert load_time(r.json["office_visit"]) == fixed


def test_reoptimizing_never_loses_stops(client, auth, dispatcher, couriers, day_items, clock):
    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    before = [s["identifier"] for s in route_of(client, auth, couriers[0])["stops"]]
    assert len(before) == 12
    # "null island" from a phone without a fix: refused, the route is untouched
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 0, "lon": 0}})
    assert r.status_code == 422 and r.json["errors"][0]["pointer"] == "/location"
    assert [s["identifier"] for s in route_of(client, auth, couriers[0])["stops"]] == before
    # after the shift (17:00) nothing fits any more: the stops stay, unplaced
    clock.advance(hours=10)  # 18:00 in Viet Nam
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}})
    assert r.status_code == 200, r.json
    stops = r.json["stops"]
    assert sorted(s["identifier"] for s in stops) == sorted(before)
    assert all(s["eta"] is None and s["unplaced"]["reason"] for s in stops)
    assert [s["sequence"] for s in stops] == list(range(1, 13))
    # and the next call still has all of them to plan
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}})
    assert sorted(s["identifier"] for s in r.json["stops"]) == sorted(before)
    assert all(i.courier_id == couriers[0].id for i in db.session.query(Item).all())


def test_concurrent_reoptimizations_of_one_plan_are_all_kept(app, client, auth, dispatcher,
                                                             couriers, day_items, monkeypatch):
    import routing

    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    stops = [s["identifier"] for r in done["result"]["routes"] for s in r["stops"]]
    split = [{"courier_id": c.id, "identifiers": stops[n::2]} for n, c in enumerate(couriers)]
    assert client.patch(url, headers=h, json={"routes": split}).status_code == 200
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    # each request has read the plan before either solves and writes back
    monkeypatch.setattr(service.routing, "reoptimize",
                        when_both_arrive(routing.reoptimize, timeout=20))
    answers = at_once(app, *(
        lambda cl, h=auth(c): cl.post("/api/v1/couriers/me/route/reoptimize", headers=h,
                                      json={"date": "2026-11-20",
                                            "location": {"lat": 12.2385, "lon": 109.1855}})
        for c in couriers))
    assert [answers[n].status_code for n in range(2)] == [200, 200]
    plan = db.session.get(RoutePlan, done["id"])
    db.session.refresh(plan)
    stored = {r["courier_id"]: r for r in plan.result["routes"]}
    for n, c in enumerate(couriers):  # neither courier's new route was overwritten
        assert "reoptimized_at" in stored[c.id]
        assert [s["identifier"] for s in stored[c.id]["stops"]] == [
            s["identifier"] for s in answers[n].json["stops"]]


def test_an_edit_racing_a_publish_waits_and_is_refused(app, client, auth, dispatcher,
                                                       couriers, day_items, monkeypatch):
    import threading

    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    real = service._lock_day
    locked = threading.Event()

    def slow_lock(session, plan):
        plans = real(session, plan)
        if threading.current_thread().name == "publisher":
            locked.set()
            time.sleep(0.5)  # the publish holds the row while the edit arrives
        return plans

    monkeypatch.setattr(service, "_lock_day", slow_lock)
    swapped = [{"courier_id": r["courier_id"],
                "identifiers": [s["identifier"] for s in r["stops"]][::-1]}
               for r in done["result"]["routes"]]
    answers = {}

    def publish():
        with app.test_client() as c:
            answers["publish"] = c.post(f"{url}/publish", headers=h)

    t = threading.Thread(target=publish, name="publisher")
    t.start()
    assert locked.wait(20)
    with app.test_client() as c:
        answers["edit"] = c.patch(url, headers=h, json={"routes": swapped})
    t.join(30)
    assert answers["publish"].status_code == 200
    assert answers["edit"].status_code == 409, answers["edit"].json
    assert answers["edit"].json["current_status"] == "published"


def test_publishing_takes_left_out_items_from_their_courier(client, auth, dispatcher, couriers,
                                                           day_items, make_item, office):
    held = make_item(office, courier=couriers[1], events=("EMG",))  # given out earlier
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    routes = [{"courier_id": r["courier_id"],
               "identifiers": [s["identifier"] for s in r["stops"]
                               if s["identifier"] != held.identifier]}
              for r in done["result"]["routes"]]
    r = client.patch(url, headers=h, json={"routes": routes})
    assert [u["identifier"] for u in r.json["result"]["unassigned"]] == [held.identifier]
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    assert db.session.get(Item, held.id).courier_id is None
    assert all(db.session.get(Item, i.id).courier_id is not None for i in day_items)


def test_a_plan_for_some_couriers_leaves_the_others_the_parcels_it_does_not_route(
        client, auth, dispatcher, couriers, day_items, make_user, office):
    """A re-plan for one courier takes every plannable parcel of the office, among them
    those a published plan gave other couriers (the plan's to give). Those it did not
    route were taken from their courier too, to nobody: a plan for one courier stripped
    the others' routes in force of the parcels still waiting for them at the office."""
    h = auth(dispatcher)
    b = couriers[1]
    published_plan(client, h, courier_ids=[b.id])  # b's round: every parcel
    assert {db.session.get(Item, i.id).courier_id for i in day_items} == {b.id}
    small = make_user(Role.COURIER, office, vehicle_capacity_parcels=1)
    url, done = published_plan(client, h, courier_ids=[small.id])
    routed = {s["identifier"] for r in done["result"]["routes"] for s in r["stops"]}
    assert len(routed) == 1  # one parcel moved to the new courier, as the plan chose
    db.session.expire_all()
    holders = {i.identifier: db.session.get(Item, i.id).courier_id for i in day_items}
    assert holders == {i.identifier: small.id if i.identifier in routed else b.id
                       for i in day_items}
    # b's route in force still has them
    stops = route_of(client, auth, b)["stops"]
    assert {s["identifier"] for s in stops if s["still_yours"]} == set(holders) - routed


def test_two_plans_of_a_day_published_at_once_leave_one_published(
        app, client, auth, dispatcher, couriers, day_items, monkeypatch):
    import threading

    h = auth(dispatcher)
    idents = [i.identifier for i in day_items]
    urls = [client.post("/api/v1/route-plans", json=plan_body(identifiers=part),
                        headers=h).headers["Location"] for part in (idents[:6], idents[6:])]
    ids = [wait_for(client, h, u, {"succeeded"})["id"] for u in urls]
    # both publishes have taken their locks before either goes on, unless the first
    # one's locks hold the second back (then the first goes on alone after 2 s)
    real, barrier = service._lock_day, threading.Barrier(2)

    def lock_then_meet(session, plan):
        plans = real(session, plan)
        try:
            barrier.wait(timeout=2)
        except threading.BrokenBarrierError:
            pass
        return plans

    monkeypatch.setattr(service, "_lock_day", lock_then_meet)
    answers = at_once(app, *(lambda cl, u=u: cl.post(f"{u}/publish", headers=h) for u in urls))
    assert [a.status_code for a in answers] == [200, 200]
    db.session.expire_all()
    statuses = sorted(db.session.get(RoutePlan, i).status.value for i in ids)
    assert statuses == ["published", "superseded"]
    for c in couriers:  # the day has one route per courier, not a 500
        r = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(c))
        assert r.status_code in (200, 404), r.json


def test_a_day_that_is_over_is_not_reoptimized(client, auth, dispatcher, couriers,
                                               day_items, clock):
    """Re-optimising yesterday's route ran its clock past midnight: every stop lost its
    ETA as 'not reachable' and the day's record of the route was rewritten."""
    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[couriers[0].id])
    before = route_of(client, auth, couriers[0])
    where = {"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}}
    clock.advance(days=1)
    ch = auth(couriers[0])
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=where)
    assert r.status_code == 409 and r.json["type"] == "/problems/day-over", r.json
    assert route_of(client, auth, couriers[0]) == before
    # today's route, when there is one, is the courier's to re-optimise
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch,
                    json={"location": where["location"]})
    assert r.status_code == 404 and r.json["type"] == "/problems/no-route"


def test_a_day_to_come_is_not_reoptimized(client, auth, dispatcher, couriers, day_items,
                                          clock):
    """The evening before, from home: the clock stood at midnight and the position was
    stored as the route's start, so the next morning's route began at the courier's home."""
    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[couriers[0].id])
    before = route_of(client, auth, couriers[0])
    clock.advance(days=-1)
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(couriers[0]),
                    json={"date": "2026-11-20", "location": {"lat": 12.27, "lon": 109.2}})
    assert r.status_code == 409 and r.json["type"] == "/problems/day-not-started", r.json
    assert route_of(client, auth, couriers[0]) == before


def test_reoptimizing_replans_held_and_earlier_failed_items(client, auth, dispatcher, couriers,
                                                            day_items, make_item, office,
                                                            clock, full_proof):
    from api.items import service as items_service

    held = make_item(office, events=("EMG", "EDF"))
    clock.advance(days=-1)  # (a parcel that failed that day is done for it: not planned)
    failed = make_item(office, courier=couriers[0], events=("EMG", "EDG", "EMH"))  # earlier
    clock.advance(days=1)
    assert (held.status.value, failed.status.value) == ("held_at_office", "delivery_failed")
    clock.advance(hours=1)
    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    order = [s["identifier"] for s in route_of(client, auth, couriers[0])["stops"]]
    assert {held.identifier, failed.identifier} <= set(order) and len(order) == 14
    clock.advance(hours=1)
    where = {"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}}
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch,
                    json={**where, "keep_next": held.identifier})
    assert r.status_code == 200, r.json
    stops = r.json["stops"]
    # nothing is done yet: the held parcel goes first, every stop has a new ETA
    assert stops[0]["identifier"] == held.identifier
    assert all(s["eta"] is not None for s in stops)
    # the earlier-failed parcel fails again on this route: now it is done
    clock.advance(minutes=30)
    for code in ("EDG", "EMH"):
        payload = {"code": items_service.EventCode(code), "client_event_id": f"again-{code}",
                   "device_time": clock(), "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMH":
            payload.update(reason="recipient_absent", action="notice_left",
                           photo=full_proof(failed)["photo"])
        items_service.record_event(db.session, couriers[0], failed.identifier, payload,
                                   now=clock(), max_attempts=3)
    db.session.commit()
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=where)
    assert r.status_code == 200, r.json
    assert r.json["stops"][0]["identifier"] == failed.identifier  # kept where it was done
    bad = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch,
                      json={**where, "keep_next": failed.identifier})
    assert bad.status_code == 422


def test_a_rebalancing_plan_beyond_the_matrix_memory_is_made_without_matrices(
        client, auth, dispatcher, couriers, day_items, monkeypatch):
    import routing.solver

    h = auth(dispatcher)
    published_plan(client, h)  # every parcel given to a courier
    # room for one pair of matrices: a move cost by routing profiles needs one per
    # courier a parcel prefers, and one for the others. It was a 413; the solver now
    # makes each such parcel two alternatives (stays, or moves at the move cost)
    size = len(day_items) + 2  # stops, the office, the solver's extra row
    monkeypatch.setattr(routing.solver, "MATRIX_MEMORY_BUDGET", 2 * 8 * size * size * 3 // 2)
    r = client.post("/api/v1/route-plans", headers=h,
                    json=plan_body(keep_assignments=False, move_cost_m=50_000))
    assert r.status_code == 202, r.json
    done = wait_for(client, h, r.headers["Location"], {"succeeded"})
    stability = done["result"]["stability"]
    # at the largest move cost nothing that may stay moves
    assert stability["moved"] == 0 and stability["kept"] == stability["previous_stops"] > 0


def test_windows_over_midnight_are_cut_and_other_days_left_out_with_a_reason(
        client, auth, dispatcher, couriers, day_items, make_item, office):
    def window(start, end):
        return {"start": f"2026-11-{start}+07:00", "end": f"2026-11-{end}+07:00"}

    late = make_item(office, events=("EMG",), delivery_window=window("20T15:00:00",
                                                                     "21T01:00:00"))
    tomorrow = make_item(office, events=("EMG",), delivery_window=window("21T09:00:00",
                                                                         "21T10:00:00"))
    nowhere = make_item(office, events=("EMG",), recipient={
        "name": "Trần Thị B", "address": "2 Yersin", "city": "Nha Trang",
        "province": "Khánh Hòa"})
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    plan = db.session.get(RoutePlan, done["id"])
    stops = {s["id"]: s for s in plan.problem["stops"]}
    assert stops[late.identifier]["window"] == {"open_s": 15 * 3600, "close_s": 86_400}
    assert tomorrow.identifier not in stops and nowhere.identifier not in stops
    unassigned = {u["identifier"]: u["reason"] for u in done["result"]["unassigned"]}
    assert unassigned == {tomorrow.identifier: "window_not_on_this_day",
                          nowhere.identifier: "no_coordinates"}
    # said in Viet Nam time, as the day it is not on
    message = next(u["message"] for u in done["result"]["unassigned"]
                   if u["identifier"] == tomorrow.identifier)
    assert message == ("its delivery window (2026-11-21T09:00:00+07:00 to "
                       "2026-11-21T10:00:00+07:00) is not on 2026-11-20")
    eta = next(s["eta"] for r in done["result"]["routes"] for s in r["stops"]
               if s["identifier"] == late.identifier)
    assert eta >= "2026-11-20T15:00"  # not at 8 in the morning


def test_a_plan_the_queue_cannot_take_is_503_and_recorded_failed(app, client, auth, dispatcher,
                                                                  couriers, day_items, clock):
    app.config["REDIS_URL"] = "redis://127.0.0.1:1/0"  # nothing listens there
    h = auth(dispatcher)
    r = client.post("/api/v1/route-plans", json=plan_body(), headers=h)
    assert r.status_code == 503, r.json
    assert r.json["type"].endswith("/job-queue-unavailable") and r.headers["Retry-After"]
    body = client.get(f"/api/v1/route-plans/{r.json['plan_id']}", headers=h).json
    assert body["status"] == "failed" and "queue" in body["error"]  # not queued forever
    # a plan queued earlier, whose status Redis cannot tell now: shown as stored, no 500
    earlier = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    earlier.job_id = "0c1d2e3f-rq-job"
    db.session.commit()
    r = client.get(f"/api/v1/route-plans/{earlier.id}", headers=h)
    assert r.status_code == 200 and r.json["status"] == "queued"


def test_a_plan_whose_job_was_never_queued_is_reported_failed(client, auth, dispatcher,
                                                              couriers, day_items, clock):
    # the web process stopped between storing the plan and queueing its job
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    h = auth(dispatcher)
    url = f"/api/v1/route-plans/{plan.id}"
    assert client.get(url, headers=h).json["status"] == "queued"
    clock.advance(minutes=5)
    body = client.get(url, headers=h).json
    assert body["status"] == "failed" and "never reached" in body["error"]


def test_an_empty_selection_is_422_not_everything(client, auth, dispatcher, couriers, day_items):
    # "identifiers": [] (nothing ticked) planned every item of the office, and
    # "courier_ids": [] every courier: an empty list was read as "not given"
    h = auth(dispatcher)
    for field in ("identifiers", "courier_ids", "statuses"):
        r = client.post("/api/v1/route-plans", json=plan_body(**{field: []}), headers=h)
        assert r.status_code == 422, (field, r.json)
        assert [e["pointer"] for e in r.json["errors"]] == [f"/{field}"]
    assert db.session.query(RoutePlan).count() == 0


def test_chosen_identifiers_that_are_no_item_of_the_office_are_422(
        client, auth, dispatcher, couriers, day_items, make_item, make_office):
    # an unknown identifier, or another office's item, was dropped without a word: the
    # plan left out a parcel the dispatcher asked for and nobody was told
    foreign = make_item(make_office(), events=("EMG",))
    h = auth(dispatcher)
    mine = day_items[0].identifier
    for idents, bad in (([mine, "EE123456785VN"], 1), ([foreign.identifier, mine], 0)):
        r = client.post("/api/v1/route-plans", json=plan_body(identifiers=idents), headers=h)
        assert r.status_code == 422, r.json
        assert [e["pointer"] for e in r.json["errors"]] == [f"/identifiers/{bad}"]
    assert db.session.query(RoutePlan).count() == 0
    # the same item twice, as typed, is still one stop
    r = client.post("/api/v1/route-plans", json=plan_body(identifiers=[mine, mine.lower()]),
                    headers=h)
    assert r.status_code == 202 and r.json["stops"] == 1
    wait_for(client, h, r.headers["Location"], {"succeeded"})


def test_chosen_items_not_in_a_plannable_status_are_422_naming_it(
        client, auth, dispatcher, couriers, day_items, make_item, office):
    # a chosen item already delivered (or out with a courier the plan is not for) was
    # dropped from the plan without a word, as unknown identifiers were
    delivered = make_item(office, courier=couriers[0], events=("EMG", "EDG", "EMI"))
    out = make_item(office, courier=couriers[0], events=("EMG", "EDG"))
    h = auth(dispatcher)
    mine = day_items[0].identifier
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        courier_ids=[couriers[1].id],
        identifiers=[mine, delivered.identifier, "EE123456785VN", out.identifier.lower()]))
    assert r.status_code == 422, r.json
    errors = {e["pointer"]: e["detail"] for e in r.json["errors"]}
    assert list(errors) == ["/identifiers/1", "/identifiers/2", "/identifiers/3"]
    assert "delivered" in errors["/identifiers/1"]
    assert errors["/identifiers/2"] == "No item of this office."
    assert f"out for delivery with courier {couriers[0].id}" in errors["/identifiers/3"]
    assert db.session.query(RoutePlan).count() == 0
    # out with a courier of the plan: in their bag, so on their route
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        identifiers=[mine, out.identifier]))
    assert r.status_code == 202 and r.json["stops"] == 2, r.json
    done = wait_for(client, h, r.headers["Location"], {"succeeded"})
    assert [r["courier_id"] for r in done["result"]["routes"]
            for s in r["stops"] if s["identifier"] == out.identifier] == [couriers[0].id]
    # the statuses asked for are the plannable ones
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        identifiers=[mine, out.identifier], statuses=["at_delivery_office"]))
    assert [e["pointer"] for e in r.json["errors"]] == ["/identifiers/1"]
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        identifiers=[out.identifier], statuses=["out_for_delivery"]))
    assert r.status_code == 202 and r.json["stops"] == 1
    wait_for(client, h, r.headers["Location"], {"succeeded"})


def test_an_in_process_job_that_died_before_it_started_is_reported_failed(
        client, auth, dispatcher, couriers, day_items, clock, monkeypatch):
    # the RQ flavour of this is reported through RQ's job status; a thread job has no
    # such status, so a thread that died before it could mark the plan running (the
    # database unreachable, the process restarted) left the plan "queued" for ever
    started = []

    def killed(*a, **k):
        started.append(1)
        raise SystemError("database unreachable")

    monkeypatch.setattr(service, "run", killed)
    h = auth(dispatcher)
    r = client.post("/api/v1/route-plans", json=plan_body(), headers=h)
    assert r.status_code == 202
    deadline = time.monotonic() + 5
    while not started and time.monotonic() < deadline:
        time.sleep(0.05)
    url = r.headers["Location"]
    assert client.get(url, headers=h).json["status"] == "queued"  # not yet: it may start
    clock.advance(minutes=5)
    body = client.get(url, headers=h).json
    assert body["status"] == "failed" and "start a new plan" in body["error"]


def test_publishing_to_a_courier_no_longer_active_here_is_409(client, auth, dispatcher,
                                                              couriers, day_items, make_office):
    # a courier deactivated, or moved to another office, after the plan was solved: the
    # publish gave them the parcels anyway (assigning by hand refuses them)
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(courier_ids=[couriers[0].id]),
                      headers=h).headers["Location"]
    wait_for(client, h, url, {"succeeded"})
    for change in ({"active": False}, {"office_id": make_office().id}):
        for k, v in change.items():
            setattr(couriers[0], k, v)
        db.session.commit()
        r = client.post(f"{url}/publish", headers=h)
        assert r.status_code == 409, r.json
        assert r.json["type"].endswith("/courier-unavailable")
        assert r.json["courier_ids"] == [couriers[0].id]
        db.session.expire_all()
        assert all(i.courier_id is None for i in db.session.query(Item).all())
        assert db.session.get(RoutePlan, int(url.rsplit("/", 1)[1])).status is \
            PlanStatus.SUCCEEDED
        couriers[0].active, couriers[0].office_id = True, dispatcher.office_id
        db.session.commit()
    assert client.post(f"{url}/publish", headers=h).status_code == 200


def test_a_plan_of_a_day_that_is_over_is_not_published(client, auth, dispatcher, couriers,
                                                       day_items, clock):
    """A plan's day gone by (a console tab opened the evening before plans its day the
    next morning): publishing it handed that day's routes today's parcels, taking them
    off the routes in force today, and gave the couriers no route for today. A 409
    day-over, and nothing changes; the day itself, and a day to come, still publish."""
    h = auth(dispatcher)
    url, _ = solved_plan(client, h)  # of the 20th
    today, _ = solved_plan(client, h, date="2026-11-21")
    clock.advance(days=1)  # the 21st
    h = auth(dispatcher)  # (a new token: the first one has expired)
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 409, r.json
    assert r.json["type"].endswith("/day-over")
    assert "2026-11-20 is over" in r.json["detail"]
    db.session.expire_all()
    assert all(i.courier_id is None for i in db.session.query(Item).all())
    assert db.session.get(RoutePlan, int(url.rsplit("/", 1)[1])).status is \
        PlanStatus.SUCCEEDED
    assert client.post(f"{today}/publish", headers=h).status_code == 200
    later, _ = solved_plan(client, h, date="2026-11-22")
    assert client.post(f"{later}/publish", headers=h).status_code == 200


def test_a_plan_for_some_couriers_leaves_the_others_their_routes(client, auth, dispatcher,
                                                                 couriers, day_items):
    """Re-planning part of the day (one courier's round after new parcels came in) must
    not take the route away from a courier the new plan is not for."""
    h = auth(dispatcher)
    out, other = couriers[0], couriers[1]
    first = client.post("/api/v1/route-plans", json=plan_body(),
                        headers=h).headers["Location"]
    wait_for(client, h, first, {"succeeded"})
    idents = [i.identifier for i in day_items]
    done = client.patch(first, headers=h, json={"routes": [
        {"courier_id": out.id, "identifiers": idents[:6]},
        {"courier_id": other.id, "identifiers": idents[6:]}]}).json
    assert client.post(f"{first}/publish", headers=h).status_code == 200
    mine = {r["courier_id"]: [s["identifier"] for s in r["stops"]]
            for r in done["result"]["routes"]}
    assert mine.get(out.id) and mine.get(other.id)
    for ident in mine[out.id]:  # the first courier left with their parcels
        assert client.post(f"/api/v1/items/{ident}/events", headers=auth(out), json={
            "code": "EDG", "client_event_id": str(uuid.uuid4()),
            "device_time": "2026-11-20T08:05:00+07:00"}).status_code == 201
    second, _ = published_plan(client, h, courier_ids=[other.id])

    r = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(out))
    assert r.status_code == 200, r.json
    assert r.json["plan_id"] == int(first.rsplit("/", 1)[1])
    assert [s["identifier"] for s in r.json["stops"]] == mine[out.id]
    assert all(s["still_yours"] for s in r.json["stops"])
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(out), json={
        "date": "2026-11-20", "location": {"lat": 12.24, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert sorted(s["identifier"] for s in r.json["stops"]) == sorted(mine[out.id])
    r = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(other))
    assert r.status_code == 200 and r.json["plan_id"] == int(second.rsplit("/", 1)[1])
    # the first plan still holds the first courier's route; the second courier's is
    # marked as replaced there
    body = client.get(first, headers=h).json
    assert body["status"] == "published"
    replaced = {r["courier_id"]: r.get("replaced_by") for r in body["result"]["routes"]}
    assert replaced == {out.id: None, other.id: int(second.rsplit("/", 1)[1])}

    # a plan for both couriers replaces both earlier ones
    third, _ = published_plan(client, h)
    assert client.get(first, headers=h).json["status"] == "superseded"
    assert client.get(second, headers=h).json["status"] == "superseded"
    r = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(out))
    assert r.json["plan_id"] == int(third.rsplit("/", 1)[1])


@pytest.mark.parametrize("choose", ["identifiers", "statuses"])
def test_a_plan_of_chosen_parcels_keeps_what_its_couriers_hold_on_their_routes(
        client, auth, dispatcher, couriers, day_items, make_item, office, choose):
    """New parcels came in at noon: a plan of just those for a courier who is out with
    the morning's parcels (or of the parcels at the office only) replaced their route,
    when published, by one without the parcels in their bag, still theirs."""
    h = auth(dispatcher)
    courier = couriers[0]
    _, morning = published_plan(client, h, courier_ids=[courier.id])
    bag = [s["identifier"] for r in morning["result"]["routes"] for s in r["stops"]]
    assert len(bag) == 12
    for ident in bag[:8]:  # out with eight of them; four still at the office, theirs
        assert client.post(f"/api/v1/items/{ident}/events", headers=auth(courier), json={
            "code": "EDG", "client_event_id": str(uuid.uuid4()),
            "device_time": "2026-11-20T08:05:00+07:00"}).status_code == 201
    rcpt = {"name": "Nguyễn Thị Hoa", "address": "5 Trần Phú", "city": "Nha Trang",
            "province": "Khánh Hòa", "lat": 12.247, "lon": 109.196}
    noon = make_item(office, events=("EMG",), recipient=rcpt)
    chosen = ({"identifiers": [noon.identifier]} if choose == "identifiers"
              else {"statuses": ["at_delivery_office"]})
    url, done = published_plan(client, h, courier_ids=[courier.id], **chosen)
    routed = [s["identifier"] for r in done["result"]["routes"] for s in r["stops"]]
    assert sorted(routed) == sorted([*bag, noon.identifier])
    mine = route_of(client, auth, courier)
    assert mine["plan_id"] == int(url.rsplit("/", 1)[1])
    assert sorted(s["identifier"] for s in mine["stops"]) == sorted(routed)
    assert all(s["still_yours"] for s in mine["stops"])
    # the bag's parcels stay pinned to the courier (a rebalance could not move them)
    assert {p["id"]: p["courier_id"] for p in db.session.get(
        RoutePlan, int(url.rsplit("/", 1)[1])).problem["stops"]
        if p["id"] in bag[:8]} == dict.fromkeys(bag[:8], str(courier.id))


def test_parcels_out_with_a_courier_the_plan_is_not_for_stay_with_them(
        client, auth, dispatcher, couriers, day_items, make_item, office):
    """A dispatcher who plans out-for-delivery items too must not hand a parcel that is in
    one courier's bag to another courier."""
    h = auth(dispatcher)
    away = make_item(office, courier=couriers[0], events=("EMG", "EDG"))
    own = make_item(office, courier=couriers[1], events=("EMG", "EDG"))
    statuses = ["at_delivery_office", "out_for_delivery"]
    url, done = published_plan(client, h, courier_ids=[couriers[1].id], statuses=statuses)
    routed = {s["identifier"]: r["courier_id"] for r in done["result"]["routes"]
              for s in r["stops"]}
    assert away.identifier not in routed
    assert routed[own.identifier] == couriers[1].id  # (the plan's own courier keeps theirs)
    left = {u["identifier"]: u["reason"] for u in done["result"]["unassigned"]}
    assert left[away.identifier] == "out_with_another_courier"
    db.session.expire_all()
    assert db.session.get(Item, away.id).courier_id == couriers[0].id


def test_a_parcel_taken_out_while_its_plan_is_published_is_not_split_between_two(
        app, client, auth, dispatcher, couriers, make_item, office, monkeypatch):
    """Publishing checks each item's status and assigns it; a courier taking the parcel
    out at the same moment must not end with the parcel in their bag and assigned to
    another courier (publishing did not lock the items it read)."""
    import threading

    parcel = make_item(office, events=("EMG",))
    h = auth(dispatcher)
    # given to courier 0 by a published plan (one given by hand would stay theirs), then
    # a rebalancing plan for courier 1 takes it
    published_plan(client, h, courier_ids=[couriers[0].id])
    url = client.post("/api/v1/route-plans", json=plan_body(courier_ids=[couriers[1].id],
                                                           keep_assignments=False),
                      headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    assert [s["identifier"] for r in done["result"]["routes"] for s in r["stops"]] == [
        parcel.identifier]
    read, real = threading.Event(), service._plan_couriers

    def after_the_items_are_read(plan):  # (publish calls it after its item loop)
        read.set()
        time.sleep(1.0)
        return real(plan)

    monkeypatch.setattr(service, "_plan_couriers", after_the_items_are_read)

    ch, ident = auth(couriers[0]), parcel.identifier

    def take_out(cl):
        read.wait(10)
        return cl.post(f"/api/v1/items/{ident}/events", headers=ch,
                       json={"code": "EDG", "client_event_id": str(uuid.uuid4()),
                             "device_time": "2026-11-20T08:05:00+07:00"})

    published, taken = at_once(app, lambda cl: cl.post(f"{url}/publish", headers=h), take_out)
    assert published.status_code == 200, published.json
    db.session.expire_all()
    item = db.session.get(Item, parcel.id)
    if taken.status_code == 201:  # out with courier 0: theirs, whatever the plan says
        assert (item.status.value, item.courier_id) == ("out_for_delivery", couriers[0].id)
    else:  # the plan gave it to courier 1 first; courier 0 may no longer take it out
        assert taken.status_code == 404, taken.json
        assert (item.status.value, item.courier_id) == ("at_delivery_office", couriers[1].id)


def test_moving_a_parcel_out_of_its_couriers_bag_by_hand_is_422(client, auth, dispatcher,
                                                                couriers, make_item, office,
                                                                day_items):
    out = make_item(office, courier=couriers[0], events=("EMG", "EDG"))
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    idents = [s["identifier"] for r in done["result"]["routes"] for s in r["stops"]]
    assert out.identifier in idents
    rest = [i for i in idents if i != out.identifier]
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": couriers[0].id, "identifiers": rest[:3]},
        {"courier_id": couriers[1].id, "identifiers": [*rest[3:], out.identifier]}]})
    assert r.status_code == 422, r.json
    assert r.json["errors"] == [{
        "pointer": f"/routes/1/identifiers/{len(rest) - 3}",
        "detail": f"Out for delivery with courier {couriers[0].id}: in their bag."}]
    assert client.get(url, headers=h).json["result"] == done["result"]  # unchanged
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": couriers[0].id, "identifiers": [out.identifier, *rest[:3]]},
        {"courier_id": couriers[1].id, "identifiers": rest[3:]}]})
    assert r.status_code == 200, r.json


def test_publishing_records_who_holds_each_item_from_when(client, auth, dispatcher, couriers,
                                                          day_items, make_item, office, clock):
    from datetime import timedelta

    from models import ItemAssignment

    held = make_item(office, courier=couriers[1], events=("EMG",))  # given out at 08:00
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    routes = [{"courier_id": r["courier_id"],
               "identifiers": [s["identifier"] for s in r["stops"]
                               if s["identifier"] != held.identifier]}
              for r in done["result"]["routes"]]
    assert client.patch(url, headers=h, json={"routes": routes}).status_code == 200
    published_at = clock.advance(minutes=30)
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    rows = {(r.item_id, r.courier_id): r for r in db.session.query(ItemAssignment)}
    # the left-out item's period ends with the publication, by the plan
    gone = rows[(held.id, couriers[1].id)]
    assert (gone.ended_at, gone.ended_by_id, gone.ended_how.value, gone.ended_plan_id) == (
        published_at, dispatcher.id, "route_plan", done["id"])
    for item in day_items:
        db.session.refresh(item)
        row = rows[(item.id, item.courier_id)]
        assert (row.started_at, row.ended_at, row.started_by_id) == (
            published_at, None, dispatcher.id)
        assert (row.started_how.value, row.started_plan_id) == ("route_plan", done["id"])
    assert len(rows) == len(day_items) + 1
    # publishing a second plan that gives the same items to the other courier closes
    # the first plan's periods and opens the new ones; unchanged items keep theirs
    moved = day_items[0]
    db.session.refresh(moved)
    first_owner = moved.courier_id
    other = next(c.id for c in couriers if c.id != first_owner)
    routes = [{"courier_id": r["courier_id"], "identifiers": [
        s["identifier"] for s in r["stops"] if s["identifier"] != moved.identifier]}
        for r in done["result"]["routes"]]
    url2 = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done2 = wait_for(client, h, url2, {"succeeded"})
    routes = [{"courier_id": r["courier_id"],
               "identifiers": [s["identifier"] for s in r["stops"]
                               if s["identifier"] != moved.identifier]
               + ([moved.identifier] if r["courier_id"] == other else [])}
              for r in done2["result"]["routes"]]
    if other not in [r["courier_id"] for r in routes]:
        routes.append({"courier_id": other, "identifiers": [moved.identifier]})
    assert client.patch(url2, headers=h, json={"routes": routes}).status_code == 200, routes
    second_at = clock.advance(minutes=30)
    assert client.post(f"{url2}/publish", headers=h).status_code == 200
    db.session.expire_all()
    periods = db.session.query(ItemAssignment).filter_by(item_id=moved.id).order_by(
        ItemAssignment.id).all()
    assert [(p.courier_id, p.started_at, p.ended_at, p.started_plan_id) for p in periods] == [
        (first_owner, published_at, second_at, done["id"]),
        (other, second_at, None, done2["id"])]
    assert second_at - published_at == timedelta(minutes=30)


def check_documented(client, body, name):
    """``body`` is what the OpenAPI document says a ``name`` is (issues included)."""
    import jsonschema

    spec = client.get("/api/v1/openapi.json").json
    jsonschema.Draft202012Validator({"$ref": f"#/components/schemas/{name}",
                                     "components": spec["components"]}).validate(body)
    issues = spec["components"]["schemas"]["Plan"]["properties"]["result"]["properties"][
        "routes"]["items"]["properties"]["issues"]
    assert issues["items"] == {"$ref": "#/components/schemas/RouteIssue"}
    assert {"code", "excess", "late_s", "identifier"} <= set(
        spec["components"]["schemas"]["RouteIssue"]["properties"])


def solved_plan(client, h, **kw):
    url = client.post("/api/v1/route-plans", json=plan_body(**kw), headers=h).headers["Location"]
    return url, wait_for(client, h, url, {"succeeded"})


def test_an_edit_naming_what_is_not_in_the_plan_is_422_with_a_pointer_for_each(
        client, auth, dispatcher, couriers, day_items, make_item, make_user, office):
    from tests.conftest import s10

    nowhere = make_item(office, events=("EMG",), recipient={
        "name": "Trần Thị B", "address": "2 Yersin", "city": "Nha Trang",
        "province": "Khánh Hòa"})  # no coordinates: left out of the plan
    outsider = make_user(Role.COURIER, office)  # a courier of the office, not of the plan
    h = auth(dispatcher)
    url, done = solved_plan(client, h, courier_ids=[c.id for c in couriers])
    s = [st["identifier"] for r in done["result"]["routes"] for st in r["stops"]]
    a, b = couriers[0].id, couriers[1].id
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a, "identifiers": [s[0], s10(), nowhere.identifier, " ", s[1]]},
        {"courier_id": outsider.id, "identifiers": [s[2]]},
        {"courier_id": 2_000_000_000, "identifiers": []},
        {"courier_id": b, "identifiers": [s[0].lower(), s[3], s[3], s[1]]},
    ]})
    assert r.status_code == 422, r.json
    assert r.json["type"] == "/problems/invalid-route-edit"
    not_a_stop = "Not a stop of this plan."
    assert r.json["errors"] == [
        {"pointer": "/routes/0/identifiers/1", "detail": not_a_stop},
        {"pointer": "/routes/0/identifiers/2",
         "detail": "Not a stop of this plan: left out when it was made (the item has no "
                   "coordinates)."},
        {"pointer": "/routes/0/identifiers/3", "detail": not_a_stop},
        {"pointer": "/routes/1/courier_id", "detail": "Not a courier of this plan."},
        {"pointer": "/routes/2/courier_id", "detail": "Not a courier of this plan."},
        {"pointer": "/routes/3/identifiers/0", "detail": "Also at /routes/0/identifiers/0."},
        {"pointer": "/routes/3/identifiers/2", "detail": "Also at /routes/3/identifiers/1."},
        {"pointer": "/routes/3/identifiers/3", "detail": "Also at /routes/0/identifiers/4."},
    ]
    assert client.get(url, headers=h).json["result"] == done["result"]  # unchanged


def test_an_edit_naming_more_stops_than_the_plan_has_is_refused_whole_and_short(
        client, auth, dispatcher, couriers, day_items, monkeypatch):
    """100 routes of 2 000 repeats (3.6 MB) took 4 s to check and were answered with 18 MB
    of pointers: more stops than the plan has is one error, and the mistakes an answer
    lists are capped."""
    h = auth(dispatcher)
    url, done = solved_plan(client, h, courier_ids=[c.id for c in couriers])
    s = [st["identifier"] for r in done["result"]["routes"] for st in r["stops"]]
    a = couriers[0].id
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a + k, "identifiers": [s[0]] * 2000} for k in range(10)]})
    assert r.status_code == 422 and len(r.get_data()) < 2000
    assert r.json["errors"] == [{"pointer": "/routes", "detail": "More stops than the plan has."}]
    # 100 such routes are more values than any request holds: refused as the body is read
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a + k, "identifiers": [s[0]] * 2000} for k in range(100)]})
    assert r.status_code == 400 and "more than 100000 values" in r.json["detail"]
    monkeypatch.setattr(service, "MAX_EDIT_ERRORS", 3)
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a, "identifiers": [s[0]] * len(s)}]})
    assert r.status_code == 422
    assert [e["pointer"] for e in r.json["errors"]] == [
        f"/routes/0/identifiers/{j}" for j in (1, 2, 3)]
    assert f"the first 3 of {len(s) - 1}" in r.json["detail"]
    assert client.get(url, headers=h).json["result"] == done["result"]  # unchanged


def test_a_stop_pinned_to_a_courier_may_be_moved_by_hand(client, auth, dispatcher, couriers,
                                                         day_items, make_item, office):
    # an item already given to a courier of the plan is pinned to them: the optimiser
    # keeps it there, but the dispatcher may give it to another courier (as assigning by
    # hand may); only a parcel out for delivery is bound to its courier's bag (422 above)
    pinned = make_item(office, courier=couriers[1], events=("EMG",))
    h = auth(dispatcher)
    url, done = solved_plan(client, h)
    plan = db.session.get(RoutePlan, done["id"])
    assert {s["id"]: s["courier_id"] for s in plan.problem["stops"]}[pinned.identifier] == str(
        couriers[1].id)
    routes = {r["courier_id"]: [s["identifier"] for s in r["stops"]
                                if s["identifier"] != pinned.identifier]
              for r in done["result"]["routes"]}
    routes.setdefault(couriers[0].id, []).append(pinned.identifier)
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": c, "identifiers": ids} for c, ids in routes.items()]})
    assert r.status_code == 200, r.json
    owner = {s["identifier"]: rt["courier_id"] for rt in r.json["result"]["routes"]
             for s in rt["stops"]}
    assert owner[pinned.identifier] == couriers[0].id
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    assert db.session.get(Item, pinned.id).courier_id == couriers[0].id


def test_an_infeasible_edit_says_what_is_wrong_on_each_route(client, auth, dispatcher,
                                                              couriers, day_items, make_item,
                                                              make_user, office):
    small = make_user(Role.COURIER, office, vehicle_capacity_parcels=2,
                      vehicle_capacity_kg=2.0)
    early = make_item(office, events=("EMG",), delivery_window={
        "start": "2026-11-20T08:00:00+07:00", "end": "2026-11-20T08:10:00+07:00"})
    h = auth(dispatcher)
    # a 20-minute shift: the solver leaves out what does not fit
    url, done = solved_plan(client, h, courier_ids=[small.id, *(c.id for c in couriers)],
                            shift_end_s=8 * 3600 + 1200)
    assert done["result"]["feasible"] is True
    assert all(r["issues"] == [] for r in done["result"]["routes"])
    idents = [i.identifier for i in day_items]
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": small.id, "identifiers": idents[:4]},  # 4 parcels, 4.8 kg
        {"courier_id": couriers[0].id, "identifiers": [*idents[4:], early.identifier]},
    ]})
    assert r.status_code == 200, r.json
    check_documented(client, r.json, "Plan")
    res = r.json["result"]
    assert res["feasible"] is False
    routes = {rt["courier_id"]: rt for rt in res["routes"]}
    assert routes[small.id]["issues"][:2] == [
        {"code": "over_parcels", "parcels": 4, "capacity": 2, "excess": 2},
        {"code": "over_weight", "weight_g": 4800, "capacity_g": 2000, "excess_g": 2800}]
    big = routes[couriers[0].id]
    late = big["stops"][-1]
    assert late["identifier"] == early.identifier and late["lateness_s"] > 0
    assert big["issues"] == [
        {"code": "late_stop", "identifier": early.identifier, "sequence": 9,
         "eta": late["eta"], "window_end": "2026-11-20T08:10:00+07:00",
         "late_s": late["lateness_s"]},
        {"code": "shift_overrun", "end": big["end"], "shift_end": "2026-11-20T08:20:00+07:00",
         "late_s": big["lateness_s"] - late["lateness_s"]}]
    assert big["issues"][1]["late_s"] > 0
    for rt in res["routes"]:  # the issues account for all of a route's lateness
        assert sum(i.get("late_s", 0) for i in rt["issues"]) == rt["lateness_s"]
    # back to what the solver found: nothing wrong any more
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": rt["courier_id"], "identifiers": [s["identifier"] for s in rt["stops"]]}
        for rt in done["result"]["routes"]]})
    assert r.json["result"]["feasible"] is True
    assert [rt["issues"] for rt in r.json["result"]["routes"]] == [
        [] for _ in done["result"]["routes"]]


def test_a_reoptimized_route_says_what_it_breaks_numbered_as_stored(
        client, auth, dispatcher, couriers, day_items, make_item, office, clock, full_proof):
    early = make_item(office, events=("EMG",), delivery_window={
        "start": "2026-11-20T08:00:00+07:00", "end": "2026-11-20T09:00:00+07:00"})
    h = auth(dispatcher)
    url, done = published_plan(client, h, courier_ids=[couriers[0].id])
    (route,) = done["result"]["routes"]
    assert route["issues"] == []
    ch = auth(couriers[0])
    first = next(s["identifier"] for s in route["stops"] if s["identifier"] != early.identifier)
    for code in ("EDG", "EMI"):
        body = {"code": code, "client_event_id": f"issues-{code}",
                "device_time": "2026-11-20T09:00:00+07:00",
                "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMI":
            body["proof"] = full_proof(next(i for i in day_items if i.identifier == first))
        assert client.post(f"/api/v1/items/{first}/events", headers=ch,
                           json=body).status_code == 201
    clock.advance(hours=2)  # 10:00: the early stop's window closed an hour ago
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19},
        "keep_next": early.identifier})
    assert r.status_code == 200, r.json
    (stored,) = client.get(url, headers=h).json["result"]["routes"]
    assert [s["identifier"] for s in stored["stops"][:2]] == [first, early.identifier]
    (late,) = stored["issues"]
    assert (late["code"], late["identifier"], late["sequence"]) == (
        "late_stop", early.identifier, 2)
    assert late["late_s"] == stored["stops"][1]["lateness_s"] == stored["lateness_s"] > 3600


def overloaded_plan(client, h, couriers, day_items, small):
    """A solved plan edited so that ``small`` (2 parcels, 2 kg) has 4 stops."""
    url, done = solved_plan(client, h, courier_ids=[small.id, *(c.id for c in couriers)])
    idents = [i.identifier for i in day_items]
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": small.id, "identifiers": idents[:4]},
        {"courier_id": couriers[0].id, "identifiers": idents[4:]}]})
    assert r.status_code == 200 and r.json["result"]["feasible"] is False, r.json
    return url, r.json


def test_an_infeasible_plan_is_published_only_when_its_issues_are_accepted(
        client, auth, dispatcher, couriers, day_items, make_user, office, clock):
    small = make_user(Role.COURIER, office, vehicle_capacity_parcels=2,
                      vehicle_capacity_kg=2.0)
    h = auth(dispatcher)
    url, edited = overloaded_plan(client, h, couriers, day_items, small)
    issues = next(r["issues"] for r in edited["result"]["routes"]
                  if r["courier_id"] == small.id)
    for body in (None, {}, {"accept_issues": False}):
        r = client.post(f"{url}/publish", headers=h, json=body)
        assert r.status_code == 409, (body, r.json)
        assert r.json["type"] == "/problems/plan-infeasible"
        assert r.json["routes"] == [{"courier_id": small.id, "issues": issues}]
        assert "accept_issues" in r.json["detail"]
    for bad in ({"accept_issues": "maybe"}, {"accept_issues": "yes"}, {"accept_issues": 1},
                {"accept_issues": None}, {"accept": True}, [True]):
        r = client.post(f"{url}/publish", headers=h, json=bad)
        assert r.status_code == 422 and r.mimetype == "application/problem+json", bad
    assert client.get(url, headers=h).json["status"] == "succeeded"
    assert all(db.session.get(Item, i.id).courier_id is None for i in day_items)

    published_at = clock.advance(minutes=5)
    r = client.post(f"{url}/publish", headers=h, json={"accept_issues": True})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "published"
    # knowingly, and on record: who accepted the issues, when
    assert r.json["result"]["issues_accepted"] == {"by": dispatcher.username,
                                                   "at": published_at.isoformat()}
    assert next(rt["issues"] for rt in r.json["result"]["routes"]
                if rt["courier_id"] == small.id) == issues
    assert {db.session.get(Item, i.id).courier_id for i in day_items[:4]} == {small.id}


def test_a_feasible_plan_publishes_without_accepting_anything(client, auth, dispatcher,
                                                              couriers, day_items):
    h = auth(dispatcher)
    url, done = solved_plan(client, h)
    assert done["result"]["feasible"] is True
    r = client.post(f"{url}/publish", headers=h, json={"accept_issues": True})
    assert r.status_code == 200 and "issues_accepted" not in r.json["result"], r.json


def test_a_couriers_route_says_which_issues_a_dispatcher_accepted_and_who(
        client, auth, dispatcher, couriers, day_items, make_user, office, clock):
    """The courier's phone must be able to warn them (over capacity, a stop that will
    be late): the route they get carries its issues and who accepted them, when."""
    small = make_user(Role.COURIER, office, vehicle_capacity_parcels=2,
                      vehicle_capacity_kg=2.0)
    h = auth(dispatcher)
    url, edited = overloaded_plan(client, h, couriers, day_items, small)
    issues = next(r["issues"] for r in edited["result"]["routes"]
                  if r["courier_id"] == small.id)
    assert issues
    published_at = clock.advance(minutes=5)
    r = client.post(f"{url}/publish", headers=h, json={"accept_issues": True})
    assert r.status_code == 200, r.json
    accepted = {"by": dispatcher.username, "at": published_at.isoformat()}
    mine = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(small))
    assert mine.status_code == 200, mine.json
    assert mine.json["issues"] == issues
    assert mine.json["issues_accepted"] == accepted
    check_documented(client, mine.json, "CourierRoute")
    # a route without issues in the same plan: nothing to warn about, nothing accepted
    other = client.get("/api/v1/couriers/me/route?date=2026-11-20",
                       headers=auth(couriers[0])).json
    assert other["issues"] == [] and other["issues_accepted"] is None
    # kept on the stored route: what the dispatcher accepted for this courier
    stored = client.get(url, headers=h).json["result"]
    assert {rt["courier_id"]: rt.get("issues_accepted") for rt in stored["routes"]} == {
        small.id: accepted, couriers[0].id: None}
    check_documented(client, client.get(url, headers=h).json, "Plan")

    # a plan published before routes kept it says so only for the whole plan
    plan = db.session.get(RoutePlan, edited["id"])
    kept = plan.result
    plan.result = {**plan.result, "routes": [
        {k: v for k, v in rt.items() if k != "issues_accepted"} for rt in plan.result["routes"]]}
    db.session.commit()
    assert client.get("/api/v1/couriers/me/route?date=2026-11-20",
                      headers=auth(small)).json["issues_accepted"] == accepted
    assert client.get("/api/v1/couriers/me/route?date=2026-11-20",
                      headers=auth(couriers[0])).json["issues_accepted"] is None
    plan.result = kept
    db.session.commit()

    # re-optimised by its courier: the route's issues are the new route's; who accepted
    # the published route's stays said
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(small), json={
        "date": "2026-11-20", "location": {"lat": 12.24, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert r.json["issues_accepted"] == accepted
    assert r.json["issues"] == next(rt["issues"] for rt in client.get(
        url, headers=h).json["result"]["routes"] if rt["courier_id"] == small.id)


def test_publishing_without_an_item_keeps_what_was_accepted_and_what_changed(
        client, auth, dispatcher, couriers, day_items, make_user, office, clock, full_proof):
    """Publishing takes a routed item delivered meanwhile off its route and recomputes
    the routes: the issues the dispatcher accepted stay accepted on the route that still
    has them (the courier's phone warns), and every route still says how much of it was
    on its courier's route before (``previous_stops``, ``kept_from_previous``)."""
    small = make_user(Role.COURIER, office, vehicle_capacity_parcels=2,
                      vehicle_capacity_kg=2.0)
    h = auth(dispatcher)
    url, edited = overloaded_plan(client, h, couriers, day_items, small)
    other = next(r for r in edited["result"]["routes"] if r["courier_id"] == couriers[0].id)
    gone = next(i for i in day_items if i.identifier == other["stops"][0]["identifier"])
    assert client.post(f"/api/v1/items/{gone.identifier}/assign", headers=h,
                       json={"courier_id": couriers[0].id}).status_code == 200
    go_out_and_deliver(client, auth(couriers[0]), gone, clock().isoformat(), full_proof)
    published_at = clock.advance(minutes=5)
    r = client.post(f"{url}/publish", headers=h, json={"accept_issues": True})
    assert r.status_code == 200, r.json
    assert [x["identifier"] for x in r.json["result"]["not_handed_over"]] == [gone.identifier]
    accepted = {"by": dispatcher.username, "at": published_at.isoformat()}
    routes = {rt["courier_id"]: rt for rt in r.json["result"]["routes"]}
    assert routes[small.id]["issues"] and routes[small.id]["issues_accepted"] == accepted
    assert routes[couriers[0].id]["issues_accepted"] is None
    assert gone.identifier not in [s["identifier"] for s in routes[couriers[0].id]["stops"]]
    assert all("previous_stops" in rt and "kept_from_previous" in rt for rt in routes.values())
    mine = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(small)).json
    assert mine["issues"] and mine["issues_accepted"] == accepted
    check_documented(client, client.get(url, headers=h).json, "Plan")


def test_issues_that_publishing_takes_off_the_routes_need_no_accepting(
        client, auth, dispatcher, couriers, day_items, make_user, office, clock, full_proof):
    """The routes published are the plan's without what is not handed over: an overload
    of parcels delivered since (taken off the route) is no issue to accept; the 409
    judged the routes before that."""
    small = make_user(Role.COURIER, office, vehicle_capacity_parcels=2,
                      vehicle_capacity_kg=2.0)
    h = auth(dispatcher)
    url, edited = overloaded_plan(client, h, couriers, day_items, small)
    mine = next(r for r in edited["result"]["routes"] if r["courier_id"] == small.id)
    for stop in mine["stops"][:3]:  # delivered by another courier meanwhile
        it = next(i for i in day_items if i.identifier == stop["identifier"])
        assert client.post(f"/api/v1/items/{it.identifier}/assign", headers=h,
                           json={"courier_id": couriers[0].id}).status_code == 200
        go_out_and_deliver(client, auth(couriers[0]), it, clock().isoformat(), full_proof)
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    routes = {rt["courier_id"]: rt for rt in r.json["result"]["routes"]}
    assert len(routes[small.id]["stops"]) == 1 and routes[small.id]["issues"] == []
    assert "issues_accepted" not in r.json["result"] or r.json["result"][
        "issues_accepted"] is None
    assert len(r.json["result"]["not_handed_over"]) == 3


def test_a_feasible_plans_routes_have_no_issues_and_nothing_accepted(client, auth, dispatcher,
                                                                     couriers, day_items):
    h = auth(dispatcher)
    url, done = solved_plan(client, h)
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    for route in done["result"]["routes"]:
        courier = next(c for c in couriers if c.id == route["courier_id"])
        mine = client.get("/api/v1/couriers/me/route?date=2026-11-20",
                          headers=auth(courier)).json
        assert mine["issues"] == [] and mine["issues_accepted"] is None


def test_a_plan_stored_before_route_issues_is_judged_by_feasible(client, auth, dispatcher,
                                                                 couriers, day_items, make_user,
                                                                 office):
    small = make_user(Role.COURIER, office, vehicle_capacity_parcels=2,
                      vehicle_capacity_kg=2.0)
    h = auth(dispatcher)
    url, edited = overloaded_plan(client, h, couriers, day_items, small)
    plan = db.session.get(RoutePlan, edited["id"])
    plan.result = {**plan.result, "routes": [{k: v for k, v in r.items() if k != "issues"}
                                             for r in plan.result["routes"]]}
    db.session.commit()
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 409 and r.json["type"] == "/problems/plan-infeasible", r.json
    assert client.post(f"{url}/publish", headers=h,
                       json={"accept_issues": True}).status_code == 200


def test_publishing_is_documented_with_its_refusals(client):
    spec = client.get("/api/v1/openapi.json").json
    post = spec["paths"]["/api/v1/route-plans/{plan_id}/publish"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PlanPublish"}
    assert post["requestBody"].get("required") is not True
    props = spec["components"]["schemas"]["PlanPublish"]["properties"]
    assert props["accept_issues"]["type"] == "boolean"
    conflict = post["responses"]["409"]
    assert "plan-infeasible" in conflict["description"]
    schema = conflict["content"]["application/problem+json"]["schema"]["$ref"].split("/")[-1]
    routes = spec["components"]["schemas"][schema]["properties"]["routes"]
    assert "issues" in str(spec["components"]["schemas"]) and routes["type"] == "array"
    assert client.get("/problems/plan-infeasible").status_code == 200



def test_a_couriers_route_is_documented_with_its_fields(client):
    """The phone app is generated from the OpenAPI document: the courier's route, as
    fetched and as re-optimised, is a documented schema, not an untyped object."""
    spec = client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    for path, method in (("/api/v1/couriers/me/route", "get"),
                         ("/api/v1/couriers/me/route/reoptimize", "post")):
        ok = spec["paths"][path][method]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/CourierRoute"}, (path, ok)
    created = spec["paths"]["/api/v1/route-plans"]["post"]["responses"]["202"]
    assert "Location" in created["headers"]  # sent, so documented: the URL to poll
    route = schemas["CourierRoute"]["properties"]
    assert {"plan_id", "date", "distance_m", "start", "end", "stops", "issues",
            "issues_accepted"} <= set(route)
    assert route["start"]["format"] == route["end"]["format"] == "date-time"
    assert route["issues"]["items"] == {"$ref": "#/components/schemas/RouteIssue"}
    stop = schemas[route["stops"]["items"]["$ref"].split("/")[-1]]["properties"]
    assert {"sequence", "identifier", "lat", "lon", "eta", "lateness_s", "status",
            "still_yours", "done", "unplaced"} <= set(stop)
    assert stop["eta"]["format"] == "date-time" and "null" in stop["eta"]["type"]
    assert "null" in str(route["issues_accepted"])


def test_a_couriers_route_is_answered_whole_and_as_documented(
        client, auth, dispatcher, couriers, day_items, clock, full_proof):
    """The response schema is also what the answer is dumped through: nothing the
    service builds may be lost on the way (done and unplaced stops after a
    re-optimisation included), and every answer fits the document."""
    import json
    from datetime import date

    def whole(body):
        expected = json.loads(json.dumps(service.courier_route(
            db.session, couriers[0], date(2026, 11, 20))))
        assert body == expected
        check_documented(client, body, "CourierRoute")

    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    route = route_of(client, auth, couriers[0])
    assert len(route["stops"]) == 12
    whole(route)
    for n, s in enumerate(route["stops"][:2]):
        for code in ("EDG", "EMI"):
            body = {"code": code, "client_event_id": f"documented-{n}-{code}",
                    "device_time": "2026-11-20T09:00:00+07:00",
                    "location": {"lat": 12.24, "lon": 109.19}}
            if code == "EMI":
                body["proof"] = full_proof(next(i for i in day_items
                                                if i.identifier == s["identifier"]))
            assert client.post(f"/api/v1/items/{s['identifier']}/events", headers=ch,
                               json=body).status_code == 201
    clock.advance(hours=2)  # 10:00 in Viet Nam
    where = {"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}}
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=where)
    assert r.status_code == 200, r.json
    assert [s.get("done") for s in r.json["stops"][:3]] == [True, True, None]
    whole(r.json)
    clock.advance(hours=8)  # 18:00: nothing fits any more, the rest stays unplaced
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=where)
    assert r.status_code == 200, r.json
    assert all(s["unplaced"]["reason"] and s["eta"] is None for s in r.json["stops"][2:])
    whole(r.json)
    whole(route_of(client, auth, couriers[0]))

# ------------------------------------------- a parcel after a failed delivery attempt

def go_out_and_deliver(client, headers, item, when, full_proof):
    """The courier of ``headers`` (who must hold ``item``) takes it out and delivers it,
    with proof, at ``when`` (ISO)."""
    for code in ("EDG", "EMI"):
        body = {"code": code, "client_event_id": f"{code}-{uuid.uuid4()}",
                "device_time": when, "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMI":
            body["proof"] = full_proof(item)
        r = client.post(f"/api/v1/items/{item.identifier}/events", headers=headers, json=body)
        assert r.status_code == 201, r.json


def go_out_and_fail(item, courier, clock, full_proof, asks_for=None, why=None):
    """``courier`` (who must hold ``item``) takes it out (unless it is out already) and
    fails to deliver it, now; with ``asks_for`` (a day, ISO) the recipient asked for the
    next attempt on that day; with ``why``, for that ``(reason, action)``."""
    from datetime import date

    from api.items import service as items_service
    from models import FailureReason

    db.session.refresh(item)
    for code in ("EDG", "EMH")[item.status.value == "out_for_delivery":]:
        payload = {"code": items_service.EventCode(code),
                   "client_event_id": f"{code}-{uuid.uuid4()}", "device_time": clock(),
                   "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMH" and why is not None:
            payload.update(reason=why[0], action=why[1])
        elif code == "EMH" and asks_for is not None:
            payload.update(reason=FailureReason.ASKS_ANOTHER_DAY,
                           action="called_recipient",
                           next_attempt_on=date.fromisoformat(asks_for))
        elif code == "EMH":
            payload.update(reason="recipient_absent", action="notice_left",
                           photo=full_proof(item)["photo"])
        items_service.record_event(db.session, courier, item.identifier, payload,
                                   now=clock(), max_attempts=3)
    db.session.commit()
    db.session.refresh(item)
    assert (item.status.value, item.courier_id) == ("delivery_failed", courier.id)


def pins_of(plan):
    """The stops ``plan`` (its JSON) pins to a courier: ``{identifier: courier id}``."""
    return {s["id"]: s["courier_id"] for s in db.session.get(RoutePlan, plan["id"]).problem[
        "stops"] if s.get("courier_id")}


def periods_of(item):
    from models import ItemAssignment

    db.session.expire_all()
    return [(p.courier_id, p.ended_at) for p in db.session.query(ItemAssignment).filter_by(
        item_id=item.id).order_by(ItemAssignment.id)]


def test_a_parcel_whose_delivery_failed_that_day_stays_in_its_couriers_bag(
        client, auth, dispatcher, couriers, day_items, make_item, office):
    """After an unsuccessful attempt (EMH) the parcel is in the courier's bag until it is
    scanned back in at the office (EDF) or goes out again (EDG): a plan of that day gives
    it to no other courier, and does not send its courier back to the door the same day
    (the next attempt is the next day); publishing never records a hand-over that did
    not happen. It was planned for anyone, and publishing handed it over."""
    a, b = couriers
    failed = make_item(office, courier=a, events=("EMG", "EDG", "EMH"))  # 08:00 on the 20th
    h = auth(dispatcher)
    mine = day_items[0].identifier
    for ids in ([b.id], [a.id, b.id]):  # chosen: a 422 naming its courier
        r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
            courier_ids=ids, identifiers=[mine, failed.identifier.lower()]))
        assert r.status_code == 422, (ids, r.json)
        errors = {e["pointer"]: e["detail"] for e in r.json["errors"]}
        assert list(errors) == ["/identifiers/1"], ids
        assert f"failed on 2026-11-20 with courier {a.id}" in errors["/identifiers/1"]
        assert "(EDG)" in errors["/identifiers/1"]
    assert db.session.query(RoutePlan).count() == 0
    for ids in ([b.id], [a.id, b.id]):  # by status (the default): on no route, and why
        url, done = published_plan(client, h, courier_ids=ids)
        routed = {s["identifier"] for r in done["result"]["routes"] for s in r["stops"]}
        assert failed.identifier not in routed and len(routed) == len(day_items), ids
        left = {u["identifier"]: u for u in done["result"]["unassigned"]}
        assert left[failed.identifier]["reason"] == "failed_this_day", ids
        assert f"courier {a.id}" in left[failed.identifier]["message"]
    assert periods_of(failed) == [(a.id, None)]  # never handed over, never taken away


def test_the_days_of_failed_attempts_are_one_statement_however_many_parcels(
        app, couriers, make_item, office, count_queries):
    """:func:`service.failure_days` (the console's map every 30 s, plans, publishing,
    re-optimising) reads the columns of the attempts it needs: whole events came with
    their scan and proof, two more statements per 500 parcels (5 000 parcels back from
    their attempts: 21 statements at each refresh of the map)."""
    a, _ = couriers
    failed = [make_item(office, courier=a, events=("EMG", "EDG", "EMH")) for _ in range(3)]
    ids = [it.id for it in failed]
    db.session.expire_all()
    with count_queries() as n:
        days = service.failure_days(db.session(), ids)
    assert n() == 1
    assert set(days) == set(ids)
    assert set(days.values()) == {service.local_day(app.config["CLOCK"]())}


def test_a_parcel_that_failed_after_its_plan_was_made_is_not_handed_over(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof):
    """A plan made while the parcel was at the office may route it to one courier; if
    another takes it out and fails meanwhile, the parcel is in their bag: an edit may not
    give it to someone else, and publishing leaves it where it is."""
    parcel = make_item(office, events=("EMG",))  # at the office, nobody's
    h = auth(dispatcher)
    url, done = solved_plan(client, h, courier_ids=[couriers[0].id])
    assert [s["identifier"] for r in done["result"]["routes"] for s in r["stops"]] == [
        parcel.identifier]
    holder = couriers[1]
    assert client.post(f"/api/v1/items/{parcel.identifier}/assign", headers=h,
                       json={"courier_id": holder.id}).status_code == 200
    clock.advance(minutes=20)
    go_out_and_fail(parcel, holder, clock, full_proof)
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": couriers[0].id, "identifiers": [parcel.identifier]}]})
    assert r.status_code == 422, r.json
    assert r.json["errors"] == [{
        "pointer": "/routes/0/identifiers/0",
        "detail": f"Delivery failed with courier {holder.id}, not scanned back in since: in "
                  "their bag."}]
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    assert periods_of(parcel) == [(holder.id, None)]
    # said, not silently skipped; and not on the route of a courier who never got it
    assert [(x["identifier"], x["reason"]) for x in r.json["result"]["not_handed_over"]] == [
        (parcel.identifier, "failed_this_day")]
    assert client.get(url, headers=h).json["result"]["routes"] == []  # its only stop
    route = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=auth(couriers[0]))
    assert route.status_code == 404 and route.json["type"].endswith("/no-route")


def test_a_parcel_never_scanned_back_in_after_an_earlier_failed_attempt_stays_with_its_courier(
        client, auth, dispatcher, couriers, day_items, make_item, office, clock):
    """From the next day on, a failed parcel never scanned back in (EDF) is still, as far
    as anyone knows, with the courier who tried: a plan for them routes it, pinned to
    them, and one without them does not take it from them; the dispatcher who knows
    better moves it to another courier's route (handed over at the office at the start
    of the shift), scans it in or reassigns it by hand."""
    from models import ItemAssignment

    a, b = couriers
    clock.advance(days=-1)
    failed = make_item(office, courier=a, events=("EMG", "EDG", "EMH"))  # on the 19th
    back = make_item(office, courier=a, events=("EMG", "EDG", "EMH", "EDF"))  # scanned in
    clock.advance(days=1)
    h = auth(dispatcher)
    url, done = solved_plan(client, h)
    owner = {s["identifier"]: r["courier_id"] for r in done["result"]["routes"]
             for s in r["stops"]}
    assert owner[failed.identifier] == a.id and owner[back.identifier] == a.id  # pinned
    assert pins_of(done) == {failed.identifier: str(a.id), back.identifier: str(a.id)}
    routes = {r["courier_id"]: [s["identifier"] for s in r["stops"]
                                if s["identifier"] != failed.identifier]
              for r in done["result"]["routes"]}
    # taken off every route, it stays with its courier when the plan is published
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": c, "identifiers": ids} for c, ids in routes.items()]})
    assert r.status_code == 200, r.json
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    assert periods_of(failed) == [(a.id, None)]

    # a plan without its courier: a 422 when chosen, listed with the reason when not
    mine = day_items[0].identifier
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        courier_ids=[b.id], identifiers=[mine, failed.identifier]))
    assert r.status_code == 422, r.json
    detail = r.json["errors"][0]["detail"]
    assert r.json["errors"][0]["pointer"] == "/identifiers/1"
    assert f"failed on 2026-11-19 with courier {a.id}" in detail
    assert "never scanned back in" in detail and "assign" in detail
    url, done = published_plan(client, h, courier_ids=[b.id])
    owner = {s["identifier"]: r["courier_id"] for r in done["result"]["routes"]
             for s in r["stops"]}
    assert failed.identifier not in owner
    assert owner[back.identifier] == b.id  # scanned back in: the office's to give out
    left = {u["identifier"]: u["reason"] for u in done["result"]["unassigned"]}
    assert left[failed.identifier] == "failed_with_another_courier"
    assert periods_of(failed) == [(a.id, None)]
    assert db.session.get(Item, back.id).courier_id == b.id

    # moved by hand to another courier's route: publishing hands it over
    url, done = solved_plan(client, h)
    routes = {r["courier_id"]: [s["identifier"] for s in r["stops"]
                                if s["identifier"] != failed.identifier]
              for r in done["result"]["routes"]}
    routes.setdefault(b.id, []).append(failed.identifier)
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": c, "identifiers": ids} for c, ids in routes.items()]})
    assert r.status_code == 200, r.json
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    periods = db.session.query(ItemAssignment).filter_by(item_id=failed.id).order_by(
        ItemAssignment.id).all()
    assert [(p.courier_id, p.ended_how and p.ended_how.value, p.started_plan_id)
            for p in periods] == [(a.id, "route_plan", None), (b.id, None, done["id"])]


def test_a_parcel_that_failed_on_the_routes_day_is_done_for_that_day(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof):
    """Re-optimising: a failed parcel is done for the day on the route it failed on,
    also when it failed between the plan being made and published (it was still out
    for delivery when the plan took it); one that failed the day before a plan's day is
    that day's to deliver, even when it failed after the plan was published."""
    a = couriers[0]
    out = make_item(office, courier=a, events=("EMG", "EDG"))  # in a's bag at 08:00
    spare = make_item(office, courier=a, events=("EMG", "EDG"))
    h = auth(dispatcher)
    today = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        courier_ids=[a.id])).headers["Location"]
    wait_for(client, h, today, {"succeeded"})
    tomorrow, _ = published_plan(client, h, courier_ids=[a.id], date="2026-11-21")
    clock.advance(minutes=30)
    go_out_and_fail(out, a, clock, full_proof)  # on the 20th, before the publish
    clock.advance(minutes=30)
    assert client.post(f"{today}/publish", headers=h).status_code == 200
    ch = auth(a)
    where = {"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}}
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=where)
    assert r.status_code == 200, r.json
    done = {s["identifier"]: s.get("done", False) for s in r.json["stops"]}
    assert done == {out.identifier: True, spare.identifier: False}
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch,
                    json={**where, "keep_next": out.identifier})
    assert r.status_code == 422, r.json
    # the plan of the 21st, published before the attempt, still has it to deliver (the
    # next morning: a day to come is not re-optimised)
    clock.advance(days=1)
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(a),
                    json={**where, "date": "2026-11-21"})
    assert r.status_code == 200, r.json
    assert {s["identifier"]: s.get("done", False) for s in r.json["stops"]} == {
        out.identifier: False, spare.identifier: False}


def test_a_parcel_scanned_back_in_the_evening_before_is_the_routes_day_to_deliver(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof):
    """A plan published the evening before its day: a parcel of it that failed that
    evening and was scanned back in at the office (EDF, the usual step) after the plan
    was published was brought back on the day before's round, not on this route.
    Re-optimised on the route's day it was marked done, and the courier's route no
    longer went by the office for it."""
    a = couriers[0]
    out = make_item(office, courier=a, events=("EMG", "EDG"))  # in a's bag on the 20th
    spare = make_item(office, courier=a, events=("EMG", "EDG"))
    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[a.id], date="2026-11-21")  # the 20th, 08:00
    clock.advance(hours=8)
    go_out_and_fail(out, a, clock, full_proof)  # 16:00 on the 20th: retry on the 21st
    clock.advance(hours=1)
    scan_in(out, a, clock)  # 17:00 on the 20th: back on the office's shelf
    assert db.session.get(Item, out.id).status.value == "held_at_office"
    clock.advance(hours=16)  # 09:00 on the 21st, on the road with the spare parcel
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(a), json={
        "date": "2026-11-21", "location": {"lat": 12.26, "lon": 109.19}})
    assert r.status_code == 200, r.json
    stops = {s["identifier"]: s for s in r.json["stops"]}
    assert not stops[out.identifier].get("done") and stops[out.identifier]["eta"]
    assert not stops[spare.identifier].get("done")
    # the parcel is at the office: the route passes by it first
    assert r.json["office_visit"] is not None
    # brought back again on the route's day, it is done for it
    clock.advance(hours=1)
    scan_in(spare, a, clock)
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(a), json={
        "date": "2026-11-21", "location": {"lat": 12.26, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert {s["identifier"]: s.get("done", False) for s in r.json["stops"]} == {
        out.identifier: False, spare.identifier: True}


# ---- warm starts: a re-plan during the day starts from the routes in force

def solve_spy(monkeypatch):
    """What each ``routing.solve`` call of the plan jobs got as ``initial``."""
    import routing

    calls = []
    real = routing.solve

    def spy(problem, params=None, **kw):
        calls.append(kw.get("initial"))
        return real(problem, params, **kw)

    monkeypatch.setattr(routing, "solve", spy)
    return calls


def new_parcel(make_item, office):
    return make_item(office, events=("EMG",), recipient={
        "name": "Trần Thị Mai", "address": "5 Yersin", "city": "Nha Trang",
        "province": "Khánh Hòa", "lat": 12.241, "lon": 109.189})


def routes_by_courier(result):
    return {r["courier_id"]: [s["identifier"] for s in r["stops"]] for r in result["routes"]}


def split(client, h, url, couriers, first, second):
    """The plan at ``url`` edited to give ``first`` to couriers[0], ``second`` to
    couriers[1], in these orders."""
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": couriers[0].id, "identifiers": first},
        {"courier_id": couriers[1].id, "identifiers": second}]})
    assert r.status_code == 200, r.json
    return r.json


def test_a_replan_after_publishing_starts_from_the_routes_in_force(
        client, auth, dispatcher, couriers, day_items, make_item, office, monkeypatch):
    """New parcels came in after the rounds were published: the re-plan starts from the
    published routes (what the couriers' bags are sorted by), routes the new parcel and
    says how much of each round it kept."""
    h = auth(dispatcher)
    idents = [i.identifier for i in day_items]
    url, _ = solved_plan(client, h)
    split(client, h, url, couriers, idents[:6], idents[6:])
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    published = routes_by_courier(client.get(url, headers=h).json["result"])
    extra = new_parcel(make_item, office)
    calls = solve_spy(monkeypatch)

    again, done = solved_plan(client, h, time_limit_s=0.2)
    assert calls == [{str(c): ids for c, ids in published.items()}]
    result = done["result"]
    assert result["warm_start"] == {"plan_ids": [int(url.rsplit("/", 1)[1])], "stops": 12}
    now = routes_by_courier(result)
    assert sorted(i for ids in now.values() for i in ids) == sorted([*idents, extra.identifier])
    assert result["unassigned"] == []
    for route in result["routes"]:
        mine = published[route["courier_id"]]
        assert route["previous_stops"] == len(mine) == 6
        assert route["kept_from_previous"] == len(set(mine) & set(now[route["courier_id"]]))
        assert route["kept_from_previous"] == 6  # their parcels stay theirs (pinned)
    check_documented(client, done, "Plan")
    # the start is kept through an edit; the numbers follow the edited routes
    moved = now[couriers[0].id][0]
    edited = split(client, h, again, couriers, now[couriers[0].id][1:],
                   [*now[couriers[1].id], moved])["result"]
    assert edited["warm_start"] == result["warm_start"]
    kept = {r["courier_id"]: r["kept_from_previous"] for r in edited["routes"]}
    assert kept[couriers[0].id] == 6 - (moved in published[couriers[0].id])


def test_a_replan_gives_each_courier_back_their_round(client, auth, dispatcher, couriers,
                                                      day_items, make_item, office):
    """Two couriers alike (same vehicle, same shift) are interchangeable to the solver:
    started cold, a re-plan may give each the other's round. Warm-started, with a tiny
    budget, each keeps theirs and the new parcel is routed. The rounds are the day's
    latest unpublished plan here (nothing published yet, so nothing pinned)."""
    for c in couriers:  # 12 parcels need both of them
        c.vehicle_capacity_parcels = 7
    db.session.commit()
    h = auth(dispatcher)
    draft, done = solved_plan(client, h)
    solved = routes_by_courier(done["result"])
    assert len(solved) == 2
    # the solver's rounds, swapped: as good, and the solver would not choose them so
    swapped = split(client, h, draft, couriers, solved[couriers[1].id],
                    solved[couriers[0].id])
    before = routes_by_courier(swapped["result"])
    extra = new_parcel(make_item, office)

    _, done = solved_plan(client, h, time_limit_s=0.2)
    result = done["result"]
    assert result["warm_start"] == {"plan_ids": [int(draft.rsplit("/", 1)[1])], "stops": 12}
    now = routes_by_courier(result)
    assert extra.identifier in {i for ids in now.values() for i in ids}
    for c in couriers:
        assert len(set(now[c.id]) & set(before[c.id])) >= len(before[c.id]) - 1, (now, before)
    # nothing was in force: no stability figures
    assert {r["previous_stops"] for r in result["routes"]} == {None}
    assert {r["kept_from_previous"] for r in result["routes"]} == {None}


def test_warm_start_false_starts_cold_and_still_says_what_changed(
        client, auth, dispatcher, couriers, day_items, monkeypatch):
    h = auth(dispatcher)
    idents = [i.identifier for i in day_items]
    url, _ = solved_plan(client, h)
    split(client, h, url, couriers, idents[:6], idents[6:])
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    calls = solve_spy(monkeypatch)

    _, done = solved_plan(client, h, time_limit_s=0.2, warm_start=False)
    assert calls == [None]
    result = done["result"]
    assert result["warm_start"] is None
    assert {r["previous_stops"] for r in result["routes"]} == {6}
    r = client.post("/api/v1/route-plans", json=plan_body(warm_start="perhaps"), headers=h)
    assert r.status_code == 422 and "warm_start" in str(r.json)


def test_a_warm_start_keeps_only_what_the_new_plan_has(client, auth, dispatcher, couriers,
                                                       day_items, clock):
    """Stops no longer in the plan, stops given to another courier since, and couriers
    the plan is not for are left out of the start; a courier without a route in force
    starts from the day's latest draft, without the stops already on a route in force;
    routes in force win over drafts."""
    h = auth(dispatcher)
    idents = [i.identifier for i in day_items]
    first, second = couriers
    # in force: the first courier's round of six
    url, _ = solved_plan(client, h, courier_ids=[first.id], identifiers=idents[:6])
    assert client.patch(url, headers=h, json={"routes": [
        {"courier_id": first.id, "identifiers": idents[:6]}]}).status_code == 200
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    published = int(url.rsplit("/", 1)[1])
    # a draft for both: the first courier's round otherwise (not what is in force), and
    # the second's with one of the first courier's parcels first
    draft, _ = solved_plan(client, h)
    split(client, h, draft, couriers, idents[5:0:-1], [idents[0], *idents[6:]])
    drafted = int(draft.rsplit("/", 1)[1])

    def start(**kw):
        """What a plan made now starts from (the plan is not kept: it would be the
        day's latest draft once solved)."""
        plan = service.create_plan(db.session, dispatcher, service_input(**kw), now=clock())
        out = plan.problem.get("warm_start"), plan.problem.get("routes_before")
        db.session.rollback()
        return out

    # both couriers, all parcels: the first from their route in force, the second
    # from the draft less what the first courier's route in force has
    warm, before = start()
    assert warm == {"plan_ids": [published, drafted], "stops": 12, "routes": {
        str(first.id): idents[:6], str(second.id): idents[6:]}}
    assert before == {str(first.id): idents[:6]}
    # a parcel of the first courier's given by hand to the second: out of the first's
    # start (the plan pins it to the second), and no longer on their round in force
    assert client.post(f"/api/v1/items/{idents[2]}/assign", headers=h,
                       json={"courier_id": second.id}).status_code == 200
    chosen = [idents[1], idents[2], idents[7], idents[9]]
    warm, before = start(identifiers=chosen)
    # the parcels the first courier holds are in any plan for them (publishing takes
    # over their route), chosen or not; the draft's parcels nobody holds only if chosen
    kept = [idents[0], idents[1], idents[3], idents[4], idents[5]]
    assert warm == {"plan_ids": [published, drafted], "stops": 7, "routes": {
        str(first.id): kept, str(second.id): [idents[7], idents[9]]}}
    assert before == {str(first.id): kept}
    # the second courier only (the first is absent), some parcels: the first courier
    # is out of the start, and so are the stops not in the plan
    warm, before = start(identifiers=chosen, courier_ids=[second.id])
    assert warm == {"plan_ids": [drafted], "stops": 2,
                    "routes": {str(second.id): [idents[7], idents[9]]}}
    assert before is None
    # nothing left of any round: a cold start
    assert start(identifiers=[idents[3]], courier_ids=[second.id]) == (None, None)


def scan_in(item, actor, clock):
    """``actor`` scans ``item`` back in at the office (EDF), now."""
    from api.items import service as items_service

    items_service.record_event(db.session, actor, item.identifier, {
        "code": items_service.EventCode.EDF, "client_event_id": f"EDF-{uuid.uuid4()}",
        "device_time": clock()}, now=clock(), max_attempts=3)
    db.session.commit()


def routed_to(done):
    return {s["identifier"]: r["courier_id"] for r in done["result"]["routes"]
            for s in r["stops"]}


def unassigned_of(done):
    return {u["identifier"]: u for u in done["result"]["unassigned"]}


# ------------------------------------------ the day the recipient asked for (next_attempt_on)

def test_a_parcel_whose_recipient_asked_for_a_later_day_is_not_planned_before_it(
        client, auth, dispatcher, couriers, day_items, make_item, office, clock, full_proof):
    """After a failed attempt the recipient may ask for another day (``asks_another_day``
    with ``next_attempt_on``): no plan of an earlier day routes the parcel (by default it
    is left out, saying the day; chosen by identifier, or put on a route by an edit, it
    is a 422 with a pointer each); from that day on it is planned as any other, and its
    bag rules still apply. It was planned, and so sent out, on any day."""
    a, b = couriers
    clock.advance(days=-1)  # the 19th
    held = make_item(office, courier=a, events=("EMG",))
    kept = make_item(office, courier=a, events=("EMG",))
    go_out_and_fail(held, a, clock, full_proof, asks_for="2026-11-22")
    go_out_and_fail(kept, a, clock, full_proof, asks_for="2026-11-22")
    scan_in(held, dispatcher, clock)  # held at the office: the day asked for stays
    clock.advance(days=1)  # the 20th
    assert db.session.get(Item, held.id).next_attempt_on.isoformat() == "2026-11-22"
    h = auth(dispatcher)
    mine = day_items[0].identifier
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        identifiers=[mine, held.identifier, kept.identifier.lower()]))
    assert r.status_code == 422, r.json
    errors = {e["pointer"]: e["detail"] for e in r.json["errors"]}
    assert list(errors) == ["/identifiers/1", "/identifiers/2"]
    assert all("2026-11-22" in d for d in errors.values()), errors

    for day in ("2026-11-20", "2026-11-21"):
        url, done = solved_plan(client, h, date=day)
        assert held.identifier not in routed_to(done) and kept.identifier not in routed_to(done)
        assert len(routed_to(done)) == len(day_items)
        left = unassigned_of(done)
        for it in (held, kept):
            assert left[it.identifier]["reason"] == "next_attempt_later", day
            assert "2026-11-22" in left[it.identifier]["message"]
    # an edit cannot put it on a route: a pointer each, saying why
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a.id, "identifiers": [mine, held.identifier]},
        {"courier_id": b.id, "identifiers": [kept.identifier]}]})
    assert r.status_code == 422, r.json
    errors = {e["pointer"]: e["detail"] for e in r.json["errors"]}
    assert list(errors) == ["/routes/0/identifiers/1", "/routes/1/identifiers/0"]
    assert all("2026-11-22" in d for d in errors.values()), errors

    # on the day asked for it is planned, the one never scanned back in pinned to its
    # courier, and left out of a plan without them
    url, done = solved_plan(client, h, date="2026-11-22")
    assert routed_to(done)[held.identifier] == a.id and routed_to(done)[kept.identifier] == a.id
    url, done = solved_plan(client, h, date="2026-11-22", courier_ids=[b.id])
    assert routed_to(done)[held.identifier] == b.id
    assert unassigned_of(done)[kept.identifier]["reason"] == "failed_with_another_courier"
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    assert periods_of(kept) == [(a.id, None)]


def test_a_parcel_waiting_for_its_recipient_or_its_return_is_not_planned(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof, day_items):
    """A failed attempt whose recipient will collect the parcel at the office, or whose
    courier chose its return to the sender, schedules no other round: plans leave it out
    (saying which), chosen by identifier or put on a route by an edit it is a 422, and
    it is listed among the returns due. Sent out again (the recipient called back), it
    is on its courier's route."""
    a, b = couriers
    clock.advance(days=-1)  # the 19th
    collect = make_item(office, courier=a, events=("EMG",))
    back = make_item(office, courier=a, events=("EMG",))
    go_out_and_fail(collect, a, clock, full_proof,
                    why=("will_collect_at_office", "called_recipient"))
    go_out_and_fail(back, a, clock, full_proof, why=("refused", "return_to_sender"))
    scan_in(collect, dispatcher, clock)
    scan_in(back, dispatcher, clock)
    clock.advance(days=1)  # the 20th
    h = auth(dispatcher)
    mine = day_items[0].identifier
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        identifiers=[mine, collect.identifier, back.identifier]))
    assert r.status_code == 422, r.json
    errors = {e["pointer"]: e["detail"] for e in r.json["errors"]}
    assert list(errors) == ["/identifiers/1", "/identifiers/2"]
    assert "collect" in errors["/identifiers/1"] and "return" in errors["/identifiers/2"]

    url, done = solved_plan(client, h, date="2026-11-20")
    assert collect.identifier not in routed_to(done) and back.identifier not in routed_to(done)
    left = unassigned_of(done)
    assert left[collect.identifier]["reason"] == "awaits_collection"
    assert left[back.identifier]["reason"] == "awaits_return"
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a.id, "identifiers": [mine, collect.identifier]},
        {"courier_id": b.id, "identifiers": [back.identifier]}]})
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == [
        "/routes/0/identifiers/1", "/routes/1/identifiers/0"]
    returns = client.get(f"/api/v1/returns-due?office_id={office.id}", headers=h).json
    assert [(x["identifier"], x["chosen_at_attempt"]) for x in returns["items"]] == [
        (back.identifier, True)]
    missing = client.get(f"/api/v1/missing-scans?office_id={office.id}&idle_hours=1",
                         headers=h).json
    expected = {x["identifier"]: (x["awaiting"], x["expected"]) for x in missing["items"]}
    # held for its recipient, as planned (until the day on the notice): not missing
    assert collect.identifier not in expected and missing["held_for_collection"] == 1
    assert expected[back.identifier] == ("return", "a return to sender (RTS)")

    # the recipient called back: out again with its courier, it is on their route
    go_out_and_fail(collect, a, clock, full_proof)  # (out, and failed again: the 20th)
    clock.advance(days=1)
    url, done = solved_plan(client, auth(dispatcher), date="2026-11-21")
    assert routed_to(done)[collect.identifier] == a.id
    assert unassigned_of(done)[back.identifier]["reason"] == "awaits_return"


def test_a_parcel_not_collected_in_time_is_planned_by_no_day_and_says_it_is_due_back(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof, day_items):
    """Held for its recipient until the day on the notice: a plan of a later day leaves it
    out because its holding is over and it is due back to the sender, not because "its
    recipient will collect it"."""
    clock.advance(days=-1)  # the 19th: held until the 26th (7 days)
    collect = make_item(office, courier=couriers[0], events=("EMG",))
    go_out_and_fail(collect, couriers[0], clock, full_proof,
                    why=("will_collect_at_office", "called_recipient"))
    scan_in(collect, dispatcher, clock)
    db.session.refresh(collect)
    assert collect.collect_until is not None
    h = auth(dispatcher)
    _, done = solved_plan(client, h, date="2026-11-26")  # its last day
    assert unassigned_of(done)[collect.identifier]["reason"] == "awaits_collection"
    _, done = solved_plan(client, h, date="2026-11-27")
    left = unassigned_of(done)[collect.identifier]
    assert left["reason"] == "not_collected"
    assert "did not collect it at the office by 2026-11-26" in left["message"]
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        date="2026-11-27", identifiers=[day_items[0].identifier, collect.identifier]))
    assert r.status_code == 422, r.json
    detail = {e["pointer"]: e["detail"] for e in r.json["errors"]}["/identifiers/1"]
    assert "until 2026-11-26" in detail and "due back to the sender" in detail


def test_a_later_day_asked_for_after_the_plan_was_made_takes_the_parcel_off_its_route(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof):
    """Tomorrow's plan is made while the parcel is at the office; today its courier
    tries it and the recipient asks for the day after tomorrow: publishing tomorrow's
    plan does not route it (listed in ``not_handed_over`` and among the unassigned
    stops), and the courier's route does not list it. A plan published before the
    recipient asked keeps it on the route, done for that day when re-optimised."""
    a = couriers[0]
    parcel = make_item(office, courier=a, events=("EMG",))
    other = make_item(office, courier=a, events=("EMG",))
    h = auth(dispatcher)
    early, _ = published_plan(client, h, courier_ids=[a.id], date="2026-11-22")
    url, done = solved_plan(client, h, courier_ids=[a.id], date="2026-11-21")
    assert routed_to(done) == {parcel.identifier: a.id, other.identifier: a.id}
    clock.advance(hours=2)
    go_out_and_fail(parcel, a, clock, full_proof, asks_for="2026-11-23")  # on the 20th
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    nho = r.json["result"]["not_handed_over"]
    assert [(x["identifier"], x["reason"]) for x in nho] == [
        (parcel.identifier, "next_attempt_later")]
    assert "2026-11-23" in nho[0]["message"]
    assert unassigned_of(r.json)[parcel.identifier]["reason"] == "next_attempt_later"
    assert routed_to(r.json) == {other.identifier: a.id}
    route = client.get("/api/v1/couriers/me/route?date=2026-11-21", headers=auth(a)).json
    assert [s["identifier"] for s in route["stops"]] == [other.identifier]
    assert route["stops"][0]["sequence"] == 1
    assert periods_of(parcel) == [(a.id, None)]
    # published before: it stays on the route of the 22nd, done for that day (the
    # courier re-optimises it that morning)
    clock.advance(days=2)
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(a), json={
        "date": "2026-11-22", "location": {"lat": 12.25, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert {s["identifier"]: s.get("done", False) for s in r.json["stops"]} == {
        parcel.identifier: True, other.identifier: False}


# ---------------------------------- what happened between a plan being made and published

def test_a_parcel_that_failed_before_a_later_days_plan_is_published_is_not_handed_over(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof):
    """Tomorrow's plan is made while parcel P is at the office, routing it to courier B;
    today courier A takes P out, fails and never scans it back in. Publishing tomorrow's
    plan would have handed P to B, a hand-over that never happened (a plan made now would
    have left it out: A is not in it). It is not handed over, and is reported, as a
    parcel delivered meanwhile is; B's route lists neither."""
    a, b = couriers
    parcel = make_item(office, events=("EMG",))
    gone = make_item(office, events=("EMG",))
    stays = make_item(office, events=("EMG",))
    h = auth(dispatcher)
    url, done = solved_plan(client, h, courier_ids=[b.id], date="2026-11-21")
    assert set(routed_to(done)) == {parcel.identifier, gone.identifier, stays.identifier}
    for it in (parcel, gone):
        assert client.post(f"/api/v1/items/{it.identifier}/assign", headers=h,
                           json={"courier_id": a.id}).status_code == 200
    clock.advance(hours=3)
    go_out_and_fail(parcel, a, clock, full_proof)  # on the 20th
    go_out_and_deliver(client, auth(a), gone, clock().isoformat(), full_proof)
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    nho = {x["identifier"]: x for x in r.json["result"]["not_handed_over"]}
    assert list(nho) == [parcel.identifier, gone.identifier]
    assert nho[parcel.identifier]["reason"] == "failed_with_another_courier"
    assert f"courier {a.id}" in nho[parcel.identifier]["message"]
    assert nho[gone.identifier]["reason"] == "no_longer_to_deliver"
    assert "delivered" in nho[gone.identifier]["message"]
    assert routed_to(r.json) == {stays.identifier: b.id}
    assert periods_of(parcel) == [(a.id, None)]
    assert db.session.get(Item, gone.id).courier_id == a.id
    route = client.get("/api/v1/couriers/me/route?date=2026-11-21", headers=auth(b)).json
    assert [s["identifier"] for s in route["stops"]] == [stays.identifier]
    got = client.get(url, headers=h).json["result"]
    assert got["not_handed_over"] == r.json["result"]["not_handed_over"]


def test_a_parcel_that_failed_with_a_courier_of_the_plan_after_it_was_made_stays_theirs(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof):
    """As above, with A in the plan too (a plan made now would pin P to A): an edit may
    not put P on B's route (the plan never knew A had it), publishing does not hand it to
    B and says so; the dispatcher may put it on A's route, or give it to B by hand."""
    a, b = couriers
    parcel = make_item(office, events=("EMG",))
    h = auth(dispatcher)
    url, done = solved_plan(client, h, date="2026-11-21")
    on_b = {"routes": [{"courier_id": b.id, "identifiers": [parcel.identifier]},
                       {"courier_id": a.id, "identifiers": []}]}
    assert client.patch(url, headers=h, json=on_b).status_code == 200  # at the office
    assert client.post(f"/api/v1/items/{parcel.identifier}/assign", headers=h,
                       json={"courier_id": a.id}).status_code == 200
    go_out_and_fail(parcel, a, clock, full_proof)  # on the 20th
    r = client.patch(url, headers=h, json=on_b)
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == ["/routes/0/identifiers/0"]
    assert f"courier {a.id}" in r.json["errors"][0]["detail"]
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    assert [(x["identifier"], x["reason"]) for x in r.json["result"]["not_handed_over"]] == [
        (parcel.identifier, "failed_since_planned")]
    assert parcel.identifier not in routed_to(r.json)
    assert periods_of(parcel) == [(a.id, None)]
    assert r.json["result"]["routes"] == []  # B's only stop: B has no route that day
    assert client.get("/api/v1/couriers/me/route?date=2026-11-21",
                      headers=auth(b)).status_code == 404

    # a new plan, edited to put it on A's route: published, it stays with A, on the route
    url, done = solved_plan(client, h, date="2026-11-21")
    assert routed_to(done)[parcel.identifier] == a.id  # pinned to who has it
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a.id, "identifiers": [parcel.identifier]},
        {"courier_id": b.id, "identifiers": []}]})
    assert r.status_code == 200, r.json
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200 and r.json["result"].get("not_handed_over", []) == []
    route = client.get("/api/v1/couriers/me/route?date=2026-11-21", headers=auth(a)).json
    assert [s["identifier"] for s in route["stops"]] == [parcel.identifier]


def _delete_plan(plan_id):
    """Delete the plan's row as another connection would (an admin's cleanup)."""
    from sqlalchemy import delete

    with db.engine.begin() as conn:
        conn.execute(delete(RoutePlan).where(RoutePlan.id == plan_id))


@pytest.mark.parametrize("when", ["at_progress", "after_solve", "before_start"])
def test_a_plan_deleted_while_its_job_runs_is_an_info_line_not_a_failure(
        app, dispatcher, couriers, day_items, clock, monkeypatch, caplog, when):
    # the job found its plan gone at its next progress report (or when storing the
    # result) and logged "route plan N failed" with the ObjectDeletedError's traceback
    import logging

    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock())
    db.session.commit()
    plan_id = plan.id
    real, beats = service.routing.solve, []

    def solve(problem, params, *, progress=None, **kw):
        if when == "at_progress":
            _delete_plan(plan_id)

        def counted(cost, elapsed):
            beats.append(cost)
            progress(cost, elapsed)

        result = real(problem, params, progress=counted, **kw)
        if when == "after_solve":
            _delete_plan(plan_id)
        return result

    monkeypatch.setattr(service.routing, "solve", solve)
    if when == "before_start":
        _delete_plan(plan_id)
    db.session.expunge_all()
    with caplog.at_level(logging.INFO, logger=service.log.name):
        service.run(db.session, plan_id, clock=clock)
    records = [r for r in caplog.records if r.name == service.log.name]
    assert not [r for r in records if r.levelno >= logging.WARNING], [
        r.getMessage() for r in records]
    assert [r.getMessage() for r in records if r.levelno == logging.INFO] == [
        f"route plan {plan_id} was deleted before its job ended: nothing to store"]
    if when == "at_progress":
        assert len(beats) == 1  # the job stopped at its first progress report


def test_an_item_whose_attempts_were_used_up_since_its_plan_is_not_handed_over(
        client, auth, dispatcher, couriers, day_items):
    """A late failed attempt can use up an item's attempts after the plan that routes it
    was made: publishing would send a courier out with a parcel whose next round is
    refused (EDG, 409). It stays at the office, reported, as a plan made now would."""
    h = auth(dispatcher)
    url, done = solved_plan(client, h)
    used_up = next(i for i in day_items if i.identifier in routed_to(done))
    used_up.failed_attempts = 3  # the default limit (POSTAL_MAX_DELIVERY_ATTEMPTS)
    db.session.commit()
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    [x] = r.json["result"]["not_handed_over"]
    assert (x["identifier"], x["reason"]) == (used_up.identifier, "attempts_used_up")
    assert "3 failed attempts" in x["message"]
    assert used_up.identifier not in routed_to(r.json)
    assert db.session.get(Item, used_up.id).courier_id is None


def test_an_item_whose_attempts_are_used_up_is_not_planned(app, dispatcher, couriers,
                                                           day_items, clock):
    # a late failed attempt may use up the limit while the item waits at the office
    # (held, not sent back: docs/domain.md): a new round would be refused, so a plan
    # that routed it would send a courier out with a parcel they cannot take out
    used_up = day_items[0]
    used_up.failed_attempts = 3  # at the office (plannable), its attempts used up
    db.session.commit()
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock(),
                               max_attempts=3)
    stops = {s["id"] for s in plan.problem["stops"]}
    assert used_up.identifier not in stops and day_items[1].identifier in stops
    [left] = [x for x in plan.problem["left_out"] if x["identifier"] == used_up.identifier]
    assert left["reason"] == "attempts_used_up" and "3 failed attempts" in left["message"]
    # a higher limit leaves it a round
    plan = service.create_plan(db.session, dispatcher, service_input(), now=clock(),
                               max_attempts=4)
    assert used_up.identifier in {s["id"] for s in plan.problem["stops"]}


# ---- hard and soft pins: a re-plan may rebalance what a plan gave out at the office

def take_out(client, auth, courier, ident):
    r = client.post(f"/api/v1/items/{ident}/events", headers=auth(courier), json={
        "code": "EDG", "client_event_id": str(uuid.uuid4()),
        "device_time": "2026-11-20T08:05:00+07:00"})
    assert r.status_code == 201, r.json


def assign_by_hand(client, h, ident, courier):
    r = client.post(f"/api/v1/items/{ident}/assign", headers=h,
                    json={"courier_id": courier.id if courier is not None else None})
    assert r.status_code == 200, r.json


@pytest.fixture
def short_day(client, auth, dispatcher, make_user, office, day_items):
    """The office was short of couriers: A and B (five parcels each) were sent out with
    six of the day's twelve parcels each, the overload accepted when publishing. Since
    then A took the first parcel out, and the dispatcher gave the second (A's) to B by
    hand. Returns A, B, the identifiers and the published plan's url."""
    a, b = (make_user(Role.COURIER, office, vehicle_capacity_parcels=5,
                      vehicle_capacity_kg=50.0) for _ in range(2))
    h = auth(dispatcher)
    idents = [i.identifier for i in day_items]
    url, _ = solved_plan(client, h, courier_ids=[a.id, b.id])
    split(client, h, url, [a, b], idents[:6], idents[6:])
    r = client.post(f"{url}/publish", headers=h, json={"accept_issues": True})
    assert r.status_code == 200, r.json
    take_out(client, auth, a, idents[0])
    assign_by_hand(client, h, idents[1], b)
    return a, b, idents, url


def test_a_replan_gives_a_late_courier_parcels_a_plan_gave_out_at_the_office(
        client, auth, dispatcher, make_user, office, short_day):
    """C joins late: the re-plan moves published parcels still at the office to them
    (A and B cannot carry all they were given), while the parcel A took out stays A's,
    and the one given to B by hand stays B's; publishing hands the moved ones over."""
    from models import AssignmentHow, ItemAssignment

    a, b, idents, first = short_day
    h = auth(dispatcher)
    c = make_user(Role.COURIER, office, vehicle_capacity_parcels=30, vehicle_capacity_kg=50.0)
    url, done = solved_plan(client, h, courier_ids=[a.id, b.id, c.id],
                            keep_assignments=False)  # rebalance
    result = done["result"]
    assert result["unassigned"] == []
    now = routes_by_courier(result)
    assert idents[0] in now[a.id] and idents[1] in now[b.id]
    assert len(now[a.id]) <= 5 and len(now[b.id]) <= 5
    assert len(now[c.id]) >= 2 and set(now[c.id]) <= set(idents)  # published parcels
    # hard pins only: what A has and what B was given by hand
    assert pins_of(done) == {idents[0]: str(a.id), idents[1]: str(b.id)}
    # the rest of what they were given prefers them, at the default move cost
    stored = db.session.get(RoutePlan, done["id"]).problem
    assert stored["move_cost_m"] == service.DEFAULT_MOVE_COST_M == result["move_cost_m"]
    assert preferences_of(done) == {**{i: str(a.id) for i in idents[2:6]},
                                    **{i: str(b.id) for i in idents[6:]}}
    moved = len(now[c.id])  # (everything C has was A's or B's in force but idents[1])
    assert result["stability"] == {"previous_stops": 11, "kept": 11 - moved,
                                   "moved": moved, "unassigned": 0}
    # it started from the routes in force, without the parcel that left A since (B was
    # given it after their route was published: it is not on it)
    assert result["warm_start"]["stops"] == 11
    before = db.session.get(RoutePlan, done["id"]).problem["routes_before"]
    assert before == {str(a.id): [idents[0], *idents[2:6]], str(b.id): idents[6:]}

    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    assert r.json["result"]["not_handed_over"] == []
    db.session.expire_all()
    holders = {it.identifier: it.courier_id for it in db.session.query(Item)}
    assert all(holders[i] == c.id for i in now[c.id])
    assert holders[idents[0]] == a.id and holders[idents[1]] == b.id
    moved = db.session.query(ItemAssignment).filter_by(courier_id=c.id).all()
    assert {p.started_how for p in moved} == {AssignmentHow.ROUTE_PLAN}
    # B's by hand: the period the dispatcher opened goes on (nothing handed over)
    kept = db.session.query(ItemAssignment).filter_by(
        item_id=db.session.query(Item).filter_by(identifier=idents[1]).one().id,
        ended_at=None).one()
    assert (kept.courier_id, kept.started_how) == (b.id, AssignmentHow.MANUAL)
    assert client.get(first, headers=h).json["status"] == "superseded"
    mine = route_of(client, auth, c)
    assert sorted(s["identifier"] for s in mine["stops"]) == sorted(now[c.id])


def test_by_default_a_replan_pins_every_parcel_to_its_courier(client, auth, dispatcher,
                                                              make_user, office, short_day):
    """keep_assignments (the default): the late courier gets none of the parcels the
    published plan gave the others, even though they cannot serve them all."""
    a, b, idents, _ = short_day
    h = auth(dispatcher)
    c = make_user(Role.COURIER, office, vehicle_capacity_parcels=30, vehicle_capacity_kg=50.0)
    url, done = solved_plan(client, h, courier_ids=[a.id, b.id, c.id])
    holder = {a.id: [idents[0], *idents[2:6]], b.id: [idents[1], *idents[6:]]}
    assert pins_of(done) == {i: str(cid) for cid, ids in holder.items() for i in ids}
    now = routes_by_courier(done["result"])
    assert not set(now.get(c.id, [])) & set(idents)
    for cid, ids in now.items():
        assert set(ids) <= set(holder.get(cid, ())), (cid, ids)
    # nothing prefers anyone, nothing costs: nothing given out may move
    assert preferences_of(done) == {}
    assert "move_cost_m" not in db.session.get(RoutePlan, done["id"]).problem
    assert done["result"]["move_cost_m"] is None
    # B cannot carry all theirs: two are left out, none moved
    assert done["result"]["stability"] == {"previous_stops": 11, "kept": 9, "moved": 0,
                                           "unassigned": 2}
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(keep_assignments="perhaps"))
    assert r.status_code == 422 and "keep_assignments" in r.json["errors"][0]["pointer"]
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    doc = spec["PlanCreate"]["properties"]["keep_assignments"]
    assert doc["type"] == "boolean" and doc["default"] is True


def committed_of(plan):
    """The stops ``plan`` (its JSON) marks committed (given out already)."""
    return {s["id"] for s in db.session.get(RoutePlan, plan["id"]).problem["stops"]
            if s.get("committed")}


@pytest.mark.parametrize("rebalance", [False, True])
def test_a_replan_of_a_full_day_leaves_out_new_parcels_not_those_given_out(
        client, auth, dispatcher, make_user, office, day_items, make_item, rebalance):
    """A weight-bound day: A and B carry four parcels of 1.2 kg each, eight of the
    twelve are routed and published. Three new parcels come in next to the office
    (each cheaper to deliver than any parcel given out). The re-plan (pins, or a
    rebalancing one) keeps every parcel given out routed with its courier, and leaves
    out new ones: given-out stops are committed, a new one does not displace one."""
    a, b = (make_user(Role.COURIER, office, vehicle_capacity_parcels=30,
                      vehicle_capacity_kg=5.0) for _ in range(2))
    h = auth(dispatcher)
    first, done = published_plan(client, h, courier_ids=[a.id, b.id])
    given = routed_to(done)
    assert len(given) == 8 and set(given.values()) == {a.id, b.id}
    assert committed_of(done) == set()  # nothing was given out before
    extra = [make_item(office, events=("EMG",), recipient={
        "name": "Trần Thị Mai", "address": "5 Yersin", "city": "Nha Trang",
        "province": "Khánh Hòa", "lat": 12.2452 + 0.0002 * k, "lon": 109.1942})
        for k in range(3)]

    kw = {"keep_assignments": False} if rebalance else {}
    _, again = solved_plan(client, h, courier_ids=[a.id, b.id], **kw)
    assert committed_of(again) == set(given)
    now = routed_to(again)
    assert {i: now.get(i) for i in given} == given
    assert len(now) == 8  # nothing more fits
    left = unassigned_of(again)
    assert set(left) == ({i.identifier for i in day_items} - set(given)) | {
        e.identifier for e in extra}
    assert {u["reason"] for u in left.values()} == {"no_capacity_left"}
    assert again["result"]["stability"] == {"previous_stops": 8, "kept": 8, "moved": 0,
                                            "unassigned": 0}


def preferences_of(plan):
    """The stops ``plan`` (its JSON) prefers a courier for: ``{identifier: courier id}``."""
    return {s["id"]: s["preferred_courier"] for s in db.session.get(
        RoutePlan, plan["id"]).problem["stops"] if s.get("preferred_courier")}


def test_a_high_move_cost_moves_only_what_its_courier_cannot_carry(
        client, auth, dispatcher, make_user, office, short_day):
    """B was given six parcels for five places (and one more by hand since): a
    rebalancing plan with a high move cost gives the late courier C exactly the two
    that B cannot carry, and A keeps their round; the distances are real metres, the
    move cost is in none of them; the figures follow an edit, and C can re-optimise
    the route once it is published."""
    import routing
    from routing.evaluate import evaluate

    a, b, idents, _ = short_day
    h = auth(dispatcher)
    c = make_user(Role.COURIER, office, vehicle_capacity_parcels=30, vehicle_capacity_kg=50.0)
    url, done = solved_plan(client, h, courier_ids=[a.id, b.id, c.id],
                            keep_assignments=False, move_cost_m=20_000)
    result = done["result"]
    now = routes_by_courier(result)
    assert result["unassigned"] == [] and result["move_cost_m"] == 20_000
    assert sorted(now[a.id]) == sorted([idents[0], *idents[2:6]])
    assert len(now[c.id]) == 2 and set(now[c.id]) <= set(idents[6:])
    assert set(now[b.id]) == ({idents[1], *idents[6:]} - set(now[c.id]))
    assert result["stability"] == {"previous_stops": 11, "kept": 9, "moved": 2,
                                   "unassigned": 0}
    # real distances: the fixed routes evaluated without any move cost
    problem = routing.Problem.from_dict(db.session.get(RoutePlan, done["id"]).problem)
    real = evaluate(problem, {str(k): v for k, v in now.items()})
    assert result["distance_m"] == real.distance_m == done["best_cost"]
    assert sum(r["distance_m"] for r in result["routes"]) == real.distance_m
    check_documented(client, done, "Plan")
    # an edit giving C one of A's parcels: one more moved
    given = now[a.id][-1]
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a.id, "identifiers": now[a.id][:-1]},
        {"courier_id": b.id, "identifiers": now[b.id]},
        {"courier_id": c.id, "identifiers": [*now[c.id], given]}]})
    assert r.status_code == 200, r.json
    assert r.json["result"]["stability"] == {"previous_stops": 11, "kept": 8, "moved": 3,
                                             "unassigned": 0}
    assert r.json["result"]["move_cost_m"] == 20_000
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    # C's stops prefer B in the plan: a courier's re-optimisation takes them as theirs
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(c), json={
        "date": "2026-11-20", "location": {"lat": 12.245, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert sorted(s["identifier"] for s in r.json["stops"]) == sorted([*now[c.id], given])


@pytest.mark.parametrize(("body", "detail"), [
    ({"move_cost_m": 2000}, "rebalancing"),  # keep_assignments (the default) moves nothing
    ({"keep_assignments": True, "move_cost_m": 0}, "rebalancing"),
    ({"keep_assignments": False, "move_cost_m": -1}, ""),
    ({"keep_assignments": False, "move_cost_m": 50_001}, ""),
    ({"keep_assignments": False, "move_cost_m": 1.5}, ""),
    ({"keep_assignments": False, "move_cost_m": "far"}, ""),
    ({"keep_assignments": False, "move_cost_m": None}, ""),
    ({"keep_assignments": False, "move_cost_m": True}, ""),
], ids=["with-keep-default", "with-keep", "negative", "too-large", "fraction", "text", "null",
        "boolean"])
def test_a_bad_move_cost_is_a_422_on_its_field(client, auth, dispatcher, couriers, day_items,
                                               body, detail):
    r = client.post("/api/v1/route-plans", headers=auth(dispatcher), json=plan_body(**body))
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == ["/move_cost_m"]
    assert detail in r.json["errors"][0]["detail"]
    assert db.session.query(RoutePlan).count() == 0


def test_the_move_cost_is_documented(client, auth, dispatcher, couriers, day_items):
    import routing

    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]
    doc = spec["PlanCreate"]["properties"]["move_cost_m"]
    assert doc["type"] == "integer"
    assert (doc["minimum"], doc["maximum"]) == (0, routing.MAX_MOVE_COST_M)
    assert f"default {service.DEFAULT_MOVE_COST_M}" in doc["description"]
    # the bounds are accepted
    h = auth(dispatcher)
    for cost in (0, routing.MAX_MOVE_COST_M):
        r = client.post("/api/v1/route-plans", headers=h,
                        json=plan_body(keep_assignments=False, move_cost_m=cost))
        assert r.status_code == 202, r.json
        assert db.session.get(RoutePlan, r.json["id"]).problem["move_cost_m"] == cost


def test_a_parcel_given_by_hand_to_a_courier_not_in_the_plan_stays_theirs(
        client, auth, dispatcher, couriers, day_items, make_item, office):
    """A plan for other couriers does not give it away: left out, saying why; chosen,
    a 422. One a published plan gave a courier not in the new plan may go to another
    courier."""
    a, b = couriers
    h = auth(dispatcher)
    by_plan, by_hand = day_items[0].identifier, day_items[1].identifier
    published_plan(client, h, courier_ids=[a.id], identifiers=[by_plan])
    assign_by_hand(client, h, by_hand, a)

    url, done = solved_plan(client, h, courier_ids=[b.id])
    assert routed_to(done)[by_plan] == b.id
    left = unassigned_of(done)
    assert left[by_hand]["reason"] == "assigned_by_hand"
    assert f"assigned by hand to courier {a.id}" in left[by_hand]["message"]
    r = client.post("/api/v1/route-plans", headers=h, json=plan_body(
        courier_ids=[b.id], identifiers=[by_plan, by_hand]))
    assert r.status_code == 422, r.json
    assert [e["pointer"] for e in r.json["errors"]] == ["/identifiers/1"]
    assert f"assigned by hand to courier {a.id}" in r.json["errors"][0]["detail"]
    assert client.post(f"{url}/publish", headers=h).status_code == 200
    db.session.expire_all()
    assert db.session.query(Item).filter_by(identifier=by_hand).one().courier_id == a.id


def test_assigning_by_hand_the_courier_a_plan_gave_pins_the_parcel_to_them(
        client, auth, dispatcher, couriers, day_items):
    from models import AssignmentHow, ItemAssignment

    a, b = couriers
    h = auth(dispatcher)
    ident = day_items[0].identifier
    published_plan(client, h, courier_ids=[a.id], identifiers=[ident])
    item = db.session.query(Item).filter_by(identifier=ident).one()
    _, done = solved_plan(client, h, keep_assignments=False)  # rebalance
    assert ident not in pins_of(done)
    assign_by_hand(client, h, ident, a)  # the same courier: now theirs by hand
    assign_by_hand(client, h, ident, a)  # and again: nothing more changes
    db.session.expire_all()
    periods = db.session.query(ItemAssignment).filter_by(item_id=item.id).order_by(
        ItemAssignment.id).all()
    assert [(p.courier_id, p.started_how, p.ended_how) for p in periods] == [
        (a.id, AssignmentHow.ROUTE_PLAN, AssignmentHow.MANUAL),
        (a.id, AssignmentHow.MANUAL, None)]
    _, done = solved_plan(client, h)
    assert pins_of(done) == {ident: str(a.id)}


def test_a_parcel_given_by_hand_after_the_plan_was_made_is_not_handed_over(
        client, auth, dispatcher, couriers, day_items):
    """The dispatcher's later choice wins over the plan's: publishing neither hands the
    parcel to its route's courier nor takes it from the one it was given to, and an edit
    cannot put it on another courier's route."""
    a, b = couriers
    h = auth(dispatcher)
    idents = [i.identifier for i in day_items]
    url, _ = solved_plan(client, h)
    split(client, h, url, couriers, idents[:6], idents[6:10])  # 10, 11 on no route
    assign_by_hand(client, h, idents[0], b)
    assign_by_hand(client, h, idents[10], a)
    r = client.patch(url, headers=h, json={"routes": [
        {"courier_id": a.id, "identifiers": idents[:6]},
        {"courier_id": b.id, "identifiers": [*idents[6:10], idents[10]]}]})
    assert r.status_code == 422, r.json
    errors = {e["pointer"]: e["detail"] for e in r.json["errors"]}
    assert list(errors) == ["/routes/0/identifiers/0", "/routes/1/identifiers/4"]
    assert f"assigned by hand to courier {b.id} after the plan was made" in errors[
        "/routes/0/identifiers/0"]
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    assert [(x["identifier"], x["reason"]) for x in r.json["result"]["not_handed_over"]] == [
        (idents[0], "assigned_since_planned")]
    db.session.expire_all()
    holders = {it.identifier: it.courier_id for it in db.session.query(Item)}
    assert holders[idents[0]] == b.id and holders[idents[10]] == a.id
    assert holders[idents[11]] is None


def test_the_tracking_page_shows_when_a_parcel_out_is_expected(client, auth, dispatcher,
                                                               couriers, day_items, clock):
    """A customer whose parcel is out for delivery sees when it is expected: a window
    around its stop's ETA on the courier's route, moved by how late the courier runs
    (the latest stop before it served, against that stop's ETA); none once it is no
    longer out on the route."""
    from datetime import datetime, timedelta

    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    stops = route_of(client, auth, couriers[0])["stops"]
    order = [s["identifier"] for s in stops]
    eta = {s["identifier"]: datetime.fromisoformat(s["eta"]) for s in stops}
    target = order[-2]

    def expected(ident=target):
        r = client.get(f"/api/v1/track/{ident}")
        assert r.status_code == 200
        window = r.json["expected_delivery"]
        return window and {k: datetime.fromisoformat(v) for k, v in window.items()}

    def event(ident, code, **kw):
        body = {"code": code, "client_event_id": f"eta-{ident}-{code}",
                "device_time": clock().isoformat(), "location": {"lat": 12.24, "lon": 109.19},
                **kw}
        r = client.post(f"/api/v1/items/{ident}/events", headers=ch, json=body)
        assert r.status_code == 201, r.json

    def attempt(ident):
        event(ident, "EMH", reason="unreachable_by_phone", action="notice_left")

    assert expected() is None  # at the office: not out yet
    for ident in order:
        event(ident, "EDG")
    window = expected()
    assert window["from"] <= eta[target] <= window["to"]
    assert window["from"] >= eta[target] - timedelta(minutes=45)
    assert window["to"] <= eta[target] + timedelta(minutes=75)
    assert window["from"].minute % 15 == 0 and window["to"].minute % 15 == 0
    assert window["from"].utcoffset() == timedelta(hours=7)
    # the courier reaches the first stop 15 minutes behind its ETA: the rest moves by as
    # much (the window's end, a whole quarter, could not reach this without the delay)
    late = eta[order[0]] + timedelta(minutes=15)
    clock.advance(seconds=(late - clock()).total_seconds())
    attempt(order[0])
    moved = expected()
    assert moved["to"] >= eta[target] + timedelta(minutes=75)
    assert moved["from"] <= eta[target] + timedelta(minutes=15) <= moved["to"]
    # a stop after the parcel's served changes nothing
    attempt(order[-1])
    assert expected() == moved
    page = client.get(f"/track/{target}?lang=en").text
    shown = f"{moved['from']:%H:%M}–{moved['to']:%H:%M}"
    assert 'id="expected-delivery"' in page and "Expected today" in page and shown in page
    # the office's staff see it on the item's page (a customer on the phone)
    from tests.api.test_console import login

    assert login(client, dispatcher.username, "pw").status_code == 302
    page = client.get(f"/console/items?number={target}").text
    assert f'id="item-expected">{moved["from"]:%H:%M} – {moved["to"]:%H:%M}<' in page
    # the parcel's own attempt: no longer out, no window
    attempt(target)
    assert expected() is None
    assert 'id="expected-delivery"' not in client.get(f"/track/{target}").text


def test_the_expected_window_counts_what_the_route_waits_for_windows(
        client, auth, dispatcher, couriers, make_item, office, clock):
    """A courier 40 minutes late at one stop is not 40 minutes late where the route
    waits for a window to open after it: the wait takes up as much."""
    from datetime import datetime

    from api.route_plans.eta import expected_delivery

    courier = couriers[0]
    a, b, c = (make_item(office, courier=courier, events=("EMG", "EDG")) for _ in range(3))
    at = datetime.fromisoformat  # 09:00 local is 02:00 UTC; the clock is at 08:00 local

    def stop(item, eta, wait_s):
        return {"identifier": item.identifier, "eta": eta, "wait_s": wait_s}

    plan = RoutePlan(
        office_id=office.id, service_date=clock().date(), status=PlanStatus.PUBLISHED,
        created_by_id=dispatcher.id, created_at=clock(), published_at=clock(),
        time_limit_s=1, progress=1, problem={"couriers": [{"id": str(courier.id)}]},
        result={"routes": [{"courier_id": courier.id, "stops": [
            stop(a, "2026-11-20T09:00:00+07:00", 0),
            stop(b, "2026-11-20T10:00:00+07:00", 1800),
            stop(c, "2026-11-20T10:30:00+07:00", 0)]}]})
    db.session.add(plan)
    db.session.commit()

    def window(item):
        found = expected_delivery(db.session, db.session.get(Item, item.id), clock())
        return found and (f"{found['from']:%H:%M}", f"{found['to']:%H:%M}")

    assert window(b) == ("09:30", "11:00") and window(c) == ("10:00", "11:30")
    clock.advance(seconds=(at("2026-11-20T09:40:00+07:00") - clock()).total_seconds())
    r = client.post(f"/api/v1/items/{a.identifier}/events", headers=auth(courier), json={
        "code": "EMH", "client_event_id": "wait-a-001", "device_time": clock().isoformat(),
        "location": {"lat": 12.24, "lon": 109.19}, "reason": "unreachable_by_phone",
        "action": "notice_left"})
    assert r.status_code == 201, r.json
    # 40 minutes late, less the 30 the route waited at b: 10 minutes at b and c
    assert window(b) == ("09:30", "11:15") and window(c) == ("10:00", "11:45")
    assert window(a) is None


def test_a_plan_keeps_the_bag_on_its_courier_s_route(client, auth, dispatcher, couriers,
                                                     make_item, office):
    """Two heavy parcels out for delivery in a courier's bag, six light ones at the
    office: the plan left a bag parcel off the route to take three more light ones (the
    bag does not get lighter for it). The bag is on board now: it stays, the light
    ones fill what is left of the 50 kg."""
    courier = couriers[0]
    bag = [make_item(office, courier=courier, events=("EMG", "EDG"), weight_g=20_000)
           for _ in range(2)]
    new = [make_item(office, events=("EMG",), weight_g=3_000) for _ in range(6)]
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(courier_ids=[courier.id]),
                      headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded", "failed"})
    routed = {s["identifier"] for r in done["result"]["routes"] for s in r["stops"]}
    assert {i.identifier for i in bag} <= routed
    assert len(routed & {i.identifier for i in new}) == 3
    assert done["result"]["routes"][0]["weight_g"] == 49_000
    plan = db.session.get(RoutePlan, done["id"])
    assert sorted(s.get("on_board", False) for s in plan.problem["stops"]) == [False] * 6 + [
        True] * 2


def test_no_expected_window_once_the_courier_is_deactivated(
        client, dispatcher, couriers, make_item, office, clock):
    """A courier deactivated with parcels out keeps their route in force (the office
    reassigns the parcels), but can no longer log in to deliver them: the tracking page
    told the customer a window (then "within the hour", hour after hour) from a route
    that nobody drives."""
    courier = couriers[0]
    item = make_item(office, courier=courier, events=("EMG", "EDG"))
    plan = RoutePlan(
        office_id=office.id, service_date=clock().date(), status=PlanStatus.PUBLISHED,
        created_by_id=dispatcher.id, created_at=clock(), published_at=clock(),
        time_limit_s=1, progress=1, problem={"couriers": [{"id": str(courier.id)}]},
        result={"routes": [{"courier_id": courier.id, "stops": [
            {"identifier": item.identifier, "eta": "2026-11-20T10:00:00+07:00",
             "wait_s": 0}]}]})
    db.session.add(plan)
    db.session.commit()

    def expected():
        r = client.get(f"/api/v1/track/{item.identifier}")
        assert r.status_code == 200
        return r.json["expected_delivery"]

    assert expected() == {"from": "2026-11-20T09:30:00+07:00",
                          "to": "2026-11-20T11:00:00+07:00"}
    db.session.get(type(courier), courier.id).active = False
    db.session.commit()
    assert expected() is None
    assert 'id="expected-delivery"' not in client.get(f"/track/{item.identifier}").text


def test_no_expected_window_once_the_route_is_over(client, auth, dispatcher, couriers,
                                                   make_item, office, clock):
    """An hour past the time the courier is due back at the office (the route's end,
    moved by how late they run) a parcel still out has no result recorded: the window
    slid with the clock, "within the hour" all evening and on past midnight into the
    next day."""
    from datetime import datetime

    courier = couriers[0]
    a, b = (make_item(office, courier=courier, events=("EMG", "EDG")) for _ in range(2))
    plan = RoutePlan(
        office_id=office.id, service_date=clock().date(), status=PlanStatus.PUBLISHED,
        created_by_id=dispatcher.id, created_at=clock(), published_at=clock(),
        time_limit_s=1, progress=1, problem={"couriers": [{"id": str(courier.id)}]},
        result={"routes": [{"courier_id": courier.id, "end": "2026-11-20T12:00:00+07:00",
                            "stops": [
                                {"identifier": a.identifier, "eta": "2026-11-20T09:00:00+07:00",
                                 "wait_s": 0},
                                {"identifier": b.identifier, "eta": "2026-11-20T11:30:00+07:00",
                                 "wait_s": 0}]}]})
    db.session.add(plan)
    db.session.commit()

    def at(hhmm):
        clock.advance(seconds=(datetime.fromisoformat(f"2026-11-20T{hhmm}:00+07:00")
                               - clock()).total_seconds())

    def expected():
        r = client.get(f"/api/v1/track/{b.identifier}")
        assert r.status_code == 200
        return r.json["expected_delivery"]

    at("12:50")  # the route's end was 12:00: an hour's grace, as the window's own
    assert expected() == {"from": "2026-11-20T12:45:00+07:00",
                          "to": "2026-11-20T14:00:00+07:00"}
    at("13:10")
    assert expected() is None
    # an hour late at a (served at 10:00): due back at 13:00, the window holds an hour on
    r = client.post(f"/api/v1/items/{a.identifier}/events", headers=auth(courier), json={
        "code": "EMH", "client_event_id": "over-a-001",
        "device_time": "2026-11-20T10:00:00+07:00", "location": {"lat": 12.24, "lon": 109.19},
        "reason": "unreachable_by_phone", "action": "notice_left"})
    assert r.status_code == 201, r.json
    assert expected() == {"from": "2026-11-20T13:00:00+07:00",
                          "to": "2026-11-20T14:15:00+07:00"}
    at("14:05")
    assert expected() is None


def test_a_route_published_late_moves_its_windows_by_as_much(
        client, auth, dispatcher, couriers, make_item, office, clock):
    """A plan of the day from 08:00 published at 09:20: before any stop is served, the
    route cannot have begun before it was published (every window of the morning read
    "now"); a wait for a window takes up as much."""
    from api.route_plans.eta import expected_delivery

    courier = couriers[0]
    a, b = (make_item(office, courier=courier, events=("EMG", "EDG")) for _ in range(2))
    clock.advance(minutes=80)  # 09:20 local
    plan = RoutePlan(
        office_id=office.id, service_date=clock().date(), status=PlanStatus.PUBLISHED,
        created_by_id=dispatcher.id, created_at=clock(), published_at=clock(),
        time_limit_s=1, progress=1, problem={"couriers": [{"id": str(courier.id)}]},
        result={"routes": [{"courier_id": courier.id, "start": "2026-11-20T08:00:00+07:00",
                            "end": "2026-11-20T12:00:00+07:00", "stops": [
            {"identifier": a.identifier, "eta": "2026-11-20T09:00:00+07:00", "wait_s": 0},
            {"identifier": b.identifier, "eta": "2026-11-20T11:00:00+07:00",
             "wait_s": 3600}]}]})
    db.session.add(plan)
    db.session.commit()

    def window(item):
        found = expected_delivery(db.session, db.session.get(Item, item.id), clock())
        return found and (f"{found['from']:%H:%M}", f"{found['to']:%H:%M}")

    assert window(a) == ("09:45", "11:30")  # 09:00 + 80 min = 10:20
    assert window(b) == ("10:45", "12:30")  # 11:00 + 80 - 60 (its wait) = 11:20
    # once a stop is served, how late the courier runs is measured: a served at 09:25,
    # 25 minutes behind its ETA, which b's hour of waiting takes up: b is due at 11:00
    clock.advance(minutes=5)
    r = client.post(f"/api/v1/items/{a.identifier}/events", headers=auth(courier), json={
        "code": "EMH", "client_event_id": "late-pub-001", "device_time": clock().isoformat(),
        "location": {"lat": 12.24, "lon": 109.19}, "reason": "unreachable_by_phone",
        "action": "notice_left"})
    assert r.status_code == 201, r.json
    assert window(b) == ("10:30", "12:00")


def test_a_plan_of_today_made_at_noon_starts_then(client, auth, dispatcher, couriers,
                                                  day_items, make_item, office, clock):
    """A re-plan at 11:17 planned the day from 08:00: a window of 08:00-10:00 looked met
    and every ETA was hours early. It now starts at the next 5 minutes (11:20); a plan
    of another day, or of today once the shift is over, is planned as asked."""
    morning = make_item(office, events=("EMG",), delivery_window={
        "start": "2026-11-20T08:00:00+07:00", "end": "2026-11-20T10:00:00+07:00"})
    clock.advance(hours=3, minutes=17)  # 11:17 in Viet Nam
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    plan = db.session.get(RoutePlan, done["id"])
    assert {c["shift"]["open_s"] for c in plan.problem["couriers"]} == {11 * 3600 + 20 * 60}
    for route in done["result"]["routes"]:
        assert route["start"] == "2026-11-20T11:20:00+07:00"
        assert min(s["eta"] for s in route["stops"]) > "2026-11-20T11:20"
    assert morning.identifier in {u["identifier"] for u in done["result"]["unassigned"]}
    tomorrow = client.post("/api/v1/route-plans", json=plan_body(date="2026-11-21"),
                           headers=h).headers["Location"]
    done = wait_for(client, h, tomorrow, {"succeeded"})
    assert {r["start"] for r in done["result"]["routes"]} == {"2026-11-21T08:00:00+07:00"}
    clock.advance(hours=7)  # 18:17: the shift (to 17:30) is over
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    assert {r["start"] for r in done["result"]["routes"]} == {"2026-11-20T08:00:00+07:00"}


def test_a_tracking_look_up_reads_only_the_plan_holding_the_route(
        client, auth, dispatcher, couriers, make_item, office, clock):
    """Public look-ups read every published plan of the day, problems and results
    (~1 MB each at 1 000 stops), for any parcel out; now the latest first, one at a
    time, until the one holding the courier's route."""
    from sqlalchemy import event

    courier = couriers[0]
    item = make_item(office, courier=courier, events=("EMG", "EDG"))

    def published(stops):
        plan = RoutePlan(
            office_id=office.id, service_date=clock().date(), status=PlanStatus.PUBLISHED,
            created_by_id=dispatcher.id, created_at=clock(), published_at=clock(),
            time_limit_s=1, progress=1, problem={"couriers": [{"id": str(courier.id)}]},
            result={"routes": [{"courier_id": courier.id, "stops": stops}]})
        db.session.add(plan)
        db.session.commit()
        return plan.id

    for _ in range(3):  # earlier plans of the day
        published([])
    published([{"identifier": item.identifier, "eta": "2026-11-20T10:00:00+07:00",
                "wait_s": 0}])
    number = item.identifier
    db.session.expunge_all()
    loaded = []

    def count(target, _context):
        loaded.append(target.id)

    event.listen(RoutePlan, "load", count)
    try:
        r = client.get(f"/api/v1/track/{number}")
    finally:
        event.remove(RoutePlan, "load", count)
    assert r.json["expected_delivery"] is not None
    assert len(loaded) == 1


def test_a_plan_made_during_the_day_starts_couriers_on_the_road_where_they_are(
        app, client, auth, dispatcher, couriers, day_items, make_item, make_user, office, clock):
    """A re-plan at noon started every route at the office: a courier 2 km away with
    their bag was routed from the office, and new parcels from the office as if they
    rode with them. Now a courier whose phone sent a position in the last 15 minutes,
    away from the office, starts there with their bag, and passes by the office to
    load anything the plan adds; one whose latest position is older starts at the
    office as before."""
    from datetime import datetime, timedelta

    from models import CourierPosition

    out, idle = couriers
    back = make_user(Role.COURIER, office)
    indoors = make_user(Role.COURIER, office)
    north = {"name": "Lê Thị Bình", "phone": "0912345678", "address": "5 Phạm Văn Đồng",
             "ward": "Vĩnh Hải", "city": "Nha Trang", "province": "Khánh Hòa"}
    bag = [make_item(office, courier=out, events=("EMG", "EDG"),
                     recipient={**north, "lat": 12.266 + 0.002 * n, "lon": 109.195})
           for n in range(3)]
    clock.advance(hours=3, minutes=17)  # 11:17 in Viet Nam
    here = {"lat": 12.2630, "lon": 109.1940}  # 2 km north of the office
    for n, (who, ago, at) in enumerate([(out, 4, here), (idle, 40, here), (back, 6, here),
                                        (indoors, 2, here)]):
        db.session.add(CourierPosition(
            client_event_id=f"road-ping-{n}", courier_id=who.id,
            device_time=clock() - timedelta(minutes=ago), server_time=clock(), **at,
            # a phone indoors at the office: a network fix, 2 km off, good to 3 km
            accuracy_m=3000.0 if who is indoors else 12.0))
    db.session.commit()
    # back at the office, loading a parcel out (EDG) since their last fix, on the road
    make_item(office, courier=back, events=("EMG", "EDG"))
    h = auth(dispatcher)
    url = client.post("/api/v1/route-plans", json=plan_body(
        courier_ids=[out.id, idle.id, back.id, indoors.id]), headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    plan = db.session.get(RoutePlan, done["id"])
    starts = {c["id"]: (c.get("start"), c.get("bag_only")) for c in plan.problem["couriers"]}
    assert starts == {str(out.id): (here, True), str(idle.id): (None, None),
                      str(back.id): (None, None), str(indoors.id): (None, None)}
    for route in done["result"]["routes"]:
        if route["courier_id"] == idle.id:
            assert route["start_location"] == {"lat": office.lat, "lon": office.lon}
            assert "office_visit" not in route
    # POSTAL_OFFICE_LOAD_MINUTES, 5, and POSTAL_OFFICE_LOAD_SECONDS_PER_PARCEL, 15
    assert plan.problem["office"]["load_s"] == 300
    assert plan.problem["office"]["load_per_parcel_s"] == 15
    # the courier out alone: the bag first, from where they are, then the office's,
    # loaded in the office's time: 25 minutes and 30 s for each parcel loaded there
    app.config.update(OFFICE_LOAD_MINUTES=25, OFFICE_LOAD_SECONDS_PER_PARCEL=30)
    url = client.post("/api/v1/route-plans", json=plan_body(courier_ids=[out.id]),
                      headers=h).headers["Location"]
    done = wait_for(client, h, url, {"succeeded"})
    (route,) = done["result"]["routes"]
    assert route["start_location"] == here
    visit = route["office_visit"]
    before = [s["identifier"] for s in route["stops"] if s["sequence"] < visit["before_sequence"]]
    assert set(before) == {it.identifier for it in bag}
    loaded = len(route["stops"]) - len(before)  # a parcel each
    assert loaded > 0
    assert (datetime.fromisoformat(visit["departure"])
            - datetime.fromisoformat(visit["arrival"])) == timedelta(minutes=25,
                                                                     seconds=30 * loaded)
    assert visit["arrival"] < visit["departure"] <= route["stops"][len(before)]["eta"]
    assert len(route["stops"]) + len(done["result"]["unassigned"]) == len(day_items) + len(bag)
    line = next(f for f in client.get(f"{url}/geojson", headers=h).json["features"]
                if f["properties"]["kind"] == "route")["geometry"]["coordinates"]
    assert line[0] == [here["lon"], here["lat"]]
    assert line[len(before) + 1] == [office.lon, office.lat]


def test_a_delivery_synced_while_the_route_is_replanned_is_not_planned_ahead(
        app, client, auth, dispatcher, couriers, day_items, clock, full_proof, monkeypatch):
    """A phone back in coverage sends its backlog and asks for a new route at once: a
    delivery the sync recorded while the solver ran was planned as a stop still ahead,
    with an ETA (and the route's distance counting the detour to it)."""
    import routing

    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    order = [s["identifier"] for s in route_of(client, auth, couriers[0])["stops"]]
    first = next(i for i in day_items if i.identifier == order[0])
    proof = full_proof(first)
    r = client.post(f"/api/v1/items/{order[0]}/events", headers=ch, json={
        "code": "EDG", "client_event_id": "race-reopt-edg",
        "device_time": "2026-11-20T09:00:00+07:00", "location": {"lat": 12.24, "lon": 109.19}})
    assert r.status_code == 201, r.json
    clock.advance(hours=1)

    def deliver_meanwhile(*args, **kwargs):
        def sync(c):
            return c.post("/api/v1/sync", headers=ch, json={"events": [{
                "kind": "event", "identifier": order[0], "code": "EMI",
                "client_event_id": "race-reopt-emi", "device_time": "2026-11-20T09:30:00+07:00",
                "location": {"lat": 12.24, "lon": 109.19}, "proof": proof}]})
        (synced,) = at_once(app, sync)
        assert synced.json["results"][0]["result"] == "accepted", synced.json
        return real(*args, **kwargs)

    real = routing.reoptimize
    monkeypatch.setattr(service.routing, "reoptimize", deliver_meanwhile)
    body = {"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}}
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=body)
    assert r.status_code == 409 and r.json["type"] == "/problems/plan-changed", r.json
    monkeypatch.setattr(service.routing, "reoptimize", real)
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=body)
    assert r.status_code == 200, r.json
    stop = next(s for s in r.json["stops"] if s["identifier"] == order[0])
    assert stop.get("done") is True and stop["status"] == "delivered"


#: A recipient near the office, and a delivery window over by mid-morning: a bag
#: parcel with it cannot be routed by a re-plan at 10:00.
BAG_RECIPIENT = {"name": "Lê Văn Tám", "address": "1 Yersin", "city": "Nha Trang",
                 "province": "Khánh Hòa", "lat": 12.241, "lon": 109.187}
MORNING_WINDOW = {"start": "2026-11-20T08:00:00+07:00", "end": "2026-11-20T09:00:00+07:00"}


def test_a_replan_keeps_the_bag_parcels_it_cannot_route_on_their_couriers_route(
        client, auth, dispatcher, couriers, make_item, office, clock):
    """A re-plan at 10:00 cannot serve a parcel in a courier's bag whose window closed at
    09:00: it stays theirs (it is in their bag), and their phone's route lists it after
    the planned stops, without an ETA and saying why, as a re-optimisation does; their
    next re-optimisation tries it again. A courier the plan routes nothing else for gets
    a route of it alone."""
    h = auth(dispatcher)
    rcpt, window = BAG_RECIPIENT, MORNING_WINDOW
    late = make_item(office, courier=couriers[0], events=("EMG", "EDG"), recipient=rcpt,
                     delivery_window=window)
    others = [make_item(office, courier=couriers[0], events=("EMG", "EDG"),
                        recipient={**rcpt, "lat": 12.243 + 0.002 * i}) for i in range(2)]
    alone = make_item(office, courier=couriers[1], events=("EMG", "EDG"),
                      recipient={**rcpt, "lat": 12.239}, delivery_window=window)
    clock.advance(hours=2)  # 10:00 in Viet Nam
    url, done = published_plan(client, h, statuses=["out_for_delivery"])
    left = {u["identifier"]: u for u in done["result"]["unassigned"]}
    assert set(left) == {late.identifier, alone.identifier}

    mine = route_of(client, auth, couriers[0])
    assert {s["identifier"] for s in mine["stops"][:2]} == {o.identifier for o in others}
    last = mine["stops"][-1]
    assert len(mine["stops"]) == 3 and last["identifier"] == late.identifier
    assert last["sequence"] == 3 and last["eta"] is None and last["still_yours"]
    assert last["unplaced"] == {"reason": left[late.identifier]["reason"],
                                "message": left[late.identifier]["message"]}
    assert all(s["eta"] is not None for s in mine["stops"][:2])
    check_documented(client, mine, "CourierRoute")
    theirs = route_of(client, auth, couriers[1])
    check_documented(client, theirs, "CourierRoute")
    assert [s["identifier"] for s in theirs["stops"]] == [alone.identifier]
    assert theirs["stops"][0]["unplaced"]["reason"] == left[alone.identifier]["reason"]
    assert theirs["distance_m"] == 0
    db.session.expire_all()
    assert db.session.get(Item, late.id).courier_id == couriers[0].id
    assert db.session.get(Item, alone.id).courier_id == couriers[1].id
    # the stop's marker is on the map, off the line
    gj = client.get(f"{url}/geojson", headers=h).json
    points = [f for f in gj["features"] if f["properties"].get("identifier") == late.identifier]
    assert len(points) == 1 and points[0]["properties"]["eta"] is None
    # the next re-optimisation tries it again, and keeps it
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(couriers[0]), json={
        "date": "2026-11-20", "location": {"lat": 12.245, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert sorted(s["identifier"] for s in r.json["stops"]) == sorted(
        [late.identifier, *(o.identifier for o in others)])
    assert r.json["stops"][-1]["identifier"] == late.identifier
    assert r.json["stops"][-1]["unplaced"]["reason"]


def test_a_couriers_route_lists_the_parcels_in_their_bag_on_no_stop(
        client, auth, dispatcher, couriers, make_item, office, day_items):
    """A parcel in the courier's bag with no coordinates is on no route, and one given to
    them and taken out after the route was published is not on it until a re-plan: the
    phone's route lists both (``off_route``), saying why, so that neither is forgotten
    in the bag, and a re-optimisation keeps the list."""
    a = couriers[0]
    h = auth(dispatcher)
    published_plan(client, h, courier_ids=[a.id])
    nowhere = make_item(office, courier=a, events=("EMG", "EDG"), cod_amount=250_000,
                        recipient={"name": "Lê Văn C", "address": "5 Hẻm 12",
                                   "city": "Nha Trang", "province": "Khánh Hòa"})
    given = make_item(office, events=("EMG",))
    assign_by_hand(client, h, given.identifier, a)
    take_out(client, auth, a, given.identifier)
    route = route_of(client, auth, a)
    assert [(x["identifier"], x["reason"]) for x in route["off_route"]] == sorted(
        [(nowhere.identifier, "no_coordinates"), (given.identifier, "not_in_plan")])
    cod = {x["identifier"]: x["cod_amount"] for x in route["off_route"]}
    assert cod[nowhere.identifier] == 250_000
    assert not {nowhere.identifier, given.identifier} & {
        s["identifier"] for s in route["stops"]}
    check_documented(client, route, "CourierRoute")
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(a), json={
        "date": "2026-11-20", "location": {"lat": 12.245, "lon": 109.19}})
    assert r.status_code == 200, r.json
    assert r.json["off_route"] == route["off_route"]
    # a parcel of the route, out for delivery, is a stop, not off the route
    stop = route["stops"][0]["identifier"]
    take_out(client, auth, a, stop)
    assert stop not in {x["identifier"] for x in route_of(client, auth, a)["off_route"]}
    # the bag is today's: tomorrow's route lists none of it
    published_plan(client, h, courier_ids=[a.id], date="2026-11-21")
    r = client.get("/api/v1/couriers/me/route?date=2026-11-21", headers=auth(a))
    assert r.status_code == 200 and r.json["off_route"] == []
    # the plan's own reason when it left a parcel of the bag out
    late = make_item(office, courier=a, events=("EMG", "EDG"), recipient=BAG_RECIPIENT,
                     delivery_window={"start": "2026-11-22T09:00:00+07:00",
                                      "end": "2026-11-22T11:00:00+07:00"})
    published_plan(client, h, courier_ids=[a.id])
    off = {x["identifier"]: x["reason"] for x in route_of(client, auth, a)["off_route"]}
    assert off[late.identifier] == "window_not_on_this_day"


def test_a_parcel_taken_out_by_another_courier_of_the_plan_before_publishing_is_on_their_route(
        client, auth, dispatcher, couriers, make_item, office, clock):
    """A plan routes a parcel at the office to one courier; before it is published the
    dispatcher gives it by hand to another courier of the plan, who takes it out. Publishing
    does not hand it over (``not_handed_over``: in the other courier's bag), and the plan
    takes over that courier's route: it is in their bag, still theirs to deliver that day,
    so their route lists it, unplaced, as a bag parcel the plan left out."""
    parcel = make_item(office, events=("EMG",))  # at the office, nobody's
    other = make_item(office, events=("EMG",))
    h = auth(dispatcher)
    url, done = solved_plan(client, h, courier_ids=[c.id for c in couriers])
    to = routed_to(done)[parcel.identifier]
    holder = next(c for c in couriers if c.id != to)
    assert client.post(f"/api/v1/items/{parcel.identifier}/assign", headers=h,
                       json={"courier_id": holder.id}).status_code == 200
    clock.advance(minutes=10)
    r = client.post(f"/api/v1/items/{parcel.identifier}/events", headers=auth(holder), json={
        "code": "EDG", "client_event_id": "taken-out-before-publish",
        "device_time": clock().isoformat(), "location": {"lat": 12.24, "lon": 109.19}})
    assert r.status_code == 201, r.json
    r = client.post(f"{url}/publish", headers=h)
    assert r.status_code == 200, r.json
    assert [(x["identifier"], x["reason"]) for x in r.json["result"]["not_handed_over"]] == [
        (parcel.identifier, "out_with_another_courier")]
    db.session.expire_all()
    assert db.session.get(Item, parcel.id).courier_id == holder.id
    theirs = route_of(client, auth, holder)
    assert "stops" in theirs, theirs
    stop = next((s for s in theirs["stops"] if s["identifier"] == parcel.identifier), None)
    assert stop is not None and stop["still_yours"] and stop["eta"] is None
    assert stop["unplaced"]["reason"] == "out_with_another_courier"
    assert parcel.identifier not in [s["identifier"] for s in route_of(
        client, auth, next(c for c in couriers if c.id == to)).get("stops", [])]
    assert other.identifier in routed_to(r.json)


def test_a_route_of_bag_parcels_alone_says_what_it_keeps_of_the_route_in_force(
        client, auth, dispatcher, couriers, make_item, office, clock):
    """Every route of a published plan says how much of it was on its courier's route in
    force (``previous_stops``, ``kept_from_previous``; null when they had none), also the
    route publishing makes of the bag parcels the plan could not route."""
    h = auth(dispatcher)
    rcpt, window = BAG_RECIPIENT, MORNING_WINDOW
    make_item(office, courier=couriers[0], events=("EMG", "EDG"), recipient=rcpt)
    alone = make_item(office, courier=couriers[1], events=("EMG", "EDG"),
                      recipient={**rcpt, "lat": 12.239}, delivery_window=window)
    published_plan(client, h, statuses=["out_for_delivery"])  # 08:00: on courier 1's route
    assert [s["identifier"] for s in route_of(client, auth, couriers[1])["stops"]] == [
        alone.identifier]
    clock.advance(hours=2)  # 10:00: its window closed
    url, done = published_plan(client, h, statuses=["out_for_delivery"])
    assert alone.identifier in {u["identifier"] for u in done["result"]["unassigned"]}
    routes = {r["courier_id"]: r for r in client.get(url, headers=h).json["result"]["routes"]}
    assert [s["identifier"] for s in routes[couriers[1].id]["stops"]] == [alone.identifier]
    assert all("previous_stops" in r and "kept_from_previous" in r for r in routes.values())
    assert routes[couriers[1].id]["previous_stops"] == 1
    assert routes[couriers[1].id]["kept_from_previous"] == 1




def test_a_plan_s_stability_counts_the_bag_parcels_publishing_keeps_on_their_route(
        client, auth, dispatcher, couriers, make_item, office, clock):
    """The plan's ``stability`` (of the stops on its couriers' routes in force, how many
    are kept, moved or unassigned) agrees with its routes once published: a bag parcel
    the plan could not route goes back on its courier's route at publishing, and its
    route counts it in ``kept_from_previous``, so the plan counts it as kept, not as
    unassigned."""
    h = auth(dispatcher)
    rcpt, window = BAG_RECIPIENT, MORNING_WINDOW
    make_item(office, courier=couriers[0], events=("EMG", "EDG"), recipient=rcpt)
    alone = make_item(office, courier=couriers[1], events=("EMG", "EDG"),
                      recipient={**rcpt, "lat": 12.239}, delivery_window=window)
    published_plan(client, h, statuses=["out_for_delivery"])  # 08:00: on courier 1's route
    clock.advance(hours=2)  # 10:00: its window closed
    url, _ = published_plan(client, h, statuses=["out_for_delivery"])
    result = client.get(url, headers=h).json["result"]
    routes = {r["courier_id"]: r for r in result["routes"]}
    assert [s["identifier"] for s in routes[couriers[1].id]["stops"]] == [alone.identifier]
    assert sum(r["kept_from_previous"] for r in routes.values()) == 2
    assert result["stability"] == {"previous_stops": 2, "kept": 2, "moved": 0,
                                   "unassigned": 0}


def test_a_done_stop_a_plan_had_left_unplaced_is_done_not_unplaced(
        client, auth, dispatcher, couriers, make_item, office, clock, full_proof):
    """A bag parcel a published plan could not route is on its courier's route,
    ``unplaced``; once attempted, the courier's re-optimisation marks it ``done``, and
    no longer ``unplaced`` (the schema: ``unplaced`` is a stop the new route could not
    fit, absent on the others): the phone showed a parcel it had just attempted both
    done and still to fit in."""
    h = auth(dispatcher)
    rcpt, window = BAG_RECIPIENT, MORNING_WINDOW
    alone = make_item(office, courier=couriers[1], events=("EMG", "EDG"),
                      recipient={**rcpt, "lat": 12.239}, delivery_window=window)
    other = make_item(office, courier=couriers[1], events=("EMG", "EDG"),
                      recipient={**rcpt, "lat": 12.238})
    clock.advance(hours=2)  # 10:00: the window of one of them closed
    published_plan(client, h, statuses=["out_for_delivery"])
    stops = route_of(client, auth, couriers[1])["stops"]
    assert [s["identifier"] for s in stops] == [other.identifier, alone.identifier]
    assert stops[-1]["unplaced"]["reason"]
    go_out_and_fail(alone, couriers[1], clock, full_proof)  # attempted after all
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=auth(couriers[1]),
                    json={"date": "2026-11-20", "location": {"lat": 12.24, "lon": 109.19}})
    assert r.status_code == 200, r.json
    done = next(s for s in r.json["stops"] if s["identifier"] == alone.identifier)
    assert done["done"] is True
    assert "unplaced" not in done


def test_a_pass_by_the_office_for_a_parcel_held_there_since_is_not_shown(
        client, auth, dispatcher, couriers, day_items, clock):
    # the route passes by the office to load two parcels left there; the courier takes
    # one out and the office holds the other (the recipient will collect it): held since
    # the plan was published, it is done for the day (a re-optimisation plans no pass
    # for it), yet the phone kept sending the courier back to the office to load it
    ch, order, r = on_the_road_with_two_left(client, auth, dispatcher, couriers[0], clock)
    assert r.json["office_visit"] is not None
    taken, held = order[-2], order[-1]
    assert client.post(f"/api/v1/items/{taken}/events", headers=ch, json={
        "code": "EDG", "client_event_id": "held-visit-late",
        "device_time": "2026-11-20T10:05:00+07:00",
        "location": {"lat": 12.245, "lon": 109.194}}).status_code == 201
    scan_in(next(i for i in day_items if i.identifier == held), dispatcher, clock)
    again = client.get("/api/v1/couriers/me/route?date=2026-11-20", headers=ch).json
    assert again["office_visit"] is None
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=ROAD)
    assert r.status_code == 200, r.json
    assert r.json["office_visit"] is None
    assert next(s for s in r.json["stops"] if s["identifier"] == held)["done"]


def test_a_stop_left_unplaced_then_delivered_is_done_not_unplaced(
        client, auth, dispatcher, couriers, day_items, clock, full_proof):
    # a re-optimisation could not place a stop (the shift over, a window closed); the
    # courier delivers it anyway (the recipient called): the next re-optimisation marked
    # it done and still unplaced, with the reason, so the phone listed a delivered parcel
    # among those it could not fit
    published_plan(client, auth(dispatcher), courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    clock.advance(hours=10)  # 18:00 in Viet Nam: nothing fits any more
    road = {"date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}}
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=road)
    assert r.status_code == 200, r.json
    first = r.json["stops"][0]
    assert first["unplaced"]
    item = next(i for i in day_items if i.identifier == first["identifier"])
    for code in ("EDG", "EMI"):
        body = {"code": code, "client_event_id": f"unplaced-then-{code}",
                "device_time": clock().isoformat(), "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMI":
            body["proof"] = full_proof(item)
        assert client.post(f"/api/v1/items/{item.identifier}/events", headers=ch,
                           json=body).status_code == 201
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=road)
    assert r.status_code == 200, r.json
    done = next(s for s in r.json["stops"] if s["identifier"] == item.identifier)
    assert done["done"] and done["status"] == "delivered"
    assert "unplaced" not in done
    assert [s["identifier"] for s in r.json["stops"] if s.get("unplaced")] == [
        s["identifier"] for s in r.json["stops"] if not s.get("done")]


def test_a_stop_done_then_sent_out_again_and_left_unplaced_is_not_done(
        client, auth, dispatcher, couriers, day_items, clock):
    # failed, marked done by a re-optimisation, then sent out again (the recipient
    # called back): the next re-optimisation that cannot fit it any more kept its
    # "done" beside the "unplaced", and the phone hid a parcel still in the bag
    from datetime import timedelta

    published_plan(client, auth(dispatcher), courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    ident = route_of(client, auth, couriers[0])["stops"][0]["identifier"]
    for n, code in enumerate(("EDG", "EMH", "EDG")):
        body = {"code": code, "client_event_id": f"done-again-{n}",
                "device_time": (clock() + timedelta(minutes=n)).isoformat(),
                "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMH":
            body.update(reason="unreachable_by_phone", action="called_recipient")
        r = client.post(f"/api/v1/items/{ident}/events", headers=ch, json=body)
        assert r.status_code == 201, r.json
        if code == "EMH":
            clock.advance(minutes=30)
            r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
                "date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}})
            assert next(s for s in r.json["stops"] if s["identifier"] == ident)["done"]
    clock.advance(hours=10)  # past the shift: nothing fits
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json={
        "date": "2026-11-20", "location": {"lat": 12.25, "lon": 109.19}})
    assert r.status_code == 200, r.json
    stop = next(s for s in r.json["stops"] if s["identifier"] == ident)
    assert stop["status"] == "out_for_delivery" and stop["unplaced"]
    assert not stop.get("done")


def test_a_stop_done_then_sent_out_again_is_not_done_before_the_next_reoptimisation(
        client, auth, dispatcher, couriers, day_items, clock, office):
    # failed, marked done by a re-optimisation, then sent out again (the recipient called
    # back): until the courier re-optimised again, their phone showed the parcel in
    # their bag as done, and the dispatcher's view of the routes in force left it off
    from datetime import date, timedelta

    published_plan(client, auth(dispatcher), courier_ids=[couriers[0].id])
    ch = auth(couriers[0])
    ident = route_of(client, auth, couriers[0])["stops"][0]["identifier"]
    for n, code in enumerate(("EDG", "EMH")):
        body = {"code": code, "client_event_id": f"undone-{n}",
                "device_time": (clock() + timedelta(minutes=n)).isoformat(),
                "location": {"lat": 12.24, "lon": 109.19}}
        if code == "EMH":
            body.update(reason="unreachable_by_phone", action="called_recipient")
        assert client.post(f"/api/v1/items/{ident}/events", headers=ch,
                           json=body).status_code == 201
    clock.advance(minutes=30)
    r = client.post("/api/v1/couriers/me/route/reoptimize", headers=ch, json=ROAD)
    assert r.status_code == 200, r.json
    assert next(s for s in r.json["stops"] if s["identifier"] == ident)["done"]

    def in_force() -> dict:
        """the stop on the console's routes in force, with its map marker's properties
        (``marker``)"""
        routes = service.routes_in_force_json(db.session, office.id, date(2026, 11, 20))
        marker = next(f["properties"] for f in routes["geojson"]["features"]
                      if f["properties"].get("identifier") == ident)
        stop = next(s for s in routes["routes"][0]["stops"] if s["identifier"] == ident)
        return {**stop, "marker": marker}

    # failed: done for the day, as the phone says, and its marker too (the map showed it
    # as a stop still to make, at the ETA planned before)
    assert in_force()["done"] and in_force()["marker"]["done"]
    assert client.post(f"/api/v1/items/{ident}/events", headers=ch, json={
        "code": "EDG", "client_event_id": "undone-again", "device_time": clock().isoformat(),
        "location": {"lat": 12.24, "lon": 109.19}}).status_code == 201
    stop = next(s for s in client.get("/api/v1/couriers/me/route?date=2026-11-20",
                                      headers=ch).json["stops"] if s["identifier"] == ident)
    assert stop["status"] == "out_for_delivery" and stop["still_yours"]
    assert not stop.get("done")
    assert not in_force().get("done") and "done" not in in_force()["marker"]
