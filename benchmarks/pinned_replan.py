"""A pinned re-plan of a large office day: what the API's default re-plan asks of the
solver (every parcel a published plan gave out stays with its courier, new parcels go
to whoever can take them), measured for distance, stops served and peak memory
(docs/routing.md, "Pins"). With ``--move-cost M`` the re-plan rebalances instead (the
API's ``keep_assignments: false``): each published stop prefers its courier at that
move cost, which needs a pair of matrices per courier (or, for the couriers beyond the
solver's matrix budget, or all with ``--matrix-budget 0``, two alternative clients per
stop).

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.pinned_replan --stops 1000 --couriers 15 --new 80 \
        --seconds 10 --seeds 0,1,2,3 --out /tmp/pinned.json

The day is ``benchmarks.routing_synthetic.generate_day`` with ``--stops`` + ``--new``
stops (15 % with windows). A first plan of the first ``--stops`` stops
(``--first-seconds``, seed 0) stands for the published plan; ``--published FILE`` keeps
it, so that two versions re-plan the same one. The re-plan pins each stop
that plan served to its courier (committed), adds the ``--new`` stops, warm-starts from
the published routes, and is solved with ``--seconds`` for each seed. Each re-plan runs
in a process of its own (started by ``spawn``), so its peak resident memory (the
process and its solver workers, ``ru_maxrss``) is its own.

To measure another version of ``routing`` with this same script, put that version's
checkout first on the path: ``PYTHONPATH=/path/to/checkout .venv/bin/python
benchmarks/pinned_replan.py --published FILE ...`` (the checkout needs
``benchmarks/routing_synthetic.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import multiprocessing
import queue as queue_module
import resource
import statistics
from pathlib import Path
from typing import Any

from benchmarks.routing_synthetic import generate_day
from routing import Problem, SolverParams, solve
from routing.evaluate import evaluate


def _day(args: argparse.Namespace) -> Problem:
    return generate_day(args.stops + args.new, args.couriers, args.tw_frac, args.instance_seed)


def _pinned(day: Problem, published: dict[str, list[str]], move_cost_m: int | None) -> Problem:
    """The re-plan: each published stop pinned to its courier, or with ``move_cost_m``
    preferring it at that cost (a rebalancing re-plan); committed either way."""
    owner = {sid: cid for cid, sids in published.items() for sid in sids}
    if move_cost_m is None:
        stops = tuple(dataclasses.replace(s, courier_id=owner[s.id], committed=True)
                      if s.id in owner else s for s in day.stops)
        return dataclasses.replace(day, stops=stops)
    stops = tuple(dataclasses.replace(s, preferred_courier=owner[s.id], committed=True)
                  if s.id in owner else s for s in day.stops)
    return dataclasses.replace(day, stops=stops, move_cost_m=move_cost_m)


def _replan(args: argparse.Namespace, published: dict[str, list[str]], seed: int,
            out: multiprocessing.Queue[dict[str, Any]]) -> None:
    """One re-plan, in a process of its own: its figures go to ``out``."""
    problem = _pinned(_day(args), published, args.move_cost)
    if args.matrix_budget is not None:  # e.g. 0: move costs as alternatives, not profiles
        import routing.solver

        routing.solver.MATRIX_MEMORY_BUDGET = args.matrix_budget
    try:
        plan = solve(problem, SolverParams(time_limit_s=args.seconds, seed=seed),
                     initial=published)
    except Exception as exc:  # e.g. an older version's ProblemTooLargeError
        out.put({"seed": seed, "error": f"{type(exc).__name__}: {exc}"})
        return
    on = {v.stop_id: r.courier_id for r in plan.routes for v in r.visits}
    pinned = [s for s in problem.stops if s.courier_id is not None]
    rss = max(resource.getrusage(who).ru_maxrss
              for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    out.put({
        "seed": seed,
        "distance_m": plan.distance_m,
        "served": len(on),
        "pinned": len(pinned),
        "preferred_moved": sum(1 for s in problem.stops if s.preferred_courier is not None
                               and s.id in on and on[s.id] != s.preferred_courier),
        "pinned_served": sum(1 for s in pinned if s.id in on),
        "pinned_on_another_courier": sum(
            1 for s in pinned if s.id in on and on[s.id] != s.courier_id),
        "new_served": sum(1 for s in problem.stops if s.courier_id is None and s.id in on),
        "feasible": plan.feasible,
        "runtime_s": round(plan.runtime_s, 2),
        "peak_rss_mb": round(rss / 1024),
    })


def _result(child: multiprocessing.process.BaseProcess,
            queue: multiprocessing.Queue[dict[str, Any]], seed: int) -> dict[str, Any]:
    """The child's figures, or an error row if it ended without sending any (a crash, or
    killed for memory), instead of waiting for them for ever."""
    while True:
        try:
            return queue.get(timeout=1.0)
        except queue_module.Empty:
            if not child.is_alive():
                try:  # it may have sent them just before it ended
                    return queue.get(timeout=1.0)
                except queue_module.Empty:
                    return {"seed": seed, "error": f"re-plan process ended ({child.exitcode})"}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stops", type=int, default=1000)
    ap.add_argument("--couriers", type=int, default=15)
    ap.add_argument("--new", type=int, default=80)
    ap.add_argument("--tw-frac", type=float, default=0.15)
    ap.add_argument("--instance-seed", type=int, default=0)
    ap.add_argument("--first-seconds", type=float, default=20.0)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seeds", default="0,1,2,3")
    ap.add_argument("--move-cost", type=int, default=None,
                    help="rebalance instead: published stops prefer their courier at this "
                         "move cost (m) rather than being pinned")
    ap.add_argument("--matrix-budget", type=int, default=None,
                    help="routing.solver.MATRIX_MEMORY_BUDGET in bytes for the re-plan (0: "
                         "move costs as alternative clients rather than routing profiles)")
    ap.add_argument("--published", type=Path,
                    help="the published plan ({courier: [stop, ...]}): read from this file "
                         "if it exists, else solved and written there (to measure two "
                         "versions on the same plan)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    day = _day(args)
    if args.published is not None and args.published.exists():
        published = json.loads(args.published.read_text())
    else:
        first = dataclasses.replace(day, stops=day.stops[: args.stops])
        plan = solve(first, SolverParams(time_limit_s=args.first_seconds, seed=0))
        published = {r.courier_id: [v.stop_id for v in r.visits] for r in plan.routes}
        if args.published is not None:
            args.published.write_text(json.dumps(published))
    first_m = evaluate(_day(args), published).distance_m
    print(f"published plan: {sum(map(len, published.values()))} of {args.stops} stops, "  # noqa: T201
          f"{first_m} m", flush=True)
    runs: list[dict[str, Any]] = []
    ctx = multiprocessing.get_context("spawn")
    for seed in (int(s) for s in args.seeds.split(",")):
        queue: multiprocessing.Queue[dict[str, Any]] = ctx.Queue()
        child = ctx.Process(target=_replan, args=(args, published, seed, queue))
        child.start()
        run = _result(child, queue, seed)
        child.join()
        print(json.dumps(run), flush=True)  # noqa: T201
        runs.append(run)
    ok = [r for r in runs if "error" not in r]
    summary = {k: statistics.fmean(r[k] for r in ok) if ok else None
               for k in ("distance_m", "served", "pinned_served", "new_served", "peak_rss_mb")}
    print(json.dumps({"mean": summary}), flush=True)  # noqa: T201
    args.out.write_text(json.dumps({
        "stops": args.stops, "couriers": args.couriers, "new": args.new,
        "seconds": args.seconds, "published_m": first_m, "runs": runs,
        "mean": summary}, indent=1))


if __name__ == "__main__":
    main()
