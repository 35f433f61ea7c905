"""A few stops for a fleet, solved exactly (routing.tsptw.solve_fleet_exact and its
wiring in routing.core.solve_core), checked against brute force: every assignment of
the stops to the vehicles (or to nobody), every order of each route."""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Callable
from functools import cache

import numpy as np
import pytest

from routing import Capacity, Problem, SolverParams, TimeWindow, solve
from routing.core import (
    INF_TIME,
    CoreClient,
    CoreInstance,
    CoreVehicleType,
    _build_data,
    solve_core,
)
from routing.tsptw import warm_up

from .conftest import OFFICE, courier, random_stops, stop_near_office

H = 3600


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()


def _route(inst: CoreInstance, vt: CoreVehicleType, visits: tuple[int, ...]) -> int | None:
    """Travel of one route, or None when it breaks a window, the shift or the
    capacity: leave at the shift open, wait when early."""
    dims = len(vt.capacity)
    for d in range(dims):
        if sum(inst.clients[k].demand[d] for k in visits) > vt.capacity[d]:
            return None
    dist, dur = inst.distances[vt.profile], inst.durations[vt.profile]
    t, at, travel = vt.tw_early, vt.start, 0
    for k in visits:
        c = inst.clients[k]
        t = max(t + int(dur[at, c.location]), c.tw_early)
        if t > c.tw_late:
            return None
        t += c.service_s
        travel += int(dist[at, c.location])
        at = c.location
    if vt.end is not None:
        t += int(dur[at, vt.end])
        travel += int(dist[at, vt.end])
    return travel if t <= vt.tw_late else None


def _pyvrp_durations(inst: CoreInstance) -> Callable[[int, tuple[int, ...]], int | None]:
    """The duration PyVRP gives a route of vehicle type ``t`` (travel, service and the
    waiting no later start avoids), or None when it is not feasible there."""
    from pyvrp import Route

    data = _build_data(inst)

    def duration(t: int, visits: tuple[int, ...]) -> int | None:
        route = Route(data, list(visits), t)  # type: ignore[arg-type]
        return int(route.duration()) if route.is_feasible() else None

    return duration


def _brute(inst: CoreInstance,
           cost_of: Callable[[int, tuple[int, ...]], int | None] | None = None) -> float:
    """The best objective: travel (``cost_of`` each route, by default :func:`_route`)
    plus the prize of each optional client left out, every required client served, at
    most one client of a group."""
    n = len(inst.clients)
    vehicles = [t for t, vt in enumerate(inst.vehicle_types) for _ in range(vt.count)]
    if cost_of is None:
        def cost_of(t: int, visits: tuple[int, ...]) -> int | None:
            return _route(inst, inst.vehicle_types[t], visits)

    @cache
    def best_route(t: int, members: frozenset[int]) -> float:
        if not members:
            return 0.0
        costs = [cost_of(t, p) for p in itertools.permutations(sorted(members))]
        return min((c for c in costs if c is not None), default=math.inf)

    best = math.inf
    for owner in itertools.product(range(-1, len(vehicles)), repeat=n):
        served = {k for k in range(n) if owner[k] >= 0}
        if any(inst.clients[k].required and k not in served for k in range(n)):
            continue
        if any(len(served & set(g)) > 1 for g in inst.groups):
            continue
        total = float(sum(inst.clients[k].prize for k in range(n) if k not in served))
        for v, t in enumerate(vehicles):
            total += best_route(t, frozenset(k for k in range(n) if owner[k] == v))
        best = min(best, total)
    return best


def _objective(inst: CoreInstance, routes: tuple,
               cost_of: Callable[[int, tuple[int, ...]], int | None] | None = None) -> float:
    served = [k for r in routes for k in r.visits]
    assert len(served) == len(set(served)), "a client on two routes"
    total = 0.0
    for r in routes:
        cost = (_route(inst, inst.vehicle_types[r.vehicle_type], r.visits) if cost_of is None
                else cost_of(r.vehicle_type, r.visits))
        assert cost is not None, "a route breaks a window, the shift or the capacity"
        total += cost
    return total + sum(c.prize for k, c in enumerate(inst.clients) if k not in served)


def _random_fleet(seed: int) -> CoreInstance:
    """3-5 clients, 2-3 vehicle types (one of them two vehicles, one open), two
    profiles, windows, two load dimensions, optional clients, a group and a pin."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 6))
    places = n + 3
    xy = rng.uniform(0, 4000, size=(places, 2))
    d = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))).astype(np.int64)
    slow = (d * 1.3).astype(np.int64)  # a second profile, asymmetric
    slow[np.triu_indices(places, 1)] += 50
    clients = []
    for k in range(n):
        early, late = 0, 10 * H
        if rng.random() < 0.5:
            early = int(rng.integers(0, 2 * H))
            late = early + int(rng.integers(600, 3600))
        required = rng.random() < 0.5
        clients.append(CoreClient(
            location=3 + k, demand=(int(rng.integers(1, 3)), int(rng.integers(0, 30)), 0),
            service_s=int(rng.integers(30, 300)), tw_early=early, tw_late=late,
            required=required, prize=0 if required else int(rng.integers(500, 9000))))
    groups: tuple[tuple[int, ...], ...] = ()
    if n >= 4 and seed % 2:  # clients 0 and 1 are one stop, the first pinned to type 0
        clients[0] = dataclasses.replace(clients[0], required=False, prize=8000,
                                         demand=(*clients[0].demand[:2], 1))
        clients[1] = dataclasses.replace(clients[1], location=clients[0].location,
                                         required=False, prize=8000 - 700)
        groups = ((0, 1),)
    shift = int(rng.integers(2, 4)) * H
    types = (
        CoreVehicleType(start=0, end=0, capacity=(3, 60, 1), tw_early=0, tw_late=shift),
        CoreVehicleType(start=1, end=None, capacity=(2, 40, 0), tw_early=600,
                        tw_late=shift, count=2 if seed % 3 else 1, profile=1),
        CoreVehicleType(start=2, end=0, capacity=(4, 25, 0), tw_early=0, tw_late=shift),
    )[: 2 + seed % 2]
    return CoreInstance((d, slow), (d // 5, slow // 5), tuple(clients), types,
                        assignment_dims=1, groups=groups)


@pytest.mark.parametrize("seed", range(12))
def test_a_few_stops_for_a_fleet_are_the_brute_force_optimum(seed: int) -> None:
    inst = _random_fleet(seed)
    opt = _brute(inst)
    if math.isinf(opt):  # no plan serves every required client: PyVRP says so
        res = solve_core(inst, time_limit_s=0.3, seed=0, workers=1)
        assert res.method == "pyvrp" and not res.feasible
        return
    res = solve_core(inst, time_limit_s=30.0, seed=0, workers=1)
    assert res.method == "exact" and res.feasible
    assert _objective(inst, res.routes) == opt
    assert res.cost == sum(_route(inst, inst.vehicle_types[r.vehicle_type], r.visits)
                           for r in res.routes)
    assert all(r.visits for r in res.routes)


@pytest.mark.parametrize("seed", range(12))
def test_a_few_stops_for_a_fleet_by_duration_are_the_brute_force_optimum(seed: int) -> None:
    # PyVRP spent the whole budget on these (30 s for a plan's default); the durations
    # are PyVRP's own, and so is its objective: the routes' durations and the prizes
    inst = dataclasses.replace(_random_fleet(seed), objective="duration")
    duration = _pyvrp_durations(inst)
    opt = _brute(inst, duration)
    if math.isinf(opt):
        return  # (no plan serves every required client: PyVRP, as by distance)
    res = solve_core(inst, time_limit_s=30.0, seed=0, workers=1)
    assert res.method == "exact" and res.feasible
    assert _objective(inst, res.routes, duration) == opt


@pytest.mark.parametrize("seed", range(10))
def test_a_few_stops_on_one_route_by_duration_are_the_brute_force_optimum(seed: int) -> None:
    # one vehicle: the single-route enumeration, by PyVRP's duration (waiting at a
    # window counts, unless starting later avoids it)
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 7))
    xy = rng.uniform(0, 4000, size=(n + 1, 2))
    d = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))).astype(np.int64)
    clients = []
    for k in range(n):
        early, late = 0, INF_TIME
        if k == 0 or rng.random() < 0.6:  # (a window: not fast-tsp's)
            early = int(rng.integers(1, 5)) * H
            late = early + int(rng.integers(300, 2 * H))
        clients.append(CoreClient(location=1 + k, demand=(1,), service_s=int(rng.integers(30, 300)),
                                  tw_early=early, tw_late=late, required=False, prize=10**8))
    vt = CoreVehicleType(start=0, end=None if seed % 3 == 0 else 0, capacity=(n,),
                         tw_early=0, tw_late=10 * H)
    inst = CoreInstance((d,), (d // 5,), tuple(clients), (vt,), objective="duration")
    duration = _pyvrp_durations(inst)
    opt = _brute(inst, duration)
    res = solve_core(inst, time_limit_s=30.0, seed=0, workers=1)
    assert res.method == "exact"
    assert _objective(inst, res.routes, duration) == opt


def test_the_random_fleets_cover_what_the_search_must_handle() -> None:
    """The cases above hold plans with left-out clients, a group, two vehicles of one
    type both out, and no plan at all: else they would test less than they say."""
    left_out = group_served = twin = infeasible = 0
    for seed in range(12):
        inst = _random_fleet(seed)
        if math.isinf(_brute(inst)):
            infeasible += 1
            continue
        res = solve_core(inst, time_limit_s=30.0, seed=0, workers=1)
        served = {k for r in res.routes for k in r.visits}
        left_out += len(served) < len(inst.clients) - len(inst.groups)
        group_served += any(served & set(g) for g in inst.groups)
        twin += sum(r.vehicle_type == 1 for r in res.routes) == 2
    assert left_out and group_served and twin and infeasible


def test_the_fleet_search_refuses_more_stops_and_stops_at_its_branch_budget() -> None:
    from routing.core import _tsptw_instance
    from routing.tsptw import FLEET_EXACT_MAX_CLIENTS, FleetVehicle, solve_fleet_exact

    inst = _random_fleet(1)
    n = len(inst.clients)
    fleet = [FleetVehicle(_tsptw_instance(inst, 0)[0], (9, 99, 9), 2)]
    args = ([c.demand for c in inst.clients], [1] * n, [False] * n)
    assert solve_fleet_exact(fleet, *args) is not None
    with pytest.raises(TimeoutError):
        solve_fleet_exact(fleet, *args, max_nodes=2)
    many = FLEET_EXACT_MAX_CLIENTS + 1
    with pytest.raises(ValueError, match="clients"):
        solve_fleet_exact(fleet, [(0, 0, 0)] * many, [1] * many, [False] * many)


def test_a_late_replan_of_a_few_stops_for_several_couriers_is_exact() -> None:
    """Five stops left for three couriers: every split and order, in one go, where
    PyVRP spent the whole budget. Not with the fast paths off."""
    stops = random_stops(5, seed=3)
    couriers = tuple(courier(f"c{i}", capacity=Capacity(3, 100_000)) for i in range(3))
    problem = Problem(OFFICE, stops, couriers)
    plan = solve(problem, SolverParams(time_limit_s=30.0, seed=0, workers=1))
    assert plan.method == "exact" and plan.feasible and not plan.unassigned
    assert sum(len(r.visits) for r in plan.routes) == 5
    assert all(len(r.visits) <= 3 for r in plan.routes)  # each courier takes 3 parcels
    pyvrp = solve(problem, SolverParams(time_limit_s=0.5, seed=0, workers=1,
                                        use_tsp_fast_path=False))
    assert pyvrp.method == "pyvrp"
    assert plan.distance_m <= pyvrp.distance_m


def test_a_stop_no_route_can_serve_is_left_out_exactly() -> None:
    """Two stops at the same minute far apart, one courier: the exact search leaves
    one out (the one whose prize is lower: the other is urgent)."""
    from routing import TimeWindow

    a = stop_near_office("a", 0.01, 0.0, window=TimeWindow(9 * H, 9 * H + 60))
    b = stop_near_office("b", -0.05, 0.0, window=TimeWindow(9 * H, 9 * H + 60),
                         priority=1)
    c = stop_near_office("c", 0.0, 0.01)
    plan = solve(Problem(OFFICE, (a, b, c), (courier("x"),)),
                 SolverParams(time_limit_s=5.0, seed=0, workers=1))
    assert plan.method == "exact" and plan.feasible
    assert [u.stop_id for u in plan.unassigned] == ["a"]


def _odd_fleet(seed: int) -> CoreInstance:
    """Shapes the fleets above leave out: asymmetric matrices breaking the triangle
    inequality (and an unreachable pair), 0-3 load dimensions with vehicles of no room,
    vehicle types of no vehicle, starts and ends apart or open, a shift without an end,
    clients at a depot, windows closing before the shifts open, several groups, every
    client optional."""
    from routing.core import INF_TIME

    rng = np.random.default_rng(1000 + seed)
    n, n_types = int(rng.integers(1, 6)), int(rng.integers(1, 4))
    places = n + 2 * n_types
    d = rng.integers(0, 3000, size=(places, places)).astype(np.int64)
    if rng.random() < 0.3:
        d[rng.integers(0, places), rng.integers(0, places)] = 10_000_000
    np.fill_diagonal(d, 0)
    n_profiles = int(rng.integers(1, 3))
    dists = tuple(d * (1 + p) for p in range(n_profiles))
    durs = tuple(rng.integers(0, 2000, size=(places, places)).astype(np.int64)
                 for _ in range(n_profiles))
    for m in durs:
        np.fill_diagonal(m, 0)
    dims = int(rng.integers(0, 3))
    types = []
    for _ in range(n_types):
        early = int(rng.integers(0, 2 * H)) if rng.random() < 0.5 else 0
        late = INF_TIME if rng.random() < 0.2 else early + int(rng.integers(0, 4 * H))
        types.append(CoreVehicleType(
            start=int(rng.integers(0, places)),
            end=None if rng.random() < 0.3 else int(rng.integers(0, places)),
            capacity=tuple(int(rng.integers(0, 4)) for _ in range(dims)), tw_early=early,
            tw_late=late, count=int(rng.integers(0, 3)),
            profile=int(rng.integers(0, n_profiles))))
    if not any(vt.count for vt in types):
        types[0] = dataclasses.replace(types[0], count=1)
    all_optional = rng.random() < 0.3
    clients = []
    for _ in range(n):
        early, late = 0, INF_TIME
        r = rng.random()
        if r < 0.4:
            early = int(rng.integers(0, 4 * H))
            late = early + int(rng.integers(0, 2 * H))
        elif r < 0.5:
            late = int(rng.integers(0, 600))  # closes before most shifts open
        required = not all_optional and rng.random() < 0.4
        clients.append(CoreClient(
            location=int(rng.integers(0, places)),
            demand=tuple(int(rng.integers(0, 3)) for _ in range(dims)),
            service_s=int(rng.integers(0, 600)), tw_early=early, tw_late=late,
            required=required, prize=0 if required else int(rng.integers(0, 9000))))
    order = [int(k) for k in rng.permutation(n)]
    groups = []
    while len(order) >= 2 and rng.random() < 0.5:
        group, order = tuple(sorted(order[:2])), order[2:]
        for k in group:
            clients[k] = dataclasses.replace(clients[k], required=False,
                                             prize=max(clients[k].prize, 1))
        groups.append(group)
    return CoreInstance(dists, durs, tuple(clients), tuple(types), groups=tuple(groups))


@pytest.mark.parametrize("seed", range(40))
def test_odd_fleets_are_the_brute_force_optimum(seed: int) -> None:
    from routing.core import _solve_fleet_exact

    inst = _odd_fleet(seed)
    opt = _brute(inst)
    found = _solve_fleet_exact(inst)
    if math.isinf(opt):
        assert found is None
        return
    assert found is not None
    objective, routes = found
    assert objective == opt == _objective(inst, tuple(r for r in routes if r.visits))
    used = [r.vehicle_type for r in routes if r.visits]
    assert all(used.count(t) <= inst.vehicle_types[t].count for t in set(used))


def test_a_fleet_too_large_for_the_budget_is_left_to_pyvrp() -> None:
    """Each courier on the road elsewhere is a vehicle type of its own, whose every
    subset of the stops the exact search routes: 8 stops for 40 couriers is ~0.1 s of
    work at the most, run only within half the budget."""
    from routing import LatLon

    rng = np.random.default_rng(5)
    stops = random_stops(8, seed=5)
    couriers = tuple(courier(f"c{i}", start=LatLon(12.245 + float(rng.uniform(-.02, .02)),
                                                   109.194 + float(rng.uniform(-.02, .02))))
                     for i in range(40))
    problem = Problem(OFFICE, stops, couriers)
    assert solve(problem, SolverParams(time_limit_s=0.1, seed=0, workers=1)).method == "pyvrp"
    assert solve(problem, SolverParams(time_limit_s=1.0, seed=0, workers=1)).method == "exact"


# --- tiny problems return at once, whatever the objective ----------------------------------


@pytest.mark.parametrize("case", ["window", "pinned", "two couriers", "open route"])
def test_a_stop_or_three_by_duration_return_long_before_the_budget(case: str) -> None:
    # by duration PyVRP spent the whole budget on these ("1 stop at 30 s takes 30 s")
    import time

    window = TimeWindow(9 * H, 10 * H)
    stops = [stop_near_office("a", 0.002, 0.001, window=window)]
    fleet = [courier("c1")]
    if case == "pinned":
        fleet.append(courier("c2"))
        stops = [dataclasses.replace(stops[0], courier_id="c2")]
    if case == "two couriers":
        fleet.append(courier("c2"))
        stops += [stop_near_office("b", -0.004, 0.002), stop_near_office("c", 0.001, -0.003)]
    if case == "open route":
        fleet = [courier("c1", return_to_office=False)]
        stops.append(stop_near_office("b", -0.004, 0.002))
    t0 = time.monotonic()
    plan = solve(Problem(OFFICE, tuple(stops), tuple(fleet)),
                 SolverParams(time_limit_s=120, objective="duration"))
    assert time.monotonic() - t0 < 20.0  # far from the budget: a stalled CI host is no failure
    assert plan.method == "exact" and not plan.unassigned
