"""routing.evaluate: schedules of fixed routes (a dispatcher's manual edit)."""

from __future__ import annotations

import pytest

from routing import (
    Capacity,
    Courier,
    InvalidProblemError,
    LatLon,
    Office,
    Problem,
    SolverParams,
    Stop,
    TimeWindow,
    solve,
)
from routing.evaluate import evaluate

OFFICE = Office(LatLon(12.2450, 109.1940))
STOPS = tuple(Stop(f"s{i}", LatLon(12.235 + 0.004 * i, 109.185 + 0.002 * (i % 3)))
              for i in range(6))
COURIERS = (Courier("a", TimeWindow(8 * 3600, 17 * 3600)),
            Courier("b", TimeWindow(8 * 3600, 17 * 3600), capacity=Capacity(parcels=2)))
PROBLEM = Problem(OFFICE, STOPS, COURIERS)


def test_evaluating_a_solved_plan_reproduces_its_schedule():
    plan = solve(PROBLEM, SolverParams(time_limit_s=0.3, seed=1))
    again = evaluate(PROBLEM, {r.courier_id: r.stop_ids for r in plan.routes})
    for r in plan.routes:
        e = again.route_of(r.courier_id)
        assert e is not None and e.stop_ids == r.stop_ids
        assert [v.start_s for v in e.visits] == [v.start_s for v in r.visits]
        assert e.distance_m == r.distance_m
    assert again.feasible and again.method == "fixed"


def test_reversing_a_route_changes_etas_not_the_stops():
    order = [s.id for s in STOPS]
    fwd = evaluate(PROBLEM, {"a": order}).route_of("a")
    back = evaluate(PROBLEM, {"a": order[::-1]}).route_of("a")
    assert fwd is not None and back is not None
    assert back.stop_ids == tuple(order[::-1])
    assert [v.start_s for v in fwd.visits] == sorted(v.start_s for v in fwd.visits)
    assert fwd.visits[0].start_s != back.visits[0].start_s


def test_overloaded_or_late_routes_are_reported_infeasible():
    assert not evaluate(PROBLEM, {"b": ["s0", "s1", "s2"]}).feasible  # capacity 2
    tight = Problem(OFFICE, (Stop("w", LatLon(12.26, 109.19),
                                  window=TimeWindow(8 * 3600, 8 * 3600 + 60)),
                             Stop("x", LatLon(12.21, 109.19))), COURIERS[:1])
    plan = evaluate(tight, {"a": ["x", "w"]})
    assert not plan.feasible and plan.route_of("a").lateness_s > 0


@pytest.mark.parametrize("routes", [{"zz": ["s0"]}, {"a": ["nope"]}, {"a": ["s0"], "b": ["s0"]},
                                    {"a": ["s1", "s1"]}])
def test_bad_routes_are_refused(routes):
    with pytest.raises(InvalidProblemError):
        evaluate(PROBLEM, routes)


def test_route_issues_say_what_is_wrong_and_by_how_much():
    from routing import Demand
    from routing.evaluate import RouteIssue, RouteIssueCode, route_issues

    heavy = tuple(Stop(f"h{i}", LatLon(12.24 + 0.002 * i, 109.19),
                       demand=Demand(parcels=1, weight_g=2_000)) for i in range(3))
    early = Stop("w", LatLon(12.26, 109.19), window=TimeWindow(8 * 3600, 8 * 3600 + 60))
    small = Courier("c", TimeWindow(8 * 3600, 8 * 3600 + 600),
                    capacity=Capacity(parcels=2, weight_g=5_000))
    problem = Problem(OFFICE, (*heavy, early), (small,))
    plan = evaluate(problem, {"c": ["h0", "h1", "h2", "w"]})
    (route,) = plan.routes
    issues = route_issues(problem, route)
    late = route.visits[3]
    assert issues == (
        RouteIssue(RouteIssueCode.OVER_PARCELS, value=4, limit=2),
        RouteIssue(RouteIssueCode.OVER_WEIGHT, value=6_000, limit=5_000),
        RouteIssue(RouteIssueCode.LATE_STOP, value=late.start_s, limit=8 * 3600 + 60,
                   stop_id="w"),
        RouteIssue(RouteIssueCode.SHIFT_OVERRUN, value=route.end_s, limit=8 * 3600 + 600),
    )
    assert [i.excess for i in issues[:2]] == [2, 1_000]
    assert issues[2].excess == late.lateness_s > 0
    # a route's lateness is its late stops plus the shift's overrun
    assert issues[2].excess + issues[3].excess == route.lateness_s
    assert issues[0].code.value == "over_parcels" and not plan.feasible


def test_a_feasible_route_has_no_issues_and_feasible_means_no_issues():
    from routing.evaluate import route_issues

    plan = solve(PROBLEM, SolverParams(time_limit_s=0.3, seed=1))
    assert plan.feasible
    assert all(route_issues(PROBLEM, r) == () for r in plan.routes)
    for routes in ({"b": ["s0", "s1", "s2"]}, {"a": ["s0"], "b": ["s1", "s2"]}):
        fixed = evaluate(PROBLEM, routes)
        assert fixed.feasible == (not any(route_issues(PROBLEM, r) for r in fixed.routes))


def test_route_issues_of_a_route_not_from_the_problem_are_refused():
    from routing.evaluate import route_issues

    (route,) = evaluate(PROBLEM, {"a": ["s0"]}).routes
    other = Problem(OFFICE, STOPS[1:], COURIERS)
    with pytest.raises(InvalidProblemError):
        route_issues(other, route)  # s0 is not a stop of it
    with pytest.raises(InvalidProblemError):
        route_issues(Problem(OFFICE, STOPS, COURIERS[1:]), route)  # nor courier a


def test_route_issues_of_a_route_with_an_office_pass_and_an_unknown_stop_are_refused():
    # the peak load of a route passing by the office looked its stops up first: a stop
    # not in the problem was a KeyError instead of the documented InvalidProblemError
    import dataclasses

    from routing import OfficeVisit
    from routing.evaluate import route_issues

    (route,) = evaluate(PROBLEM, {"a": ["s0", "s1"]}).routes
    via = dataclasses.replace(route, office_visit=OfficeVisit(
        before=1, arrival_s=route.visits[0].departure_s + 60,
        departure_s=route.visits[0].departure_s + 360, travel_distance_m=500,
        travel_duration_s=80))
    other = Problem(OFFICE, STOPS[1:], COURIERS)
    with pytest.raises(InvalidProblemError):
        route_issues(other, via)  # s0 is not a stop of it
