"""Stops already on their courier's vehicle (``Stop.on_board``: out for delivery, in
the bag). Leaving one out frees no room: a plan used to drop heavy parcels from a
courier's bag to take more light ones from the office, so the parcels the courier was
carrying fell off their route (the demo day: 5 of 10 stops left out for capacity)."""

from __future__ import annotations

import pytest

from routing import (
    Capacity,
    Courier,
    Demand,
    InvalidProblemError,
    Problem,
    TimeWindow,
    reoptimize,
    solve,
)
from routing.evaluate import RouteIssueCode, route_issues

from .conftest import OFFICE, SMALL, H, stop_near_office

SHIFT = TimeWindow(8 * H, 18 * H)


def day(bag_kg: float, capacity_kg: float, *, on_board: bool = True) -> Problem:
    """Two parcels of ``bag_kg`` each in courier c1's bag, four light new ones (2 kg)
    at the office closer by, a capacity of ``capacity_kg``."""
    bag = [stop_near_office(f"bag{i}", 0.02, 0.02 * i, courier_id="c1", committed=True,
                            on_board=on_board, demand=Demand(1, int(bag_kg * 1000)))
           for i in range(2)]
    new = [stop_near_office(f"new{i}", 0.002 * (i + 1), 0.0, demand=Demand(1, 2000))
           for i in range(4)]
    return Problem(OFFICE, (*bag, *new), (
        Courier("c1", SHIFT, Capacity(parcels=60, weight_g=int(capacity_kg * 1000))),))


def test_a_bag_parcel_is_not_left_out_to_take_more_new_ones() -> None:
    # committed alone: dropping one 8 kg bag parcel makes room for all four new ones,
    # five stops served against four; that is what plans did
    before = solve(day(8, 20, on_board=False), SMALL)
    assert len(before.routes[0].visits) == 5
    assert {u.stop_id for u in before.unassigned} & {"bag0", "bag1"}
    plan = solve(day(8, 20), SMALL)
    route = plan.routes[0]
    served = set(route.stop_ids)
    assert {"bag0", "bag1"} <= served and len(served) == 4  # 16 kg on board, 4 kg left
    assert route.weight_g == 20_000 and route.parcels == 4 and plan.feasible
    # what is on board leaving each stop: the true loads, the bag's included
    left = 20_000
    for v in route.visits:
        left -= 8000 if v.stop_id.startswith("bag") else 2000
        assert v.load_weight_g == left
    assert sorted(u.reason.value for u in plan.unassigned) == ["no_capacity_left"] * 2


def test_a_bag_over_the_capacity_stays_on_its_route_and_says_so() -> None:
    plan = solve(day(8, 10), SMALL)
    route = plan.routes[0]
    assert set(route.stop_ids) == {"bag0", "bag1"} and route.weight_g == 16_000
    assert not plan.feasible
    problem = day(8, 10)
    assert [i.code for i in route_issues(problem, route)] == [RouteIssueCode.OVER_WEIGHT]


def test_re_optimising_keeps_the_bag_whatever_it_weighs() -> None:
    problem = day(8, 10)
    plan = reoptimize(problem, "c1", OFFICE.location, [], now_s=9 * H, params=SMALL)
    assert {"bag0", "bag1"} <= set(plan.routes[0].stop_ids)
    kept = reoptimize(problem, "c1", OFFICE.location, [], now_s=9 * H, keep_next="bag1",
                      params=SMALL)
    assert list(kept.routes[0].stop_ids) == ["bag1", "bag0"]
    assert kept.routes[0].weight_g == 16_000


def test_on_board_needs_its_courier() -> None:
    two = (Courier("c1", SHIFT), Courier("c2", SHIFT))
    with pytest.raises(InvalidProblemError, match=r"stops\[0\]\.on_board"):
        Problem(OFFICE, (stop_near_office("s", 0.01, 0.01, on_board=True),), two)
    # one courier: it is theirs
    Problem(OFFICE, (stop_near_office("s", 0.01, 0.01, on_board=True),), two[:1])
    with pytest.raises(InvalidProblemError, match="on_board"):
        stop_near_office("s", 0.01, 0.01, on_board="yes")
    data = {"office": {"location": {"lat": 12.245, "lon": 109.194}},
            "stops": [{"id": "s", "location": {"lat": 12.25, "lon": 109.19},
                       "courier_id": "c1", "on_board": True}],
            "couriers": [{"id": "c1", "shift": {"open_s": 28800, "close_s": 64800}}]}
    assert Problem.from_dict(data).stops[0].on_board is True


def test_a_parcel_too_heavy_beside_the_bag_has_no_capacity_left() -> None:
    """It fits the motorbike, not beside what is on board: not "demand exceeds every
    courier's capacity"."""
    problem = day(8, 20)
    heavy = stop_near_office("heavy", 0.001, 0.001, courier_id="c1",
                             demand=Demand(1, 10_000))
    plan = solve(Problem(OFFICE, (*problem.stops, heavy), problem.couriers), SMALL)
    assert {u.stop_id: u.reason.value for u in plan.unassigned}["heavy"] == "no_capacity_left"
    monster = stop_near_office("monster", 0.001, 0.001, demand=Demand(1, 30_000))
    plan = solve(Problem(OFFICE, (*problem.stops, monster), problem.couriers), SMALL)
    reasons = {u.stop_id: u.reason.value for u in plan.unassigned}
    assert reasons["monster"] == "demand_exceeds_capacity"
