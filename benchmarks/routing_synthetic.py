"""Synthetic Nha Trang delivery days, solved through the ``routing`` library.

Usage (from the repository root)::

    .venv/bin/python -m benchmarks.routing_synthetic day --stops 150 \
        --couriers 1 --tw-frac 0.3 --seconds 1 --seeds 0,1,2,3,4 \
        --ref-seconds 30 --out /tmp/day150.json
    .venv/bin/python -m benchmarks.routing_synthetic matrix --points 2000 \
        --out /tmp/matrix.json
    .venv/bin/python -m benchmarks.routing_synthetic speed --out /tmp/speed.json

``day`` solves one generated day with ``--ref-seconds`` (reference, seed 0)
and then with each ``--seconds`` budget (comma list) for every seed, reporting distance, unassigned
stops and the gap to the reference. The reference is ``routing.solve`` (``--ref-solver
ours``), the same without its single-route fast paths (``pyvrp``), or PyVRP's own
``solve`` with its default parameters in one process on the same model
(``pyvrp-plain``). ``matrix`` times the numpy haversine
matrix against a geopy geodesic loop extrapolated from a sample of pairs.
``speed`` times a fixed amount of each search (single-route steps on the
150-stop day, PyVRP iterations on the 1 000-stop day): the machine's speed,
to read time-bound figures from different sessions side by side. ``day``
records the same (``--speed-steps``, ``--speed-iterations``; 0 skips) before
and after its solves, ~5-10 s each time.

Generator: office at 12.2450 N, 109.1940 E (Nha Trang). Stops: 70 % in
Gaussian neighbourhood clusters, 30 % uniform, inside the city bounding box
12.200-12.290 N, 109.160-109.212 E (west of the coastline); for one-courier
days the stops are confined to a ~3 km district around the office. A
fraction ``--tw-frac`` has a 2-hour window starting on a whole hour between
08:00 and 16:00. Service 60-180 s, 1-3 parcels of 0.2-3 kg each. Couriers:
07:30-18:30 shift, motorbike 22 km/h, circuity 1.35, closed routes.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from routing import (
    Capacity,
    Courier,
    Demand,
    HaversineProvider,
    LatLon,
    Office,
    Plan,
    Problem,
    SolverParams,
    Stop,
    TimeWindow,
    solve,
    warm_up,
)

H = 3600
OFFICE = Office(LatLon(12.2450, 109.1940), id="nha-trang-po")
CITY = (12.200, 12.290, 109.160, 109.212)  # lat_min, lat_max, lon_min, lon_max


def generate_day(n_stops: int, n_couriers: int, tw_frac: float = 0.3, seed: int = 0) -> Problem:
    """Generate a reproducible delivery day (see module docstring)."""
    rng = np.random.default_rng(seed)
    lat0, lat1, lon0, lon1 = CITY
    if n_couriers == 1:  # one postal district around the office
        lat0, lat1 = 12.2450 - 0.022, 12.2450 + 0.022
        lon0, lon1 = 109.1940 - 0.018, min(lon1, 109.1940 + 0.018)
    centres = rng.uniform((lat0, lon0), (lat1, lon1), size=(8, 2))
    stops = []
    for i in range(n_stops):
        if rng.random() < 0.7:
            c = centres[rng.integers(len(centres))]
            lat, lon = rng.normal(c, (0.006, 0.005))
        else:
            lat, lon = rng.uniform((lat0, lon0), (lat1, lon1))
        lat = float(np.clip(lat, lat0, lat1))
        lon = float(np.clip(lon, lon0, lon1))
        window = None
        if rng.random() < tw_frac:
            o = int(rng.integers(8, 17)) * H
            window = TimeWindow(o, o + 2 * H)
        parcels = int(rng.integers(1, 4))
        stops.append(
            Stop(
                f"p{i:04d}",
                LatLon(lat, lon),
                service_s=int(rng.integers(60, 181)),
                window=window,
                demand=Demand(parcels, int(rng.integers(200, 3000)) * parcels),
            )
        )
    per_courier = max(60, int(np.ceil(2 * n_stops * 1.25 / max(1, n_couriers))))
    couriers = tuple(
        Courier(
            f"c{k:02d}",
            shift=TimeWindow(7 * H + 1800, 18 * H + 1800),
            capacity=Capacity(per_courier, per_courier * 2000),
        )
        for k in range(n_couriers)
    )
    return Problem(OFFICE, tuple(stops), couriers)


def _summary(plan: Plan) -> dict[str, Any]:
    return {
        "distance_m": plan.distance_m,
        "travel_s": plan.travel_s,
        "unassigned": len(plan.unassigned),
        "routes": len(plan.routes),
        "feasible": plan.feasible,
        "method": plan.method,
        "runtime_s": round(plan.runtime_s, 3),
    }


def _score(plan: Plan) -> tuple[int, int]:
    return (len(plan.unassigned), plan.distance_m)


def _plain_pyvrp(problem: Problem, params: SolverParams) -> Plan:
    """``problem`` solved by PyVRP's own ``solve``: the model ``routing.solve`` builds
    (optional stops with prizes), PyVRP's default parameters, one process, the whole
    budget, no fast path, no phases. ``routing.solve``'s own steps around it (the
    pre-check, the routes' ETAs) stay: only the search is swapped, so the distances
    compare."""
    from pyvrp import solve as pyvrp_solve
    from pyvrp.stop import MaxRuntime

    from routing import core, solver

    def plain(inst: core.CoreInstance, *, time_limit_s: float, seed: int = 0,
              **_: Any) -> core.CoreResult:
        t0 = time.monotonic()
        res = pyvrp_solve(core._build_data(inst), stop=MaxRuntime(time_limit_s), seed=seed,
                          display=False)
        routes = tuple(
            core.CoreRoute(r.vehicle_type(), tuple(a.idx for a in r.schedule()
                                                   if a.is_client()))
            for r in res.best.routes())
        cost = sum(core.route_cost(inst, r) for r in routes)
        return core.CoreResult(routes, cost, bool(res.best.is_feasible()), "pyvrp-plain",
                               time.monotonic() - t0)

    original = solver.solve_core
    solver.solve_core = plain  # type: ignore[assignment]
    try:
        return solve(problem, params)
    finally:
        solver.solve_core = original


def run_day(args: argparse.Namespace) -> dict[str, Any]:
    """Reference solve, then the short budget over several seeds."""
    problem = generate_day(args.stops, args.couriers, args.tw_frac, args.instance_seed)
    out: dict[str, Any] = {
        "stops": args.stops,
        "couriers": args.couriers,
        "tw_frac": args.tw_frac,
        "instance_seed": args.instance_seed,
        "workers": args.workers,
        "solver": args.solver,
    }
    if "ours" in (args.solver, args.ref_solver) and not args.no_warm_up:
        # what a long-running server pays once at start-up: import numba and
        # load (or compile) the TSPTW kernels outside the timed solves
        out["warm_up_s"] = round(warm_up(), 3)
        print(f"warm-up: {out['warm_up_s']} s", flush=True)
    # the machine's speed next to the timed solves, before (once the kernels are
    # loaded: with --no-warm-up the first solve pays that) and after them: every
    # time-bound figure depends on it, and it drifts (docs/benchmarks.md)
    if "warm_up_s" in out or args.speed_steps <= 0:
        out["speed_before"] = _speed(args.speed_steps, args.speed_iterations)
        print(f"speed before: {out['speed_before']}", flush=True)
    if args.ref_distance is not None:  # reuse a reference measured earlier
        out["reference"] = {"distance_m": args.ref_distance, "unassigned": 0, "given": True}
        ref_distance, ref_unassigned = args.ref_distance, 0
    else:
        params = SolverParams(
            time_limit_s=args.ref_seconds,
            seed=0,
            workers=args.workers,
            use_tsp_fast_path=args.ref_solver == "ours",
        )
        if args.ref_solver == "pyvrp-plain":
            ref = _plain_pyvrp(problem, params)
        else:
            ref = solve(problem, params)
        out["reference"] = {"seconds": args.ref_seconds, "solver": args.ref_solver,
                            **_summary(ref)}
        ref_distance, ref_unassigned = ref.distance_m, len(ref.unassigned)
    print(f"reference: {out['reference']}", flush=True)
    runs = []
    for seconds in (float(x) for x in str(args.seconds).split(",")):
        for seed in (int(x) for x in args.seeds.split(",")):
            plan = solve(
                problem,
                SolverParams(
                    time_limit_s=seconds,
                    seed=seed,
                    workers=args.workers,
                    use_tsp_fast_path=args.solver == "ours",
                ),
            )
            row = {"seed": seed, "seconds": seconds, **_summary(plan)}
            row["gap_pct"] = round(100.0 * (plan.distance_m - ref_distance) / ref_distance, 3)
            row["same_unassigned"] = len(plan.unassigned) == ref_unassigned
            runs.append(row)
            print(row, flush=True)
    out["runs"] = runs
    out["speed_after"] = _speed(args.speed_steps, args.speed_iterations)
    print(f"speed after: {out['speed_after']}", flush=True)
    out["by_budget"] = {}
    for seconds in sorted({r["seconds"] for r in runs}):
        gaps = [r["gap_pct"] for r in runs if r["seconds"] == seconds]
        out["by_budget"][str(seconds)] = {
            "gap_pct_mean": round(statistics.fmean(gaps), 3),
            "gap_pct_min": round(min(gaps), 3),
            "gap_pct_max": round(max(gaps), 3),
            "all_same_unassigned": all(
                r["same_unassigned"] for r in runs if r["seconds"] == seconds
            ),
        }
    print(out["by_budget"], flush=True)
    return out


def run_matrix(args: argparse.Namespace) -> dict[str, Any]:
    """Time haversine (numpy) vs a geopy geodesic loop (extrapolated)."""
    from geopy.distance import geodesic

    rng = np.random.default_rng(0)
    lat0, lat1, lon0, lon1 = CITY
    pts = [
        LatLon(float(a), float(b))
        for a, b in rng.uniform((lat0, lon0), (lat1, lon1), (args.points, 2))
    ]
    provider = HaversineProvider()
    times = []
    for _ in range(3):
        t = time.perf_counter()
        provider.matrix(pts)
        times.append(time.perf_counter() - t)
    sample = args.sample
    idx = rng.integers(0, args.points, size=(sample, 2))
    t = time.perf_counter()
    for i, j in idx:
        geodesic((pts[i].lat, pts[i].lon), (pts[j].lat, pts[j].lon))
    per_pair = (time.perf_counter() - t) / sample
    n = args.points
    out = {
        "points": n,
        "haversine_s_best_of_3": round(min(times), 3),
        "haversine_s_all": [round(x, 3) for x in times],
        "geodesic_s_per_pair": per_pair,
        "geodesic_sample_pairs": sample,
        "geodesic_full_matrix_s_extrapolated": round(per_pair * n * n, 1),
        "geodesic_half_matrix_s_extrapolated": round(per_pair * n * (n - 1) / 2, 1),
    }
    print(out, flush=True)
    return out


def _speed_tsptw(steps: int) -> float:
    """Steps a second of the single-route search (:mod:`routing.tsptw`) on instance 2
    of the 150-stop day, ``steps`` of them from seed 0: a fixed amount of work."""
    from routing.tsptw import TsptwInstance, solve_tsptw

    day = generate_day(150, 1, 0.3, seed=2)
    courier = day.couriers[0]
    mat = HaversineProvider().matrix(
        [day.office.location, *(s.location for s in day.stops), day.office.location],
        courier.speed)
    shift = courier.shift
    windows = [s.window or shift for s in day.stops]
    inst = TsptwInstance(
        np.ascontiguousarray(mat.distance_m, dtype=np.int64),
        np.ascontiguousarray(mat.duration_s, dtype=np.int64),
        np.array([shift.open_s, *(w.open_s for w in windows), shift.open_s], np.int64),
        np.array([shift.close_s, *(w.close_s for w in windows), shift.close_s], np.int64),
        np.array([0, *(s.service_s for s in day.stops), 0], np.int64))
    t = time.perf_counter()
    solve_tsptw(inst, deadline=None, seed=0, max_iterations=steps)
    return steps / (time.perf_counter() - t)


def _speed_pyvrp(iterations: int) -> float:
    """Iterations a second of PyVRP alone (its defaults but 30 neighbours, as
    ``routing`` searches days over 500 stops) on the 1 000-stop, 15-courier day,
    ``iterations`` of them from seed 0."""
    from pyvrp import (
        Client,
        Depot,
        Location,
        ProblemData,
        SolveParams,
        VehicleType,
    )
    from pyvrp import solve as pyvrp_solve
    from pyvrp.search import NeighbourhoodParams
    from pyvrp.stop import MaxIterations

    day = generate_day(1000, 15, 0.15, seed=0)
    courier = day.couriers[0]
    mat = HaversineProvider().matrix(
        [day.office.location, *(s.location for s in day.stops)], courier.speed)
    shift = courier.shift
    clients = [
        Client(location=k, delivery=[s.demand.parcels, s.demand.weight_g],
               service_duration=s.service_s, tw_early=(s.window or shift).open_s,
               tw_late=(s.window or shift).close_s)
        for k, s in enumerate(day.stops, start=1)]
    fleet = VehicleType(len(day.couriers), [courier.capacity.parcels,
                                            courier.capacity.weight_g],
                        tw_early=shift.open_s, tw_late=shift.close_s)
    data = ProblemData(
        [Location(0.0, 0.0) for _ in range(len(day.stops) + 1)], clients,
        [Depot(location=0, tw_early=shift.open_s, tw_late=shift.close_s)], [fleet],
        [np.ascontiguousarray(mat.distance_m, dtype=np.int64)],
        [np.ascontiguousarray(mat.duration_s, dtype=np.int64)], [])
    params = SolveParams(neighbourhood=NeighbourhoodParams(num_neighbours=30))
    t = time.perf_counter()
    pyvrp_solve(data, stop=MaxIterations(iterations), seed=0, params=params)
    return iterations / (time.perf_counter() - t)


#: The speed index's fixed work (``speed``, and ``day`` before and after its solves):
#: figures compare only for the same amounts (the initial descent is a larger share
#: of fewer PyVRP iterations).
SPEED_STEPS = 100_000
SPEED_ITERATIONS = 3_000


def _speed(steps: int, iterations: int) -> dict[str, Any]:
    """The machine's speed index: ``steps`` single-route steps and ``iterations``
    PyVRP iterations, timed (either skipped when 0)."""
    out: dict[str, Any] = {}
    if steps > 0:
        out |= {"tsptw_steps_per_s": round(_speed_tsptw(steps)), "tsptw_steps": steps}
    if iterations > 0:
        out |= {"pyvrp_iterations_per_s": round(_speed_pyvrp(iterations)),
                "pyvrp_iterations": iterations}
    return out


def run_speed(args: argparse.Namespace) -> dict[str, Any]:
    """How fast this machine runs the two searches: fixed work, timed. Speed-bound
    figures (the 1 s and 30 s targets) from machines or sessions of different speed
    compare only alongside these."""
    warm_up()
    out = _speed(args.steps, args.iterations)
    print(out, flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("day")
    d.add_argument("--stops", type=int, default=150)
    d.add_argument("--couriers", type=int, default=1)
    d.add_argument("--tw-frac", type=float, default=0.3)
    d.add_argument("--instance-seed", type=int, default=0)
    d.add_argument("--seconds", default="1", help="comma-separated budgets")
    d.add_argument("--ref-seconds", type=float, default=30.0)
    d.add_argument(
        "--ref-distance",
        type=int,
        default=None,
        help="reference distance (m) of an earlier --ref-seconds run: skip the reference solve",
    )
    d.add_argument("--seeds", default="0,1,2,3,4")
    d.add_argument("--workers", type=int, default=2)
    d.add_argument(
        "--solver",
        default="ours",
        choices=["ours", "pyvrp"],
        help="ours: what routing.solve runs; pyvrp: single-route fast paths off (PyVRP only)",
    )
    d.add_argument(
        "--ref-solver",
        default="ours",
        choices=["ours", "pyvrp", "pyvrp-plain"],
        help="as --solver; pyvrp-plain: PyVRP's own solve with its default parameters, "
        "one process, on the model routing.solve builds",
    )
    d.add_argument(
        "--no-warm-up",
        action="store_true",
        help="do not load the TSPTW kernels before the timed solves (the first one pays it)",
    )
    d.add_argument(
        "--speed-steps",
        type=int,
        default=SPEED_STEPS,
        help="single-route steps of the speed index timed before and after the runs (0: none)",
    )
    d.add_argument(
        "--speed-iterations",
        type=int,
        default=SPEED_ITERATIONS,
        help="PyVRP iterations of the speed index timed before and after the runs (0: none)",
    )
    d.add_argument("--out", required=True)
    m = sub.add_parser("matrix")
    m.add_argument("--points", type=int, default=2000)
    m.add_argument("--sample", type=int, default=20000)
    m.add_argument("--out", required=True)
    sp = sub.add_parser("speed")
    sp.add_argument("--steps", type=int, default=SPEED_STEPS)
    sp.add_argument("--iterations", type=int, default=SPEED_ITERATIONS)
    sp.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    run = {"day": run_day, "matrix": run_matrix, "speed": run_speed}[args.cmd]
    result = run(args)
    Path(args.out).write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
