"""Does a solve return when its budget says? Wall time of ``routing.solve`` and
``routing.reoptimize`` against ``time_limit_s``, across the kinds of day the solver
treats differently.

Usage (from the repository root, on an otherwise idle machine)::

    .venv/bin/python -m benchmarks.deadlines --seconds 0.5,1,2,5 --seeds 0,1,2 \
        --out /tmp/deadlines.json

The wall time is what a caller waits: from the call to its return, the travel
matrix, the model and the plan's evaluation included. Cases (``--cases``, comma
list of names):

- ``tsp150``: one courier, 150 stops, no windows (fast-tsp);
- ``tw30`` / ``tw150``: one courier, 30 / 150 stops, 30 % with 2-hour windows
  (the compiled single-route search);
- ``multi400``: 400 stops, 3 couriers, 30 % windows (PyVRP, two processes);
- ``short700``: 700 stops for 3 couriers (more than the shifts hold; the hedged
  phase 1);
- ``day1000`` / ``day2000``: 1 000 stops for 15 couriers, 2 000 for 20, 15 % windows;
- days that once ran many times their budget (:func:`dense_day`, 2 000 stops, 30 %
  with windows, 07:00-19:00 shifts; docs/routing.md, "Session 27" and "Session 28"):
  ``place1`` at one place for 1 courier (the single-route search), ``place1slow`` the
  same with 120 s a stop (PyVRP), ``metres1`` within ~5 m with 10 s, ``place3`` at one
  place for 3 couriers with 10 s a stop, ``metres3`` within ~5 m for 3 with none,
  ``metres10`` within ~5 m for 10 with 120 s, ``place20`` at one place for 20 with
  none, ``long1`` / ``long1k`` 2 000 / 1 000 stops over ~5 km for 1 courier from 06:00
  to 23:00, 5 s a stop;
- ``reopt``: a courier's re-optimisation (``benchmarks.reoptimize_day``'s moments
  on instances 0-3, 15 and 30 minutes late).

``--seconds`` budgets are tried on every case. Each row has ``wall_s`` and
``over_s`` (wall minus budget); the summary gives each case's worst overrun.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.reoptimize_day import _ints, moment, route_in_force
from benchmarks.routing_synthetic import generate_day
from routing import (
    Capacity,
    Courier,
    LatLon,
    Office,
    Plan,
    Problem,
    SolverParams,
    Stop,
    TimeWindow,
    reoptimize,
    solve,
    warm_up,
)

H = 3600
OFFICE = Office(LatLon(12.2450, 109.1940))

DAYS = {
    "tsp150": (150, 1, 0.0),
    "tw30": (30, 1, 0.3),
    "tw150": (150, 1, 0.3),
    "multi400": (400, 3, 0.3),
    "short700": (700, 3, 0.3),
    "day1000": (1000, 15, 0.15),
    "day2000": (2000, 20, 0.15),
}
#: (stops, couriers, spread in degrees, service s, shift): :func:`dense_day`
DENSE = {
    "place1": (2000, 1, 0.0, 0, (7, 19)),
    "place1slow": (2000, 1, 0.0, 120, (7, 19)),
    "metres1": (2000, 1, 0.00005, 10, (7, 19)),
    "place3": (2000, 3, 0.0, 10, (7, 19)),
    "metres3": (2000, 3, 0.00005, 0, (7, 19)),
    "metres10": (2000, 10, 0.00005, 120, (7, 19)),
    "place20": (2000, 20, 0.0, 0, (7, 19)),
    "long1": (2000, 1, 0.02, 5, (6, 23)),
    "long1k": (1000, 1, 0.02, 5, (6, 23)),
}
CASES = (*DAYS, *DENSE, "reopt")


def dense_day(n: int, couriers: int, *, spread_deg: float, service_s: int,
              shift: TimeWindow, seed: int = 0) -> Problem:
    """``n`` stops within ``spread_deg`` of a point near the office (0: all at one
    place), 30 % with two-hour windows, ``service_s`` each; couriers of ample capacity."""
    rng = np.random.default_rng(seed)
    stops = []
    for i in range(n):
        window = None
        if rng.random() < 0.3:
            opens = int(rng.integers(8, 17)) * H
            window = TimeWindow(opens, opens + 2 * H)
        dlat, dlon = rng.uniform(-spread_deg, spread_deg, size=2)
        stops.append(Stop(f"s{i}", LatLon(12.25 + float(dlat), 109.19 + float(dlon)),
                          service_s=service_s, window=window))
    fleet = tuple(Courier(f"c{k}", shift=shift, capacity=Capacity(5000, 10**9))
                  for k in range(couriers))
    return Problem(OFFICE, tuple(stops), fleet)


def _calls(case: str) -> list[tuple[str, Callable[[SolverParams], Plan]]]:
    """(label, call) pairs of ``case``: each call solves with the params it gets."""
    if case in DAYS:
        n, couriers, tw = DAYS[case]
        problem = generate_day(n, couriers, tw, seed=0)
        return [(case, lambda p: solve(problem, p))]
    if case in DENSE:
        n, couriers, spread, service, (opens, closes) = DENSE[case]
        dense = dense_day(n, couriers, spread_deg=spread, service_s=service,
                          shift=TimeWindow(opens * H, closes * H))
        return [(case, lambda p: solve(dense, p))]
    calls = []
    for instance in range(4):
        in_force = route_in_force(instance, 2.0)
        for delay in (900, 1800):
            m = moment(instance, in_force, 40, 5, delay)

            def call(p: SolverParams, m: Any = m) -> Plan:
                return reoptimize(m.problem, m.courier_id, m.position, m.done, now_s=m.now_s,
                                  keep_next=m.order[0], current_order=m.order[1:], params=p)

            calls.append((f"reopt i{instance} +{delay}s", call))
    return calls


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default=",".join(CASES), help=f"of {', '.join(CASES)}")
    ap.add_argument("--seconds", default="0.5,1,2,5", help="budgets, comma list")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    cases = args.cases.split(",")
    unknown = set(cases) - set(CASES)
    if unknown:
        ap.error(f"unknown cases: {', '.join(sorted(unknown))}")
    budgets = [float(s) for s in args.seconds.split(",")]
    warm_up()
    rows = []
    for case in cases:
        for label, call in _calls(case):
            for budget in budgets:
                for seed in _ints(args.seeds):
                    t = time.monotonic()
                    plan = call(SolverParams(time_limit_s=budget, seed=seed))
                    wall = time.monotonic() - t
                    row = {"case": case, "label": label, "seconds": budget, "seed": seed,
                           "wall_s": round(wall, 3), "over_s": round(wall - budget, 3),
                           "runtime_s": round(plan.runtime_s, 3), "method": plan.method,
                           "unassigned": len(plan.unassigned), "distance_m": plan.distance_m}
                    rows.append(row)
                    print(json.dumps(row), flush=True)  # noqa: T201
    summary = {
        f"{case} {budget:g} s": max(r["over_s"] for r in rows
                                    if r["case"] == case and r["seconds"] == budget)
        for case in cases for budget in budgets
    }
    print(json.dumps(summary, indent=1), flush=True)  # noqa: T201
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                    "runs": rows, "worst_over_s": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
