"""PyVRP's phases in :mod:`routing.core`: the route-elimination phase."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import routing.core
from routing import CoreClient, CoreInstance, CoreVehicleType, solve_core

_real_run = routing.core._run_pyvrp


FLEET = 5


def _line_instance(n: int = 12, capacity: int = 4) -> CoreInstance:
    """``n`` unit-demand clients on a line east of the depot. Vehicle types:
    0, one vehicle that can carry nothing; 1 and 2, two vehicles each with
    ``capacity``. Plans use types 1 and 2 only, so a type index not mapped
    back from a cut fleet's model shows up as type 0."""
    xs = np.arange(n + 1, dtype=np.int64) * 100
    mat = np.abs(xs[:, None] - xs[None, :])
    return CoreInstance(
        distances=(mat,),
        durations=(mat,),
        clients=tuple(CoreClient(location=i, demand=(1,)) for i in range(1, n + 1)),
        vehicle_types=(
            CoreVehicleType(start=0, end=0, capacity=(0,), count=1),
            CoreVehicleType(start=0, end=0, capacity=(capacity,), count=2),
            CoreVehicleType(start=0, end=0, capacity=(capacity,), count=2),
        ),
    )


def test_without_smallest_route_cuts_the_fleet_to_the_routes_left() -> None:
    inst = _line_instance()
    routes = [(1, [0, 1, 2]), (1, [3]), (2, [4, 5]), (2, [])]
    cut = routing.core._without_smallest_route(inst, routes)
    assert cut is not None
    sub, types, start = cut
    assert types == [1, 2]
    assert [vt.count for vt in sub.vehicle_types] == [1, 1]
    assert start == [(0, [0, 1, 2]), (1, [4, 5])]  # the 1-stop route is gone
    assert sub.clients == inst.clients  # its stop is still to be served


def test_without_smallest_route_drops_a_type_left_without_vehicles() -> None:
    inst = _line_instance()
    cut = routing.core._without_smallest_route(inst, [(2, [0, 1]), (1, [2])])
    assert cut is not None
    sub, types, start = cut
    assert types == [2]
    assert [vt.count for vt in sub.vehicle_types] == [1]
    assert start == [(0, [0, 1])]
    routing.core._build_data(sub, all_required=True)  # a valid PyVRP model


def _pinned_instance(free_vehicles: int = 2) -> CoreInstance:
    """The line instance's 12 stops, free vehicles (type 1, profile 0) and a
    courier (type 0, profile 1) to whom stop 0 is pinned: the free vehicles'
    profile cannot reach it (1e7 s, as ``routing.solve`` pins). Stop 11 can
    only be served before the courier's shift opens."""
    base = _line_instance()
    free = base.durations[0].copy()
    pinned = base.clients[0].location
    free[:, pinned] = 10_000_000
    free[pinned, pinned] = 0
    clients = list(base.clients)
    clients[11] = CoreClient(location=clients[11].location, demand=(1,), tw_late=5_000)
    return CoreInstance(
        distances=(base.distances[0], base.distances[0]),
        durations=(free, base.durations[0]),
        clients=tuple(clients),
        vehicle_types=(
            CoreVehicleType(0, 0, (4,), tw_early=6_000, tw_late=100_000, count=1, profile=1),
            CoreVehicleType(0, 0, (4,), tw_late=100_000, count=free_vehicles, profile=0),
        ),
    )


def test_a_route_with_a_stop_only_its_courier_can_serve_is_not_dropped() -> None:
    inst = _pinned_instance()
    # the pinned courier's 1-stop route is the smallest; the next one goes
    cut = routing.core._without_smallest_route(inst, [(0, [0]), (1, [1, 2]), (1, [3, 4, 5])])
    assert cut is not None
    sub, types, start = cut
    assert types == [0, 1]
    assert [vt.count for vt in sub.vehicle_types] == [1, 1]
    assert start == [(0, [0]), (1, [3, 4, 5])]


def test_no_route_dropped_when_none_can_be_taken_over() -> None:
    # stop 0 only the courier can reach, stop 11 only the free vehicle
    inst = _pinned_instance(free_vehicles=1)
    assert routing.core._without_smallest_route(inst, [(0, [0]), (1, [11])]) is None
    assert routing.core._without_smallest_route(inst, [(0, [0, 1]), (1, [11, 2])]) is None


def test_a_stop_only_its_vehicle_can_carry_keeps_its_route() -> None:
    line = _line_instance(capacity=6)
    clients = (CoreClient(location=1, demand=(5,)), *line.clients[1:])
    big = dataclasses.replace(
        line,
        clients=clients,
        vehicle_types=(CoreVehicleType(0, 0, (6,), count=1), CoreVehicleType(0, 0, (6,), count=1)),
    )
    cut = routing.core._without_smallest_route(big, [(0, [0]), (1, [1, 2, 3])])
    assert cut is not None and cut[2] == [(0, [1, 2, 3])]  # the 1-stop route goes
    small = dataclasses.replace(
        big,
        vehicle_types=(CoreVehicleType(0, 0, (6,), count=1), CoreVehicleType(0, 0, (4,), count=1)),
    )
    cut = routing.core._without_smallest_route(small, [(0, [0]), (1, [1, 2, 3])])
    assert cut is not None and cut[2] == [(0, [0])]  # only type 0 carries 5 parcels


def test_no_elimination_run_when_no_route_can_go(
    run_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing.core, "_run_pyvrp", _spy_run)
    base = _pinned_instance(free_vehicles=1)
    # stop 0 is pinned to the courier, stop 11 only the free vehicle's shift
    # covers: every plan has two routes and neither can go
    inst = dataclasses.replace(base, clients=(base.clients[0], base.clients[11]))
    res = solve_core(inst, time_limit_s=0.6, seed=1, workers=2, use_tsp_fast_path=False)
    assert res.feasible
    assert sorted(r.vehicle_type for r in res.routes) == [0, 1]
    runs = _runs(run_log)
    assert all(r["vehicles"] == 2 for r in runs), "no run on a cut fleet"
    assert len(runs) == 4  # phase 1 and the last phase, two workers each


_LOG = "ROUTING_TEST_RUN_LOG"


def _record(data: Any, deadline: float, initial: Any, out: Any) -> None:
    named = isinstance(data, routing.core._Model)
    data = routing.core._model(data)  # a worker's task names its model (routing.core._Model)
    row = {
        "pid": os.getpid(),
        "named": named,
        "vehicles": int(data.num_vehicles),
        "deadline": deadline,
        "initial": [[int(vt), [int(c) for c in v]] for vt, v in initial or []],
        "routes": [[int(vt), [int(c) for c in v]] for vt, v in out[2]],
        "feasible": bool(out[1]),
        "required": all(c.required for c in data.clients()),
    }
    with open(os.environ[_LOG], "a", encoding="utf-8") as fh:  # also from forked workers
        fh.write(json.dumps(row) + "\n")


def _spy_run(data: Any, deadline: float, seed: int, initial: Any, *rest: Any) -> Any:
    out = _real_run(data, deadline, seed, initial, *rest)
    _record(data, deadline, initial, out)
    return out


def _winning_elimination(data: Any, deadline: float, seed: int, initial: Any, *rest: Any) -> Any:
    """Like PyVRP, except that a run on a cut fleet claims a cost-0 plan: the
    start's routes with the missing stops appended to the first one."""
    data = routing.core._model(data)
    if data.num_vehicles == FLEET:
        return _spy_run(data, deadline, seed, initial, *rest)
    served = {c for _vt, v in initial for c in v}
    missing = [c for c in range(data.num_clients) if c not in served]
    routes = [(vt, list(v)) for vt, v in initial]
    routes[0] = (routes[0][0], routes[0][1] + missing)
    out = (0.0, True, routes, 0)
    _record(data, deadline, initial, out)
    return out


def _runs(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs.jsonl"
    monkeypatch.setenv(_LOG, str(path))
    monkeypatch.setattr(routing.core, "LOAD_AWARE_WORKERS", False)
    return path


def test_one_worker_searches_with_a_route_fewer(
    run_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing.core, "_run_pyvrp", _spy_run)
    inst = _line_instance()  # 12 stops, capacity 4: at least 3 routes
    res = solve_core(inst, time_limit_s=0.8, seed=1, workers=2, use_tsp_fast_path=False)
    assert res.feasible
    assert sorted(c for r in res.routes for c in r.visits) == list(range(12))
    runs = _runs(run_log)
    phase1 = [r for r in runs if not r["initial"]]
    assert len(phase1) == 2
    best = min((r for r in phase1 if r["feasible"]), key=lambda r: len(r["routes"]))
    cut = [r for r in runs if r["vehicles"] < FLEET]
    assert len(cut) == 1, "exactly one run on a cut fleet"
    (elim,) = cut
    k = len([v for _vt, v in best["routes"] if v])
    assert elim["vehicles"] == k - 1
    assert len(elim["initial"]) == k - 1
    left_out = 12 - sum(len(v) for _vt, v in elim["initial"])
    assert left_out == min(len(v) for _vt, v in best["routes"] if v)
    # 12 stops need 3 routes of 4: the cut fleet's plan is not feasible, not kept
    assert len(res.routes) >= 3
    assert {r.vehicle_type for r in res.routes} <= {1, 2}


def test_a_better_plan_with_a_route_fewer_is_kept(
    run_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing.core, "_run_pyvrp", _winning_elimination)
    inst = _line_instance()
    res = solve_core(inst, time_limit_s=0.8, seed=1, workers=2, use_tsp_fast_path=False)
    runs = _runs(run_log)
    (elim,) = [r for r in runs if r["vehicles"] < FLEET]
    last = [r for r in runs if r["deadline"] > elim["deadline"]]
    assert len(last) == 2
    claimed = len(elim["routes"])
    for r in last:  # the last phase starts from the cut-fleet plan ...
        assert len(r["initial"]) == claimed
    # ... whose cost (0) wins: the result is that plan, vehicle types mapped back
    assert len(res.routes) == claimed
    assert sorted(c for r in res.routes for c in r.visits) == list(range(12))
    assert {r.vehicle_type for r in res.routes} <= {1, 2}


def _phase_one_past_the_budget(data: Any, deadline: float, seed: int, initial: Any,
                               *rest: Any) -> Any:
    """Like PyVRP, except that phase 1 (no start given) returns only after the whole
    0.8 s budget is spent, as its first descent does on a large day at a short budget."""
    out = _spy_run(data, deadline, seed, initial, *rest)
    if not initial:
        time.sleep(max(0.0, deadline + 0.5 * 0.8 + 0.05 - time.monotonic()))
    return out


def test_no_phase_runs_past_the_budget_once_a_complete_plan_is_found(
    run_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 2 000 stops at 1 s: phase 1's descent took ~2.3 s, then the elimination and the
    # last phase ran ~0.8 and ~0.6 s more, each starting with a descent of its own
    monkeypatch.setattr(routing.core, "_run_pyvrp", _phase_one_past_the_budget)
    res = solve_core(_line_instance(), time_limit_s=0.8, seed=1, workers=2,
                     use_tsp_fast_path=False)
    assert res.feasible
    assert sorted(c for r in res.routes for c in r.visits) == list(range(12))
    runs = _runs(run_log)
    assert len(runs) == 2 and not any(r["initial"] for r in runs)  # phase 1 only
    plans = [sorted(v for _vt, v in r["routes"] if v) for r in runs if r["feasible"]]
    assert sorted(list(r.visits) for r in res.routes) in plans


def test_no_elimination_phase_with_one_worker(
    run_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routing.core, "_run_pyvrp", _spy_run)
    res = solve_core(_line_instance(), time_limit_s=0.4, seed=1, workers=1, use_tsp_fast_path=False)
    assert res.feasible
    assert all(r["vehicles"] == FLEET for r in _runs(run_log))


def test_large_problems_get_a_smaller_neighbourhood(monkeypatch: pytest.MonkeyPatch) -> None:
    assert routing.core.num_neighbours(routing.core.LARGE_PROBLEM_CLIENTS) == 50
    assert routing.core.num_neighbours(routing.core.LARGE_PROBLEM_CLIENTS + 1) == 30
    monkeypatch.setattr(routing.core, "PYVRP_CONFIG", routing.core.PyVRPConfig(num_neighbours=12))
    assert routing.core.num_neighbours(2000) == 12


def _optional(inst: CoreInstance, capacity: int) -> CoreInstance:
    """``inst`` with every client optional, and each vehicle of types 1-2 carrying
    ``capacity``."""
    return dataclasses.replace(
        inst,
        clients=tuple(dataclasses.replace(c, required=False, prize=10_000) for c in inst.clients),
        vehicle_types=(inst.vehicle_types[0], *(
            dataclasses.replace(vt, capacity=(capacity,)) for vt in inst.vehicle_types[1:])),
    )


def _shifts(inst: CoreInstance, service_s: int, shift_s: int) -> CoreInstance:
    """``inst`` with every client taking ``service_s`` and every vehicle ``shift_s``."""
    return dataclasses.replace(
        inst,
        clients=tuple(dataclasses.replace(c, service_s=service_s) for c in inst.clients),
        vehicle_types=tuple(dataclasses.replace(vt, tw_late=shift_s)
                            for vt in inst.vehicle_types),
    )


@pytest.mark.parametrize(("capacity", "shift_s", "short", "served"), [
    (4, None, False, 12), (2, None, True, 8), (4, 10_000, False, 12), (4, 1_600, True, None)])
def test_a_day_the_fleet_cannot_carry_or_work_skips_the_all_required_phase(
    run_log: Path, monkeypatch: pytest.MonkeyPatch, capacity: int, shift_s: int | None,
    short: bool, served: int | None,
) -> None:
    # 12 one-parcel stops, four vehicles: of 4 parcels each every stop fits and phase 1
    # requires them all; of 2 no plan serves more than 8, and requiring all 12 would
    # only spend phase 1 on plans that cannot be. With 600 s a stop and at least 100 s
    # to reach it, 12 stops take 8 400 s: five shifts of 1 600 s cannot hold them
    monkeypatch.setattr(routing.core, "_run_pyvrp", _spy_run)
    inst = _optional(_line_instance(), capacity)
    if shift_s is not None:
        inst = _shifts(inst, 600, shift_s)
    assert routing.core._fleet_too_small(inst) is short
    res = solve_core(inst, time_limit_s=0.8, seed=1, workers=2, use_tsp_fast_path=False)
    runs = _runs(run_log)
    phase1 = [r for r in runs if not r["initial"]]
    assert len(phase1) == 2 and all(r["required"] is not short for r in phase1)
    if served is not None:
        assert sum(len(r.visits) for r in res.routes) == served
    else:
        assert 0 < sum(len(r.visits) for r in res.routes) < 12
    if short:
        assert all(r["vehicles"] == FLEET for r in runs), "no elimination run"


@pytest.mark.parametrize(("shift_s", "use", "hedged"), [
    (2_000, 0.84, True), (2_100, 0.8, True), (10_000, 0.168, False)])
def test_a_day_near_its_shifts_bound_hedges_phase_one(
    run_log: Path, monkeypatch: pytest.MonkeyPatch, shift_s: int, use: float, hedged: bool
) -> None:
    # 12 stops of 600 s, at least 100 s to reach each: 8 400 s of the five shifts. Near
    # that bound a day may fit or not, and no check tells which (docs/routing.md,
    # sessions 19-20): this process requires every stop, the other searches the
    # optional model, and the last phase goes on from a complete plan if there is one,
    # else from the other's. Far from it, both require every stop
    monkeypatch.setattr(routing.core, "_run_pyvrp", _spy_run)
    inst = _shifts(_optional(_line_instance(), 4), 600, shift_s)
    assert routing.core._fleet_use(inst) == (False, pytest.approx(use))
    res = solve_core(inst, time_limit_s=0.8, seed=1, workers=2, use_tsp_fast_path=False)
    phase1 = [r for r in _runs(run_log) if not r["initial"]]
    assert sorted(r["required"] for r in phase1) == ([False, True] if hedged else [True, True])
    served = sum(len(r.visits) for r in res.routes)
    assert res.feasible and (0 < served < 12 if hedged else served == 12)


def test_pinned_stops_that_outweigh_their_courier_make_the_fleet_too_small() -> None:
    # two couriers of 3 parcels; assignment dimension 1: only the first has room there
    m = np.array([[0, 5, 5, 5, 5], [5, 0, 5, 5, 5], [5, 5, 0, 5, 5], [5, 5, 5, 0, 5],
                  [5, 5, 5, 5, 0]], dtype=np.int64)

    def day(pinned: int) -> CoreInstance:
        return CoreInstance(
            distances=(m,), durations=(m,),
            clients=tuple(CoreClient(k, (1, int(k <= pinned)), required=False, prize=100)
                          for k in range(1, 5)),
            vehicle_types=(CoreVehicleType(0, 0, (3, 4)), CoreVehicleType(0, 0, (3, 0))),
            assignment_dims=1,
        )

    assert not routing.core._fleet_too_small(day(3))  # 3 pinned to a courier of 3
    assert routing.core._fleet_too_small(day(4))  # 4 pinned to it: one stays out
    assert not routing.core._fleet_too_small(dataclasses.replace(day(4), assignment_dims=0))
    # by time: 3 h a stop, the first courier's 10 h shift holds 3 of its pinned stops
    # and not 4, though both shifts together would hold the 4
    def timed(pinned: int) -> CoreInstance:
        inst = _shifts(day(pinned), 3 * 3600, 10 * 3600)
        return dataclasses.replace(inst, vehicle_types=tuple(
            dataclasses.replace(vt, capacity=(9, vt.capacity[1] and 9))
            for vt in inst.vehicle_types))

    assert not routing.core._fleet_too_small(timed(3))
    assert routing.core._fleet_too_small(timed(4))
    assert not routing.core._fleet_too_small(dataclasses.replace(timed(4), assignment_dims=0))



def test_the_shortest_way_into_each_stop_is_over_every_profile_and_never_from_itself(
) -> None:
    rng = np.random.default_rng(3)
    a, b = (rng.integers(1, 1000, size=(7, 7)).astype(np.int64) for _ in range(2))
    inst = CoreInstance(
        distances=(a, b), durations=(a, b),
        clients=tuple(CoreClient(k) for k in (6, 2, 3, 1, 5)),
        vehicle_types=(CoreVehicleType(0, 0, count=2), CoreVehicleType(4, None, profile=1)),
    )
    want = [min(m[i, c] for m in (a, b) for i in range(7) if i != c) for c in (6, 2, 3, 1, 5)]
    for block in (1, 2, 256):  # blocks of columns, the last one short
        assert routing.core._min_arrival_s(inst, block).tolist() == want


def _kruskal(weights: dict[tuple[int, int], int], nodes: set[int]) -> int:
    """A minimum spanning tree's weight, by Kruskal (a check on Prim's)."""
    root = {v: v for v in nodes}

    def find(v: int) -> int:
        while root[v] != v:
            v = root[v]
        return v

    total = 0
    for (u, v), w in sorted(weights.items(), key=lambda e: e[1]):
        ru, rv = find(u), find(v)
        if ru != rv:
            root[ru] = rv
            total += w
    return total


def test_the_spanning_travel_is_a_minimum_spanning_tree_over_places_and_starts() -> None:
    # asymmetric matrices, two profiles, two starts (merged into one node: any start
    # reaches a place), two clients at one place and a client at a start
    rng = np.random.default_rng(11)
    for _ in range(20):
        a, b = (rng.integers(1, 1000, size=(9, 9)).astype(np.int64) for _ in range(2))
        places = [6, 2, 3, 3, 1, 5, 8, 4]
        inst = CoreInstance(
            distances=(a, b), durations=(a, b),
            clients=tuple(CoreClient(k) for k in places),
            vehicle_types=(CoreVehicleType(0, 0, count=2), CoreVehicleType(4, None, profile=1)),
        )
        start = -1  # the starts 0 and 4 as one node
        node = {p: (start if p in (0, 4) else p) for p in [*places, 0, 4]}
        weights: dict[tuple[int, int], int] = {}
        for u in set(node):
            for v in set(node):
                if node[u] != node[v]:
                    e = tuple(sorted((node[u], node[v])))
                    w = min(int(m[u, v]) for m in (a, b))
                    weights[e] = min(weights.get(e, w), w)  # type: ignore[index]
        want = _kruskal(weights, set(node.values()))
        assert routing.core._spanning_travel_s(inst) == want


def _random_plan_day(rng: np.random.Generator, metric: bool) -> CoreInstance:
    """Random clients split into random routes, each route's vehicle type with a shift
    exactly as long as that route takes (travel, service, the way back when closed)
    and a capacity exactly its load: a day that just fits. Not ``metric``: random
    travel times, one way only cheap along the routes, so that a plan of open routes
    travels no more than the spanning tree (the check is tight there)."""
    n, k = int(rng.integers(3, 25)), int(rng.integers(1, 5))
    size = n + 3  # places 0-2 are the vehicles' starts and ends
    if metric:
        xy = rng.uniform(0, 5_000, size=(size, 2))
        dur = np.rint(np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)))
        dur = dur.astype(np.int64)
    else:
        dur = rng.integers(1_000, 3_000, size=(size, size)).astype(np.int64)
        np.fill_diagonal(dur, 0)
    places = 3 + rng.permutation(n) if metric else 3 + np.arange(n)
    clients = tuple(CoreClient(int(places[i]), demand=(int(rng.integers(0, 4)),),
                               service_s=int(rng.integers(0, 600)), required=False, prize=1)
                    for i in range(n))
    order = rng.permutation(n)
    cuts = np.sort(rng.choice(np.arange(1, n), size=min(k, n) - 1, replace=False))
    routes = [(int(rng.integers(0, 3)), [int(c) for c in visits])
              for visits in np.split(order, cuts)]
    if not metric:
        for start, visits in routes:
            path = [start, *(clients[c].location for c in visits)]
            for u, v in zip(path, path[1:], strict=False):
                dur[u, v] = rng.integers(1, 100)
    vtypes = []
    for start, visits in routes:
        end = None if rng.random() < 0.5 else int(rng.integers(0, 3))
        path = [start, *(clients[c].location for c in visits)]
        took = sum(int(dur[u, v]) for u, v in zip(path, path[1:], strict=False))
        took += sum(clients[c].service_s for c in visits)
        took += 0 if end is None else int(dur[path[-1], end])
        early = int(rng.integers(0, 10_000))
        vtypes.append(CoreVehicleType(start, end, (sum(clients[c].demand[0] for c in visits),),
                                      tw_early=early, tw_late=early + took))
    return CoreInstance(distances=(dur,), durations=(dur,), clients=clients,
                        vehicle_types=tuple(vtypes))


@pytest.mark.parametrize("metric", [True, False])
def test_a_day_that_just_fits_is_never_called_too_small(metric: bool) -> None:
    # the check is a bound: each vehicle's shift and capacity are exactly its route's
    # time and load in a plan serving every client (the spanning tree does not rely
    # on the triangle inequality: random matrices too)
    rng = np.random.default_rng(5 + metric)
    for _ in range(300):
        day = _random_plan_day(rng, metric)
        assert not routing.core._fleet_too_small(day)


def test_stops_close_in_pairs_far_apart_need_the_spanning_tree() -> None:
    # ten pairs of stops 10 s apart, the pairs 1 000 s from each other and the depot
    # (on a line): the shortest way into each stop is 10 s, 200 s in all, but any plan
    # serving every stop travels at least the spanning tree, 10 x 10 s within the pairs,
    # 1 000 s from the depot and 9 x 990 s between the pairs: 10 010 s
    xs = np.array([0] + [p * 1_000 + d for p in range(1, 11) for d in (0, 10)], np.int64)
    mat = np.abs(xs[:, None] - xs[None, :])
    def day(shift_s: int) -> CoreInstance:
        return CoreInstance(
            distances=(mat,), durations=(mat,),
            clients=tuple(CoreClient(i, required=False, prize=1) for i in range(1, 21)),
            vehicle_types=(CoreVehicleType(0, None, tw_late=shift_s),))
    assert int(routing.core._min_arrival_s(day(1)).sum()) == 200
    assert routing.core._spanning_travel_s(day(1)) == 10_010
    assert routing.core._fleet_too_small(day(10_009))
    assert not routing.core._fleet_too_small(day(10_010))  # the open route that fits
    plan = solve_core(day(10_010), time_limit_s=0.3, seed=0, workers=1)
    assert sum(len(r.visits) for r in plan.routes) == 20


def test_the_optional_model_is_built_only_when_it_is_searched(
    run_log: Path, monkeypatch: pytest.MonkeyPatch, models_built: list[bool]
) -> None:
    # each model holds a copy of every matrix: a day whose stops all fit never builds
    # the optional one; a day the fleet cannot carry builds only that one
    built = models_built
    monkeypatch.setattr(routing.core, "ELIMINATE_SHARE", 0.0)
    fits = _optional(_line_instance(), 4)
    assert solve_core(fits, time_limit_s=0.4, seed=1, workers=1, use_tsp_fast_path=False).feasible
    assert built == [True]
    built.clear()
    solve_core(_optional(_line_instance(), 2), time_limit_s=0.4, seed=1, workers=1,
               use_tsp_fast_path=False)
    assert built == [False]


def test_forked_workers_build_their_own_models(
    run_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a worker's task names the instance it inherited and the model to build, in every
    # phase (the cut fleet of the elimination run too), instead of carrying a pickled
    # PyVRP model; the instance is let go after the solve
    monkeypatch.setattr(routing.core, "_run_pyvrp", _spy_run)
    res = solve_core(_line_instance(), time_limit_s=0.8, seed=1, workers=2,
                     use_tsp_fast_path=False)
    assert res.feasible
    runs = _runs(run_log)
    here = [r for r in runs if r["pid"] == os.getpid()]
    there = [r for r in runs if r["pid"] != os.getpid()]
    # phase 1, the elimination phase (this process continues, the worker cuts the
    # fleet) and the last phase
    assert len(here) == 3 and not any(r["named"] for r in here)
    assert len(there) == 3 and all(r["named"] for r in there)
    assert [r["vehicles"] < FLEET for r in there] == [False, True, False]
    assert routing.core._FORKED == {}



def _alternatives_day(shared: int) -> CoreInstance:
    """Three one-parcel stops, each as two alternatives: pinned to vehicle type 0
    (assignment dimension 1) or anyone's at a prize 50 lower; two vehicles of
    ``shared`` parcels each."""
    m = np.full((4, 4), 5, dtype=np.int64)
    np.fill_diagonal(m, 0)
    stays = tuple(CoreClient(k, (1, 1), required=False, prize=100) for k in (1, 2, 3))
    moves = tuple(CoreClient(k, (1, 0), required=False, prize=50) for k in (1, 2, 3))
    return CoreInstance(
        distances=(m,), durations=(m,), clients=stays + moves,
        vehicle_types=(CoreVehicleType(0, 0, (shared, 3)), CoreVehicleType(0, 0, (shared, 0))),
        assignment_dims=1, groups=((0, 3), (1, 4), (2, 5)),
    )


def test_a_stop_with_alternatives_counts_once_in_the_fleet_check() -> None:
    # three stops for 2 x 2 parcels fit, though six clients load 6 parcels; none is
    # pinned for good: the pinned alternatives do not make type 0 too small either
    assert not routing.core._fleet_too_small(_alternatives_day(2))
    assert routing.core._fleet_too_small(_alternatives_day(1))  # 3 stops, 2 parcels


def test_groups_are_alternatives_of_optional_clients() -> None:
    day = _alternatives_day(2)
    with pytest.raises(ValueError, match="group"):
        dataclasses.replace(day, groups=((0, 3), (3, 4)))  # a client in two groups
    with pytest.raises(ValueError, match="group"):
        dataclasses.replace(day, groups=((0,),))
    with pytest.raises(ValueError, match="required"):
        dataclasses.replace(day, clients=(dataclasses.replace(day.clients[0], required=True),
                                          *day.clients[1:]))
    # the all-required model requires one of each group and keeps the prize difference
    data = routing.core._build_data(day, all_required=True)
    assert [g.required for g in data.groups()] == [True] * 3
    assert [c.prize for c in data.clients()] == [50, 50, 50, 0, 0, 0]
    assert not any(c.required for c in data.clients())
    opt = routing.core._build_data(day)
    assert [g.required for g in opt.groups()] == [False] * 3
    assert [c.prize for c in opt.clients()] == [100] * 3 + [50] * 3
    # solved: each stop once; the first vehicle carries two of them by their pinned
    # (dearer) clients, and the third moves to the other vehicle as its alternative
    res = solve_core(day, time_limit_s=0.3, seed=1, workers=1, use_tsp_fast_path=False)
    assert res.feasible
    visits = {r.vehicle_type: sorted(r.visits) for r in res.routes}
    assert sorted(v % 3 for vs in visits.values() for v in vs) == [0, 1, 2]
    assert len(visits[0]) == 2 and all(v < 3 for v in visits[0])
    assert len(visits[1]) == 1 and visits[1][0] >= 3


def _timed_line(n: int = 6) -> CoreInstance:
    """``n`` stops 100 s apart on a line east of the depot (distance = travel time), 60 s
    of service each; two vehicles of 3 parcels and a third of 1 with a short shift."""
    line = _line_instance(n)
    return dataclasses.replace(
        line,
        clients=tuple(dataclasses.replace(c, service_s=60) for c in line.clients),
        vehicle_types=(CoreVehicleType(0, 0, (3,), tw_late=10_000, count=2),
                       CoreVehicleType(0, 0, (1,), tw_late=500)),
    )


def test_a_warm_start_gets_the_stops_it_leaves_out_where_they_fit() -> None:
    # clients 0-5 at 100-600 s out; the start routes 0 and 2 on one vehicle
    day = _timed_line()
    done = routing.core._completed_start(day, [(0, [0, 2])])
    # 1 goes between 0 and 2 (no detour), which fills that route (3 parcels); 3, 4, 5
    # open the second vehicle of type 0 (out and back in either order)
    assert done[0] == (0, [0, 1, 2]) and len(done) == 2
    assert done[1][0] == 0 and done[1][1] in ([3, 4, 5], [5, 4, 3])
    # a window closing before 1 can be reached after 0 puts it first instead
    early = dataclasses.replace(day, clients=(
        day.clients[0], dataclasses.replace(day.clients[1], tw_late=250), *day.clients[2:]))
    assert routing.core._completed_start(early, [(0, [0, 2])])[0] == (0, [1, 0, 2])
    # a shift that cannot take one more stop (the start ends at 720 s): they stay out
    short = dataclasses.replace(day, vehicle_types=(
        CoreVehicleType(0, 0, (3,), tw_late=760, count=1),))
    assert routing.core._completed_start(short, [(0, [0, 2])]) == [(0, [0, 2])]
    # past the deadline nothing more is placed; a start PyVRP would refuse stays as it is
    assert routing.core._completed_start(day, [(0, [0, 2])], deadline=0.0) == [(0, [0, 2])]
    for bad in ([(0, [0, 0])], [(0, [0, 9])], [(5, [0])]):
        assert routing.core._completed_start(day, bad) == bad


def test_a_warm_start_is_completed_however_long_the_model_took(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # the completion's share of the budget (5 %: 50 ms of 1 s) counts from its own start,
    # not from the solve's: a model that takes longer to build (0.2 s here; 0.17 s for a
    # 1 080-stop re-plan with 15 routing profiles) must not leave it no time at all
    build, complete = routing.core._build_data, routing.core._completed_start
    done: list[list[tuple[int, list[int]]]] = []

    def slow_build(*args: Any, **kwargs: Any) -> object:
        time.sleep(0.2)
        return build(*args, **kwargs)

    def spy(*args: Any) -> list[tuple[int, list[int]]]:
        done.append(complete(*args))
        return done[-1]

    monkeypatch.setattr(routing.core, "_build_data", slow_build)
    monkeypatch.setattr(routing.core, "_completed_start", spy)
    res = solve_core(_timed_line(), time_limit_s=1.0, seed=0, workers=1,
                     use_tsp_fast_path=False, initial=[(0, [0, 2])])
    assert res.feasible and len(done) == 1
    assert sorted(c for _, v in done[0] for c in v) == list(range(6))


def test_a_completed_warm_start_keeps_pins_and_counts_a_group_once() -> None:
    day = _alternatives_day(3)  # stops 0-2 pinned to type 0, 3-5 their alternatives
    done = routing.core._completed_start(day, [(1, [4])])  # stop 1 moved to type 1
    assert sorted(c for _, v in done for c in v) == [0, 2, 4]
    assert all(vt == 0 for vt, v in done if 0 in v or 2 in v)  # pinned: type 0 only


@pytest.mark.parametrize("metric", [True, False])
def test_a_completed_warm_start_is_feasible_when_the_start_is(metric: bool) -> None:
    # random days that just fit (each route exactly as long as its shift, then shifts
    # doubled for room), the start a random part of each route: the completed start
    # must stay a feasible plan, hold every client once, and keep every start visit
    rng = np.random.default_rng(21 + metric)
    inserted = 0
    for _ in range(60):
        day = _random_plan_day(rng, metric)
        day = dataclasses.replace(day, vehicle_types=tuple(
            dataclasses.replace(vt, tw_late=vt.tw_late + (vt.tw_late - vt.tw_early),
                                capacity=(vt.capacity[0] + 2,), count=vt.count + 1)
            for vt in day.vehicle_types))
        data = routing.core._build_data(day)
        given: dict[int, list[int]] = {}
        for k in rng.permutation(len(day.clients)).tolist():
            t = int(rng.integers(0, len(day.vehicle_types)))
            if rng.random() < 0.5 and len(given.setdefault(t, [])) < 3:
                given[t].append(k)
        start = [(t, v) for t, v in given.items() if v]
        if not start or routing.core._as_candidate(data, start) is None:
            continue
        done = routing.core._completed_start(day, start)
        visits = [c for _, v in done for c in v]
        assert len(visits) == len(set(visits))
        for (t, v), (t2, v2) in zip(start, done, strict=False):  # kept, in their order
            assert t2 == t and [c for c in v2 if c in v] == v
        assert routing.core._as_candidate(data, done) is not None, (start, done)
        inserted += len(visits) - sum(len(v) for _, v in start)
    assert inserted > 50  # the check is not vacuous


# --- a day too large for its budget: a greedy start, one phase ----------------------------


def _grid_day(n: int, vehicles: int, capacity: int, *, spread: int = 100) -> CoreInstance:
    """``n`` optional unit-demand clients on a grid ``spread`` m apart (0: all at one
    place), 60 s of service, every third with a two-hour window; ``vehicles`` of
    ``capacity`` from the depot, 08:00-18:00. Distance = duration (1 m/s)."""
    side = int(np.ceil(np.sqrt(n + 1)))
    xy = np.array([(i % side, i // side) for i in range(n + 1)], dtype=np.int64) * spread
    mat = np.abs(xy[:, None, :] - xy[None, :, :]).sum(axis=2)
    h = 3600
    clients = tuple(
        CoreClient(location=i, demand=(1,), service_s=60 if spread else 10,
                   tw_early=(8 + i % 8) * h if i % 3 == 0 else 0,
                   tw_late=(10 + i % 8) * h if i % 3 == 0 else routing.core.INF_TIME,
                   required=False, prize=10**7)
        for i in range(1, n + 1))
    vt = CoreVehicleType(start=0, end=0, capacity=(capacity,), tw_early=8 * h,
                         tw_late=18 * h, count=vehicles)
    return CoreInstance((mat,), (mat,), clients, (vt,))


def _feasible(inst: CoreInstance, routes: Any) -> bool:
    """Whether ``routes`` ((vehicle type, clients) pairs) are a feasible solution of
    the optional model: windows, shifts, every load dimension, groups."""
    from pyvrp import Route, Solution

    data = routing.core._build_data(inst)
    return bool(Solution(data, [Route(data, list(v), vt) for vt, v in routes if v]).is_feasible())


def test_a_day_too_large_for_its_budget_is_one_phase_from_a_greedy_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # 1 200 stops for 2 couriers at 0.5 s: PyVRP's descent from its random start (about
    # 7 s by PYVRP_START_S_PER_UNIT), which nothing interrupts, would overrun the budget
    seen: list[tuple[Any, dict[str, Any]]] = []

    def spy(data: Any, deadline: float, seed: int, initial: Any, *rest: Any,
            **kw: Any) -> Any:
        seen.append((initial, kw))
        return _real_run(data, deadline, seed, initial, *rest, **kw)

    monkeypatch.setattr(routing.core, "_run_pyvrp", spy)
    inst = _grid_day(1200, 2, 350)
    assert routing.core._slow_start(inst, 0.5)
    assert not routing.core._slow_start(inst, 5.0)  # 2 s over: PyVRP's own start
    res = solve_core(inst, time_limit_s=0.5, seed=0, workers=1)
    assert res.method == "pyvrp" and res.feasible
    ((start, kw),) = seen  # one phase
    assert kw.get("quick") is True
    assert sum(len(v) for _vt, v in start) > 300 and _feasible(inst, start)
    # a day PyVRP's start fits keeps its phases from a random start
    seen.clear()
    res = solve_core(_grid_day(150, 3, 250), time_limit_s=0.6, seed=0, workers=1)
    assert len(seen) >= 2 and seen[0][0] is None and not seen[0][1].get("quick")


def test_the_greedy_start_keeps_windows_loads_pins_and_groups() -> None:
    # two vehicle types; a stop pinned to type 0 (assignment dimension 1); three stops
    # as alternatives (pinned to type 1, or anyone's); windows; a capacity of 5
    base = _grid_day(40, 2, 5)
    clients = [dataclasses.replace(c, demand=(1, 0)) for c in base.clients]
    clients[0] = dataclasses.replace(clients[0], demand=(1, 1))
    groups = []
    for k in (1, 2, 3):
        clients[k] = dataclasses.replace(clients[k], demand=(1, 2))
        clients.append(dataclasses.replace(clients[k], demand=(1, 0), prize=10**7 - 500))
        groups.append((k, len(clients) - 1))
    vt = base.vehicle_types[0]
    inst = dataclasses.replace(
        base, clients=tuple(clients), assignment_dims=1, groups=tuple(groups),
        vehicle_types=(dataclasses.replace(vt, capacity=(5, 1), count=2),
                       dataclasses.replace(vt, capacity=(5, 2), count=2)))
    start = routing.core._greedy_start(inst)
    assert _feasible(inst, start)
    served = [c for _vt, v in start for c in v]
    assert len(served) == len(set(served)) > 10
    assert all(vt == 0 for vt, v in start if 0 in v)  # the pinned stop
    assert all(sum(c in v for c in g) <= 1 for _vt, v in start for g in groups)


def test_stops_at_one_place_are_planned_greedily_past_pyvrp() -> None:
    # 1 000 stops at one place, 10 s each: the greedy start puts them all on one route,
    # and from such a start single PyVRP iterations took seconds (1-230 s at 2 000 stops)
    inst = _grid_day(1000, 2, 1000, spread=0)
    res = solve_core(inst, time_limit_s=1.0, seed=0, workers=1)
    assert res.method == "greedy" and res.feasible
    assert sorted(c for r in res.routes for c in r.visits) == list(range(1000))
    assert _feasible(inst, [(r.vehicle_type, r.visits) for r in res.routes])


# --- a few stops: PyVRP stops once it has settled ------------------------------------------


def test_the_stopping_criterion_waits_for_a_feasible_plan_then_its_patience() -> None:
    stop = routing.core._DeadlineStop(time.monotonic() + 3600, None, time.monotonic(),
                                      patience=3)
    infeasible = routing.core._PYVRP_INFEASIBLE
    assert not any(stop(infeasible) for _ in range(10))  # no feasible plan yet: on
    assert [stop(c) for c in (500.0, 500.0, 400.0, 400.0, 400.0, 400.0)] == [
        False, False, False, False, False, True]
    impatient = routing.core._DeadlineStop(time.monotonic() + 3600, None, time.monotonic())
    assert not any(impatient(100.0) for _ in range(100_000))


def test_a_few_stops_for_a_fleet_return_once_pyvrp_has_settled() -> None:
    # 12 stops for 5 vehicles (beyond the exact search): PyVRP had its plan after a few
    # hundred iterations and searched on for the whole budget
    inst = _line_instance()
    assert len(inst.clients) <= routing.core.PATIENT_MAX_CLIENTS
    t0 = time.monotonic()
    res = solve_core(inst, time_limit_s=60.0, seed=1, workers=1)
    assert time.monotonic() - t0 < 20.0  # far from the budget: a stalled CI host is no failure
    assert res.method == "pyvrp" and res.feasible
