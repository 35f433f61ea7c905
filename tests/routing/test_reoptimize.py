"""reoptimize(): re-plan the rest of a route in progress."""

from __future__ import annotations

import dataclasses

import pytest

from routing import (
    Capacity,
    Demand,
    HaversineProvider,
    InvalidProblemError,
    LatLon,
    Problem,
    Stop,
    TimeWindow,
    UnassignedReason,
    reoptimize,
    solve,
)
from routing.evaluate import route_issues

from .conftest import FAST, OFFICE, H, courier, random_stops, stop_near_office

PROVIDER = HaversineProvider(radius_m=6_371_008.8)


@pytest.fixture
def day() -> tuple[Problem, list[str]]:
    problem = Problem(OFFICE, random_stops(15, seed=21, tw_frac=0.2), (courier("c1"),))
    plan = solve(problem, FAST, provider=PROVIDER)
    assert not plan.unassigned
    return problem, list(plan.routes[0].stop_ids)


def test_keeps_done_out_and_next_first(day: tuple[Problem, list[str]]) -> None:
    problem, order = day
    done, heading = order[:5], order[6]  # courier skipped order[5] for now
    position = problem.stop(order[4]).location
    now = 10 * H
    plan = reoptimize(
        problem,
        "c1",
        position,
        done,
        keep_next=heading,
        now_s=now,
        params=FAST,
        provider=PROVIDER,
    )
    (route,) = plan.routes
    assert route.stop_ids[0] == heading
    assert not set(done) & set(route.stop_ids)
    assert sorted(route.stop_ids) == sorted(set(order) - set(done))
    assert route.start_s == now
    leg = PROVIDER.matrix([position, problem.stop(heading).location])
    assert route.visits[0].arrival_s == now + leg.duration_s[0, 1]
    assert route.visits[0].travel_distance_m == leg.distance_m[0, 1]
    # the remaining legs continue from the kept stop
    assert route.visits[1].arrival_s >= route.visits[0].departure_s
    assert route.parcels == len(route.visits)


def test_without_keep_next_starts_at_position(day: tuple[Problem, list[str]]) -> None:
    problem, order = day
    position = LatLon(12.26, 109.20)
    plan = reoptimize(
        problem,
        "c1",
        position,
        order[:3],
        now_s=9 * H,
        params=FAST,
        provider=PROVIDER,
        current_order=order[3:],
    )
    (route,) = plan.routes
    assert sorted(route.stop_ids) == sorted(order[3:])
    first = route.visits[0]
    m = PROVIDER.matrix([position, problem.stop(first.stop_id).location])
    assert first.travel_distance_m == m.distance_m[0, 1]
    assert route.start_s == 9 * H


def test_only_kept_stop_left(day: tuple[Problem, list[str]]) -> None:
    problem, order = day
    plan = reoptimize(
        problem,
        "c1",
        LatLon(12.25, 109.19),
        order[:-1],
        keep_next=order[-1],
        now_s=12 * H,
        params=FAST,
        provider=PROVIDER,
    )
    (route,) = plan.routes
    assert route.stop_ids == (order[-1],)
    assert route.end_s > route.visits[0].departure_s  # back to the office


def test_after_shift_end_everything_unassigned(day: tuple[Problem, list[str]]) -> None:
    problem, order = day
    plan = reoptimize(problem, "c1", LatLon(12.25, 109.19), order[:2], now_s=19 * H, params=FAST)
    assert not plan.routes
    assert len(plan.unassigned) == len(order) - 2
    assert {u.reason for u in plan.unassigned} <= {
        UnassignedReason.NOT_REACHABLE,
        UnassignedReason.WINDOW_BEFORE_SHIFTS,
    }


def test_other_couriers_pins_are_ignored() -> None:
    stops = list(random_stops(6, seed=1))
    stops[0] = dataclasses.replace(stops[0], courier_id="c2")
    problem = Problem(OFFICE, tuple(stops), (courier("c1"), courier("c2")))
    plan = reoptimize(problem, "c1", LatLon(12.25, 109.19), [], now_s=9 * H, params=FAST)
    assert "s0" not in plan.routes[0].stop_ids
    assert len(plan.routes[0].visits) == 5


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"courier_id": "nobody"}, "courier_id"),
        ({"done_stop_ids": ["zz"]}, "done_stop_ids"),
        ({"keep_next": "zz"}, "keep_next"),
        ({"keep_next": "s0", "done_stop_ids": ["s0"]}, "keep_next"),
        ({"now_s": -5}, "now_s"),
        ({"position": (1.0, 2.0)}, "position"),
    ],
)
def test_bad_arguments(kwargs: dict[str, object], path: str) -> None:
    problem = Problem(OFFICE, random_stops(3), (courier("c1"),))
    args: dict[str, object] = {
        "courier_id": "c1",
        "position": LatLon(12.25, 109.19),
        "done_stop_ids": [],
        "now_s": 9 * H,
    }
    args.update(kwargs)
    with pytest.raises(InvalidProblemError) as info:
        reoptimize(problem, params=FAST, **args)  # type: ignore[arg-type]
    assert info.value.path == path


def _three_stops(**kw: object) -> tuple[Stop, ...]:
    return tuple(stop_near_office(f"s{i}", 0.003 * (i + 1), 0.0, **kw) for i in range(3))


def test_keep_next_counts_against_the_capacity() -> None:
    # room for two parcels: the kept stop and one more (without keep_next one is left
    # out too); the kept stop's parcel was not counted, so all three were served by a
    # "feasible" route over capacity
    c1 = dataclasses.replace(courier("c1"), capacity=Capacity(2, 10**6))
    problem = Problem(OFFICE, _three_stops(), (c1,))
    plan = reoptimize(problem, "c1", OFFICE.location, [], now_s=9 * H, keep_next="s0",
                      params=FAST, provider=PROVIDER)
    (route,) = plan.routes
    assert route.stop_ids[0] == "s0"
    assert route.parcels == 2 and len(route.visits) == 2
    assert [u.reason for u in plan.unassigned] == [UnassignedReason.NO_CAPACITY_LEFT]
    assert route_issues(problem, route) == ()
    assert plan.feasible


def test_kept_stops_load_is_what_the_route_serves_after_it() -> None:
    # s2's window closed before now: left out, so it is not on board in the plan
    stops = list(_three_stops(demand=Demand(1, 500)))
    stops[2] = dataclasses.replace(stops[2], window=TimeWindow(8 * H, 8 * H + 60))
    problem = Problem(OFFICE, tuple(stops), (courier("c1"),))
    plan = reoptimize(problem, "c1", OFFICE.location, [], now_s=9 * H, keep_next="s0",
                      params=FAST, provider=PROVIDER)
    (route,) = plan.routes
    assert route.stop_ids == ("s0", "s1")
    assert [u.stop_id for u in plan.unassigned] == ["s2"]
    head, after = route.visits
    assert (head.load_parcels, head.load_weight_g) == (1, 500)  # was (2, 1000)
    assert (after.load_parcels, after.load_weight_g) == (0, 0)


def test_keep_next_pinned_to_another_courier_is_refused() -> None:
    stops = list(_three_stops())
    stops[0] = dataclasses.replace(stops[0], courier_id="c2")
    problem = Problem(OFFICE, tuple(stops), (courier("c1"), courier("c2")))
    with pytest.raises(InvalidProblemError) as info:  # was a bare StopIteration
        reoptimize(problem, "c1", OFFICE.location, [], now_s=9 * H, keep_next="s0",
                   params=FAST, provider=PROVIDER)
    assert info.value.path == "keep_next"


def test_keep_next_before_the_shift_leaves_at_the_shift_start() -> None:
    # asked at 07:00 for an 08:00 shift: like a re-plan without keep_next, the route
    # starts at 08:00 (the kept stop's ETA was from 07:00 and the rest from 08:00)
    problem = Problem(OFFICE, _three_stops(), (courier("c1"),))
    plan = reoptimize(problem, "c1", OFFICE.location, [], now_s=7 * H, keep_next="s0",
                      params=FAST, provider=PROVIDER)
    (route,) = plan.routes
    leg = PROVIDER.matrix([OFFICE.location, problem.stop("s0").location])
    assert route.start_s == 8 * H
    assert route.visits[0].arrival_s == 8 * H + leg.duration_s[0, 1]
    assert route.duration_s == route.end_s - 8 * H


def test_kept_stop_over_capacity_is_not_feasible() -> None:
    # the courier is on the way to a stop heavier than they may carry: it stays first,
    # but the plan does not call the route feasible
    stops = list(_three_stops())
    stops[0] = dataclasses.replace(stops[0], demand=Demand(1, 5_000))
    c1 = courier("c1", capacity=Capacity(10, 1_000))
    problem = Problem(OFFICE, tuple(stops), (c1,))
    plan = reoptimize(problem, "c1", OFFICE.location, [], now_s=9 * H, keep_next="s0",
                      params=FAST, provider=PROVIDER)
    (route,) = plan.routes
    assert route.stop_ids[0] == "s0"
    assert [i.code.value for i in route_issues(problem, route)] == ["over_weight"]
    assert not plan.feasible


@pytest.mark.parametrize("keep_next", [None, "s0"])
def test_nothing_more_after_the_shift_has_closed(keep_next: str | None) -> None:
    # 19:00, shift closed at 18:00: stops where the courier stands, no service time,
    # were "served" at 18:00 (the clamped start of the search's shift), before the
    # courier even got there
    stops = tuple(Stop(f"s{i}", LatLon(12.26, 109.20), service_s=0) for i in range(3))
    problem = Problem(OFFICE, stops, (courier("c1", return_to_office=False),))
    plan = reoptimize(problem, "c1", LatLon(12.26, 109.20), [], now_s=19 * H,
                      keep_next=keep_next, params=FAST, provider=PROVIDER)
    served = [v for r in plan.routes for v in r.visits]
    assert all(v.arrival_s >= 19 * H for v in served)
    assert [v.stop_id for v in served] == ([keep_next] if keep_next else [])
    left = {u.stop_id: u.reason for u in plan.unassigned}
    assert set(left) == {"s0", "s1", "s2"} - {keep_next}
    assert set(left.values()) == {UnassignedReason.NO_TIME_LEFT}
