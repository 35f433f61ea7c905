"""Solution quality of the routing core on public benchmark sets.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.routing_quality --set solomon \
        --instances C101,R101 --seconds 10 --out /tmp/solomon.json \
        [--solver ours,ortools] [--data ../shared/benchmarks/routing]

Sets: ``solomon``, ``gh`` (Gehring-Homberger), ``x`` (CVRPLIB X), ``tsp``
(TSPLIB) under ``--data``, and ``file`` (``--instances`` are paths to any
VRPLIB/TSPLIB file; distances from ``EDGE_WEIGHT_SECTION`` when explicit,
otherwise ``nint`` of the Euclidean distance unless ``--convention`` says
otherwise).

Solvers:

* ``ours``: :func:`routing.core.solve_core`, the exact configuration the
  product runs (fast-tsp for plain single routes, otherwise PyVRP with
  ``--workers`` parallel seeds, default 2).
* ``pyvrp``: the same core restricted to one PyVRP run (no fast path,
  one seed): plain PyVRP.
* ``ortools``: OR-Tools routing, PATH_CHEAPEST_ARC + GUIDED_LOCAL_SEARCH.

Distance conventions (see the data folder's README): Solomon/GH use DIMACS,
``floor(10 * euclid)`` in units of 0.1 for distance and travel time, with
times scaled by 10; X and TSPLIB use ``nint(euclid)``. Every result is
re-evaluated from its routes by :func:`evaluate` (own matrix, capacity and
time-window check) and reported in BKS units; routes list customer numbers as
in the ``.sol`` files (depot 0 left out).
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import vrplib

from routing.core import INF_TIME, CoreClient, CoreInstance, CoreVehicleType, solve_core

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "benchmarks" / "routing"
SET_DIRS = {"solomon": "solomon", "gh": "gehring_homberger", "x": "cvrp_x", "tsp": "tsplib"}
SET_CONVENTION = {"solomon": "dimacs", "gh": "dimacs", "x": "nint", "tsp": "nint"}


@dataclass
class Instance:
    """A benchmark instance in integer units of the chosen convention."""

    name: str
    path: Path
    dist: np.ndarray  # (n, n) int64, node 0 = depot
    demand: np.ndarray | None  # (n,) or None
    capacity: int | None
    tw: np.ndarray | None  # (n, 2) int64
    service: np.ndarray  # (n,) int64
    vehicles: int
    scale: float  # divide costs by this to get BKS units
    bks: float | None
    bks_vehicles: int | None


def _matrix(coords: np.ndarray, convention: str) -> np.ndarray:
    diff = coords[:, None, :] - coords[None, :, :]
    euclid = np.sqrt((diff**2).sum(-1))
    if convention == "dimacs":
        return np.floor(10 * euclid + 1e-9).astype(np.int64)
    if convention == "nint":
        return np.floor(euclid + 0.5).astype(np.int64)
    raise ValueError(convention)


def _read_tour(path: Path) -> list[int]:
    nodes: list[int] = []
    inside = False
    for line in path.read_text().splitlines():
        if line.strip().startswith("TOUR_SECTION"):
            inside = True
            continue
        if inside:
            for tok in line.split():
                v = int(tok)
                if v == -1:
                    return nodes
                nodes.append(v)
    return nodes


def _bks(
    path: Path, data: dict[str, Any], dist: np.ndarray, scale: float
) -> tuple[float | None, int | None]:
    sol = path.with_suffix(".sol")
    if sol.exists():
        s = vrplib.read_solution(str(sol))
        return float(s["cost"]), len(s["routes"])
    if "best_known" in data:
        return float(data["best_known"]), 1
    tour = path.with_suffix(".opt.tour")
    if tour.exists():
        t = [v - 1 for v in _read_tour(tour)]
        cost = int(sum(dist[a, b] for a, b in zip(t, t[1:] + t[:1], strict=True)))
        return cost / scale, 1
    return None, None


def load(path: Path, convention: str) -> Instance:
    """Read a VRPLIB/TSPLIB file into integer matrices of ``convention``."""
    data = vrplib.read_instance(str(path), compute_edge_weights=False)
    n = int(data["dimension"])
    ewt = str(data.get("edge_weight_type", "EUC_2D")).upper()
    if convention == "auto":
        convention = "explicit" if ewt == "EXPLICIT" else "nint"
    if convention == "explicit" or "edge_weight" in data:
        dist = np.rint(np.asarray(data["edge_weight"], dtype=float)).astype(np.int64)
        convention = "explicit"
    else:
        dist = _matrix(np.asarray(data["node_coord"], dtype=float), convention)
    factor = 10 if convention == "dimacs" else 1
    demand = np.asarray(data["demand"], dtype=np.int64) if "demand" in data else None
    capacity = int(data["capacity"]) if "capacity" in data else None
    tw = None
    if "time_window" in data:
        tw = np.asarray(data["time_window"], dtype=np.int64) * factor
    service = np.zeros(n, dtype=np.int64)
    if "service_time" in data:
        st = np.asarray(data["service_time"], dtype=np.int64)
        service[:] = st * factor if st.ndim else int(st) * factor
        service[0] = 0
    bks, bks_veh = _bks(path, data, dist, factor)
    if "vehicles" in data and int(data["vehicles"]) > 0 and data.get("type") != "TSP":
        vehicles = int(data["vehicles"])
    elif demand is not None and capacity:
        lb = math.ceil(int(demand.sum()) / capacity)
        vehicles = max(bks_veh or 0, lb) + max(3, math.ceil(lb / 2))
    else:
        vehicles = 1
    return Instance(
        data.get("name", path.stem),
        path,
        dist,
        demand,
        capacity,
        tw,
        service,
        vehicles,
        float(factor),
        bks,
        bks_veh,
    )


def evaluate(inst: Instance, routes: list[list[int]]) -> tuple[float, list[str]]:
    """Recompute the cost (BKS units) and list feasibility violations."""
    n = inst.dist.shape[0]
    problems: list[str] = []
    seen = [0] * n
    total = 0
    for r_i, route in enumerate(routes):
        path = [0, *route, 0]
        total += int(sum(inst.dist[a, b] for a, b in zip(path, path[1:], strict=False)))
        if inst.demand is not None and inst.capacity is not None:
            load = int(inst.demand[route].sum()) if route else 0
            if load > inst.capacity:
                problems.append(f"route {r_i}: load {load} > {inst.capacity}")
        if inst.tw is not None:
            t = int(inst.tw[0, 0])
            prev = 0
            for c in route:
                t = max(t + int(inst.dist[prev, c]), int(inst.tw[c, 0]))
                if t > inst.tw[c, 1]:
                    problems.append(f"route {r_i}: customer {c} at {t} > {inst.tw[c, 1]}")
                t += int(inst.service[c])
                prev = c
            t += int(inst.dist[prev, 0])
            if t > inst.tw[0, 1]:
                problems.append(f"route {r_i}: back at depot at {t} > {inst.tw[0, 1]}")
        for c in route:
            seen[c] += 1
    for c in range(1, n):
        if seen[c] != 1:
            problems.append(f"customer {c} visited {seen[c]} times")
    if len(routes) > inst.vehicles:
        problems.append(f"{len(routes)} routes > {inst.vehicles} vehicles")
    return total / inst.scale, problems


def solve_ours(
    inst: Instance, seconds: float, seed: int, workers: int, fast_path: bool
) -> tuple[list[list[int]], str]:
    """Solve through routing.core (the product's solving core)."""
    n = inst.dist.shape[0]
    dims = () if inst.demand is None or inst.capacity is None else (inst.capacity,)
    clients = []
    for c in range(1, n):
        clients.append(
            CoreClient(
                location=c,
                demand=(int(inst.demand[c]),) if dims and inst.demand is not None else (),
                service_s=int(inst.service[c]),
                tw_early=int(inst.tw[c, 0]) if inst.tw is not None else 0,
                tw_late=int(inst.tw[c, 1]) if inst.tw is not None else INF_TIME,
            )
        )
    vt = CoreVehicleType(
        start=0,
        end=0,
        capacity=dims,
        tw_early=int(inst.tw[0, 0]) if inst.tw is not None else 0,
        tw_late=int(inst.tw[0, 1]) if inst.tw is not None else INF_TIME,
        count=inst.vehicles,
    )
    core = CoreInstance((inst.dist,), (inst.dist,), tuple(clients), (vt,), "distance")
    res = solve_core(
        core, time_limit_s=seconds, seed=seed, workers=workers, use_tsp_fast_path=fast_path
    )
    return [[v + 1 for v in r.visits] for r in res.routes], res.method


def solve_ortools(inst: Instance, seconds: float) -> tuple[list[list[int]], str]:
    """OR-Tools routing with guided local search (the reference)."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    n = inst.dist.shape[0]
    manager = pywrapcp.RoutingIndexManager(n, inst.vehicles, 0)
    model = pywrapcp.RoutingModel(manager)
    dist_cb = model.RegisterTransitMatrix(inst.dist.tolist())
    model.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    if inst.demand is not None and inst.capacity is not None:
        dem_cb = model.RegisterUnaryTransitVector(inst.demand.tolist())
        model.AddDimensionWithVehicleCapacity(
            dem_cb, 0, [inst.capacity] * inst.vehicles, True, "Load"
        )
    if inst.tw is not None:
        tmat = inst.dist + inst.service[:, None]
        time_cb = model.RegisterTransitMatrix(tmat.tolist())
        horizon = int(inst.tw[0, 1])
        model.AddDimension(time_cb, horizon, horizon, False, "Time")
        tdim = model.GetDimensionOrDie("Time")
        for node in range(1, n):
            tdim.CumulVar(manager.NodeToIndex(node)).SetRange(
                int(inst.tw[node, 0]), int(inst.tw[node, 1])
            )
        for v in range(inst.vehicles):
            tdim.CumulVar(model.Start(v)).SetRange(int(inst.tw[0, 0]), horizon)
            tdim.CumulVar(model.End(v)).SetRange(int(inst.tw[0, 0]), horizon)
    params = pywrapcp.DefaultRoutingSearchParameters()
    # PATH_CHEAPEST_ARC finds no first solution for tight windows (R101,
    # RC101...); parallel cheapest insertion does, so use it when there are
    # time windows.
    fss = routing_enums_pb2.FirstSolutionStrategy
    params.first_solution_strategy = (
        fss.PARALLEL_CHEAPEST_INSERTION if inst.tw is not None else fss.PATH_CHEAPEST_ARC
    )
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    sol = model.SolveWithParameters(params)
    routes: list[list[int]] = []
    if sol is None:
        return routes, "ortools-gls (no solution)"
    for v in range(inst.vehicles):
        idx = model.Start(v)
        route = []
        idx = sol.Value(model.NextVar(idx))
        while not model.IsEnd(idx):
            route.append(manager.IndexToNode(idx))
            idx = sol.Value(model.NextVar(idx))
        if route:
            routes.append(route)
    return routes, "ortools-gls"


def resolve(data_dir: Path, set_name: str, names: list[str]) -> list[Path]:
    """Find instance files for ``names`` in a set folder (or paths for 'file')."""
    if set_name == "file":
        return [Path(n) for n in names]
    folder = data_dir / SET_DIRS[set_name]
    out = []
    for name in names:
        hits = sorted(p for p in folder.rglob(f"{name}.*") if p.suffix in (".vrp", ".tsp"))
        if not hits:
            raise SystemExit(f"instance {name!r} not found under {folder}")
        out.append(hits[0])
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", required=True, choices=["solomon", "gh", "x", "tsp", "file"])
    ap.add_argument(
        "--instances", required=True, help="comma-separated names (or paths for --set file)"
    )
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--solver", default="ours,ortools", help="comma list of ours, pyvrp, ortools")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2, help="parallel seeds for 'ours'")
    ap.add_argument("--convention", default=None, choices=["dimacs", "nint", "explicit", "auto"])
    args = ap.parse_args(argv)

    convention = args.convention or SET_CONVENTION.get(args.set, "auto")
    solvers = [s.strip() for s in args.solver.split(",") if s.strip()]
    for s in solvers:
        if s not in ("ours", "pyvrp", "ortools"):
            raise SystemExit(f"unknown solver {s!r}")
    results: list[dict[str, Any]] = []
    for path in resolve(
        args.data, args.set, [s.strip() for s in args.instances.split(",") if s.strip()]
    ):
        inst = load(path, convention)
        for solver in solvers:
            t0 = time.monotonic()
            if solver == "ortools":
                routes, method = solve_ortools(inst, args.seconds)
            elif solver == "pyvrp":
                routes, method = solve_ours(inst, args.seconds, args.seed, 1, False)
            else:
                routes, method = solve_ours(inst, args.seconds, args.seed, args.workers, True)
            wall = time.monotonic() - t0
            cost, problems = evaluate(inst, routes)
            solved = bool(routes) and not problems
            gap = None if inst.bks is None or not solved else 100.0 * (cost - inst.bks) / inst.bks
            row = {
                "instance": inst.name,
                "set": args.set,
                "solver": solver,
                "method": method,
                "seconds": args.seconds,
                "wall_s": round(wall, 3),
                "cost": round(cost, 4),
                "bks": inst.bks,
                "gap_pct": None if gap is None else round(gap, 4),
                "vehicles": len(routes),
                "bks_vehicles": inst.bks_vehicles,
                "feasible": not problems,
                "violations": problems[:10],
                "routes": routes,
            }
            results.append(row)
            print(
                f"{inst.name:14s} {solver:8s} cost {cost:12.1f} bks {inst.bks} "
                f"gap {gap if gap is None else round(gap, 3)} % veh {len(routes)} "
                f"feasible {not problems} wall {wall:.1f}s",
                flush=True,
            )
            Path(args.out).write_text(json.dumps({"results": results}, indent=1))
    summary: dict[str, Any] = {}
    for solver in solvers:
        rows = [r for r in results if r["solver"] == solver]
        gaps = [r["gap_pct"] for r in rows if r["gap_pct"] is not None]
        feas = all(r["feasible"] for r in rows)
        if rows:
            summary[solver] = {
                "instances": len(rows),
                "unsolved_or_infeasible": sum(
                    1 for r in rows if not r["feasible"] or not r["routes"]
                ),
                "mean_gap_pct": round(statistics.fmean(gaps), 4) if gaps else None,
                "max_gap_pct": round(max(gaps), 4) if gaps else None,
                "n": len(gaps),
                "all_feasible": feas,
            }
            print(f"{solver}: {summary[solver]}")
    Path(args.out).write_text(
        json.dumps({"results": results, "summary": summary, "argv": sys.argv[1:]}, indent=1)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
