"""reoptimize(): re-plan the rest of a route in progress."""

from __future__ import annotations

import dataclasses

import pytest

from routing import (
    HaversineProvider,
    InvalidProblemError,
    LatLon,
    Problem,
    UnassignedReason,
    reoptimize,
    solve,
)

from .conftest import FAST, OFFICE, H, courier, random_stops

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
