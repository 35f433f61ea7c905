"""Schedule routes whose order is already fixed (a dispatcher's manual edit), and say
what is wrong with a route.

No optimisation: each courier's stops are visited in the given order, leaving the office
(or the courier's start) at shift open; ETAs, loads, distance and lateness are computed
the same way as for solved plans, so a manual edit is judged by the same measures.
:func:`route_issues` lists, for any route (fixed, solved or re-optimised), each
constraint it breaks and by how much.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from routing.errors import InvalidProblemError
from routing.matrix import HaversineProvider, MatrixProvider, checked_matrix
from routing.model import Problem
from routing.plan import CourierRoute, Plan
from routing.solver import _check_types, _fixed, _layout

__all__ = ["RouteIssue", "RouteIssueCode", "evaluate", "route_issues"]


class RouteIssueCode(StrEnum):
    """What a route breaks (value = stable machine-readable code)."""

    #: More parcels than the courier's ``capacity.parcels``.
    OVER_PARCELS = "over_parcels"
    #: Heavier than the courier's ``capacity.weight_g``.
    OVER_WEIGHT = "over_weight"
    #: A stop served after its time window closed.
    LATE_STOP = "late_stop"
    #: The route ends (back at the office, or the last stop of an open route) after
    #: the courier's shift closes.
    SHIFT_OVERRUN = "shift_overrun"


@dataclass(frozen=True, slots=True)
class RouteIssue:
    """One constraint a route breaks.

    Attributes
    ----------
    code
        What is broken.
    value
        What the route has: parcels (``over_parcels``), grams (``over_weight``), the
        stop's service start (``late_stop``) or the route's end (``shift_overrun``),
        the times in seconds since the start of the day.
    limit
        What it may have: the capacity in parcels or grams, the window's close, the
        shift's close.
    stop_id
        The late stop (``late_stop`` only).
    """

    code: RouteIssueCode
    value: int
    limit: int
    stop_id: str | None = None

    @property
    def excess(self) -> int:
        """By how much: ``value - limit`` (parcels, grams or seconds), always > 0."""
        return self.value - self.limit


def route_issues(problem: Problem, route: CourierRoute) -> tuple[RouteIssue, ...]:
    """Every constraint ``route`` breaks, in a stable order: parcels, weight, each late
    stop in visiting order, the shift's end. Empty for a feasible route (every route
    of a feasible :class:`~routing.Plan`); ``Plan.feasible`` of :func:`evaluate` is
    "no route has an issue". A route's ``lateness_s`` is the late stops' excess plus
    the shift overrun's.

    Pins (``Stop.courier_id``) are not checked: a route fixed by hand is the caller's
    decision.

    Raises
    ------
    InvalidProblemError
        The route's courier or one of its stops is not in ``problem``.
    """
    try:
        courier = problem.courier(route.courier_id)
    except KeyError:
        raise InvalidProblemError("route", f"unknown courier {route.courier_id!r}") from None
    windows = {s.id: s.window for s in problem.stops}
    for v in route.visits:  # before the peak load, which looks the stops up
        if v.stop_id not in windows:
            raise InvalidProblemError("route", f"unknown stop {v.stop_id!r}")
    out: list[RouteIssue] = []
    parcels, weight = _peak_load(problem, route)
    if parcels > courier.capacity.parcels:
        out.append(RouteIssue(RouteIssueCode.OVER_PARCELS, parcels,
                              courier.capacity.parcels))
    if weight > courier.capacity.weight_g:
        out.append(RouteIssue(RouteIssueCode.OVER_WEIGHT, weight,
                              courier.capacity.weight_g))
    for v in route.visits:
        window = windows[v.stop_id]
        if window is not None and v.start_s > window.close_s:
            out.append(RouteIssue(RouteIssueCode.LATE_STOP, v.start_s, window.close_s,
                                  v.stop_id))
    if route.end_s > courier.shift.close_s:
        out.append(RouteIssue(RouteIssueCode.SHIFT_OVERRUN, route.end_s,
                              courier.shift.close_s))
    return tuple(out)


def _peak_load(problem: Problem, route: CourierRoute) -> tuple[int, int]:
    """The most the courier carries at once, parcels and grams: everything from the
    start, or with a pass by the office (``route.office_visit``) the more of what
    leaves the start (the stops before the office, and those on board after it) and
    what leaves the office (the stops after it)."""
    if route.office_visit is None:
        return route.parcels, route.weight_g
    stops = {s.id: s for s in problem.stops}
    cut = route.office_visit.before
    out = [stops[v.stop_id] for n, v in enumerate(route.visits)
           if n < cut or stops[v.stop_id].on_board]
    back = [stops[v.stop_id] for v in route.visits[cut:]]
    return (max(sum(s.demand.parcels for s in out), sum(s.demand.parcels for s in back)),
            max(sum(s.demand.weight_g for s in out), sum(s.demand.weight_g for s in back)))


def evaluate(
    problem: Problem,
    routes: Mapping[str, Sequence[str]],
    *,
    provider: MatrixProvider | None = None,
) -> Plan:
    """Compute the schedule of fixed routes.

    Parameters
    ----------
    problem
        The problem the stops and couriers come from.
    routes
        ``{courier_id: [stop_id, ...]}`` in visiting order. Stops of the problem
        that appear in no route are simply not visited (the caller decides what
        that means); ``Plan.unassigned`` is empty. A stop pinned to a courier
        (``Stop.courier_id``) may be on another courier's route: the caller decides.
    provider
        Travel-matrix provider; default :class:`~routing.HaversineProvider`.

    Returns
    -------
    Plan
        ``method == "fixed"``; ``feasible`` is ``False`` when a route is late or
        over capacity (:func:`route_issues` says how).

    Raises
    ------
    InvalidProblemError
        Unknown courier or stop ids, or a stop given twice.
    """
    t0 = time.monotonic()
    _check_types(problem, None, provider, routes=(routes, Mapping))
    provider = provider or HaversineProvider()
    layout = _layout(problem)
    stop_index = {s.id: i for i, s in enumerate(problem.stops)}
    couriers = {c.id: i for i, c in enumerate(problem.couriers)}
    seen: set[str] = set()
    for cid, stop_ids in routes.items():
        if cid not in couriers:
            raise InvalidProblemError("routes", f"unknown courier {cid!r}")
        for sid in stop_ids:
            if sid not in stop_index:
                raise InvalidProblemError(f"routes.{cid}", f"unknown stop {sid!r}")
            if sid in seen:
                raise InvalidProblemError(f"routes.{cid}", f"stop {sid!r} appears twice")
            seen.add(sid)
    t_mat = time.monotonic()
    matrices = {}
    out = []
    for cid, stop_ids in routes.items():
        if not stop_ids:
            continue
        ci = couriers[cid]
        courier = problem.couriers[ci]
        if courier.speed not in matrices:
            matrices[courier.speed] = checked_matrix(provider, layout.points, courier.speed)
        stops = [(problem.stops[stop_index[s]], layout.stop_loc[stop_index[s]])
                 for s in stop_ids]
        route = _fixed(problem, courier, layout.courier_start[ci], stops,
                       matrices[courier.speed])
        out.append(route)
    matrix_s = time.monotonic() - t_mat
    return Plan(
        routes=tuple(out),
        unassigned=(),
        distance_m=sum(r.distance_m for r in out),
        travel_s=sum(r.travel_s for r in out),
        feasible=not any(route_issues(problem, r) for r in out),
        method="fixed",
        runtime_s=time.monotonic() - t0,
        matrix_s=matrix_s,
    )
