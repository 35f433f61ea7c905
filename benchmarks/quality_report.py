"""The quality report (``GET /api/v1/quality``, the console's quality page) for a busy
office's day: its time, and its peak Python memory (tracemalloc, in a second run).

Usage (from the repository root; the database is emptied and filled)::

    .venv/bin/python -m benchmarks.quality_report --items 20000 \
        --db sqlite:////tmp/quality.sqlite3
    git show 02f86cb:api/complaints/quality.py > /tmp/old_quality.py
    .venv/bin/python -m benchmarks.quality_report --items 20000 \
        --db sqlite:////tmp/quality.sqlite3 --old /tmp/old_quality.py

Every item of the office comes in and goes out on the same day (2026-11-20), in one of
four histories, in turn: delivered at the first try; a failed attempt, then delivered;
out, held, out again and delivered, then its first round's failed attempt synced late
(unapplied, counted) and again from the photo scan (unapplied, a copy: not counted);
a failed attempt, then held. Every third item has a delivery window, every other one
is EMS; the failures' reasons vary. ``--days`` reports that many days from the 20th
(the console's month: 30). ``--history N`` adds N older events of the office: items
delivered at the first try on a day of the year before (a table that has served the
office a while: the report reads the day's events, not the table). ``--old`` also
times ``figures`` from another file (the version that read every item's history and
applied the attempt rule in Python) and checks that both give the same report.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from api.complaints import quality
from benchmarks import other_version, scratch_app
from models import FailureReason, Item, Office, Product, Status, TrackingEvent, db

DAY = date(2026, 11, 20)
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)  # 07:00 in Viet Nam
REASONS = list(FailureReason)
# (code, applied, attempt_no, minutes after the item arrived), per kind of history
HISTORIES = [
    [("EMG", True, None, 0), ("EDG", True, None, 60), ("EMI", True, None, 90)],
    [("EMG", True, None, 0), ("EDG", True, None, 60), ("EMH", True, 1, 90),
     ("EDG", True, None, 300), ("EMI", True, None, 330)],
    [("EMG", True, None, 0), ("EDG", True, None, 60), ("EDF", True, None, 120),
     ("EDG", True, None, 300), ("EMI", True, None, 330), ("EMH", False, 1, 90),
     ("EMH", False, None, 91)],
    [("EMG", True, None, 0), ("EDG", True, None, 60), ("EMH", True, 1, 90),
     ("EDF", True, None, 120)],
]


def _item(identifier: str, office_id: int, **fields: Any) -> dict[str, Any]:
    """An item row: a parcel delivered at its first try unless ``fields`` say otherwise."""
    return dict(
        identifier=identifier, identifier_kind="external", product=Product.PARCEL,
        sender_name="S", sender_address="", recipient_name="R", recipient_address="A",
        recipient_city="Nha Trang", recipient_province="Khánh Hòa", weight_g=0,
        cod_amount=0, declared_value=0, id_check_required=False, signature_required=False,
        status=Status.DELIVERED, failed_attempts=0, office_id=office_id,
        created_at=START, updated_at=START) | fields


def fill(n: int, history: int = 0) -> int:
    db.drop_all()
    db.create_all()
    office = Office(code="BENCH", name="Bench", city="Nha Trang", province="Khánh Hòa",
                    lat=12.245, lon=109.194)
    db.session.add(office)
    db.session.flush()
    db.session.execute(insert(Item), [_item(
        f"X{k:09d}", office.id, product=Product.EMS if k % 2 else Product.PARCEL,
        status=Status.HELD_AT_OFFICE if k % 4 == 3 else Status.DELIVERED,
        failed_attempts=0 if k % 4 == 0 else 1,
        window_start=START + timedelta(hours=3) if k % 3 == 0 else None,
        window_end=START + timedelta(hours=4) if k % 3 == 0 else None) for k in range(n)])
    ids = db.session.execute(select(Item.id).order_by(Item.id)).scalars().all()
    events = []
    for k, item_id in enumerate(ids):
        arrived = START + timedelta(minutes=k % 600)
        for j, (code, applied, number, m) in enumerate(HISTORIES[k % 4]):
            events.append(dict(
                item_id=item_id, code=code, client_event_id=f"bench-{item_id}-{j}",
                device_time=arrived + timedelta(minutes=m),
                server_time=arrived + timedelta(minutes=m + j), office_id=office.id,
                status_after=Status.DELIVERED, source="api", applied=applied,
                attempt_no=number,
                reason=REASONS[k % len(REASONS)] if code == "EMH" else None))
    for s in range(0, len(events), 20_000):
        db.session.execute(insert(TrackingEvent), events[s:s + 20_000])
    year = 365 * 24 * 60
    per_item = len(HISTORIES[0])
    for s in range(0, history // per_item, 4_000):  # older items, delivered the year before
        chunk = range(s, min(history // per_item, s + 4_000))
        old_ids = db.session.execute(insert(Item).returning(Item.id), [
            _item(f"H{k:09d}", office.id) for k in chunk]).scalars().all()
        db.session.execute(insert(TrackingEvent), [dict(
            item_id=item_id, code=code, client_event_id=f"old-{item_id}-{j}",
            device_time=START - timedelta(minutes=1440 + (k * 7919) % year - m),
            server_time=START - timedelta(minutes=1440 + (k * 7919) % year - m),
            office_id=office.id, status_after=Status.DELIVERED, source="api",
            applied=applied, attempt_no=number)
            for k, item_id in zip(chunk, old_ids, strict=True)
            for j, (code, applied, number, m) in enumerate(HISTORIES[0])])
    db.session.commit()
    return office.id


def measure(figures: Any, office_id: int, days: int) -> tuple[Any, float, float]:
    """The report, the seconds it took, and its peak Python memory (MB), from a second
    run under tracemalloc (which slows every allocation down: not timed)."""
    db.session.remove()
    t = time.perf_counter()
    report = figures(db.session(), office_id, DAY, days)
    seconds = time.perf_counter() - t
    db.session.remove()
    tracemalloc.start()
    figures(db.session(), office_id, DAY, days)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return report, seconds, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--db", required=True, help="a scratch database URL (emptied)")
    parser.add_argument("--days", type=int, default=1)
    parser.add_argument("--history", type=int, default=0,
                        help="older events of the office, over the year before")
    parser.add_argument("--old", help="a quality.py with another figures to compare")
    args = parser.parse_args()
    app = scratch_app(args.db)
    with app.app_context():
        t = time.perf_counter()
        office_id = fill(args.items, args.history)
        print(f"filled in {time.perf_counter() - t:.0f} s")
        report, seconds, mb = measure(quality.figures, office_id, args.days)
        row = report["rows"][0]
        print(f"this version: {seconds * 1000:.0f} ms, peak {mb:.1f} MB; the 20th: "
              f"{row['delivered']} delivered, {row['on_time']} on time, "
              f"{row['first_attempt']} at the first attempt, "
              f"{row['failed_attempts']} failed attempts")
        if args.old:
            old = other_version(args.old, "api.complaints.old")
            was, seconds, mb = measure(old.figures, office_id, args.days)
            print(f"--old: {seconds * 1000:.0f} ms, peak {mb:.1f} MB; "
                  f"same report: {was == report}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
