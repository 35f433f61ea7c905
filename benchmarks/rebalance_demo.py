"""Rebalancing on the demo day: how many of the day's stops a re-plan with
``keep_assignments`` false leaves with their courier at each move cost, and what
that costs in distance (docs/routing.md, "Rebalancing on the demo day").

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.rebalance_demo --costs 0,500,2000,5000 \
        --first-seconds 10 --seconds 5 --repeats 3 --out /tmp/rebalance.json

Two scenarios, each on a fresh SQLite copy of the demo data (``api.demo.load_demo``,
the day 2026-11-20, 08:00 in Viet Nam):

* ``replan``: a plan for the ten demo couriers (``--first-seconds``) is published;
  then re-plans of the same day with ``keep_assignments`` false at each move cost
  (and one with ``keep_assignments`` true, ``keep``), none published.
* ``late_courier``: the first plan is for nine couriers (``courier10`` has no
  parcels); the re-plans add ``courier10``.

Each re-plan goes through ``api.route_plans.service`` as the API's job does
(``create_plan``, ``run``: warm start from the routes in force, solver seed = plan
id), and is cancelled after it is measured so that the next one starts from the
same routes in force (a draft would be a warm start for a courier without a route);
plan ids, hence seeds, differ between runs.
Figures per run: the result's ``stability`` (previous stops kept on their courier's
route, moved to another courier's, unassigned), ``distance_m`` (real metres) and
the stops the late courier got.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 1, 0, tzinfo=UTC)  # 08:00 in Viet Nam


def _data(courier_ids: list[int], seconds: float, **kw: Any) -> dict[str, Any]:
    return {"date": DAY, "shift_start_s": 8 * 3600, "shift_end_s": 17 * 3600 + 1800,
            "time_limit_s": seconds, "courier_ids": courier_ids, **kw}


def demo_app(workdir: Path, name: str) -> Any:
    """The app on a new SQLite file ``workdir/name.db``, its clock at :data:`NOW`. In
    its app context, :func:`load_demo_day` fills it."""
    from api import create_app

    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{workdir / (name + '.db')}",
                       "CLOCK": lambda: NOW, "SECRET_KEY": "benchmark",
                       "PHOTO_DIR": str(workdir / "evidence"),
                       "RATELIMIT_STORAGE_URI": "memory://"})


def load_demo_day() -> tuple[Any, Any, list[Any]]:
    """In the app context: the demo data loaded; the session, ``dispatcher1`` and the
    couriers (by id)."""
    from sqlalchemy import select

    from api.demo import load_demo
    from models import Role, User, db

    db.create_all()
    session = db.session()
    load_demo(session, now=NOW)
    session.commit()
    dispatcher = session.execute(select(User).where(
        User.username == "dispatcher1")).scalar_one()
    couriers = list(session.execute(select(User).where(
        User.role == Role.COURIER).order_by(User.id)).scalars())
    return session, dispatcher, couriers


def _scenario(name: str, costs: list[int], first_s: float, seconds: float, repeats: int,
              workdir: Path) -> list[dict[str, Any]]:
    from api.route_plans import service
    from models import PlanStatus, RoutePlan

    app = demo_app(workdir, name)
    runs: list[dict[str, Any]] = []
    with app.app_context():
        session, dispatcher, couriers = load_demo_day()
        late = couriers[-1].id if name == "late_courier" else None
        everyone = [c.id for c in couriers]
        first_for = [c for c in everyone if c != late]

        first = service.create_plan(session, dispatcher, _data(first_for, first_s), now=NOW,
                                    max_attempts=3)
        session.commit()
        service.run(session, first.id, clock=lambda: NOW)
        service.publish(session, dispatcher, first.id, now=NOW, accept_issues=True)
        session.commit()
        published = session.get(RoutePlan, first.id)
        assert published is not None and published.result is not None
        base = {"scenario": name, "first_distance_m": published.result["distance_m"],
                "first_stops": sum(len(r["stops"]) for r in published.result["routes"])}
        print(f"{name}: published plan {first.id}: {base['first_stops']} stops, "  # noqa: T201
              f"{base['first_distance_m']} m")

        settings: list[tuple[str, dict[str, Any]]] = [("keep", {})] + [
            (str(c), {"keep_assignments": False, "move_cost_m": c}) for c in costs]
        for rep in range(repeats):
            for label, extra in settings:
                plan = service.create_plan(session, dispatcher,
                                           _data(everyone, seconds, **extra), now=NOW,
                                           max_attempts=3)
                session.commit()
                load = os.getloadavg()[0]
                t0 = time.monotonic()
                service.run(session, plan.id, clock=lambda: NOW)
                wall = time.monotonic() - t0
                done = session.get(RoutePlan, plan.id)
                assert done is not None and done.result is not None, done
                result = done.result
                by_courier = {r["courier_id"]: len(r["stops"]) for r in result["routes"]}
                before = {i for ids in (done.problem.get("routes_before") or {}).values()
                          for i in ids}
                dropped = [u["reason"] for u in result["unassigned"]
                           if u["identifier"] in before]
                run = {**base, "repeat": rep, "setting": label, "plan_id": plan.id,
                       "stops": len(done.problem["stops"]),
                       "distance_m": result["distance_m"],
                       "unassigned_total": len(result["unassigned"]),
                       **(result["stability"] or {}),
                       "late_courier_stops": by_courier.get(late, 0) if late else None,
                       "dropped_reasons": sorted(dropped),
                       "routes": len(result["routes"]), "wall_s": round(wall, 2),
                       "load_1min": round(load, 2)}
                runs.append(run)
                print(f"  {label:>5} rep {rep}: kept {run.get('kept')}/"  # noqa: T201
                      f"{run.get('previous_stops')}, moved {run.get('moved')}, "
                      f"unassigned {run.get('unassigned')} (day {run['unassigned_total']}), "
                      f"{run['distance_m']} m, load {run['load_1min']}"
                      + (f", late courier {run['late_courier_stops']} stops" if late else ""))
                done.status = PlanStatus.CANCELLED
                session.commit()
    return runs


def _summary(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for scenario in dict.fromkeys(r["scenario"] for r in runs):
        mine = [r for r in runs if r["scenario"] == scenario]
        for setting in dict.fromkeys(r["setting"] for r in mine):
            rs = [r for r in mine if r["setting"] == setting]

            def mean(key: str, rs: list[dict[str, Any]] = rs) -> float | None:
                vals = [r[key] for r in rs if r.get(key) is not None]
                return round(statistics.fmean(vals), 1) if vals else None

            out.append({"scenario": scenario, "setting": setting, "runs": len(rs),
                        "previous_stops": rs[0].get("previous_stops"),
                        "kept_mean": mean("kept"), "kept_min": min(r["kept"] for r in rs),
                        "moved_mean": mean("moved"), "moved_min": min(r["moved"] for r in rs),
                        "moved_max": max(r["moved"] for r in rs),
                        "unassigned_mean": mean("unassigned"),
                        "day_unassigned_mean": mean("unassigned_total"),
                        "distance_m_mean": mean("distance_m"),
                        "distance_m_min": min(r["distance_m"] for r in rs),
                        "distance_m_max": max(r["distance_m"] for r in rs),
                        "late_courier_stops_mean": mean("late_courier_stops"),
                        "first_distance_m": rs[0]["first_distance_m"]})
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--costs", default="0,500,2000,5000")
    ap.add_argument("--first-seconds", type=float, default=10.0)
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--scenarios", default="replan,late_courier")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    costs = [int(c) for c in args.costs.split(",")]
    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="rebalance-") as tmp:
        for name in args.scenarios.split(","):
            runs += _scenario(name, costs, args.first_seconds, args.seconds, args.repeats,
                              Path(tmp))
    summary = _summary(runs)
    args.out.write_text(json.dumps({"runs": runs, "summary": summary}, indent=1))
    for row in summary:
        print(json.dumps(row))  # noqa: T201


if __name__ == "__main__":
    main()
