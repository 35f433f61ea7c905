"""Committed stops (``Stop.committed``: already promised to a courier) and warm starts
on days that cannot fit every stop (docs/routing.md, "Committed stops")."""

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
import routing.solver
from routing import (
    MAX_MOVE_COST_M,
    Capacity,
    CoreClient,
    CoreInstance,
    CoreVehicleType,
    Demand,
    InvalidProblemError,
    Problem,
    SolverParams,
    Stop,
    solve,
    solve_core,
)

from .conftest import OFFICE, SMALL, captured_instance, courier, random_stops, stop_near_office


def _stop(sid: str, dlat: float, dlon: float, **kw: Any) -> Stop:
    kw.setdefault("demand", Demand(1, 1_000))
    return stop_near_office(sid, dlat, dlon, **kw)


# ------------------------------------------------------------------------- the model


def test_committed_is_a_boolean_defaulting_to_false() -> None:
    assert _stop("s", 0.001, 0.001).committed is False
    with pytest.raises(InvalidProblemError, match="committed"):
        _stop("s", 0.001, 0.001, committed=1)
    problem = Problem.from_dict({
        "office": {"location": {"lat": 12.245, "lon": 109.194}},
        "stops": [{"id": "s", "location": {"lat": 12.25, "lon": 109.19}, "committed": True}],
        "couriers": [{"id": "c", "shift": {"open_s": 28_800, "close_s": 61_200}}]})
    assert problem.stops[0].committed is True
    with pytest.raises(InvalidProblemError, match=r"stops\[0\]\.committed"):
        Problem.from_dict({
            "office": {"location": {"lat": 12.245, "lon": 109.194}},
            "stops": [{"id": "s", "location": {"lat": 12.25, "lon": 109.19},
                       "committed": "yes"}],
            "couriers": [{"id": "c", "shift": {"open_s": 28_800, "close_s": 61_200}}]})


def test_prizes_are_unchanged_unless_committed_and_new_stops_mix() -> None:
    base = 1_000
    plain = [_stop(f"s{p}", 0.001, 0.001, priority=p) for p in range(3)]
    want = [base, 10 * base, 100 * base]
    assert routing.solver._prizes(plain, base) == want
    every = [dataclasses.replace(s, committed=True) for s in plain]
    assert routing.solver._prizes(every, base) == want  # all alike: the same model
    mixed = [plain[0], every[0], plain[1], every[1]]
    assert routing.solver._prizes(mixed, base) == [4_000, 6_000, 40_000, 60_000]


def test_no_committed_stop_leaves_the_instance_as_it_was(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Benchmarks and plans without the field solve exactly the instance they did."""
    stops = random_stops(12, seed=2)
    couriers = (courier("a", capacity=Capacity(5, 200_000)), courier("b"))
    plain = captured_instance(monkeypatch, params=SMALL, problem=Problem(OFFICE, stops, couriers))
    every = captured_instance(monkeypatch, params=SMALL, problem=Problem(
        OFFICE, tuple(dataclasses.replace(s, committed=True) for s in stops), couriers))
    assert plain.clients == every.clients
    prizes = {c.prize for c in plain.clients}
    assert len(prizes) == 1
    prize = prizes.pop()
    some = captured_instance(monkeypatch, params=SMALL, problem=Problem(OFFICE, tuple(
        dataclasses.replace(s, committed=n % 2 == 0) for n, s in enumerate(stops)), couriers))
    assert [c.prize for c in some.clients] == [
        (6 if n % 2 == 0 else 4) * prize for n in range(len(stops))]


# ------------------------------------------------------------------ what gets served


@pytest.mark.parametrize("pinned", [False, True])
def test_room_for_one_stop_goes_to_the_committed_one(pinned: bool) -> None:
    """The courier carries one parcel: the committed stop is served though the new one
    is much nearer (without the field the nearer one wins: checked). Pinned to the
    courier or not, the same."""
    near = _stop("near", 0.002, 0.0)
    far = _stop("far", 0.0, 0.02, courier_id="a" if pinned else None)
    couriers = (courier("a", capacity=Capacity(1, 200_000)),)
    plain = solve(Problem(OFFICE, (near, far), couriers), SMALL)
    assert list(plain.couriers_of_stops()) == ["near"]
    promised = dataclasses.replace(far, committed=True)
    plan = solve(Problem(OFFICE, (near, promised), couriers), SMALL)
    assert plan.couriers_of_stops() == {"far": "a"}
    assert [(u.stop_id, u.reason.value) for u in plan.unassigned] == [
        ("near", "no_capacity_left")]


def test_two_new_stops_beat_one_committed_even_far_away() -> None:
    """Room for two parcels: the committed stop (two parcels, next to the office) or
    the two new ones (one each, at the far end of the area). Serving more stops wins,
    though the two new ones cost the longest detour the area has: a committed stop is
    worth less than two new ones by more than any two detours."""
    promised = _stop("promised", 0.001, 0.0, demand=Demand(2, 1_000), committed=True)
    n1 = _stop("n1", 0.0, 0.04)
    n2 = _stop("n2", 0.001, 0.04)
    couriers = (courier("a", capacity=Capacity(2, 200_000)),)
    plan = solve(Problem(OFFICE, (promised, n1, n2), couriers), SMALL)
    assert sorted(plan.couriers_of_stops()) == ["n1", "n2"]
    assert [u.stop_id for u in plan.unassigned] == ["promised"]


def test_a_higher_priority_outweighs_being_committed() -> None:
    """One place: a new high-priority stop beats a committed normal one; a committed
    high-priority stop beats two new normal ones (room for two parcels, it has two)."""
    couriers = (courier("a", capacity=Capacity(1, 200_000)),)
    promised = _stop("promised", 0.002, 0.0, committed=True)
    urgent = _stop("urgent", 0.0, 0.02, priority=1)
    plan = solve(Problem(OFFICE, (promised, urgent), couriers), SMALL)
    assert list(plan.couriers_of_stops()) == ["urgent"]

    couriers = (courier("a", capacity=Capacity(2, 200_000)),)
    promised = _stop("promised", 0.0, 0.02, demand=Demand(2, 1_000), priority=1,
                     committed=True)
    plan = solve(Problem(OFFICE, (promised, _stop("n1", 0.001, 0.0),
                                  _stop("n2", 0.0, 0.001)), couriers), SMALL)
    assert list(plan.couriers_of_stops()) == ["promised"]


@pytest.mark.parametrize("move_cost", [5_000, MAX_MOVE_COST_M])
def test_a_committed_stop_is_moved_rather_than_dropped_for_a_new_one(move_cost: int) -> None:
    """A and B take one parcel each. A is preferred by two committed stops; a new stop
    lies next to B. Without the field B serves the new stop (moving a committed one
    to B costs more than the detour); with it, the second committed stop moves to B
    and the new one is left out: being committed outweighs the move cost. At the
    largest move cost the committed stop's prize (~620 000) is above PyVRP's largest
    penalty for a parcel over capacity: the search found this plan only once parcels
    were counted finer (``load_units``)."""
    couriers = (courier("a", capacity=Capacity(1, 200_000)),
                courier("b", capacity=Capacity(1, 200_000)))
    stops = (_stop("c1", 0.0, -0.01, preferred_courier="a"),
             _stop("c2", 0.001, -0.011, preferred_courier="a"),
             _stop("new", 0.0, 0.002))
    plain = solve(Problem(OFFICE, stops, couriers, move_cost_m=move_cost), SMALL)
    assert plain.couriers_of_stops()["new"] == "b"
    committed = tuple(dataclasses.replace(s, committed=s.id != "new") for s in stops)
    plan = solve(Problem(OFFICE, committed, couriers, move_cost_m=move_cost), SMALL)
    served = plan.couriers_of_stops()
    assert sorted(served) == ["c1", "c2"] and sorted(served.values()) == ["a", "b"]
    assert [u.stop_id for u in plan.unassigned] == ["new"]


def test_a_load_dimension_is_counted_finer_where_a_prize_outweighs_its_penalty() -> None:
    """One unit of excess load costs PyVRP at most 100 000: with a larger prize, one
    parcel over capacity would be cheaper than leaving a stop out. The parcels are
    then counted in units that make one client's excess cost up to its prize (the
    weight, in grams, already does); the all-required model and small prizes are
    unchanged."""
    inst = _line()
    assert routing.core.load_units(inst) == [1]
    big = dataclasses.replace(inst, clients=tuple(
        dataclasses.replace(c, demand=(1, 1_500), prize=650_000) for c in inst.clients),
        vehicle_types=(CoreVehicleType(start=0, end=0, capacity=(3, 10_000), count=2),))
    assert routing.core.load_units(big) == [7, 1]
    assert routing.core.load_units(big, all_required=True) == [1, 1]
    data = routing.core._build_data(big)
    assert [list(c.delivery) for c in data.clients()][:1] == [[7, 1_500]]
    assert list(data.vehicle_type(0).capacity) == [21, 10_000]


def test_a_timed_out_plan_drops_new_stops_before_committed_ones() -> None:
    """The repair after a timeout (an overloaded route): among stops of one priority,
    the new ones go first."""
    c = courier("a", capacity=Capacity(2, 200_000))
    stops = [_stop("c1", 0.001, 0.0, committed=True), _stop("n1", 0.002, 0.0),
             _stop("c2", 0.003, 0.0, committed=True), _stop("n2", 0.004, 0.0)]
    problem = Problem(OFFICE, tuple(stops), (c,))
    layout = routing.solver._layout(problem)
    mat = routing.HaversineProvider().matrix(layout.points, c.speed)
    route, dropped = routing.solver._repair(
        c, 0, [(s, layout.stop_loc[i]) for i, s in enumerate(stops)], mat)
    assert [v.stop_id for v in route.visits] == ["c1", "c2"]
    assert sorted(s.id for s, _reason in dropped) == ["n1", "n2"]


# ------------------------------------------------- a warm start on a day that cannot fit


def _line(n: int = 8) -> CoreInstance:
    """``n`` optional unit-demand clients on a line east of the depot, prize 10 000
    (more than any detour); two vehicles of 3: phase 1 (every client required) has no
    feasible plan."""
    xs = np.arange(n + 1, dtype=np.int64) * 100
    mat = np.abs(xs[:, None] - xs[None, :])
    return CoreInstance(
        distances=(mat,),
        durations=(mat,),
        clients=tuple(CoreClient(location=i, demand=(1,), required=False, prize=10_000)
                      for i in range(1, n + 1)),
        vehicle_types=(CoreVehicleType(start=0, end=0, capacity=(3,), count=2),),
    )


_LOG = "ROUTING_TEST_COMMITTED_LOG"
_real_run = routing.core._run_pyvrp


def _cold_phase1_idle_last(data: Any, deadline: float, seed: int, initial: Any,
                           *rest: Any) -> Any:
    """Phase 1 (every client required) searches from scratch, and its best is its own
    infeasible plan (as it is on the demo day when it does not start from the warm
    start); the last phase (optional clients) does not search at all: it returns the
    plan it starts from. So the result is whatever the last phase starts from or is
    given as a candidate."""
    data = routing.core._model(data)  # a worker's task names its model (routing.core._Model)
    required = all(c.required for c in data.clients())
    if required:
        out = _real_run(data, deadline, seed, None, *rest)
    else:
        out = _real_run(data, time.monotonic(), seed, initial, *rest)
    with open(os.environ[_LOG], "a", encoding="utf-8") as fh:  # also from forked workers
        fh.write(json.dumps({
            "required": required, "feasible": bool(out[1]),
            "initial": [[int(vt), [int(c) for c in v]] for vt, v in initial or []]}) + "\n")
    return out


@pytest.fixture
def run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "runs.jsonl"
    monkeypatch.setenv(_LOG, str(path))
    monkeypatch.setattr(routing.core, "LOAD_AWARE_WORKERS", False)
    monkeypatch.setattr(routing.core, "_run_pyvrp", _cold_phase1_idle_last)
    return path


def _late_line() -> CoreInstance:
    """:func:`_line` with room for every client (two vehicles of 4), but the two
    farthest clients' windows close before anyone can get there: phase 1 (every client
    required) has no feasible plan, though the load alone would fit (a day the fleet
    cannot carry skips that phase: ``test_phases.py``)."""
    base = _line()
    clients = [dataclasses.replace(c, tw_late=50) if k >= 6 else c
               for k, c in enumerate(base.clients)]
    return dataclasses.replace(base, clients=tuple(clients), vehicle_types=(
        dataclasses.replace(base.vehicle_types[0], capacity=(4,)),))


@pytest.mark.parametrize("workers", [1, 2])
def test_the_last_phase_keeps_a_feasible_warm_start(run_log: Path, workers: int) -> None:
    """Phase 1 finds no complete plan and its best is not the warm start: the last
    phase still starts from the warm start (this process) and the warm start is a
    candidate, so the result is at least as good: here, the warm start itself (the
    last phase does not search)."""
    inst = _late_line()
    assert not routing.core._fleet_too_small(inst)
    warm = [(0, [0, 1, 2]), (0, [3, 4, 5])]
    res = solve_core(inst, time_limit_s=0.6, seed=1, workers=workers,
                     use_tsp_fast_path=False, initial=warm)
    assert res.feasible
    assert sorted(r.visits for r in res.routes) == [(0, 1, 2), (3, 4, 5)]
    runs = [json.loads(line) for line in run_log.read_text().splitlines()]
    phase1 = [r for r in runs if r["required"]]
    last = [r for r in runs if not r["required"]]
    assert len(phase1) == len(last) == workers
    assert not any(r["feasible"] for r in phase1)
    # this process's last run started from the warm start (the others from phase 1's)
    assert sum(r["initial"] == [[0, [0, 1, 2]], [0, [3, 4, 5]]] for r in last) == 1


def test_only_a_feasible_warm_start_is_a_candidate() -> None:
    """A warm start over capacity is no candidate; a feasible one is, at its cost under
    the model (travel and the prizes of the clients it leaves out)."""
    data = routing.core._build_data(_line())
    assert routing.core._as_candidate(data, [(0, [0, 1, 2, 3]), (0, [4, 5])]) is None
    assert routing.core._as_candidate(data, None) is None
    cand = routing.core._as_candidate(data, [(0, [0, 1, 2]), (0, [3, 4, 5])])
    assert cand is not None
    cost, feasible, routes, _iterations = cand
    assert feasible and routes == [(0, [0, 1, 2]), (0, [3, 4, 5])]
    assert cost == 2 * 300 + 2 * 600 + 2 * 10_000


def test_a_replan_from_the_optimum_keeps_every_committed_stop() -> None:
    """The real search: a weight-bound day re-planned from its own plan, every routed
    stop committed (and pinned, as the API's default re-plan does) and three new stops
    added: no committed stop is dropped for a new one, and the distance is no longer
    than the warm start's unless it serves more stops."""
    stops = random_stops(24, seed=11)
    couriers = (courier("a", capacity=Capacity(8, 200_000)),
                courier("b", capacity=Capacity(8, 200_000)))
    params = SolverParams(time_limit_s=1.0, seed=5, workers=1)
    first = solve(Problem(OFFICE, stops[:20], couriers), params)
    served = first.couriers_of_stops()
    assert len(served) == 16  # four left out: the couriers carry 16 parcels
    again = tuple(
        dataclasses.replace(s, courier_id=served[s.id], committed=True) if s.id in served
        else s for s in stops)
    plan = solve(Problem(OFFICE, again, couriers), params, initial=first)
    now = plan.couriers_of_stops()
    assert {s: now.get(s) for s in served} == served
    assert len(now) == 16
    assert plan.distance_m <= first.distance_m
