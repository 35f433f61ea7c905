"""The post's own service-quality figures, per office and day (Viet Nam time).

- delivered: deliveries (applied EMI) that day;
- on time: delivered before the end of the item's delivery window, or, without a window,
  within the product's promise after arriving at the office (EMS 24 h, others 48 h);
- first-attempt success: deliveries that day with no failed attempt before them;
- failed attempts by reason: the failed attempts (EMH) made that day (device time), each
  counted once as the attempt limit counts it (``models.lifecycle.counted_attempts``):
  every applied one, and one kept late (synced after the item moved on) once for its
  delivery round, so the same attempt sent twice (the sync, then the photo scan, under
  two event ids) is one attempt, and the figures add up to the items' ``failed_attempts``;
- complaints opened, closed, and the median hours to answer those closed that day;
- COD outstanding: cash on delivery still on items not delivered (as of now).
"""

from __future__ import annotations

import bisect
import statistics
from collections import Counter
from datetime import date, timedelta
from operator import attrgetter
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Complaint, EventCode, Item, Product, Status, TrackingEvent
from models.lifecycle import counted_attempts

from ..localtime import day_bounds

PROMISE_HOURS = {Product.EMS: 24}
_IN_TIME_ORDER = attrgetter("device_time", "id")
DEFAULT_PROMISE_HOURS = 48
COLUMNS = ("date", "delivered", "on_time", "on_time_rate", "first_attempt",
           "first_attempt_rate", "failed_attempts", "complaints_opened", "complaints_closed",
           "median_answer_hours")


def figures(session: Session, office_id: int, first: date, days: int) -> dict[str, Any]:
    start, _ = day_bounds(first)
    end = start + timedelta(days=days)
    in_range = (
        TrackingEvent.office_id == office_id,
        TrackingEvent.code.in_([EventCode.EMI, EventCode.EMH]),
        TrackingEvent.device_time >= start, TrackingEvent.device_time < end,
    )
    # only the columns the figures need (rows, not ORM objects with their relations: a
    # month of a busy office has tens of thousands of events), in time order; failed
    # attempts applied or not (one kept late may count: decided below)
    events = session.execute(
        select(TrackingEvent.id, TrackingEvent.item_id, TrackingEvent.code,
               TrackingEvent.device_time, TrackingEvent.reason, TrackingEvent.applied)
        .where(*in_range, TrackingEvent.applied.is_(True)
               | (TrackingEvent.code == EventCode.EMH))
        .order_by(TrackingEvent.device_time, TrackingEvent.id)).all()
    # the items as a subquery, not a list of ids: a busy office's month can have more
    # items than one statement may carry parameters (65,535 on PostgreSQL)
    item_ids = select(TrackingEvent.item_id).where(*in_range).scalar_subquery()
    history: dict[int, list[Any]] = {}  # per item, its applied events in time order
    attempts: dict[int, list[Any]] = {}  # per item, the failed attempts that count
    items: dict[int, Any] = {}
    if events:
        stored: dict[int, list[Any]] = {}  # per item, every event in the order stored
        for h in session.execute(
                select(TrackingEvent.id, TrackingEvent.item_id, TrackingEvent.code,
                       TrackingEvent.device_time, TrackingEvent.applied)
                .where(TrackingEvent.item_id.in_(item_ids)).order_by(TrackingEvent.id)):
            stored.setdefault(h.item_id, []).append(h)
        counted: set[int] = set()  # ids of the events that count as failed attempts
        for item_id, evs in stored.items():
            flags = counted_attempts((h.code, h.device_time, h.applied) for h in evs)
            counted.update(h.id for h, c in zip(evs, flags, strict=True) if c)
            history[item_id] = sorted((h for h in evs if h.applied), key=_IN_TIME_ORDER)
            attempts[item_id] = [h for h, c in zip(evs, flags, strict=True) if c]
        events = [e for e in events if e.code is EventCode.EMI or e.id in counted]
        items = {i.id: i for i in session.execute(
            select(Item.id, Item.window_end, Item.product).where(Item.id.in_(item_ids)))}
    times = [e.device_time for e in events]
    complaints = session.execute(select(Complaint).where(
        Complaint.office_id == office_id,
        ((Complaint.created_at >= start) & (Complaint.created_at < end))
        | ((Complaint.answered_at >= start) & (Complaint.answered_at < end)))).unique() \
        .scalars().all()

    rows = []
    reasons_total: Counter[str] = Counter()
    for n in range(days):
        lo, hi = day_bounds(first + timedelta(days=n))
        day_events = events[bisect.bisect_left(times, lo):bisect.bisect_left(times, hi)]
        delivered = [e for e in day_events if e.code is EventCode.EMI]
        on_time = first_ok = 0
        for e in delivered:
            item = items[e.item_id]
            before = [h for h in history[e.item_id] if h.device_time <= e.device_time]
            # a failed attempt before it that counts, late ones included
            if not any(h.device_time <= e.device_time for h in attempts[e.item_id]):
                first_ok += 1
            if item.window_end is not None:
                on_time += e.device_time <= item.window_end
            else:
                arrived = next((h.device_time for h in before if h.code is EventCode.EMG),
                               None)
                promise = timedelta(hours=PROMISE_HOURS.get(item.product,
                                                            DEFAULT_PROMISE_HOURS))
                on_time += arrived is not None and e.device_time - arrived <= promise
        reasons = Counter(e.reason.value for e in day_events
                          if e.code is EventCode.EMH and e.reason is not None)
        reasons_total.update(reasons)
        opened = [c for c in complaints if lo <= c.created_at < hi]
        closed = [c for c in complaints if c.answered_at and lo <= c.answered_at < hi]
        answer_h = [(c.answered_at - c.created_at).total_seconds() / 3600 for c in closed
                    if c.answered_at]
        rows.append({
            "date": (first + timedelta(days=n)).isoformat(),
            "delivered": len(delivered), "on_time": on_time,
            "on_time_rate": round(on_time / len(delivered), 4) if delivered else None,
            "first_attempt": first_ok,
            "first_attempt_rate": round(first_ok / len(delivered), 4) if delivered else None,
            "failed_attempts": sum(reasons.values()),
            "failed_attempts_by_reason": dict(sorted(reasons.items())),
            "complaints_opened": len(opened), "complaints_closed": len(closed),
            "median_answer_hours": round(statistics.median(answer_h), 2) if answer_h else None,
        })
    outstanding = session.execute(select(func.coalesce(func.sum(Item.cod_amount), 0)).where(
        Item.office_id == office_id, Item.cod_amount > 0,
        Item.status.in_([Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE,
                         Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED]))).scalar_one()
    return {"office_id": office_id, "from": first.isoformat(), "days": days, "rows": rows,
            "failed_attempts_by_reason": dict(sorted(reasons_total.items())),
            "cod_outstanding": int(outstanding)}


def to_csv(report: dict[str, Any]) -> str:
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow([*COLUMNS, "failed_attempts_by_reason"])
    for row in report["rows"]:
        reasons = ";".join(f"{k}={v}" for k, v in row["failed_attempts_by_reason"].items())
        w.writerow([("" if row[c] is None else row[c]) for c in COLUMNS] + [reasons])
    return buf.getvalue()
