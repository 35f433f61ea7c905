"""Delivery rounds on the demo day: how many of the stops in a delivery round a plan
gives the round's courier at each ``round_cost_m``, and what that costs in distance
(docs/routing.md, "Delivery rounds on the demo day").

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.rounds_demo --costs 0,500,2000,5000 --seconds 10 \
        --repeats 2 --out /tmp/rounds.json

On a fresh SQLite copy of the demo data (``api.demo.load_demo``: seven rounds of two
wards each, ridden by courier1 to courier7; courier8 to courier10 have none), plans
for the ten couriers through ``api.route_plans.service`` as the API's job does
(``create_plan``, ``run``; solver seed = plan id), each cancelled after it is
measured so that none is a warm start for the next. Figures per run: the result's
``rounds`` (stops preferring their round's courier, on that courier's route, on
another's, unassigned) and ``distance_m`` (real metres). ``round_cost_m`` 0 ignores
rounds, as plans did before them: its ``rounds`` figure is counted from the same
stops' round couriers after the fact.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.rebalance_demo import NOW, _data, demo_app, load_demo_day


def _on_rounds(session: Any, result: dict[str, Any], office_id: int,
               courier_ids: list[int]) -> dict[str, int]:
    """Of the routed or unassigned stops whose item's round has a courier of the plan
    and that no other rule gave a courier (not pinned), where they went."""
    from sqlalchemy import select

    from api.rounds.service import round_couriers
    from models import Item, ward_key

    riders = round_couriers(session, office_id, courier_ids)
    served = {s["identifier"]: r["courier_id"] for r in result["routes"] for s in r["stops"]}
    idents = list(served) + [u["identifier"] for u in result["unassigned"]]
    items = session.execute(select(Item).where(Item.identifier.in_(idents))).unique().scalars()
    on = other = out = 0
    for it in items:
        rider = riders.get(ward_key(it.recipient_ward))
        if rider is None or (it.courier_id is not None and it.courier_id in courier_ids):
            continue  # no round courier in the plan, or pinned / preferred otherwise
        if it.identifier not in served:
            out += 1
        elif served[it.identifier] == rider:
            on += 1
        else:
            other += 1
    return {"stops": on + other + out, "on_round_courier": on, "another_courier": other,
            "unassigned": out}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--costs", default="0,500,2000,5000")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    from api.route_plans import service
    from models import PlanStatus, RoutePlan

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rounds-") as tmp:
        app = demo_app(Path(tmp), "rounds")
        with app.app_context():
            session, dispatcher, couriers = load_demo_day()
            everyone = [c.id for c in couriers]
            for rep in range(args.repeats):
                for cost in [int(c) for c in args.costs.split(",")]:
                    plan = service.create_plan(
                        session, dispatcher, _data(everyone, args.seconds, round_cost_m=cost,
                                                   warm_start=False), now=NOW, max_attempts=3)
                    session.commit()
                    service.run(session, plan.id, clock=lambda: NOW)
                    done = session.get(RoutePlan, plan.id)
                    assert done is not None and done.result is not None, done
                    figures = _on_rounds(session, done.result, done.office_id, everyone)
                    run = {"round_cost_m": cost, "repeat": rep, "plan_id": plan.id,
                           "plan_stops": len(done.problem["stops"]),
                           "distance_m": done.result["distance_m"],
                           "unassigned_total": len(done.result["unassigned"]), **figures,
                           "result_rounds": done.result.get("rounds")}
                    runs.append(run)
                    print(json.dumps(run))  # noqa: T201
                    done.status = PlanStatus.CANCELLED
                    session.commit()
    summary = []
    for cost in dict.fromkeys(r["round_cost_m"] for r in runs):
        rs = [r for r in runs if r["round_cost_m"] == cost]
        summary.append({k: (cost if k == "round_cost_m" else round(statistics.fmean(
            r[k] for r in rs), 1)) for k in ("round_cost_m", "plan_stops", "stops",
                                             "on_round_courier",
                                             "another_courier", "unassigned", "distance_m",
                                             "unassigned_total")})
    args.out.write_text(json.dumps({"runs": runs, "summary": summary}, indent=1))
    for row in summary:
        print(json.dumps(row))  # noqa: T201


if __name__ == "__main__":
    main()
