"""Route plans: build the routing problem from an office's items and couriers, solve
it in a background job, publish the result (assigning items to couriers)."""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import ObjectDeletedError, StaleDataError

import routing
from models import (
    AssignmentHow,
    Awaiting,
    CourierPosition,
    EventCode,
    Item,
    ItemAssignment,
    PlanStatus,
    Product,
    Role,
    RoutePlan,
    Status,
    TrackingEvent,
    User,
    lock_rows,
    locked_one,
    ward_key,
)
from models.route_plan import ACTIVE

from ..cash.service import field_shift_day
from ..errors import Conflict, Forbidden, NotFound, Problem, Unprocessable, database_busy
from ..items import custody, identifiers
from ..items.service import last_day_held
from ..jobs import JobState
from ..localtime import LOCAL_TZ, day_start, local_day
from ..rounds import service as rounds
from ..scope import office_for_write

log = logging.getLogger(__name__)
PLANNABLE = (Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE, Status.DELIVERY_FAILED)
#: Statuses of an item still to be delivered on the courier's route: what a plan takes
#: (``PLANNABLE``) and out for delivery; a held item is done for the day once it became
#: so after the plan was published, a failed one once it failed on the route's day
#: (:func:`_remaining`).
REMAINING = (*PLANNABLE, Status.OUT_FOR_DELIVERY)
#: an item in these statuses with its courier is on their motorbike (``Stop.on_board``)
ON_BOARD = (Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED)

STALE_HEARTBEAT = timedelta(seconds=120)
#: A courier's capacity when none is recorded (a motorbike's)
DEFAULT_CAPACITY_PARCELS = 60
DEFAULT_CAPACITY_KG = 80.0
#: What a rebalancing plan (``keep_assignments`` false) charges, in metres of
#: distance, for each parcel it moves from the courier a published plan gave it to
#: another courier, unless the request says otherwise (``move_cost_m``): measured on
#: the demo day (docs/routing.md, "Rebalancing on the demo day"), it keeps most of the
#: day where it is and still gives a courier who joins late a round
DEFAULT_MOVE_COST_M = 2_000
#: What a plan charges, in metres of distance, for each stop it gives another courier
#: than the one who usually rides the stop's delivery round (``round_cost_m`` of the
#: request; 0: rounds are ignored): measured on the demo day (docs/routing.md,
#: "Delivery rounds on the demo day"), it keeps most stops on their round's courier
#: and still lets the plan even out a day when one round has far more parcels
DEFAULT_ROUND_COST_M = 2_000


def _seconds(day: date, t: datetime) -> int:
    return int((t - day_start(day)).total_seconds())


def failure_days(session: Session, item_ids: Collection[int]) -> dict[int, date]:
    """The day of each item's latest failed attempt (its applied ``EMH``), by item id:
    the attempt's shift day in Viet Nam time, decided as for the cash it would have
    booked (:func:`api.cash.service.event_shift_day`: the phone's time, corrected for a
    clock found off, the server's when the phone's is implausible)."""
    if not item_ids:
        return {}
    latest = select(func.max(TrackingEvent.id)).where(
        TrackingEvent.item_id.in_(set(item_ids)), TrackingEvent.applied.is_(True),
        TrackingEvent.status_after == Status.DELIVERY_FAILED).group_by(TrackingEvent.item_id)
    # the columns the day needs only: whole events came with their actor, office, scan
    # and proof (two more statements per 500 items: 21 statements for 5 000 parcels back from
    # their attempts, at each refresh of the console's map, every 30 s)
    rows = session.execute(select(
        TrackingEvent.item_id, TrackingEvent.device_time, TrackingEvent.server_time,
        TrackingEvent.flags, TrackingEvent.clock_skew_s).where(TrackingEvent.id.in_(latest)))
    return {r.item_id: field_shift_day(r.device_time, r.server_time, r.flags, r.clock_skew_s)
            for r in rows}


def _failed_in_bag(day: date, courier_ids: Collection[int], courier_id: int,
                   failed_on: date | None) -> dict[str, str] | None:
    """Why a plan of ``day`` for ``courier_ids`` does not route a parcel whose delivery
    failed (on ``failed_on``) and that is still with ``courier_id`` (never scanned back
    in, nor sent out again): the ``reason`` and ``message`` of its unassigned entry and
    the ``detail`` of a 422 when it was chosen; None when the plan routes it, pinned to
    its courier (a later day's plan with them).

    On the day of the attempt (or a plan for an earlier day) it is in its courier's bag
    on the road and its round is over: the next attempt is due the next day at the
    earliest (``next_attempt_on``), and a retry that day starts with sending it out
    again (EDG), which puts it back on its courier's route as any parcel out for
    delivery. From the next day on it is planned pinned to the courier who has it; a
    plan without them does not take it from them (an absent courier's parcel is not
    silently handed to someone else)."""
    if failed_on is not None and failed_on >= day:
        return {"reason": "failed_this_day",
                "message": f"its delivery failed on {failed_on.isoformat()} with courier "
                           f"{courier_id}, who has it until it is scanned back in at the "
                           "office (EDF) or sent out again (EDG)",
                "detail": f"The item's delivery failed on {failed_on.isoformat()} with "
                          f"courier {courier_id}: it is in their bag until it is scanned "
                          "back in at the office (EDF), and is not planned again that "
                          "day; to try again that day, send it out again (EDG)."}
    if courier_id not in courier_ids:
        when = f" on {failed_on.isoformat()}" if failed_on is not None else ""
        return {"reason": "failed_with_another_courier",
                "message": f"its delivery failed{when} with courier {courier_id}, who is "
                           "not in this plan, and it was never scanned back in",
                "detail": f"The item's delivery failed{when} with courier {courier_id} "
                          "and it was never scanned back in: it is still with them, and "
                          "they are not in this plan. Scan it back in at the office "
                          "(EDF), or assign it to another courier by hand, to plan it "
                          "for another courier."}
    return None


#: Why a plan leaves out a parcel waiting for its recipient or its return
#: (``Item.awaiting``): its unassigned entry's ``reason`` and ``message``, and a 422's
#: ``detail``.
_AWAITING = {
    Awaiting.COLLECTION: {
        "reason": "awaits_collection",
        "message": "its recipient will collect it at the office (its last failed attempt "
                   "said so, or held it there)",
        "detail": "The item waits for its recipient at the office (its last failed attempt "
                  "said they will collect it, or held it there): it is not planned; to "
                  "deliver it after all, record the recipient's request (deliver, on a "
                  "day: POST /items/{id}/recipient-request) or send it out again (EDG)."},
    Awaiting.RETURN: {
        "reason": "awaits_return",
        "message": "its courier chose to return it to the sender at its last failed "
                   "attempt",
        "detail": "The item waits for its return to the sender (its courier chose so at "
                  "its last failed attempt): it is not planned; to deliver it after all, "
                  "record the recipient's request (deliver, on a day: POST "
                  "/items/{id}/recipient-request) or send it out again (EDG)."},
}


def _not_collected(last_day: date) -> dict[str, str]:
    """Why a plan of a day after ``last_day`` leaves out a parcel held for its recipient
    until ``last_day`` (:func:`api.items.service.collect_by`): its holding is over and it
    is due back to the sender (the returns due list it, ``why: not_collected``)."""
    when = last_day.isoformat()
    return {"reason": "not_collected",
            "message": f"its recipient did not collect it at the office by {when}: it is "
                       "due back to the sender",
            "detail": f"The item was held for its recipient at the office until {when}, "
                      "and they did not collect it: it is due back to the sender (the "
                      "returns due list it) and is not planned; to deliver it after all, "
                      "record the recipient's request (deliver, on a day: POST "
                      "/items/{id}/recipient-request) or send it out again (EDG)."}


def _asked_later(day: date, status: Status, next_attempt_on: date | None,
                 awaiting: Awaiting | None = None,
                 collect_until: datetime | None = None) -> dict[str, str] | None:
    """Why a plan of ``day`` does not route a parcel whose next attempt is due on a later
    day (``next_attempt_on``, set by a failed attempt: the day the recipient asked for,
    else the next day; kept while the parcel is held at the office): the ``reason`` and
    ``message`` of its unassigned entry (and of ``not_handed_over`` when publishing) and
    the ``detail`` of a 422 when it was chosen or put on a route; None when it is due on
    ``day`` or earlier, or has no such day. Sending the parcel out again (EDG) clears the
    day: the way to try earlier (the recipient called back), as :func:`_failed_in_bag`
    says for the day of the attempt; so a parcel out for delivery is in its courier's
    bag and on their route, whatever the day said. A parcel ``awaiting`` its recipient
    or its return (``Item.awaiting``) is due on no day: :data:`_AWAITING` says why, or
    :func:`_not_collected` for a plan after the last day it is held (``collect_until``)."""
    if status is Status.OUT_FOR_DELIVERY:
        return None
    if awaiting is Awaiting.COLLECTION and collect_until is not None and (
            (last := last_day_held(collect_until)) < day):
        return _not_collected(last)
    if awaiting is not None:
        return dict(_AWAITING[awaiting])
    if next_attempt_on is None or next_attempt_on <= day:
        return None
    when = next_attempt_on.isoformat()
    return {"reason": "next_attempt_later",
            "message": f"its next attempt is due on {when} (the day after its failed "
                       "attempt, or the day the recipient asked for), not before",
            "detail": f"The item's next attempt is due on {when} (the day after its failed "
                      "attempt, or the day the recipient asked for): it is not planned "
                      "before that day; to try earlier, record the recipient's request "
                      "(deliver, on a day: POST /items/{id}/recipient-request) or send it "
                      "out again (EDG)."}


def due_later(item: Item, day: date) -> dict[str, str] | None:
    """:func:`_asked_later` for ``item`` and a plan of ``day``: what every place that
    plans, publishes, re-optimises or offers a day's items for planning (the console)
    asks."""
    return _asked_later(day, item.status, item.next_attempt_on, item.awaiting,
                        item.collect_until)


def bags_on(session: Session, items: Collection[Item], day: date) -> dict[int, int]:
    """``{item id: courier id}`` for those of ``items`` in a courier's bag on ``day``, out
    on the road with them: out for delivery, or back from a failed attempt made that
    day (or later: a plan for an earlier day) and neither scanned back in at the office
    (EDF) nor sent out again (EDG). No plan of that day hands such a parcel to another
    courier, takes it from its courier or (failed) routes it again; a dispatcher may
    reassign it by hand (``POST /items/{id}/assign``). A parcel that failed on an earlier
    day and was never scanned back in is not in the bag in this sense (at the start of
    the shift its courier can hand it over at the office), but it stays theirs unless
    the dispatcher gives it to another courier (:func:`_failed_in_bag`, :func:`publish`)."""
    mine = [it for it in items if it.courier_id is not None
            and it.status in (Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED)]
    days = failure_days(session, [it.id for it in mine
                                  if it.status is Status.DELIVERY_FAILED])
    return {it.id: it.courier_id for it in mine if it.courier_id is not None and (
        it.status is Status.OUT_FOR_DELIVERY
        or (days.get(it.id) is not None and days[it.id] >= day))}


def _failed_unplanned(plan: RoutePlan, holder: int, failed_on: date | None
                      ) -> dict[str, str]:
    """Why ``plan`` may not give another courier a parcel whose delivery failed (on
    ``failed_on``, before the plan's day) with ``holder``, who still has it (never
    scanned back in, nor sent out again), when the plan did not know that they have it
    (its stop is not pinned to them): the ``reason``, ``message`` and ``detail`` as
    :func:`_failed_in_bag`'s. A plan made now would have pinned it to them, or left it
    out when they are not in the plan; a dispatcher's edit of a plan that pinned it may
    move it (a hand-over at the office at the start of the shift), but a plan that
    routed it while it was at the office never chose that."""
    held = _failed_in_bag(plan.service_date, _plan_couriers(plan), holder, failed_on)
    if held is not None:
        return held
    when = f" on {failed_on.isoformat()}" if failed_on is not None else ""
    return {"reason": "failed_since_planned",
            "message": f"after the plan was made it went to courier {holder}, whose "
                       f"delivery attempt{when} failed; never scanned back in, it is still "
                       "with them",
            "detail": f"The item went to courier {holder} after the plan was made and its "
                      f"delivery failed{when}; it was never scanned back in, so it is still "
                      "with them. Put it on their route or take it off every route; to "
                      "give it to another courier, scan it back in at the office (EDF) or "
                      "assign it by hand."}


def _attempts_used_up(item: Item, max_attempts: int | None) -> dict[str, str] | None:
    """The ``reason`` and ``message`` for not routing ``item`` (:func:`build_problem`) or
    not handing it over (:func:`publish`) when its failed attempts use up the limit: a
    late failed attempt, counted after the item was held (docs/domain.md), can do that
    while it waits at the office; no new round may start (EDG is refused), it goes back
    to the sender. None when it has attempts left, or is out on its round already."""
    if (max_attempts is None or item.status is Status.OUT_FOR_DELIVERY
            or item.failed_attempts < max_attempts):
        return None
    return {"reason": "attempts_used_up",
            "message": f"its {item.failed_attempts} failed attempts use up the limit "
                       f"({max_attempts}): it is to be returned to the sender (RTS), not "
                       "sent out again"}


#: Statuses of an item on the office's shelf: one with a courier was given to them but is
#: not with them (the only ones whose pin depends on how it was given:
#: :func:`assigned_by_hand`)
AT_OFFICE = (Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE)

#: How an item's open assignment period began that makes it its courier's for a plan:
#: by hand (a dispatcher's choice), or held when the history began (a backfilled period:
#: how the courier got it is unknown, so it is kept as a dispatcher's choice would be)
BY_HAND = frozenset({AssignmentHow.MANUAL, AssignmentHow.BACKFILL})


def assigned_by_hand(session: Session, items: Collection[Item]) -> set[int]:
    """Ids of those of ``items`` on the office's shelf (``AT_OFFICE``) whose courier has
    them on purpose: their open assignment period began by hand or is backfilled
    (``BY_HAND``), or there is none though they have a courier (not written through
    :func:`api.items.custody.hand_over`, e.g. data loaded outside the API: unknown, so
    kept), and they have not gone out for delivery since it began. A plan pins such an
    item to its courier, and does not give it to another one when they are not in the
    plan (:func:`_kept_elsewhere`). One a published plan gave its courier
    (``ROUTE_PLAN``) is that plan's choice, which a rebalancing re-plan
    (``keep_assignments`` false) may change (it prefers its courier: moving it costs
    ``move_cost_m``); and so is one that
    went out with its courier and came back (held, or scanned back in after a failed
    attempt): the hand-over was for that round, the parcel is the office's to give out
    again (docs/api.md, "A parcel in a courier's bag")."""
    mine = [it for it in items if it.courier_id is not None and it.status in AT_OFFICE]
    periods = custody.open_periods(session, [it.id for it in mine])
    hand = {it.id for it in mine if it.id not in periods or periods[it.id].started_how
            in BY_HAND}
    went_out = {it.id for it in mine if it.id in hand and it.id in periods}
    if went_out:
        went_out = set(session.execute(
            select(TrackingEvent.item_id).join(ItemAssignment, (
                ItemAssignment.item_id == TrackingEvent.item_id)
                & ItemAssignment.ended_at.is_(None)).where(
                TrackingEvent.item_id.in_(went_out), TrackingEvent.applied.is_(True),
                TrackingEvent.status_after == Status.OUT_FOR_DELIVERY,
                TrackingEvent.server_time >= ItemAssignment.started_at)).scalars())
    return hand - went_out


def _kept_elsewhere(holder: int) -> dict[str, str]:
    """Why a plan whose couriers do not include ``holder`` leaves out an item at the
    office assigned to them by hand (:func:`assigned_by_hand`). The ``reason`` and
    ``message`` of its unassigned entry and the ``detail`` of a 422 when it was chosen:
    a plan never silently gives away what a dispatcher gave a courier."""
    return {"reason": "assigned_by_hand",
            "message": f"it was assigned by hand to courier {holder}, who is not in "
                       "this plan: it stays theirs",
            "detail": f"The item was assigned by hand to courier {holder}, who is not "
                      "in this plan: it stays theirs. Plan it with them, or assign it "
                      "to another courier (or to nobody) by hand first."}


def _assigned_since_planned(holder: int) -> dict[str, str]:
    """Why publishing does not hand an item at the office to its route's courier, nor
    take it from ``holder``, when a dispatcher assigned it to ``holder`` by hand after
    the plan was made (the plan did not pin it to them): the later choice is theirs.
    The ``reason``, ``message`` and (for an edit's 422) ``detail``."""
    return {"reason": "assigned_since_planned",
            "message": f"after the plan was made it was assigned by hand to courier "
                       f"{holder}: it stays theirs",
            "detail": f"The item was assigned by hand to courier {holder} after the plan "
                      "was made: it stays theirs. Put it on their route or take it off "
                      "every route; to give it to another courier, assign it by hand."}


#: a plan of today made once its shift has begun starts at the next of these steps (s)
START_STEP_S = 300


def build_problem(session: Session, actor: User, data: Mapping[str, Any], *,
                  max_attempts: int | None = None, now: datetime | None = None,
                  office_load_s: int = routing.OFFICE_LOAD_S,
                  office_load_per_parcel_s: int = routing.OFFICE_LOAD_PER_PARCEL_S
                  ) -> tuple[int, dict[str, Any]]:
    """The office and the routing problem (``routing.Problem.from_dict`` shape). Items
    without coordinates, whose delivery window is not on the day (a window over
    midnight is cut there), in a courier's bag the plan cannot take them from
    (:func:`_failed_in_bag`) or whose next attempt is due on a later day
    (``next_attempt_on``: :func:`_asked_later`) or assigned by hand to a courier not in
    the plan (:func:`_kept_elsewhere`) are left out: listed under the problem's
    ``left_out`` key, which the finished plan adds to its unassigned stops.

    A stop is pinned to its item's courier (``courier_id``: the solver may not move it)
    when that courier is in the plan and has it physically or on purpose: out for
    delivery, back from a failed attempt (:func:`_failed_in_bag`), or given by hand
    (:func:`assigned_by_hand`), and, with ``keep_assignments`` (the default), when a
    published plan gave it to them. (One a published plan gave a courier not in this
    plan is the plan's to give, as an item nobody has.) A rebalancing re-plan
    (``keep_assignments`` false: a courier joins late) pins only the first kind, so an
    item at the office that a published plan gave its courier may go to another: the
    stop prefers its courier (``preferred_courier``) and the problem's ``move_cost_m``
    (the request's, else :data:`DEFAULT_MOVE_COST_M`) is what moving it costs the
    solver, so it moves only when that shortens the day by more, or when its courier
    cannot take it. Every stop pinned or preferred so is ``committed``: on a day that
    cannot fit every stop, the solver leaves out new stops before those (one for one;
    two new ones still beat one committed)."""
    from models import Office

    office_id = office_for_write(actor, data.get("office_id"), what="route plans")
    office = session.get(Office, office_id)
    if office is None:
        raise Unprocessable(f"No office {office_id}.",
                            errors=[{"pointer": "/office_id", "detail": "Unknown office."}])
    day: date = data["date"]
    open_s, close_s = data["shift_start_s"], data["shift_end_s"]
    under_way = (now is not None and day == local_day(now)
                 and open_s < _seconds(day, now) < close_s)
    if under_way:
        # a plan of today made once the shift has begun starts when it is made (at the
        # next 5 minutes): the couriers cannot leave the office earlier. A re-plan at noon
        # planned from 08:00, so windows of the morning looked met and every ETA was
        # hours early. (After the shift, the day is planned as asked.)
        assert now is not None
        open_s = min(close_s - 1, -(-_seconds(day, now) // START_STEP_S) * START_STEP_S)
    shift = {"open_s": open_s, "close_s": close_s}

    q = select(User).where(User.office_id == office_id, User.role == Role.COURIER,
                           User.active.is_(True))
    if data.get("courier_ids"):
        q = q.where(User.id.in_(data["courier_ids"]))
    couriers = session.execute(q.order_by(User.id)).scalars().all()
    if data.get("courier_ids") and len(couriers) != len(set(data["courier_ids"])):
        raise Unprocessable("Some couriers are not active couriers of this office.",
                            errors=[{"pointer": "/courier_ids", "detail": "Unknown courier."}])
    if not couriers:
        raise Unprocessable("No courier to plan for.",
                            errors=[{"pointer": "/courier_ids", "detail": "No active courier."}])

    # by default the parcels its couriers are out with too: re-planning a courier's day
    # after noon must keep what is already in their bag on their route
    statuses = tuple(data.get("statuses") or (*PLANNABLE, Status.OUT_FOR_DELIVERY))
    courier_ids = {c.id for c in couriers}
    keep = bool(data.get("keep_assignments", True))
    move_cost = None if keep else int(data.get("move_cost_m", DEFAULT_MOVE_COST_M))
    round_cost = int(data.get("round_cost_m", DEFAULT_ROUND_COST_M))
    # ward key -> the courier of this plan who usually rides the round covering it
    on_rounds = rounds.round_couriers(session, office_id, courier_ids) if round_cost else {}
    wanted: ColumnElement[bool] = Item.status.in_(statuses)
    if data.get("identifiers"):
        # as every other look-up: 'ee 123 456 785 vn' is EE123456785VN
        chosen = [identifiers.normalize(i) for i in data["identifiers"]]
        wanted = and_(wanted, Item.identifier.in_(set(chosen)))
        # one that is no item of this office (unknown, or another office's: the same
        # answer), or whose status is not planned (delivered, out with a courier …), is
        # an error, not a parcel silently left out of the plan
        rows = session.execute(select(
            Item.identifier, Item.status, Item.courier_id, Item.id, Item.next_attempt_on,
            Item.awaiting, Item.collect_until).where(
            Item.office_id == office_id, Item.identifier.in_(set(chosen)))).all()
        by_hand_chosen = assigned_by_hand(session, session.execute(select(Item).where(
            Item.id.in_([r[3] for r in rows if r[2] is not None and r[1] in AT_OFFICE
                         and r[2] not in courier_ids]))).unique().scalars().all())
        known = {r[0]: r[1] for r in rows}
        # in a courier's bag: out for delivery with a courier the plan is not for, or
        # back from a failed attempt (_failed_in_bag)
        elsewhere = {r[0]: r[2] for r in rows if r[1] is Status.OUT_FOR_DELIVERY
                     and r[2] is not None and r[2] not in courier_ids}
        days = failure_days(session, [r[3] for r in rows if r[1] is Status.DELIVERY_FAILED])
        bagged: dict[str, str] = {}
        later: dict[str, str] = {}  # next attempt due on a later day (next_attempt_on)
        kept: dict[str, str] = {}  # assigned by hand to a courier not in the plan
        for ident, status, holder, item_id, asked, awaiting, until in rows:
            if status is Status.DELIVERY_FAILED and holder is not None and (
                    held := _failed_in_bag(day, courier_ids, holder, days.get(item_id))):
                bagged[ident] = held["detail"]
            elif wait := _asked_later(day, status, asked, awaiting, until):
                later[ident] = wait["detail"]
            elif (status in AT_OFFICE and holder is not None and holder not in courier_ids
                  and item_id in by_hand_chosen):
                # given by hand to a courier not in the plan: theirs
                kept[ident] = _kept_elsewhere(holder)["detail"]
        planned = ", ".join(s.value for s in statuses)
        wrong = []
        for n, ident in enumerate(chosen):
            if ident not in known:
                detail = "No item of this office."
            elif known[ident] not in statuses:
                detail = (f"The item is {known[ident].value}; the plan takes items that "
                          f"are {planned}.")
            elif ident in elsewhere:
                detail = (f"The item is out for delivery with courier {elsewhere[ident]}, "
                          "who is not in this plan.")
            elif ident in bagged:
                detail = bagged[ident]
            elif ident in later:
                detail = later[ident]
            elif ident in kept:
                detail = kept[ident]
            else:
                continue
            wrong.append({"pointer": f"/identifiers/{n}", "detail": detail})
        if wrong:
            raise Unprocessable("Some chosen items cannot be planned: not items of this "
                                "office, not in a status the plan takes, in a courier's "
                                "bag this plan cannot take them from, whose next attempt "
                                "is due on a later day, or assigned to a courier not in "
                                "this plan by hand.", errors=wrong)
    # whatever the plan's couriers already hold and is still to deliver is always in it,
    # whichever items or statuses were chosen: publishing takes over their routes, and a
    # parcel in their bag or given to them must not drop off the route their phone shows
    theirs = and_(Item.courier_id.in_(courier_ids), Item.status.in_(REMAINING))
    iq = select(Item).where(Item.office_id == office_id, or_(wanted, theirs))
    items = session.execute(iq.order_by(Item.id)).unique().scalars().all()
    failed_on = failure_days(session, [it.id for it in items if it.courier_id is not None
                                       and it.status is Status.DELIVERY_FAILED])
    by_hand = assigned_by_hand(session, items)
    stops: list[dict[str, Any]] = []
    left_out: list[dict[str, str]] = []  # shown with the plan's unassigned stops
    round_stops: dict[str, str] = {}  # stop id -> its round's courier (preferred)
    for it in items:
        if (it.status is Status.OUT_FOR_DELIVERY and it.courier_id is not None
                and it.courier_id not in courier_ids):
            # in another courier's bag: not this plan's to give away (said only when the
            # dispatcher asked for such parcels, not for every other courier's by default)
            if data.get("statuses"):
                left_out.append({"identifier": it.identifier, "reason": "out_with_another_courier",
                                 "message": f"it is out for delivery with courier "
                                            f"{it.courier_id}, who is not in this plan"})
            continue
        if it.status is Status.DELIVERY_FAILED and it.courier_id is not None and (
                held := _failed_in_bag(day, courier_ids, it.courier_id,
                                       failed_on.get(it.id))):
            # back from a failed attempt, in its courier's bag: done for the day, or not
            # this plan's to give to another courier (failed is a status planned by
            # default: said every time)
            left_out.append({"identifier": it.identifier, "reason": held["reason"],
                             "message": held["message"]})
            continue
        if used := _attempts_used_up(it, max_attempts):
            left_out.append({"identifier": it.identifier, **used})
            continue
        if wait := due_later(it, day):
            # its next attempt is due on a later day (after the bag rules: a parcel that
            # failed that day is due the next day at the earliest, and is said so)
            left_out.append({"identifier": it.identifier, "reason": wait["reason"],
                             "message": wait["message"]})
            continue
        if (it.status in AT_OFFICE and it.courier_id is not None
                and it.courier_id not in courier_ids and it.id in by_hand):
            kept = _kept_elsewhere(it.courier_id)
            left_out.append({"identifier": it.identifier, "reason": kept["reason"],
                             "message": kept["message"]})
            continue
        if it.recipient_lat is None or it.recipient_lon is None:
            left_out.append({"identifier": it.identifier, "reason": "no_coordinates",
                             "message": "the item has no coordinates"})
            continue
        window = None
        if it.window_start is not None and it.window_end is not None:
            # the part of the window on this day (one over midnight is cut there)
            o = max(0, _seconds(day, it.window_start))
            c = min(86_400, _seconds(day, it.window_end))
            if o >= c:
                # in Viet Nam time, as the day: stored UTC, a window of 06:30 on the 29th
                # read "2026-11-28T23:30:00+00:00 ... is not on 2026-11-28"
                left_out.append({
                    "identifier": it.identifier, "reason": "window_not_on_this_day",
                    "message": f"its delivery window "
                               f"({it.window_start.astimezone(LOCAL_TZ).isoformat()} to "
                               f"{it.window_end.astimezone(LOCAL_TZ).isoformat()}) is not "
                               f"on {day.isoformat()}"})
                continue
            window = {"open_s": o, "close_s": c}
        # pinned to a courier of this plan who has it (out, or back from a failed
        # attempt) or was given it by hand, and (keep_assignments, the default) to the
        # one a published plan gave it at the office; a rebalancing plan prefers that
        # one instead (soft: moving it to another courier costs move_cost_m)
        mine = it.courier_id in courier_ids
        pinned = mine and (it.status not in AT_OFFICE or keep or it.id in by_hand)
        stop: dict[str, Any] = {
            "id": it.identifier,
            "location": {"lat": it.recipient_lat, "lon": it.recipient_lon},
            "service_s": 240 if (it.is_cod or it.id_check_required) else 120,
            "window": window,
            "demand": {"parcels": 1, "weight_g": it.weight_g},
            "priority": 1 if it.product is Product.EMS or window else 0,
            "courier_id": str(it.courier_id) if pinned else None,
        }
        if mine and not pinned:
            stop["preferred_courier"] = str(it.courier_id)
        elif (not pinned and (rider := on_rounds.get(ward_key(it.recipient_ward)))
              is not None):
            # in a delivery round whose courier is in the plan, and no other rule gives
            # it to a courier: it prefers the round's courier (soft: another courier
            # costs round_cost_m); not committed (a new stop as any other)
            stop["preferred_courier"] = str(rider)
            stop["move_cost_m"] = round_cost
            round_stops[it.identifier] = str(rider)
        if mine:
            # given out already (in the courier's bag, by hand or by a published plan):
            # when the day cannot fit every stop, new ones are left out first
            stop["committed"] = True
        if pinned and it.status in ON_BOARD:
            # in the bag on the road: leaving it out frees no room on the motorbike (a
            # plan dropped heavy bag parcels to take more light ones from the office)
            stop["on_board"] = True
        stops.append(stop)
    if not stops:
        raise Unprocessable("No item to plan: none in the chosen statuses has coordinates "
                            "and a delivery window on that day.", slug="nothing-to-plan",
                            notes=[f"{x['identifier']}: {x['message']}" for x in left_out])
    # couriers out on the road now start where they are, with their bag: the rest of
    # their route passes by the office to load (routing.Courier.bag_only)
    road = on_the_road(session, office_id, [c.id for c in couriers], (office.lat, office.lon),
                       now) if under_way and now is not None else {}
    # a capacity not recorded (None) is the default motorbike's; 0 is a courier who
    # carries nothing (the model and the solver take it), not "not recorded"
    problem: dict[str, Any] = {
        "office": {"id": office.code, "location": {"lat": office.lat, "lon": office.lon},
                   "load_s": office_load_s, "load_per_parcel_s": office_load_per_parcel_s},
        "stops": stops,
        "couriers": [{
            "id": str(c.id), "shift": shift,
            "capacity": {
                "parcels": DEFAULT_CAPACITY_PARCELS if c.vehicle_capacity_parcels is None
                else c.vehicle_capacity_parcels,
                "weight_g": int((DEFAULT_CAPACITY_KG if c.vehicle_capacity_kg is None
                                 else c.vehicle_capacity_kg) * 1000)},
            "return_to_office": True,
            **({"start": road[c.id], "bag_only": True} if c.id in road else {}),
        } for c in couriers],
    }
    if move_cost is not None:  # a rebalancing plan: what moving a parcel given out costs
        problem["move_cost_m"] = move_cost
    # (top-level keys Problem.from_dict does not know: with_stability's figures)
    problem["round_cost_m"] = round_cost
    problem["round_stops"] = round_stops
    # validate now: a bad or oversized problem never reaches a job
    routing.Problem.from_dict(problem)
    if left_out:  # (Problem.from_dict ignores top-level keys it does not know)
        problem["left_out"] = left_out
    return office_id, problem


#: A courier's latest position counts for a plan made during the day when it is at
#: most this old (device time; a phone sends one about every 30 s while it has a fix)
ROAD_POSITION_AGE = timedelta(minutes=15)
#: ... and a fix worse than this (metres) says nothing of where they are: it cannot
#: tell the office (``routing.AT_OFFICE_M``) from the street outside
ROAD_FIX_ACCURACY_M = routing.AT_OFFICE_M


def on_the_road(session: Session, office_id: int, courier_ids: Collection[int],
                office: tuple[float, float], now: datetime) -> dict[int, dict[str, float]]:
    """Where each of these couriers is now, as a plan's start: their latest position of
    the last :data:`ROAD_POSITION_AGE` (a phone clock up to 5 minutes ahead taken
    too) whose fix is good to :data:`ROAD_FIX_ACCURACY_M` (or says nothing of it: a
    phone indoors reports a network fix hundreds of metres off, and a courier at the
    office was planned from there, as out on the road with only their bag), if they are
    away from the office (more than ``routing.AT_OFFICE_M``) and
    within :data:`MAX_REOPTIMIZE_DISTANCE_M` of it (a fix farther off is a stale or
    wrong one: the courier is taken to be at the office). A courier who scanned a
    parcel of the office out for delivery (EDG, a parcel they hold now) after that
    position is loading at the office: a phone indoors often has no fix, and its latest
    one is from the ride in."""
    if not courier_ids:
        return {}
    since, until = now - ROAD_POSITION_AGE, now + timedelta(minutes=5)
    rows = session.execute(
        select(CourierPosition.courier_id, CourierPosition.lat, CourierPosition.lon,
               CourierPosition.device_time)
        .where(CourierPosition.courier_id.in_(list(courier_ids)),
               CourierPosition.device_time >= since, CourierPosition.device_time <= until,
               or_(CourierPosition.accuracy_m.is_(None),
                   CourierPosition.accuracy_m <= ROAD_FIX_ACCURACY_M))
        .order_by(CourierPosition.courier_id, CourierPosition.device_time.desc(),
                  CourierPosition.id.desc())).all()
    # (whoever recorded it: the courier's phone, or a clerk handing the parcel over)
    loading = dict(session.execute(
        select(Item.courier_id, func.max(TrackingEvent.device_time))
        .join(Item, Item.id == TrackingEvent.item_id)
        .where(TrackingEvent.office_id == office_id, TrackingEvent.code == EventCode.EDG,
               Item.courier_id.in_(list(courier_ids)),
               TrackingEvent.device_time >= since, TrackingEvent.device_time <= until)
        .group_by(Item.courier_id)).all())
    home = routing.LatLon(*office)
    out: dict[int, dict[str, float]] = {}
    for cid, lat, lon, at in rows:
        if cid in out:
            continue  # an older one
        far = routing.haversine_m([routing.LatLon(lat, lon), home])[0, 1]
        if (routing.AT_OFFICE_M < far <= MAX_REOPTIMIZE_DISTANCE_M
                and not (cid in loading and loading[cid] >= at)):
            out[cid] = {"lat": lat, "lon": lon}
        else:
            out[cid] = {}
    return {cid: at for cid, at in out.items() if at}


def create_plan(session: Session, actor: User, data: Mapping[str, Any], *, now: datetime,
                max_attempts: int | None = None, office_load_s: int = routing.OFFICE_LOAD_S,
                office_load_per_parcel_s: int = routing.OFFICE_LOAD_PER_PARCEL_S
                ) -> RoutePlan:
    office_id, problem = build_problem(session, actor, data, max_attempts=max_attempts,
                                       now=now, office_load_s=office_load_s,
                                       office_load_per_parcel_s=office_load_per_parcel_s)
    problem.update(starting_routes(session, office_id, data["date"], problem,
                                   warm=data.get("warm_start", True)))
    plan = RoutePlan(office_id=office_id, service_date=data["date"], status=PlanStatus.QUEUED,
                     created_by_id=actor.id, created_at=now, time_limit_s=data["time_limit_s"],
                     problem=problem, progress=0.0)
    session.add(plan)
    session.flush()
    return plan


#: Why a plan failed (``RoutePlan.error_code``) and its English words
#: (``RoutePlan.error``, the API's ``error``; ``{status}``, ``{kind}`` filled in). The
#: console says each in Vietnamese by its code (api/console/labels.py, ``PLAN_ERROR``).
PLAN_ERRORS = {
    "queue_unavailable": "The job queue was unavailable; start a new plan.",
    "worker_stopped": "The worker running this plan stopped before it finished; start a "
                      "new plan.",
    "job_vanished": "The job of this plan is no longer in the queue (Redis was emptied or "
                    "lost its data); start a new plan.",
    "no_job_queue": "The job of this plan was queued on Redis, but the app now runs "
                    "without a job queue (REDIS_URL is not set): nothing here can run or "
                    "follow it; start a new plan.",
    "job_ended": "The job of this plan ended without solving it: is the RQ worker on this "
                 "database (DATABASE_URL)? Start a new plan.",
    "never_queued": "The plan never reached the job queue; start a new plan.",
    "job_not_started": "The job of this plan stopped before it started; start a new plan.",
    "job_status": "The job is {status} in the queue.",
    "optimisation_failed": "The optimisation failed: {kind}",
}


def failed_because(plan: RoutePlan, code: str, **values: Any) -> None:
    """Record why ``plan`` failed: ``code`` (:data:`PLAN_ERRORS`) and its English words."""
    plan.error_code = code
    plan.error = PLAN_ERRORS[code].format(**values)


def start_plan(session: Session, actor: User, data: Mapping[str, Any], *, now: datetime,
               app: Any) -> RoutePlan:
    """:func:`create_plan`, committed, and its job queued. If the queue cannot take it
    (Redis down), the plan is recorded as failed and the caller gets a 503: a plan
    never waits for a job that does not exist."""
    from .. import jobs

    plan = create_plan(session, actor, data, now=now,
                       max_attempts=app.config["MAX_DELIVERY_ATTEMPTS"],
                       office_load_s=round(app.config["OFFICE_LOAD_MINUTES"] * 60),
                       office_load_per_parcel_s=app.config["OFFICE_LOAD_SECONDS_PER_PARCEL"])
    session.commit()
    try:
        plan.job_id = jobs.submit(app, "api.route_plans.tasks.run_plan", plan.id,
                                  timeout_s=int(plan.time_limit_s) + 300)
    except Exception as exc:  # noqa: BLE001 - whatever the queue raised: recorded, 503
        log.exception("route plan %s could not be queued", plan.id)
        session.rollback()
        plan.status, plan.finished_at = PlanStatus.FAILED, now
        failed_because(plan, "queue_unavailable")
        session.commit()
        raise Problem("The job queue is unavailable; try again in a moment.", status=503,
                      slug="job-queue-unavailable", title="Service unavailable",
                      headers={"Retry-After": "30"}, plan_id=plan.id) from exc
    session.commit()
    return plan


def get_plan(session: Session, actor: User, plan_id: int) -> RoutePlan:
    plan = session.get(RoutePlan, plan_id)
    if plan is None or actor.role is Role.COURIER or (
            actor.role is Role.DISPATCHER and plan.office_id != actor.office_id):
        raise NotFound(f"No route plan {plan_id}.")
    return plan


def lock_plan(session: Session, plan_id: int) -> RoutePlan | None:
    """The plan re-read with its row locked until the transaction ends
    (:func:`models.locked_one`), so that what is checked (its status, its routes)
    cannot change before the write commits."""
    plan: RoutePlan | None = locked_one(session, RoutePlan, RoutePlan.id == plan_id)
    return plan


def get_plan_for_update(session: Session, actor: User, plan_id: int) -> RoutePlan:
    """:func:`get_plan` with the row locked (:func:`lock_plan`)."""
    get_plan(session, actor, plan_id)  # 404s first, without taking a lock
    plan = lock_plan(session, plan_id)
    if plan is None:
        raise NotFound(f"No route plan {plan_id}.")
    return plan


def refresh(plan: RoutePlan, *, now: datetime, job: JobState | None) -> bool:
    """Notice a job that died: RQ says failed/stopped, or finished while its
    plan is still queued or running, the job of a queued plan is gone from Redis or
    cannot be followed (no ``REDIS_URL`` now), the worker's heartbeat
    stopped, or the job never started its plan (:func:`api.jobs.rq_job_state` gives
    ``job``; None: a thread job, or Redis unreachable). Returns True if the plan
    changed."""
    if plan.status not in ACTIVE:
        return False
    rq_status = job.status if job is not None else None
    lost = rq_status in ("failed", "stopped", "canceled")
    # a queued plan's job gone from Redis (flushed, or restarted without its data): no
    # worker will ever take it. A running plan's job gone with it is followed by the
    # plan's own heartbeat (``stale``): its worker may still be solving it.
    vanished = plan.status is PlanStatus.QUEUED and rq_status == "missing"
    # the job ended, yet its plan was never solved nor cancelled (the job stores the
    # result, or sees the plan no longer queued, before it ends): a worker on another
    # database (a worker without this app's DATABASE_URL, or another deployment's
    # sharing the Redis) took it and found no such plan there; it stayed queued for ever
    ended = rq_status == "finished"
    stale = (plan.status is PlanStatus.RUNNING and plan.heartbeat_at is not None
             and now - plan.heartbeat_at > STALE_HEARTBEAT)
    waiting = plan.status is PlanStatus.QUEUED and now - plan.created_at > STALE_HEARTBEAT
    # created, but the process stopped before its job was queued
    orphan = waiting and plan.job_id is None
    # a thread job starts at once and marks its plan running first: one still queued
    # died before it started (no queue keeps a status for it, as RQ does)
    unstarted = waiting and plan.job_id is not None and plan.job_id.startswith("thread-")
    # an RQ job marks its plan running as soon as a worker takes it: one RQ says was
    # taken two minutes ago whose plan is still queued, and whose worker is gone or
    # has stopped beating (a busy worker beats every 30 s), was killed before it started
    # the plan; RQ itself would fail the job only after its timeout, and only if
    # another worker runs. A job still waiting in the queue is not failed.
    taken_by_dead_worker = (
        plan.status is PlanStatus.QUEUED and job is not None and job.status == "started"
        and job.started_at is not None and now - job.started_at > STALE_HEARTBEAT
        and (job.worker_beat_at is None or now - job.worker_beat_at > STALE_HEARTBEAT))
    unstarted = unstarted or taken_by_dead_worker
    # queued on RQ, and the app was restarted without REDIS_URL: it can neither see the
    # job nor run it, and a new plan runs in a thread here. Failed once it is as old as
    # an orphan's (a worker still on that Redis takes a job well before; one that takes
    # it later finds the plan failed and ends). A running one is followed by its
    # heartbeat, as a thread job's.
    unfollowed = waiting and rq_status == "no-queue"
    if lost or vanished or ended or stale or orphan or unstarted or unfollowed:
        plan.status = PlanStatus.FAILED
        failed_because(plan, "worker_stopped" if stale else "job_vanished" if vanished
                       else "no_job_queue" if unfollowed else "job_ended" if ended
                       else "never_queued" if orphan else "job_not_started" if unstarted
                       else "job_status", status=rq_status)
        plan.finished_at = now
        return True
    return False


def refresh_stored(session: Session, plan: RoutePlan, *, now: datetime,
                   job: JobState | None) -> RoutePlan:
    """:func:`refresh`, written: decided first on ``plan`` as read (no lock: most reads
    change nothing), then again on its row locked, as the job's own write locks it
    (:func:`_store`). Decided on the unlocked row alone, a plan whose worker stored its
    result meanwhile was overwritten as failed. Returns the plan as it now stands."""
    plan_id = plan.id
    if not refresh(plan, now=now, job=job):
        return plan
    session.expire(plan)  # (the change above, on a row that may be stale: not flushed)
    locked = lock_plan(session, plan_id)
    if locked is None:  # deleted meanwhile
        raise NotFound(f"No route plan {plan_id}.")
    refresh(locked, now=now, job=job)
    session.commit()  # (the lock ends with it)
    return locked


def cancel(session: Session, actor: User, plan_id: int, *, now: datetime) -> RoutePlan:
    plan = get_plan_for_update(session, actor, plan_id)
    if plan.status not in ACTIVE:
        raise Conflict(f"Plan {plan_id} is {plan.status.value}.", slug="plan-not-running",
                       current_status=plan.status.value)
    plan.status = PlanStatus.CANCELLED
    plan.finished_at = now
    session.flush()
    return plan


class Cancelled(Exception):
    pass


class PlanDeleted(Cancelled):
    """The plan's row is gone (deleted while its job ran): nothing to report to."""


def _plan_gone(plan_id: int) -> None:
    log.info("route plan %s was deleted before its job ended: nothing to store", plan_id)


def run(session: Session, plan_id: int, *, clock: Any) -> None:
    """The job: solve the plan's problem, reporting progress; record the outcome.

    A plan deleted meanwhile (no endpoint deletes one, but an operator's cleanup may)
    ends the job at its next progress report, or when it would store the result, with
    an info line: nothing failed, there is just nothing left to store the work in."""
    # locked, as a cancel locks it: read unlocked, a cancel committed before the write
    # below was overwritten with "running", and the plan solved and stored
    plan = lock_plan(session, plan_id)
    if plan is None:
        session.rollback()
        _plan_gone(plan_id)
        return
    if plan.status is not PlanStatus.QUEUED:
        session.rollback()
        return
    plan.status = PlanStatus.RUNNING
    plan.started_at = plan.heartbeat_at = clock()
    session.commit()
    started = time.monotonic()
    last = [0.0]

    def progress(best_cost: float, elapsed_s: float) -> None:
        if time.monotonic() - last[0] < 0.5:
            return
        last[0] = time.monotonic()
        assert plan is not None  # checked above (mypy does not narrow it here: rebound below)
        try:
            status = session.execute(select(RoutePlan.status).where(
                RoutePlan.id == plan_id)).scalar_one_or_none()
            if status is None:
                raise PlanDeleted
            if status is not PlanStatus.RUNNING:  # cancelled, or failed as stale
                raise Cancelled
            # infinite until a feasible plan is known: no best cost yet (JSON has no inf)
            plan.best_cost = float(best_cost) if math.isfinite(best_cost) else None
            plan.progress = min(0.99, elapsed_s / plan.time_limit_s)
            plan.heartbeat_at = clock()
            session.commit()
        except (ObjectDeletedError, StaleDataError):  # deleted since: no row to update
            raise PlanDeleted from None
        except OperationalError as exc:
            if not database_busy(exc):
                raise
            # another writer held SQLite's lock past the busy timeout: this report is
            # skipped, not the search (the next one, or the result, gets through)
            session.rollback()
            log.warning("route plan %s: progress not saved, the database was busy", plan_id)

    try:
        problem = routing.Problem.from_dict(plan.problem)
        result = routing.solve(problem, routing.SolverParams(
            time_limit_s=plan.time_limit_s, seed=plan.id), progress=progress,
            initial=(plan.problem.get("warm_start") or {}).get("routes"))
    except PlanDeleted:
        session.rollback()
        _plan_gone(plan_id)
        return
    except Cancelled:
        session.rollback()
        return
    except Exception as exc:  # noqa: BLE001 - recorded on the plan, and logged
        log.exception("route plan %s failed", plan_id)
        session.rollback()
        locked = lock_plan(session, plan_id)
        if locked is None or locked.status is not PlanStatus.RUNNING:
            session.rollback()  # cancelled, or already failed: left as it is
            return
        locked.status, locked.finished_at = PlanStatus.FAILED, clock()
        failed_because(locked, "optimisation_failed", kind=exc.__class__.__name__)
        session.commit()
        return
    for attempt in range(1, STORE_ATTEMPTS + 1):
        try:
            if _store(session, plan_id, problem, result, clock=clock):
                log.info("route plan %s solved in %.1f s", plan_id,
                         time.monotonic() - started)
            return
        except OperationalError as exc:
            session.rollback()
            if not database_busy(exc) or attempt == STORE_ATTEMPTS:
                raise  # the job fails; a plan left running is reported stale later
            log.warning("route plan %s: the database was busy, storing the result again "
                        "(attempt %d of %d)", plan_id, attempt + 1, STORE_ATTEMPTS)


#: Tries at storing a solved plan while SQLite stays busy (each waits out the busy
#: timeout): a search of minutes is not thrown away for one long write elsewhere.
STORE_ATTEMPTS = 4


def _store(session: Session, plan_id: int, problem: routing.Problem,
           result: routing.Plan, *, clock: Any) -> bool:
    """Store the solved plan; false if it is gone or no longer running (left as is)."""
    # a cancel now waits, or has happened; a plan no longer running (cancelled, or
    # failed as stale while the solver gave no heartbeat) keeps its status
    plan = lock_plan(session, plan_id)
    if plan is None:
        session.rollback()
        _plan_gone(plan_id)
        return False
    if plan.status is not PlanStatus.RUNNING:
        session.rollback()
        return False
    solved = result_json(problem, result, plan.service_date)
    solved["unassigned"] += plan.problem.get("left_out", [])  # left out when asked for
    plan.result = with_stability(plan.problem, solved)
    plan.best_cost = float(result.distance_m)
    plan.status, plan.progress, plan.finished_at = PlanStatus.SUCCEEDED, 1.0, clock()
    session.commit()
    return True


def issues_json(problem: routing.Problem, route: routing.CourierRoute, day: date
                ) -> list[dict[str, Any]]:
    """What ``route`` breaks (:func:`routing.evaluate.route_issues`), as the API shows
    it: a ``code`` and the numbers, in the route's order (docs/api.md)."""
    from routing.evaluate import RouteIssueCode as Code
    from routing.evaluate import route_issues

    base = day_start(day)

    def at(s: int) -> str:
        return (base + timedelta(seconds=s)).isoformat()

    sequence = {v.stop_id: n + 1 for n, v in enumerate(route.visits)}
    out: list[dict[str, Any]] = []
    for i in route_issues(problem, route):
        if i.code is Code.OVER_PARCELS:
            out.append({"code": i.code.value, "parcels": i.value, "capacity": i.limit,
                        "excess": i.excess})
        elif i.code is Code.OVER_WEIGHT:
            out.append({"code": i.code.value, "weight_g": i.value, "capacity_g": i.limit,
                        "excess_g": i.excess})
        elif i.code is Code.LATE_STOP:
            assert i.stop_id is not None
            out.append({"code": i.code.value, "identifier": i.stop_id,
                        "sequence": sequence[i.stop_id], "eta": at(i.value),
                        "window_end": at(i.limit), "late_s": i.excess})
        else:
            out.append({"code": i.code.value, "end": at(i.value), "shift_end": at(i.limit),
                        "late_s": i.excess})
    return out


def result_json(problem: routing.Problem, plan: routing.Plan, day: date) -> dict[str, Any]:
    where = {s.id: s.location for s in problem.stops}
    base = day_start(day)
    routes = []
    for r in plan.routes:
        # where the route leaves from: the courier's position if the problem gives one
        # (a re-optimisation), else the office
        begin = problem.courier(r.courier_id).start or problem.office.location
        routes.append({
            "courier_id": int(r.courier_id), "distance_m": r.distance_m,
            "duration_s": r.duration_s, "parcels": r.parcels, "weight_g": r.weight_g,
            "lateness_s": r.lateness_s,
            "start": (base + timedelta(seconds=r.start_s)).isoformat(),
            "start_location": {"lat": begin.lat, "lon": begin.lon},
            "end": (base + timedelta(seconds=r.end_s)).isoformat(),
            "stops": [{
                "sequence": n + 1, "identifier": v.stop_id,
                "lat": where[v.stop_id].lat, "lon": where[v.stop_id].lon,
                "eta": (base + timedelta(seconds=v.start_s)).isoformat(),
                "arrival_s": v.arrival_s, "wait_s": v.wait_s, "lateness_s": v.lateness_s,
                "load_parcels": v.load_parcels,
            } for n, v in enumerate(r.visits)],
            # what the route breaks: [] for a solved plan's routes
            "issues": issues_json(problem, r, day),
            # a courier on the road re-optimised with parcels still at the office passes
            # by it before this stop to load them
            **({"office_visit": {
                "before_sequence": r.office_visit.before + 1,
                "arrival": (base + timedelta(seconds=r.office_visit.arrival_s)).isoformat(),
                "departure": (base + timedelta(seconds=r.office_visit.departure_s)
                              ).isoformat()}} if r.office_visit is not None else {}),
        })
    return {"routes": routes,
            "unassigned": [{"identifier": u.stop_id, "reason": u.reason.value,
                            "message": u.message} for u in plan.unassigned],
            "distance_m": plan.distance_m, "feasible": plan.feasible}


def geojson(plan: RoutePlan) -> dict[str, Any]:
    office = plan.problem["office"]["location"]
    features: list[dict[str, Any]] = [{
        "type": "Feature", "geometry": {"type": "Point",
                                        "coordinates": [office["lon"], office["lat"]]},
        "properties": {"kind": "office", "code": plan.problem["office"]["id"]}}]
    for route in (plan.result or {}).get("routes", []):
        features += _route_features(office, route)
    return {"type": "FeatureCollection", "features": features}


def _route_features(office: Mapping[str, float], route: Mapping[str, Any],
                    gone: Collection[str] = (), **extra: Any) -> list[dict[str, Any]]:
    """A route as GeoJSON: a point per stop, then the line; ``extra`` goes into every
    feature's properties. The stops ``gone`` (moved away from the courier since the
    route was published: :func:`moved_away`) say so (``moved_away``) and are not on the
    line; so do those done before the courier re-optimised it (``done``: their ETA is
    the one planned before, not when the parcel was delivered or attempted)."""
    # from where the route starts (the office, or where the courier stood when it was
    # re-optimised) through the stops still ahead: not those done before that, nor
    # those the re-optimised route could not place (no ETA); back to the office
    features: list[dict[str, Any]] = []
    begin = route.get("start_location") or office
    line = [[begin["lon"], begin["lat"]]]
    # a pass by the office on the way (a re-optimised route with parcels still there)
    via = (route.get("office_visit") or {}).get("before_sequence")
    for s in route["stops"]:
        away = s["identifier"] in gone
        if s["sequence"] == via:
            line.append([office["lon"], office["lat"]])
        if not s.get("done") and s.get("eta") is not None and not away:
            line.append([s["lon"], s["lat"]])
        features.append({
            "type": "Feature", "geometry": {"type": "Point",
                                            "coordinates": [s["lon"], s["lat"]]},
            "properties": {"kind": "stop", "courier_id": route["courier_id"],
                           "sequence": s["sequence"], "identifier": s["identifier"],
                           "eta": s["eta"], **({"moved_away": True} if away else {}),
                           **({"done": True} if s.get("done") else {}), **extra}})
    line.append([office["lon"], office["lat"]])
    features.append({"type": "Feature", "geometry": {"type": "LineString",
                                                     "coordinates": line},
                     "properties": {"kind": "route", "courier_id": route["courier_id"],
                                    "distance_m": route["distance_m"], **extra}})
    return features


def _lock_day(session: Session, plan: RoutePlan) -> list[RoutePlan]:
    """Every plan of ``plan``'s office and day, re-read with their rows locked (in id
    order, so two publishes never wait for each other crosswise): a publish racing
    another of the same day waits for it, then sees it published and supersedes it."""
    where = (RoutePlan.office_id == plan.office_id, RoutePlan.service_date == plan.service_date)
    lock_rows(session, RoutePlan, *where)
    return list(session.execute(
        select(RoutePlan).where(*where).order_by(RoutePlan.id).with_for_update(of=RoutePlan)
        .execution_options(populate_existing=True)).scalars())


def _plan_couriers(plan: RoutePlan) -> set[int]:
    """The couriers ``plan`` was made for (those given no stop too)."""
    return {int(c["id"]) for c in (plan.problem or {}).get("couriers", [])}


def _replaced(plan: RoutePlan) -> dict[str, int]:
    """``{courier id: id of the later plan}`` for the couriers whose route a later
    published plan of the day took over."""
    return dict((plan.result or {}).get("replaced", {}))


def _published_since(session: Session, plan: RoutePlan) -> list[tuple[RoutePlan, set[int]]]:
    """The day's plans published after ``plan`` was made that still route some of its
    couriers, each with those couriers."""
    mine = _plan_couriers(plan)
    found = []
    for other in session.execute(_published_query(RoutePlan, plan.office_id,
                                                  plan.service_date)).scalars():
        if other.id == plan.id or other.published_at is None or (
                other.published_at <= plan.created_at):
            continue
        held = (_plan_couriers(other) - {int(c) for c in _replaced(other)}) & mine
        if held:
            found.append((other, held))
    return found


def _published_query(what: Any, office_id: int | None, day: date) -> Any:
    """``select(what)`` of the office's published plans of ``day``, the latest first."""
    return select(what).where(
        RoutePlan.office_id == office_id, RoutePlan.service_date == day,
        RoutePlan.status == PlanStatus.PUBLISHED).order_by(RoutePlan.id.desc())


def _published(session: Session, office_id: int | None, day: date) -> list[RoutePlan]:
    """The office's published plans of ``day``, the latest first."""
    return list(session.execute(_published_query(RoutePlan, office_id, day)).scalars())


def _holding(plans: list[RoutePlan], courier_id: int) -> RoutePlan | None:
    """Of ``plans`` (:func:`_published`), the one that holds ``courier_id``'s route:
    the latest made for them whose route for them no later plan took over."""
    return next((p for p in plans if courier_id in _plan_couriers(p)
                 and str(courier_id) not in _replaced(p)), None)


def _published_for(session: Session, office_id: int | None, day: date,
                   courier_id: int) -> RoutePlan | None:
    """The published plan of ``day`` that holds ``courier_id``'s route: the latest one
    made for them. A plan for some of the office's couriers takes over only their
    routes; the others keep theirs from the earlier plan. Read latest first, one plan
    at a time (usually the latest holds it): the public tracking page asks this for any
    parcel out, and every plan of the day, problem and result, is ~1 MB at 1 000 stops."""
    ids = session.execute(_published_query(RoutePlan.id, office_id, day)).scalars()
    for plan_id in list(ids):
        plan = session.get(RoutePlan, plan_id)
        if plan is not None and _holding([plan], courier_id) is not None:
            return plan
    return None


def routes_in_force(session: Session, office_id: int, day: date
                    ) -> list[tuple[RoutePlan, dict[str, Any]]]:
    """Every courier's route in force on ``day`` at the office, by courier id, each with
    the published plan it comes from (:func:`_published_for`'s rule: what each courier's
    phone gets from ``GET /couriers/me/route``). A courier whose latest plan gave them
    no stop has none. The caller checks that the actor may see the office."""
    plans = _published(session, office_id, day)
    out = []
    for courier_id in sorted(set().union(*map(_plan_couriers, plans))):
        plan = _holding(plans, courier_id)
        route = next((r for r in (plan.result or {}).get("routes", [])
                      if r["courier_id"] == courier_id), None) if plan else None
        if plan is not None and route is not None:
            out.append((plan, route))
    return out


def moved_away(session: Session, office_id: int,
               in_force: list[tuple[RoutePlan, dict[str, Any]]]) -> dict[int, list[dict[str, Any]]]:
    """The stops of each route ``in_force`` (:func:`routes_in_force`) whose item is no
    longer with the route's courier, by courier id, in the route's order: ``[{"identifier",
    "courier_id"}]``, ``courier_id`` the item's courier now (null: nobody). Since the
    plan was published the item was assigned by hand to another courier (or to nobody),
    or a later plan for other couriers gave it to one of them; the route stays as
    published (a plan is a record), and the courier's phone shows such a stop as no
    longer theirs (``still_yours``, :func:`courier_route`), so the dispatcher's view
    says the same (:func:`routes_in_force_json`) and a re-plan does not start from it
    (:func:`starting_routes`). Every route has its entry ([] when nothing moved)."""
    idents = {s["identifier"] for _, r in in_force for s in r["stops"]}
    holders = {ident: courier for ident, courier in session.execute(
        select(Item.identifier, Item.courier_id).where(
            Item.office_id == office_id, Item.identifier.in_(idents)))} if idents else {}
    return {r["courier_id"]: [
        {"identifier": s["identifier"], "courier_id": holders[s["identifier"]]}
        for s in r["stops"] if s["identifier"] in holders
        and holders[s["identifier"]] != r["courier_id"]] for _, r in in_force}


def _back_on_the_road(session: Session, plan: RoutePlan, route: Mapping[str, Any],
                      items: Mapping[str, Item] | None = None) -> dict[str, Any]:
    """``route`` with ``done`` taken off each stop whose parcel is, now, its courier's
    to deliver on the route's day again (:func:`_remaining`): failed, marked done by a
    re-optimisation, then sent out again (the recipient called back). The mark says what
    the last re-optimisation found; the courier's phone showed a parcel in their bag as
    done, and the dispatcher's view left it off the route, until they re-optimised.
    ``items`` by identifier, when the caller has read them."""
    marked = [s["identifier"] for s in route["stops"] if s.get("done")]
    if not marked:
        return dict(route)
    if items is None:
        items = {it.identifier: it for it in session.execute(select(Item).where(
            Item.identifier.in_(marked))).unique().scalars()}
    again = _remaining(session, plan, [items[i] for i in marked if i in items
                                       and items[i].courier_id == route["courier_id"]])
    if not again:
        return dict(route)
    return {**route, "stops": [{k: v for k, v in s.items() if k != "done"}
                               if s["identifier"] in again else s for s in route["stops"]]}


def routes_in_force_json(session: Session, office_id: int, day: date) -> dict[str, Any]:
    """:func:`routes_in_force` as JSON: ``routes`` (each plan route with its
    ``plan_id``, ``published_at``, ``issues_accepted`` and ``moved_away``: its stops
    whose item left its courier since, :func:`moved_away`) and their ``geojson`` (stops
    and lines, each feature with its ``plan_id``; a stop moved away has ``moved_away``
    true and the route's line leaves it out: the courier does not go there)."""
    routes, features = [], []
    routes_now = routes_in_force(session, office_id, day)
    # the parcels of every route's done stops, in one query (not one a route)
    marked = {s["identifier"] for _, r in routes_now for s in r["stops"] if s.get("done")}
    items = {it.identifier: it for it in session.execute(select(Item).where(
        Item.identifier.in_(marked))).unique().scalars()} if marked else {}
    in_force = [(plan, _back_on_the_road(session, plan, route, items))
                for plan, route in routes_now]
    gone = moved_away(session, office_id, in_force)
    for plan, route in in_force:
        routes.append({**route, "plan_id": plan.id,
                       "published_at": plan.published_at.isoformat()
                       if plan.published_at else None,
                       "issues_accepted": issues_accepted(plan, route),
                       "moved_away": gone[route["courier_id"]]})
        features += _route_features(plan.problem["office"]["location"], route,
                                    gone={x["identifier"] for x in gone[route["courier_id"]]},
                                    plan_id=plan.id)
    return {"routes": routes, "geojson": {"type": "FeatureCollection", "features": features}}


def _drafts(session: Session, office_id: int, day: date
            ) -> dict[int, tuple[RoutePlan, dict[str, Any]]]:
    """The office's drafts of ``day`` (finished plans not published) by courier id: for
    each courier, the latest draft made for them with their route in it (a draft that
    gave them no stop has none, and an earlier draft's route is not theirs any more)."""
    out: dict[int, tuple[RoutePlan, dict[str, Any]]] = {}
    seen: set[int] = set()
    for plan in session.execute(select(RoutePlan).where(
            RoutePlan.office_id == office_id, RoutePlan.service_date == day,
            RoutePlan.status == PlanStatus.SUCCEEDED).order_by(RoutePlan.id.desc())).scalars():
        for courier_id in sorted(_plan_couriers(plan) - seen):
            seen.add(courier_id)
            route = next((r for r in (plan.result or {}).get("routes", [])
                          if r["courier_id"] == courier_id), None)
            if route is not None:
                out[courier_id] = (plan, route)
    return out


def starting_routes(session: Session, office_id: int, day: date, problem: Mapping[str, Any],
                    *, warm: bool = True) -> dict[str, Any]:
    """What a new plan of ``day`` for ``problem`` (:func:`build_problem`) starts from,
    as top-level keys to store with the problem (``Problem.from_dict`` reads none of
    them):

    - ``routes_before``: ``{courier id: [stop ids]}``, the route in force
      (:func:`routes_in_force`) of each of the plan's couriers who has one, without the
      stops that left them since (:func:`moved_away`), cut to the plan's stops, in their
      order: what the finished plan's routes are compared with (:func:`with_stability`),
      warm start or not.
    - ``warm_start`` (when ``warm`` and there is something to start from): ``routes``,
      the solver's initial solution (``routing.solve(initial=...)``), with the
      ``plan_ids`` it came from and the number of ``stops`` in it.

    A re-plan during the day (new parcels came in, a courier is absent) that started
    cold would reshuffle every round, though couriers have sorted their bags by it, and
    spend the short budget finding again what the routes in force already are. Each
    courier of the plan starts from the first of these with a stop of the plan left on
    it: their route in force (what their phone shows and their bag is sorted by); else
    their route in the day's latest draft made for them (a plan finished but not
    published: the dispatcher's work in progress, second to what the couriers hold). A
    route keeps only stops still in the plan, in its order; a stop the plan pins to
    another courier (given to them since), or already on a route taken before (in force
    first, then by courier id), is left out, as are couriers not in the plan. The
    solver improves the start as any solution (the objective is unchanged): it is a
    start, not a constraint."""
    stops = {s["id"]: s.get("courier_id") for s in problem["stops"]}
    couriers = [int(c["id"]) for c in problem["couriers"]]
    # each route in force as it stands: without the stops that left its courier since
    # it was published (:func:`moved_away`)
    listed = routes_in_force(session, office_id, day)
    gone = {c: {x["identifier"] for x in xs}
            for c, xs in moved_away(session, office_id, listed).items()}
    in_force = {route["courier_id"]: (plan, {**route, "stops": [
        s for s in route["stops"] if s["identifier"] not in gone[route["courier_id"]]]})
        for plan, route in listed}

    def cut(route: Mapping[str, Any]) -> list[str]:
        return [s["identifier"] for s in route["stops"] if s["identifier"] in stops]

    out: dict[str, Any] = {}
    before = {str(c): cut(in_force[c][1]) for c in couriers if c in in_force}
    if before:
        out["routes_before"] = before
    if not warm:
        return out
    routes: dict[str, list[str]] = {}
    plan_ids: set[int] = set()
    taken: set[str] = set()
    for source in (in_force, _drafts(session, office_id, day)):
        for courier_id in couriers:
            me = str(courier_id)
            if me in routes or courier_id not in source:
                continue
            plan, route = source[courier_id]
            mine = [i for i in cut(route) if i not in taken and stops[i] in (None, me)]
            if mine:
                routes[me] = mine
                taken.update(mine)
                plan_ids.add(plan.id)
    if routes:
        out["warm_start"] = {"plan_ids": sorted(plan_ids), "stops": len(taken),
                             "routes": routes}
    return out


def with_stability(problem: Mapping[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """``result`` (:func:`result_json`) saying what the plan started from
    (``warm_start``: ``plan_ids`` and ``stops``, null for a cold start) and how much it
    changes the day: each route's ``previous_stops`` (the stops of the plan that were
    on its courier's route in force when the plan was made) and ``kept_from_previous``
    (how many of its stops were among them), both null for a courier who had no route
    in force (:func:`starting_routes`); for the whole plan, ``stability``: of the
    ``previous_stops`` on the plan's couriers' routes in force, how many are ``kept``
    on their courier's route, ``moved`` to another courier's and ``unassigned`` (null
    when no courier of the plan had a route in force); ``move_cost_m``, what a
    rebalancing plan charged per parcel moved off its courier (null for one that moves
    nothing given out: ``keep_assignments``); and ``rounds``: of the stops that preferred
    their delivery round's courier (``round_stops``), how many are ``on_round_courier``'s
    route, on ``another_courier``'s or ``unassigned``, and the ``round_cost_m`` charged
    for each moved (null for a plan made before rounds)."""
    before = problem.get("routes_before") or {}
    warm = problem.get("warm_start")
    routes = []
    for r in result["routes"]:
        prev = before.get(str(r["courier_id"]))
        routes.append({**r, "previous_stops": None if prev is None else len(prev),
                       "kept_from_previous": None if prev is None else len(
                           set(prev) & {s["identifier"] for s in r["stops"]})})
    stability = None
    if before:
        served = {s["identifier"]: str(r["courier_id"])
                  for r in result["routes"] for s in r["stops"]}
        held = {ident: courier for courier, idents in before.items() for ident in idents}
        kept = sum(served.get(i) == c for i, c in held.items())
        moved = sum(i in served and served[i] != c for i, c in held.items())
        stability = {"previous_stops": len(held), "kept": kept, "moved": moved,
                     "unassigned": len(held) - kept - moved}
    on_rounds = None
    if "round_stops" in problem:
        served = {s["identifier"]: str(r["courier_id"])
                  for r in result["routes"] for s in r["stops"]}
        wanted = problem["round_stops"]
        kept = sum(served.get(i) == c for i, c in wanted.items())
        moved = sum(i in served and served[i] != c for i, c in wanted.items())
        on_rounds = {"round_cost_m": problem.get("round_cost_m"), "stops": len(wanted),
                     "on_round_courier": kept, "another_courier": moved,
                     "unassigned": len(wanted) - kept - moved}
    return {**result, "routes": routes, "warm_start": None if warm is None else {
        "plan_ids": warm["plan_ids"], "stops": warm["stops"]}, "stability": stability,
        "move_cost_m": problem.get("move_cost_m"), "rounds": on_rounds}


def _not_handed_over(session: Session, plan: RoutePlan, items: Collection[Item],
                     wanted: Mapping[str, int], max_attempts: int | None = None
                     ) -> dict[str, dict[str, str]]:
    """The routed ``items`` (``wanted``: ``{identifier: courier id}``) that publishing
    ``plan`` does not hand to their route's courier, each with the ``identifier``,
    ``reason`` and ``message`` of its ``not_handed_over`` entry, by identifier: what
    happened since the plan was made, judged by the rules a plan made now would follow
    (:func:`build_problem`), so that publishing never records a hand-over that did not
    happen nor sends a courier to a door on a day the recipient did not ask for:

    - no longer to deliver (delivered, returned, at a pick-up point …);
    - in another courier's bag on the road (:func:`bags_on`: out for delivery, or back
      from a failed attempt that day);
    - back from a failed attempt on an earlier day, never scanned back in, with a
      courier the plan did not pin it to (:func:`_failed_unplanned`);
    - at the office, assigned by hand to another courier after the plan was made (the
      plan did not pin it to them: :func:`_assigned_since_planned`);
    - its next attempt due on a later day than the plan's (:func:`_asked_later`);
    - its failed attempts use up ``max_attempts`` (:func:`_attempts_used_up`).

    An item at the office that an earlier plan gave another courier is handed over:
    moving it is what the plan is for."""
    day = plan.service_date
    pins = {s["id"]: s.get("courier_id") for s in plan.problem["stops"]}
    routed = [it for it in items if it.identifier in wanted]
    bags = bags_on(session, routed, day)
    by_hand = assigned_by_hand(session, [it for it in routed if it.courier_id is not None
                                         and it.courier_id != wanted[it.identifier]])
    failed_on = failure_days(session, [it.id for it in routed if it.courier_id is not None
                                       and it.status is Status.DELIVERY_FAILED])
    out: dict[str, dict[str, str]] = {}
    for it in routed:
        to, holder = wanted[it.identifier], bags.get(it.id)
        why: dict[str, str] | None = None
        if it.status not in REMAINING:
            why = {"reason": "no_longer_to_deliver",
                   "message": f"it is {it.status.value} now: nothing to deliver"}
        elif holder is not None and holder != to:
            why = ({"reason": "out_with_another_courier",
                    "message": f"it is out for delivery with courier {holder}, in their bag"}
                   if it.status is Status.OUT_FOR_DELIVERY
                   else _failed_in_bag(day, (), holder, failed_on.get(it.id)))
        elif (holder is None and it.status is Status.DELIVERY_FAILED
              and it.courier_id is not None and it.courier_id != to
              and pins.get(it.identifier) != str(it.courier_id)):
            why = _failed_unplanned(plan, it.courier_id, failed_on.get(it.id))
        elif (it.id in by_hand and it.courier_id is not None
              and pins.get(it.identifier) != str(it.courier_id)):
            why = _assigned_since_planned(it.courier_id)
        elif holder is None:
            why = _attempts_used_up(it, max_attempts) or due_later(it, day)
        if why is not None:
            out[it.identifier] = {"identifier": it.identifier, "reason": why["reason"],
                                  "message": why["message"]}
    return out


def _evaluated(plan: RoutePlan, routes: Mapping[str, list[str]]) -> dict[str, Any]:
    """The result of ``plan`` with ``routes`` (``{courier id: [stop ids]}``) in this fixed
    order: ETAs, loads, lateness and issues recomputed (``routing.evaluate``), with what
    each route keeps of its courier's route in force (:func:`with_stability`). What an
    edit and publishing (stops not handed over taken off) store. Raises
    ``routing.InvalidProblemError`` for routes the problem cannot take."""
    from routing.evaluate import evaluate

    problem = routing.Problem.from_dict(plan.problem)
    return with_stability(plan.problem, result_json(problem, evaluate(problem, routes),
                                                    plan.service_date))


def _without(plan: RoutePlan, dropped: list[dict[str, str]]) -> dict[str, Any]:
    """``plan``'s result with the ``dropped`` stops (:func:`_not_handed_over`) taken off
    their routes, the routes' ETAs, loads and lateness recomputed for the order left
    (as an edit does), and the stops listed in ``not_handed_over`` and among the
    unassigned: a courier's route lists only what they were handed."""
    assert plan.result is not None
    result = {**plan.result, "not_handed_over": dropped}
    if not dropped:
        return result
    gone = {x["identifier"] for x in dropped}
    fresh = _evaluated(plan, {str(r["courier_id"]): [s["identifier"] for s in r["stops"]
                                                     if s["identifier"] not in gone]
                              for r in plan.result["routes"]})
    # issues accepted when publishing stay accepted on the routes that still have them
    # (taking stops off a route adds none)
    accepted = plan.result.get("issues_accepted")
    routes = [{**r, "issues_accepted": accepted if r.get("issues") else None}
              if "issues_accepted" in plan.result else r for r in fresh["routes"]]
    result.update(routes=routes, distance_m=fresh["distance_m"],
                  feasible=fresh["feasible"],
                  unassigned=[u for u in plan.result.get("unassigned", [])
                              if u["identifier"] not in gone] + dropped)
    plan.best_cost = float(fresh["distance_m"])
    return result


def _with_bags_left_out(session: Session, plan: RoutePlan, items: Collection[Item],
                        mine: Collection[int]) -> dict[str, Any]:
    """``plan``'s result with each parcel it left out that is in the bag of one of its
    couriers (out for delivery, or back from an earlier failed attempt and not scanned
    in; still to deliver on the plan's day: :func:`_remaining`) at the end of that
    courier's route, without an ETA and with the reason it was left out (``unplaced``),
    as a re-optimisation keeps a stop it cannot fit: the parcel stays theirs, so their
    phone lists it, and their next re-optimisation tries it again. A courier the plan
    routes nothing else for gets a route of those parcels alone. The parcels stay among
    the plan's ``unassigned``. Of those publishing did not hand over (``not_handed_over``:
    the plan routed them to another courier), those out for delivery in the bag of one
    of the plan's couriers (the plan takes over their route) too; not the others."""
    assert plan.result is not None
    routed = {s["identifier"] for r in plan.result["routes"] for s in r["stops"]}
    # what the optimiser left out, and what publishing did not hand over because it is
    # out for delivery in another courier's bag (:func:`_not_handed_over`): when that
    # courier is one of the plan's, the plan takes over their route, and the parcel is
    # theirs to deliver that day (one back from a failed attempt stays off: the
    # dispatcher puts it on a route)
    dropped = {x["identifier"] for x in plan.result.get("not_handed_over", [])
               if x["reason"] != "out_with_another_courier"}
    why = {u["identifier"]: u for u in plan.result.get("unassigned", [])
           if u["identifier"] not in dropped}
    bags = [it for it in items if it.identifier in why and it.identifier not in routed
            and it.courier_id in mine and it.status in ON_BOARD]
    if not bags:
        return plan.result
    left = _remaining(session, plan, bags)
    where = {s["id"]: s["location"] for s in plan.problem["stops"]}
    extra: dict[int, list[dict[str, Any]]] = {}
    for it in sorted(bags, key=lambda it: it.identifier):
        if it.identifier in left and it.identifier in where and it.courier_id is not None:
            u, at = why[it.identifier], where[it.identifier]
            extra.setdefault(it.courier_id, []).append({
                "identifier": it.identifier, "lat": at["lat"], "lon": at["lon"],
                "eta": None, "arrival_s": None, "wait_s": None, "lateness_s": None,
                "load_parcels": None,
                "unplaced": {"reason": u["reason"], "message": u["message"]}})
    if not extra:
        return plan.result
    routes = list(plan.result["routes"])
    have = {r["courier_id"] for r in routes}
    office = plan.problem["office"]["location"]
    base = day_start(plan.service_date)
    for c in plan.problem["couriers"]:
        cid = int(c["id"])
        if cid in extra and cid not in have:  # nothing else for them: a route of its own
            begin = (base + timedelta(seconds=c["shift"]["open_s"])).isoformat()
            routes.append({
                "courier_id": cid, "distance_m": 0, "duration_s": 0, "parcels": 0,
                "weight_g": 0, "lateness_s": 0, "start": begin,
                "start_location": c.get("start") or office, "end": begin, "stops": [],
                "issues": []})
    routes = [{**r, "stops": [{**s, "sequence": n + 1} for n, s in enumerate(
        [*r["stops"], *extra.get(r["courier_id"], [])])]} for r in routes]
    out = {**plan.result, "routes": routes}
    if "stability" in plan.result:
        # how much of each route, and of the plan, was on the couriers' routes in force
        # (:func:`with_stability`), the parcels added included: counted before, the plan
        # called them unassigned, and a route made here had no figures (a plan stored
        # before the figures keeps saying nothing)
        fresh = with_stability(plan.problem, out)
        out.update(routes=fresh["routes"], stability=fresh["stability"])
    return out


def plan_version(plan: RoutePlan) -> str | None:
    """A digest of the plan's routes as they are (null before it has any): the console
    names the version an edit or a publish was made from (``base``), so one made from
    routes another dispatcher (another tab) changed since is refused instead of
    silently putting them back (each edit sends every route) or publishing routes the
    dispatcher never saw."""
    if plan.result is None:
        return None
    return hashlib.sha256(json.dumps(plan.result, sort_keys=True, default=str)
                          .encode()).hexdigest()[:20]


def changed_since(base: str) -> Conflict:
    """The 409 of an edit or a publish made from version ``base`` of a plan changed
    since (:func:`plan_version`)."""
    return Conflict("The plan was changed (in another tab or by another dispatcher) since "
                    "it was shown; it is shown again as it is now: look at it again.",
                    slug="plan-changed", base=base)


def publish(session: Session, actor: User, plan_id: int, *, now: datetime,
            accept_issues: bool = False, max_attempts: int | None = None,
            base: str | None = None) -> RoutePlan:
    """Assign each planned item to its courier; the plan becomes the day's routes. A
    plan whose routes have issues (an edit overloaded a courier, made stops late or
    ran past the shift) is refused (409 ``plan-infeasible``, listing them) unless the
    dispatcher accepts them: never silently; who accepted them, and when, is kept in
    the result (``issues_accepted``). What happened since the plan was made is judged
    now (:func:`_not_handed_over`): a routed item a plan made now would not give its
    route's courier stays where it is, off the route, and is listed in the result's
    ``not_handed_over``, never silently skipped; one at the office that an earlier plan
    gave another courier is handed over (moving it is what a re-plan is for), one given
    by hand to a courier since the plan was made is not (:func:`_assigned_since_planned`).
    With ``base``, the :func:`plan_version` the dispatcher saw, a plan changed since is
    a 409 ``plan-changed`` (checked under the day's lock), nothing published."""
    plan = next(p for p in _lock_day(session, get_plan(session, actor, plan_id))
                if p.id == plan_id)
    if base is not None and plan_version(plan) != base:
        raise changed_since(base)
    if plan.status is not PlanStatus.SUCCEEDED:
        raise Conflict(f"Only a finished plan can be published; this one is "
                       f"{plan.status.value}.", slug="plan-not-ready",
                       current_status=plan.status.value)
    if plan.service_date < local_day(now):
        # its routes are for a day gone by, but publishing hands today's parcels over:
        # what is at the office now would go to that day's couriers, off the routes in
        # force today (a console tab left open overnight plans and publishes its day)
        raise Conflict(f"{plan.service_date.isoformat()} is over: a plan of it is no longer "
                       "published (it would hand over today's parcels). Start a plan for "
                       "today.", slug="day-over")
    if newer := _published_since(session, plan):
        # a console tab left open on the morning's plan, published after the noon
        # re-plan: it took the couriers' routes back and left what the re-plan had
        # handed over on no route (at the office: nobody's)
        undone = sorted({c for _p, cs in newer for c in cs})
        raise Conflict(
            f"Plan(s) {', '.join(str(p.id) for p, _cs in newer)}, published after this one "
            f"was made, route courier(s) {', '.join(map(str, undone))} now: publishing "
            "this one would undo them. Start a new plan (it takes up the routes in force).",
            slug="plan-outdated", plan_ids=[p.id for p, _cs in newer], courier_ids=undone)
    assert plan.result is not None
    wanted = {s["identifier"]: r["courier_id"] for r in plan.result["routes"]
              for s in r["stops"]}
    # the couriers were checked when the plan was made; one deactivated or moved to
    # another office since is not given parcels (as assigning by hand refuses)
    routed = set(wanted.values())
    gone = sorted(routed - set(session.execute(select(User.id).where(
        User.id.in_(routed), User.role == Role.COURIER, User.active.is_(True),
        User.office_id == plan.office_id)).scalars()))
    if gone:
        raise Conflict(f"Courier(s) {', '.join(map(str, gone))} of this plan are no longer "
                       "active couriers of the office; move their stops (PATCH the plan) "
                       "or start a new plan.", slug="courier-unavailable", courier_ids=gone)
    couriers = {u.id: u for u in session.execute(select(User).where(
        User.id.in_(routed))).scalars()}
    # every item the plan touches, locked (in id order, as every batch of events takes
    # them) and re-read: a courier taking one out meanwhile waits, then finds it
    # reassigned, instead of this publish reassigning a parcel that just went out in the
    # courier's bag; and a hand-over ends the item's open period and opens the next,
    # which an assignment at the same time must not interleave
    stop_ids = set(wanted) | {s["id"] for s in plan.problem["stops"]}
    where = (Item.identifier.in_(stop_ids), Item.office_id == plan.office_id)
    lock_rows(session, Item, *where)
    items = session.execute(select(Item).where(*where).order_by(Item.id)
                            .with_for_update(of=Item)
                            .execution_options(populate_existing=True)).unique().scalars().all()
    not_handed = _not_handed_over(session, plan, items, wanted, max_attempts)
    # the routes as published: without what is not handed over (a stop delivered since,
    # the only late one of its route, left its route's issues to accept)
    plan.result = _without(plan, list(not_handed.values()))
    # plans stored before routes had issues say only feasible: false
    flawed = [{"courier_id": r["courier_id"], "issues": r.get("issues", [])}
              for r in plan.result["routes"] if r.get("issues")]
    infeasible = bool(flawed) or plan.result.get("feasible") is False
    if infeasible and not accept_issues:  # (the request's transaction, rolled back)
        raise Conflict("Some routes of this plan have issues (over capacity, late stops or "
                       "past the end of the shift; see routes). Change them (PATCH the plan), "
                       "or publish with {\"accept_issues\": true} to send the couriers out "
                       "as it is.", slug="plan-infeasible", routes=flawed)
    if infeasible:
        log.info("route plan %s published with its issues accepted by %s", plan.id,
                 actor.username)
        accepted = {"by": actor.username, "at": now.isoformat()}
        # on the plan, and on each route that has issues: what its courier's phone shows
        # (:func:`issues_accepted`)
        plan.result = {**plan.result, "issues_accepted": accepted, "routes": [
            {**r, "issues_accepted": accepted if r.get("issues") else None}
            for r in plan.result["routes"]]}
    pins = {s["id"]: s.get("courier_id") for s in plan.problem["stops"]}
    unrouted = [it for it in items if it.identifier not in wanted
                and it.courier_id is not None and it.status in AT_OFFICE]
    since = {it.id for it in unrouted if pins.get(it.identifier) != str(it.courier_id)
             } & assigned_by_hand(session, unrouted)
    mine = _plan_couriers(plan)
    changes: list[tuple[Item, User | None]] = []
    for it in items:
        if it.identifier in not_handed:
            continue  # stays where it is, reported (below)
        if it.identifier in wanted:
            changes.append((it, couriers[wanted[it.identifier]]))
            it.updated_at = now
        elif (it.courier_id in mine and it.status in AT_OFFICE
              and it.id not in since):
            # the plan's stops on no route are nobody's now, if they are at the office
            # and their courier's route is the plan's; one out, or back from a failed
            # attempt and never scanned in, stays with its courier (nothing was handed
            # over), and so does one assigned by hand after the plan was made (the plan
            # did not pin it to that courier), and one of a courier not in the plan: the
            # plan does not take over their route (a plan for one courier, which takes
            # every parcel of the office, left the others' routes their stops but took
            # the parcels it did not route from them)
            changes.append((it, None))
    custody.hand_over_all(session, changes, by=actor, how=AssignmentHow.ROUTE_PLAN, now=now,
                          plan_id=plan.id)
    plan.result = _with_bags_left_out(session, plan, items, mine)
    # an earlier published plan of the day gives up the routes of this plan's couriers;
    # it is superseded once none of its couriers is left to it (every one of them is
    # locked: _lock_day)
    for old in session.execute(select(RoutePlan).where(
            RoutePlan.office_id == plan.office_id, RoutePlan.service_date == plan.service_date,
            RoutePlan.status == PlanStatus.PUBLISHED, RoutePlan.id != plan.id)).scalars():
        replaced = _replaced(old)
        replaced.update({str(c): plan.id for c in _plan_couriers(old) & mine
                         if str(c) not in replaced})
        if _plan_couriers(old) <= {int(c) for c in replaced}:
            old.status = PlanStatus.SUPERSEDED
        else:  # a new object: JSON columns track reassignment, not mutation
            old.result = {**(old.result or {}), "replaced": replaced, "routes": [
                {**r, "replaced_by": replaced.get(str(r["courier_id"]))}
                for r in (old.result or {}).get("routes", [])]}
    plan.status, plan.published_at = PlanStatus.PUBLISHED, now
    session.flush()
    return plan


def issues_accepted(plan: RoutePlan, route: Mapping[str, Any]) -> dict[str, str] | None:
    """Who published ``route`` of ``plan`` with its issues, and when (``{"by", "at"}``),
    or None when it was published without any. Kept on each route with issues at
    publishing (:func:`publish`); a plan published before that keeps it only for the
    whole plan, which holds for the routes that have issues."""
    if "issues_accepted" in route:
        accepted: dict[str, str] | None = route["issues_accepted"]
        return accepted
    return (plan.result or {}).get("issues_accepted") if route.get("issues") else None


def courier_route(session: Session, actor: User, day: date, *, today: date | None = None
                  ) -> dict[str, Any]:
    """The courier's stops in today's published plan, with each item's status, and what
    the route breaks (``issues``) with who accepted that when publishing it, so that
    the phone can warn its courier (a stop that will be late, an overloaded vehicle);
    on ``today``'s route (default: ``day`` is today) the parcels in their bag on no stop
    (``off_route``)."""
    if actor.role is not Role.COURIER:
        raise Forbidden("Only couriers have a route.")
    plan = _published_for(session, actor.office_id, day, actor.id)
    if plan is None or plan.result is None:
        raise NotFound(f"No published route for {day.isoformat()}.", slug="no-route")
    route = next((r for r in plan.result["routes"] if r["courier_id"] == actor.id), None)
    if route is None:
        raise NotFound(f"No route for you on {day.isoformat()}.", slug="no-route")
    idents = [s["identifier"] for s in route["stops"]]
    items = {it.identifier: it for it in session.execute(
        select(Item).where(Item.identifier.in_(idents))).unique().scalars()}
    route = _back_on_the_road(session, plan, route, items)
    stops = []
    for s in route["stops"]:
        it = items.get(s["identifier"])
        mine = it if it is not None and it.courier_id == actor.id else None
        stops.append({**s, "status": mine.status.value if mine else None,
                      "recipient_address": mine.recipient_address if mine else None,
                      "cod_amount": mine.cod_amount if mine else None,
                      "still_yours": mine is not None})
    # a pass by the office is to load parcels; once those ahead of it are all out for
    # delivery (or done), it is behind the courier, or was never needed: the phone
    # would lead them back to an office with nothing left to take. Done as a
    # re-optimisation says (:func:`_remaining`): a parcel the office held since the plan
    # was published, or whose recipient asked for a later day, is at the office but
    # not to load today (a re-optimisation plans no pass for it, and the phone led the
    # courier back for it)
    visit = route.get("office_visit")
    if visit is not None:
        ahead = [items[s["identifier"]] for s in stops[visit["before_sequence"] - 1:]
                 if s["still_yours"] and Status(s["status"]) in REMAINING
                 and Status(s["status"]) not in ON_BOARD]
        if not _remaining(session, plan, ahead):
            visit = None
    # in the courier's bag and on no stop of the route (no coordinates to route it by,
    # or taken out since the plan was published): listed, so that it is not forgotten
    # in the bag (a COD parcel's cash with it) for want of a stop to remind them
    # (the bag is today's: another day's route lists none)
    why = {u["identifier"]: u["reason"] for u in plan.result.get("unassigned", [])}
    off_route = [] if today is not None and day != today else [
        {"identifier": it.identifier, "status": it.status.value,
         "recipient_address": it.recipient_address, "cod_amount": it.cod_amount,
         # the plan's reason when it left the parcel out (e.g. its window on another
         # day), else why it could not have routed it
         "reason": why.get(it.identifier) or ("no_coordinates" if it.recipient_lat is None
                                              or it.recipient_lon is None else "not_in_plan")}
        for it in session.execute(select(Item).where(
            Item.courier_id == actor.id, Item.status == Status.OUT_FOR_DELIVERY,
            Item.identifier.not_in(idents)).order_by(Item.identifier)).unique().scalars()]
    return {"plan_id": plan.id, "date": day.isoformat(), "distance_m": route["distance_m"],
            "start": route["start"], "end": route["end"], "stops": stops,
            "off_route": off_route, "office_visit": visit,
            "issues": route.get("issues", []),
            "issues_accepted": issues_accepted(plan, route)}


#: A re-optimisation from farther than this from the office is refused: a GPS fix
#: that far off (0, 0 from a phone without a fix, a stale position from another
#: city) would only make every stop look unreachable.
MAX_REOPTIMIZE_DISTANCE_M = 100_000


def _remaining(session: Session, plan: RoutePlan, items: list[Item]) -> set[str]:
    """Identifiers of ``items`` still to deliver on ``plan``'s route: in a ``REMAINING``
    status, and neither failed on the route's day (the day's attempt was made, also
    when it failed between the plan being made and published: the plan took the parcel
    while it was out; a plan never takes up a parcel that failed on its day,
    :func:`_failed_in_bag`) nor held since the plan was published, on the route's day
    (brought back to the office on this route). A parcel failed on an earlier day, or
    held before the plan was published or the route's day began (scanned back in the
    evening before, after a plan made that evening was published), is what the plan is
    for; one failed the day before the route's day
    too, even after the plan was published (a plan made the evening before), unless its
    next attempt is due after the route's day (``next_attempt_on``: the recipient asked
    for a later day)."""
    left = {it.identifier for it in items if it.status in REMAINING}
    held = [it.id for it in items if it.status is Status.HELD_AT_OFFICE]
    if held and plan.published_at is not None:
        # on the route's day: a plan published the evening before did not send the
        # courier out with a parcel they scanned back in that evening (from the day
        # before's round, after a failed attempt); it is the route's day to deliver
        since = session.execute(select(TrackingEvent.item_id).where(
            TrackingEvent.item_id.in_(held), TrackingEvent.applied.is_(True),
            TrackingEvent.status_after == Status.HELD_AT_OFFICE,
            TrackingEvent.server_time > max(plan.published_at,
                                            day_start(plan.service_date)))).scalars()
        brought_back = set(since)
        left -= {it.identifier for it in items if it.id in brought_back}
    failed_on = failure_days(session, [it.id for it in items
                                       if it.status is Status.DELIVERY_FAILED])
    left -= {it.identifier for it in items
             if it.id in failed_on and failed_on[it.id] >= plan.service_date}
    # its next attempt is due after the route's day (the recipient asked, after the plan
    # was published, for a later day): not this route's to try again; going out again
    # (EDG) clears the day and puts it back (publishing takes such a parcel off the
    # route: :func:`publish`)
    left -= {it.identifier for it in items if due_later(it, plan.service_date)}
    return left


def reoptimize_route(session: Session, actor: User, day: date, *, lat: float, lon: float,
                     keep_next: str | None, now: datetime, time_limit_s: float = 1.0
                     ) -> dict[str, Any]:
    """Re-plan the rest of the courier's published route from where they stand. Stops
    whose item is delivered, failed or held since the plan was published, or no longer
    theirs, are done (:func:`_remaining`).

    Stops the new route cannot fit (a window already closed, the shift over) stay on
    the route after the planned ones, without an ETA and with the reason: the items
    are still the courier's, and the next re-optimisation tries them again. The plan
    is re-read under a lock before the route is written back (other couriers may
    re-optimise their routes of the same plan at the same time). A day that is over
    (before today in Viet Nam) is a 409 ``day-over``, one to come a 409
    ``day-not-started``: its route stays as published."""
    if actor.role is not Role.COURIER:
        raise Forbidden("Only couriers have a route.")
    plan = _published_for(session, actor.office_id, day, actor.id)
    route = next((r for r in (plan.result or {}).get("routes", [])
                  if r["courier_id"] == actor.id), None) if plan else None
    if plan is None or route is None:
        raise NotFound(f"No published route for you on {day.isoformat()}.", slug="no-route")
    if day < local_day(now):
        # its clock would stand past midnight: every stop unplaced, the day's record of
        # the route rewritten (a phone with a wrong date could do it)
        raise Conflict(f"{day.isoformat()} is over; its route stays as it was. Re-optimise "
                       "today's route.", slug="day-over")
    if day > local_day(now):
        # from where the courier stands the evening before, at midnight: the next
        # morning's route would start from their home, not the office
        raise Conflict(f"{day.isoformat()} has not begun; its route starts at the office "
                       "as published. Re-optimise it on the day.", slug="day-not-started")
    office = plan.problem["office"]["location"]
    far = routing.haversine_m([routing.LatLon(lat, lon),
                               routing.LatLon(office["lat"], office["lon"])])[0, 1]
    if far > MAX_REOPTIMIZE_DISTANCE_M:
        raise Unprocessable(
            f"That position is {far / 1000:.0f} km from your office; send where you are "
            f"(at most {MAX_REOPTIMIZE_DISTANCE_M // 1000} km away).",
            errors=[{"pointer": "/location", "detail": "Too far from the office."}])
    plan_id, started = plan.id, route
    idents = [s["identifier"] for s in route["stops"]]
    items = {it.identifier: it for it in session.execute(
        select(Item).where(Item.identifier.in_(idents))).unique().scalars()}
    left = _remaining(session, plan, [it for it in items.values() if it.courier_id == actor.id])
    done = [i for i in idents if i not in left]
    if keep_next is not None:
        keep_next = identifiers.normalize(keep_next)
    if keep_next is not None and (keep_next not in idents or keep_next in done):
        raise Unprocessable(f"{keep_next} is not a remaining stop of your route.", errors=[
            {"pointer": "/keep_next", "detail": "Not a remaining stop."}])
    me = str(actor.id)
    problem_d = dict(plan.problem)
    problem_d["couriers"] = [c for c in plan.problem["couriers"] if c["id"] == me]
    # every stop is theirs now: a rebalancing plan's preferences (other couriers) go
    # and what is in their bag now is on board (it may have gone out since the plan)
    problem_d["stops"] = [{**s, "courier_id": me, "preferred_courier": None,
                           "on_board": s["id"] in items and items[s["id"]].courier_id == actor.id
                           and items[s["id"]].status in ON_BOARD}
                          for s in plan.problem["stops"] if s["id"] in set(idents)]
    problem = routing.Problem.from_dict(problem_d)
    now_s = max(0, min(86_400, _seconds(day, now)))
    remaining_order = [i for i in idents if i not in done]
    # parcels given to the courier that they have not taken out (still at the office):
    # a courier on the road passes by the office to load them (routing.reoptimize)
    at_office = [i for i in remaining_order if items[i].status not in ON_BOARD]
    session.commit()  # no transaction held open while the solver runs
    new = routing.reoptimize(problem, me, routing.LatLon(lat, lon), done, now_s=now_s,
                             keep_next=keep_next, current_order=remaining_order,
                             at_office=at_office,
                             params=routing.SolverParams(time_limit_s=time_limit_s,
                                                         seed=plan_id))
    fresh = result_json(problem, new, day)
    new_route = fresh["routes"][0] if fresh["routes"] else {"stops": []}
    # each stop as the route had it, without what the last re-optimisation said of it:
    # a stop it left unplaced and since delivered is done, not still unplaced with the
    # reason (the phone listed a delivered parcel among those it could not fit), and
    # one done then and back on the road since (sent out again) is not done
    by_id = {s["identifier"]: {k: v for k, v in s.items() if k not in ("done", "unplaced")}
             for s in started["stops"]}
    done_stops = [{**by_id[i], "done": True} for i in idents if i in done]
    unplaced = [{**by_id[u["identifier"]], "eta": None, "arrival_s": None, "wait_s": None,
                 "lateness_s": None, "unplaced": {"reason": u["reason"],
                                                  "message": u["message"]}}
                for u in fresh["unassigned"] if u["identifier"] in by_id]
    stops = [{**s, "sequence": n + 1}
             for n, s in enumerate(done_stops + new_route["stops"] + unplaced)]

    locked = lock_plan(session, plan_id)
    if (locked is None or locked.status is not PlanStatus.PUBLISHED
            or str(actor.id) in _replaced(locked)):
        session.rollback()
        raise Conflict("The day's plan changed while your route was re-planned; ask again.",
                       slug="plan-changed")
    # and its stops, under the lock (the items re-read): a phone back in coverage sends
    # its backlog and asks for a new route at once; a delivery the sync recorded while
    # the solver ran was planned as a stop ahead, with an ETA and the detour to it
    # (one query: the items expired at the commit before the solver ran, and read one
    # by one they were a query each)
    now_mine = session.execute(select(Item).where(
        Item.identifier.in_(idents), Item.courier_id == actor.id)).unique().scalars().all()
    if _remaining(session, locked, list(now_mine)) != set(remaining_order):
        session.rollback()
        raise Conflict("Stops of your route were delivered, attempted or reassigned while "
                       "it was re-planned; ask again.", slug="plan-changed")
    result = dict(locked.result or {})
    # the route now starts where the courier stands, at the time of the new route; its
    # distance, duration, lateness, load and issues are the new route's: the stops
    # planned ahead (none when nothing could be planned), not the done or unplaced ones
    ahead: dict[str, Any] = {k: new_route.get(k, 0) for k in (
        "distance_m", "duration_s", "lateness_s", "parcels", "weight_g")}
    # and what it breaks (a kept next stop already late, say), numbered as stored
    ahead["issues"] = [{**i, "sequence": i["sequence"] + len(done_stops)} if "sequence" in i
                       else i for i in new_route.get("issues", [])]
    visit = new_route.get("office_visit")
    ahead["office_visit"] = None if visit is None else {
        **visit, "before_sequence": visit["before_sequence"] + len(done_stops)}
    result["routes"] = [
        {**r, "stops": stops, "reoptimized_at": now.isoformat(), **ahead,
         "start": new_route.get("start", r["start"]),
         "start_location": {"lat": lat, "lon": lon}, "end": new_route.get("end", r["end"])}
        if r["courier_id"] == actor.id else r
        for r in result["routes"]]
    locked.result = result  # a new object: JSON columns track reassignment, not mutation
    session.flush()
    return courier_route(session, actor, day)


def _edit_errors(session: Session, plan: RoutePlan, routes: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """What an edit's routes name that the plan cannot take, one pointer each, in the
    request's order: a courier not of the plan; an identifier that is no stop of it
    (saying why when the plan left the item out when it was made); one given twice
    (pointing at the first); a parcel in a courier's bag on the road (out for delivery,
    or failed on the plan's day and not scanned back in since: :func:`bags_on`) put on
    another courier's route (publishing would not hand it over); a parcel back from a
    failed attempt with a courier the plan did not pin it to (:func:`_failed_unplanned`),
    or at the office and assigned by hand to a courier since the plan was made
    (:func:`_assigned_since_planned`), put on another courier's route; a parcel whose
    next attempt is due after the plan's day (:func:`_asked_later`, as the plan leaves
    out) on any route. Each with its ``reason`` (:func:`_mistake`)."""
    couriers = {c["id"] for c in plan.problem["couriers"]}
    stops = {s["id"] for s in plan.problem["stops"]}
    pins = {s["id"]: s.get("courier_id") for s in plan.problem["stops"]}
    left_out = {x["identifier"]: x for x in plan.problem.get("left_out", [])}
    named = [(k, j, identifiers.normalize(x)) for k, r in enumerate(routes)
             for j, x in enumerate(r["identifiers"])]
    found = session.execute(select(Item).where(
        Item.office_id == plan.office_id,
        Item.identifier.in_({i for _, _, i in named if i in stops}))).unique().scalars().all()
    out = [it for it in found if it.courier_id is not None
           and it.status in (Status.OUT_FOR_DELIVERY, Status.DELIVERY_FAILED)]
    bags = bags_on(session, out, plan.service_date)
    bagged = {it.identifier: (bags[it.id], it.status) for it in out if it.id in bags}
    # back from a failed attempt on an earlier day, with a courier the plan did not pin
    # it to: theirs (_failed_unplanned)
    unpinned = [it for it in out if it.id not in bags and it.status is Status.DELIVERY_FAILED
                and pins.get(it.identifier) != str(it.courier_id)]
    days = failure_days(session, [it.id for it in unpinned])
    kept = {it.identifier: (it.courier_id, _mistake(why["reason"], why["detail"],
                                                    courier=it.courier_id,
                                                    day=days.get(it.id)))
            for it in unpinned if it.courier_id is not None
            for why in [_failed_unplanned(plan, it.courier_id, days.get(it.id))]}
    # at the office, assigned by hand since the plan was made (it did not pin it to
    # that courier): theirs (_assigned_since_planned)
    shelf = [it for it in found if it.courier_id is not None and it.status in AT_OFFICE
             and pins.get(it.identifier) != str(it.courier_id)]
    by_hand = assigned_by_hand(session, shelf)
    kept |= {it.identifier: (it.courier_id, _mistake(
                 "assigned_since_planned", _assigned_since_planned(it.courier_id)["detail"],
                 courier=it.courier_id))
             for it in shelf if it.id in by_hand and it.courier_id is not None}
    later = {it.identifier: _mistake(wait["reason"], wait["detail"], day=_due_day(it))
             for it in found
             if it.id not in bags and (wait := due_later(it, plan.service_date))}
    first: dict[str, str] = {}
    wrong: dict[tuple[int, int], dict[str, Any]] = {}
    for k, r in enumerate(routes):
        if str(r["courier_id"]) not in couriers:
            wrong[(k, -1)] = _mistake("not_a_courier_of_plan")
    for k, j, ident in named:
        here = f"/routes/{k}/identifiers/{j}"
        if ident not in stops:
            wrong[(k, j)] = (_mistake("left_out_when_made", why=left_out[ident]["message"],
                                      reason=left_out[ident].get("reason"))
                             if ident in left_out else _mistake("not_a_stop"))
        elif ident in first:
            wrong[(k, j)] = _mistake("named_twice", at=first[ident])
        else:
            first[ident] = here
            holder, status = bagged.get(ident, (None, None))
            if holder is not None and holder != routes[k]["courier_id"]:
                wrong[(k, j)] = _mistake("in_bag_out" if status is Status.OUT_FOR_DELIVERY
                                         else "in_bag_failed", courier=holder)
            elif ident in kept and kept[ident][0] != routes[k]["courier_id"]:
                wrong[(k, j)] = kept[ident][1]
            elif ident in later:
                wrong[(k, j)] = later[ident]
    return [{"pointer": f"/routes/{k}/courier_id" if j < 0 else f"/routes/{k}/identifiers/{j}",
             **mistake} for (k, j), mistake in sorted(wrong.items())]


#: What an edit's 422 (``invalid-route-edit``) says of a route or stop it cannot take,
#: by a stable code, in English (``{...}`` filled in); the console says each in
#: Vietnamese by the code (api/console/labels.py, ``EDIT_MISTAKE``), as it does those
#: whose words are a plan's own (:func:`_failed_in_bag`, :func:`_asked_later`...: their
#: ``reason``)
EDIT_MISTAKES = {
    "not_a_courier_of_plan": "Not a courier of this plan.",
    "not_a_stop": "Not a stop of this plan.",
    "left_out_when_made": "Not a stop of this plan: left out when it was made ({why}).",
    "named_twice": "Also at {at}.",
    "in_bag_out": "Out for delivery with courier {courier}: in their bag.",
    "in_bag_failed": "Delivery failed with courier {courier}, not scanned back in since: in "
                     "their bag.",
    "too_many_stops": "More stops than the plan has.",
    "not_evaluable": "{why}",
}


def _mistake(code: str, detail: str | None = None, **values: Any) -> dict[str, Any]:
    """A mistake of an edit: its English ``detail`` (``detail``, else
    :data:`EDIT_MISTAKES`' words for ``code``) and, for the console, its ``reason``:
    ``code`` and ``values``."""
    return {"detail": detail or EDIT_MISTAKES[code].format(**values),
            "reason": {"code": code, **values}}


def _due_day(item: Item) -> date | None:
    """The day a parcel that :func:`due_later` leaves out waits for: its next attempt's,
    or the last day it is held for its recipient."""
    if item.collect_until is not None:
        return last_day_held(item.collect_until)
    return item.next_attempt_on


def _edit_refused(detail: str, mistakes: list[dict[str, Any]]) -> Unprocessable:
    """An edit's 422: each mistake's ``pointer`` and ``detail`` in ``errors``, its
    ``reason`` beside (``Problem.reasons``, not answered)."""
    return Unprocessable(detail, slug="invalid-route-edit",
                         errors=[{k: v for k, v in m.items() if k != "reason"}
                                 for m in mistakes],
                         reasons=[m["reason"] for m in mistakes])


#: mistakes an edit's answer lists at most (one per route and stop named)
MAX_EDIT_ERRORS = 200


def edit_plan(session: Session, actor: User, plan_id: int, routes: list[dict[str, Any]], *,
              now: datetime) -> RoutePlan:
    """The dispatcher moves stops between couriers or reorders them; ETAs, loads and
    lateness are recomputed for the new order (nothing is re-optimised). Every route
    names a courier of the plan and stops of the plan, each once; a parcel in a
    courier's bag stays with its courier (:func:`_edit_errors`). A stop pinned to a courier
    (the item was theirs when the plan was made) may be moved: the pin binds the
    optimiser, not the dispatcher, who may reassign an item by hand anyway."""
    plan = get_plan_for_update(session, actor, plan_id)
    if plan.status is not PlanStatus.SUCCEEDED or plan.result is None:
        raise Conflict(f"Only a finished, unpublished plan can be edited; this one is "
                       f"{plan.status.value}.", slug="plan-not-editable",
                       current_status=plan.status.value)
    # each stop once: an edit naming more than the plan has repeats some (100 routes of
    # 2 000 repeats took 4 s to check and answered 18 MB of errors)
    named = sum(len(r["identifiers"]) for r in routes)
    if named > len(plan.problem["stops"]):
        raise _edit_refused(
            f"The routes name {named} stops; the plan has {len(plan.problem['stops'])}, "
            "each to be named once.", [{"pointer": "/routes", **_mistake("too_many_stops")}])
    wrong = _edit_errors(session, plan, routes)
    if wrong:
        shown = wrong[:MAX_EDIT_ERRORS]
        more = (f" (the first {len(shown)} of {len(wrong)})" if len(wrong) > len(shown)
                else "")
        raise _edit_refused("Some routes name couriers or stops this edit cannot take; "
                            f"see errors{more}.", shown)
    wanted = {str(r["courier_id"]): [identifiers.normalize(s) for s in r["identifiers"]]
              for r in routes}
    try:
        result = _evaluated(plan, wanted)
    except routing.InvalidProblemError as exc:
        raise _edit_refused(str(exc), [{"pointer": "/routes",
                                        **_mistake("not_evaluable", why=str(exc))}]) from exc
    routed = {i for ids in wanted.values() for i in ids}
    before = {s["identifier"] for r in plan.result["routes"] for s in r["stops"]}
    result["unassigned"] = [u for u in plan.result.get("unassigned", [])
                            if u["identifier"] not in routed] + [
        {"identifier": i, "reason": "left_out_by_dispatcher",
         "message": "taken off every route by the dispatcher"}
        for i in sorted(before - routed)]
    result["edited_at"], result["edited_by"] = now.isoformat(), actor.username
    plan.result = result
    plan.best_cost = float(result["distance_m"])
    session.flush()
    return plan
