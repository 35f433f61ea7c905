"""solve(): single routes (open/closed), day plans, unassigned reasons."""

from __future__ import annotations

import dataclasses
import itertools
import math
import os
import time

import numpy as np
import pytest

from routing import (
    Capacity,
    CoreClient,
    CoreInstance,
    CoreVehicleType,
    Demand,
    HaversineProvider,
    InfeasibleProblemError,
    LatLon,
    Plan,
    Problem,
    SolverParams,
    Stop,
    TimeWindow,
    UnassignedReason,
    solve,
    solve_core,
)
from routing.core import route_cost

from .conftest import FAST, OFFICE, H, captured_instance, courier, random_stops


def _all_ids(plan: Plan) -> list[str]:
    ids = [v.stop_id for r in plan.routes for v in r.visits]
    return ids + [u.stop_id for u in plan.unassigned]


def test_single_closed_route_uses_fast_tsp(small_problem: Problem) -> None:
    plan = solve(small_problem, FAST)
    assert plan.method == "fast-tsp"
    assert plan.feasible and not plan.unassigned
    (route,) = plan.routes
    assert sorted(route.stop_ids) == sorted(s.id for s in small_problem.stops)
    assert route.returns_to_office
    last = route.visits[-1]
    assert route.end_s > last.departure_s  # return leg
    assert route.start_s == 8 * H
    assert route.parcels == len(small_problem.stops)
    assert route.visits[-1].load_parcels == 0


def test_open_route_is_shorter_and_ends_at_last_stop(small_problem: Problem) -> None:
    closed = solve(small_problem, FAST)
    open_problem = dataclasses.replace(small_problem, couriers=(courier(return_to_office=False),))
    opened = solve(open_problem, FAST)
    (c,), (o,) = closed.routes, opened.routes
    assert not o.returns_to_office
    assert o.end_s == o.visits[-1].departure_s
    assert o.distance_m < c.distance_m
    assert sorted(o.stop_ids) == sorted(c.stop_ids)


def _brute_open(mat: np.ndarray) -> int:
    n = mat.shape[0]
    best = None
    for perm in itertools.permutations(range(1, n)):
        path = (0, *perm)
        cost = int(sum(mat[a, b] for a, b in itertools.pairwise(path)))
        best = cost if best is None or cost < best else best
    assert best is not None
    return best


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_open_tsp_dummy_node_is_optimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 1000, size=(8, 2))
    mat = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))).astype(np.int64)
    inst = CoreInstance(
        (mat,),
        (mat,),
        tuple(CoreClient(location=i) for i in range(1, 8)),
        (CoreVehicleType(start=0, end=None),),
    )
    res = solve_core(inst, time_limit_s=0.2, workers=1)
    assert res.method == "fast-tsp"
    assert res.cost == _brute_open(mat)
    assert route_cost(inst, res.routes[0]) == res.cost


def test_open_route_via_pyvrp_matches_fast_tsp() -> None:
    rng = np.random.default_rng(5)
    xy = rng.uniform(0, 1000, size=(8, 2))
    mat = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))).astype(np.int64)
    inst = CoreInstance(
        (mat,),
        (mat,),
        tuple(CoreClient(location=i) for i in range(1, 8)),
        (CoreVehicleType(start=0, end=None),),
    )
    res = solve_core(inst, time_limit_s=0.3, workers=1, use_tsp_fast_path=False)
    assert res.method == "pyvrp"
    assert res.cost == _brute_open(mat)


def test_day_plan_with_windows_respects_everything() -> None:
    stops = random_stops(40, seed=7, tw_frac=0.3)
    couriers = tuple(courier(f"c{k}", capacity=Capacity(20, 100_000)) for k in range(3))
    problem = Problem(OFFICE, stops, couriers)
    plan = solve(problem, dataclasses.replace(FAST, time_limit_s=0.4))
    assert plan.method == "pyvrp"
    assert plan.feasible
    assert sorted(_all_ids(plan)) == sorted(s.id for s in stops)
    assert not plan.unassigned
    by_id = {s.id: s for s in stops}
    for route in plan.routes:
        assert route.parcels <= 20
        for v in route.visits:
            w = by_id[v.stop_id].window
            if w is not None:
                assert w.open_s <= v.start_s <= w.close_s
            assert v.lateness_s == 0
        assert route.end_s <= 18 * H


@pytest.fixture
def parallel(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start the worker processes whatever the machine load."""
    import routing.core

    monkeypatch.setattr(routing.core, "LOAD_AWARE_WORKERS", False)


@pytest.mark.usefixtures("parallel")
def test_parallel_workers_and_progress_callback() -> None:
    stops = random_stops(30, seed=11, tw_frac=0.4)
    problem = Problem(OFFICE, stops, (courier("a"), courier("b")))
    seen: list[tuple[float, float]] = []
    plan = solve(
        problem,
        SolverParams(time_limit_s=0.4, seed=3, workers=2),
        progress=lambda cost, elapsed: seen.append((cost, elapsed)),
    )
    assert plan.feasible and not plan.unassigned
    assert seen, "progress callback never called"
    finite = [c for c, _ in seen if c != float("inf")]
    assert finite and finite == sorted(finite, reverse=True)  # best cost never increases
    assert all(0 <= e <= 1.0 for _, e in seen)
    assert plan.runtime_s < 1.5


def test_unassigned_reasons() -> None:
    loc = LatLon(12.25, 109.19)
    stops = (
        Stop("early", loc, window=TimeWindow(6 * H, 7 * H)),
        Stop("late", loc, window=TimeWindow(19 * H, 20 * H)),
        Stop("huge", loc, demand=Demand(500, 0)),
        Stop("hanoi", LatLon(21.0285, 105.8542)),
        Stop("ok", loc),
    )
    plan = solve(Problem(OFFICE, stops, (courier(),)), FAST)
    reasons = {u.stop_id: u.reason for u in plan.unassigned}
    assert reasons == {
        "early": UnassignedReason.WINDOW_BEFORE_SHIFTS,
        "late": UnassignedReason.WINDOW_AFTER_SHIFTS,
        "huge": UnassignedReason.DEMAND_EXCEEDS_CAPACITY,
        "hanoi": UnassignedReason.NOT_REACHABLE,
    }
    assert plan.routes[0].stop_ids == ("ok",)
    msgs = {u.stop_id: u.message for u in plan.unassigned}
    assert msgs["early"] == "time window closes before any shift starts"
    assert msgs["huge"] == "demand exceeds every courier's capacity"
    assert msgs["hanoi"] == "not reachable within shift"


def test_unassigned_reasons_count_only_couriers_who_can_carry_the_stop() -> None:
    # a 50 kg parcel whose window only the motorbikes' shifts meet (the van's starts at 9,
    # ends at 15) was "not reachable within shift", as if it were too far: the bikes
    # could reach it in time but not carry it, the van could carry it but not in time
    loc = LatLon(12.25, 109.19)
    bike = Capacity(30, 20_000)
    couriers = (
        courier("bike_early", shift=TimeWindow(6 * H, 12 * H), capacity=bike),
        courier("van", shift=TimeWindow(9 * H, 15 * H)),
        courier("bike_late", shift=TimeWindow(12 * H, 20 * H), capacity=bike),
    )
    heavy, too_heavy = Demand(1, 50_000), Demand(1, 500_000)
    stops = (
        Stop("dawn", loc, demand=heavy, window=TimeWindow(7 * H, 8 * H)),
        Stop("dusk", loc, demand=heavy, window=TimeWindow(17 * H, 18 * H)),
        # pinned to the van: the bikes do not count at all
        Stop("dawn_van", loc, demand=heavy, window=TimeWindow(7 * H, 8 * H), courier_id="van"),
        Stop("night", loc, demand=heavy, window=TimeWindow(5 * H, 5 * H + 1800)),
        Stop("late_night", loc, demand=heavy, window=TimeWindow(21 * H, 22 * H)),
        Stop("piano", loc, demand=too_heavy, window=TimeWindow(7 * H, 8 * H)),
        Stop("hanoi", LatLon(21.0285, 105.8542), demand=heavy),
        Stop("noon", loc, demand=heavy, window=TimeWindow(10 * H, 11 * H)),
        Stop("light_dawn", loc, window=TimeWindow(7 * H, 8 * H)),
    )
    plan = solve(Problem(OFFICE, stops, couriers), FAST)
    reasons = {u.stop_id: u.reason for u in plan.unassigned}
    assert reasons == {
        "dawn": UnassignedReason.DEMAND_EXCEEDS_CAPACITY_IN_TIME,
        "dusk": UnassignedReason.DEMAND_EXCEEDS_CAPACITY_IN_TIME,
        "dawn_van": UnassignedReason.WINDOW_BEFORE_SHIFTS,
        "night": UnassignedReason.WINDOW_BEFORE_SHIFTS,
        "late_night": UnassignedReason.WINDOW_AFTER_SHIFTS,
        "piano": UnassignedReason.DEMAND_EXCEEDS_CAPACITY,  # whatever the window
        "hanoi": UnassignedReason.NOT_REACHABLE,  # nobody reaches it, whatever they carry
    }
    msgs = {u.stop_id: u.message for u in plan.unassigned}
    assert msgs["dawn"] == "demand exceeds the capacity of every courier who can serve it in time"
    assert plan.couriers_of_stops() == {"noon": "van", "light_dawn": "bike_early"}


def test_no_capacity_left_keeps_high_priority() -> None:
    stops = list(random_stops(8, seed=2))
    stops[3] = dataclasses.replace(stops[3], priority=1)
    stops[6] = dataclasses.replace(stops[6], priority=1)
    problem = Problem(OFFICE, tuple(stops), (courier(capacity=Capacity(5, 100_000)),))
    plan = solve(problem, FAST)
    assert plan.routes[0].parcels == 5
    assert {"s3", "s6"} <= set(plan.routes[0].stop_ids)
    assert len(plan.unassigned) == 3
    assert {u.reason for u in plan.unassigned} == {UnassignedReason.NO_CAPACITY_LEFT}


def test_no_time_left() -> None:
    w = TimeWindow(9 * H, 9 * H + 600)
    stops = tuple(
        Stop(f"t{i}", LatLon(12.246 + i * 1e-4, 109.194), service_s=900, window=w) for i in range(4)
    )
    plan = solve(Problem(OFFICE, stops, (courier(),)), FAST)
    assert len(plan.routes[0].visits) == 1
    assert {u.reason for u in plan.unassigned} == {UnassignedReason.NO_TIME_LEFT}
    assert plan.feasible


def test_pinned_stops_go_to_their_courier() -> None:
    stops = list(random_stops(16, seed=4))
    for i in (0, 5, 9):
        stops[i] = dataclasses.replace(stops[i], courier_id="b")
    stops[2] = dataclasses.replace(stops[2], courier_id="a")
    problem = Problem(OFFICE, tuple(stops), (courier("a"), courier("b")))
    plan = solve(problem, dataclasses.replace(FAST, use_tsp_fast_path=False))
    assert not plan.unassigned
    routes = {r.courier_id: set(r.stop_ids) for r in plan.routes}
    assert {"s0", "s5", "s9"} <= routes["b"]
    assert "s2" in routes["a"]


def test_pinned_to_courier_without_room_is_reported() -> None:
    stop = Stop("x", LatLon(12.25, 109.19), demand=Demand(3, 0), courier_id="small")
    problem = Problem(
        OFFICE, (stop,), (courier("small", capacity=Capacity(2, 10_000)), courier("big"))
    )
    plan = solve(problem, FAST)
    assert plan.unassigned[0].reason == UnassignedReason.DEMAND_EXCEEDS_CAPACITY


def test_gps_start_position() -> None:
    start = LatLon(12.27, 109.20)
    stops = random_stops(6, seed=9)
    problem = Problem(OFFICE, stops, (courier(start=start),))
    provider = HaversineProvider(radius_m=6_371_008.8)
    plan = solve(problem, FAST, provider=provider)
    first = plan.routes[0].visits[0]
    loc = next(s.location for s in stops if s.id == first.stop_id)
    m = provider.matrix([start, loc])
    assert first.travel_distance_m == m.distance_m[0, 1]
    assert first.arrival_s == 8 * H + m.duration_s[0, 1]


def test_no_couriers_is_infeasible() -> None:
    with pytest.raises(InfeasibleProblemError):
        solve(Problem(OFFICE, random_stops(2), ()), FAST)
    with pytest.raises(InfeasibleProblemError):
        solve(Problem(OFFICE, (), ()), FAST)


def test_empty_stops_gives_empty_plan() -> None:
    plan = solve(Problem(OFFICE, (), (courier(),)), FAST)
    assert plan.routes == () and plan.unassigned == () and plan.feasible


def test_warm_start_from_previous_plan() -> None:
    stops = random_stops(25, seed=12, tw_frac=0.3)
    problem = Problem(OFFICE, stops, (courier("a"), courier("b")))
    first = solve(problem, FAST)
    again = solve(problem, dataclasses.replace(FAST, time_limit_s=0.1), initial=first)
    assert again.feasible and not again.unassigned
    # the warm start is a feasible solution of the same objective: never worse
    assert again.travel_s <= first.travel_s * 1.001 + 1


def test_distance_objective() -> None:
    stops = random_stops(15, seed=8, tw_frac=0.5)
    problem = Problem(OFFICE, stops, (courier(),))
    plan = solve(problem, dataclasses.replace(FAST, objective="distance"))
    assert plan.feasible and plan.distance_m > 0


class _Cancelled(Exception):
    pass


@pytest.mark.usefixtures("parallel")
def test_progress_callback_exception_cancels_quickly() -> None:
    stops = random_stops(30, seed=13, tw_frac=0.4)
    problem = Problem(OFFICE, stops, (courier("a"), courier("b")))

    def cancel(cost: float, elapsed: float) -> None:
        raise _Cancelled

    t = time.monotonic()
    with pytest.raises(_Cancelled):
        solve(problem, SolverParams(time_limit_s=60.0, workers=2), progress=cancel)
    assert time.monotonic() - t < 15.0  # far from the budget: a stalled CI host is no failure


@pytest.mark.parametrize(
    ("couriers", "free", "workers", "expected"),
    [
        (2, 2.0, 2, 2),  # idle machine: parallel
        (2, 1.6, 2, 2),
        (2, 1.0, 2, 1),  # one core busy elsewhere: one deep search
        (2, -1.5, 4, 1),  # overloaded: still one
        (2, 3.0, 4, 3),
        (1, 0.0, 2, 2),  # single route: multi-start kept
        (2, 0.0, 1, 1),
    ],
)
def test_effective_workers_follow_free_cores(
    monkeypatch: pytest.MonkeyPatch, couriers: int, free: float, workers: int, expected: int
) -> None:
    import routing.core

    monkeypatch.setattr(routing.core, "_free_cores", lambda: free)
    inst = CoreInstance(
        distances=(np.zeros((2, 2), dtype=np.int64),),
        durations=(np.zeros((2, 2), dtype=np.int64),),
        clients=(CoreClient(location=1),),
        vehicle_types=(CoreVehicleType(start=0, end=0, count=couriers),),
    )
    assert routing.core.effective_workers(inst, workers) == expected


def test_free_cores_is_bounded_by_affinity() -> None:
    import routing.core

    assert routing.core._free_cores() <= (os.cpu_count() or 1)


def test_other_runnable_sees_busy_processes() -> None:
    """The free-core estimate looks at what runs now: busy processes count."""
    import subprocess
    import sys
    import time

    import routing.core

    if routing.core._other_runnable() is None:
        pytest.skip("no /proc/loadavg")
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        time.sleep(0.3)
        assert routing.core._other_runnable() >= 1.0
    finally:
        for p in busy:
            p.kill()
            p.wait()


@pytest.mark.parametrize(
    ("preferred", "others", "alternatives"),
    [(("a", "b"), ("c",), ("b",)), (("a",), ("b",), ()), (("a", "b"), (), ()),
     (("a", "b", "c"), (), ("b", "c")), (("b", "a", "a"), ("c",), ("b",))],
)
def test_preferences_beyond_the_matrix_memory_are_alternatives(
    monkeypatch: pytest.MonkeyPatch, preferred: tuple[str, ...], others: tuple[str, ...],
    alternatives: tuple[str, ...],
) -> None:
    import routing.solver

    # 6 stops + office (+1): 8 x 8 int64 distance and duration = 1 024 bytes a profile;
    # room for two: the courier most stops prefer (the first by name of equals) and
    # the one the others share, whose preferring stops are alternatives instead
    monkeypatch.setattr(routing.solver, "MATRIX_MEMORY_BUDGET", 2 * 1_024)
    stops = list(random_stops(6, seed=1))
    for n, cid in enumerate(preferred):
        stops[n] = dataclasses.replace(stops[n], preferred_courier=cid)
    couriers = tuple(courier(c) for c in dict.fromkeys(preferred + others))
    problem = Problem(OFFICE, tuple(stops), couriers, move_cost_m=500)
    inst = captured_instance(monkeypatch, problem)
    grouped = [n for n, cid in enumerate(preferred) if cid in alternatives]
    assert [k for k, _ in inst.groups] == grouped
    assert len(inst.clients) == len(stops) + len(grouped)
    assert len(inst.distances) == 2
    monkeypatch.setattr(routing.solver, "MATRIX_MEMORY_BUDGET", 2 * 1_024)
    plan = solve(problem, FAST)
    assert not plan.unassigned
    assert sorted(s for r in plan.routes for s in r.stop_ids) == sorted(s.id for s in stops)
    # the same couriers with pins instead of preferences need no matrices of their own
    pinned = dataclasses.replace(problem, stops=tuple(
        dataclasses.replace(s, courier_id=s.preferred_courier, preferred_courier=None)
        for s in problem.stops))
    plan = solve(pinned, FAST)
    assert not plan.unassigned
    on = plan.couriers_of_stops()
    assert all(on[s.id] == s.courier_id for s in pinned.stops if s.courier_id)


def test_progress_reports_infinity_until_a_feasible_plan_is_known() -> None:
    # documented: best_cost is math.inf until a feasible solution is known. PyVRP scores
    # an infeasible solution with its largest cost (2**63 - 1), which was passed on as
    # is: a job showed a "best distance so far" of 9.2e18 m
    rng = np.random.default_rng(5)
    stops = tuple(
        Stop(f"s{i}", LatLon(12.2 + float(rng.random()) * 0.1, 109.15 + float(rng.random()) * 0.1),
             window=TimeWindow(o, o + 600))
        for i, o in enumerate(int(h) * H for h in rng.integers(8, 16, 40)))
    problem = Problem(OFFICE, stops, (courier("c1"), courier("c2")))
    seen: list[float] = []
    solve(problem, dataclasses.replace(FAST, time_limit_s=1.0),
          progress=lambda best, _elapsed: seen.append(best))
    assert seen
    assert all(b == math.inf or b < 1e12 for b in seen), sorted(set(seen))[-3:]


def test_arguments_of_the_wrong_type_are_a_clear_type_error():
    """A dict where a Problem belongs (the shape Problem.from_dict reads) used to fail
    deep inside with AttributeError: 'dict' object has no attribute 'stops'."""
    from routing import reoptimize
    from routing.evaluate import evaluate

    problem = Problem(office=OFFICE, stops=random_stops(3, seed=1), couriers=(courier("a"),))
    as_dict = {"office": {"location": {"lat": 12.2, "lon": 109.2}}, "stops": [], "couriers": []}
    calls = [
        lambda: solve(as_dict),
        lambda: solve(problem, {"time_limit_s": 1}),
        lambda: solve(problem, FAST, provider="haversine"),
        lambda: solve(problem, FAST, initial=[["s0", "s1"]]),  # was an AttributeError
        lambda: evaluate(as_dict, {}),
        lambda: evaluate(problem, [("a", [])]),
        lambda: reoptimize(as_dict, "a", LatLon(12.2, 109.2), (), now_s=0),
    ]
    for call in calls:
        with pytest.raises(TypeError, match=r"must be a"):
            call()


def test_a_warm_start_keeps_each_route_with_its_courier() -> None:
    """Couriers alike (same start, shift, capacity, speed) share one vehicle type in the
    search, which does not know which of them drives which route: a re-plan warm-started
    from yesterday's routes must give each route back to the courier who had it, not to
    whichever courier of the type comes first (a dispatcher's re-plan would otherwise
    swap the couriers' rounds)."""
    stops = random_stops(30, seed=3)
    problem = Problem(
        OFFICE, stops, tuple(courier(c, capacity=Capacity(11, 200_000)) for c in "abc")
    )
    first = solve(problem, FAST)
    assert len(first.routes) == 3
    # the same routes, each given to another courier
    names = [r.courier_id for r in first.routes]
    rotated = {names[(n + 1) % 3]: r.stop_ids for n, r in enumerate(first.routes)}
    again = solve(problem, dataclasses.replace(FAST, time_limit_s=0.1), initial=rotated)
    assert again.feasible and not again.unassigned
    for route in again.routes:
        kept = set(route.stop_ids) & set(rotated[route.courier_id])
        assert len(kept) >= len(route.stop_ids) // 2, (route.courier_id, route.stop_ids)


@pytest.mark.parametrize(
    "initial",
    [
        {"a": ["s1", "s2", "s3"], "b": ["s3", "s4", "s1"]},  # a stop on two routes
        {"a": ["s1", "s1", "s2"]},  # twice on one
        {"a": ["nowhere", "s1"], "nobody": ["s2"]},  # unknown stop and courier
        {"a": ["s0", "s1"]},  # s0 is pinned to b
        {"a": [f"s{i}" for i in range(1, 20)]},  # over a's capacity
        {"a": [], "b": []},
    ],
    ids=["shared", "twice", "unknown", "pinned-elsewhere", "over-capacity", "empty"],
)
@pytest.mark.parametrize("n_couriers", [1, 2])
def test_a_stale_or_infeasible_warm_start_never_fails_the_solve(
    initial: dict[str, list[str]], n_couriers: int
) -> None:
    """A warm start is a hint: one naming stops or couriers no longer in the problem,
    visiting a stop twice or breaking a capacity or a pin still gives a complete plan
    (every stop routed or unassigned once, pins kept)."""
    stops = random_stops(20, seed=5, tw_frac=0.3)
    couriers = (courier("a", capacity=Capacity(10, 200_000)), courier("b"))[:n_couriers]
    if n_couriers == 2:
        stops = (dataclasses.replace(stops[0], courier_id="b"), *stops[1:])
    problem = Problem(OFFICE, stops, couriers)
    plan = solve(problem, FAST, initial=initial)
    assert sorted(_all_ids(plan)) == sorted(s.id for s in stops)
    if n_couriers == 2:
        assert plan.route_of("a") is None or "s0" not in plan.route_of("a").stop_ids
