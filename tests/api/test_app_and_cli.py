from __future__ import annotations

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


def test_users_create_command(app, make_office):
    office = make_office(code="KH001")
    runner = app.test_cli_runner()
    r = runner.invoke(args=["users", "create", "btv1", "--role", "courier", "--office", "KH001"],
                      input="s3cret-pass\ns3cret-pass\n")
    assert r.exit_code == 0, r.output
    user = db.session.query(User).filter_by(username="btv1").one()
    assert user.office_id == office.id and user.check_password("s3cret-pass")
    assert user.password_hash.startswith("$argon2id$")
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
