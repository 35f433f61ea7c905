from __future__ import annotations

import os

import pytest

from api import create_app
from api.items.service import replayed_state
from models import Item, Role, Status, User, db


def test_refuses_to_start_with_the_development_secret(tmp_path):
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    # demo mode tolerates it; an explicit secret is always fine
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "DEMO_MODE": True})
    create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db", "SECRET_KEY": "s3cret"})


@pytest.mark.parametrize("value", ["False", "no", "off", "FALSE"])
def test_demo_mode_spelled_false_is_off(tmp_path, monkeypatch, value):
    # not JSON, so it stayed the string "False", which is true: demo mode on, the
    # development secret tolerated and `demo load` allowed in production
    monkeypatch.setenv("POSTAL_DEMO_MODE", value)
    monkeypatch.delenv("POSTAL_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    monkeypatch.setenv("POSTAL_DEMO_MODE", "maybe")
    with pytest.raises(RuntimeError, match="POSTAL_DEMO_MODE"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"})
    monkeypatch.setenv("POSTAL_DEMO_MODE", "True")
    assert create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"}
                      ).config["DEMO_MODE"] is True


def test_secret_key_from_the_environment_is_taken_as_written(tmp_path, monkeypatch):
    # an empty one (`POSTAL_SECRET_KEY=${UNSET}` in a compose file) started the app, and
    # every console page was a 500 ("no secret key was set"); a numeric one too (JSON: int)
    uri = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"}
    monkeypatch.setenv("POSTAL_SECRET_KEY", "")
    with pytest.raises(RuntimeError, match="POSTAL_SECRET_KEY"):
        create_app(uri)
    monkeypatch.setenv("POSTAL_SECRET_KEY", "20261127123456789")
    app = create_app(uri)
    assert app.config["SECRET_KEY"] == "20261127123456789"
    assert app.test_client().get("/console/login").status_code == 200


@pytest.mark.parametrize(("key", "value"), [
    ("POSTAL_TOKEN_TTL_HOURS", "abc"), ("POSTAL_TOKEN_TTL_HOURS", "-1"),
    ("POSTAL_TOKEN_TTL_HOURS", "1e9"), ("POSTAL_MAX_CONTENT_LENGTH", "12MB"),
    ("POSTAL_MAX_CONTENT_LENGTH", "-1"), ("POSTAL_GPS_MIN_INTERVAL_S", "abc"),
    ("POSTAL_GPS_RETENTION_DAYS", "0"), ("POSTAL_GPS_RETENTION_DAYS", "-5"),
    ("POSTAL_SQLITE_BUSY_TIMEOUT_S", "abc"), ("POSTAL_PROXY_FIX_X_FOR", "abc"),
    # a route plan's office visit: a negative load time made every plan fail
    ("POSTAL_OFFICE_LOAD_MINUTES", "-1"), ("POSTAL_OFFICE_LOAD_MINUTES", "241"),
    ("POSTAL_OFFICE_LOAD_SECONDS_PER_PARCEL", "-1"),
    ("POSTAL_OFFICE_LOAD_SECONDS_PER_PARCEL", "601"),
    ("POSTAL_OFFICE_LOAD_SECONDS_PER_PARCEL", "7.5"),
    ("POSTAL_OFFICE_LOAD_SECONDS_PER_PARCEL", "abc"),
    ("POSTAL_LOGIN_FAILURE_LIMIT_USER", "3/15min"), ("POSTAL_PROOF_FAILURE_LIMIT", "abc"),
    # a limit of 0 refused every login, the right password too
    ("POSTAL_LOGIN_FAILURE_LIMIT_USER", "0 per 15 minutes"),
    ("POSTAL_TRACKING_RATE_LIMIT", "0 per minute"),
    # another carrier's code in an item, an import or a scan was a 500
    ("POSTAL_CARRIER_PATTERNS", '{"GHN": "^G[A-Z0-9"}'), ("POSTAL_CARRIER_PATTERNS", '["^G"]'),
    ("POSTAL_CARRIER_PATTERNS", "GHN"), ("POSTAL_CARRIER_PATTERNS", '{"GHN": 5}'),
    ("POSTAL_CARRIER_PATTERNS", '{"GHN": ""}'),
])
def test_bad_settings_are_refused_at_start(tmp_path, monkeypatch, key, value):
    # they started the app and failed later: every login (or upload, sync) a 500, the
    # login limit silently off, `gps purge` deleting every ping
    monkeypatch.setenv(key, value)
    with pytest.raises(RuntimeError, match=key):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                    "SECRET_KEY": "s3cret"})


def test_directories_from_the_environment_are_taken_as_written(tmp_path, monkeypatch):
    # parsed as JSON, a directory named 2026 became the number 2026: every photo a 500
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("POSTAL_PHOTO_DIR", "2026")
    monkeypatch.setenv("POSTAL_CONSOLE_ASSETS_DIR", "[1]")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                      "SECRET_KEY": "s3cret"})
    assert app.config["PHOTO_DIR"] == "2026" and app.config["CONSOLE_ASSETS_DIR"] == "[1]"
    from api.scans.views import evidence_store

    with app.app_context():
        key = evidence_store().save(b"photo", "jpg")
    assert (tmp_path / "2026" / key).read_bytes() == b"photo"


@pytest.mark.parametrize(("key", "value"), [
    ("POSTAL_TOKEN_TTL_HOURS", "-1"), ("DB_WAIT_SECONDS", "abc"),
    # gunicorn with no worker listened and never answered
    ("WEB_CONCURRENCY", "0"), ("WEB_CONCURRENCY", "two"), ("PORT", "80000"),
    # gunicorn's path prefix: with a trailing slash each path lost its leading one (every
    # page a 404); without a leading slash no request matched it
    ("SCRIPT_NAME", "/postal/"), ("SCRIPT_NAME", "postal"), ("SCRIPT_NAME", "//evil.example"),
])
def test_entrypoint_refuses_a_bad_setting_with_its_message(tmp_path, monkeypatch, key, value):
    # the container's entrypoint printed a traceback to read the setting's name from
    from api import serve

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("POSTAL_SECRET_KEY", "s3cret")
    monkeypatch.setenv(key, value)
    monkeypatch.setattr(serve, "wait_for_database", lambda *a: None)
    monkeypatch.setattr(serve, "migrate", lambda app: None)
    monkeypatch.setattr(os, "execvp", lambda *a: pytest.fail(f"started: {a}"))
    with pytest.raises(SystemExit) as exc:
        serve.main()
    assert str(exc.value).startswith("Refusing to start: ") and key in str(exc.value)


def test_flask_command_refuses_a_bad_setting_with_its_message(tmp_path, monkeypatch):
    # `flask --app api db upgrade` printed a traceback to read the setting's name from
    from click.testing import CliRunner
    from flask.cli import cli

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("POSTAL_SECRET_KEY", "s3cret")
    monkeypatch.setenv("POSTAL_GPS_RETENTION_DAYS", "0")
    result = CliRunner().invoke(cli, ["--app", "api", "gps", "purge"])
    assert result.exit_code != 0
    assert "Error: POSTAL_GPS_RETENTION_DAYS must be" in result.output, result.output
    assert isinstance(result.exception, SystemExit)  # click's exit, not the error raised


@pytest.mark.parametrize("url", ["postgres://postal:pw-2026@db:5432/postal", "not a url"])
def test_a_database_url_sqlalchemy_cannot_use_is_refused_without_its_password(
        monkeypatch, url):
    # `postgres://` (as some hosts give it) was a NoSuchModuleError traceback
    monkeypatch.setenv("DATABASE_URL", url)
    with pytest.raises(RuntimeError, match="DATABASE_URL") as exc:
        create_app({"SECRET_KEY": "s3cret"})
    assert "pw-2026" not in str(exc.value)


@pytest.mark.parametrize(("key", "value"), [
    ("REDIS_URL", "redis//:pw-2026@127.0.0.1:6379/0"),
    ("REDIS_URL", "redis://:pw-2026@127.0.0.1:abc/0"),
    ("POSTAL_RATELIMIT_STORAGE_URI", "rediss//:pw-2026@127.0.0.1:6379/0"),
])
def test_a_redis_url_with_a_typo_is_refused_without_its_password(tmp_path, monkeypatch,
                                                                   key, value):
    # a traceback printed the URL, password and all (or every route plan was a 500)
    monkeypatch.setenv(key, value)
    with pytest.raises(RuntimeError, match=key) as exc:
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
                    "SECRET_KEY": "s3cret"})
    assert "pw-2026" not in str(exc.value)


def test_settings_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("POSTAL_MAX_DELIVERY_ATTEMPTS", "5")
    monkeypatch.setenv("POSTAL_SECRET_KEY", "from-env")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/env.db")
    app = create_app()
    assert app.config["MAX_DELIVERY_ATTEMPTS"] == 5
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("env.db")


def test_demo_load_needs_demo_mode(app):
    result = app.test_cli_runner().invoke(args=["demo", "load", "--items", "5"])
    assert result.exit_code != 0 and "POSTAL_DEMO_MODE" in result.output


@pytest.mark.parametrize("name", ["admin", "Admin"])
def test_demo_load_beside_an_account_of_a_demo_name(app, name):
    """An admin named "admin" made with `users create`: demo load was an IntegrityError
    traceback (with the new account's password hash in it). "Admin": demo load made an
    "admin" (password demo) beside it, where ``users create`` refuses a name differing
    from another only in case (logins ignore it), and "admin" typed on a phone logged
    into one, "Admin" into the other."""
    admin = User(username=name, role=Role.ADMIN, full_name="Admin")
    admin.set_password("not-the-demo-one")
    db.session.add(admin)
    db.session.commit()
    app.config["DEMO_MODE"] = True
    result = app.test_cli_runner().invoke(args=["demo", "load", "--items", "5"])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert f"exist: {name}" in result.output and "argon2" not in result.output
    assert db.session.query(User).count() == 1


def test_demo_data_is_consistent(app):
    app.config["DEMO_MODE"] = True
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "load", "--items", "60"])
    assert result.exit_code == 0, result.output
    assert "dispatcher1" in result.output
    users = {u.username: u for u in db.session.query(User)}
    assert {"dispatcher1", "admin"} | {f"courier{i}" for i in range(1, 11)} <= set(users)
    assert users["courier3"].check_password("demo")
    items = db.session.query(Item).all()
    assert len(items) == 60
    statuses = {i.status for i in items}
    assert {Status.AT_DELIVERY_OFFICE, Status.OUT_FOR_DELIVERY, Status.DELIVERED} <= statuses
    for item in items:
        state = replayed_state(item)
        assert (state.status, state.failed_attempts) == (item.status, item.failed_attempts)
        assert 12.19 < item.recipient_lat < 12.31 and 109.16 < item.recipient_lon < 109.21
        if item.status is Status.OUT_FOR_DELIVERY:
            assert item.courier is not None and item.courier.role is Role.COURIER
    # every item's courier is the one its assignment history holds open
    from models import ItemAssignment

    open_periods = {(a.item_id, a.courier_id) for a in db.session.query(ItemAssignment)
                    .filter(ItemAssignment.ended_at.is_(None))}
    assert open_periods == {(i.id, i.courier_id) for i in items if i.courier_id is not None}
    assert open_periods
    # the field day: GPS tracks, payouts, hand-ins, complaints
    from models import CashEntry, Complaint, CourierPosition, PayoutTask

    assert db.session.query(CourierPosition).count() == 900
    assert db.session.query(PayoutTask).count() == 6
    assert db.session.query(Complaint).count() >= 2
    assert db.session.query(CashEntry).filter_by(kind="handover").count() >= 1
    # running it again changes nothing
    again = runner.invoke(args=["demo", "load", "--items", "60"])
    assert again.exit_code == 0 and "already loaded" in again.output
    assert db.session.query(Item).count() == 60


def test_demo_recipients_who_will_collect_are_promised_no_next_round(app):
    # the public page said "waiting for you at the office" above the attempt's "will
    # retry"; they are held until a day (seed 5: three such attempts among 60 items),
    # the office's POSTAL_COLLECTION_HOLD_DAYS after the attempt's (not always 7)
    from api.items.service import collection_end
    from api.localtime import local_day
    from models import TrackingEvent

    app.config["DEMO_MODE"] = True
    app.config["COLLECTION_HOLD_DAYS"] = 2
    result = app.test_cli_runner().invoke(args=["demo", "load", "--items", "60",
                                                "--seed", "5"])
    assert result.exit_code == 0, result.output
    collect = db.session.query(TrackingEvent).filter_by(
        reason="will_collect_at_office").all()
    assert collect and all(e.action.value != "retry_next_round" for e in collect)
    held = [i for i in db.session.query(Item) if i.awaiting == "collection"]
    assert held
    for item in held:
        tried = max((e for e in item.events if e.code.value == "EMH"),
                    key=lambda e: e.device_time)
        assert item.collect_until == collection_end(local_day(tried.device_time), 2)


def test_users_create_command(app, make_office):
    office = make_office(code="KH001")
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "create", "btv1", "--role", "courier", "--office", "KH001"],
                      input="s3cret-pass\ns3cret-pass\n")
    assert r.exit_code == 0, r.output
    user = db.session.query(User).filter_by(username="btv1").one()
    assert user.office_id == office.id and user.check_password("s3cret-pass")
    assert user.password_hash.startswith("$argon2id$")
    # a name differing only in case would make logins ambiguous (they ignore case)
    for taken in ("btv1", "BTV1"):
        r = runner.invoke(args=["users", "create", taken, "--role", "courier", "--office",
                                "KH001", "--password", "s3cret-pass"])
        assert r.exit_code != 0 and "User btv1 exists" in r.output, r.output
    assert db.session.query(User).count() == 1
    r = runner.invoke(args=["users", "create", "x", "--role", "courier"],
                      input="s3cret-pass\ns3cret-pass\n")
    assert r.exit_code != 0 and "--office" in r.output
    for name, password, says in [("pwopt", "", "password"), ("pwopt", "short", "password"),
                                 ("", "s3cret-pass", "username"),
                                 (" admin", "s3cret-pass", "username"),
                                 ("a" * 65, "s3cret-pass", "username")]:
        r = runner.invoke(args=["users", "create", name, "--role", "admin",
                                "--password", password])
        assert r.exit_code != 0 and says in r.output, (name, password, r.output)
    assert db.session.query(User).filter(User.role == "admin").count() == 0
    # longer than the column: on PostgreSQL the insert failed with a traceback
    r = runner.invoke(args=["users", "create", "longname", "--role", "admin",
                            "--full-name", "Nguyễn " * 30, "--password", "s3cret-pass"])
    assert r.exit_code != 0 and "full name" in r.output, r.output
    assert db.session.query(User).filter(User.role == "admin").count() == 0


def test_entrypoint_gives_up_on_an_unreachable_database_in_bounded_time(tmp_path):
    import time

    from api.serve import wait_for_database

    app = create_app({"SQLALCHEMY_DATABASE_URI":
                      "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
                      "SECRET_KEY": "x"})
    start = time.monotonic()
    with pytest.raises(SystemExit, match="not reachable"):
        wait_for_database(app, timeout_s=1.5, interval_s=0.2)
    assert time.monotonic() - start < 10


def test_an_unreachable_database_is_a_503_not_a_500():
    app = create_app({"SQLALCHEMY_DATABASE_URI":
                      "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
                      "SECRET_KEY": "x"})
    client = app.test_client()
    assert client.get("/healthz").status_code == 503
    r = client.post("/api/v1/auth/token", json={"username": "a", "password": "b"})
    assert r.status_code == 503, r.get_data(as_text=True)
    assert r.json["type"].endswith("/database-unavailable") and r.headers["Retry-After"]
    r = client.get("/api/v1/items", headers={"Authorization": "Bearer x"})
    assert r.status_code == 503


def test_a_database_that_never_answers_is_given_up_in_bounded_time():
    # accepts the connection, never answers (a hung server, a half-open proxy)
    import socket
    import time

    from api.serve import wait_for_database

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        port = sock.getsockname()[1]
        app = create_app({"SQLALCHEMY_DATABASE_URI":
                          f"postgresql+psycopg://nobody@127.0.0.1:{port}/none",
                          "SECRET_KEY": "x"})
        start = time.monotonic()
        assert app.test_client().get("/healthz").status_code == 503
        with pytest.raises(SystemExit, match="not reachable"):
            wait_for_database(app, timeout_s=1, interval_s=0.2)
        assert time.monotonic() - start < 30


def test_entrypoint_returns_when_the_database_answers(app):
    from api.serve import wait_for_database

    wait_for_database(app, timeout_s=1)


def test_served_processes_load_the_routing_kernels_in_the_background(monkeypatch):
    """gunicorn workers (api.wsgi) and RQ workers warm the routing library up once, in
    a thread, so their first route optimisation keeps its whole time budget."""
    from api import jobs
    from routing import tsptw

    monkeypatch.setattr(jobs, "_warm_up_started", False)
    thread = jobs.warm_up_routing()
    assert thread is not None and thread.daemon
    assert jobs.warm_up_routing() is None  # once per process
    thread.join(timeout=120)
    assert not thread.is_alive() and tsptw.is_warm()


def test_the_wsgi_module_serves_the_app(tmp_path):
    """gunicorn's entry point (``api.wsgi:app``, used by ``make run`` and api.serve)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "POSTAL_DEMO_MODE": "true",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}"}
    code = ("import api.wsgi as w; c = w.app.test_client(); "
            "print(w.app.name, c.get('/healthz').status_code)")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.split()[-2:] == ["api", "200"], out.stdout + out.stderr


def test_offices_create_command(app):
    # a fresh production database has no office, and `users create` needs one: there was
    # no way but SQL to make the first
    from models import Office

    runner = app.test_cli_runner()
    args = ["offices", "create", "HN100000", "--name", "Bưu cục Hà Nội", "--city", "Hà Nội",
            "--province", "Hà Nội", "--lat", "21.03", "--lon", "105.85"]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    office = db.session.execute(db.select(Office).filter_by(code="HN100000")).scalar_one()
    assert (office.lat, office.lon, office.name) == (21.03, 105.85, "Bưu cục Hà Nội")
    result = runner.invoke(args=args)
    assert result.exit_code == 1 and "exists" in result.output
    result = runner.invoke(args=[*args[:-4], "--lat", "nan", "--lon", "105"])
    assert result.exit_code != 0 and "Traceback" not in result.output
    result = runner.invoke(args=["users", "create", "d1", "--role", "dispatcher",
                                 "--office", "HN100000"], input="password1\npassword1\n")
    assert result.exit_code == 0, result.output


def test_couriers_and_dispatchers_cannot_be_without_an_office(app, make_office):
    # nothing but the CLI checked it: a courier without an office (created in code, or
    # its office taken away) was visible to no dispatcher and broke office-scoped pages
    import pytest
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from models import Role

    office = make_office()
    for role in (Role.COURIER, Role.DISPATCHER):
        user = User(username=f"no-office-{role.value}", role=role, full_name="X")
        user.set_password("pw")
        db.session.add(user)
        with pytest.raises(ValueError, match=f"A {role.value} needs an office"):
            db.session.flush()
        db.session.rollback()
    courier = User(username="btv", role=Role.COURIER, full_name="X", office=office)
    courier.set_password("pw")
    admin = User(username="root", role=Role.ADMIN, full_name="Admin")  # admins need none
    admin.set_password("pw")
    db.session.add_all([courier, admin])
    db.session.commit()
    courier.office_id = None
    with pytest.raises(ValueError, match="A courier needs an office"):
        db.session.flush()
    db.session.rollback()
    admin.role = Role.DISPATCHER  # made a dispatcher, without an office
    with pytest.raises(ValueError, match="A dispatcher needs an office"):
        db.session.flush()
    db.session.rollback()
    # and the database refuses it too (SQL run by hand, another program)
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE users SET office_id = NULL WHERE username = 'btv'"))
        db.session.flush()
    db.session.rollback()


def test_database_errors_leave_the_statements_values_out_of_the_log(app):
    # an error's message (logged with its traceback) listed every value of the statement:
    # recipients' phones, delivery codes, password hashes
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    from models import db

    with pytest.raises(DBAPIError) as failed:
        db.session.execute(text("SELECT * FROM no_such_table WHERE phone = :p"),
                           {"p": "0912345678"})
    db.session.rollback()
    assert "0912345678" not in str(failed.value)


@pytest.mark.skipif(not os.environ.get("DATABASE_URL"), reason="PostgreSQL's advisory lock")
def test_replicas_started_together_migrate_one_at_a_time(tmp_path):
    """Containers of one deployment started at once each ran the migrations at the same
    time on an empty database, racing to create the same tables; with the lock one
    migrates and the others find nothing left to do."""
    import threading
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from api.serve import migrate

    base = make_url(os.environ["DATABASE_URL"])
    name = f"test_migrate_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    try:
        apps = [create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x"})
                for _ in range(3)]
        failures: list[BaseException] = []
        start = threading.Barrier(len(apps))

        def replica(app):
            start.wait()
            try:
                migrate(app)
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=replica, args=(a,)) for a in apps]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []
        check = create_engine(url)
        with check.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM users")).scalar() == 0
        check.dispose()
        for app in apps:
            with app.app_context():
                db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_the_served_app_logs_its_records_with_time_and_level(tmp_path):
    """Under gunicorn nobody configured logging: the app's warnings and tracebacks came
    out through Python's last-resort handler as bare messages (no time, no level), and
    its INFO records (a route plan solved, the routing kernels ready) not at all."""
    import subprocess
    import sys

    env = {**os.environ, "POSTAL_DEMO_MODE": "true",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'w.sqlite3'}"}
    code = ("import logging, api.wsgi; "
            "logging.getLogger('api.route_plans.service').info('route plan 7 solved'); "
            "logging.getLogger('api.errors').warning('database busy')")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=120, check=True)
    lines = out.stderr.splitlines()
    assert any(line.startswith("[") and "[INFO] api.route_plans.service: route plan 7 "
               "solved" in line for line in lines), out.stderr
    assert any("[WARNING] api.errors: database busy" in line for line in lines), out.stderr


def test_the_entrypoint_execs_the_gunicorn_of_its_own_interpreter(tmp_path, monkeypatch):
    # `.venv/bin/python -m api.serve` without the venv on PATH migrated the database, then
    # died on FileNotFoundError: execvp looked `gunicorn` up on PATH
    import sys

    from api import serve

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.db")
    monkeypatch.setenv("POSTAL_SECRET_KEY", "s3cret")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(serve, "wait_for_database", lambda *a: None)
    monkeypatch.setattr(serve, "migrate", lambda app: None)
    started = []
    monkeypatch.setattr(os, "execvp", lambda file, argv: started.append((file, argv)))
    serve.main()
    (file, argv), = started
    assert file == sys.executable and argv[1:3] == ["-m", "gunicorn"]
    assert argv[-1] == "api.wsgi:app"


def test_users_password_deactivate_and_activate_commands(app, client, make_office,
                                                        make_user, auth):
    # a courier who left, or who forgot the password: nothing but SQL could lock the
    # account or set a new password
    office = make_office(code="KH002")
    courier = make_user(Role.COURIER, office, username="btv2", password="old-pass-1")
    h = auth(courier)
    assert client.get("/api/v1/auth/me", headers=h).status_code == 200
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "password", "btv2"], input="short\nshort\n")
    assert r.exit_code != 0 and "8 characters" in r.output
    r = runner.invoke(args=["users", "password", "btv2"], input="new-pass-1\nnew-pass-1\n")
    assert r.exit_code == 0, r.output
    db.session.expire_all()
    assert courier.check_password("new-pass-1") and not courier.check_password("old-pass-1")
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401  # its tokens end
    login = {"username": "btv2", "password": "new-pass-1"}
    assert client.post("/api/v1/auth/token", json=login).status_code == 201
    h = auth(courier)
    r = runner.invoke(args=["users", "deactivate", "btv2"])
    assert r.exit_code == 0, r.output
    assert client.get("/api/v1/auth/me", headers=h).status_code == 401
    assert client.post("/api/v1/auth/token", json=login).status_code == 401
    r = runner.invoke(args=["users", "activate", "btv2"])
    assert r.exit_code == 0, r.output
    assert client.post("/api/v1/auth/token", json=login).status_code == 201
    for command in ("password", "deactivate", "activate"):
        r = runner.invoke(args=["users", command, "nobody"], input="new-pass-1\nnew-pass-1\n")
        assert r.exit_code != 0 and "No user nobody" in r.output, r.output


def test_users_commands_refuse_a_password_no_login_takes(app, client, make_office, make_user):
    """A login takes passwords of up to 256 characters (longer: a 422 from the API,
    a wrong password on the console); the commands set longer ones, for an account
    nobody could log in to."""
    courier = make_user(Role.COURIER, make_office(code="KH003"), username="btv3",
                        password="old-pass-1")
    runner = app.test_cli_runner()
    long_pw = "p" * 257
    r = runner.invoke(args=["users", "password", "btv3"], input=f"{long_pw}\n{long_pw}\n")
    assert r.exit_code != 0 and "256 characters" in r.output, r.output
    db.session.expire_all()
    assert courier.check_password("old-pass-1")
    r = runner.invoke(args=["users", "create", "btv4", "--role", "courier", "--office",
                            "KH003", "--password", long_pw])
    assert r.exit_code != 0 and "256 characters" in r.output, r.output
    assert db.session.query(User).filter_by(username="btv4").first() is None
    # 256 is still a password a login takes
    r = runner.invoke(args=["users", "password", "btv3"], input=f"{long_pw[:256]}\n" * 2)
    assert r.exit_code == 0, r.output
    login = {"username": "btv3", "password": long_pw[:256]}
    assert client.post("/api/v1/auth/token", json=login).status_code == 201


def test_no_database_url_and_an_instance_folder_it_cannot_create_is_a_config_error(
        tmp_path, monkeypatch):
    # the container (an installed package, run as a non-root user) without DATABASE_URL:
    # a PermissionError traceback from makedirs instead of the setting's name
    import flask

    monkeypatch.delenv("DATABASE_URL", raising=False)
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setattr(flask.Flask, "auto_find_instance_path",
                        lambda self: str(blocker / "instance"))
    with pytest.raises(RuntimeError, match="DATABASE_URL is not set"):
        create_app({"SECRET_KEY": "s3cret"})


def test_demo_load_refuses_a_database_with_offices_or_accounts_of_its_own(app, make_office):
    # `make run` (or `demo load`) with the post's DATABASE_URL still set in the shell
    # added the demo's accounts to its database: an admin of every office, password demo
    make_office(code="HN100000")
    app.config["DEMO_MODE"] = True
    result = app.test_cli_runner().invoke(args=["demo", "load", "--items", "5"])
    assert "already holds offices or accounts" in result.output, result.output
    assert db.session.query(User).count() == 0 and db.session.query(Item).count() == 0


def test_users_create_racing_another_with_the_same_name(app, make_office, make_user,
                                                        monkeypatch):
    """Two ``users create`` of one name at once (a provisioning script run twice): both
    found the name free, and the second's insert met the first at the unique username,
    a traceback. Now refused as if it came after."""
    from api import cli

    office = make_office(code="KH002")
    make_user(Role.COURIER, office, username="btv9")  # the other command, just committed
    real, calls = cli.same_name_taken, []

    def checked_before_the_other_committed(session, name):
        calls.append(name)
        return None if len(calls) == 1 else real(session, name)

    monkeypatch.setattr(cli, "same_name_taken", checked_before_the_other_committed)
    r = app.test_cli_runner().invoke(args=["users", "create", "btv9", "--role", "courier",
                                           "--office", "KH002", "--password", "s3cret-pass"])
    assert r.exit_code == 1 and "User btv9 exists" in r.output, r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert db.session.query(User).filter_by(username="btv9").count() == 1
