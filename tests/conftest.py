"""Fixtures shared by the API and model tests: a fresh app and database per test.

SQLite (default): a new database file per test. PostgreSQL (``DATABASE_URL`` set):
one scratch database per test process, created from ``DATABASE_URL``, tables created
once and truncated after every test.
"""

from __future__ import annotations

import itertools
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url

from models import ApiToken, Item, Office, Role, User, db
from models.user import hash_token, new_token_secret, set_password_hasher

# Cheap hashing in tests; production parameters are argon2-cffi's defaults.
set_password_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))

PG_URL = os.environ.get("DATABASE_URL")


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> datetime:
        self.now += timedelta(**kw)
        return self.now


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str | None]:
    if not PG_URL:
        yield None
        return
    base = make_url(PG_URL)
    name = f"test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    engine = create_engine(url)
    db.metadata.create_all(engine)
    engine.dispose()
    yield url
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))  # 08:00 in Viet Nam


@pytest.fixture
def app(tmp_path: Any, pg_database: str | None, clock: FakeClock) -> Iterator[Any]:
    from api import create_app

    uri = pg_database or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri, "CLOCK": clock,
                      "SECRET_KEY": "test-secret", "PHOTO_DIR": str(tmp_path / "evidence"),
                      "RATELIMIT_STORAGE_URI": "memory://"})
    with app.app_context():
        if pg_database is None:
            db.create_all()
        yield app
        # a job the test queued in-process and did not wait for (a plan it only created)
        # ends first: left running, it wrote into the next test's tables and left its
        # connection to be collected there (a ResourceWarning failing another test)
        for thread in threading.enumerate():
            if thread.name.startswith("thread-") and thread is not threading.current_thread():
                thread.join(60)
        db.session.remove()
        if pg_database is not None:
            tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
            with db.engine.begin() as conn:
                conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.engine.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


# ------------------------------------------------------------------ factories

@pytest.fixture
def make_office(app: Any) -> Callable[..., Office]:
    counter = iter(range(1, 10_000))

    def make(**kw: Any) -> Office:
        n = next(counter)
        values = {"code": f"OF{n:04d}", "name": f"Office {n}", "city": "Nha Trang",
                  "province": "Khánh Hòa", "lat": 12.245, "lon": 109.194}
        values.update(kw)
        office = Office(**values)
        db.session.add(office)
        db.session.commit()
        return office

    return make


@pytest.fixture
def make_user(app: Any) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.COURIER, office: Office | None = None, password: str = "pw",
             **kw: Any) -> User:
        n = next(counter)
        user = User(username=kw.pop("username", f"{role.value}{n}"), role=role,
                    full_name=kw.pop("full_name", f"User {n}"),
                    office_id=office.id if office else None, **kw)
        user.set_password(password)
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def auth(app: Any, clock: FakeClock) -> Callable[[User], dict[str, str]]:
    """Headers with a fresh bearer token for ``user``."""

    def headers(user: User) -> dict[str, str]:
        secret = new_token_secret()
        db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(secret),
                                created_at=clock(), expires_at=clock() + timedelta(hours=12)))
        db.session.commit()
        return {"Authorization": f"Bearer {secret}"}

    return headers


S10_SERIALS = iter(range(10_000_000, 99_999_999, 7919))


def s10(prefix: str = "EE", country: str = "VN") -> str:
    from scanning.s10 import s10_check_digit

    serial = f"{next(S10_SERIALS):08d}"
    return f"{prefix}{serial}{s10_check_digit(serial)}{country}"


def when_both_arrive(real: Callable[..., Any], timeout: float = 1.0) -> Callable[..., Any]:
    """``real`` behind a two-party barrier, to put two concurrent requests at the same
    point before either goes on. Where a row lock guards that point the second request
    never arrives; the first then goes on alone after ``timeout``."""
    barrier = threading.Barrier(2)

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            barrier.wait(timeout=timeout)
        except threading.BrokenBarrierError:
            pass
        return real(*args, **kwargs)

    return wrapped


def at_once(app: Any, *requests: Callable[[Any], Any]) -> list[Any]:
    """Run each ``request(client)`` in its own thread with its own test client (so its
    own database session) at the same time; the responses in order."""
    answers: list[Any] = [None] * len(requests)

    def run(n: int) -> None:
        with app.test_client() as client:
            answers[n] = requests[n](client)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(requests))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return answers


def item_payload(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "identifier": s10(),
        "sender": {"name": "Shop Hoa Biển", "phone": "0901234567", "address": "Q1, HCM"},
        "recipient": {"name": "Nguyễn Văn An", "phone": "0912345678",
                      "address": "12 Trần Phú", "ward": "Lộc Thọ", "city": "Nha Trang",
                      "province": "Khánh Hòa", "lat": 12.238, "lon": 109.196},
        "weight_g": 1200,
    }
    data.update(overrides)
    return data


def tiny_png(seed: int = 0) -> bytes:
    """A small real PNG (a signature-like scribble), different for each seed."""
    import io

    from PIL import Image, ImageDraw

    im = Image.new("L", (120, 48), 255)
    draw = ImageDraw.Draw(im)
    draw.line([(5, 40 - seed % 30), (40, 8), (80, 40), (115, 10 + seed % 30)], fill=0, width=2)
    if seed >= 30:  # a dot per further seed, somewhere on the 120 x 48 canvas
        n = seed // 30
        draw.point((n % 120, (n // 120) % 48), fill=128 + (n // 5760) % 100)
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
def full_proof(app: Any, clock: FakeClock, make_user: Callable[..., User], tmp_path: Any
               ) -> Callable[..., dict[str, Any]]:
    """``full_proof(item)``: a proof of delivery that satisfies any policy for the item
    (a signature and a photo uploaded as evidence, name, COD, delivery code).

    The files are the item's own, uploaded by its courier (``by=``: by whoever will
    deliver it, e.g. a courier who held it before; an item without a courier: by an
    admin), since a delivery cites only its deliverer's uploads and a file another
    recipient's delivery cited is flagged ``proof_reused``. The same item and uploader
    get the same files again (a phone retrying)."""
    from api.proof.views import upload_evidence
    from models import EvidenceKind

    cache: dict[tuple[int, int], dict[str, str]] = {}
    seeds = itertools.count(30)
    admins: list[User] = []

    def proof(item: Item, *, by: User | None = None, **overrides: Any) -> dict[str, Any]:
        db.session.refresh(item)
        if by is None:
            by = item.courier
        if by is None:
            if not admins:
                admins.append(make_user(Role.ADMIN, username="evidence-uploader"))
            by = admins[0]
        files = cache.get((by.id, item.id))
        if files is None:
            files = cache[(by.id, item.id)] = {}
            for kind in (EvidenceKind.SIGNATURE, EvidenceKind.PHOTO):
                ev, _ = upload_evidence(db.session, by, tiny_png(next(seeds)), kind,
                                        now=clock(), max_bytes=10**7)
                files[kind.value] = ev.sha256
            db.session.commit()
        out: dict[str, Any] = {"relation": "recipient", "received_by": "Nguyễn Văn An",
                               "signature": files["signature"], "photo": files["photo"],
                               "id_number": "079123456789"}
        if item.cod_amount:
            out["cod_collected"] = item.cod_amount
        if item.delivery_code:
            out["delivery_code"] = item.delivery_code
        out.update(overrides)
        return out

    return proof


@pytest.fixture
def make_item(app: Any, clock: FakeClock, make_user: Callable[..., User],
              full_proof: Callable[..., dict[str, Any]]) -> Callable[..., Item]:
    """Create an item through the service (so it has its EMA), optionally moved along
    the lifecycle with ``events=[...]`` and assigned with ``courier=``."""
    from api.items import service
    from api.items.schemas import ItemCreateSchema

    counter = iter(range(1, 1_000_000))
    admins: list[User] = []

    def make(office: Office, *, courier: User | None = None, events: tuple[str, ...] = (),
             **overrides: Any) -> Item:
        if not admins:
            admins.append(make_user(Role.ADMIN, username="fixture-admin"))
        actor = admins[0]
        data = ItemCreateSchema().load(item_payload(office_id=office.id, **overrides))
        item = service.create_item(db.session, actor, data, now=clock(), carrier_patterns={})
        if courier is not None:
            service.assign(db.session, actor, item.identifier, courier.id, now=clock())
        for code in events:
            payload: dict[str, Any] = {"code": service.EventCode(code),
                                       "client_event_id": f"fixture-{next(counter):08d}",
                                       "device_time": clock()}
            if code == "EMH":
                payload.update(reason="recipient_absent", action="notice_left",
                               photo=full_proof(item)["photo"])
            if code == "EMI":
                payload["proof"] = full_proof(item)
            service.record_event(db.session, actor, item.identifier, payload, now=clock(),
                                 max_attempts=3)
        db.session.commit()
        return item

    return make


@pytest.fixture
def count_queries(app: Any) -> Callable[[], Any]:
    """Context manager counting SQL statements: ``with count_queries() as n: ...; n()``."""
    from contextlib import contextmanager

    @contextmanager
    def counting() -> Iterator[Callable[[], int]]:
        seen: list[str] = []

        def before(conn: Any, cursor: Any, statement: str, *a: Any) -> None:
            seen.append(statement)

        event.listen(db.engine, "before_cursor_execute", before)
        try:
            yield lambda: len(seen)
        finally:
            event.remove(db.engine, "before_cursor_execute", before)

    return counting
