"""The compiled single-route time-window search (routing.tsptw) and its wiring."""

from __future__ import annotations

import dataclasses
import itertools
import logging

import numpy as np
import pytest

from routing import Capacity, Problem, SolverParams, Stop, TimeWindow, solve
from routing.core import CoreClient, CoreInstance, CoreVehicleType, solve_core
from routing.tsptw import BIG_TIME, ILSParams, TsptwInstance, solve_tsptw, warm_up

from .conftest import OFFICE, courier, random_stops

H = 3600


@pytest.fixture(scope="module", autouse=True)
def _compiled() -> None:
    warm_up()  # compiles once per process (or loads the numba cache)


def _simulate(inst: TsptwInstance, order: list[int]) -> tuple[bool, int]:
    """Independent schedule check: leave at the shift open, wait when early."""
    t = int(inst.early[0])
    prev, dist, ok = 0, 0, True
    for v in [*order, inst.n + 1]:
        t = max(t + int(inst.dur[prev, v]), int(inst.early[v]))
        ok = ok and t <= int(inst.late[v])
        t += int(inst.service[v])
        dist += int(inst.dist[prev, v])
        prev = v
    return ok, dist


def _random_instance(
    n: int, seed: int, *, open_route: bool = False, asymmetric: bool = False, tight: float = 1.0
) -> TsptwInstance:
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 3000, size=(n + 2, 2))
    xy[n + 1] = xy[0]
    d = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))).astype(np.int64)
    if asymmetric:
        d = d + rng.integers(0, 300, size=d.shape)
        np.fill_diagonal(d, 0)
    dur = np.rint(d / 6.0).astype(np.int64)  # ~22 km/h
    if open_route:
        d[:, n + 1] = 0
        dur[:, n + 1] = 0
    early = np.zeros(n + 2, dtype=np.int64)
    late = np.full(n + 2, BIG_TIME, dtype=np.int64)
    early[0], late[0] = 0, int(3000 * tight)
    early[n + 1], late[n + 1] = 0, int(3000 * tight)
    for v in range(1, n + 1):
        if rng.random() < 0.5:
            o = int(rng.integers(0, int(2000 * tight)))
            early[v], late[v] = o, o + int(rng.integers(200, 900) * tight)
    service = np.zeros(n + 2, dtype=np.int64)
    service[1 : n + 1] = rng.integers(10, 120, size=n)
    return TsptwInstance(d, dur, early, late, service)


def _brute(inst: TsptwInstance) -> int | None:
    best = None
    for perm in itertools.permutations(range(1, inst.n + 1)):
        ok, dist = _simulate(inst, list(perm))
        if ok and (best is None or dist < best):
            best = dist
    return best


@pytest.mark.parametrize("method", ["anneal", "ils"])
@pytest.mark.parametrize("open_route", [False, True])
@pytest.mark.parametrize("asymmetric", [False, True])
def test_matches_brute_force_on_small_instances(
    open_route: bool, asymmetric: bool, method: str
) -> None:
    checked = 0
    for seed in range(12):
        n = 4 + seed % 4  # 4..7 stops
        inst = _random_instance(n, seed, open_route=open_route, asymmetric=asymmetric)
        opt = _brute(inst)
        res = solve_tsptw(
            inst,
            deadline=None,
            seed=seed,
            max_iterations=300,
            params=ILSParams(method=method),
        )
        if opt is None:
            assert res is None
            continue
        assert res is not None, f"seed {seed}: feasible ({opt}) but nothing found"
        assert sorted(res.order) == list(range(1, n + 1))
        ok, dist = _simulate(inst, list(res.order))
        assert ok
        assert dist == res.cost
        assert dist == opt, f"seed {seed}: {dist} vs optimum {opt}"
        checked += 1
    assert checked >= 8  # most random instances are feasible


def test_infeasible_instance_returns_none() -> None:
    inst = _random_instance(6, 3)
    late = inst.late.copy()
    late[1] = 0  # window closes before anyone can get there
    early = inst.early.copy()
    early[1] = 0
    bad = dataclasses.replace(inst, early=early, late=late)
    assert solve_tsptw(bad, deadline=None, seed=0, max_iterations=50) is None


def test_deterministic_for_fixed_seed_and_iterations() -> None:
    # many compiled calls: without a deadline their sizes (and so the cooling
    # steps) must not depend on how fast the machine is
    inst = _random_instance(40, 11, tight=8.0)
    a = solve_tsptw(inst, deadline=None, seed=5, max_iterations=3000)
    b = solve_tsptw(inst, deadline=None, seed=5, max_iterations=3000)
    assert a is not None and b is not None
    assert a.order == b.order and a.cost == b.cost
    ok, dist = _simulate(inst, list(a.order))
    assert ok and dist == a.cost


def test_warm_start_is_kept_when_feasible() -> None:
    inst = _random_instance(30, 2, tight=8.0)
    first = solve_tsptw(inst, deadline=None, seed=1, max_iterations=300)
    assert first is not None
    again = solve_tsptw(
        inst,
        deadline=None,
        seed=9,
        max_iterations=1,
        initial=first.order,
        params=ILSParams(threshold_start=0.0),
    )
    assert again is not None and again.cost <= first.cost


def _core_single(
    n: int, seed: int, *, objective: str = "distance", vehicles: int = 1
) -> CoreInstance:
    inst = _random_instance(n, seed, tight=8.0)
    mat = inst.dist[: n + 1, : n + 1]
    dur = inst.dur[: n + 1, : n + 1]
    clients = tuple(
        CoreClient(
            location=v,
            demand=(1,),
            service_s=int(inst.service[v]),
            tw_early=int(inst.early[v]),
            tw_late=int(min(inst.late[v], 2**62)),
            required=False,
            prize=100_000,
        )
        for v in range(1, n + 1)
    )
    vt = CoreVehicleType(
        start=0, end=0, capacity=(n,), tw_early=0, tw_late=int(inst.late[0]), count=vehicles
    )
    return CoreInstance((mat,), (dur,), clients, (vt,), objective=objective)  # type: ignore[arg-type]


def test_solve_core_uses_the_ils_for_one_route_with_windows() -> None:
    inst = _core_single(25, 4)
    res = solve_core(inst, time_limit_s=0.3, seed=0, workers=2)
    assert res.method == "tsptw-ils"
    assert res.feasible
    (route,) = res.routes
    assert sorted(route.visits) == list(range(25))


@pytest.mark.parametrize(
    ("kw", "fast"),
    [({"objective": "duration"}, True), ({"vehicles": 2}, True), ({}, False)],
)
def test_solve_core_keeps_pyvrp_elsewhere(kw: dict[str, object], fast: bool) -> None:
    inst = _core_single(12, 4, **kw)  # type: ignore[arg-type]
    res = solve_core(inst, time_limit_s=0.2, seed=0, workers=1, use_tsp_fast_path=fast)
    assert res.method == "pyvrp"


def test_day_plan_through_solve_is_feasible_with_consistent_etas() -> None:
    stops = random_stops(60, seed=21, tw_frac=0.3)
    problem = Problem(OFFICE, stops, (courier("c0", capacity=Capacity(500, 10_000_000)),))
    plan = solve(problem, SolverParams(time_limit_s=0.5, seed=3))
    assert plan.method == "tsptw-ils"
    assert plan.feasible and not plan.unassigned
    (route,) = plan.routes
    assert sorted(route.stop_ids) == sorted(s.id for s in stops)
    by_id = {s.id: s for s in stops}
    prev_departure = route.start_s
    for v in route.visits:
        w = by_id[v.stop_id].window
        assert v.arrival_s == prev_departure + v.travel_duration_s
        assert v.start_s == max(v.arrival_s, w.open_s if w else 0)
        if w is not None:
            assert w.open_s <= v.start_s <= w.close_s
        prev_departure = v.departure_s
    assert route.end_s <= problem.couriers[0].shift.close_s


def _record_tsptw_costs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, ...]]:
    """Make ``routing.core._solve_tsptw`` append each call's per-run costs to the
    returned list (one entry per phase and worker; inf = no feasible route)."""
    import routing.core as core

    seen: list[tuple[float, ...]] = []
    real = core._solve_tsptw

    def spy(*args: object, **kw: object) -> object:
        route, costs = real(*args, **kw)  # type: ignore[arg-type]
        seen.append(costs)
        return route, costs

    monkeypatch.setattr(core, "_solve_tsptw", spy)
    return seen


def _unservable_problem() -> tuple[Problem, list[Stop]]:
    stops = list(random_stops(20, seed=5, tw_frac=0.0))
    # two stops whose windows cannot both be met (far apart, same minute)
    stops[0] = dataclasses.replace(stops[0], window=TimeWindow(9 * H, 9 * H + 60))
    stops[1] = dataclasses.replace(
        stops[1],
        location=dataclasses.replace(stops[1].location, lat=stops[1].location.lat + 0.05),
        window=TimeWindow(9 * H, 9 * H + 60),
    )
    problem = Problem(OFFICE, tuple(stops), (courier("c0", capacity=Capacity(500, 10_000_000)),))
    return problem, stops


def test_unservable_stop_falls_back_to_pyvrp(caplog: pytest.LogCaptureFixture) -> None:
    problem, stops = _unservable_problem()
    with caplog.at_level(logging.INFO, logger="routing.core"):
        plan = solve(problem, SolverParams(time_limit_s=0.6, seed=0))
    assert plan.method == "pyvrp"
    assert "no feasible route" in caplog.text
    assert plan.feasible
    assert len(plan.unassigned) == 1
    assert {u.stop_id for u in plan.unassigned} <= {stops[0].id, stops[1].id}


@pytest.mark.parametrize("required_min_s", [5.0, 0.1])
def test_after_the_ils_finds_no_complete_route_little_time_goes_to_the_optional_model(
    monkeypatch: pytest.MonkeyPatch, models_built: list[bool], required_min_s: float
) -> None:
    # with less than FALLBACK_REQUIRED_MIN_S left, PyVRP does not look for a route with
    # every stop again (its all-required phase): it chooses what to leave out from the
    # start. With more left (here: the threshold lowered), it looks first
    import routing.core

    monkeypatch.setattr(routing.core, "FALLBACK_REQUIRED_MIN_S", required_min_s)
    problem, stops = _unservable_problem()
    plan = solve(problem, SolverParams(time_limit_s=1.0, seed=0, workers=1))
    assert plan.method == "pyvrp" and plan.feasible
    assert len(plan.unassigned) == 1
    assert {u.stop_id for u in plan.unassigned} <= {stops[0].id, stops[1].id}
    # PyVRP gets what the search leaves: ~70 % of the 1 s (it gives up after 30 %)
    left = 1.0 * (1 - routing.core.TSPTW_GIVE_UP_SHARE)
    assert models_built and (True in models_built) == (required_min_s < left)


def test_the_fallback_after_the_ils_looks_for_a_complete_route_with_every_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a day near its shifts' bound hedges PyVRP's phase 1 (one process requires every
    # stop, the other not), but not after the single-route search: there both
    # processes requiring every stop found complete routes more often (session 20)
    import routing.core

    monkeypatch.setattr(routing.core, "FALLBACK_REQUIRED_MIN_S", 0.1)
    monkeypatch.setattr(routing.core, "HEDGE_SHIFT_USE", 0.0)  # every day near the bound
    monkeypatch.setattr(routing.core, "LOAD_AWARE_WORKERS", False)
    required: list[bool] = []
    real = routing.core._parallel

    def spy(pool: object, data: object, *args: object, **kw: object) -> object:
        shipped = kw.get("worker_data") or data  # a model, or one a forked worker builds
        required.append(shipped.all_required if isinstance(shipped, routing.core._Model)
                        else all(c.required for c in shipped.clients()))  # type: ignore[attr-defined]
        return real(pool, data, *args, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(routing.core, "_parallel", spy)
    problem, stops = _unservable_problem()
    plan = solve(problem, SolverParams(time_limit_s=1.0, seed=0, workers=2))
    assert plan.method == "pyvrp" and plan.feasible and len(plan.unassigned) == 1
    assert required == [True, False]  # phase 1's workers required every stop; then not


def test_without_a_feasible_route_fresh_phases_run_until_the_give_up_share(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import routing.core as core

    monkeypatch.setattr(core, "TSPTW_ROUND_S", 0.1)  # 1 s: 10 rounds, 20 phases
    seen = _record_tsptw_costs(monkeypatch)
    problem, _ = _unservable_problem()
    plan = solve(problem, SolverParams(time_limit_s=1.0, seed=0, workers=1))
    assert plan.method == "pyvrp" and len(plan.unassigned) == 1
    # more than the first phase tried, and PyVRP still got most of the budget
    assert len(seen) == 1 and all(c == float("inf") for c in seen[0])
    assert 2 <= len(seen[0]) < 20


def test_a_shift_too_short_for_the_stops_goes_to_pyvrp_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # a courier re-optimising at 15:00 with 30 stops of 12 min left and the shift ending
    # at 18:00: no route serves them all, and the ILS (which only looks for one) would
    # spend 30 % of the budget finding none before PyVRP drops stops
    seen = _record_tsptw_costs(monkeypatch)
    stops = tuple(dataclasses.replace(s, service_s=12 * 60)
                  for s in random_stops(30, seed=5, tw_frac=0.3))
    late = courier("c0", capacity=Capacity(500, 10_000_000), shift=TimeWindow(15 * H, 18 * H))
    plan = solve(Problem(OFFICE, stops, (late,)), SolverParams(time_limit_s=0.6, seed=0))
    assert seen == [] and plan.method == "pyvrp"
    assert plan.feasible and 30 - 15 <= len(plan.unassigned) < 30
    # with a day's shift the same stops fit, and the ILS plans them
    day = courier("c0", capacity=Capacity(500, 10_000_000), shift=TimeWindow(7 * H, 19 * H))
    plan = solve(Problem(OFFICE, stops, (day,)), SolverParams(time_limit_s=0.6, seed=0))
    assert len(seen) == 1 and plan.method == "tsptw-ils" and not plan.unassigned


def test_progress_runs_on_when_the_ils_hands_over_to_pyvrp() -> None:
    # solve_core restarted its clock when the ILS gave up: PyVRP's reports started again
    # from 0 s, so a plan job's progress went backwards (and only PyVRP's share counted)
    from routing.core import TSPTW_GIVE_UP_SHARE

    problem, _ = _unservable_problem()
    seen: list[float] = []
    plan = solve(problem, SolverParams(time_limit_s=1.5, seed=0, workers=1),
                 progress=lambda _cost, elapsed: seen.append(elapsed))
    assert plan.method == "pyvrp"  # the ILS found no route with every stop
    assert len(seen) >= 2
    assert seen == sorted(seen)
    # the ILS gave up only after 30 % of the budget: PyVRP's last report comes after
    assert seen[-1] >= TSPTW_GIVE_UP_SHARE * 1.5


def test_progress_counts_the_time_before_the_search() -> None:
    # the elapsed time was counted from the start of the search, not of solve():
    # building the travel matrix (slow with a road-network provider) was left out
    import time

    from routing import HaversineProvider

    class Slow(HaversineProvider):
        def matrix(self, *args, **kw):  # type: ignore[no-untyped-def]
            time.sleep(0.4)
            return super().matrix(*args, **kw)

    problem, _ = _unservable_problem()
    seen: list[float] = []
    solve(problem, SolverParams(time_limit_s=1.0, seed=0, workers=1), provider=Slow(),
          progress=lambda _cost, elapsed: seen.append(elapsed))
    assert seen and seen[0] >= 0.4
    assert seen == sorted(seen)


def test_unusable_numba_falls_back_to_pyvrp(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    import routing

    monkeypatch.delattr(routing, "tsptw", raising=False)
    monkeypatch.setitem(sys.modules, "routing.tsptw", None)  # import fails
    res = solve_core(_core_single(10, 4), time_limit_s=0.2, seed=0, workers=1)
    assert res.method == "pyvrp"
    assert res.feasible


def test_public_warm_up_is_cheap_once_loaded() -> None:
    import routing

    routing.warm_up()
    assert routing.warm_up() < 0.5  # already in this process: nothing to do


def test_progress_and_cancellation_on_the_ils_path() -> None:
    import time

    inst = _core_single(40, 6)
    seen: list[tuple[float, float]] = []
    res = solve_core(
        inst, time_limit_s=0.6, seed=0, workers=2, progress=lambda c, t: seen.append((c, t))
    )
    assert res.method == "tsptw-ils"
    assert seen and all(b[0] <= a[0] for a, b in zip(seen, seen[1:], strict=False))
    assert seen[-1][0] >= res.cost  # the reported best is the main process's

    class Stop(Exception):
        pass

    def cancel(cost: float, elapsed: float) -> None:
        if elapsed > 0.3:
            raise Stop

    t = time.monotonic()
    with pytest.raises(Stop):
        solve_core(inst, time_limit_s=60.0, seed=0, workers=2, progress=cancel)
    assert time.monotonic() - t < 15.0  # far from the budget: a stalled CI host is no failure


def test_progress_beats_and_cancels_while_no_feasible_route_is_known() -> None:
    # the ILS called the progress hook only once it had a feasible route: on tight
    # windows a plan job got no heartbeat for seconds (marked stale at large budgets)
    # and a cancel waited for that phase to end
    import math
    import time

    inst = _core_single(20, 5)
    far = max(range(20), key=lambda c: int(inst.durations[0][0, inst.clients[c].location]))
    clients = list(inst.clients)  # a window that closes before anyone can get there
    clients[far] = dataclasses.replace(clients[far], tw_early=0, tw_late=0, required=True)
    inst = dataclasses.replace(inst, clients=tuple(clients))
    seen: list[tuple[float, float]] = []

    class Stop(Exception):
        pass

    def beat(cost: float, elapsed: float) -> None:
        seen.append((cost, time.monotonic() - t))
        if elapsed > 0.6:
            raise Stop

    t = time.monotonic()
    with pytest.raises(Stop):  # 30 % of 60 s in the ILS before PyVRP would report
        solve_core(inst, time_limit_s=60.0, seed=0, workers=1, progress=beat)
    # loose bounds (a loaded CI machine): without the beats, the first report and so
    # the cancel came after the ILS gave up, 18 s in
    assert time.monotonic() - t < 10.0
    assert all(math.isinf(c) for c, _ in seen)  # best cost inf: none feasible yet
    beats = [0.0] + [s for _, s in seen]
    assert max(b - a for a, b in zip(beats, beats[1:], strict=False)) < 1.0


@pytest.mark.parametrize("open_route", [False, True])
def test_reverse_kick_keeps_the_best_feasible_route(open_route: bool) -> None:
    inst = _random_instance(30, 8, open_route=open_route, tight=8.0)
    res = solve_tsptw(
        inst,
        deadline=None,
        seed=2,
        max_iterations=600,
        params=ILSParams(method="ils", reverse_kick=40),
    )
    assert res is not None and sorted(res.order) == list(range(1, 31))
    ok, dist = _simulate(inst, list(res.order))
    assert ok and dist == res.cost


@pytest.mark.parametrize("open_route", [False, True])
def test_annealing_keeps_every_route_feasible_on_tight_windows(open_route: bool) -> None:
    # tight=2.5: many windows bind, so most removals have stops that fit back
    # in only a few places
    checked = 0
    for seed in range(6):
        inst = _random_instance(25, 40 + seed, open_route=open_route, tight=2.5)
        res = solve_tsptw(inst, deadline=None, seed=seed, max_iterations=3000)
        if res is None:
            continue
        assert sorted(res.order) == list(range(1, 26))
        ok, dist = _simulate(inst, list(res.order))
        assert ok and dist == res.cost
        assert res.scale > 0  # the annealing ran, not only the start's descent
        checked += 1
    assert checked >= 3


def test_annealing_beats_its_start_and_a_continuation_never_loses_it() -> None:
    inst = _random_instance(60, 3, tight=8.0)
    start = solve_tsptw(inst, deadline=None, seed=4, max_iterations=1)  # ~ the start
    first = solve_tsptw(inst, deadline=None, seed=4, max_iterations=4000, schedule=(0.0, 0.5))
    assert start is not None and first is not None
    assert first.cost < start.cost
    more = solve_tsptw(
        inst,
        deadline=None,
        seed=7,
        max_iterations=4000,
        initial=first.order,
        schedule=(0.5, 1.0),
        scale=first.scale,
    )
    assert more is not None and more.scale == first.scale
    assert more.cost <= first.cost
    ok, dist = _simulate(inst, list(more.order))
    assert ok and dist == more.cost


@pytest.mark.parametrize("method", ["anneal", "ils"])
def test_a_compiled_call_ends_near_the_deadline_when_steps_get_dearer(
    monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """The search for a first feasible route sizes each compiled call from the
    steps before it, and their cost varies a hundredfold. A 1 s re-optimisation
    once ran 2 s: ten steps that cost nothing sized the next call at 1 000 steps
    of 1.3 ms. On a simulated clock: the first two calls are free, then a step
    costs 1.3 ms; the search must stop within a few chunks of its deadline."""
    import routing.tsptw as tsptw

    clock = [1000.0]
    calls: list[int] = []

    class _Clock:
        @staticmethod
        def monotonic() -> float:
            return clock[0]

    def chunk(*args: object) -> int:
        state, iterations = args[11], int(args[12])  # type: ignore[call-overload]
        state[4] = 1  # type: ignore[index]  # descended from the start
        calls.append(iterations)
        clock[0] += 0.0 if len(calls) <= 2 else 0.0013 * iterations
        return -1  # no feasible route yet

    monkeypatch.setattr(tsptw, "time", _Clock)
    monkeypatch.setattr(tsptw, "_ils_chunk", chunk)
    deadline = clock[0] + 1.0
    params = ILSParams(method=method, give_up_share=1.0)
    assert solve_tsptw(_random_instance(30, 2), deadline=deadline, params=params) is None
    assert len(calls) > 10
    assert clock[0] <= deadline + 2 * tsptw.CHUNK_SECONDS


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match="method"):
        solve_tsptw(
            _random_instance(8, 1), deadline=None, max_iterations=5, params=ILSParams(method="x")
        )


def test_long_budgets_run_rounds_with_a_restart_each(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import routing.core as core

    monkeypatch.setattr(core, "TSPTW_ROUND_S", 0.15)
    inst = _core_single(30, 5)
    seen = _record_tsptw_costs(monkeypatch)
    res = solve_core(inst, time_limit_s=0.45, seed=0, workers=1)
    assert res.method == "tsptw-ils"
    # 3 rounds x 2 phases x 1 worker; every run feasible, the result the best
    assert len(seen) == 1 and len(seen[0]) == 6
    assert res.cost == min(seen[0])


def test_incremental_times_after_an_insertion_equal_a_full_recomputation() -> None:
    from routing.tsptw import _times, _times_inserted

    checked = 0
    for seed in range(30):
        # a feasible route on windows that bind, one stop taken out
        inst = _random_instance(20, 100 + seed, tight=4.0)
        found = solve_tsptw(inst, deadline=None, seed=seed, max_iterations=200)
        if found is None:
            continue
        nd = np.ascontiguousarray(np.stack([inst.early, inst.late, inst.service]))
        route = np.asarray([0, *found.order, 21], dtype=np.int64)
        u, rest = int(route[5]), np.delete(route, 5)
        m = len(rest)
        dep, lb = np.zeros(22, np.int64), np.zeros(22, np.int64)
        if _times(rest, m, inst.dur, nd, dep, lb) != 0:
            continue
        for ip in range(1, m):  # every place u could go
            trial = np.insert(rest, ip, u)
            want_dep, want_lb = np.zeros(22, np.int64), np.zeros(22, np.int64)
            if _times(trial, m + 1, inst.dur, nd, want_dep, want_lb) != 0:
                continue  # the kernel only updates after feasible insertions
            got_dep, got_lb = dep.copy(), lb.copy()
            _times_inserted(trial, m + 1, ip, inst.dur, nd, got_dep, got_lb)
            assert np.array_equal(got_dep[: m + 1], want_dep[: m + 1]), (seed, ip)
            assert np.array_equal(got_lb[: m + 1], want_lb[: m + 1]), (seed, ip)
            checked += 1
    assert checked >= 50


@pytest.mark.parametrize("permille", [10, 200])
def test_blink_gaps_skip_each_position_with_the_blink_probability(permille: int) -> None:
    # the insertion scan skips the position where the gap counter reaches 0;
    # each position must be skipped with probability permille / 1000, as
    # when one random number was drawn per position
    from routing.tsptw import _blink_gap

    state = np.asarray([12345], dtype=np.int64)
    log_keep = float(np.log1p(-permille / 1000))
    gaps = np.asarray([_blink_gap(state, log_keep) for _ in range(20_000)])
    p = permille / 1000
    # a gap of k positions, then one skipped: P(gap = k) = (1 - p)^k p
    assert abs(gaps.mean() - (1 - p) / p) < 0.05 * (1 - p) / p
    assert abs(np.mean(gaps == 0) - p) < 0.01 + 0.05 * p
    assert _blink_gap(state, 0.0) > 10**12  # no blinks
    assert _blink_gap(state, -np.inf) == 0  # every position


def test_the_polishing_descent_ends_in_a_local_optimum_of_its_moves() -> None:
    # the descent screens candidates by distance before evaluating them
    # fully; none of the moves it knows may improve the route it returns
    from routing.tsptw import _delta_dist, _local_search, _move_ok, _neighbours, _schedule

    checked = 0
    for seed in range(6):
        inst = _random_instance(30, 300 + seed, tight=2.0)
        found = solve_tsptw(inst, deadline=None, seed=seed, max_iterations=20)
        if found is None:
            continue
        n, m = inst.n, inst.n + 2
        nd = np.ascontiguousarray(np.stack([inst.early, inst.late, inst.service]))
        neigh = _neighbours(inst, 20)
        route = np.asarray([0, *found.order, n + 1], dtype=np.int64)
        rng = np.random.default_rng(seed)
        route[1 : n + 1] = route[1 : n + 1][rng.permutation(n)]  # shuffled: room to improve
        w = np.zeros((9, m), np.int64)
        buf = np.zeros(m, np.int64)
        active = np.ones(m, np.bool_)
        tw = _local_search(route, m, inst.dist, inst.dur, nd, neigh, 3, 100, active, w, buf)
        assert tw == _schedule(route, m, inst.dist, inst.dur, nd, w)
        # with no time warp left, any shorter feasible Or-opt move (1-3
        # stops next to a neighbour, either orientation) would have been taken
        if tw != 0:
            continue
        for u in range(1, n + 1):
            for v in neigh[u]:
                iu, iv = int(w[6, u]), int(w[6, v])
                for k in (1, 2, 3):
                    for i, j in ((iu, iu + k - 1), (iu - k + 1, iu)):
                        for p, rev in ((iv, False), (iv - 1, True), (iv - 1, False), (iv, True)):
                            if _move_ok(0, i, j, p, rev, n):
                                d = _delta_dist(0, i, j, p, rev, route, inst.dist, w)
                                if d < 0:  # shorter: it must break a window
                                    trial = list(route)
                                    seg = trial[i : j + 1][::-1] if rev else trial[i : j + 1]
                                    rest = trial[:i] + trial[j + 1 :]
                                    at = p + 1 if p < i else p - len(seg) + 1
                                    trial = rest[:at] + seg + rest[at:]
                                    assert not _simulate(inst, trial[1 : n + 1])[0], (seed, u, v)
                        checked += 1
    assert checked > 1000


def _spy_solve_tsptw(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, object]]:
    """Record (seed, result) of every ``routing.tsptw.solve_tsptw`` call."""
    import routing.tsptw as tsptw

    calls: list[tuple[int, object]] = []
    real = tsptw.solve_tsptw

    def spy(*args: object, **kw: object) -> object:
        res = real(*args, **kw)  # type: ignore[arg-type]
        calls.append((int(kw["seed"]), res))  # type: ignore[call-overload]
        return res

    monkeypatch.setattr(tsptw, "solve_tsptw", spy)
    return calls


def test_a_worker_probes_several_fresh_starts_and_keeps_the_best(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    import routing.core as core

    tinst, _ = core._tsptw_instance(_core_single(30, 5))
    calls = _spy_solve_tsptw(monkeypatch)
    out = core._run_tsptw(tinst, time.monotonic() + 0.4, 3, None, None, (0.0, 1.0), probes=4)
    assert out is not None
    assert len(calls) == 4 and len({s for s, _ in calls}) == 4  # four seeds, four starts
    results = [r for _s, r in calls if r is not None]
    best = min(results, key=lambda r: r.cost)  # type: ignore[attr-defined]
    assert out[0] == best.cost and out[1] == list(best.order)  # type: ignore[attr-defined]
    assert out[2] == sum(r.iterations for r in results)  # type: ignore[attr-defined]
    ok, dist = _simulate(tinst, out[1])
    assert ok and dist == out[0]


def test_a_probe_without_a_feasible_route_leaves_the_rest_to_one_search(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    import routing.core as core
    from routing.solver import _layout

    problem, _ = _unservable_problem()
    captured: list[CoreInstance] = []

    def capture(inst: CoreInstance, *args: object, **kw: object) -> tuple[None, tuple[()]]:
        captured.append(inst)  # the core instance of the problem; no search
        return None, ()

    monkeypatch.setattr(core, "_solve_tsptw", capture)
    solve(problem, SolverParams(time_limit_s=0.3, seed=0, workers=1))
    assert captured and len(_layout(problem).points) == captured[0].num_locations
    tinst, _ = core._tsptw_instance(captured[0])
    calls = _spy_solve_tsptw(monkeypatch)
    out = core._run_tsptw(tinst, time.monotonic() + 0.4, 0, None, None, (0.0, 1.0), probes=6)
    assert out is None
    # the first probe gave up early; one more search got the rest, not five
    assert len(calls) == 2 and all(r is None for _s, r in calls)


@pytest.mark.parametrize(("budget", "runs"), [(0.2, 2), (1.0, 5)])
def test_short_budgets_make_one_probe_longer_ones_several(
    monkeypatch: pytest.MonkeyPatch, budget: float, runs: int
) -> None:
    # one worker: its probes in the first half, then one continued search
    calls = _spy_solve_tsptw(monkeypatch)
    res = solve_core(_core_single(30, 5), time_limit_s=budget, seed=0, workers=1)
    assert res.method == "tsptw-ils"
    assert len(calls) == runs  # 0.2 s: 1 + 1 (probes would be 25 ms); 1 s: 4 + 1


# --- a few stops: every order (solve_exact) ------------------------------------------

@pytest.mark.parametrize("open_route", [False, True])
@pytest.mark.parametrize("asymmetric", [False, True])
def test_the_exact_search_is_the_brute_force_optimum(open_route: bool, asymmetric: bool
                                                     ) -> None:
    from routing.tsptw import solve_exact

    feasible = infeasible = 0
    for seed in range(16):
        n = seed % 8  # 0..7 stops
        inst = _random_instance(n, seed + 100, open_route=open_route, asymmetric=asymmetric,
                                tight=0.9 + 0.1 * (seed % 3))
        opt = _brute(inst)
        res = solve_exact(inst)
        if opt is None:
            assert res is None
            infeasible += 1
            continue
        assert res is not None and sorted(res.order) == list(range(1, n + 1))
        assert _simulate(inst, list(res.order)) == (True, res.cost)
        assert res.cost == opt
        feasible += 1
    assert feasible >= 8


def test_the_exact_search_refuses_more_stops_and_stops_at_its_branch_budget() -> None:
    from routing.tsptw import EXACT_MAX_CLIENTS, solve_exact

    with pytest.raises(ValueError, match="clients"):
        solve_exact(_random_instance(EXACT_MAX_CLIENTS + 1, 1, tight=8.0))
    with pytest.raises(TimeoutError):
        solve_exact(_random_instance(EXACT_MAX_CLIENTS, 1, tight=8.0), max_nodes=10)


def test_solve_core_solves_a_few_stops_exactly() -> None:
    # a courier's last stops: the annealing spent its whole budget (1 s for 3 stops)
    from routing.core import EXACT_MAX_CLIENTS, _tsp_applicable, _tsptw_instance

    exact = 0
    for n in (1, 3, 5, 7, EXACT_MAX_CLIENTS):
        inst = _core_single(n, 7)
        res = solve_core(inst, time_limit_s=30.0, seed=0, workers=2)
        # (without windows, fast-tsp first, as before)
        assert res.method == ("fast-tsp" if _tsp_applicable(inst) else "exact")
        assert res.feasible
        exact += res.method == "exact"
        (route,) = res.routes
        tinst, _ = _tsptw_instance(inst)
        order = [v + 1 for v in route.visits]
        assert sorted(order) == list(range(1, n + 1))
        ok, dist = _simulate(tinst, order)
        assert ok and dist == res.cost
        if n <= 7:
            assert dist == _brute(tinst)
    assert exact >= 3
    assert solve_core(_core_single(EXACT_MAX_CLIENTS + 1, 7), time_limit_s=0.2, seed=0,
                      workers=1).method == "tsptw-ils"


def test_a_few_stops_beyond_the_branch_budget_are_annealed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import routing.tsptw

    monkeypatch.setattr(routing.tsptw, "EXACT_MAX_NODES", 3)
    res = solve_core(_core_single(8, 7), time_limit_s=0.2, seed=0, workers=1)
    assert res.method == "tsptw-ils" and res.feasible and len(res.routes[0].visits) == 8


@pytest.mark.parametrize(("n", "method"), [(6, "exact"), (9, "pyvrp")])
def test_a_few_stops_that_no_route_serves_all_skip_the_annealing(
        monkeypatch: pytest.MonkeyPatch, n: int, method: str) -> None:
    """The two that clash and more: up to FLEET_EXACT_MAX_CLIENTS stops, the exact
    fleet search chooses what to leave out; beyond, PyVRP, at once."""
    seen = _record_tsptw_costs(monkeypatch)
    problem, stops = _unservable_problem()
    few = dataclasses.replace(problem, stops=problem.stops[:n])
    plan = solve(few, SolverParams(time_limit_s=0.6, seed=0))
    assert seen == [] and plan.method == method and len(plan.unassigned) == 1
    assert plan.unassigned[0].stop_id in {stops[0].id, stops[1].id}


# --- thousands of stops: the deadline holds ---------------------------------------------


def _long_day(n: int, seed: int) -> TsptwInstance:
    """``n`` stops 5 s each in 5 km x 5 km, 30 % with two-hour windows, a 17-hour shift:
    one route may serve them all, but the insertion start misses windows."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 5000, size=(n + 2, 2))
    xy[n + 1] = xy[0]
    d = np.rint(np.hypot(*(xy[:, None] - xy[None]).transpose(2, 0, 1))).astype(np.int64)
    dur = np.rint(d / 6.0).astype(np.int64)
    early = np.full(n + 2, 6 * H, dtype=np.int64)
    late = np.full(n + 2, 23 * H, dtype=np.int64)
    windowed = rng.random(n + 2) < 0.3
    windowed[[0, n + 1]] = False
    opens = rng.integers(8, 17, size=n + 2) * H
    early[windowed], late[windowed] = opens[windowed], opens[windowed] + 2 * H
    service = np.full(n + 2, 5, dtype=np.int64)
    service[[0, n + 1]] = 0
    return TsptwInstance(d, dur, early, late, service)


def _reference_neighbours(inst: TsptwInstance, k: int) -> np.ndarray:
    """The candidate lists as numpy matrices computed them before ``_nearest``."""
    n = inst.n
    k = max(1, min(k, n - 1))
    c = np.arange(1, n + 1)
    d = inst.dist[np.ix_(c, c)].astype(np.float64)
    t = inst.dur[np.ix_(c, c)].astype(np.float64)
    e = inst.early[c].astype(np.float64)
    lt = np.minimum(inst.late[c], inst.late[0]).astype(np.float64)
    s = inst.service[c].astype(np.float64)
    wait = np.maximum(0.0, e[None, :] - t - s[:, None] - lt[:, None])
    warp = np.maximum(0.0, e[:, None] + s[:, None] + t - lt[None, :])
    tsum = float(t.sum())
    speed = float(d.sum()) / tsum if tsum > 0 else 1.0
    prox = d + speed * (0.2 * wait + warp)
    sym = np.minimum(prox, prox.T)
    np.fill_diagonal(sym, np.inf)
    idx = np.argsort(sym, axis=1, kind="stable")[:, :k] + 1
    out = np.zeros((n + 2, k), dtype=np.int64)
    out[1 : n + 1] = idx
    out[0] = out[n + 1] = idx[0]
    return out


@pytest.mark.parametrize("kind", ["plain", "asymmetric", "one place", "big windows"])
def test_the_candidate_lists_are_the_sorted_proximities(kind: str) -> None:
    # the compiled lists (O(n k) memory, ties to the lower number) are the numpy ones
    from routing.tsptw import _neighbours

    for seed in range(8):
        inst = _random_instance(int(np.random.default_rng(seed).integers(3, 90)), seed,
                                asymmetric=kind == "asymmetric")
        if kind == "one place":
            inst = dataclasses.replace(inst, dist=np.zeros_like(inst.dist),
                                       dur=np.zeros_like(inst.dur))
        if kind == "big windows":
            inst = dataclasses.replace(inst, late=np.full_like(inst.late, BIG_TIME))
        for k in (1, 7, 20, 500):
            assert np.array_equal(_neighbours(inst, k), _reference_neighbours(inst, k))


def test_a_long_descent_from_the_start_stops_at_the_deadline() -> None:
    # the descent from an insertion start missing windows, 2 000 stops: ~10 s in one
    # compiled call that nothing interrupted; now calls of ~10 ms, the deadline between
    import time

    inst = _long_day(2000, 0)
    t0 = time.monotonic()
    res = solve_tsptw(inst, deadline=t0 + 0.3, seed=0)
    assert time.monotonic() - t0 < 5.0  # loose: a stalled CI host is no failure
    assert res is None or _simulate(inst, list(res.order)) == (True, res.cost)


def test_the_descent_from_the_start_goes_on_over_calls() -> None:
    from routing.tsptw import _construct, _ils_chunk, _insertion_order, neighbour_lists

    inst = _long_day(300, 1)
    n, m = inst.n, inst.n + 2
    nd = np.ascontiguousarray(np.stack([inst.early, inst.late, inst.service]))
    route = np.zeros(m, dtype=np.int64)
    order = _insertion_order(inst, np.random.default_rng(0), "windows-first")
    _construct(inst.dist, inst.dur, nd, np.zeros(0, np.int64), 0, order, route, 0)
    neigh = neighbour_lists(inst)
    best, hist = route.copy(), np.zeros(10, dtype=np.int64)
    state = np.zeros(6, dtype=np.int64)
    state[0] = 7
    pending = np.ones(m, dtype=np.bool_)
    calls = 0
    while state[4] == 0:  # each call at most 20 moves tried or made
        found = _ils_chunk(inst.dist, inst.dur, nd, neigh, 3, 8, 100, 0, route, best, hist,
                           state, 0, -1, False, 0, 30, 21, pending, 20)
        calls += 1
        assert state[4] == 1 or (found == -1 and pending[1 : n + 1].any())
        assert calls < 100_000
    assert calls > 10 and pending.all()  # done, and ready for the next descent
    assert sorted(route[1 : n + 1]) == list(range(1, n + 1))


def test_the_candidate_lists_are_computed_once_a_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    # once for every probe and continuation before: O(n^2), 0.5-1.3 s at 2 000 stops
    import routing.tsptw as tsptw

    calls: list[int] = []
    real = tsptw._neighbours

    def spy(inst: TsptwInstance, k: int) -> np.ndarray:
        calls.append(inst.n)
        return real(inst, k)

    monkeypatch.setattr(tsptw, "_neighbours", spy)
    res = solve_core(_core_single(30, 5), time_limit_s=0.6, seed=0, workers=1)
    assert res.method == "tsptw-ils" and calls == [30]


def test_forked_workers_inherit_the_route_instance(monkeypatch: pytest.MonkeyPatch) -> None:
    # a task named the instance, not carried it pickled: 64 MB at 2 000 stops, and the
    # worker started its search 0.4-1.5 s after this process
    import routing.core as core

    shipped: list[object] = []
    real = core._fan_out

    def spy(pool: object, cancel: object, task: object, worker_args: list[tuple[object, ...]],
            main: object) -> object:
        shipped.extend(args[0] for args in worker_args)
        return real(pool, cancel, task, worker_args, main)  # type: ignore[arg-type]

    monkeypatch.setattr(core, "_fan_out", spy)
    res = solve_core(_core_single(30, 5), time_limit_s=0.4, seed=0, workers=2)
    assert res.method == "tsptw-ils"
    assert shipped and all(isinstance(key, int) for key in shipped)
    assert core._FORKED_ROUTES == {}
