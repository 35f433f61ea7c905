"""Migrations on data: the assignment history is backfilled for items that already have
a courier when it is created (SQLite, or PostgreSQL when ``DATABASE_URL`` is set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, insert, select, text
from sqlalchemy.engine import make_url

from models import Item, Office, Role, User, db
from tests.conftest import s10

BEFORE_HISTORY = "8c41d5e0f7b2"  # the revision before item_assignments
PG_URL = os.environ.get("DATABASE_URL")
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
#: one office, in the columns every revision since the first has
OFFICE_SQL = text(
    "INSERT INTO offices (code, name, address, city, province, lat, lon) VALUES "
    "('KH001', 'Nha Trang', '', 'Nha Trang', 'Khánh Hòa', 12.245, 109.194)")


def _app(url: str, now: datetime = NOW) -> Any:
    from api import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                       "SECRET_KEY": "test-secret", "CLOCK": lambda: now,
                       "RATELIMIT_STORAGE_URI": "memory://"})


def _events_table(*text_columns: str) -> Any:
    """``tracking_events`` in the columns an old revision's events are inserted with
    (plus ``text_columns``)."""
    import sqlalchemy as sa

    from models.base import UTCDateTime

    return sa.table("tracking_events", sa.column("item_id", sa.Integer),
                    sa.column("code", sa.String), sa.column("client_event_id", sa.String),
                    sa.column("device_time", UTCDateTime()),
                    sa.column("server_time", UTCDateTime()),
                    sa.column("status_after", sa.String), sa.column("source", sa.String),
                    sa.column("applied", sa.Boolean),
                    *(sa.column(c, sa.String) for c in text_columns))


def _insert_item(conn: Any, *, status: str, now: datetime, failed_attempts: int = 0,
                 next_attempt_on: str | None = None) -> int:
    """An item of the office (:data:`OFFICE_SQL`), in the columns of the revisions since
    the next attempt's day; its id."""
    conn.execute(text(
        "INSERT INTO items (identifier, identifier_kind, product, sender_name, "
        "sender_address, recipient_name, recipient_address, recipient_city, "
        "recipient_province, weight_g, cod_amount, declared_value, id_check_required, "
        "signature_required, status, failed_attempts, next_attempt_on, office_id, "
        "created_at, updated_at) SELECT :n, 's10', 'parcel', 'Shop', '', 'An', "
        "'12 Trần Phú', 'Nha Trang', 'Khánh Hòa', 0, 0, 0, false, false, :s, :f, :d, id, "
        ":t, :t FROM offices"),
        {"n": s10(), "s": status, "f": failed_attempts, "d": next_attempt_on, "t": now})
    return int(conn.execute(text("SELECT MAX(id) FROM items")).scalar_one())


@pytest.fixture
def empty_database(tmp_path: Any) -> Iterator[str]:
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    base = make_url(PG_URL)
    name = f"mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield base.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


# migrations/env.py is Flask-Migrate's template, which tries the deprecated call first
@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_items_with_a_courier_get_an_open_period_from_their_last_change(
        empty_database: str, tmp_path: Any) -> None:
    from flask_migrate import downgrade, upgrade


    now = NOW
    app = _app(empty_database)
    with app.app_context():
        upgrade(revision=BEFORE_HISTORY)
        office = Office(code="KH001", name="Nha Trang", city="Nha Trang",
                        province="Khánh Hòa", lat=12.245, lon=109.194)
        db.session.add(office)
        db.session.flush()
        courier = User(username="btv1", role=Role.COURIER, full_name="Bưu tá",
                       office_id=office.id)
        courier.set_password("pw")
        db.session.add(courier)
        db.session.flush()
        changed = now - timedelta(hours=3)

        def item(courier_id: int | None) -> int:
            # the columns of that revision only (the ORM's Item has the ones added since)
            return int(db.session.execute(insert(Item.__table__).values(
                identifier=s10(), identifier_kind="s10", product="ems",
                sender_name="Shop", sender_address="", recipient_name="An",
                recipient_address="12 Trần Phú", recipient_city="Nha Trang",
                recipient_province="Khánh Hòa", weight_g=0, cod_amount=0,
                declared_value=0, id_check_required=False, signature_required=False,
                status="out_for_delivery", failed_attempts=0, office_id=office.id,
                courier_id=courier_id, created_at=changed - timedelta(hours=1),
                updated_at=changed).returning(Item.__table__.c.id)).scalar_one())

        held_id, free_id, courier_id = item(courier.id), item(None), courier.id
        db.session.commit()
        db.session.remove()

        upgrade()
        from models import ItemAssignment

        rows = db.session.query(ItemAssignment).all()
        assert [(r.item_id, r.courier_id, r.started_at, r.ended_at, r.started_by_id,
                 r.started_how.value) for r in rows] == [
            (held_id, courier_id, changed, None, None, "backfill")]
        assert not [r for r in rows if r.item_id == free_id]
        # the history goes on from there: a reassignment closes the backfilled period
        from api.items import service

        admin = User(username="root", role=Role.ADMIN, full_name="Admin")
        admin.set_password("pw")
        db.session.add(admin)
        db.session.flush()
        other = User(username="btv2", role=Role.COURIER, full_name="Bưu tá 2",
                     office_id=rows[0].courier.office_id)
        other.set_password("pw")
        db.session.add(other)
        db.session.flush()
        item_number = db.session.get(Item, held_id).identifier
        service.assign(db.session, admin, item_number, other.id, now=now)
        db.session.commit()
        periods = db.session.query(ItemAssignment).order_by(ItemAssignment.id).all()
        assert [(p.courier_id, p.ended_at) for p in periods] == [
            (courier_id, now), (other.id, None)]
        db.session.remove()

        downgrade(revision=BEFORE_HISTORY)
        upgrade()
        db.session.remove()
        db.engine.dispose()


BEFORE_STAFF_OFFICE = "2b3b06717a66"  # the revision before the users' office check


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_the_staff_office_check_refuses_to_migrate_over_staff_without_an_office(
        empty_database: str) -> None:
    from flask_migrate import upgrade
    from sqlalchemy.exc import IntegrityError


    now = NOW
    app = _app(empty_database)
    with app.app_context():
        upgrade(revision=BEFORE_STAFF_OFFICE)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            for name, role in (("btv9", "courier"), ("dp9", "dispatcher"), ("root", "admin")):
                conn.execute(text(
                    "INSERT INTO users (username, password_hash, role, full_name, active) "
                    "VALUES (:n, 'x', :r, :n, true)"), {"n": name, "r": role})
        from alembic import command
        from flask import current_app

        # alembic's own command: Flask-Migrate's would log the error and exit
        with pytest.raises(RuntimeError) as failed:
            command.upgrade(current_app.extensions["migrate"].migrate.get_config(), "head")
        message = str(failed.value)
        # it names each account to fix (admins need no office) and says how
        assert "btv9" in message and "dp9" in message and "root" not in message
        assert "office_id" in message and "Nothing was changed" in message
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(text("UPDATE users SET office_id = (SELECT id FROM offices) "
                              "WHERE role <> 'admin'"))
            # a row that refers to a user: SQLite rebuilds the users table for the check
            conn.execute(text(
                "INSERT INTO api_tokens (user_id, token_hash, created_at, expires_at) "
                "SELECT id, 'h', :t, :t FROM users WHERE username = 'btv9'"), {"t": now})
        upgrade()
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text("UPDATE users SET office_id = NULL WHERE username = 'btv9'"))
        db.session.remove()
        db.engine.dispose()


BEFORE_EVENT_SKEW = "8bb0a67653f0"  # the revision before tracking_events.clock_skew_s


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_synced_events_get_their_uploads_clock_skew(empty_database: str) -> None:
    from flask_migrate import downgrade, upgrade


    now = NOW
    app = _app(empty_database)
    with app.app_context():
        upgrade(revision=BEFORE_EVENT_SKEW)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            conn.execute(text(
                "INSERT INTO users (username, password_hash, role, full_name, active, "
                "office_id) SELECT 'btv1', 'x', 'courier', 'Bưu tá', true, id FROM offices"))
            conn.execute(text(
                "INSERT INTO items (identifier, identifier_kind, product, sender_name, "
                "sender_address, recipient_name, recipient_address, recipient_city, "
                "recipient_province, weight_g, cod_amount, declared_value, "
                "id_check_required, signature_required, status, failed_attempts, "
                "office_id, created_at, updated_at) SELECT :n, 's10', 'parcel', 'Shop', '', "
                "'An', '12 Trần Phú', 'Nha Trang', 'Khánh Hòa', 0, 0, 0, false, false, "
                "'out_for_delivery', 0, id, :t, :t FROM offices"), {"n": s10(), "t": now})
            for skew in (7200.0, None):
                conn.execute(text(
                    "INSERT INTO sync_uploads (actor_id, received_at, clock_skew_s, received, "
                    "accepted, duplicates, rejected, flagged) SELECT id, :t, :s, 1, 1, 0, 0, "
                    "0 FROM users"), {"t": now, "s": skew})
            # one event from each upload, and one sent on its own
            for n, upload in enumerate(("(SELECT MIN(id) FROM sync_uploads)",
                                        "(SELECT MAX(id) FROM sync_uploads)", "NULL")):
                conn.execute(text(
                    "INSERT INTO tracking_events (item_id, code, client_event_id, "
                    "device_time, server_time, status_after, source, applied, "
                    f"sync_upload_id) SELECT id, 'EDG', :c, :t, :t, 'out_for_delivery', "
                    f"'sync', true, {upload} FROM items"), {"c": f"mig-skew-{n}", "t": now})
        upgrade()
        rows = db.session.execute(text(
            "SELECT client_event_id, clock_skew_s FROM tracking_events "
            "ORDER BY client_event_id")).all()
        assert [tuple(r) for r in rows] == [("mig-skew-0", 7200.0), ("mig-skew-1", None),
                                            ("mig-skew-2", None)]
        db.session.remove()
        downgrade(revision=BEFORE_EVENT_SKEW)
        upgrade()
        db.session.remove()
        db.engine.dispose()


BEFORE_ATTEMPT_NO = "0445a79e2656"  # the revision before tracking_events.attempt_no


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_counted_failed_attempts_get_their_numbers(empty_database: str) -> None:
    from flask_migrate import downgrade, upgrade


    now = NOW
    app = _app(empty_database)
    events = _events_table()

    def at(m: int) -> datetime:
        return now + timedelta(minutes=m)

    # (code, device time, applied, the number expected): one history per item, in the
    # order stored; late ones (unapplied) count once per round, never a copy
    histories = [
        [("EMG", at(0), True, None), ("EDG", at(10), True, None),
         ("EMH", at(20), True, 1), ("EDG", at(30), True, None), ("EDF", at(40), True, None),
         ("EMH", at(35), False, 2),  # late, in the second round: counted
         ("EMH", at(36), False, None),  # the same attempt again: not
         ("EMH", at(15), False, None),  # in the first round, which a failure ended
         ("EDG", at(50), True, None), ("EMH", at(60), True, 3)],
        [("EMG", at(0), True, None), ("EDF", at(5), True, None)],
        [("EMG", at(0), True, None), ("EMH", at(-5), False, None)],  # in no round
    ]
    with app.app_context():
        upgrade(revision=BEFORE_ATTEMPT_NO)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            for n, history in enumerate(histories):
                item_id = _insert_item(conn, status="held_at_office", now=now)
                for k, (code, when, applied, _) in enumerate(history):
                    conn.execute(events.insert().values(
                        item_id=item_id, code=code, client_event_id=f"mig-att-{n}-{k}",
                        device_time=when, server_time=now, status_after="held_at_office",
                        source="api", applied=applied))
        upgrade()
        rows = db.session.execute(text(
            "SELECT attempt_no FROM tracking_events ORDER BY item_id, id")).scalars().all()
        assert rows == [n for history in histories for *_, n in history]
        db.session.remove()
        downgrade(revision=BEFORE_ATTEMPT_NO)
        upgrade()
        db.session.remove()
        db.engine.dispose()


BEFORE_AWAITING = "b4d1e7a9c352"  # the revision before items.awaiting


def test_parcels_waiting_for_their_recipient_or_return_get_awaiting(
        empty_database: str) -> None:
    # a parcel whose last failed attempt said the recipient will collect it, or whose
    # courier held it at the office or chose its return, before the upgrade had the next
    # day as its next attempt: without the column filled, the first plan after the
    # upgrade routed it all the same, and the returns due missed the chosen returns
    from flask_migrate import upgrade


    now = NOW
    app = _app(empty_database)
    events = _events_table("reason", "action")
    ok = ("EMH", True, "refused", "notice_left")
    collect = ("EMH", True, "will_collect_at_office", "called_recipient")
    hold = ("EMH", True, "unreachable_by_phone", "hold_at_office")
    back = ("EMH", True, "refused", "return_to_sender")
    # (status, events (code, applied, reason, action), the awaiting expected)
    cases = [
        ("delivery_failed", [("EDG", True, None, None), collect], "collection"),
        ("held_at_office", [("EDG", True, None, None), hold, ("EDF", True, None, None)],
         "collection"),
        ("held_at_office", [("EDG", True, None, None), back, ("EDF", True, None, None)],
         "return"),
        ("delivery_failed", [("EDG", True, None, None), ok], None),  # another round
        # sent out again since (the recipient called back): nothing awaited
        ("out_for_delivery", [("EDG", True, None, None), collect, ("EDG", True, None, None)],
         None),
        # a late attempt (unapplied) says nothing of what the item waits for
        ("held_at_office", [("EDG", True, None, None), ok, ("EDF", True, None, None),
                            ("EMH", False, "refused", "return_to_sender")], None),
        ("return_to_sender", [("EDG", True, None, None), back, ("RTS", True, None, None)],
         None),
    ]
    with app.app_context():
        upgrade(revision=BEFORE_AWAITING)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            for n, (status, history, _) in enumerate(cases):
                item_id = _insert_item(conn, status=status, now=now, failed_attempts=1,
                                       next_attempt_on="2026-11-21")
                for k, (code, applied, reason, action) in enumerate(history):
                    conn.execute(events.insert().values(
                        item_id=item_id, code=code, client_event_id=f"mig-aw-{n}-{k}",
                        device_time=now + timedelta(minutes=k), server_time=now,
                        status_after=status, source="api", applied=applied, reason=reason,
                        action=action))
        upgrade()
        rows = db.session.execute(text(
            "SELECT awaiting, next_attempt_on FROM items ORDER BY id")).all()
        assert [r[0] for r in rows] == [c[2] for c in cases]
        assert [r[1] is None for r in rows] == [c[2] is not None for c in cases]
        db.session.remove()
        db.engine.dispose()


BEFORE_COLLECT_UNTIL = "c6a2f19e4b70"  # the revision before items.collect_until


def test_parcels_awaiting_collection_are_held_from_their_last_attempts_day(
        empty_database: str) -> None:
    # a parcel waiting for its recipient before the upgrade had no end to its holding:
    # it would never reach the returns due. It is held for the setting's days from the
    # (Viet Nam) day of the attempt that made it wait, a phone's clock ahead not counted
    from flask_migrate import upgrade

    now = NOW
    app = _app(empty_database)
    app.config["COLLECTION_HOLD_DAYS"] = 5
    events = _events_table("reason", "action")
    collect = ("EMH", True, "will_collect_at_office", "called_recipient")
    # (awaiting, events (code, applied, reason, action, device time), collect_until)
    at = datetime(2026, 11, 19, 18, tzinfo=UTC)  # 01:00 on the 20th in Viet Nam
    cases = [
        ("collection", [("EDG", True, None, None, at - timedelta(days=3)),
                        ("EMH", True, "recipient_absent", "notice_left",
                         at - timedelta(days=3)),
                        ("EDG", True, None, None, at - timedelta(hours=2)),
                        (*collect, at)],
         datetime(2026, 11, 25, 17, tzinfo=UTC)),
        # its phone a day ahead: the day it was received
        ("collection", [("EDG", True, None, None, at), (*collect, now + timedelta(days=1))],
         datetime(2026, 11, 20, 17, tzinfo=UTC) + timedelta(days=5)),
        # a later attempt kept unapplied does not move the day
        ("collection", [("EDG", True, None, None, at), (*collect, at),
                        ("EMH", False, "refused", "notice_left", at + timedelta(days=2))],
         datetime(2026, 11, 25, 17, tzinfo=UTC)),
        ("return", [("EDG", True, None, None, at),
                    ("EMH", True, "refused", "return_to_sender", at)], None),
        (None, [("EDG", True, None, None, at)], None),
    ]
    with app.app_context():
        upgrade(revision=BEFORE_COLLECT_UNTIL)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            for n, (awaiting, history, _) in enumerate(cases):
                item_id = _insert_item(conn, status="held_at_office", now=now,
                                       failed_attempts=1)
                conn.execute(text("UPDATE items SET awaiting = :a WHERE id = :i"),
                             {"a": awaiting, "i": item_id})
                for k, (code, applied, reason, action, t) in enumerate(history):
                    conn.execute(events.insert().values(
                        item_id=item_id, code=code, client_event_id=f"mig-cu-{n}-{k}",
                        device_time=t, server_time=max(t, now) if k < len(history) - 1
                        else now, status_after="held_at_office", source="api",
                        applied=applied, reason=reason, action=action))
        upgrade()
        got = [i.collect_until for i in db.session.execute(
            select(Item).order_by(Item.id)).scalars()]
        assert got == [c[2] for c in cases]
        db.session.remove()
        db.engine.dispose()


def test_the_backfilled_holding_counts_from_the_attempts_day_as_its_clock_flags_say(
        empty_database: str) -> None:
    # the day a new attempt's holding counts from is api.cash.service.field_shift_day's:
    # the receipt for a time flagged implausible (a phone reset to 2000), the device time
    # corrected by the clock skew for a clock found off. The backfill took the device
    # time as sent: a parcel whose phone was reset to 2000 was held until 2000-01-09,
    # due for its return (waiting since 2000) the moment the upgrade ran
    import sqlalchemy as sa
    from flask_migrate import upgrade

    now = NOW  # 08:00 on the 20th in Viet Nam
    app = _app(empty_database)
    app.config["COLLECTION_HOLD_DAYS"] = 5
    events = sa.table("tracking_events",
                      *(sa.column(c.name, c.type) for c in _events_table("reason", "action").c),
                      sa.column("flags", sa.JSON), sa.column("clock_skew_s", sa.Float))
    collect = {"code": "EMH", "applied": True, "reason": "will_collect_at_office",
               "action": "called_recipient"}
    cases = [  # (the attempt's device time, flags, clock skew s; collect_until)
        (datetime(2000, 1, 1, tzinfo=UTC), ["implausible_device_time"], None,
         datetime(2026, 11, 25, 17, tzinfo=UTC)),
        # a phone three hours ahead, found off: 01:00 on the 20th on it is 22:00 on the
        # 19th in Viet Nam
        (datetime(2026, 11, 19, 18, tzinfo=UTC), ["device_clock_off"], 3 * 3600.0,
         datetime(2026, 11, 24, 17, tzinfo=UTC)),
    ]
    with app.app_context():
        upgrade(revision=BEFORE_COLLECT_UNTIL)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            for n, (t, flags, skew, _) in enumerate(cases):
                item_id = _insert_item(conn, status="held_at_office", now=now,
                                       failed_attempts=1)
                conn.execute(text("UPDATE items SET awaiting = 'collection' WHERE id = :i"),
                             {"i": item_id})
                conn.execute(events.insert().values(
                    item_id=item_id, code="EDG", client_event_id=f"mig-cf-{n}-0",
                    device_time=now - timedelta(hours=12), server_time=now - timedelta(hours=12),
                    status_after="out_for_delivery", source="api", applied=True))
                conn.execute(events.insert().values(
                    item_id=item_id, client_event_id=f"mig-cf-{n}-1", device_time=t,
                    server_time=now, status_after="delivery_failed", source="sync",
                    flags=flags, clock_skew_s=skew, **collect))
        upgrade()
        got = [i.collect_until for i in db.session.execute(
            select(Item).order_by(Item.id)).scalars()]
        assert got == [c[3] for c in cases]
        db.session.remove()
        db.engine.dispose()


BEFORE_COMPLAINT_CHANGES = "a4c9e1f7d352"  # the revision before complaint_changes


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_a_complaints_note_is_the_first_entry_of_its_history(empty_database: str) -> None:
    # a complaint's resolution note was all that was kept of its answers: it is the
    # first entry of the history, at the complaint's last change, by nobody known (a
    # reopened complaint keeps the note of the resolution it reopened, and its last
    # change was the reopening, by someone else)
    from flask_migrate import downgrade, upgrade

    now = NOW
    app = _app(empty_database)
    cases = [  # (status, note, last change): the entry expected, or none
        ("resolved", "Đã bồi thường", now - timedelta(hours=5)),
        ("investigating", "Đã giao lại", now - timedelta(hours=2)),  # reopened since
        ("open", None, now - timedelta(hours=1)),
    ]
    with app.app_context():
        upgrade(revision=BEFORE_COMPLAINT_CHANGES)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            conn.execute(text(
                "INSERT INTO users (username, password_hash, role, full_name, active, "
                "office_id) SELECT 'dp1', 'x', 'dispatcher', 'Điều phối', true, id "
                "FROM offices"))
            item_id = _insert_item(conn, status="delivered", now=now - timedelta(days=1))
            for n, (status, note, changed) in enumerate(cases):
                conn.execute(text(
                    "INSERT INTO complaints (reference, item_id, office_id, channel, "
                    "category, description, status, created_at, due_at, resolution_note, "
                    "updated_at, updated_by_id) SELECT :r, :i, office_id, 'office', "
                    "'late', 'Giao chậm', :s, :c, :c, :note, :u, "
                    "(SELECT id FROM users) FROM items WHERE id = :i"),
                    {"r": f"KN0000000{n}", "i": item_id, "s": status, "note": note,
                     "c": now - timedelta(days=1), "u": changed})
        upgrade()
        from api.complaints import service
        from models import Complaint, ComplaintChange, ComplaintStatus

        rows = db.session.execute(select(ComplaintChange).order_by(ComplaintChange.id)
                                  ).scalars().all()
        assert [(r.complaint.reference, r.created_at, r.actor_id, r.status_before,
                 r.status.value, r.note, r.backfill) for r in rows] == [
            (f"KN0000000{n}", changed, None, None, status, note, True)
            for n, (status, note, changed) in enumerate(cases) if note is not None]
        # the history goes on from there
        reopened = db.session.execute(select(Complaint).where(
            Complaint.reference == "KN00000001")).scalar_one()
        admin = User(username="root", role=Role.ADMIN, full_name="Admin")
        admin.set_password("pw")
        db.session.add(admin)
        db.session.flush()
        service.update(db.session(), admin, reopened.id, {
            "status": ComplaintStatus.RESOLVED, "resolution_note": "Khách đã nhận"}, now=now)
        db.session.commit()
        db.session.refresh(reopened)
        assert [(h.status.value, h.note, h.backfill) for h in reopened.history] == [
            ("investigating", "Đã giao lại", True), ("resolved", "Khách đã nhận", False)]
        assert reopened.resolution_note == "Khách đã nhận"
        db.session.remove()
        downgrade(revision=BEFORE_COMPLAINT_CHANGES)
        upgrade()
        db.session.remove()
        db.engine.dispose()


BEFORE_PARTIAL = "ad49897be78f"  # the revision before items.pieces


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_the_downgrade_before_partial_delivery_keeps_a_partial_delivery(
        empty_database: str) -> None:
    """An item partially delivered (or of several pieces) has no place in the revision
    before: the downgrade refuses, changing nothing, instead of dropping its pieces and
    leaving a status the code before cannot load."""
    from alembic import command
    from flask import current_app
    from flask_migrate import downgrade, upgrade

    app = _app(empty_database)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            one = _insert_item(conn, status="delivered", now=NOW)
            boxes = _insert_item(conn, status="partially_delivered", now=NOW)
            conn.execute(text("UPDATE items SET pieces = 3 WHERE id = :i"), {"i": boxes})
            number = conn.execute(text("SELECT identifier FROM items WHERE id = :i"),
                                  {"i": boxes}).scalar_one()
        config = current_app.extensions["migrate"].migrate.get_config()
        with pytest.raises(RuntimeError) as failed:
            command.downgrade(config, BEFORE_PARTIAL)
        assert number in str(failed.value) and "Nothing was changed" in str(failed.value)
        db.session.remove()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT pieces, status FROM items WHERE id = :i"),
                                {"i": boxes}).one() == (3, "partially_delivered")
        # once the operator has dealt with it (here: removed), the downgrade goes through
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM items WHERE id = :i"), {"i": boxes})
        downgrade(revision=BEFORE_PARTIAL)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT status FROM items WHERE id = :i"),
                                {"i": one}).scalar_one() == "delivered"
        db.session.remove()
        db.engine.dispose()


BEFORE_ACTOR_ROLE = "a4f7c2e9d315"  # the revision before tracking_events.actor_role


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_events_take_their_actors_role_at_the_upgrade(empty_database: str) -> None:
    """Events stored before the role was kept take their actor's role now (the best
    there is); a system event, without an actor, none. A review by the system (no actor)
    is dropped on the way down, the column that says so going with it."""
    from flask_migrate import downgrade, upgrade

    app = _app(empty_database)
    events = _events_table()
    with app.app_context():
        upgrade(revision=BEFORE_ACTOR_ROLE)
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            for name, role in (("c1", "courier"), ("d1", "dispatcher")):
                conn.execute(text(
                    "INSERT INTO users (username, password_hash, role, full_name, active, "
                    "office_id) SELECT :u, 'x', :r, 'Người', true, id FROM offices"),
                    {"u": name, "r": role})
            item_id = _insert_item(conn, status="delivered", now=NOW)
            for k, actor in enumerate(("c1", "d1", None)):
                conn.execute(events.insert().values(
                    item_id=item_id, code="EMI", client_event_id=f"mig-role-{k}",
                    device_time=NOW, server_time=NOW, status_after="delivered",
                    source="api", applied=True))
                if actor is not None:
                    conn.execute(text(
                        "UPDATE tracking_events SET actor_id = (SELECT id FROM users "
                        "WHERE username = :u) WHERE client_event_id = :c"),
                        {"u": actor, "c": f"mig-role-{k}"})
        upgrade()
        with db.engine.begin() as conn:
            rows = conn.execute(text(
                "SELECT actor_role FROM tracking_events ORDER BY id")).scalars().all()
            assert rows == ["courier", "dispatcher", None]
            conn.execute(text(
                "INSERT INTO outcome_reviews (event_id, state, basis, created_at) "
                "SELECT MIN(id), 'confirmed', 'delivery_code', :t FROM tracking_events"),
                {"t": NOW})
        db.session.remove()
        downgrade(revision=BEFORE_ACTOR_ROLE)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM outcome_reviews")
                                ).scalar_one() == 0
        upgrade()
        db.session.remove()
        db.engine.dispose()


BEFORE_SENDER_KEY = "f78e08e1cb33"  # the revision before items.sender_key


@pytest.mark.filterwarnings("ignore:'get_engine' is deprecated")
def test_items_take_their_senders_key_at_the_upgrade(empty_database: str) -> None:
    """Items stored before COD statements get their sender's key (the phone's last 9
    digits; none for a short or missing phone)."""
    from flask_migrate import upgrade

    app = _app(empty_database)
    with app.app_context():
        upgrade(revision=BEFORE_SENDER_KEY)
        phones = ["0905 123 456", "+84 905.123.457", "12345", None, "84905123458"]
        with db.engine.begin() as conn:
            conn.execute(OFFICE_SQL)
            ids = []
            for phone in phones:
                ids.append(_insert_item(conn, status="delivered", now=NOW))
                conn.execute(text("UPDATE items SET sender_phone = :p WHERE id = :i"),
                             {"p": phone, "i": ids[-1]})
        upgrade()
        with db.engine.connect() as conn:
            keys = conn.execute(text("SELECT sender_key FROM items ORDER BY id")
                                ).scalars().all()
        assert keys == ["905123456", "905123457", None, None, "905123458"]
        db.session.remove()
        db.engine.dispose()
