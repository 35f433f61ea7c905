"""The items awaiting a return (``GET /api/v1/returns-due``) for a large office: one
page's time and peak Python memory (tracemalloc).

Usage (from the repository root; the database is emptied and filled)::

    .venv/bin/python -m benchmarks.returns_due --items 20000 \
        --db sqlite:////tmp/returns.sqlite3
    git show a81cc35:api/complaints/service.py > /tmp/old_service.py
    .venv/bin/python -m benchmarks.returns_due --items 20000 \
        --db sqlite:////tmp/returns.sqlite3 --old /tmp/old_service.py

Every item of the office is held with three counted failed attempts, the third synced
late (unapplied) in a round of its own, eight events each; their waits are spread over
5000 minutes. ``--old`` also times a ``returns_due`` from another file (the version that
read every candidate's events and paged in Python) and checks that both give the same
page and total.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select

from api.complaints import service
from benchmarks import other_version, scratch_app
from models import Item, Office, Status, TrackingEvent, db

NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)
# (code, applied, attempt_no, minutes after the round began): the late attempt falls in
# the third round, which the office's EDF closed without a result
HISTORY = [("EMG", True, None, 0), ("EDG", True, None, 10), ("EMH", True, 1, 20),
           ("EDG", True, None, 30), ("EMH", True, 2, 40), ("EDG", True, None, 50),
           ("EDF", True, None, 60), ("EMH", False, 3, 55)]


def fill(n: int) -> int:
    db.drop_all()
    db.create_all()
    office = Office(code="BENCH", name="Bench", city="Nha Trang", province="Khánh Hòa",
                    lat=12.245, lon=109.194)
    db.session.add(office)
    db.session.flush()
    db.session.execute(insert(Item), [dict(
        identifier=f"X{k:09d}", identifier_kind="external", product="parcel",
        sender_name="S", sender_address="", recipient_name="R", recipient_address="A",
        recipient_city="Nha Trang", recipient_province="Khánh Hòa", weight_g=0,
        cod_amount=0, declared_value=0, id_check_required=False, signature_required=False,
        status=Status.HELD_AT_OFFICE, failed_attempts=3, office_id=office.id,
        created_at=NOW, updated_at=NOW) for k in range(n)])
    ids = db.session.execute(select(Item.id).order_by(Item.id)).scalars().all()
    events = []
    for k, item_id in enumerate(ids):
        start = NOW - timedelta(minutes=k % 5000)
        for j, (code, applied, number, m) in enumerate(HISTORY):
            events.append(dict(
                item_id=item_id, code=code, client_event_id=f"bench-{item_id}-{j}",
                device_time=start + timedelta(minutes=m),
                server_time=start + timedelta(minutes=j), status_after=Status.HELD_AT_OFFICE,
                source="api", applied=applied, attempt_no=number))
    for s in range(0, len(events), 20_000):
        db.session.execute(insert(TrackingEvent), events[s:s + 20_000])
    db.session.commit()
    return office.id


def measure(returns_due: Any, office_id: int, page_size: int) -> tuple[Any, float, float]:
    db.session.remove()
    tracemalloc.start()
    t = time.perf_counter()
    found = returns_due(db.session(), office_id, now=NOW, max_attempts=3, limit=page_size)
    seconds = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return found, seconds, peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=20_000)
    parser.add_argument("--db", required=True, help="a scratch database URL (emptied)")
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--old", help="a service.py with another returns_due to compare")
    args = parser.parse_args()
    app = scratch_app(args.db)
    with app.app_context():
        office_id = fill(args.items)
        found, seconds, mb = measure(service.returns_due, office_id, args.page_size)
        print(f"this version: {seconds * 1000:.0f} ms, peak {mb:.1f} MB, total {found[1]}")
        if args.old:
            old = other_version(args.old, "api.complaints.old")
            was, seconds, mb = measure(old.returns_due, office_id, args.page_size)
            print(f"--old: {seconds * 1000:.0f} ms, peak {mb:.1f} MB, total {was[1]}; "
                  f"same page and total: {was == found}")
        db.session.remove()
        db.engine.dispose()


if __name__ == "__main__":
    main()
