"""Pins as load dimensions: a stop pinned to a courier loads dimensions only that
courier has room in (``routing.solver._pin_codes``), with PyVRP's penalty for them
held at its maximum (``routing.core._fixed_penalty_manager``)."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pytest

import routing.core
import routing.solver
from routing import (
    Capacity,
    CoreClient,
    CoreInstance,
    CoreResult,
    CoreRoute,
    CoreVehicleType,
    Demand,
    Problem,
    SolverParams,
    UnassignedReason,
    solve,
)
from routing.core import PYVRP_MAX_PENALTY, load_units
from routing.solver import _pin_codes

from .conftest import OFFICE, courier, load_json, stop_near_office


@pytest.mark.parametrize(("couriers", "dims"), [
    (1, 1), (2, 2), (3, 3), (4, 4), (6, 4), (7, 5), (10, 5), (11, 6), (20, 6), (21, 7),
    (35, 7), (36, 8), (70, 8), (71, 9), (100, 9),
])
def test_pin_codes_tell_every_courier_apart(couriers: int, dims: int) -> None:
    ids = [f"c{k}" for k in range(couriers)]
    codes = _pin_codes(ids)
    assert sorted(codes) == sorted(ids)
    words = [set(w) for w in codes.values()]
    assert set().union(*words) == set(range(dims))  # as few dimensions as the count needs
    assert len({len(w) for w in words}) == 1 and all(words)
    # a stop pinned to a loads a dimension every other courier b has no room in
    for a, b in itertools.permutations(words, 2):
        assert not a <= b
    assert _pin_codes([]) == {}


def test_pins_hold_where_breaking_them_saves_most() -> None:
    # twelve couriers, each with its own street east or west of the office; every
    # courier's first stop is pinned to the courier of the street opposite (6 pin
    # dimensions): serving it from the street it lies on would save kilometres
    couriers = tuple(courier(f"c{k}") for k in range(12))
    stops = []
    for k in range(12):
        side = 1 if k % 2 else -1
        for j in range(4):
            pin = f"c{k ^ 1}" if j == 0 else None
            stops.append(stop_near_office(f"s{k}-{j}", 0.002 * (k // 2 + 1),
                                          side * (0.01 + 0.002 * j), courier_id=pin))
    problem = Problem(OFFICE, tuple(stops), couriers)
    plan = solve(problem, SolverParams(time_limit_s=1.0, seed=2, workers=1))
    assert plan.feasible and not plan.unassigned
    on = plan.couriers_of_stops()
    for s in stops:
        if s.courier_id is not None:
            assert on[s.id] == s.courier_id, s.id
    # and without the pins the plan is shorter: the pins were a real constraint
    free = dataclasses.replace(problem, stops=tuple(
        dataclasses.replace(s, courier_id=None) for s in stops))
    assert solve(free, SolverParams(time_limit_s=1.0, seed=2, workers=1)).distance_m < (
        plan.distance_m)


def test_a_full_courier_leaves_a_pinned_stop_out_rather_than_hand_it_over() -> None:
    # three one-parcel stops pinned to a courier with room for two, another courier
    # with room to spare next to them, and a new stop: one pinned stop is left out
    stops = tuple(
        stop_near_office(f"p{j}", 0.003, 0.003 * j, courier_id="a", committed=True,
                         demand=Demand(1, 100))
        for j in range(3)
    ) + (stop_near_office("new", -0.003, 0.0, demand=Demand(1, 100)),)
    problem = Problem(OFFICE, stops, (
        courier("a", capacity=Capacity(2, 10_000)), courier("b")))
    plan = solve(problem, SolverParams(time_limit_s=0.5, seed=1, workers=1))
    on = plan.couriers_of_stops()
    assert [u.reason for u in plan.unassigned] == [UnassignedReason.NO_CAPACITY_LEFT]
    assert plan.unassigned[0].stop_id.startswith("p")
    assert all(on[s.id] == "a" for s in stops if s.id in on and s.courier_id)
    assert on["new"] == "b"


def test_a_pinned_stop_a_timed_out_search_put_on_another_route_is_not_served(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stops = (stop_near_office("mine", 0.003, 0.0, courier_id="a"),
             stop_near_office("free", -0.003, 0.0))
    problem = Problem(OFFICE, stops, (courier("a"), courier("b")))

    def wrong(inst: CoreInstance, **_kw: Any) -> CoreResult:
        # the search gave up with "mine" on b's route (vehicle type 1: b, no pins)
        assert inst.assignment_dims == 1
        b = next(t for t, vt in enumerate(inst.vehicle_types) if vt.capacity[-1] == 0)
        return CoreResult((CoreRoute(b, (0, 1)),), 0, False, "pyvrp", 0.1)

    monkeypatch.setattr(routing.solver, "solve_core", wrong)
    plan = solve(problem, SolverParams(time_limit_s=0.3, seed=1, workers=1))
    assert plan.couriers_of_stops() == {"free": "b"}
    assert [(u.stop_id, u.reason) for u in plan.unassigned] == [
        ("mine", UnassignedReason.NO_TIME_LEFT)]


def _instance(prize: int, assignment_dims: int = 1) -> CoreInstance:
    m = np.array([[0, 10, 10], [10, 0, 10], [10, 10, 0]], dtype=np.int64)
    return CoreInstance(
        distances=(m,), durations=(m,),
        clients=(CoreClient(1, (1, 1), required=False, prize=prize),
                 CoreClient(2, (1, 0), required=False, prize=prize)),
        vehicle_types=(CoreVehicleType(0, 0, (5, 1)), CoreVehicleType(0, 0, (5, 0))),
        assignment_dims=assignment_dims,
    )


@pytest.mark.parametrize("all_required", [False, True])
def test_one_pinned_stop_over_costs_more_than_any_prize(all_required: bool) -> None:
    for prize in (10, 250_000, 10**9):
        units = load_units(_instance(prize), all_required)
        assert units[1] * PYVRP_MAX_PENALTY > prize
        assert units[1] == prize // PYVRP_MAX_PENALTY + 1


def test_assignment_dims_cannot_exceed_the_load_dimensions() -> None:
    with pytest.raises(ValueError, match="assignment"):
        _instance(10, assignment_dims=3)


def test_the_penalty_of_a_pin_dimension_stays_at_its_maximum() -> None:
    from pyvrp import PenaltyParams, Route, Solution

    data: Any = routing.core._build_data(_instance(10))
    params = PenaltyParams(solutions_between_updates=10)
    pm = routing.core._fixed_penalty_manager(data, params, [1])
    feasible = Solution(data, [Route(data, [0, 1], 0)])
    assert feasible.is_feasible()
    for _ in range(200):  # all feasible: PyVRP lowers every penalty it manages
        pm.register(feasible)
    loads, _tw, _dist = pm.penalties()
    assert loads[0] < params.max_penalty / 2 and loads[1] < params.max_penalty / 2
    evaluator = pm.cost_evaluator()
    assert evaluator.load_penalty(2, 1, 1) == int(params.max_penalty)  # one unit over
    assert evaluator.load_penalty(2, 1, 0) < int(params.max_penalty)  # parcels adapt


@pytest.mark.parametrize("seed", [0, 1, 3])
def test_a_pinned_stop_far_from_the_rest_of_its_route_is_not_left_out(seed: int) -> None:
    # the demo day at noon (10 couriers, 176 stops, many pinned): BA840452924VN, a
    # 121 g parcel without a window in courier 8's bag, lies among stops of other
    # couriers' routes. PyVRP inserts a stop only next to one of its nearest stops
    # (granular neighbourhood), where it broke its pin: it was never tried on courier
    # 8's route, which ended at 15:15 with room to spare, and was left out as "no time
    # left" (off the route on the courier's phone). Its pin mates are its neighbours now.
    problem = Problem.from_dict(load_json("days/demo_noon_pins"))
    plan = solve(problem, SolverParams(time_limit_s=0.5, seed=seed))
    assert "BA840452924VN" in plan.route_of("8").stop_ids
