"""Public solving API: :func:`solve` and :func:`reoptimize`.

Pipeline
--------
1. Validate (the dataclasses already did) and build the point list: office,
   couriers' GPS starts, stops.
2. Build one travel matrix per speed profile with the
   :class:`~routing.matrix.MatrixProvider` (default: haversine x circuity).
3. Pre-check every stop alone against every eligible courier (capacity,
   then window vs shifts and direct reachability among those who can carry it);
   failures become unassigned stops with a precise reason.
4. Send the rest to :func:`routing.core.solve_core` as *optional* clients
   whose prize dominates any detour (so the solver only drops stops it cannot
   fit; high priority = 10x the prize per level; a committed stop 1.5x a new
   one: :func:`_prizes`). A stop pinned to a courier loads extra load
   dimensions only that courier has room in (:func:`_pin_codes`), with PyVRP's
   penalty for them held at its maximum; a move cost is charged through a
   routing profile (matrices) per preferred courier as far as their matrices fit
   :data:`MATRIX_MEMORY_BUDGET` (the couriers most stops prefer first), for the
   stops preferring the others by two alternative clients per stop
   (``CoreInstance.groups``).
5. Re-simulate every route on the unpenalised matrices to produce ETAs; if
   the solver ran out of time with an infeasible schedule, greedily drop the
   offending stops (reported ``no_time_left`` / ``no_capacity_left``).
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from routing.core import (
    INF_TIME,
    CoreClient,
    CoreInstance,
    CoreRoute,
    CoreVehicleType,
    ProgressCallback,
    _since,
    solve_core,
)
from routing.errors import InfeasibleProblemError, InvalidProblemError
from routing.matrix import (
    UNREACHABLE,
    HaversineProvider,
    MatrixProvider,
    TravelMatrix,
    checked_matrix,
)
from routing.model import (
    MAX_TIME_S,
    Capacity,
    Courier,
    Demand,
    LatLon,
    Office,
    Problem,
    SolverParams,
    SpeedProfile,
    Stop,
    TimeWindow,
)
from routing.plan import CourierRoute, OfficeVisit, Plan, Unassigned, UnassignedReason, Visit

__all__ = ["AT_OFFICE_M", "reoptimize", "solve"]

logger = logging.getLogger(__name__)

#: Upper bound on the memory of the (int64) routing profiles' matrices. Each courier
#: preferred by stops at a move cost above 0 gets its own distance/duration pair while
#: they fit, the couriers most stops prefer first (2000 stops allow 5 such couriers,
#: 1000 stops 20); the stops preferring the others are alternative clients instead, with
#: no matrices of their own (docs/routing.md, "Move costs beyond the matrix budget").
#: The process's peak is 2-3 times this (PyVRP copies the matrices into each model and
#: worker; docs/routing.md, "Limits and resources"): 1 GB at most, where 1 GB of
#: matrices peaked at 3.2 GB. Pins need no matrices of their own (:func:`_pin_codes`).
MATRIX_MEMORY_BUDGET = 400_000_000
#: Prize multiplier per priority level.
_PRIORITY_FACTOR = 10
#: With both committed and new stops (``Stop.committed``), every prize is this many
#: times the base prize (:func:`_prizes`), and a committed stop's is 3/2 of that:
#: the half base left between one committed and one new stop, and between two new
#: stops and one committed, must each be worth more than the detours and moves of
#: the exchange (one stop's worth with one base prize, two stops' with two).
_COMMITTED_SCALE = 4


@dataclass(frozen=True, slots=True)
class _Layout:
    """Matrix index layout of a problem."""

    points: list[LatLon]
    courier_start: list[int]  # per courier
    stop_loc: list[int]  # per stop


def _layout(problem: Problem) -> _Layout:
    points = [problem.office.location]
    courier_start: list[int] = []
    for c in problem.couriers:
        if c.start is None:
            courier_start.append(0)
        else:
            courier_start.append(len(points))
            points.append(c.start)
    stop_loc = []
    for s in problem.stops:
        stop_loc.append(len(points))
        points.append(s.location)
    return _Layout(points, courier_start, stop_loc)


def _fits(stop: Stop, courier: Courier) -> bool:
    return (
        stop.demand.parcels <= courier.capacity.parcels
        and stop.demand.weight_g <= courier.capacity.weight_g
    )


def _reachable(stop: Stop, loc: int, courier: Courier, start: int, dur: np.ndarray) -> bool:
    arrival = courier.shift.open_s + int(dur[start, loc])
    begin = arrival if stop.window is None else max(arrival, stop.window.open_s)
    if stop.window is not None and begin > stop.window.close_s:
        return False
    end = begin + stop.service_s + (int(dur[loc, 0]) if courier.return_to_office else 0)
    return end <= courier.shift.close_s


def _untimely(
    stop: Stop,
    loc: int,
    which: Sequence[int],
    problem: Problem,
    layout: _Layout,
    durs: Sequence[np.ndarray],
) -> UnassignedReason | None:
    """Why none of the couriers ``which`` can serve ``stop`` in time, whatever it
    weighs: its window against their shifts, else going there directly (None: one can)."""
    couriers = [problem.couriers[i] for i in which]
    if stop.window is not None:
        if stop.window.close_s < min(c.shift.open_s for c in couriers):
            return UnassignedReason.WINDOW_BEFORE_SHIFTS
        if stop.window.open_s > max(c.shift.close_s for c in couriers):
            return UnassignedReason.WINDOW_AFTER_SHIFTS
    for i in which:
        if _reachable(stop, loc, problem.couriers[i], layout.courier_start[i], durs[i]):
            return None
    return UnassignedReason.NOT_REACHABLE


def _precheck(
    stop: Stop,
    loc: int,
    eligible: Sequence[int],
    problem: Problem,
    layout: _Layout,
    durs: Sequence[np.ndarray],
) -> UnassignedReason | None:
    carriers = [i for i in eligible if _fits(stop, problem.couriers[i])]
    if not carriers:
        return UnassignedReason.DEMAND_EXCEEDS_CAPACITY
    if _untimely(stop, loc, carriers, problem, layout, durs) is None:
        return None
    # none who can carry it can serve it in time. Said of every eligible courier (a
    # window before every shift, after, or no one reaching it), unless one too small for
    # it could: the window (or the way there) fits only their shifts, and telling the
    # dispatcher that the window closes before the carriers' shifts while others' start
    # before it, or that the stop is out of reach, points at the wrong thing
    anyone = _untimely(stop, loc, eligible, problem, layout, durs)
    return UnassignedReason.DEMAND_EXCEEDS_CAPACITY_IN_TIME if anyone is None else anyone


def _simulate(
    courier: Courier,
    start_loc: int,
    stops: Sequence[tuple[Stop, int]],
    mat: TravelMatrix,
) -> CourierRoute:
    """Compute ETAs for a fixed visiting order, leaving at shift open."""
    dist, dur = mat.distance_m, mat.duration_s
    parcels = sum(s.demand.parcels for s, _ in stops)
    weight = sum(s.demand.weight_g for s, _ in stops)
    t = courier.shift.open_s
    prev = start_loc
    total_d = total_t = late = 0
    on_parcels, on_weight = parcels, weight
    visits: list[Visit] = []
    for stop, loc in stops:
        leg_d, leg_t = int(dist[prev, loc]), int(dur[prev, loc])
        arrival = t + leg_t
        begin = arrival if stop.window is None else max(arrival, stop.window.open_s)
        lateness = 0 if stop.window is None else max(0, begin - stop.window.close_s)
        on_parcels -= stop.demand.parcels
        on_weight -= stop.demand.weight_g
        t = begin + stop.service_s
        visits.append(
            Visit(
                stop_id=stop.id,
                arrival_s=arrival,
                start_s=begin,
                departure_s=t,
                wait_s=begin - arrival,
                lateness_s=lateness,
                travel_distance_m=leg_d,
                travel_duration_s=leg_t,
                load_parcels=on_parcels,
                load_weight_g=on_weight,
            )
        )
        total_d += leg_d
        total_t += leg_t
        late += lateness
        prev = loc
    if courier.return_to_office:
        total_d += int(dist[prev, 0])
        total_t += int(dur[prev, 0])
        t += int(dur[prev, 0])
    late += max(0, t - courier.shift.close_s)
    return CourierRoute(
        courier_id=courier.id,
        visits=tuple(visits),
        start_s=courier.shift.open_s,
        end_s=t,
        distance_m=total_d,
        duration_s=t - courier.shift.open_s,
        travel_s=total_t,
        parcels=parcels,
        weight_g=weight,
        lateness_s=late,
        returns_to_office=courier.return_to_office,
    )


def _repair(
    courier: Courier,
    start_loc: int,
    stops: list[tuple[Stop, int]],
    mat: TravelMatrix,
) -> tuple[CourierRoute, list[tuple[Stop, UnassignedReason]]]:
    """Drop stops until the route is feasible (only used after a timeout)."""
    dropped: list[tuple[Stop, UnassignedReason]] = []
    stops = list(stops)
    # capacity: drop the lowest-priority, new (not committed), largest stops first
    while stops and (
        sum(s.demand.parcels for s, _ in stops) > courier.capacity.parcels
        or sum(s.demand.weight_g for s, _ in stops) > courier.capacity.weight_g
    ):
        k = min(
            range(len(stops)),
            key=lambda i: (
                stops[i][0].priority,
                stops[i][0].committed,
                -stops[i][0].demand.parcels,
            ),
        )
        dropped.append((stops.pop(k)[0], UnassignedReason.NO_CAPACITY_LEFT))
    route = _simulate(courier, start_loc, stops, mat)
    while route.lateness_s > 0 and stops:
        late = [i for i, v in enumerate(route.visits) if v.lateness_s > 0]
        k = late[0] if late else len(stops) - 1
        dropped.append((stops.pop(k)[0], UnassignedReason.NO_TIME_LEFT))
        route = _simulate(courier, start_loc, stops, mat)
    return route, dropped


def _prize_base(mats: Sequence[TravelMatrix], problem: Problem, objective: str) -> int:
    worst = 1
    for m in mats:
        a = m.distance_m if objective == "distance" else m.duration_s
        ok = a[a < UNREACHABLE]
        if ok.size:
            worst = max(worst, int(ok.max()))
    base = 2 * worst + 1
    if objective == "duration":
        # route duration counts service and waiting: dropping a stop saves
        # its service time and possibly a wait up to a whole shift
        base += max((s.service_s for s in problem.stops), default=0)
        base += max((c.shift.close_s - c.shift.open_s for c in problem.couriers), default=0)
    return base


def _prizes(stops: Sequence[Stop], base: int) -> list[int]:
    """The prize (cost of leaving it out) of each of ``stops``, given ``base``: more
    than any detour plus every move cost (the caller's). ``base x 10**priority`` for
    every stop when none is committed, or all are (the same model as without the
    field). With both kinds, ``4 base`` for a new stop and ``6 base`` for a committed
    one (x ``10**priority``). Dropping a committed stop to serve a new one of the same
    priority loses ``2 base``, more than the travel and moves it can save (one stop's
    detour and every move: less than ``base``); dropping one committed stop to serve
    two new ones gains ``2 base``, more than the two detours and the moves it can cost
    (less than ``2 base``). So the plan still serves as many stops as it can,
    and among plans serving as many, the one with more committed stops wins; a higher
    priority (x10) outweighs being committed."""
    committed = sum(s.committed for s in stops)
    if 0 < committed < len(stops):
        new, kept = _COMMITTED_SCALE * base, _COMMITTED_SCALE * base * 3 // 2
    else:
        new = kept = base
    return [(kept if s.committed else new) * _PRIORITY_FACTOR**s.priority for s in stops]


def _pin_codes(couriers: Sequence[str]) -> dict[str, tuple[int, ...]]:
    """A code word for each courier with pinned stops: the extra load dimensions
    (numbered from 0) each of its pinned stops loads with one unit, and that it has room
    in (as many units as it has pinned stops). All words have the same number of
    dimensions (half of ``m``, rounded up; ``m`` the least with enough words), so none
    is inside another: a stop pinned to ``a`` on ``b``'s route loads a dimension ``b``
    has no room in. A courier without pins has room in none. 2 couriers need 2
    dimensions, 20 need 6, 100 need 9. Pins used to be routing profiles that made the
    others' arcs into the stop unusable: one pair of matrices per courier (~120 MB of
    process memory each at 1 000 stops, and a 413 beyond ~14 couriers at 2 000 stops;
    docs/routing.md, "Pins")."""
    if not couriers:
        return {}
    m = 1
    while math.comb(m, (m + 1) // 2) < len(couriers):
        m += 1
    return dict(zip(couriers, itertools.combinations(range(m), (m + 1) // 2), strict=False))


def _matrix_bytes(size: int, profiles: int) -> int:
    """The (int64) distance and duration matrices of ``profiles`` routing profiles."""
    return profiles * 2 * 8 * size * size


def _plan(
    problem: Problem,
    params: SolverParams,
    provider: MatrixProvider,
    progress: ProgressCallback | None,
    initial: Mapping[str, Sequence[str]] | None,
    t_start: float,
) -> Plan:
    if not problem.couriers:
        raise InfeasibleProblemError("the problem has no couriers")
    layout = _layout(problem)
    n_stops = len(problem.stops)

    # ---- matrices, one per speed profile
    t_mat = time.monotonic()
    speeds: list[SpeedProfile] = []
    for c in problem.couriers:
        if c.speed not in speeds:
            speeds.append(c.speed)
    base = [checked_matrix(provider, layout.points, sp) for sp in speeds]
    matrix_s = time.monotonic() - t_mat
    speed_of = [speeds.index(c.speed) for c in problem.couriers]
    cmat = [base[k] for k in speed_of]

    # ---- eligibility and pre-check
    cidx = {c.id: i for i, c in enumerate(problem.couriers)}
    everyone = list(range(len(problem.couriers)))
    unassigned: list[Unassigned] = []
    candidates: list[int] = []  # stop indices sent to the solver
    for si, stop in enumerate(problem.stops):
        eligible = [cidx[stop.courier_id]] if stop.courier_id is not None else everyone
        reason = _precheck(
            stop, layout.stop_loc[si], eligible, problem, layout, [m.duration_s for m in cmat]
        )
        if reason is None:
            candidates.append(si)
        else:
            unassigned.append(Unassigned(stop.id, reason, reason.message))

    # ---- pins are load dimensions (_pin_codes). A move cost: as far as the matrices fit
    # MATRIX_MEMORY_BUDGET, a routing profile per preferred courier, (speed, courier),
    # whose distances charge the move cost on the arcs into the stops other profiled
    # couriers are preferred for (distance only: durations, hence windows and ETAs, stay
    # real); a stop preferring a courier beyond it is two alternative clients
    # (CoreInstance.groups), one pinned to its courier and one anyone may serve, whose
    # prize is lower by the move cost (no matrices: docs/routing.md, "Move costs beyond
    # the matrix budget")
    pins: Counter[str] = Counter()  # courier -> clients pinned to them (its room)
    preferred: dict[int, int] = {}  # candidate position -> its move cost (> 0)
    for k, si in enumerate(candidates):
        stop = problem.stops[si]
        if stop.courier_id is not None:
            pins[stop.courier_id] += 1
        cost = problem.move_cost_of(stop)
        if cost > 0 and stop.preferred_courier in cidx and len(problem.couriers) > 1:
            preferred[k] = cost
    owner_of = {k: str(problem.stops[candidates[k]].preferred_courier) for k in preferred}

    def profiles_with(owners: set[str]) -> tuple[list[tuple[int, str | None]], list[int]]:
        """The profiles, (speed, courier or None), when ``owners`` have their own, and
        each courier's."""
        keys: list[tuple[int, str | None]] = []
        of: list[int] = []
        for i, c in enumerate(problem.couriers):
            key = (speed_of[i], c.id if c.id in owners else None)
            if key not in keys:
                keys.append(key)
            of.append(keys.index(key))
        return keys, of

    # the couriers most stops prefer get profiles first, as many as fit the budget; the
    # stops that prefer the others are alternatives (mixed: each stop has one encoding)
    size = len(layout.points) + 1
    prefer_count = Counter(owner_of.values())
    profiled: set[str] = set()
    for cid in sorted(prefer_count, key=lambda c: (-prefer_count[c], c)):
        if _matrix_bytes(size, len(profiles_with(profiled | {cid})[0])) > MATRIX_MEMORY_BUDGET:
            break
        profiled.add(cid)
    profile_keys, courier_profile = profiles_with(profiled)
    # each such stop's first client is pinned to its courier
    by_alternatives = {k for k, cid in owner_of.items() if cid not in profiled}
    pins.update(owner_of[k] for k in by_alternatives)
    dists, durs = [], []
    for sp, owner in profile_keys:
        d = base[sp].distance_m
        charge = sorted(
            {layout.stop_loc[candidates[k]]: preferred[k]
             for k, cid in owner_of.items() if cid != owner and cid in profiled}.items())
        if charge:
            locs = [loc for loc, _ in charge]
            d = d.copy()
            d[:, locs] += np.array([cost for _, cost in charge], dtype=d.dtype)
            d[locs, locs] = 0  # (PyVRP wants zero diagonals)
        dists.append(d)
        durs.append(base[sp].duration_s)
    if len(profile_keys) > len(base):
        logger.debug("using %d routing profiles for preferred stops", len(profile_keys))
    codes = _pin_codes(sorted(pins))
    dims = max((max(c) + 1 for c in codes.values()), default=0)

    def pin_load(cid: str | None, amount: int) -> tuple[int, ...]:
        code = codes.get(cid or "", ())
        return tuple(amount if d in code else 0 for d in range(dims))

    # ---- core instance
    # a stop is worth more than any detour plus moving every stop that can move: a plan
    # serving more stops wins whatever it moves (a stop whose courier cannot take it
    # is moved, not dropped, and so are the stops moved to make room for one)
    # (and a committed stop is worth more than a new one, less than two: _prizes)
    prizes = _prizes(
        [problem.stops[si] for si in candidates],
        _prize_base(base, problem, params.objective) + sum(preferred.values()),
    )
    clients = []
    stop_of = list(candidates)  # client -> stop index (a stop's alternatives: the same)
    alternative: dict[int, int] = {}  # client pinned to the preferred courier -> the other
    for k, (si, prize) in enumerate(zip(candidates, prizes, strict=True)):
        s = problem.stops[si]
        w = s.window
        pin = s.preferred_courier if k in by_alternatives else s.courier_id
        client = CoreClient(
            location=layout.stop_loc[si],
            demand=(s.demand.parcels, s.demand.weight_g, *pin_load(pin, 1)),
            service_s=s.service_s,
            tw_early=0 if w is None else w.open_s,
            tw_late=INF_TIME if w is None else w.close_s,
            required=False,
            prize=prize,
        )
        clients.append(client)
        if k in by_alternatives:
            alternative[k] = len(candidates) + len(alternative)
    for k in alternative:  # the same stop served by someone else: its move cost less
        stays_with = clients[k]
        clients.append(dataclasses.replace(
            stays_with, demand=stays_with.demand[:2] + pin_load(None, 1),
            prize=stays_with.prize - preferred[k]))
        stop_of.append(candidates[k])
    groups: dict[tuple[object, ...], list[int]] = {}
    for i, c in enumerate(problem.couriers):
        gkey = (
            layout.courier_start[i],
            c.return_to_office,
            c.shift,
            c.capacity,
            c.id if c.id in codes else None,
            courier_profile[i],
        )
        groups.setdefault(gkey, []).append(i)
    group_list = list(groups.values())
    vtypes = []
    for members in group_list:
        c = problem.couriers[members[0]]
        vtypes.append(
            CoreVehicleType(
                start=layout.courier_start[members[0]],
                end=0 if c.return_to_office else None,
                capacity=(
                    c.capacity.parcels,
                    c.capacity.weight_g,
                    *pin_load(c.id, pins[c.id]),
                ),
                tw_early=c.shift.open_s,
                tw_late=c.shift.close_s,
                count=len(members),
                profile=courier_profile[members[0]],
            )
        )
    inst = CoreInstance(
        distances=tuple(dists),
        durations=tuple(durs),
        clients=tuple(clients),
        vehicle_types=tuple(vtypes),
        objective=params.objective,
        assignment_dims=dims,
        groups=tuple((k, a) for k, a in alternative.items()),
    )

    # the warm start's routes, in the core's terms; ``warm_of`` keeps whose each is
    warm: list[tuple[int, list[int]]] | None = None
    warm_of: dict[int, list[int]] = {}
    if initial is not None:
        client_of = {problem.stops[si].id: k for k, si in enumerate(candidates)}
        warm = []
        for cid, stop_ids in initial.items():
            if cid not in cidx:
                continue
            vt = next(g for g, m in enumerate(group_list) if cidx[cid] in m)
            # a stop on another courier's route than the one it prefers: its alternative
            visits = [
                alternative[k] if k in alternative
                and problem.stops[candidates[k]].preferred_courier != cid else k
                for k in (client_of[sid] for sid in stop_ids if sid in client_of)
            ]
            if visits:
                warm.append((vt, visits))
                warm_of[cidx[cid]] = visits

    remaining = params.time_limit_s - (time.monotonic() - t_start)
    res = solve_core(
        inst,
        time_limit_s=max(remaining, 0.05),
        seed=params.seed,
        workers=params.workers,
        use_tsp_fast_path=params.use_tsp_fast_path,
        # the elapsed time of the whole budget: building the matrices counts
        progress=None if progress is None else _since(t_start, progress),
        initial=warm,
    )

    # ---- routes with ETAs
    drivers = _drivers(res.routes, group_list, warm_of)
    routes: list[CourierRoute] = []
    served: set[str] = set()
    loads: dict[int, tuple[int, int]] = {}
    for cr, ci in zip(res.routes, drivers, strict=True):
        courier = problem.couriers[ci]
        # a timed-out search may hand back a stop pinned to another courier (a pin is a
        # load dimension PyVRP penalises): it is not served, as one left out
        visits = [v for v in cr.visits
                  if problem.stops[stop_of[v]].courier_id in (None, courier.id)]
        order = [(problem.stops[stop_of[v]], layout.stop_loc[stop_of[v]]) for v in visits]
        route, dropped = _repair(courier, layout.courier_start[ci], order, cmat[ci])
        for stop, reason in dropped:
            unassigned.append(Unassigned(stop.id, reason, reason.message))
        if route.visits:
            routes.append(route)
        served.update(problem.stops[stop_of[v]].id for v in visits)
        loads[ci] = (route.parcels, route.weight_g)
    dropped_ids = {u.stop_id for u in unassigned}
    for si in candidates:
        s = problem.stops[si]
        if s.id in served or s.id in dropped_ids:
            continue
        eligible = [cidx[s.courier_id]] if s.courier_id is not None else everyone
        no_room = all(
            loads.get(i, (0, 0))[0] + s.demand.parcels > problem.couriers[i].capacity.parcels
            or loads.get(i, (0, 0))[1] + s.demand.weight_g > problem.couriers[i].capacity.weight_g
            for i in eligible
        )
        reason = UnassignedReason.NO_CAPACITY_LEFT if no_room else UnassignedReason.NO_TIME_LEFT
        unassigned.append(Unassigned(s.id, reason, reason.message))

    order_of = {c.id: i for i, c in enumerate(problem.couriers)}
    routes.sort(key=lambda r: order_of[r.courier_id])
    stop_order = {s.id: i for i, s in enumerate(problem.stops)}
    unassigned.sort(key=lambda u: stop_order[u.stop_id])
    logger.info(
        "planned %d/%d stops on %d routes by %s in %.2fs",
        n_stops - len(unassigned),
        n_stops,
        len(routes),
        res.method,
        time.monotonic() - t_start,
    )
    return Plan(
        routes=tuple(routes),
        unassigned=tuple(unassigned),
        distance_m=sum(r.distance_m for r in routes),
        travel_s=sum(r.travel_s for r in routes),
        feasible=all(r.lateness_s == 0 for r in routes),
        method=res.method,
        runtime_s=time.monotonic() - t_start,
        matrix_s=matrix_s,
    )


def _drivers(
    core_routes: Sequence[CoreRoute],
    groups: Sequence[Sequence[int]],
    warm_of: Mapping[int, Sequence[int]],
) -> list[int]:
    """The courier (index) who drives each of ``core_routes``. The search sees only
    vehicle types: couriers alike (start, shift, capacity, speed, pins) share one, so
    it does not say which of them drives which route of their type. Without a warm
    start, the type's couriers take its routes in order. With one (``warm_of``: each
    courier's warm-start clients), a route goes to the courier of its type whose warm
    route it shares the most stops with (the largest overlaps first; the others, in
    order, to the type's couriers left): a re-plan hands each courier back their
    round, changed, instead of a like courier's. The couriers are alike, so this
    changes no cost, ETA or feasibility."""
    out: list[int | None] = [None] * len(core_routes)
    warm_sets = {ci: set(v) for ci, v in warm_of.items()}
    by_type: dict[int, list[int]] = {}
    for n, cr in enumerate(core_routes):
        by_type.setdefault(cr.vehicle_type, []).append(n)
    for vt, mine in by_type.items():
        members = list(groups[vt])
        pairs = sorted(
            (
                (-len(warm_sets[ci].intersection(core_routes[n].visits)), k, ci, n)
                for k, n in enumerate(mine)
                for ci in members
                if ci in warm_sets
            ),
        )
        free = set(members)
        for shared, _k, ci, n in pairs:
            if shared < 0 and out[n] is None and ci in free:
                out[n] = ci
                free.discard(ci)
        rest = [ci for ci in members if ci in free]
        for n in mine:
            if out[n] is None:
                out[n] = rest.pop(0)
    return [ci for ci in out if ci is not None]


def _check_types(
    problem: object, params: object = None, provider: object = None, **more: tuple[object, type]
) -> None:
    """A clear ``TypeError`` for an argument of the wrong type (a dict where a
    :class:`Problem` belongs failed deep inside with an ``AttributeError``)."""
    if not isinstance(problem, Problem):
        raise TypeError(
            f"problem must be a routing.Problem (Problem.from_dict builds one from a dict), "
            f"not {type(problem).__name__}"
        )
    if params is not None and not isinstance(params, SolverParams):
        raise TypeError(f"params must be a routing.SolverParams, not {type(params).__name__}")
    if provider is not None and not isinstance(provider, MatrixProvider):
        raise TypeError(
            f"provider must be a routing.MatrixProvider, not {type(provider).__name__}"
        )
    for name, (value, kind) in more.items():
        if not isinstance(value, kind):
            raise TypeError(f"{name} must be a {kind.__name__}, not {type(value).__name__}")


def solve(
    problem: Problem,
    params: SolverParams | None = None,
    *,
    provider: MatrixProvider | None = None,
    progress: ProgressCallback | None = None,
    initial: Plan | Mapping[str, Sequence[str]] | None = None,
) -> Plan:
    """Plan routes for every courier of ``problem``.

    A single-courier route (open or closed) is simply a problem with one
    courier.

    Parameters
    ----------
    problem
        The validated problem.
    params
        Solver parameters (default :class:`SolverParams()`: 1 s, seed 0, two
        parallel runs, distance objective).
    provider
        Travel-matrix provider; default :class:`~routing.HaversineProvider`.
    progress
        Optional ``progress(best_cost, elapsed_s)`` hook, called in the
        calling thread during the search (see
        :data:`routing.core.ProgressCallback`); ``elapsed_s`` is the time since
        this call (never decreasing), to compare with ``params.time_limit_s``.
        Raising from it aborts the solve and the exception propagates (use it
        to cancel a job).
    initial
        Optional warm start: a previous plan, or ``{courier_id: [stop_id,
        ...]}`` (unknown ids are ignored).

    Returns
    -------
    Plan
        Routes with ETAs and unassigned stops with reasons.

    Raises
    ------
    InfeasibleProblemError
        If the problem has no couriers.
    MatrixProviderError
        If the matrix provider fails.
    """
    t0 = time.monotonic()
    _check_types(problem, params, provider)
    if initial is not None and not isinstance(initial, Plan | Mapping):
        raise TypeError(
            f"initial must be a routing.Plan or a mapping of courier ids to stop ids, "
            f"not {type(initial).__name__}"
        )
    params = params or SolverParams()
    provider = provider or HaversineProvider()
    if params.objective != "distance" and any(problem.move_cost_of(s) for s in problem.stops):
        raise InvalidProblemError(
            "move_cost_m", "a move cost is in metres: it needs objective 'distance'"
        )
    if not problem.stops:
        if not problem.couriers:
            raise InfeasibleProblemError("the problem has no couriers")
        return Plan((), (), 0, 0, True, "empty", time.monotonic() - t0, 0.0)
    warm: Mapping[str, Sequence[str]] | None
    if isinstance(initial, Plan):
        warm = {r.courier_id: r.stop_ids for r in initial.routes}
    else:
        warm = initial
    road = [c for c in problem.couriers if c.bag_only and c.start is not None]
    if road:
        return _from_the_road(problem, road, params, provider, progress, warm, t0)
    if not any(s.on_board for s in problem.stops):
        return _plan(problem, params, provider, progress, warm, t0)
    return _loaded(problem, _plan(_unloaded(problem), params, provider, progress, warm, t0))


#: The share of a plan's budget that the trips back to the office of its couriers on
#: the road (``Courier.bag_only``) take, together (:func:`_from_the_road`)
ROAD_SHARE = 0.2


def _from_the_road(problem: Problem, road: Sequence[Courier], params: SolverParams,
                   provider: MatrixProvider, progress: ProgressCallback | None,
                   warm: Mapping[str, Sequence[str]] | None, t0: float) -> Plan:
    """:func:`solve` with couriers out on the road who carry only their bags
    (``Courier.bag_only``): each first serves what of the bag it can on the way back to
    the office (a single-route search from where they stand, :data:`ROAD_SHARE` of the
    budget for all of them), then the day is planned with each starting at the office
    once back and loaded, the bag's other stops still on board. Their routes are the
    two trips joined (``CourierRoute.office_visit``); a courier within
    :data:`AT_OFFICE_M` of the office is at it, and loads there.

    How many parcels a courier loads is known only once the day is planned: the search
    has them leave the office after loading the most they could (all that waits there,
    at most what fills the room their bag leaves), and their route is then timed with
    what it loads (``Office.load_time_s``) as :func:`routing.evaluate.evaluate` times
    it: no later, so no stop the search placed in time becomes late (unless the trip
    from the office starts with a bag stop: served before the office, as ``evaluate``
    times it, waiting there for its window delays the rest)."""
    sole = problem.couriers[0].id if len(problem.couriers) == 1 else None
    couriers = {c.id: c for c in problem.couriers}
    stops = list(problem.stops)
    heads: dict[str, tuple[CourierRoute | None, int, tuple[int, int], int, int]] = {}
    bags_fit = True  # a bag over the vehicle's capacity is a route over it
    share = params.time_limit_s * ROAD_SHARE / len(road)
    road_end = t0 + params.time_limit_s * ROAD_SHARE
    for c in road:
        assert c.start is not None
        legs = checked_matrix(provider, [c.start, problem.office.location], c.speed)
        leg = (int(legs.distance_m[0, 1]), int(legs.duration_s[0, 1]))
        if leg[0] <= AT_OFFICE_M:
            couriers[c.id] = dataclasses.replace(c, start=None, bag_only=False)
            continue
        leave_s = c.shift.open_s
        # a bag stop whose window opens after the courier could be back and loaded is
        # served after the office, when there is anything there: waiting for it on the
        # way brought them back at 16:00 for a 14:00 window, the new stops all left out
        waiting = [s.demand.parcels for s in stops
                   if not s.on_board and s.courier_id in (None, c.id)]
        later = leave_s + leg[1] + problem.office.load_time_s(min(waiting)) if waiting \
            else MAX_TIME_S
        whole = [s for s in stops if s.on_board and (s.courier_id or sole) == c.id]
        bag = tuple(s for s in whole if s.window is None or s.window.open_s <= later)
        first = None
        if bag:
            there = dataclasses.replace(c, return_to_office=True, bag_only=False)
            left_s = road_end - time.monotonic()
            if left_s > 0:  # one search (no pool of processes: a bag is a few stops)
                trip = _reoptimize(
                    Problem(problem.office, _alone(bag), (there,)), c.id, c.start, (),
                    now_s=leave_s, provider=provider, params=dataclasses.replace(
                        params, time_limit_s=max(0.01, min(share, left_s)), workers=1))
                first = trip.route_of(c.id)
                bags_fit = bags_fit and trip.feasible
            else:  # a search takes ~0.05 s whatever its budget: 100 of them overran it
                first = _bag_in_turn(problem.office, there, bag, provider)
            bags_fit = bags_fit and (first is None or first.lateness_s == 0)
        bags_fit = bags_fit and sum(s.demand.parcels for s in whole) <= c.capacity.parcels \
            and sum(s.demand.weight_g for s in whole) <= c.capacity.weight_g
        back_s = first.end_s if first is not None else leave_s + leg[1]
        served = set(first.stop_ids if first is not None else ())
        stops = [s for s in stops if s.id not in served]
        # the most they can load: what waits at the office for them or for anyone, at
        # most the room the parcels still on board leave in the vehicle
        aboard = sum(s.demand.parcels for s in whole if s.id not in served)
        room = max(0, c.capacity.parcels - aboard)
        most_s = problem.office.load_time_s(min(room, sum(waiting)))
        ready = min(back_s + most_s, c.shift.close_s)
        couriers[c.id] = dataclasses.replace(c, start=None, bag_only=False,
                                             shift=TimeWindow(ready, c.shift.close_s))
        heads[c.id] = (first, back_s, leg, leave_s, most_s)
    day = dataclasses.replace(problem, stops=tuple(stops),
                              couriers=tuple(couriers[c.id] for c in problem.couriers))
    left_s = max(0.01, params.time_limit_s - (time.monotonic() - t0))
    if day.stops:
        plan = solve(day, dataclasses.replace(params, time_limit_s=left_s), provider=provider,
                     progress=None if progress is None else _since(t0, progress),
                     initial=warm)
    else:
        plan = Plan((), (), 0, 0, True, "empty", 0.0, 0.0)
    routes = []
    for c in problem.couriers:
        after = plan.route_of(c.id)
        if c.id in heads:
            first, back_s, leg, leave_s, most_s = heads[c.id]
            load_s = _load_time(problem, after, lambda s: not s.on_board)
            joined = _joined(problem, c, leave_s, first, back_s, leg, after, load_s)
            if after is not None and joined is not None and (load_s != most_s or all(
                    problem.stop(i).on_board for i in after.stop_ids[:1])):
                # the trip from the office loads fewer parcels than the search allowed
                # for, or starts with a stop of the bag (one the trip back left out, or
                # waiting for its window): timed as evaluate() times the order, that
                # stop before the office (and no office at all when nothing is to load
                # there), so that an edit keeps the plan's times. Waiting there for its
                # window delays the office and all after it: that route may be late
                # where the search's was not (the plan is then not feasible)
                joined = _fixed_route(problem, c, joined.stop_ids, provider)
            if joined is not None:
                routes.append(joined)
        elif after is not None:
            routes.append(after)
    return Plan(
        routes=tuple(routes), unassigned=plan.unassigned,
        distance_m=sum(r.distance_m for r in routes), travel_s=sum(r.travel_s for r in routes),
        feasible=plan.feasible and bags_fit and all(r.lateness_s == 0 for r in routes),
        method=plan.method, runtime_s=time.monotonic() - t0, matrix_s=plan.matrix_s)


def _alone(stops: Sequence[Stop]) -> tuple[Stop, ...]:
    """``stops`` for a problem of one courier: without their preferred couriers (another
    courier of the day is unknown there, and one courier moves no stop; as
    :func:`_reoptimize` does with them)."""
    return tuple(s if s.preferred_courier is None
                 else dataclasses.replace(s, preferred_courier=None) for s in stops)


def _load_time(problem: Problem, route: CourierRoute | None,
               loaded: Callable[[Stop], bool]) -> int:
    """``Office.load_time_s`` of the parcels of ``route``'s stops that are ``loaded`` at
    the office (``route``: the trip from it; ``None``: nothing)."""
    stops = {s.id: s for s in problem.stops}
    parcels = sum(stops[i].demand.parcels for i in (route.stop_ids if route else ())
                  if loaded(stops[i]))
    return problem.office.load_time_s(parcels)


def _fixed_route(problem: Problem, courier: Courier, order: Sequence[str],
                 provider: MatrixProvider) -> CourierRoute:
    """:func:`_fixed` of ``courier``'s stops ``order`` (a courier with a ``start``)."""
    assert courier.start is not None
    stops = [problem.stop(i) for i in order]
    mat = checked_matrix(provider, [problem.office.location, courier.start,
                                    *(s.location for s in stops)], courier.speed)
    return _fixed(problem, courier, 1, [(s, n + 2) for n, s in enumerate(stops)], mat)


def _bag_in_turn(office: Office, courier: Courier, bag: Sequence[Stop],
                 provider: MatrixProvider) -> CourierRoute | None:
    """The trip of a courier on the road back to the office (``courier``: its start,
    closed) through their bag without a search: the nearest stop next, the late ones
    left out (for after the office); ``None`` when none is served."""
    mat = checked_matrix(provider, [office.location, courier.start or office.location,
                                    *(s.location for s in bag)], courier.speed)
    order: list[tuple[Stop, int]] = []
    todo = list(range(len(bag)))
    here = 1
    while todo:
        k = min(todo, key=lambda i: (int(mat.duration_s[here, i + 2]), i))
        todo.remove(k)
        order.append((bag[k], k + 2))
        here = k + 2
    room = Capacity(sum(s.demand.parcels for s in bag), sum(s.demand.weight_g for s in bag))
    route, _ = _repair(dataclasses.replace(courier, capacity=room), 1, order, mat)
    return route if route.visits else None


def _unloaded(problem: Problem) -> Problem:
    """The problem the search solves when some stops are on board (``Stop.on_board``):
    their parcels taken off them and off their courier's capacity. Leaving one out frees
    no room, so the search cannot trade it for new stops; the rest of the capacity is
    the new stops' (none when the bag already fills it)."""
    sole = problem.couriers[0].id if len(problem.couriers) == 1 else None
    aboard: dict[str, tuple[int, int]] = {}
    for s in problem.stops:
        if s.on_board:
            cid = s.courier_id or sole
            assert cid is not None  # (Problem checks it)
            p, w = aboard.get(cid, (0, 0))
            aboard[cid] = (p + s.demand.parcels, w + s.demand.weight_g)
    couriers = tuple(
        dataclasses.replace(c, capacity=Capacity(
            max(0, c.capacity.parcels - aboard[c.id][0]),
            max(0, c.capacity.weight_g - aboard[c.id][1])))
        if c.id in aboard else c for c in problem.couriers)
    stops = tuple(dataclasses.replace(s, demand=Demand(0, 0)) if s.on_board else s
                  for s in problem.stops)
    return dataclasses.replace(problem, stops=stops, couriers=couriers)


def _loaded(problem: Problem, plan: Plan) -> Plan:
    """``plan`` of :func:`_unloaded`'s problem with the true loads of ``problem``: each
    route's parcels and weight, and what is on board leaving each stop, count the
    on-board stops' parcels again; a route over its courier's capacity (a bag fuller
    than the vehicle) makes the plan not feasible."""
    demand = {s.id: s.demand for s in problem.stops}
    capacity = {c.id: c.capacity for c in problem.couriers}
    routes = []
    for r in plan.routes:
        parcels = sum(demand[v.stop_id].parcels for v in r.visits)
        weight = sum(demand[v.stop_id].weight_g for v in r.visits)
        visits, left_p, left_w = [], parcels, weight
        for v in r.visits:
            left_p -= demand[v.stop_id].parcels
            left_w -= demand[v.stop_id].weight_g
            visits.append(dataclasses.replace(v, load_parcels=left_p, load_weight_g=left_w))
        routes.append(dataclasses.replace(r, visits=tuple(visits), parcels=parcels,
                                          weight_g=weight))
    fits = all(r.parcels <= capacity[r.courier_id].parcels
               and r.weight_g <= capacity[r.courier_id].weight_g for r in routes)
    # a stop that fits a vehicle, but not beside what is on board: no capacity left
    stops = {s.id: s for s in problem.stops}
    unassigned = tuple(
        Unassigned(u.stop_id, UnassignedReason.NO_CAPACITY_LEFT,
                   UnassignedReason.NO_CAPACITY_LEFT.message)
        if u.reason is UnassignedReason.DEMAND_EXCEEDS_CAPACITY and any(
            _fits(stops[u.stop_id], c) for c in problem.couriers
            if stops[u.stop_id].courier_id in (None, c.id))
        else u for u in plan.unassigned)
    return dataclasses.replace(plan, routes=tuple(routes), unassigned=unassigned,
                               feasible=plan.feasible and fits)


#: A courier this close to the office (metres) is at it: what is at the office is
#: loaded before leaving, as on a route that starts there.
AT_OFFICE_M = 150


def reoptimize(
    problem: Problem,
    courier_id: str,
    position: LatLon,
    done_stop_ids: Collection[str],
    *,
    now_s: int,
    keep_next: str | None = None,
    params: SolverParams | None = None,
    provider: MatrixProvider | None = None,
    current_order: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
    at_office: Collection[str] = (),
) -> Plan:
    """Re-plan the rest of one courier's route from where they are now.

    The stops considered are those of ``problem`` that are not done and are
    either unpinned or pinned to this courier (pass the courier's current
    route, plus any stops to add). The courier's capacity holds the kept stop's
    parcels and the rest's as in :func:`solve`: a stop marked ``on_board`` (in the
    bag) takes none from the others and is never left out for it.

    Parameters
    ----------
    problem
        Problem holding the courier and the stops of its route.
    courier_id
        The courier being re-planned.
    position
        The courier's current GPS position.
    done_stop_ids
        Stops already served (left out of the new plan).
    now_s
        Current time (seconds since day start); the new route starts then.
    keep_next
        Stop the courier is already heading to: it stays first (after the office
        when it is ``at_office``).
    params
        Solver parameters.
    provider
        Travel-matrix provider.
    current_order
        The remaining stops in the currently planned order, used as a warm
        start so the new route is never worse than the old one when that one
        is still feasible.
    progress
        Optional progress hook.
    at_office
        Stops whose parcels are still at the office, not with the courier (none
        may be ``on_board``). A courier farther than :data:`AT_OFFICE_M` from the
        office passes by it before the first of them, and loads them there in
        ``Office.load_time_s`` of their parcels (the route's ``office_visit``; the
        search allows for all of them, the route is timed with those it serves):
        either after the stops
        whose parcels they carry (those the search fits before; the rest after the
        office) or first of all, whichever serves more (by priority), then is less
        late, then shorter. The budget is shared by the two searches. A courier who
        is ``bag_only`` has every stop that is not on board at the office.

    Returns
    -------
    Plan
        A plan with at most one route (``courier_id``'s); its ``start_s`` is
        ``now_s`` (the shift's start if later) and its first visit is ``keep_next``
        when given.

    Raises
    ------
    InvalidProblemError
        Unknown courier or stop ids, ``keep_next`` already done or pinned to
        another courier, bad ``now_s``, an ``at_office`` stop that is on board.
    """
    _check_types(problem, params, provider)
    params = params or SolverParams()
    provider = provider or HaversineProvider()
    courier, done = _checked_reoptimize(problem, courier_id, position, done_stop_ids,
                                        now_s, keep_next)
    if isinstance(at_office, str) or not isinstance(at_office, Collection):
        raise InvalidProblemError("at_office", "must be a collection of stop ids")
    ids = {s.id: s for s in problem.stops}
    unknown = sorted(str(i) for i in at_office if i not in ids)
    if unknown:
        raise InvalidProblemError("at_office", f"unknown stop ids {unknown[:5]}")
    aboard = sorted(i for i in at_office if ids[i].on_board)
    if aboard:
        raise InvalidProblemError("at_office", f"stops {aboard[:5]} are on board")
    fetch = {i for i in at_office if i not in done and ids[i].courier_id in (None, courier_id)}
    if courier.bag_only:  # every parcel not on board is at the office
        fetch |= {s.id for s in problem.stops if not s.on_board and s.id not in done
                  and s.courier_id in (None, courier_id)}
    if fetch:
        legs = checked_matrix(provider, [position, problem.office.location], courier.speed)
        if int(legs.distance_m[0, 1]) > AT_OFFICE_M:
            return _via_office(problem, courier, position, done, fetch,
                               (int(legs.distance_m[0, 1]), int(legs.duration_s[0, 1])),
                               now_s=now_s, keep_next=keep_next, params=params,
                               provider=provider, current_order=current_order,
                               progress=progress)
    return _reoptimize(problem, courier_id, position, done_stop_ids, now_s=now_s,
                       keep_next=keep_next, params=params, provider=provider,
                       current_order=current_order, progress=progress)


def _via_office(
    problem: Problem,
    courier: Courier,
    position: LatLon,
    done: set[str],
    fetch: set[str],
    leg: tuple[int, int],
    *,
    now_s: int,
    keep_next: str | None,
    params: SolverParams,
    provider: MatrixProvider,
    current_order: Sequence[str] | None,
    progress: ProgressCallback | None,
) -> Plan:
    """:func:`reoptimize` of a courier on the road with parcels to fetch at the office
    (``fetch``; ``leg``: the distance and time from ``position`` to the office). Without
    ``keep_next``, the better of "the bag, then the office, then the rest" and "the
    office first, then everything"; with it, the one that starts with the kept stop."""
    t0 = time.monotonic()
    cid = courier.id
    mine = [s for s in problem.stops if s.id not in done and s.courier_id in (None, cid)]
    leave_s = max(courier.shift.open_s, now_s)
    # the search allows for loading every parcel to fetch (that fits the vehicle); the
    # route is timed with those it serves (_reloaded)
    most_s = problem.office.load_time_s(min(courier.capacity.parcels, sum(
        s.demand.parcels for s in mine if s.id in fetch)))
    bag_first = (keep_next is None or keep_next not in fetch) and any(
        s.id not in fetch for s in mine)
    office_first = keep_next is None or keep_next in fetch
    share = 0.5 if bag_first and office_first else 1.0

    deadline = t0 + params.time_limit_s

    def part(stops: Sequence[Stop], who: Courier, where: LatLon, at_s: int, of: float,
             keep: str | None) -> Plan:
        ids = {s.id for s in stops}
        # its share of the budget, or what an earlier search that overran left of it
        budget = min(params.time_limit_s * share * of, deadline - time.monotonic())
        return _reoptimize(
            dataclasses.replace(problem, stops=_alone(stops), couriers=(who,)), cid, where,
            (), now_s=max(0, min(MAX_TIME_S, at_s)), keep_next=keep,
            params=dataclasses.replace(params, time_limit_s=max(0.01, budget)),
            provider=provider, progress=progress,
            current_order=None if current_order is None
            else [i for i in current_order if i in ids])

    candidates: list[Plan] = []
    if bag_first:
        # the stops whose parcels are with the courier, back to the office, the rest:
        # what is at the office, and what the bag's trip could not fit
        there = dataclasses.replace(courier, return_to_office=True)
        first = part([s for s in mine if s.id not in fetch], there, position, now_s, 0.4,
                     keep_next)
        trip = first.route_of(cid)
        back_s = trip.end_s if trip is not None else leave_s + leg[1]
        later = {u.stop_id for u in first.unassigned} | fetch
        rest = part([s for s in mine if s.id in later], courier, problem.office.location,
                    back_s + most_s, 0.6, None)
        rest, load_s = _reloaded(problem, courier, rest, back_s, most_s, fetch, provider)
        candidates.append(_merged(problem, courier, leave_s, first, back_s, leg, rest, load_s))
    if office_first:
        back_s = leave_s + leg[1]
        rest = part(mine, courier, problem.office.location, back_s + most_s, 1.0, keep_next)
        rest, load_s = _reloaded(problem, courier, rest, back_s, most_s, fetch, provider)
        candidates.append(_merged(problem, courier, leave_s, None, back_s, leg, rest, load_s))
    weight = {s.id: _PRIORITY_FACTOR ** s.priority for s in problem.stops}

    def rank(p: Plan) -> tuple[int, int, int]:
        return (sum(weight[u.stop_id] for u in p.unassigned),
                sum(r.lateness_s for r in p.routes), p.distance_m)

    best = min(candidates, key=rank)
    return dataclasses.replace(best, runtime_s=time.monotonic() - t0)


def _reloaded(problem: Problem, courier: Courier, rest: Plan, arrival_s: int, most_s: int,
              fetch: set[str], provider: MatrixProvider) -> tuple[Plan, int]:
    """``rest`` (the plan from the office, leaving it ``most_s`` after ``arrival_s``:
    loading every parcel to ``fetch``) timed with what its route loads there (the
    ``fetch`` stops it serves; fewer when it leaves some out: earlier), and that load
    time."""
    route = rest.route_of(courier.id)
    load_s = _load_time(problem, route, lambda s: s.id in fetch)
    if route is None or load_s == most_s:
        return rest, load_s
    stops = [problem.stop(i) for i in route.stop_ids]
    mat = checked_matrix(provider, [problem.office.location, *(s.location for s in stops)],
                         courier.speed)
    route = _from_office(courier, min(arrival_s + load_s, MAX_TIME_S),
                         [(s, n + 1) for n, s in enumerate(stops)], mat)
    return dataclasses.replace(rest, routes=(route,)), load_s


def _merged(problem: Problem, courier: Courier, leave_s: int, head: Plan | None,
            arrival_s: int, leg: tuple[int, int], rest: Plan, load_s: int) -> Plan:
    """The plan of one route (:func:`_joined`) of ``head``'s route (the trip from the
    courier's position back to the office, arriving at ``arrival_s``; ``None``:
    straight there, ``leg``, leaving at ``leave_s``), the ``load_s`` there and
    ``rest``'s route from the office, with what both left out and the route does not
    serve."""
    cid = courier.id
    first = head.route_of(cid) if head is not None else None
    route = _joined(problem, courier, leave_s, first, arrival_s, leg, rest.route_of(cid),
                    load_s)
    served = set(route.stop_ids if route is not None else ())
    seen: set[str] = set()
    left = []
    for u in (*(head.unassigned if head is not None else ()), *rest.unassigned):
        if u.stop_id not in seen and u.stop_id not in served:
            seen.add(u.stop_id)  # a stop left out of the bag's trip may be served after
            left.append(u)
    order = {s.id: n for n, s in enumerate(problem.stops)}
    left.sort(key=lambda u: order[u.stop_id])
    routes = (route,) if route is not None else ()
    return Plan(routes=routes, unassigned=tuple(left),
                distance_m=sum(r.distance_m for r in routes),
                travel_s=sum(r.travel_s for r in routes),
                feasible=rest.feasible and (head is None or head.feasible),
                method=rest.method, runtime_s=0.0, matrix_s=rest.matrix_s)


def _joined(problem: Problem, courier: Courier, leave_s: int, first: CourierRoute | None,
            arrival_s: int, leg: tuple[int, int], after: CourierRoute | None, load_s: int
            ) -> CourierRoute | None:
    """One route of ``first`` (the trip from the courier's position back to the office,
    arriving at ``arrival_s``; ``None``: straight there, ``leg``, leaving at
    ``leave_s``), the office visit (``load_s`` long) and ``after`` (from the office).
    Without a route after the office, the office visit is only the way back: the route
    is ``first``.
    On board leaving each stop before the office: what the route delivers before it,
    and the parcels on board (``Stop.on_board``) it delivers after."""
    if after is None:
        if first is None or courier.return_to_office:
            return first
        # nothing from the office: an open route ends at its last stop, not back there
        back_d = first.distance_m - sum(v.travel_distance_m for v in first.visits)
        back_t = first.travel_s - sum(v.travel_duration_s for v in first.visits)
        end_s = first.visits[-1].departure_s
        return dataclasses.replace(
            first, end_s=end_s, distance_m=first.distance_m - back_d,
            duration_s=end_s - first.start_s, travel_s=first.travel_s - back_t,
            lateness_s=sum(v.lateness_s for v in first.visits)
            + max(0, end_s - courier.shift.close_s), returns_to_office=False)
    if first is not None:
        stops = {s.id: s for s in problem.stops}
        carried = [stops[v.stop_id].demand for v in after.visits if stops[v.stop_id].on_board]
        more_p, more_w = sum(d.parcels for d in carried), sum(d.weight_g for d in carried)
        visits = tuple(dataclasses.replace(v, load_parcels=v.load_parcels + more_p,
                                           load_weight_g=v.load_weight_g + more_w)
                       for v in first.visits)
        back_d = first.distance_m - sum(v.travel_distance_m for v in visits)
        back_t = first.travel_s - sum(v.travel_duration_s for v in visits)
        start_s, dist0, travel0, late0 = first.start_s, first.distance_m, first.travel_s, \
            first.lateness_s - max(0, first.end_s - courier.shift.close_s)
        parcels0, weight0 = first.parcels, first.weight_g
    else:
        visits = ()
        back_d, back_t = leg
        start_s, dist0, travel0, late0, parcels0, weight0 = leave_s, leg[0], leg[1], 0, 0, 0
    office = OfficeVisit(before=len(visits), arrival_s=arrival_s,
                         departure_s=arrival_s + load_s, travel_distance_m=back_d,
                         travel_duration_s=back_t)
    return CourierRoute(
        courier_id=courier.id,
        visits=(*visits, *after.visits),
        start_s=start_s,
        end_s=after.end_s,
        distance_m=dist0 + after.distance_m,
        duration_s=after.end_s - start_s,
        travel_s=travel0 + after.travel_s,
        parcels=parcels0 + after.parcels,
        weight_g=weight0 + after.weight_g,
        lateness_s=late0 + after.lateness_s,
        returns_to_office=courier.return_to_office,
        office_visit=office,
    )


def _fixed(problem: Problem, courier: Courier, start: int, stops: list[tuple[Stop, int]],
           mat: TravelMatrix) -> CourierRoute:
    """The schedule of ``stops`` in this order; a courier on the road with only their bag
    (``Courier.bag_only``) passes by the office before the first stop not on board,
    as :func:`routing.solve` plans it."""
    cut = next((n for n, (s, _) in enumerate(stops) if not s.on_board), None)
    leg = (int(mat.distance_m[start, 0]), int(mat.duration_s[start, 0]))
    if not courier.bag_only or courier.start is None or cut is None or leg[0] <= AT_OFFICE_M:
        return _simulate(courier, start, stops, mat)
    leave_s = courier.shift.open_s
    first = (_simulate(dataclasses.replace(courier, return_to_office=True), start,
                       stops[:cut], mat) if cut else None)
    back_s = first.end_s if first is not None else leave_s + leg[1]
    load_s = problem.office.load_time_s(sum(s.demand.parcels for s, _ in stops[cut:]
                                            if not s.on_board))
    after = _from_office(courier, min(back_s + load_s, MAX_TIME_S), stops[cut:], mat)
    joined = _joined(problem, courier, leave_s, first, back_s, leg, after, load_s)
    assert joined is not None
    return joined


def _from_office(courier: Courier, ready_s: int, stops: list[tuple[Stop, int]],
                 mat: TravelMatrix) -> CourierRoute:
    """The schedule of ``stops`` in this order from the office (``mat``'s point 0),
    leaving it loaded at ``ready_s``."""
    # it leaves once loaded, the shift over or not: clamped to the shift's close, it
    # left before the courier was back (ETAs before the office's)
    close_s = courier.shift.close_s
    after = _simulate(dataclasses.replace(
        courier, shift=TimeWindow(ready_s, max(ready_s, close_s))), 0, stops, mat)
    if ready_s > close_s:  # its overrun is of the true close
        after = dataclasses.replace(after, lateness_s=sum(
            v.lateness_s for v in after.visits) + max(0, after.end_s - close_s))
    return after


def _checked_reoptimize(problem: Problem, courier_id: str, position: LatLon,
                        done_stop_ids: Collection[str], now_s: int, keep_next: str | None
                        ) -> tuple[Courier, set[str]]:
    """:func:`reoptimize`'s arguments checked: the courier and the done stops."""
    try:
        courier = problem.courier(courier_id)
    except KeyError:
        raise InvalidProblemError("courier_id", f"unknown courier {courier_id!r}") from None
    if not isinstance(position, LatLon):
        raise InvalidProblemError("position", "must be a LatLon")
    if isinstance(now_s, bool) or not isinstance(now_s, int) or not 0 <= now_s <= MAX_TIME_S:
        raise InvalidProblemError("now_s", f"must be an integer in [0, {MAX_TIME_S}]")
    ids = {s.id for s in problem.stops}
    done = set(done_stop_ids)
    unknown = sorted(done - ids)
    if unknown:
        raise InvalidProblemError("done_stop_ids", f"unknown stop ids {unknown[:5]}")
    if keep_next is not None:
        if keep_next not in ids:
            raise InvalidProblemError("keep_next", f"unknown stop id {keep_next!r}")
        if keep_next in done:
            raise InvalidProblemError("keep_next", f"stop {keep_next!r} is already done")
        pinned_to = problem.stop(keep_next).courier_id
        if pinned_to not in (None, courier_id):
            raise InvalidProblemError(
                "keep_next", f"stop {keep_next!r} is pinned to courier {pinned_to!r}"
            )
    return courier, done


def _reoptimize(
    problem: Problem,
    courier_id: str,
    position: LatLon,
    done_stop_ids: Collection[str],
    *,
    now_s: int,
    keep_next: str | None = None,
    params: SolverParams | None = None,
    provider: MatrixProvider | None = None,
    current_order: Sequence[str] | None = None,
    progress: ProgressCallback | None = None,
) -> Plan:
    """:func:`reoptimize` with every parcel on board."""
    t0 = time.monotonic()
    _check_types(problem, params, provider)
    params = params or SolverParams()
    provider = provider or HaversineProvider()
    courier, done = _checked_reoptimize(problem, courier_id, position, done_stop_ids,
                                        now_s, keep_next)
    rest = [
        dataclasses.replace(s, courier_id=None, preferred_courier=None)
        for s in problem.stops
        if s.id not in done and s.courier_id in (None, courier_id)
    ]
    # the courier leaves now, or when the shift starts if later (as without keep_next)
    leave_s = max(courier.shift.open_s, now_s)
    shift_open = min(leave_s, courier.shift.close_s)
    head: Visit | None = None
    head_stop: Stop | None = None
    lead_d = lead_t = 0
    start = position
    if keep_next is not None:
        head_stop = next(s for s in rest if s.id == keep_next)
        rest = [s for s in rest if s.id != keep_next]
        legs = checked_matrix(
            provider, [position, head_stop.location, problem.office.location], courier.speed
        )
        lead_d, lead_t = int(legs.distance_m[0, 1]), int(legs.duration_s[0, 1])
        arrival = leave_s + lead_t
        w = head_stop.window
        begin = arrival if w is None else max(arrival, w.open_s)
        late = 0 if w is None else max(0, begin - w.close_s)
        head = Visit(
            stop_id=head_stop.id,
            arrival_s=arrival,
            start_s=begin,
            departure_s=begin + head_stop.service_s,
            wait_s=begin - arrival,
            lateness_s=late,
            travel_distance_m=lead_d,
            travel_duration_s=lead_t,
            load_parcels=0,  # what the route after it serves: set once it is planned
            load_weight_g=0,
        )
        start = head_stop.location
        shift_open = min(max(shift_open, head.departure_s), courier.shift.close_s)
    capacity = courier.capacity
    if head_stop is not None:  # the kept stop's parcels ride along until it
        capacity = Capacity(
            max(0, capacity.parcels - head_stop.demand.parcels),
            max(0, capacity.weight_g - head_stop.demand.weight_g),
        )
    sub_courier = dataclasses.replace(
        courier, start=start, shift=TimeWindow(shift_open, courier.shift.close_s),
        capacity=capacity, bag_only=False,
    )
    sub = Problem(office=problem.office, stops=tuple(rest), couriers=(sub_courier,))
    initial: dict[str, Sequence[str]] | None = None
    if current_order is not None:
        initial = {courier_id: list(current_order)}
    plan = solve(sub, params, provider=provider, progress=progress, initial=initial)
    if plan.routes and (leave_s if head is None else head.departure_s) > courier.shift.close_s:
        # the rest starts after the shift has closed (the search's shift was clamped to
        # its close): whatever it served (no travel, no service) would end after the
        # shift too, and its ETAs were from before the courier gets there
        after_shift = [
            Unassigned(v.stop_id, UnassignedReason.NO_TIME_LEFT,
                       UnassignedReason.NO_TIME_LEFT.message)
            for r in plan.routes for v in r.visits
        ]
        order = {s.id: i for i, s in enumerate(sub.stops)}
        left_out = sorted((*plan.unassigned, *after_shift), key=lambda u: order[u.stop_id])
        plan = dataclasses.replace(plan, routes=(), distance_m=0, travel_s=0, feasible=True,
                                   unassigned=tuple(left_out))
    if head is None or head_stop is None:
        return dataclasses.replace(plan, runtime_s=time.monotonic() - t0)

    route = plan.route_of(courier_id)
    if route is None:  # nothing after the kept stop
        back_d = int(legs.distance_m[1, 2]) if courier.return_to_office else 0
        back_t = int(legs.duration_s[1, 2]) if courier.return_to_office else 0
        end = head.departure_s + back_t
        route = CourierRoute(
            courier_id=courier_id,
            visits=(head,),
            start_s=leave_s,
            end_s=end,
            distance_m=lead_d + back_d,
            duration_s=end - leave_s,
            travel_s=lead_t + back_t,
            parcels=head_stop.demand.parcels,
            weight_g=head_stop.demand.weight_g,
            lateness_s=head.lateness_s + max(0, end - courier.shift.close_s),
            returns_to_office=courier.return_to_office,
        )
    else:
        # on board leaving the kept stop: what the rest of the route delivers (not the
        # stops left out, as on every other visit)
        head = dataclasses.replace(
            head, load_parcels=route.parcels, load_weight_g=route.weight_g
        )
        route = CourierRoute(
            courier_id=courier_id,
            visits=(head, *route.visits),
            start_s=leave_s,
            end_s=route.end_s,
            distance_m=lead_d + route.distance_m,
            duration_s=route.end_s - leave_s,
            travel_s=lead_t + route.travel_s,
            parcels=route.parcels + head_stop.demand.parcels,
            weight_g=route.weight_g + head_stop.demand.weight_g,
            lateness_s=route.lateness_s + head.lateness_s,
            returns_to_office=courier.return_to_office,
        )
    return dataclasses.replace(
        plan,
        routes=(route,),
        distance_m=route.distance_m,
        travel_s=route.travel_s,
        # the kept stop stays first even when it alone is more than the courier carries
        feasible=route.lateness_s == 0
        and route.parcels <= courier.capacity.parcels
        and route.weight_g <= courier.capacity.weight_g,
        runtime_s=time.monotonic() - t0,
    )
