"""A few stops for several couriers (a re-plan late in the day): the exact fleet
search (``routing.tsptw.solve_fleet_exact``, method ``"exact"``) against PyVRP at a
budget, on the same problems.

Usage (from the repository root, on an otherwise idle machine)::

    .venv/bin/python -m benchmarks.fleet_exact --stops 3,5,8 --couriers 2,5,15 \
        --seeds 0,1,2 --pyvrp-seconds 1 --out /tmp/fleet_exact.json

Each problem is ``benchmarks.routing_synthetic.generate_day``'s stops (30 % with
2-hour windows) for couriers out on the road, each from a place of their own (so each
is a vehicle type of its own, the enumeration's worst case), shift 07:30-18:30. Per
problem: the wall time of ``routing.solve`` (30 s budget, which the exact search does
not use), its distance and stops left out; the same from ``routing.solve`` with the
fast paths off (our PyVRP phases) and from PyVRP's own ``solve``, both at
``--pyvrp-seconds``. The summary gives, per size, the exact search's worst wall time
and how often each PyVRP run matched its distance (stops left out first).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.routing_synthetic import _plain_pyvrp, generate_day
from routing import LatLon, Plan, Problem, SolverParams, solve, warm_up


def problem_of(stops: int, couriers: int, seed: int) -> Problem:
    """``stops`` of a generated day for ``couriers`` on the road, each elsewhere."""
    day = generate_day(stops, couriers, 0.3, seed)
    rng = np.random.default_rng(1000 + seed)
    moved = tuple(dataclasses.replace(
        c, start=LatLon(float(rng.uniform(12.21, 12.28)), float(rng.uniform(109.17, 109.21))))
        for c in day.couriers)
    return dataclasses.replace(day, couriers=moved)


def _row(plan: Plan, wall_s: float) -> dict[str, Any]:
    return {"method": plan.method, "distance_m": plan.distance_m,
            "unassigned": len(plan.unassigned), "wall_s": round(wall_s, 4)}


def _timed(fn: Any, *args: Any) -> dict[str, Any]:
    t = time.perf_counter()
    plan = fn(*args)
    return _row(plan, time.perf_counter() - t)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stops", default="3,5,8")
    ap.add_argument("--couriers", default="2,5,15")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--pyvrp-seconds", type=float, default=1.0)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    warm_up()
    rows = []
    for n in (int(x) for x in args.stops.split(",")):
        for k in (int(x) for x in args.couriers.split(",")):
            for seed in (int(x) for x in args.seeds.split(",")):
                problem = problem_of(n, k, seed)
                ours = _timed(solve, problem, SolverParams(time_limit_s=30.0, seed=seed,
                                                           workers=1))
                budget = SolverParams(time_limit_s=args.pyvrp_seconds, seed=seed, workers=1,
                                      use_tsp_fast_path=False)
                phases = _timed(solve, problem, budget)
                plain = _timed(_plain_pyvrp, problem, budget)
                row = {"stops": n, "couriers": k, "seed": seed, "ours": ours,
                       "pyvrp_phases": phases, "pyvrp_plain": plain}
                print(json.dumps(row), flush=True)
                rows.append(row)
    summary = []
    for n, k in sorted({(r["stops"], r["couriers"]) for r in rows}):
        mine = [r for r in rows if (r["stops"], r["couriers"]) == (n, k)]

        def score(x: dict[str, Any]) -> tuple[int, int]:
            return (x["unassigned"], x["distance_m"])

        summary.append({
            "stops": n, "couriers": k,
            "exact_worst_wall_s": max(r["ours"]["wall_s"] for r in mine),
            "methods": sorted({r["ours"]["method"] for r in mine}),
            "pyvrp_phases_matched": sum(score(r["pyvrp_phases"]) == score(r["ours"])
                                        for r in mine),
            "pyvrp_plain_matched": sum(score(r["pyvrp_plain"]) == score(r["ours"])
                                       for r in mine),
            "pyvrp_better": sum(min(score(r["pyvrp_phases"]), score(r["pyvrp_plain"]))
                                < score(r["ours"]) for r in mine),
            "runs": len(mine),
        })
    for s in summary:
        print(json.dumps(s))
    out = {"pyvrp_seconds": args.pyvrp_seconds, "rows": rows, "summary": summary}
    if args.out:
        args.out.write_text(json.dumps(out, indent=1))
    return out


if __name__ == "__main__":
    main()
