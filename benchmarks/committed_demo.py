"""Committed stops on the demo day: the day's first plan solved with the stops the API
marks committed (the parcels already in the couriers' bags) and with the same problem
but every stop new, seed by seed (docs/routing.md, "Committed stops").

Usage (from the repository root)::

    POSTAL_DEMO_MODE=true .venv/bin/python -m benchmarks.committed_demo \
        --seconds 10 --seeds 1,2,3 --out /tmp/committed.json

The problem is built once, as ``POST /api/v1/route-plans`` builds it for the ten demo
couriers on a fresh SQLite copy of the demo data (``api.route_plans.service.create_plan``);
then ``routing.solve`` runs on it for each seed, first as built, then with every
``committed`` flag cleared (the model the solver had before committed stops). The demo
day is bound by weight, so some stops are always left out: the figures say how many are
served, how many of those are committed, and the distance.
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.rebalance_demo import NOW, _data, demo_app, load_demo_day


def _problem(workdir: Path, seconds: float) -> dict[str, Any]:
    from api.route_plans import service

    with demo_app(workdir, "demo").app_context():
        session, dispatcher, couriers = load_demo_day()
        plan = service.create_plan(session, dispatcher,
                                   _data([c.id for c in couriers], seconds), now=NOW,
                                   max_attempts=3)
        session.commit()
        return copy.deepcopy(plan.problem)


def main(argv: list[str] | None = None) -> None:
    import routing

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--seeds", default="1,2,3")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="committed-") as tmp:
        problem = _problem(Path(tmp), args.seconds)
    committed = {s["id"] for s in problem["stops"] if s.get("committed")}
    print(f"{len(problem['stops'])} stops, {len(committed)} committed")  # noqa: T201
    runs: list[dict[str, Any]] = []
    for mode in ("committed", "all_new"):
        p = copy.deepcopy(problem)
        if mode == "all_new":
            for s in p["stops"]:
                s["committed"] = False
        solved = routing.Problem.from_dict(p)
        for seed in (int(s) for s in args.seeds.split(",")):
            plan = routing.solve(solved, routing.SolverParams(time_limit_s=args.seconds,
                                                              seed=seed))
            served = {v.stop_id for r in plan.routes for v in r.visits}
            run = {"mode": mode, "seed": seed, "served": len(served),
                   "committed_served": len(served & committed),
                   "distance_m": plan.distance_m}
            print(json.dumps(run), flush=True)  # noqa: T201
            runs.append(run)
    args.out.write_text(json.dumps({"stops": len(problem["stops"]),
                                    "committed": len(committed), "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
