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

The database counts: each counted attempt carries its number (``attempt_no``, given as
it is stored by that rule), so "a failed attempt that counts" is an event with a number,
and no item's history is read here. Two grouped statements give the deliveries and the
attempts per day, whatever the office's size.
"""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, exists, func, literal_column, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.expression import FunctionElement

from models import Complaint, EventCode, Item, Product, TrackingEvent
from models.base import UTCDateTime

from ..cash.service import cod_outstanding
from ..localtime import day_bounds

PROMISE_HOURS = {Product.EMS: 24}
DEFAULT_PROMISE_HOURS = 48
COLUMNS = ("date", "delivered", "on_time", "on_time_rate", "first_attempt",
           "first_attempt_rate", "failed_attempts", "complaints_opened", "complaints_closed",
           "median_answer_hours")


class plus_hours(FunctionElement[datetime]):  # (named as the SQL function it is)
    """``plus_hours(t, hours)``: the time ``t`` plus a whole number of hours, in SQL and
    exact to the microsecond on both databases (a time 48 h after another compares equal
    to it plus 48 h, as in Python)."""

    type = UTCDateTime()
    name = "plus_hours"
    inherit_cache = True


@compiles(plus_hours)
def _plus_hours(element: plus_hours, compiler: Any, **kw: Any) -> str:
    t, hours = (compiler.process(c, **kw) for c in element.clauses)
    return f"({t} + make_interval(hours => {hours}))"


@compiles(plus_hours, "sqlite")
def _plus_hours_sqlite(element: plus_hours, compiler: Any, **kw: Any) -> str:
    # SQLite keeps times as text, 'YYYY-MM-DD HH:MM:SS.ffffff' (naive UTC), compared as
    # text: the hours moved by date arithmetic to the second, the fraction kept as it is
    t, hours = (compiler.process(c, **kw) for c in element.clauses)
    return (f"(strftime('%Y-%m-%d %H:%M:%S', {t}, '+' || {hours} || ' hours')"
            f" || substr({t}, 20))")


def _day_of(t: Any, bounds: list[datetime]) -> ColumnElement[int]:
    """The index of the day (0, 1, ...) that ends after ``t`` (``t`` in the period)."""
    return case(*((t < hi, literal_column(str(n))) for n, hi in enumerate(bounds)))


def figures(session: Session, office_id: int, first: date, days: int) -> dict[str, Any]:
    start, _ = day_bounds(first)
    bounds = [start + timedelta(days=n + 1) for n in range(days)]  # each day's end
    end = bounds[-1]
    ev = TrackingEvent
    in_range = (ev.office_id == office_id, ev.device_time >= start, ev.device_time < end)

    # deliveries, per day: each with whether a counted failed attempt came before it
    # (late ones included, at any office) and when the item first arrived at an office
    attempt, arrival = aliased(TrackingEvent), aliased(TrackingEvent)
    delivery = select(
        _day_of(ev.device_time, bounds).label("day"), ev.device_time, Item.window_end,
        Item.product,
        case((exists().where(attempt.item_id == ev.item_id, attempt.attempt_no.is_not(None),
                             attempt.device_time <= ev.device_time), 0),
             else_=1).label("first_ok"),
        select(func.min(arrival.device_time))
        .where(arrival.item_id == ev.item_id, arrival.code == EventCode.EMG,
               arrival.applied.is_(True), arrival.device_time <= ev.device_time)
        .correlate(ev).scalar_subquery().label("arrived"),
    ).join(Item, Item.id == ev.item_id).where(
        *in_range, ev.code == EventCode.EMI, ev.applied.is_(True)).subquery()
    d = delivery.c
    # ``arrived`` named once: the database computes the look-up (a correlated subquery)
    # wherever the subquery's column is named, and it was named three times (its test
    # and each product's deadline), for every delivery of the period. Without an
    # arrival the deadline is null, and the delivery not on time.
    promise = case(*((d.product == product, literal_column(str(h)))
                     for product, h in PROMISE_HOURS.items()),
                   else_=literal_column(str(DEFAULT_PROMISE_HOURS)))
    on_time = case((d.window_end.is_not(None),
                    case((d.device_time <= d.window_end, 1), else_=0)),
                   (d.device_time <= plus_hours(d.arrived, promise), 1), else_=0)
    delivered = {r.day: r for r in session.execute(
        select(d.day, func.count().label("delivered"),
               func.sum(d.first_ok).label("first_ok"), func.sum(on_time).label("on_time"))
        .group_by(d.day))}
    # failed attempts that count (they carry a number), per day and reason
    failed = select(_day_of(ev.device_time, bounds).label("day"), ev.reason).where(
        *in_range, ev.code == EventCode.EMH, ev.attempt_no.is_not(None),
        ev.reason.is_not(None)).subquery()
    reasons_of: dict[int, Counter[str]] = {}
    for r in session.execute(select(failed.c.day, failed.c.reason, func.count().label("n"))
                             .group_by(failed.c.day, failed.c.reason)):
        reasons_of.setdefault(r.day, Counter())[r.reason.value] = r.n
    complaints = session.execute(select(Complaint).where(
        Complaint.office_id == office_id,
        ((Complaint.created_at >= start) & (Complaint.created_at < end))
        | ((Complaint.answered_at >= start) & (Complaint.answered_at < end)))).unique() \
        .scalars().all()

    rows = []
    reasons_total: Counter[str] = Counter()
    for n in range(days):
        lo, hi = day_bounds(first + timedelta(days=n))
        day = delivered.get(n)
        count = day.delivered if day else 0
        on_time_n = int(day.on_time) if day else 0
        first_ok = int(day.first_ok) if day else 0
        reasons = reasons_of.get(n, Counter())
        reasons_total.update(reasons)
        opened = [c for c in complaints if lo <= c.created_at < hi]
        closed = [c for c in complaints if c.answered_at and lo <= c.answered_at < hi]
        answer_h = [(c.answered_at - c.created_at).total_seconds() / 3600 for c in closed
                    if c.answered_at]
        rows.append({
            "date": (first + timedelta(days=n)).isoformat(),
            "delivered": count, "on_time": on_time_n,
            "on_time_rate": round(on_time_n / count, 4) if count else None,
            "first_attempt": first_ok,
            "first_attempt_rate": round(first_ok / count, 4) if count else None,
            "failed_attempts": sum(reasons.values()),
            "failed_attempts_by_reason": dict(sorted(reasons.items())),
            "complaints_opened": len(opened), "complaints_closed": len(closed),
            "median_answer_hours": round(statistics.median(answer_h), 2) if answer_h else None,
        })
    outstanding = cod_outstanding(session, office_id)
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
