"""Soft preferences: a stop's ``preferred_courier`` and the ``move_cost_m`` charged when
another courier serves it (docs/routing.md, "Preferred couriers")."""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any

import numpy as np
import pytest

import routing.solver
from routing import (
    MAX_MOVE_COST_M,
    MOTORBIKE_CITY,
    Capacity,
    CoreInstance,
    Demand,
    HaversineProvider,
    InvalidProblemError,
    LatLon,
    Problem,
    TimeWindow,
    reoptimize,
    solve,
)

from .conftest import (
    FAST,
    OFFICE,
    SMALL,
    H,
    captured_instance,
    courier,
    random_stops,
    stop_near_office,
)

_stop = stop_near_office


@pytest.fixture(params=["profiles", "alternatives"])
def encoding(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each way the solver charges a move cost: a routing profile per preferred courier
    while the matrices fit ``MATRIX_MEMORY_BUDGET``, two alternative clients per
    preferring stop beyond it (here: a budget of nothing)."""
    if request.param == "alternatives":
        monkeypatch.setattr(routing.solver, "MATRIX_MEMORY_BUDGET", 0)
    return str(request.param)


def _day(move_cost: int, **kw: Any) -> Problem:
    """Courier ``a`` has the west (w1, w2) and ``x``; ``b`` the east (e1-e3). ``x`` is
    next to the east stops: ``b`` serves it for a few hundred metres, ``a`` makes a
    long detour for it."""
    stops = (
        _stop("w1", 0.002, -0.020, preferred_courier="a"),
        _stop("w2", -0.003, -0.022, preferred_courier="a"),
        _stop("x", 0.001, 0.021, preferred_courier="a"),
        _stop("e1", 0.003, 0.020, preferred_courier="b"),
        _stop("e2", -0.002, 0.023, preferred_courier="b"),
        _stop("e3", 0.000, 0.025, preferred_courier="b"),
    )
    couriers = (courier("a", **kw), courier("b"))
    return Problem(OFFICE, stops, couriers, move_cost_m=move_cost)


def _distances(problem: Problem) -> np.ndarray:
    """The solver's distance matrix: the office (every courier starts there), then
    the stops."""
    points = [problem.office.location, *(s.location for s in problem.stops)]
    return HaversineProvider().matrix(points, MOTORBIKE_CITY).distance_m


def _tour(dist: np.ndarray, locs: tuple[int, ...]) -> int:
    """The shortest closed tour from the office (index 0) over ``locs``."""
    best = 0 if not locs else min(
        int(dist[0, p[0]] + sum(dist[i, j] for i, j in itertools.pairwise(p)) + dist[p[-1], 0])
        for p in itertools.permutations(locs)
    )
    return best


def _brute_force(problem: Problem) -> tuple[dict[str, str], int]:
    """Every split of the stops between the two couriers: the one of least distance
    plus move costs, as ``({stop: courier}, real distance)``."""
    dist = _distances(problem)
    names = [c.id for c in problem.couriers]
    best: tuple[int, dict[str, str], int] | None = None
    for split in itertools.product(names, repeat=len(problem.stops)):
        tours = sum(
            _tour(dist, tuple(n + 1 for n, who in enumerate(split) if who == c)) for c in names
        )
        moved = sum(
            problem.move_cost_of(s) for s, who in zip(problem.stops, split, strict=True)
            if who != s.preferred_courier
        )
        if best is None or tours + moved < best[0]:
            best = (tours + moved, dict(zip((s.id for s in problem.stops), split, strict=True)),
                    tours)
    assert best is not None
    return best[1], best[2]


def _saving(problem: Problem) -> int:
    """How much shorter the day is with ``x`` on ``b``'s route than on ``a``'s."""
    dist = _distances(problem)
    ids = [s.id for s in problem.stops]
    w = tuple(ids.index(i) + 1 for i in ("w1", "w2"))
    e = tuple(ids.index(i) + 1 for i in ("e1", "e2", "e3"))
    x = ids.index("x") + 1
    return (_tour(dist, (*w, x)) + _tour(dist, e)) - (_tour(dist, w) + _tour(dist, (*e, x)))


def test_a_stop_moves_only_when_that_saves_more_than_the_move_cost(encoding: str) -> None:
    saving = _saving(_day(0))
    assert saving > 2_000  # the instance is what it says: x is far from a's round
    for cost, x_with in ((saving // 2, "b"), (saving * 2, "a"), (saving - 50, "b"),
                         (saving + 50, "a")):
        problem = _day(cost)
        expected, distance = _brute_force(problem)
        assert expected["x"] == x_with
        plan = solve(problem, SMALL)
        assert not plan.unassigned
        assert plan.couriers_of_stops() == expected, cost
        # the reported distance is real metres: no move cost in it
        assert plan.distance_m == distance, cost
        assert plan.distance_m == sum(r.distance_m for r in plan.routes)


def test_without_a_move_cost_the_shortest_plan_wins() -> None:
    problem = _day(0)
    plan = solve(problem, SMALL)
    expected, distance = _brute_force(problem)
    assert expected["x"] == expected["e1"]
    # the couriers are alike: which of them takes which round is a tie at no cost
    rounds = {frozenset(k for k, v in expected.items() if v == c) for c in "ab"}
    assert {frozenset(r.stop_ids) for r in plan.routes} == rounds - {frozenset()}
    assert plan.distance_m == distance


def _same(a: CoreInstance, b: CoreInstance) -> bool:
    return (
        len(a.distances) == len(b.distances)
        and all(np.array_equal(x, y) for x, y in zip(a.distances, b.distances, strict=True))
        and all(np.array_equal(x, y) for x, y in zip(a.durations, b.durations, strict=True))
        and a.clients == b.clients and a.vehicle_types == b.vehicle_types
    )


@pytest.mark.parametrize("pins", [False, True])
def test_a_move_cost_of_zero_solves_what_it_solved_before(
    monkeypatch: pytest.MonkeyPatch, pins: bool
) -> None:
    """Preferences at a move cost of 0 (the problem's, or a stop's own) give the search
    exactly the instance the problem without them gives: today's behaviour."""
    stops = list(random_stops(12, seed=2, tw_frac=0.3))
    if pins:
        stops[0] = dataclasses.replace(stops[0], courier_id="b")
    plain = Problem(OFFICE, tuple(stops), (courier("a"), courier("b"), courier("c")))
    preferring = dataclasses.replace(plain, stops=tuple(
        dataclasses.replace(s, preferred_courier="abc"[n % 3],
                            move_cost_m=0 if n % 2 else None)
        for n, s in enumerate(stops)))
    assert _same(captured_instance(monkeypatch, plain), captured_instance(monkeypatch, preferring))
    # and a cost makes a difference the test would see
    costly = dataclasses.replace(preferring, move_cost_m=1_000)
    assert not _same(captured_instance(monkeypatch, plain), captured_instance(monkeypatch, costly))


def test_the_move_cost_is_charged_on_distances_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each courier's matrices charge the cost on the arcs into the stops preferred by
    another courier, in distance only: the durations (windows, ETAs) stay real."""
    problem = dataclasses.replace(_day(700), stops=(
        *_day(700).stops[:5], dataclasses.replace(_day(700).stops[5], move_cost_m=90)))
    inst = captured_instance(monkeypatch, problem)
    base = _distances(problem)
    assert len(inst.distances) == 2  # a's and b's
    for vt in inst.vehicle_types:
        d, t = inst.distances[vt.profile], inst.durations[vt.profile]
        who = "a" if vt.profile == 0 else "b"
        extra = np.array([0] + [0 if s.preferred_courier == who else
                                (90 if s.id == "e3" else 700) for s in problem.stops])
        expected = base + extra[None, :]
        np.fill_diagonal(expected, 0)
        assert np.array_equal(d, expected), who
        assert np.array_equal(t, inst.durations[0])  # same real durations for both


def test_with_a_huge_move_cost_only_what_must_move_moves(encoding: str) -> None:
    """Courier a takes 2 parcels but is preferred by 3 stops: one must go to b, and is
    served rather than dropped although moving it costs far more than any detour (the
    stop's prize covers its move cost). b's stops all stay."""
    problem = _day(MAX_MOVE_COST_M, capacity=Capacity(2, 200_000))
    plan = solve(problem, SMALL)
    assert not plan.unassigned
    served = plan.couriers_of_stops()
    moved = [s.id for s in problem.stops if served[s.id] != s.preferred_courier]
    assert len(moved) == 1
    assert problem.stop(moved[0]).preferred_courier == "a"
    assert moved == ["x"]  # the one cheapest to move: next to b's round
    # the same split as the brute force's, whose capacity the solver honours
    assert plan.distance_m == _tour(_distances(problem), (1, 2)) + _tour(
        _distances(problem), (3, 4, 5, 6))


def test_with_a_huge_move_cost_a_shift_too_short_still_moves_what_it_must(encoding: str) -> None:
    """Courier a's shift leaves time for their west stops, not for the detour to x."""
    points = [OFFICE.location, *(s.location for s in _day(0).stops)]
    west = _tour(HaversineProvider().matrix(points, MOTORBIKE_CITY).duration_s, (1, 2))
    length = west + 2 * 60 + 60  # the west round, its service and a minute to spare
    problem = _day(MAX_MOVE_COST_M, shift=TimeWindow(8 * H, 8 * H + length))
    plan = solve(problem, SMALL)
    assert not plan.unassigned and plan.feasible
    served = plan.couriers_of_stops()
    assert served["x"] == "b"
    assert all(served[s.id] == s.preferred_courier for s in problem.stops if s.id != "x")


def test_stops_move_to_make_room_rather_than_a_stop_being_dropped(encoding: str) -> None:
    """Three loads of three parcels that c cannot carry, and room for two of them on a
    and b once the two stops preferring each of them move to c: one load must be
    dropped (the search then weighs prizes), and serving the second is worth the two
    moves it takes, even at the largest cost (a stop's prize covers moving every stop
    that can move)."""
    light = {"demand": Demand(1, 100)}
    heavy = {"demand": Demand(3, 5_000)}
    stops = (
        _stop("s1", 0.004, -0.004, preferred_courier="a", **light),
        _stop("s2", 0.005, -0.003, preferred_courier="a", **light),
        _stop("s3", -0.004, 0.004, preferred_courier="b", **light),
        _stop("s4", -0.005, 0.003, preferred_courier="b", **light),
        _stop("n1", 0.000, 0.006, **heavy),
        _stop("n2", 0.001, 0.007, **heavy),
        _stop("n3", -0.001, 0.007, **heavy),
    )
    couriers = (courier("a", capacity=Capacity(3, 50_000)),
                courier("b", capacity=Capacity(3, 50_000)),
                courier("c", capacity=Capacity(10, 1_000)))
    plan = solve(Problem(OFFICE, stops, couriers, move_cost_m=MAX_MOVE_COST_M), SMALL)
    assert len(plan.unassigned) == 1 and plan.unassigned[0].stop_id.startswith("n")
    served = plan.couriers_of_stops()
    assert {served[s.id] for s in stops if s.id.startswith("s")} == {"c"}
    assert sorted(served[n] for n in ("n1", "n2", "n3") if n in served) == ["a", "b"]


def test_many_couriers_a_large_cost_keeps_every_stop_with_its_courier(encoding: str) -> None:
    """A random day split at random between three couriers (not the shortest split):
    with a large move cost every stop stays; without one, the solver reshuffles."""
    stops = random_stops(30, seed=8)
    stops = tuple(dataclasses.replace(s, preferred_courier="abc"[n % 3])
                  for n, s in enumerate(stops))
    couriers = (courier("a"), courier("b"), courier("c"))
    kept = solve(Problem(OFFICE, stops, couriers, move_cost_m=20_000), FAST)
    assert not kept.unassigned
    assert all(kept.couriers_of_stops()[s.id] == s.preferred_courier for s in stops)
    free = solve(Problem(OFFICE, stops, couriers), FAST)
    assert sum(free.couriers_of_stops()[s.id] != s.preferred_courier for s in stops) > 5
    assert free.distance_m < kept.distance_m


def test_pins_stay_hard_and_win_over_preferences(encoding: str) -> None:
    problem = _day(MAX_MOVE_COST_M)
    x = problem.stop("x")
    problem = dataclasses.replace(problem, stops=tuple(
        dataclasses.replace(s, courier_id="b") if s.id == "w1" else s for s in problem.stops))
    assert problem.move_cost_of(problem.stop("w1")) == 0  # the pin decides
    plan = solve(problem, SMALL)
    served = plan.couriers_of_stops()
    assert served["w1"] == "b"  # pinned to b though a is preferred
    assert served["x"] == x.preferred_courier


@pytest.mark.parametrize(("windows", "method"), [(False, "fast-tsp"), (True, "tsptw-ils")])
def test_a_single_courier_keeps_the_fast_paths(
    monkeypatch: pytest.MonkeyPatch, windows: bool, method: str
) -> None:
    """One courier: nothing can move, so preferences (all theirs) change nothing: the
    fast-tsp and time-window searches still take the route."""
    stops = random_stops(15, seed=4, tw_frac=0.4 if windows else 0.0)
    plain = Problem(OFFICE, stops, (courier("a"),))
    preferring = Problem(OFFICE, tuple(dataclasses.replace(s, preferred_courier="a")
                                       for s in stops), (courier("a"),), move_cost_m=5_000)
    assert _same(captured_instance(monkeypatch, plain), captured_instance(monkeypatch, preferring))
    params = dataclasses.replace(FAST, time_limit_s=0.5)
    plan = solve(preferring, params)
    if method == "tsptw-ils" and plan.method != method:  # kernels not compiled: PyVRP
        pytest.skip(f"the compiled search is not available here ({plan.method})")
    assert plan.method == method and not plan.unassigned


def test_reoptimising_ignores_other_couriers_preferences() -> None:
    stops = tuple(dataclasses.replace(s, preferred_courier="b" if n % 2 else "a")
                  for n, s in enumerate(random_stops(8, seed=6)))
    problem = Problem(OFFICE, stops, (courier("a"), courier("b")), move_cost_m=2_000)
    plan = reoptimize(problem, "a", LatLon(12.25, 109.19), (), now_s=9 * H, params=FAST)
    assert sorted(plan.routes[0].stop_ids) == sorted(s.id for s in stops)


def test_the_duration_objective_refuses_a_move_cost() -> None:
    problem = _day(500)
    with pytest.raises(InvalidProblemError) as info:
        solve(problem, dataclasses.replace(FAST, objective="duration"))
    assert info.value.path == "move_cost_m"
    solve(_day(0), dataclasses.replace(FAST, objective="duration"))  # 0: nothing charged


@pytest.mark.parametrize(("cost", "beyond"), [(0, False), (1, True)], ids=["no cost", "a cost"])
def test_preferences_beyond_the_matrix_budget_are_alternatives_not_profiles(
    monkeypatch: pytest.MonkeyPatch, cost: int, beyond: bool
) -> None:
    # 6 stops + office (+1): 1 024 bytes a profile; room for two, and a's, b's and the
    # one c shares would be three: a (first of the two couriers three stops prefer)
    # keeps a profile, c and b share the other, and b's stops are alternatives
    problem = dataclasses.replace(
        _day(cost), couriers=(courier("a"), courier("b"), courier("c")))
    monkeypatch.setattr(routing.solver, "MATRIX_MEMORY_BUDGET", 2 * 1_024)
    inst = captured_instance(monkeypatch, problem)
    if beyond:  # each of b's stops: pinned to b, or anyone's at a prize 1 lower
        assert len(inst.distances) == 2
        assert [k for k, _ in inst.groups] == [3, 4, 5]  # e1-e3
        assert [(inst.clients[k].prize - inst.clients[a].prize) for k, a in inst.groups] == [
            1] * 3
        assert [inst.clients[a].demand[2:] for _, a in inst.groups] == [(0,)] * 3
        assert {inst.clients[k].demand[2:] for k, _ in inst.groups} == {(1,)}
        # a's stops are charged on the arcs into them in the profile b and c share
        a_stops = [inst.clients[k].location for k in range(3)]  # w1, w2, x
        charged = np.zeros_like(inst.distances[0])
        charged[:, a_stops] = 1
        charged[a_stops, a_stops] = 0
        assert (inst.distances[1] - inst.distances[0] == charged).all()
    else:
        assert len(inst.distances) == 1 and not inst.groups and len(inst.clients) == 6
    monkeypatch.setattr(routing.solver, "MATRIX_MEMORY_BUDGET", 2 * 1_024)
    assert not solve(problem, FAST).unassigned


def test_profiles_and_alternatives_mixed_charge_each_move_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # three couriers and room for two profiles: a's stops are charged through the
    # profile b and c share, b's are alternatives. The plans are the brute force's for
    # the day without c (c's own round from the office would only add to any plan)
    monkeypatch.setattr(routing.solver, "MATRIX_MEMORY_BUDGET", 2 * 1_024)
    saving = _saving(_day(0))
    for cost, x_with in ((saving // 2, "b"), (saving * 2, "a")):
        two = _day(cost)
        expected, distance = _brute_force(two)
        assert expected["x"] == x_with
        plan = solve(dataclasses.replace(two, couriers=(*two.couriers, courier("c"))), SMALL)
        assert not plan.unassigned
        assert plan.couriers_of_stops() == expected, cost
        assert plan.distance_m == distance, cost


def test_from_dict_reads_preferences_and_the_move_cost() -> None:
    data = {
        "office": {"location": {"lat": 12.245, "lon": 109.194}},
        "stops": [{"id": "s1", "location": {"lat": 12.25, "lon": 109.19},
                   "preferred_courier": "c1", "move_cost_m": 300},
                  {"id": "s2", "location": {"lat": 12.24, "lon": 109.2},
                   "preferred_courier": "c1"},
                  {"id": "s3", "location": {"lat": 12.24, "lon": 109.21},
                   "preferred_courier": "c1", "courier_id": "c1"}],
        "couriers": [{"id": "c1", "shift": {"open_s": 28800, "close_s": 64800}}],
        "move_cost_m": 2_000,
        "left_out": [],  # a caller's own key: ignored
    }
    problem = Problem.from_dict(data)
    assert problem.move_cost_m == 2_000
    assert [problem.move_cost_of(s) for s in problem.stops] == [300, 2_000, 0]
    assert Problem.from_dict({**data, "move_cost_m": 0}).move_cost_m == 0


BAD: list[tuple[str, Any, str]] = [
    ("problem cost negative", {"move_cost_m": -1}, "move_cost_m"),
    ("problem cost too large", {"move_cost_m": MAX_MOVE_COST_M + 1}, "move_cost_m"),
    ("problem cost float", {"move_cost_m": 2.5}, "move_cost_m"),
    ("problem cost bool", {"move_cost_m": True}, "move_cost_m"),
    ("problem cost string", {"move_cost_m": "2000"}, "move_cost_m"),
    ("stop cost negative", {"stop": {"move_cost_m": -5}}, "stops[0].move_cost_m"),
    ("stop cost too large", {"stop": {"move_cost_m": 10**7}}, "stops[0].move_cost_m"),
    ("unknown preferred", {"stop": {"preferred_courier": "nobody"}}, "stops[0].preferred_courier"),
    ("empty preferred", {"stop": {"preferred_courier": ""}}, "stops[0].preferred_courier"),
    ("preferred not a string", {"stop": {"preferred_courier": 7}}, "stops[0].preferred_courier"),
]


@pytest.mark.parametrize(("label", "change", "path"), BAD, ids=[b[0] for b in BAD])
def test_bad_preferences_report_their_path(label: str, change: dict[str, Any], path: str) -> None:
    data: dict[str, Any] = {
        "office": {"location": {"lat": 12.245, "lon": 109.194}},
        "stops": [{"id": "s1", "location": {"lat": 12.25, "lon": 109.19},
                   **change.pop("stop", {})}],
        "couriers": [{"id": "c1", "shift": {"open_s": 28800, "close_s": 64800}}],
        **change,
    }
    with pytest.raises(InvalidProblemError) as info:
        Problem.from_dict(data)
    assert info.value.path == path, str(info.value)


def test_demand_is_untouched_by_preferences() -> None:
    # a preference is no pin: a stop whose preferred courier cannot carry it at all is
    # served by another one, never reported as too large
    big = _stop("big", 0.001, 0.001, demand=Demand(5, 0), preferred_courier="a")
    problem = Problem(OFFICE, (big,), (courier("a", capacity=Capacity(2, 10_000)),
                                       courier("b")), move_cost_m=MAX_MOVE_COST_M)
    plan = solve(problem, FAST)
    assert not plan.unassigned and plan.couriers_of_stops() == {"big": "b"}
