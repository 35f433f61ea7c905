"""When a parcel out for delivery is expected at its door: the window the public
tracking page shows its customer, from the courier's route in force and how late the
courier runs on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import EventCode, Item, Status, TrackingEvent

from ..devicetime import likely_time
from ..localtime import LOCAL_TZ, local_day
from .service import _published_for

#: the window shown runs from this long before the expected time ...
BEFORE = timedelta(minutes=30)
#: ... to this long after it (a courier is more often late than early)
AFTER = timedelta(minutes=60)
#: its ends are whole quarters of an hour
STEP = timedelta(minutes=15)


def _floor(t: datetime) -> datetime:
    local = t.astimezone(LOCAL_TZ)
    return local.replace(minute=local.minute - local.minute % 15, second=0, microsecond=0)


def _ceil(t: datetime) -> datetime:
    down = _floor(t)
    return down if down == t else down + STEP


def expected_delivery(session: Session, item: Item, now: datetime) -> dict[str, Any] | None:
    """``{"from", "to"}`` (aware local times), when ``item`` is out for delivery with a
    courier whose route in force today (the one their phone shows) has it still ahead
    with an ETA; else None (not out, delivered, on no route, left unplaced by a
    re-optimisation, the courier deactivated).

    The ETA is the route's, moved by how late the courier runs: the latest stop before
    this one served (delivered or attempted) since the route's ETAs were computed (its
    publication, or the courier's re-optimisation), against that stop's ETA, less what
    the route waits between the two for windows to open; before any is served, how much
    later than the route's start it was published (less the waits up to the parcel);
    never earlier than the route says, nor than now; none an hour (:data:`AFTER`) after
    the courier is due back at the office (the route's end, moved by as much). The
    window runs from :data:`BEFORE` it to :data:`AFTER` it, in whole quarters of an
    hour, and never starts before now."""
    if item.status is not Status.OUT_FOR_DELIVERY or item.courier_id is None:
        return None
    if item.courier is None or not item.courier.active:
        # a courier deactivated since can no longer log in, let alone deliver: their
        # route stays in force (the office reassigns its parcels), but it no longer
        # says when anyone comes
        return None
    day = local_day(now)
    plan = _published_for(session, item.office_id, day, item.courier_id)
    route = next((r for r in (plan.result or {}).get("routes", [])
                  if r["courier_id"] == item.courier_id), None) if plan else None
    if plan is None or route is None:
        return None
    stops = route["stops"]
    at = next((n for n, s in enumerate(stops) if s["identifier"] == item.identifier), None)
    if at is None or stops[at].get("done") or not stops[at].get("eta"):
        return None
    eta = datetime.fromisoformat(stops[at]["eta"])
    # the stops before it whose ETAs the route still holds (a re-optimisation's done
    # stops keep the old route's), by identifier
    before = {s["identifier"]: datetime.fromisoformat(s["eta"]) for s in stops[:at]
              if not s.get("done") and s.get("eta")}
    since = max((t for t in (plan.published_at,
                             datetime.fromisoformat(route["reoptimized_at"])
                             if route.get("reoptimized_at") else None) if t is not None),
                default=None)
    delay, served_any = timedelta(0), False
    if before and since is not None:
        served = session.execute(
            select(Item.identifier, TrackingEvent.device_time, TrackingEvent.server_time,
                   TrackingEvent.flags, TrackingEvent.clock_skew_s)
            .join(TrackingEvent, TrackingEvent.item_id == Item.id)
            .where(Item.office_id == item.office_id, Item.identifier.in_(before),
                   TrackingEvent.code.in_((EventCode.EMI, EventCode.EMH)),
                   TrackingEvent.applied.is_(True),
                   TrackingEvent.actor_id == item.courier_id,
                   TrackingEvent.server_time >= since)).all()
        times = [(likely_time(dt, st, flags, skew), ident) for ident, dt, st, flags, skew
                 in served]
        if times:
            served_any = True
            when, ident = max(times)
            # what the route waits after it (for windows to open) takes up as much
            served_at = next(n for n, s in enumerate(stops) if s["identifier"] == ident)
            slack = sum(int(s.get("wait_s") or 0) for s in stops[served_at + 1:at + 1])
            delay = max(delay, when - before[ident] - timedelta(seconds=slack))
    if not served_any and since is not None and route.get("start"):
        # nothing served yet: the route cannot have begun before it was published (a
        # plan of the day from 08:00, published at 09:20: every ETA was 80 minutes early,
        # and every window of the morning read "now")
        slack = sum(int(s.get("wait_s") or 0) for s in stops[:at + 1])
        delay = max(delay, since - datetime.fromisoformat(route["start"])
                    - timedelta(seconds=slack))
    # the route is over once the courier is due back at the office (its end, as late as
    # they run), give or take the window's own hour: a parcel still out then has no
    # result recorded, or is coming back; the window slid with the clock ("within the
    # hour" all evening, then past midnight into the next day)
    if route.get("end") and now > datetime.fromisoformat(route["end"]) + delay + AFTER:
        return None
    expected = max(eta + delay, now)
    start = max(_floor(expected - BEFORE), _floor(now))
    end = max(_ceil(expected + AFTER), start + 2 * STEP)
    return {"from": start.astimezone(LOCAL_TZ), "to": end.astimezone(LOCAL_TZ)}
