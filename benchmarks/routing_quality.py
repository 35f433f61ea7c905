"""Solution quality of the routing core on public benchmark sets.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.routing_quality --set solomon \
        --instances C101,R101 --seconds 10 --out /tmp/solomon.json \
        [--solver ours,ortools] [--data ../shared/benchmarks/routing]

Sets: ``solomon``, ``gh`` (Gehring-Homberger), ``x`` (CVRPLIB X), ``tsp``
(TSPLIB) under ``--data``, and ``file`` (``--instances`` are paths to any
VRPLIB/TSPLIB file; distances from ``EDGE_WEIGHT_SECTION`` when explicit, in any
of the TSPLIB formats, otherwise the TSPLIB function of ``EDGE_WEIGHT_TYPE``:
EUC_2D, CEIL_2D, FLOOR_2D, MAN_2D, MAX_2D, ATT, GEO; unless ``--convention``
says otherwise). A file is refused, with the reason and exit status 1, before
anything is solved when it cannot be measured faithfully: one depot only, node 1;
no ``DISTANCE`` limit and no sections other than coordinates, demands, time
windows, service times and depot; sections of ``DIMENSION`` rows; integer
weights, demands, windows and service times.

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
import itertools
import json
import math
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import vrplib
from vrplib.parse import parse_vrplib

from routing.core import INF_TIME, CoreClient, CoreInstance, CoreVehicleType, solve_core

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "benchmarks" / "routing"
SET_DIRS = {"solomon": "solomon", "gh": "gehring_homberger", "x": "cvrp_x", "tsp": "tsplib"}
SET_CONVENTION = {"solomon": "dimacs", "gh": "dimacs", "x": "nint", "tsp": "nint"}

# Bound on weights, demands, capacities, windows and service times (after scaling): far
# above any benchmark's, far below where the solvers' int64 sums could overflow.
_MAX_VALUE = 2**31 - 1


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


class InstanceError(ValueError):
    """An instance file this benchmark cannot measure faithfully (message says why)."""


def _matrix(coords: np.ndarray, convention: str) -> np.ndarray:
    diff = coords[:, None, :] - coords[None, :, :]
    euclid = np.sqrt((diff**2).sum(-1))
    if convention == "dimacs":
        return _to_int(np.floor(10 * euclid + 1e-9))
    if convention == "nint":
        return _to_int(np.floor(euclid + 0.5))
    raise ValueError(convention)


def _to_int(d: np.ndarray) -> np.ndarray:
    """Integer distances, refused when they would not fit (or a coordinate was huge)."""
    if not np.all(np.isfinite(d)) or np.abs(d).max(initial=0) > _MAX_VALUE:
        raise InstanceError(f"distances must be at most {_MAX_VALUE}")
    return d.astype(np.int64)


def _nint(x: np.ndarray) -> np.ndarray:
    return np.floor(x + 0.5)


def _tsplib_matrix(coords: np.ndarray, ewt: str) -> np.ndarray:
    """TSPLIB95 distance functions (Reinelt 1995, section 2) for ``EDGE_WEIGHT_TYPE``."""
    dx = np.abs(coords[:, None, 0] - coords[None, :, 0])
    dy = np.abs(coords[:, None, 1] - coords[None, :, 1])
    if ewt == "EUC_2D":
        d = _nint(np.sqrt(dx**2 + dy**2))
    elif ewt == "CEIL_2D":
        d = np.ceil(np.sqrt(dx**2 + dy**2))
    elif ewt == "FLOOR_2D":
        d = np.floor(np.sqrt(dx**2 + dy**2))
    elif ewt == "MAN_2D":
        d = _nint(dx + dy)
    elif ewt == "MAX_2D":
        d = np.maximum(_nint(dx), _nint(dy))
    elif ewt == "ATT":
        r = np.sqrt((dx**2 + dy**2) / 10.0)
        t = _nint(r)
        d = np.where(t < r, t + 1, t)
    elif ewt == "GEO":
        deg = np.trunc(coords)
        rad = 3.141592 * (deg + 5.0 * (coords - deg) / 3.0) / 180.0
        lat, lon = rad[:, 0], rad[:, 1]
        q1 = np.cos(lon[:, None] - lon[None, :])
        q2 = np.cos(lat[:, None] - lat[None, :])
        q3 = np.cos(lat[:, None] + lat[None, :])
        arg = np.clip(0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3), -1.0, 1.0)
        d = np.trunc(6378.388 * np.arccos(arg) + 1.0)
    else:
        raise InstanceError(
            f"EDGE_WEIGHT_TYPE {ewt} is not supported (EXPLICIT, EUC_2D, CEIL_2D, FLOOR_2D, "
            "MAN_2D, MAX_2D, ATT, GEO are)"
        )
    d = _to_int(d)
    np.fill_diagonal(d, 0)
    return d


# Symmetric explicit formats: which (row, column) pairs the stream fills, in order.
# A *_COL format lists the same numbers as the *_ROW format of the other triangle.
_EXPLICIT_TRIANGLES = {
    "LOWER_ROW": ("lower", False),
    "UPPER_COL": ("lower", False),
    "UPPER_ROW": ("upper", False),
    "LOWER_COL": ("upper", False),
    "LOWER_DIAG_ROW": ("lower", True),
    "UPPER_DIAG_COL": ("lower", True),
    "UPPER_DIAG_ROW": ("upper", True),
    "LOWER_DIAG_COL": ("upper", True),
}


def _explicit_matrix(tokens: list[str], fmt: str, n: int) -> np.ndarray:
    """A full matrix from an ``EDGE_WEIGHT_SECTION`` read as one stream of numbers."""
    try:
        values = np.array([float(t) for t in tokens])
    except ValueError as exc:
        raise InstanceError(f"EDGE_WEIGHT_SECTION: {exc}") from None
    if fmt == "FULL_MATRIX":
        need = n * n
    elif fmt in _EXPLICIT_TRIANGLES:
        need = n * (n + 1) // 2 if _EXPLICIT_TRIANGLES[fmt][1] else n * (n - 1) // 2
    else:
        raise InstanceError(
            f"EDGE_WEIGHT_FORMAT {fmt or '(missing)'} is not supported (FULL_MATRIX, "
            + ", ".join(_EXPLICIT_TRIANGLES)
            + " are)"
        )
    if values.size != need:
        raise InstanceError(
            f"EDGE_WEIGHT_SECTION has {values.size} numbers; {fmt} of DIMENSION {n} needs {need}"
        )
    if not np.all(np.isfinite(values)) or np.any(values != np.rint(values)):
        raise InstanceError("EDGE_WEIGHT_SECTION: weights must be integers")
    _to_int(values)
    if fmt == "FULL_MATRIX":
        return values.reshape(n, n).astype(np.int64)
    triangle, diag = _EXPLICIT_TRIANGLES[fmt]
    k = 0 if diag else (-1 if triangle == "lower" else 1)
    rows, cols = np.tril_indices(n, k) if triangle == "lower" else np.triu_indices(n, k)
    d = np.zeros((n, n), dtype=np.int64)
    d[rows, cols] = values
    d[cols, rows] = values
    return d


def _number(token: str) -> float | None:
    try:
        return float(token)
    except ValueError:
        return None


_NUMBERED_SECTIONS = {
    "NODE_COORD_SECTION", "DEMAND_SECTION", "TIME_WINDOW_SECTION", "SERVICE_TIME_SECTION"
}


def _parse(path: Path) -> tuple[dict[str, Any], list[str] | None]:
    """vrplib's reading of ``path``, with the ``EDGE_WEIGHT_SECTION`` taken out as tokens
    (vrplib only reads FULL_MATRIX one row a line and LOWER_ROW)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError(f"cannot read: {exc}") from None
    keep: list[str] = []
    weights: list[str] | None = None
    inside = False
    section, row = "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped == "EOF":
            break
        if re.match(r"COMMENT\s*:", stripped):
            continue  # unused, and free text: vrplib would stop reading at a 'GEOFF' in it
        if "EOF" in stripped:
            raise InstanceError(f"line {number}: 'EOF' inside a line (vrplib stops reading there)")
        if inside:
            if "_SECTION" in stripped:
                inside = False
            else:
                if not stripped.startswith("#"):  # vrplib's comment lines
                    weights.extend(stripped.split())  # type: ignore[union-attr]
                continue
        if stripped.upper().startswith("EDGE_WEIGHT_SECTION"):
            if weights is not None:
                raise InstanceError("EDGE_WEIGHT_SECTION given twice")
            weights, inside = [], True
            continue
        if "_SECTION" in stripped:
            section, row = stripped.split()[0].rstrip(":").upper(), 0
        elif section in _NUMBERED_SECTIONS and stripped and not stripped.startswith("#"):
            # vrplib drops the node number and takes the rows in order
            row += 1
            if _number(stripped.split()[0]) != row:
                raise InstanceError(f"line {number}: {section} must list nodes 1, 2, ... in order")
        keep.append(line)
    try:
        data = parse_vrplib("\n".join(keep), compute_edge_weights=False)
    except (ValueError, RuntimeError, IndexError, TypeError) as exc:
        raise InstanceError(f"not a VRPLIB file: {exc}") from None
    return data, weights


# Sections this benchmark reads; any other one (pickups, prizes, release times...) would be
# silently ignored, so such files are refused.
_KNOWN_SECTIONS = {"node_coord", "demand", "time_window", "service_time", "depot", "display_data"}


def _column(data: dict[str, Any], key: str, n: int, width: int, factor: int) -> np.ndarray:
    """Section ``key`` as int64 of shape (n,) or (n, width), scaled by ``factor``."""
    try:
        arr = np.asarray(data[key], dtype=float)
    except (TypeError, ValueError):
        raise InstanceError(f"{key.upper()}_SECTION: ragged or non-numeric rows") from None
    shape = (n,) if width == 1 else (n, width)
    if arr.shape != shape:
        raise InstanceError(
            f"{key.upper()}_SECTION has shape {arr.shape}, DIMENSION {n} needs {shape}"
        )
    arr = arr * factor
    if not np.all(np.isfinite(arr)) or np.any(arr != np.rint(arr)):
        raise InstanceError(f"{key.upper()}_SECTION: values must be integers")
    if np.any(arr < 0) or np.any(arr > _MAX_VALUE):
        raise InstanceError(f"{key.upper()}_SECTION: values must be in 0..{_MAX_VALUE}")
    return np.rint(arr).astype(np.int64)


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
        # the routes' cost under this run's distances, not the file's Cost line: that one is
        # in the convention the solution's author used (DIMACS for Solomon), which need not
        # be this run's (--set file or --convention reading the same file with nint)
        routes = vrplib.read_solution(str(sol))["routes"]
        if any(not 0 < c < len(dist) for route in routes for c in route):
            raise ValueError(f"{sol.name}: customer numbers must be 1..{len(dist) - 1}")
        cost = sum(
            int(dist[a, b]) for r in routes for a, b in itertools.pairwise([0, *r, 0])
        )
        return cost / scale, len(routes)
    if "best_known" in data:
        return float(data["best_known"]), 1
    tour = path.with_suffix(".opt.tour")
    if tour.exists():
        t = [v - 1 for v in _read_tour(tour)]
        cost = int(sum(dist[a, b] for a, b in zip(t, t[1:] + t[:1], strict=True)))
        return cost / scale, 1
    return None, None


def load(path: Path, convention: str) -> Instance:
    """Read a VRPLIB/TSPLIB file into integer matrices of ``convention``.

    ``auto``: the file's ``EDGE_WEIGHT_SECTION`` when explicit, otherwise the TSPLIB
    function of its ``EDGE_WEIGHT_TYPE``. Raises :class:`InstanceError` for what cannot
    be measured faithfully (unsupported types, sections or constraints, inconsistent
    sizes, a depot other than node 1).
    """
    data, weights = _parse(path)
    n = data.get("dimension")
    if not isinstance(n, int) or n < 1:
        raise InstanceError("DIMENSION missing or not a positive integer")
    unknown = sorted(k for k, v in data.items() if not isinstance(v, int | float | str)
                     and k not in _KNOWN_SECTIONS)
    if unknown:
        raise InstanceError(f"{unknown[0].upper()}_SECTION is not supported")
    if "distance" in data:
        raise InstanceError("DISTANCE (a route length limit) is not supported")
    if "depot" in data and np.asarray(data["depot"]).tolist() != [0]:
        raise InstanceError("only one depot, node 1, is supported (see DEPOT_SECTION)")
    ewt = str(data.get("edge_weight_type", "EUC_2D")).upper()
    if convention == "explicit" or (convention == "auto" and ewt == "EXPLICIT"):
        if weights is None:
            raise InstanceError("no EDGE_WEIGHT_SECTION")
        fmt = str(data.get("edge_weight_format", "")).upper()
        dist = _explicit_matrix(weights, fmt, n)
        convention = "explicit"
    else:
        if weights is not None and ewt == "EXPLICIT":
            raise InstanceError(f"EDGE_WEIGHT_TYPE EXPLICIT, but --convention {convention}")
        try:
            coords = np.asarray(data["node_coord"], dtype=float)
        except (KeyError, TypeError, ValueError):
            raise InstanceError("NODE_COORD_SECTION missing or not 2 numbers a node") from None
        if coords.shape != (n, 2):
            raise InstanceError(
                f"NODE_COORD_SECTION has shape {coords.shape}, DIMENSION {n} needs ({n}, 2)"
            )
        if not np.all(np.isfinite(coords)):
            raise InstanceError("NODE_COORD_SECTION: coordinates must be finite numbers")
        if convention == "auto":
            dist = _tsplib_matrix(coords, ewt)
        else:
            dist = _matrix(coords, convention)
    factor = 10 if convention == "dimacs" else 1
    if ("demand" in data) != ("capacity" in data):
        raise InstanceError("CAPACITY and DEMAND_SECTION must be given together")
    demand = _column(data, "demand", n, 1, 1) if "demand" in data else None
    capacity = None
    if "capacity" in data:
        if not isinstance(data["capacity"], int) or not 0 <= data["capacity"] <= _MAX_VALUE:
            raise InstanceError(f"CAPACITY must be an integer in 0..{_MAX_VALUE}")
        capacity = int(data["capacity"])
    tw = _column(data, "time_window", n, 2, factor) if "time_window" in data else None
    if tw is not None and np.any(tw[:, 0] > tw[:, 1]):
        node = int(np.argmax(tw[:, 0] > tw[:, 1])) + 1
        raise InstanceError(f"TIME_WINDOW_SECTION: node {node} opens after it closes")
    service = np.zeros(n, dtype=np.int64)
    if "service_time" in data:
        if isinstance(data["service_time"], int | float):
            data["service_time"] = [data["service_time"]] * n
        service[:] = _column(data, "service_time", n, 1, factor)
        service[0] = 0
    try:
        bks, bks_veh = _bks(path, data, dist, factor)
    except (OSError, ValueError, IndexError, KeyError, TypeError) as exc:
        raise InstanceError(f"best-known solution next to it unreadable: {exc}") from None
    if "vehicles" in data and not isinstance(data["vehicles"], int):
        raise InstanceError("VEHICLES must be an integer")
    if "vehicles" in data and data["vehicles"] > 0 and data.get("type") not in ("TSP", "ATSP"):
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
    if not names:
        raise SystemExit("--instances: no instance named")
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SystemExit(f"--instances: {dup[0]!r} listed twice")
    if set_name == "file":
        return [Path(n) for n in names]
    folder = data_dir / SET_DIRS[set_name]
    if not folder.is_dir():
        raise SystemExit(f"no {set_name!r} set at {folder}: pass --data, the benchmark data folder")
    files = sorted(p for p in folder.rglob("*") if p.suffix in (".vrp", ".tsp"))
    out = []
    for name in names:
        # exact names only: a name is not a glob pattern ('C1*' is not every C1 instance)
        hits = [p for p in files if p.stem == name]
        if not hits:
            raise SystemExit(f"instance {name!r} not found under {folder}")
        out.append(hits[0])
    return out


def _positive_seconds(text: str) -> float:
    value = float(text)
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text!r}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {text!r}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--set", required=True, choices=["solomon", "gh", "x", "tsp", "file"])
    ap.add_argument(
        "--instances", required=True, help="comma-separated names (or paths for --set file)"
    )
    ap.add_argument("--seconds", type=_positive_seconds, default=10.0)
    ap.add_argument("--out", required=True)
    ap.add_argument("--solver", default="ours,ortools", help="comma list of ours, pyvrp, ortools")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=_positive_int, default=2, help="parallel seeds for 'ours'")
    ap.add_argument("--convention", default=None, choices=["dimacs", "nint", "explicit", "auto"])
    args = ap.parse_args(argv)

    convention = args.convention or SET_CONVENTION.get(args.set, "auto")
    solvers = [s.strip() for s in args.solver.split(",") if s.strip()]
    for s in solvers:
        if s not in ("ours", "pyvrp", "ortools"):
            raise SystemExit(f"unknown solver {s!r}")
    if not solvers or len(set(solvers)) != len(solvers):
        raise SystemExit("--solver: name each of ours, pyvrp, ortools at most once, one at least")
    names = [s.strip() for s in args.instances.split(",")]
    if any(not name for name in names):
        raise SystemExit("--instances: empty name in the list")
    # read and check every instance, and the output path, before the first solve (each is
    # read again when its turn comes: a whole set's matrices need not fit in memory at once)
    paths = resolve(args.data, args.set, names)
    for path in paths:
        try:
            load(path, convention)
        except InstanceError as exc:
            raise SystemExit(f"{path}: {exc}") from None
    results: list[dict[str, Any]] = []
    try:
        Path(args.out).write_text(json.dumps({"results": results}, indent=1))
    except OSError as exc:
        raise SystemExit(f"--out: cannot write {args.out}: {exc}") from None
    for path in paths:
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
