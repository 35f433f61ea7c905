"""A courier's re-optimisation in the field, at a short budget against a long one.

What the product runs at 1 s is mostly not a cold 150-stop day but
``routing.reoptimize``: the courier's route in force, some of it done, the courier
late, a few stops added. This benchmark builds such moments on the 150-stop days
of ``benchmarks.routing_synthetic.generate_day`` and compares ``--seconds`` with
``--ref-seconds`` (both seed 0 unless ``--seeds``).

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.reoptimize_day --instances 0-9 --done 40 --new 5 \
        --delays 900,1800 --seconds 1 --ref-seconds 10 --out /tmp/reopt.json

``--new-at-office``: the new stops' parcels are at the office (the courier passes by
it to load them, ``reoptimize``'s ``at_office``), the route's on board.

A moment: the day's plan (``--plan-seconds``, seed 0; ``--plans FILE`` keeps it) is
the route in force; the courier has served its first ``--done`` stops and is
``--delay`` seconds behind its plan at the last of them, heading to the next (kept
first); ``--new`` stops (30 % with a 2-hour window opening after now) join the
route. Stops whose window has closed, or cannot be reached in time any more, are
left out by both runs alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.routing_synthetic import H, generate_day
from routing import (
    Demand,
    LatLon,
    Plan,
    Problem,
    SolverParams,
    Stop,
    TimeWindow,
    reoptimize,
    solve,
    warm_up,
)
from routing.evaluate import evaluate


@dataclasses.dataclass(frozen=True)
class Moment:
    """The inputs of one ``reoptimize`` call."""

    problem: Problem
    courier_id: str
    position: LatLon
    done: tuple[str, ...]
    now_s: int
    order: tuple[str, ...]  # the stops left, in the planned order
    at_office: tuple[str, ...] = ()  # stops whose parcels are at the office


def route_in_force(instance: int, plan_seconds: float) -> list[str]:
    """The day's plan: the order of its stops (a timed solve, so keep it: ``--plans``)."""
    plan = solve(generate_day(150, 1, 0.3, seed=instance),
                 SolverParams(time_limit_s=plan_seconds, seed=0))
    return [v.stop_id for v in plan.routes[0].visits]


def moment(instance: int, in_force: list[str], done: int, new: int, delay_s: int,
           new_at_office: bool = False) -> Moment:
    """The day ``instance`` on the route ``in_force`` after ``done`` stops, ``delay_s``
    late, ``new`` stops added (``new_at_office``: the route's parcels are on board, the
    new ones at the office: ``reoptimize``'s ``at_office``)."""
    day = generate_day(150, 1, 0.3, seed=instance)
    plan = evaluate(day, {day.couriers[0].id: in_force})
    visits = plan.routes[0].visits
    served = tuple(v.stop_id for v in visits[:done])
    last = next(s for s in day.stops if s.id == served[-1])
    now = visits[done - 1].departure_s + delay_s
    rng = np.random.default_rng(100 + instance)
    added = []
    for i in range(new):
        lat = 12.2450 + rng.uniform(-0.02, 0.02)
        lon = 109.1940 + rng.uniform(-0.016, 0.016)
        window = None
        if rng.random() < 0.3:
            opens = int(rng.integers(max(now // H + 1, 8), 17)) * H
            window = TimeWindow(opens, opens + 2 * H)
        added.append(Stop(f"n{i:02d}", LatLon(float(lat), float(lon)), service_s=120,
                          window=window, demand=Demand(1, 1000)))
    stops = day.stops
    if new_at_office:
        stops = tuple(dataclasses.replace(s, on_board=True) for s in stops)
    problem = dataclasses.replace(day, stops=stops + tuple(added))
    order = tuple(v.stop_id for v in visits[done:])
    return Moment(problem, day.couriers[0].id, last.location, served, now, order,
                  tuple(s.id for s in added) if new_at_office else ())


def _reoptimize(m: Moment, seconds: float, seed: int) -> Plan:
    return reoptimize(m.problem, m.courier_id, m.position, m.done, now_s=m.now_s,
                      keep_next=m.order[0], current_order=m.order[1:],
                      params=SolverParams(time_limit_s=seconds, seed=seed),
                      at_office=m.at_office)


def _summary(plan: Plan) -> dict[str, Any]:
    visit = plan.routes[0].office_visit if plan.routes else None
    return {"distance_m": plan.distance_m, "unassigned": len(plan.unassigned),
            "method": plan.method, "runtime_s": round(plan.runtime_s, 3),
            "office_before": None if visit is None else visit.before}


def _ints(spec: str) -> list[int]:
    """``"0-3,7"`` -> ``[0, 1, 2, 3, 7]``."""
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition("-")
        out += range(int(lo), int(hi or lo) + 1)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--instances", default="0-9", help="day seeds, e.g. 0-9 or 0,2,5")
    ap.add_argument("--done", type=int, default=40)
    ap.add_argument("--new", type=int, default=5)
    ap.add_argument("--delays", default="900,1800", help="seconds behind the plan")
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--ref-seconds", type=float, default=10.0)
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--plan-seconds", type=float, default=2.0)
    ap.add_argument("--plans", type=Path,
                    help="the routes in force ({instance: [stop, ...]}): read from this file "
                         "where it has them, else solved and written there (so that two "
                         "versions start from the same moments)")
    ap.add_argument("--new-at-office", action="store_true",
                    help="the route's parcels are on board and the new stops' at the office "
                         "(the courier passes by it: reoptimize's at_office)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if not 1 <= args.done < 150:
        ap.error("--done must be in 1..149")
    warm_up()
    plans: dict[str, list[str]] = {}
    if args.plans is not None and args.plans.exists():
        plans = json.loads(args.plans.read_text())
    for instance in _ints(args.instances):
        if str(instance) not in plans:
            plans[str(instance)] = route_in_force(instance, args.plan_seconds)
    if args.plans is not None:
        args.plans.write_text(json.dumps(plans))
    rows: list[dict[str, Any]] = []
    for delay in _ints(args.delays):
        for instance in _ints(args.instances):
            m = moment(instance, plans[str(instance)], args.done, args.new, delay,
                       args.new_at_office)
            ref = _reoptimize(m, args.ref_seconds, 0)
            for seed in _ints(args.seeds):
                plan = _reoptimize(m, args.seconds, seed)
                row = {"instance": instance, "delay_s": delay, "seed": seed,
                       "short": _summary(plan), "reference": _summary(ref),
                       "same_unassigned": len(plan.unassigned) == len(ref.unassigned),
                       "gap_pct": round(100 * (plan.distance_m - ref.distance_m)
                                        / max(1, ref.distance_m), 3)}
                rows.append(row)
                print(json.dumps(row), flush=True)  # noqa: T201
    same = [r for r in rows if r["same_unassigned"]]
    summary = {
        "runs": len(rows),
        "same_unassigned": len(same),
        "more_unassigned": sum(r["short"]["unassigned"] > r["reference"]["unassigned"]
                               for r in rows),
        "within_1pct_same_unassigned": sum(r["gap_pct"] <= 1.0 for r in same),
        "gap_pct_mean_same_unassigned": (round(statistics.fmean(r["gap_pct"] for r in same), 3)
                                         if same else None),
        "runtime_s_max": max((r["short"]["runtime_s"] for r in rows), default=None),
    }
    print(json.dumps(summary), flush=True)  # noqa: T201
    args.out.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                    "runs": rows, "summary": summary}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
