"""A dispatcher's CSV manifest through ``POST /api/v1/items/import``, timed.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.import_csv [--rows 5000] [--existing 20000] \
        [--repeat 3] [--writer] [--profile FILE] [--out FILE]

On SQLite (a database file in a temporary directory), and on PostgreSQL when
``DATABASE_URL`` is set (a scratch database created next to the one it names, dropped
at the end). Each run starts from a fresh database holding one office, a dispatcher
and ``--existing`` items already imported (with their EMA events), then posts the
whole file once through the Flask test client (request parsing, validation, the
database writes, the commit and the JSON answer are all in the time).

The file (``make_manifest``, seeded): all 22 columns the importer reads; UPU S10
numbers with correct check digits (EMS, registered, parcel, e-commerce, domestic COD
ranges with their product) and other carriers' codes (GHN, Viettel Post); Nha Trang
addresses with coordinates, phones, weights, COD on 60 % of the parcels, declared
values, delivery windows on a fifth, ID-check and signature flags. About 4 % of the
rows are bad, one of each kind in turn: a wrong check digit, COD over the cap, a
latitude out of range or without its longitude, a missing city, a weight that is not
a whole number, a window that ends before it starts, a product that contradicts the
S10 number, a row with more fields than columns, an identifier repeated from an earlier
row of the file, and one already in the database. The answer is checked against what
the generator expects (rows created, rows failed and the row numbers), and so are the
items and events in the database afterwards.

Reported per run: wall time of the request, rows per second; then, in a separate run
(tracemalloc slows Python down), the peak of Python memory allocated during the
request. On SQLite also how long the import held the database's write lock, per
transaction (from the ``BEGIN IMMEDIATE`` to the end of the commit): the longest any
other writer may have to wait for it. ``--writer`` runs another dispatcher creating
items one by one (``POST /api/v1/items``) in another process (as another gunicorn
worker) during the import and reports its answers' times. ``--profile FILE`` saves
cProfile statistics of one more run.
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import io
import json
import multiprocessing
import os
import random
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from api.items.service import CSV_COLUMNS as COLUMNS
from models import ApiToken, EventCode, Item, Office, Role, TrackingEvent, User, db, lifecycle
from models.user import hash_token, new_token_secret
from scanning.s10 import s10_check_digit

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 in Viet Nam
WARDS = ("Lộc Thọ", "Vĩnh Hòa", "Phước Hải", "Phương Sài", "Vĩnh Nguyên", "Tân Lập",
         "Xương Huân", "Vạn Thạnh", "Phước Tân", "Ngọc Hiệp")
STREETS = ("Trần Phú", "Yersin", "Lê Thánh Tôn", "Nguyễn Thiện Thuật", "Hùng Vương",
           "Thống Nhất", "Lê Hồng Phong", "2 Tháng 4", "Phạm Văn Đồng", "Nguyễn Trãi")
SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Võ", "Đặng", "Bùi", "Đỗ", "Huỳnh")
GIVEN = ("Văn An", "Thị Mai", "Minh Tuấn", "Thị Hoa", "Quốc Bảo", "Ngọc Lan", "Đức Huy",
         "Thu Trang", "Hữu Phước", "Thanh Tâm")
SHOPS = (("Shop Hoa Biển", "Q1, TP Hồ Chí Minh"), ("Điện máy Xanh Online", "Q7, TP HCM"),
         ("Sách Phương Nam", "Hai Bà Trưng, Hà Nội"), ("Tiki Trading", "Tân Bình, TP HCM"),
         ("BHXH Khánh Hòa", "Nha Trang, Khánh Hòa"))
# (service indicator, product column, share): S10 products name their product; the
# domestic ranges (B*, D*, P*) give it in the product column
S10_MIX = (("EE", "", 15), ("RR", "", 15), ("CP", "", 30), ("HA", "", 10),
           ("PD", "parcel", 10), ("BD", "admin_document", 5))
BAD_KINDS = ("check_digit", "cod_cap", "lat_range", "lat_only", "no_city", "weight",
             "window", "product", "ragged", "dup_in_file", "in_database")


def s10(prefix: str, serial: int) -> str:
    digits = f"{serial:08d}"
    return f"{prefix}{digits}{s10_check_digit(digits)}VN"


def make_manifest(rows: int, existing: list[str], seed: int = 0,
                  bad_every: int = 25) -> tuple[str, set[int]]:
    """The CSV text and the numbers (1-based) of the rows that must fail."""
    rng = random.Random(seed)
    serial = iter(range(50_000_000, 99_999_999))
    weights = [w for *_, w in S10_MIX]
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\r\n")
    out.writerow(COLUMNS)
    bad: set[int] = set()
    made: list[str] = []
    for n in range(1, rows + 1):
        r = dict.fromkeys(COLUMNS, "")
        if rng.random() < 0.85:
            prefix, product, _ = rng.choices(S10_MIX, weights)[0]
            r["identifier"], r["product"] = s10(prefix, next(serial)), product
        elif rng.random() < 0.5:  # Giao Hang Nhanh
            r["identifier"], r["carrier"] = f"G{rng.randrange(10**9, 10**10)}", "GHN"
            r["product"] = "ecommerce"
        else:  # Viettel Post: 12 digits
            r["identifier"], r["product"] = str(rng.randrange(10**11, 10**12)), "parcel"
        shop, shop_addr = rng.choice(SHOPS)
        r["sender_name"], r["sender_address"] = shop, shop_addr
        r["sender_phone"] = f"028{rng.randrange(10**7, 10**8)}"
        r["recipient_name"] = f"{rng.choice(SURNAMES)} {rng.choice(GIVEN)}"
        r["recipient_phone"] = f"09{rng.randrange(10**7, 10**8)}"
        r["recipient_address"] = f"{rng.randrange(1, 300)} {rng.choice(STREETS)}"
        r["recipient_ward"] = rng.choice(WARDS)
        r["recipient_city"], r["recipient_province"] = "Nha Trang", "Khánh Hòa"
        if rng.random() < 0.9:  # geocoded
            r["recipient_lat"] = f"{rng.uniform(12.200, 12.290):.6f}"
            r["recipient_lon"] = f"{rng.uniform(109.160, 109.212):.6f}"
        r["weight_g"] = str(rng.randrange(50, 8000))
        if rng.random() < 0.6:
            r["cod_amount"] = str(rng.randrange(10, 5000) * 1000)
        if rng.random() < 0.3:
            r["declared_value"] = str(rng.randrange(100, 20000) * 1000)
        if rng.random() < 0.2:
            start = NOW + timedelta(days=1, hours=rng.randrange(0, 9))
            r["window_start"] = start.isoformat()
            r["window_end"] = (start + timedelta(hours=2)).isoformat()
        r["id_check_required"] = "true" if rng.random() < 0.05 else ""
        r["signature_required"] = "true" if rng.random() < 0.3 else "false"
        extra: list[str] = []
        if n % bad_every == 0:
            bad.add(n)
            kind = BAD_KINDS[(n // bad_every) % len(BAD_KINDS)]
            if kind == "check_digit":
                good = s10("CP", next(serial))
                r["identifier"], r["product"] = good[:10] + str((int(good[10]) + 1) % 10) + "VN", ""
            elif kind == "cod_cap":
                r["cod_amount"] = "75000000"
            elif kind == "lat_range":
                r["recipient_lat"], r["recipient_lon"] = "95.1", "109.19"
            elif kind == "lat_only":
                r["recipient_lat"], r["recipient_lon"] = "12.25", ""
            elif kind == "no_city":
                r["recipient_city"] = ""
            elif kind == "weight":
                r["weight_g"] = "1.5kg"
            elif kind == "window":
                r["window_start"] = (NOW + timedelta(days=1, hours=4)).isoformat()
                r["window_end"] = (NOW + timedelta(days=1, hours=2)).isoformat()
            elif kind == "product":
                r["identifier"], r["product"] = s10("EE", next(serial)), "parcel"
            elif kind == "ragged":
                extra = ["a field too many"]
            elif kind == "dup_in_file":
                r["identifier"], r["product"] = rng.choice(made), ""
            elif kind == "in_database":
                r["identifier"], r["product"] = rng.choice(existing), ""
        else:
            made.append(r["identifier"])
        out.writerow([r[c] for c in COLUMNS] + extra)
    return buf.getvalue(), bad


def _seed(existing: int, seed: int) -> tuple[str, list[str]]:
    """One office, a dispatcher with a token, ``existing`` items with their EMA; the
    token and the existing identifiers."""
    office = Office(code="NT01", name="Bưu cục Nha Trang", city="Nha Trang",
                    province="Khánh Hòa", lat=12.2450, lon=109.1940)
    db.session.add(office)
    db.session.flush()
    users = [User(username=name, role=Role.DISPATCHER, full_name=name, office_id=office.id,
                  password_hash="x") for name in ("dispatcher1", "dispatcher2")]
    db.session.add_all(users)
    db.session.flush()
    secrets = []
    for user in users:
        secrets.append(new_token_secret())
        db.session.add(ApiToken(user_id=user.id, token_hash=hash_token(secrets[-1]),
                                created_at=NOW, expires_at=NOW + timedelta(days=3650)))
    idents = [s10("CP", 10_000_000 + k) for k in range(existing)]
    base = {"identifier_kind": "s10", "carrier": None, "product": "parcel",
            "sender_name": "Shop", "sender_phone": None, "sender_address": "",
            "recipient_name": "Lê Văn Bình", "recipient_phone": None,
            "recipient_address": "1 Trần Phú", "recipient_ward": None,
            "recipient_city": "Nha Trang", "recipient_province": "Khánh Hòa",
            "recipient_lat": None, "recipient_lon": None, "weight_g": 500, "cod_amount": 0,
            "declared_value": 0, "window_start": None, "window_end": None,
            "id_check_required": False, "recipient_id_hash": None, "delivery_code": None,
            "next_attempt_on": None, "signature_required": False,
            "status": lifecycle.Status.ACCEPTED, "failed_attempts": 0,
            "office_id": office.id, "courier_id": None, "created_at": NOW - timedelta(days=1),
            "updated_at": NOW - timedelta(days=1)}
    for k in range(0, existing, 1000):
        chunk = idents[k:k + 1000]
        ids = db.session.scalars(insert(Item).returning(Item.id, sort_by_parameter_order=True),
                                 [{**base, "identifier": i} for i in chunk]).all()
        db.session.execute(insert(TrackingEvent), [
            {"item_id": i, "code": EventCode.EMA, "client_event_id": f"srv#ema-{i}",
             "device_time": base["created_at"], "server_time": base["created_at"],
             "actor_id": users[0].id, "office_id": office.id,
             "status_after": lifecycle.Status.ACCEPTED, "source": "system"} for i in ids])
    db.session.commit()
    return ",".join(secrets), idents


def _scratch_postgres(url: str) -> tuple[str, Any]:
    base = make_url(url)
    name = f"bench_import_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return base.set(database=name).render_as_string(hide_password=False), drop


def one_run(backend: str, args: argparse.Namespace, *, measure: str = "time"
            ) -> dict[str, Any]:
    """A fresh database, the seed, one import; ``measure``: time, memory or profile."""
    from api import create_app

    with tempfile.TemporaryDirectory(prefix="bench_import_") as tmp:
        drop = None
        if backend == "sqlite":
            uri = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        else:
            uri, drop = _scratch_postgres(os.environ["DATABASE_URL"])
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri,
                          "CLOCK": lambda: NOW, "SECRET_KEY": "bench",
                          "PHOTO_DIR": str(Path(tmp) / "evidence"),
                          "RATELIMIT_STORAGE_URI": "memory://"})
        try:
            with app.app_context():
                db.create_all()
                tokens, existing = _seed(args.existing, args.seed)
                db.session.remove()
            body, bad = make_manifest(args.rows, existing, seed=args.seed)
            mine, theirs = (f"Bearer {t}" for t in tokens.split(","))
            result = _post(app, body, mine, theirs if args.writer else None, measure,
                           args.profile)
            r = result.pop("response")
            assert r.status_code == 200, r.get_data(as_text=True)[:2000]
            answer = r.get_json()
            failed_rows = {e["row"] for e in answer["errors"]}
            assert failed_rows == bad, sorted(failed_rows ^ bad)[:20]
            assert answer["created"] == args.rows - len(bad), answer["created"]
            with app.app_context():
                items = db.session.scalar(select(func.count(Item.id)))
                events = db.session.scalar(select(func.count(TrackingEvent.id)).where(
                    TrackingEvent.code == EventCode.EMA))
                db.session.remove()
                db.engine.dispose()
            written = result.get("writer_created", 0)
            assert items == events == args.existing + answer["created"] + written, (
                items, events)
            result.update(created=answer["created"], failed=answer["failed"],
                          rows_per_s=round(args.rows / result["seconds"], 1),
                          csv_bytes=len(body.encode()))
            return result
        finally:
            if drop is not None:
                drop()


def _writer(uri: str, token: str, stop: Any, started: Any, out: Any) -> None:
    """Another dispatcher creating items one by one, in its own process (as another
    gunicorn worker would): the time of each answer, until ``stop`` is set."""
    from api import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": uri,
                      "CLOCK": lambda: NOW, "SECRET_KEY": "bench",
                      "RATELIMIT_STORAGE_URI": "memory://"})
    waits: list[tuple[float, int]] = []
    k = 0
    with app.test_client() as cl:
        while not stop.is_set():
            k += 1
            payload = {"identifier": s10("EE", 30_000_000 + k),
                       "sender": {"name": "Quầy giao dịch"},
                       "recipient": {"name": "Trần Thị Hoa", "address": "9 Yersin",
                                     "city": "Nha Trang", "province": "Khánh Hòa"}}
            t = time.perf_counter()
            r = cl.post("/api/v1/items", json=payload, headers={"Authorization": token})
            waits.append((time.perf_counter() - t, r.status_code))
            if k == 3:  # warmed up
                started.set()
            time.sleep(0.01)
    out.put(waits[3:])


class _WriteLock:
    """On SQLite, how long each transaction of this process held the write lock: from
    the ``BEGIN IMMEDIATE`` a savepoint opens (api._sqlite_pragmas) to the end of the
    commit."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.began: float | None = None
        self.held: list[float] = []

    def _savepoint(self, _conn: Any, _name: Any) -> None:
        # the first savepoint after a commit opened the transaction (this listener runs
        # after the app's, once the lock is taken)
        if self.began is None:
            self.began = time.perf_counter()

    def _after_commit(self, _session: Any) -> None:
        if self.began is not None:
            self.held.append(time.perf_counter() - self.began)
            self.began = None

    def __enter__(self) -> _WriteLock:
        event.listen(self.engine, "savepoint", self._savepoint)
        event.listen(Session, "after_commit", self._after_commit)
        return self

    def __exit__(self, *_: Any) -> None:
        event.remove(self.engine, "savepoint", self._savepoint)
        event.remove(Session, "after_commit", self._after_commit)


def _post(app: Any, body: str, mine: str, theirs: str | None, measure: str,
          profile: str | None) -> dict[str, Any]:
    data = body.encode()
    out: dict[str, Any] = {}
    writer = None
    if theirs is not None:
        ctx = multiprocessing.get_context("spawn")
        stop, started, waits = ctx.Event(), ctx.Event(), ctx.Queue()
        writer = ctx.Process(target=_writer, args=(
            app.config["SQLALCHEMY_DATABASE_URI"], theirs, stop, started, waits))
        writer.start()
        started.wait(120)
    with app.app_context():
        lock = _WriteLock(db.engine)
    with app.test_client() as cl, lock:
        prof = cProfile.Profile() if measure == "profile" else None
        if measure == "memory":
            tracemalloc.start()
        t = time.perf_counter()
        if prof is not None:
            prof.enable()
        r = cl.post("/api/v1/items/import", data=data, content_type="text/csv",
                    headers={"Authorization": mine})
        if prof is not None:
            prof.disable()
        out["seconds"] = round(time.perf_counter() - t, 3)
        if measure == "memory":
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out["peak_python_mb"] = round(peak / 2**20, 1)
        if prof is not None and profile:
            prof.dump_stats(profile)
        out["response"] = r
    if lock.held and app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        held = sorted(lock.held)
        out["write_lock_transactions"] = len(held)
        out["write_lock_max_ms"] = round(held[-1] * 1000, 1)
        out["write_lock_median_ms"] = round(held[len(held) // 2] * 1000, 1)
    if writer is not None:
        stop.set()
        answers = waits.get(timeout=120)
        writer.join(60)
        assert {s for _, s in answers} <= {201}, sorted({s for _, s in answers})
        times = sorted(w for w, _ in answers)
        out["writer_created"] = len(answers) + 3
        out["writer_max_wait_s"] = round(times[-1], 3) if times else None
        out["writer_median_wait_s"] = round(times[len(times) // 2], 3) if times else None
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=5000)
    ap.add_argument("--existing", type=int, default=20000,
                    help="items already in the database before the import")
    ap.add_argument("--repeat", type=int, default=3, help="timed runs per database")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--writer", action="store_true",
                    help="another dispatcher creates items during the timed runs")
    ap.add_argument("--no-memory", action="store_true", help="skip the tracemalloc run")
    ap.add_argument("--profile", help="cProfile statistics of one more run (first database)")
    ap.add_argument("--backends", default=None,
                    help="comma list of sqlite,postgresql (default: sqlite, and postgresql "
                         "when DATABASE_URL is set)")
    ap.add_argument("--out", help="JSON results")
    args = ap.parse_args(argv)
    backends = (args.backends.split(",") if args.backends else
                ["sqlite"] + (["postgresql"] if os.environ.get("DATABASE_URL") else []))
    results: dict[str, Any] = {"rows": args.rows, "existing": args.existing,
                               "writer": args.writer}
    for backend in backends:
        runs = []
        for _ in range(args.repeat):
            runs.append(one_run(backend, args))
            print(backend, runs[-1], flush=True)
        times = sorted(r["seconds"] for r in runs)
        summary: dict[str, Any] = {"runs": runs, "median_s": times[len(times) // 2],
                                   "best_s": times[0]}
        if not args.no_memory:
            mem = one_run(backend, argparse.Namespace(**{**vars(args), "writer": False}),
                          measure="memory")
            summary["peak_python_mb"] = mem["peak_python_mb"]
            summary["seconds_under_tracemalloc"] = mem["seconds"]
            print(backend, "memory", mem, flush=True)
        if args.profile and backend == backends[0]:
            one_run(backend, argparse.Namespace(**{**vars(args), "writer": False}),
                    measure="profile")
        results[backend] = summary
        print(backend, {k: v for k, v in summary.items() if k != "runs"}, flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
