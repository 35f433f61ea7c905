"""The post's local time (Viet Nam, UTC+7, no daylight saving): service days, shift
days and the times shown to people are all in it. Storage stays UTC."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

LOCAL_TZ = timezone(timedelta(hours=7), "ICT")


def local_day(t: datetime) -> date:
    """The local calendar day of an aware time."""
    return t.astimezone(LOCAL_TZ).date()


def day_start(day: date) -> datetime:
    """Local midnight of ``day``, as an aware time."""
    return datetime(day.year, day.month, day.day, tzinfo=LOCAL_TZ)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = day_start(day)
    return start, start + timedelta(days=1)
