"""benchmarks.routing_synthetic's reference solves: PyVRP's own ``solve`` swapped in for
the search only, and put back."""

from __future__ import annotations

from benchmarks import routing_synthetic as rs
from routing import SolverParams, solver


def test_the_plain_pyvrp_reference_solves_the_same_problem_and_restores_the_search() -> None:
    day = rs.generate_day(40, 2, 0.3, seed=1)
    before = solver.solve_core
    plan = rs._plain_pyvrp(day, SolverParams(time_limit_s=0.5, seed=0))
    assert solver.solve_core is before
    assert plan.method == "pyvrp-plain"
    served = sorted(i for r in plan.routes for i in r.stop_ids)
    assert len(served) + len(plan.unassigned) == 40
    assert len(set(served)) == len(served)
    assert plan.distance_m == sum(r.distance_m for r in plan.routes) > 0
    # the day's own search, after it, is ours again
    assert solver.solve_core is before
    assert rs.solve(day, SolverParams(time_limit_s=0.3, seed=0)).method != "pyvrp-plain"
