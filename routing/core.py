"""Solving core: matrices in, routes out (no geography, no ids).

This is the layer both :func:`routing.solve` and the benchmarks use, so the
benchmarks measure exactly the configuration the product runs:

* **Single route, no time windows, capacity not binding, symmetric costs**:
  fast-tsp (Or-opt/2-opt/Or-3opt local search with perturbation, exact for
  <= 20 nodes), stopping on convergence. An open route (no return) is solved
  with a dummy node: cost 0 from the dummy to the start, a prohibitive
  ``M > max(cost)`` to every other node, so every local optimum puts the dummy
  next to the start and the rest of the tour is the optimal open path.
* **Everything else**: PyVRP (iterated local search) with a deadline. With
  ``workers > 1`` the search runs in phases over parallel processes (worker
  0 in the calling process, so the progress callback sees its best cost;
  the others in a ``ProcessPoolExecutor``): independent runs with seeds
  ``seed, seed+1, ...``, then one worker tries a plan with a route fewer
  while the others continue, then all restart from the best plan; the best
  feasible result wins (see :func:`_solve_pyvrp`). A day too large for its budget
  (:func:`_slow_start`) starts from a greedy plan instead of PyVRP's random one,
  whose first descent nothing interrupts, in one phase; problems of a few stops stop
  once PyVRP has settled (:data:`PATIENT_MAX_CLIENTS`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import multiprocessing
import os
import time
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "INF_TIME",
    "CoreClient",
    "CoreInstance",
    "CoreResult",
    "CoreRoute",
    "CoreVehicleType",
    "ProgressCallback",
    "route_cost",
    "solve_core",
    "warm_up",
]

logger = logging.getLogger(__name__)
_T = TypeVar("_T")

#: "No limit" time value (PyVRP's default ``tw_late``).
INF_TIME = int(np.iinfo(np.int64).max)
_TSP_MAX_ENTRY = 65_535  # fast-tsp stores distances as uint16
_TSP_SCALE_TARGET = 32_000

IntMatrix = npt.NDArray[np.int64]

#: ``progress(best_cost, elapsed_s)``: called from the calling process while
#: the search runs (at most ~4 times a second, and on each improvement). An
#: exception raised by the callback aborts the solve (parallel workers are
#: stopped) and propagates to the caller: use it for cancellation.
#: ``best_cost`` is ``math.inf`` until a feasible solution is known. Its unit
#: is the objective's (metres or seconds; for problems with optional stops it
#: includes the prizes of unserved stops).
ProgressCallback = Callable[[float, float], None]


@dataclass(frozen=True, slots=True)
class CoreClient:
    """A client (stop) of the core problem.

    Parameters
    ----------
    location
        Row/column of the client in the matrices.
    demand
        Demand per load dimension (same length as every vehicle capacity).
    service_s
        Service duration.
    tw_early, tw_late
        Window for the start of service.
    required
        If ``False`` the solver may leave the client out, paying ``prize``.
    prize
        Cost of leaving an optional client out (objective units).
    """

    location: int
    demand: tuple[int, ...] = ()
    service_s: int = 0
    tw_early: int = 0
    tw_late: int = INF_TIME
    required: bool = True
    prize: int = 0


@dataclass(frozen=True, slots=True)
class CoreVehicleType:
    """A group of identical vehicles.

    Parameters
    ----------
    start
        Matrix index of the start location.
    end
        Matrix index of the end location, or ``None`` for an open route that
        ends at its last client.
    capacity
        Capacity per load dimension.
    tw_early, tw_late
        Shift: leave ``start`` no earlier than ``tw_early``; reach ``end`` (or
        finish the last client, for open routes) no later than ``tw_late``.
    count
        Number of such vehicles.
    profile
        Index of the matrix pair (``CoreInstance.distances[profile]``) used.
    """

    start: int
    end: int | None
    capacity: tuple[int, ...] = ()
    tw_early: int = 0
    tw_late: int = INF_TIME
    count: int = 1
    profile: int = 0


@dataclass(frozen=True, slots=True, eq=False)
class CoreInstance:
    """A complete core problem.

    Parameters
    ----------
    distances, durations
        One ``(n, n)`` int64 matrix pair per profile.
    clients
        The clients.
    vehicle_types
        The vehicle types.
    objective
        ``"distance"`` or ``"duration"`` (travel time incl. waiting and
        service, as PyVRP counts route duration).
    assignment_dims
        How many of the last load dimensions only say which vehicles may serve a
        client (pins: a client loads a dimension only the vehicles allowed to serve it
        have room in). They are hard: PyVRP's penalty for them stays at its maximum,
        and one client over costs more than any prize (:func:`load_units`).
    groups
        Alternatives: each group's clients (two or more, all optional, none in another
        group) stand for one stop, of which a plan serves at most one (exactly one in
        the all-required model). The clients differ in who may serve them (assignment
        dimensions) and in their prize, so which one is served has a price: a stop
        preferring its courier is one client pinned to that courier and one anyone
        may serve, whose prize is lower by the move cost. PyVRP's local search moves a
        stop from one to the other (``RelocateAlternative``) in one step.
    """

    distances: tuple[IntMatrix, ...]
    durations: tuple[IntMatrix, ...]
    clients: tuple[CoreClient, ...]
    vehicle_types: tuple[CoreVehicleType, ...]
    objective: Literal["distance", "duration"] = "distance"
    assignment_dims: int = 0
    groups: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if not self.distances or len(self.distances) != len(self.durations):
            raise ValueError("need one distance and one duration matrix per profile")
        n = self.distances[0].shape[0]
        for m in (*self.distances, *self.durations):
            if m.shape != (n, n):
                raise ValueError("all matrices must have the same square shape")
        dims = {len(vt.capacity) for vt in self.vehicle_types} | {
            len(c.demand) for c in self.clients
        }
        if len(dims) > 1:
            raise ValueError("demand and capacity dimensions differ")
        if not 0 <= self.assignment_dims <= min(dims, default=0):
            raise ValueError("more assignment dimensions than load dimensions")
        for c in self.clients:
            if not 0 <= c.location < n:
                raise ValueError(f"client location {c.location} out of range")
        for vt in self.vehicle_types:
            if not 0 <= vt.start < n or (vt.end is not None and not 0 <= vt.end < n):
                raise ValueError("vehicle start/end out of range")
            if not 0 <= vt.profile < len(self.distances):
                raise ValueError("vehicle profile out of range")
        grouped = [k for g in self.groups for k in g]
        if len(set(grouped)) != len(grouped) or any(len(g) < 2 for g in self.groups):
            raise ValueError("a group needs two or more clients, each in one group only")
        for k in grouped:
            if not 0 <= k < len(self.clients) or self.clients[k].required:
                raise ValueError(f"grouped client {k} is out of range or required")

    def alternatives(self) -> set[int]:
        """The clients that are a group's second or later alternative: leave them out
        and every stop is counted once."""
        return {k for g in self.groups for k in g[1:]}

    @property
    def num_locations(self) -> int:
        """Matrix size."""
        return int(self.distances[0].shape[0])


@dataclass(frozen=True, slots=True)
class CoreRoute:
    """A route: vehicle type and the client indices in visiting order."""

    vehicle_type: int
    visits: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CoreResult:
    """Outcome of :func:`solve_core`.

    Attributes
    ----------
    routes
        Non-empty routes.
    cost
        Objective value recomputed from the matrices (travel only, no prizes).
    feasible
        Whether the solver reported a feasible solution (all required clients
        served, capacities and time windows respected).
    method
        ``"fast-tsp"``, ``"exact"``, ``"tsptw-ils"``, ``"pyvrp"``, ``"greedy"`` or ``"empty"``.
    runtime_s
        Wall-clock time.
    seeds_costs
        PyVRP objective of each parallel run (``inf`` if infeasible).
    """

    routes: tuple[CoreRoute, ...]
    cost: int
    feasible: bool
    method: str
    runtime_s: float
    seeds_costs: tuple[float, ...] = field(default_factory=tuple)


def route_cost(inst: CoreInstance, route: CoreRoute, *, kind: str | None = None) -> int:
    """Travel cost of one route (distance or duration per ``kind``).

    Parameters
    ----------
    inst
        The instance.
    route
        The route.
    kind
        ``"distance"`` or ``"duration"``; default: the instance objective
        (for ``"duration"`` only travel time is counted here).

    Returns
    -------
    int
        Sum of arc values, start -> visits -> end (no end arc if open).
    """
    vt = inst.vehicle_types[route.vehicle_type]
    k = kind or inst.objective
    mat = inst.distances[vt.profile] if k == "distance" else inst.durations[vt.profile]
    locs = [vt.start, *(inst.clients[c].location for c in route.visits)]
    if vt.end is not None:
        locs.append(vt.end)
    idx = np.asarray(locs, dtype=np.intp)
    return int(mat[idx[:-1], idx[1:]].sum()) if len(idx) > 1 else 0


# --------------------------------------------------------------------------- PyVRP


#: PyVRP's largest penalty for one unit of excess load (``PenaltyParams.max_penalty``).
PYVRP_MAX_PENALTY = 100_000


def load_units(inst: CoreInstance, all_required: bool = False) -> list[int]:
    """What each load dimension's demands and capacities are multiplied by for PyVRP.

    One unit of excess load costs PyVRP at most :data:`PYVRP_MAX_PENALTY`. Where the
    smallest positive demand of a dimension is worth less than that while some
    optional client's prize is more (one parcel, against a committed stop's prize or
    a large move cost), a route one client over capacity is cheaper than leaving a
    client out, and the search stays among infeasible plans: a test day kept two
    committed stops on a courier of one parcel rather than move one for a new stop
    (docs/routing.md, "Committed stops"). Counting such a dimension in smaller units
    (x this factor) lets one client's excess cost up to its prize; the constraint is
    the same. 1 everywhere when no prize is that large, and for the all-required model
    (no prizes).

    An assignment dimension (``CoreInstance.assignment_dims``, where a client loads one
    unit) is counted so that one unit over, at the penalty :func:`_run_pyvrp` keeps
    for it (the maximum), costs more than every prize, in both models."""
    dims = len(inst.vehicle_types[0].capacity) if inst.vehicle_types else 0
    top = max((c.prize for c in inst.clients if not c.required), default=0)
    prize = 0 if all_required else top
    units = [1] * dims
    for d in _hard_dims(inst):
        units[d] = top // PYVRP_MAX_PENALTY + 1
    if prize <= PYVRP_MAX_PENALTY:
        return units
    for d in range(dims - inst.assignment_dims):
        smallest = min((c.demand[d] for c in inst.clients if c.demand[d] > 0), default=0)
        if 0 < smallest * PYVRP_MAX_PENALTY < prize:
            units[d] = -(-prize // (smallest * PYVRP_MAX_PENALTY))
    return units


def _hard_dims(inst: CoreInstance) -> tuple[int, ...]:
    """The load dimensions PyVRP's penalty stays at its maximum for."""
    dims = len(inst.vehicle_types[0].capacity) if inst.vehicle_types else 0
    return tuple(range(dims - inst.assignment_dims, dims))


def _build_data(inst: CoreInstance, all_required: bool = False) -> object:
    """Build ``pyvrp.ProblemData`` (typed ``object`` to keep pyvrp out of the API).
    Load dimensions are counted in :func:`load_units`."""
    from pyvrp import Client, ClientGroup, Depot, Location, ProblemData, VehicleType

    n = inst.num_locations
    has_open = any(vt.end is None for vt in inst.vehicle_types)
    size = n + 1 if has_open else n
    dummy = n

    def ext(m: IntMatrix) -> IntMatrix:
        if not has_open:
            return np.ascontiguousarray(m, dtype=np.int64)
        out = np.zeros((size, size), dtype=np.int64)
        out[:n, :n] = m
        return out  # dummy row and column are 0: arriving there is free

    dists = [ext(m) for m in inst.distances]
    durs = [ext(m) for m in inst.durations]
    locations = [Location(0.0, 0.0) for _ in range(size)]

    depot_of: dict[int, int] = {}
    depots: list[Depot] = []
    for vt in inst.vehicle_types:
        for loc in (vt.start, dummy if vt.end is None else vt.end):
            if loc not in depot_of:
                depot_of[loc] = len(depots)
                depots.append(Depot(location=loc))

    by_dist = inst.objective == "distance"
    units = load_units(inst, all_required)
    vtypes = [
        VehicleType(
            num_available=vt.count,
            capacity=[q * u for q, u in zip(vt.capacity, units, strict=True)],
            start_depot=depot_of[vt.start],
            end_depot=depot_of[dummy if vt.end is None else vt.end],
            tw_early=vt.tw_early,
            tw_late=vt.tw_late,
            unit_distance_cost=1 if by_dist else 0,
            unit_duration_cost=0 if by_dist else 1,
            profile=vt.profile,
        )
        for vt in inst.vehicle_types
    ]
    group_of = {k: g for g, members in enumerate(inst.groups) for k in members}
    # in the all-required model a group's clients keep what tells them apart: the
    # prize above the group's lowest (a stop's move cost)
    floor = {g: min(inst.clients[k].prize for k in members)
             for g, members in enumerate(inst.groups)}
    clients = []
    for k, c in enumerate(inst.clients):
        g = group_of.get(k)
        if g is None:
            prize, required = (0, True) if all_required else (c.prize, c.required)
        else:
            prize, required = (c.prize - floor[g] if all_required else c.prize), False
        clients.append(Client(
            location=c.location,
            delivery=[q * u for q, u in zip(c.demand, units, strict=True)],
            service_duration=c.service_s,
            tw_early=c.tw_early,
            tw_late=c.tw_late,
            prize=prize,
            required=required,
            group=g,
        ))
    groups = [ClientGroup(list(members), required=all_required) for members in inst.groups]
    mats: list[Any] = [*dists, *durs]
    k = len(dists)
    return ProblemData(locations, clients, depots, vtypes, mats[:k], mats[k:], groups)


#: What PyVRP's cost evaluator returns for an infeasible solution (the largest cost).
_PYVRP_INFEASIBLE = float(np.iinfo(np.int64).max)


#: PyVRP runs on at most this many clients stop after :data:`PYVRP_PATIENCE` iterations
#: without a better plan (once they have a feasible one), not at the deadline: a re-plan
#: of 12 stops for 3 couriers spent its whole budget (30 s at a plan's default) on the
#: plan it had after a few hundred iterations. Over 45 random problems of 9-30 stops
#: (1-3 couriers, windows, pins, either objective) the last better plan came by
#: iteration 1 013 of 2 000-51 000; of 30-60 stops, by iteration 3 249 of 2 000-5 000
#: (not settled: larger problems keep the whole budget).
PATIENT_MAX_CLIENTS = 20
PYVRP_PATIENCE = 10_000


class _DeadlineStop:
    """PyVRP stopping criterion: wall-clock deadline + optional progress hook; with
    ``patience``, also that many iterations without a better feasible plan."""

    def __init__(self, deadline: float, progress: ProgressCallback | None, t0: float,
                 patience: int = 0) -> None:
        self.deadline = deadline
        self.progress = progress
        self.t0 = t0
        self.best = math.inf
        self.last_report = -1.0
        self.iterations = 0
        self.patience = patience
        self.lowest = math.inf  # the best feasible cost seen
        self.stale = 0  # iterations since it was lowered

    def __call__(self, best_cost: float) -> bool:
        now = time.monotonic()
        self.iterations += 1
        if float(best_cost) >= _PYVRP_INFEASIBLE:  # PyVRP's cost of an infeasible solution
            best_cost = math.inf  # (ProgressCallback: inf until a feasible one is known)
        if best_cost < self.lowest:
            self.lowest, self.stale = best_cost, 0
        else:
            self.stale += 1
        if self.progress is not None:
            improved = best_cost < self.best
            if improved or now - self.last_report >= 0.25:
                self.best = min(self.best, best_cost)
                self.last_report = now
                # an exception here aborts the solve (cancellation); it
                # propagates to the caller of solve_core
                self.progress(float(self.best), now - self.t0)
        if _CANCEL is not None and _CANCEL.is_set():
            return True
        if self.patience and self.stale >= self.patience and self.lowest < math.inf:
            return True  # settled
        return now >= self.deadline


#: In pool workers: event set by the parent when the solve is aborted.
_CANCEL: Any = None


def _init_worker(cancel: Any) -> None:
    global _CANCEL
    _CANCEL = cancel


@dataclass(frozen=True, slots=True)
class PyVRPConfig:
    """The PyVRP knobs the product sets (defaults measured, see docs/routing.md)."""

    #: Granular neighbourhood size; ``None``: :func:`num_neighbours` decides.
    num_neighbours: int | None = None
    exhaustive_on_best: bool = True
    history_length: int = 300
    max_perturbations: int = 25
    #: Names of ``pyvrp.search`` operators; ``None`` = PyVRP's default list.
    operators: tuple[str, ...] | None = None


#: Active configuration (module-level so benchmarks can try alternatives).
PYVRP_CONFIG = PyVRPConfig()


#: Neighbourhood size up to :data:`LARGE_PROBLEM_CLIENTS` clients (PyVRP's default).
NEIGHBOURS = 50
#: Neighbourhood size above it: the local search's cost grows with it, and on
#: 1000-stop days more, cheaper iterations win (docs/routing.md).
NEIGHBOURS_LARGE = 30
LARGE_PROBLEM_CLIENTS = 500


def num_neighbours(num_clients: int) -> int:
    """Granular neighbourhood size PyVRP gets for ``num_clients`` clients."""
    if PYVRP_CONFIG.num_neighbours is not None:
        return PYVRP_CONFIG.num_neighbours
    return NEIGHBOURS_LARGE if num_clients > LARGE_PROBLEM_CLIENTS else NEIGHBOURS


def _solve_params(num_clients: int, alternatives: int = 0, quick: bool = False) -> Any:
    import pyvrp.search
    from pyvrp import IteratedLocalSearchParams, SolveParams
    from pyvrp.search import NeighbourhoodParams, PerturbationParams

    cfg = PYVRP_CONFIG
    ops = pyvrp.search.OPERATORS
    if cfg.operators is not None:
        ops = [getattr(pyvrp.search, name) for name in cfg.operators]
    return SolveParams(
        operators=ops,
        # quick: no exhaustive descent on a new best either (:func:`_slow_start`)
        ils=IteratedLocalSearchParams(
            history_length=cfg.history_length,
            exhaustive_on_best=cfg.exhaustive_on_best and not quick,
        ),
        # a stop's alternatives share its place, so they take places in every list:
        # as many more neighbours as make the same number of stops
        neighbourhood=NeighbourhoodParams(num_neighbours=round(
            num_neighbours(num_clients - alternatives) * num_clients
            / max(1, num_clients - alternatives))),
        perturbation=PerturbationParams(
            min_perturbations=1, max_perturbations=cfg.max_perturbations
        ),
    )


_RunOutput = tuple[float, bool, list[tuple[int, list[int]]], int]


#: The instances being solved, by ``id``: worker processes forked while one is here
#: inherit it, so a task can name its model (:class:`_Model`) and the worker builds it,
#: instead of the task carrying the model pickled (pickling a PyVRP model peaks at ~3x
#: its matrices in the sending process, and the worker then holds its own copy anyway).
_FORKED: dict[int, CoreInstance] = {}
#: The models this (worker) process built from :data:`_FORKED`, for the next phase.
_BUILT: dict[_Model, object] = {}


@dataclass(frozen=True, slots=True)
class _Model:
    """A PyVRP model a forked worker builds itself: the instance :data:`_FORKED` holds at
    ``key``, its fleet cut to ``fleet`` ((vehicle type, count) pairs) if given, as
    :func:`_build_data` builds it with ``all_required``."""

    key: int
    all_required: bool
    fleet: tuple[tuple[int, int], ...] | None = None


def _model(data: object) -> object:
    """``data``, or the model a :class:`_Model` names (built once per process)."""
    if not isinstance(data, _Model):
        return data
    built = _BUILT.get(data)
    if built is None:
        inst = _FORKED[data.key]
        if data.fleet is not None:
            inst = dataclasses.replace(inst, vehicle_types=tuple(
                dataclasses.replace(inst.vehicle_types[t], count=n) for t, n in data.fleet))
        _BUILT.clear()  # a worker serves one solve: keep only the model in use
        built = _BUILT[data] = _build_data(inst, data.all_required)
    return built


def _fixed_penalty_manager(data: Any, params: Any, hard_dims: Sequence[int]) -> Any:
    """A ``pyvrp.PenaltyManager`` whose penalty for the ``hard_dims`` load dimensions
    is always the maximum (the others adapt as PyVRP's do)."""
    from pyvrp import CostEvaluator, PenaltyManager

    class _Fixed(PenaltyManager):
        def cost_evaluator(self) -> CostEvaluator:
            loads, tw, dist = self.penalties()
            for d in hard_dims:
                loads[d] = params.max_penalty
            return CostEvaluator(loads, tw, dist)

    return _Fixed(params.midpoint_penalties(data), params)


#: Pin mates (:func:`_with_pin_mates`) a pinned stop gets as neighbours at most, the
#: nearest first: any one on its courier's route is a place to try it there
PIN_MATES = 2


def _with_pin_mates(data: Any, neighbours: dict[Any, list[Any]],
                    hard_dims: Sequence[int]) -> dict[Any, list[Any]]:
    """``neighbours`` (PyVRP's granular neighbourhood) with each pinned client's nearest
    :data:`PIN_MATES` pin mates (the other clients pinned alike: the same load in the
    ``hard_dims``) added to its neighbours. PyVRP inserts a client only next to one of
    its neighbours, and next to a client on another courier's route a pinned one
    breaks its pin: when none of its nearest clients was on its courier's route, a
    stop pinned to that courier was never tried there and was left out (an on-board
    parcel of a route ending hours before the shift did: "no time left"). Its pin
    mates are on that route whenever they are served."""
    clients = data.clients()
    dist = np.asarray(data.distance_matrix(0))
    pins: dict[tuple[int, ...], list[Any]] = {}
    for act in neighbours:
        if act.is_client():
            key = tuple(clients[act.idx].delivery[d] for d in hard_dims)
            if any(key):
                pins.setdefault(key, []).append(act)
    out = dict(neighbours)
    for mates in pins.values():
        if len(mates) < 2:
            continue
        for act in mates:
            have = {a.idx for a in out[act] if a.is_client()} | {act.idx}
            here = clients[act.idx].location
            near = sorted((m for m in mates if m.idx not in have),
                          key=lambda m: dist[here, clients[m.idx].location])
            out[act] = [*out[act], *near[:PIN_MATES]]
    return out


def _solve_fixed(data: Any, stop: Any, seed: int, params: Any, init: Any,
                 hard_dims: Sequence[int]) -> Any:
    """``pyvrp.solve`` (0.14) with :func:`_fixed_penalty_manager`: the same steps, in
    the same order, from PyVRP's public parts."""
    from pyvrp import IteratedLocalSearch, RandomNumberGenerator, Solution
    from pyvrp.search import LocalSearch, PerturbationManager, compute_neighbours

    rng = RandomNumberGenerator(seed=seed)
    ls = LocalSearch(
        data, rng, _with_pin_mates(data, compute_neighbours(data, params.neighbourhood),
                                   hard_dims),
        PerturbationManager(params.perturbation),
    )
    for op in params.operators:
        if op.supports(data):
            ls.add_operator(op(data))
    pm = _fixed_penalty_manager(data, params.penalty, hard_dims)
    if init is None:
        init = ls(Solution.make_random(data, rng), pm.max_cost_evaluator(), exhaustive=True)
    algo = IteratedLocalSearch(data, pm, ls, init, params.ils)
    return algo.run(stop, False, False, params.display_interval)


def _run_pyvrp(
    data: object,
    deadline: float,
    seed: int,
    initial: Sequence[tuple[int, Sequence[int]]] | None,
    progress: ProgressCallback | None = None,
    t0: float | None = None,
    *,
    hard_dims: Sequence[int] = (),
    quick: bool = False,
) -> _RunOutput:
    """One PyVRP run (also the process-pool task). Returns picklable output.
    ``hard_dims``: load dimensions whose penalty stays at its maximum (pins);
    ``quick``: no exhaustive descent on a new best (:func:`_slow_start`)."""
    from pyvrp import ProblemData, Route, Solution, solve
    from pyvrp.exceptions import PenaltyBoundWarning

    data = _model(data)
    assert isinstance(data, ProblemData)
    stop = _DeadlineStop(deadline, progress, time.monotonic() if t0 is None else t0,
                         PYVRP_PATIENCE if data.num_clients <= PATIENT_MAX_CLIENTS else 0)
    init = None
    if initial:
        try:
            init = Solution(data, [Route(data, list(v), vt) for vt, v in initial if v])
        except (ValueError, RuntimeError, IndexError) as exc:
            logger.warning("ignoring unusable initial solution: %s", exc)
    with warnings.catch_warnings():
        # Expected in the all-required phase when some stops cannot be
        # served: the time-warp penalty hits its bound. Not actionable.
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        params = _solve_params(data.num_clients,
                               sum(len(g.clients) - 1 for g in data.groups()), quick)
        if hard_dims:
            res = _solve_fixed(data, stop, seed, params, init, hard_dims)
        else:
            res = solve(
                data,
                stop=stop,
                seed=seed,
                collect_stats=False,
                display=False,
                params=params,
                initial_solution=init,
            )
    best = res.best
    routes = [
        (r.vehicle_type(), [a.idx for a in r.schedule() if a.is_client()]) for r in best.routes()
    ]
    return float(res.cost()), bool(best.is_feasible()), routes, stop.iterations


def _mp_context() -> multiprocessing.context.BaseContext:
    methods = multiprocessing.get_all_start_methods()
    # fork: no re-import of numpy/pyvrp in the workers (~0.5 s saved per
    # solve); it is safe here because the worker only runs PyVRP's C++ code.
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


class _Monotone:
    """Forward only improvements of the best cost to the user's callback."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.best = math.inf

    def __call__(self, cost: float, elapsed: float) -> None:
        self.best = min(self.best, cost)
        self.callback(self.best, elapsed)


@contextmanager
def _worker_pool(workers: int) -> Iterator[tuple[ProcessPoolExecutor | None, Any]]:
    """``workers - 1`` worker processes (the caller is the first worker) and the
    event that cancels them; ``(None, None)`` for one worker. Shut down on exit."""
    if workers <= 1:
        yield None, None
        return
    ctx = _mp_context()
    cancel = ctx.Event()
    pool = ProcessPoolExecutor(
        max_workers=workers - 1, mp_context=ctx, initializer=_init_worker, initargs=(cancel,)
    )
    try:
        yield pool, cancel
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _fan_out(
    pool: ProcessPoolExecutor | None,
    cancel: Any,
    task: Callable[..., _T],
    worker_args: Sequence[tuple[Any, ...]],
    main: Callable[[], _T],
) -> list[_T]:
    """Run ``main()`` here and ``task(*args)`` for each of ``worker_args`` in the
    pool; outputs in that order. An exception in ``main`` (e.g. a cancelling
    progress callback) stops the workers at once; a crashed worker is logged and
    left out, it must not lose the main result."""
    futures: list[Future[_T]] = []
    if pool is not None:
        futures = [pool.submit(task, *args) for args in worker_args]
    try:
        outputs = [main()]
    except BaseException:
        if cancel is not None:
            cancel.set()  # stop the workers now, not at their deadline
        raise
    for fut in futures:
        try:
            outputs.append(fut.result())
        except Exception:
            logger.exception("parallel %s worker failed", getattr(task, "__name__", task))
    return outputs


def _parallel(
    pool: ProcessPoolExecutor | None,
    data: object,
    deadline: float,
    seeds: Sequence[int],
    initial: Sequence[tuple[int, Sequence[int]]] | None,
    progress: ProgressCallback | None,
    t0: float,
    cancel: Any = None,
    main_initial: Sequence[tuple[int, Sequence[int]]] | None = None,
    hard_dims: Sequence[int] = (),
    worker_data: object = None,
    quick: bool = False,
) -> list[_RunOutput]:
    """Independent PyVRP runs, one per seed (the first here, with progress), all from
    ``initial``, or the first from ``main_initial`` when given. The workers get
    ``worker_data`` (the same model named by a :class:`_Model`) when given."""
    first = initial if main_initial is None else main_initial
    run = _pyvrp_task(hard_dims, quick)
    shipped = data if worker_data is None else worker_data
    return _fan_out(
        pool,
        cancel,
        run,
        [(shipped, deadline, s, initial) for s in seeds[1:]],
        lambda: run(data, deadline, seeds[0], first, progress, t0),
    )


def _pyvrp_task(hard_dims: Sequence[int], quick: bool = False) -> Callable[..., _RunOutput]:
    """:func:`_run_pyvrp` with ``hard_dims`` and ``quick`` (picklable for the pool)."""
    if not hard_dims and not quick:
        return _run_pyvrp
    return functools.partial(_run_pyvrp, hard_dims=tuple(hard_dims), quick=quick)


def _as_candidate(
    data: object, initial: Sequence[tuple[int, Sequence[int]]] | None
) -> _RunOutput | None:
    """``initial`` (a warm start) as a run's output under ``data``'s model (its cost as
    :meth:`pyvrp.Result.cost` counts it: travel and the prizes of the clients left
    out), or ``None`` when it is no feasible solution there (or none at all)."""
    from pyvrp import CostEvaluator, ProblemData, Route, Solution

    assert isinstance(data, ProblemData)
    routes = [(vt, list(v)) for vt, v in initial or () if v]
    if not routes:
        return None
    try:
        sol = Solution(data, [Route(data, v, vt) for vt, v in routes])
    except (ValueError, RuntimeError, IndexError):
        return None
    if not sol.is_feasible():
        return None
    dims = len(sol.excess_load())
    return float(CostEvaluator([0] * dims, 0, 0).cost(sol)), True, routes, 0


#: Share of the budget for phase 1 (independent runs).
PHASE1_SHARE = 0.5
#: A day whose stops take at least this share of the couriers' shifts by the bound of
#: :func:`_fleet_use`, without being more than the shifts, is hedged in phase 1: this
#: process requires every stop, the workers search the optional model, and the last
#: phase continues a complete plan if there is one, else the workers' best. Near the
#: bound, days that fit and days that do not cannot be told apart (0.812 for both
#: 600-stop days of docs/routing.md, session 19), and requiring every stop on a day
#: that does not fit spends phase 1 on plans that cannot exist (docs/routing.md,
#: session 20).
HEDGE_SHIFT_USE = 0.8
#: Share of the budget for the route-elimination phase that follows phase 1
#: when it found a feasible plan (0 = skip it); the rest of the budget
#: restarts every worker from the best plan with fresh seeds.
ELIMINATE_SHARE = 0.25


def _eliminate_route(
    pool: ProcessPoolExecutor,
    cancel: Any,
    cut: tuple[CoreInstance, list[int], list[tuple[int, list[int]]]],
    data: object,
    start: _RunOutput,
    deadline: float,
    seed: int,
    workers: int,
    reporter: ProgressCallback | None,
    t0: float,
    key: int | None = None,
    quick: bool = False,
) -> list[_RunOutput]:
    """One worker searches for a plan with one route fewer than ``start``
    (``cut``, from :func:`_without_smallest_route`: the fleet cut to the
    routes left, one route's stops to place elsewhere); this process and any
    other workers continue ``start``. Returns the outputs, the first being
    this process's (feasible). With ``key`` (the instance's in :data:`_FORKED`) the
    workers build their models themselves (:class:`_Model`)."""
    sub, types, init = cut
    if key is None:
        data_e: object = _build_data(sub, all_required=True)
        shipped = data
    else:
        fleet = tuple((t, vt.count) for t, vt in zip(types, sub.vehicle_types, strict=True))
        data_e, shipped = _Model(key, True, fleet), _Model(key, True)
    run = _pyvrp_task(_hard_dims(sub), quick)
    outs = _fan_out(
        pool,
        cancel,
        run,
        [(data_e, deadline, seed, init)]
        + [(shipped, deadline, seed + k, start[2]) for k in range(2, workers)],
        lambda: run(data, deadline, seed + 1, start[2], reporter, t0),
    )
    if len(outs) != workers:  # a worker failed: which one is unknown
        return outs[:1]
    e = outs[1]
    logger.debug(
        "route elimination: %d routes %s -> %d routes %s (continued: %s)",
        len(init) + 1,
        start[0],
        len(init),
        e[0] if e[1] else "infeasible",
        outs[0][0],
    )
    return [outs[0], (e[0], e[1], [(types[vt], v) for vt, v in e[2]], e[3]), *outs[2:]]


def _solve_pyvrp(
    inst: CoreInstance,
    time_limit_s: float,
    seed: int,
    workers: int,
    progress: ProgressCallback | None,
    initial: Sequence[tuple[int, Sequence[int]]] | None,
    t0: float,
    *,
    optional_only: bool = False,
    hedge: bool = True,
    quick: Sequence[tuple[int, Sequence[int]]] = (),
) -> tuple[list[CoreRoute], bool, tuple[float, ...]]:
    """Parallel PyVRP in phases. With a ``quick`` start (:func:`_greedy_start`, a
    day too large for the budget: :func:`_slow_start`) there is one phase, phase 1,
    for the whole budget, from that start (completed as a warm start is; a candidate
    itself when phase 1 finds no feasible plan), with no exhaustive descent on a new
    best.

    Phase 1 (``PHASE1_SHARE`` of the budget) runs ``workers`` independent
    searches with *every client required*: PyVRP's penalised search through
    infeasible space finds complete schedules far more reliably than the
    prize-collecting variant (measured on a 150-stop day: 5/5 seeds served
    every stop at 1 s, against 1/5 with optional clients). Except on a day the fleet
    cannot carry or work (:func:`_fleet_too_small`): no plan serves every stop there, and the
    all-required search only spends phase 1 among plans that cannot be (on the demo
    day, 908 kg for 800 kg of capacity, it found none, at ~40 % of the iterations a
    second); phase 1 then searches the optional model, and there is no elimination
    phase (docs/routing.md, "A day the fleet cannot carry"). The same with
    ``optional_only`` (the single-route search found no route with every stop and
    little time is left: :data:`FALLBACK_REQUIRED_MIN_S`). On a day near that bound
    (:data:`HEDGE_SHIFT_USE`) only this process requires every stop in phase 1; the
    workers search the optional model, and if this process finds no complete plan the
    last phase starts from their best. Not with ``hedge`` false: after the
    single-route search, whose fallback found complete routes more often with both
    processes requiring every stop (docs/routing.md, session 20).

    If phase 1 found a feasible plan with two or more routes, one of which
    the other vehicles could take over (:func:`_without_smallest_route`), and
    there are two or more workers, the elimination phase (``ELIMINATE_SHARE``)
    follows: one worker looks for a plan with one route fewer while the
    others continue the best plan (:func:`_eliminate_route`). PyVRP's local search
    rarely empties a route by itself, and runs left with a route too many
    were among the longest on the 1000-stop day (docs/routing.md).

    The last phase restarts every worker from the best plan so far with new
    seeds: with the all-required model if a feasible complete plan is known,
    otherwise with the optional (prize) model, so unservable stops get
    dropped. In that case a warm start (``initial``) that is a feasible plan of
    the optional model is kept: this process restarts from it instead (the
    other workers from phase 1's best), and it is a candidate itself, so the
    result is never worse than the warm start under the objective (a re-plan
    does not lose the routes in force to phase 1's infeasible plan; with PyVRP
    0.14 phase 1 already hands back the warm start it started from when it
    finds nothing feasible, so this is a guarantee, not a change of result).
    """
    has_optional = any(not c.required for c in inst.clients)
    # a day whose stops together outweigh the whole fleet or need more time than its
    # shifts cannot have every stop served: phase 1 searches the optional model too,
    # and there is no elimination
    too_small, use = (False, 0.0) if optional_only or not has_optional else _fleet_use(inst)
    short = has_optional and (optional_only or too_small)
    data_req = _build_data(inst, all_required=not short)
    # the optional model, built only when it is searched: each model holds a copy of
    # every matrix (a routing profile per preferred courier at 2 000 stops: 64 MB)
    data_opt = data_req if short or not has_optional else None
    if quick:  # no descent from a random start (solve_core)
        initial = quick
    if not short and initial:
        # PyVRP puts the required clients a warm start leaves out (a re-plan's new stops)
        # back a few at a time, at ~1/15 of its usual iterations a second. Its share of
        # the budget counts from now: the checks and the model above take their own
        # time (0.17 s for 1 080 stops and 15 routing profiles), more than the whole
        # share of a short budget
        initial = _completed_start(
            inst, initial, time.monotonic() + COMPLETE_SHARE * time_limit_s)
    deadline = t0 + time_limit_s
    # a quick start: one phase, the whole budget (a phase's first iteration from its
    # start is a descent of its own, ~0.3 s at 2 000 stops)
    split = deadline if quick else t0 + PHASE1_SHARE * time_limit_s
    reporter = _Monotone(progress) if progress is not None else None
    # forked workers inherit the instance and build their models themselves (_Model)
    key = id(inst) if workers > 1 and _mp_context().get_start_method() == "fork" else None

    def ship(all_required: bool) -> _Model | None:
        return None if key is None else _Model(key, all_required)

    if key is not None:
        _FORKED[key] = inst
    try:
        with _worker_pool(workers) as (pool, cancel):
            # a day near its shifts' bound: this process requires every stop, the
            # workers search the optional model (HEDGE_SHIFT_USE)
            hedging = (hedge and not short and has_optional and pool is not None
                       and use >= HEDGE_SHIFT_USE)
            if hedging and key is None and data_opt is None:
                # shipped to the workers; forked ones build it themselves, and this
                # process only needs it if it finds no complete plan (built below)
                data_opt = _build_data(inst)
            out1 = _parallel(
                pool,
                data_req,
                split,
                [seed + k for k in range(workers)],
                initial,
                reporter,
                t0,
                cancel,
                hard_dims=_hard_dims(inst),
                worker_data=(ship(False) if key is not None else data_opt) if hedging
                else ship(not short),
                quick=bool(quick),
            )
            seed += workers
            # hedged, only this process's run can be a complete plan (a crashed worker's
            # output is left out, so out1[1:] may be empty)
            feasible = [o for o in (out1[:1] if hedging else out1) if o[1]]
            out_e: list[_RunOutput] = []
            warm: _RunOutput | None = None
            if feasible:
                start, data2 = min(feasible, key=lambda o: o[0]), data_req
            else:
                if data_opt is None:
                    data_opt = _build_data(inst)
                partial = [o for o in out1[1:] if o[1]] if hedging else []
                start = min(partial, key=lambda o: o[0]) if partial else out1[0]
                data2 = data_opt
                # phase 1's best is infeasible. PyVRP 0.14 then returns the start it was
                # given (a warm start stays its best: nothing infeasible beats it), but
                # that is its internals, not a promise; restarting only from phase 1's
                # best could lose a warm start that is a feasible partial plan (the
                # routes in force of a re-plan on a day that cannot fit every stop). So
                # it is a candidate and this process's start in the last phase
                warm = _as_candidate(data_opt, initial) if has_optional else None
            # a short budget on a large day: phase 1's first descent (PyVRP's, which
            # nothing interrupts) may take it all, ~2 s at 2 000 stops. A later phase
            # would start with a descent of its own, so with a complete plan in hand
            # and its time gone, a phase is skipped, not run past the deadline
            if (
                ELIMINATE_SHARE > 0
                and not quick
                and pool is not None
                and feasible
                and not short
                and time.monotonic() < split + ELIMINATE_SHARE * time_limit_s
                and (cut := _without_smallest_route(inst, start[2])) is not None
            ):
                split += ELIMINATE_SHARE * time_limit_s
                out_e = _eliminate_route(
                    pool, cancel, cut, data_req, start, split, seed, workers, reporter, t0,
                    key=key, quick=bool(quick),
                )
                seed += workers
                feasible += [o for o in out_e if o[1]]
                start = min(feasible, key=lambda o: o[0])
            seeds = [seed + k for k in range(workers)]
            out2 = [] if (feasible or quick) and time.monotonic() >= deadline else _parallel(
                pool,
                data2,
                deadline,
                seeds,
                start[2],
                reporter,
                t0,
                cancel,
                main_initial=None if warm is None else warm[2],
                hard_dims=_hard_dims(inst),
                # the model data2 is: data_req is the optional one on a short day
                worker_data=ship(data2 is data_req and not short),
                quick=bool(quick),
            )
    finally:
        if key is not None:
            _FORKED.pop(key, None)
    outputs = out2 + feasible + ([] if warm is None else [warm])
    costs = tuple(o[0] for o in out1 + out_e + out2)
    logger.debug(
        "pyvrp runs: phase 1 %s, last phase (%s model) %s, iterations %s",
        [o[0] for o in out1],
        "optional" if has_optional and data2 is data_opt else "required",
        [o[0] for o in out2],
        [o[3] for o in out1 + out2],
    )
    best = min(outputs, key=lambda o: (not o[1], o[0]))
    routes = [CoreRoute(vt, tuple(v)) for vt, v in best[2] if v]
    return routes, best[1], costs


def _fleet_too_small(inst: CoreInstance) -> bool:
    """Whether no plan can serve every client because of load or time alone
    (:func:`_fleet_use`)."""
    return _fleet_use(inst)[0]


def _fleet_use(inst: CoreInstance) -> tuple[bool, float]:
    """Whether no plan can serve every client because of load or time alone, and the
    share of all the vehicles' shifts the clients take at the least. Too small: the
    clients' demand in some load dimension, or the time they take at the least, is
    more than all the vehicles carry or work together; or the same holds for the
    clients pinned alike (the same assignment dimensions) and the vehicles that may
    serve them.

    The time a client takes at the least is its service plus the shortest travel into
    it from any other place (every visit is reached by an arc of its own). For all the
    clients together, their travel is also at least a minimum spanning tree over their
    places and the vehicles' starts (:func:`_spanning_travel_s`). A vehicle works its
    shift. Waiting, the way back and windows are left out, so a day this calls too
    small is too small, but not every such day is found: a day whose share is a little
    under 1 may not fit either (docs/routing.md, session 19)."""
    if not inst.vehicle_types or not inst.clients:
        return False, 0.0
    hard = _hard_dims(inst)
    dims = len(inst.vehicle_types[0].capacity) - len(hard)  # parcels, weight
    into = _min_arrival_s(inst)
    service = np.array([c.service_s for c in inst.clients], np.int64)
    # a stop with alternatives counts once, and never as pinned: it has another way
    alt, grouped = inst.alternatives(), {k for g in inst.groups for k in g}
    groups: dict[tuple[int, ...], list[int]] = {
        (): [k for k in range(len(inst.clients)) if k not in alt]}
    for k, c in enumerate(inst.clients):
        if k not in grouped and (pins := tuple(d for d in hard if c.demand[d] > 0)):
            groups.setdefault(pins, []).append(k)
    use = 0.0  # everyone's share of every shift
    for pins, members in groups.items():  # everyone, then each courier's pinned stops
        allowed = [vt for vt in inst.vehicle_types if all(vt.capacity[d] > 0 for d in pins)]
        clients = [inst.clients[k] for k in members]
        demand = [sum(c.demand[d] for c in clients) for d in range(dims)]
        room = [sum(vt.capacity[d] * vt.count for vt in allowed) for d in range(dims)]
        if any(x > r for x, r in zip(demand, room, strict=True)):
            return True, use if pins else math.inf
        shifts = sum((vt.tw_late - vt.tw_early) * vt.count for vt in allowed)
        serving, travel = int(service[members].sum()), int(into[members].sum())
        if not pins:
            if serving + travel <= shifts:
                travel = max(travel, _spanning_travel_s(inst))  # only when it may tell
            use = (serving + travel) / shifts if shifts > 0 else math.inf
        if serving + travel > shifts:
            return True, use
    return False, use


def _spanning_travel_s(inst: CoreInstance) -> int:
    """The weight of a minimum spanning tree over the clients' places and one node for
    all the vehicles' starts, an edge weighing the shorter travel time of its two ways
    over the vehicles' profiles (Prim's algorithm, one row and one column of each
    matrix a step: O(places^2) time, no copy of a matrix; 2 000 places take ~0.1 s
    with one profile, ~0.3 s with five).

    The routes of a plan that serves every client, their starts taken as one, connect
    every place: they hold a spanning tree, so their travel is at least this much
    (without the triangle inequality too)."""
    places = np.unique(np.array([c.location for c in inst.clients], dtype=np.int64))
    starts = np.unique(np.array([vt.start for vt in inst.vehicle_types], dtype=np.int64))
    mats = {id(m): m for m in (inst.durations[vt.profile] for vt in inst.vehicle_types)}
    todo = np.setdiff1d(places, starts)  # a client at a start is reached for nothing
    key = np.full(len(todo), np.inf)  # the lightest edge from the tree to each place

    def reach(frm: int) -> None:
        for m in mats.values():
            np.minimum(key, m[frm, todo], out=key)
            np.minimum(key, m[todo, frm], out=key)

    for s in starts.tolist():
        reach(s)
    total = 0
    while len(todo):
        k = int(np.argmin(key))
        total += int(key[k])
        u = int(todo[k])
        todo, key = np.delete(todo, k), np.delete(key, k)
        if len(todo):
            reach(u)
    return total


def _min_arrival_s(inst: CoreInstance, block: int = 256) -> np.ndarray:
    """Per client, the shortest travel time into it from any other location, over the
    vehicles' profiles (read a block of columns at a time: no copy of a matrix)."""
    locs = np.array([c.location for c in inst.clients], dtype=np.int64)
    best = np.full(len(locs), np.iinfo(np.int64).max, dtype=np.int64)
    mats = {id(m): m for m in (inst.durations[vt.profile] for vt in inst.vehicle_types)}
    for dur in mats.values():
        for lo in range(0, len(locs), block):
            cols = locs[lo:lo + block]
            into = np.asarray(dur[:, cols], dtype=np.int64)  # a copy: fancy indexing
            into[cols, np.arange(len(cols))] = np.iinfo(np.int64).max  # not from itself
            np.minimum(best[lo:lo + block], into.min(axis=0), out=best[lo:lo + block])
    return best


@dataclass(slots=True)
class _Schedule:
    """A route's times for cheap insertion checks: for each place a client could be
    inserted after (the start, then each visit), the departure time and location; for
    the node that follows it (each visit, then the end), its location (``-1``: an open
    end), the opening of its window and the latest start that keeps the rest on time."""

    depart: npt.NDArray[np.int64]
    after: npt.NDArray[np.int64]
    before: npt.NDArray[np.int64]
    opens: npt.NDArray[np.int64]
    latest: npt.NDArray[np.int64]
    load: list[int]


def _schedule(inst: CoreInstance, vt: CoreVehicleType, visits: Sequence[int],
              dims: int) -> _Schedule:
    dur = inst.durations[vt.profile]
    clients = [inst.clients[v] for v in visits]
    after = [vt.start, *(c.location for c in clients)]
    depart = [vt.tw_early]
    for c, frm in zip(clients, after, strict=False):
        depart.append(max(depart[-1] + int(dur[frm, c.location]), c.tw_early) + c.service_s)
    latest = [vt.tw_late]  # backwards from the end: the shift's end
    nxt = -1 if vt.end is None else vt.end
    for c in reversed(clients):
        back = 0 if nxt < 0 else int(dur[c.location, nxt])
        latest.append(min(c.tw_late, latest[-1] - back - c.service_s))
        nxt = c.location
    latest.reverse()
    return _Schedule(
        np.array(depart, np.int64), np.array(after, np.int64),
        np.array([*(c.location for c in clients), -1 if vt.end is None else vt.end], np.int64),
        np.array([*(c.tw_early for c in clients), 0], np.int64),
        np.array(latest, np.int64),
        [sum(c.demand[d] for c in clients) for d in range(dims)])


#: Share of the budget :func:`_completed_start` may take (from its start); the stops it
#: has not placed by then are left to PyVRP.
COMPLETE_SHARE = 0.05


def _completed_start(
    inst: CoreInstance, initial: Sequence[tuple[int, Sequence[int]]],
    deadline: float = math.inf,
) -> list[tuple[int, list[int]]]:
    """The warm start with each client it leaves out inserted where it adds the least
    distance and keeps its route feasible: capacity, windows, shift, a pin (the
    vehicle's room in the client's assignment dimensions); or alone on a vehicle not
    used yet. A client that fits nowhere stays out (PyVRP places it), and a group's
    clients count as one, its first in the insertion. A start PyVRP would not take (a
    client or vehicle type out of range, a client twice) is returned as it is, and
    the insertion stops at ``deadline`` (``time.monotonic()``).

    PyVRP 0.14 puts the required clients a start leaves out back a few at a time: from
    a re-plan's routes in force without its 80 new stops (1 000 + 80 stops, 15
    couriers) it ran ~280 iterations in 5 s, against ~4 500 from this start
    (docs/routing.md, "Warm starts")."""
    routes = [(vt, list(v)) for vt, v in initial if v]
    visits = [c for _, v in routes for c in v]
    if (not routes or len(set(visits)) < len(visits)
            or not all(0 <= c < len(inst.clients) for c in visits)
            or not all(0 <= vt < len(inst.vehicle_types) for vt, _ in routes)):
        return routes
    hard = _hard_dims(inst)
    dims = len(inst.vehicle_types[0].capacity) - len(hard)
    kinds = inst.vehicle_types
    served = set(visits)
    group_of = {k: g for g in inst.groups for k in g}
    served_groups = {group_of[c] for c in served if c in group_of}
    used = Counter(vt for vt, _ in routes)
    times = [_schedule(inst, kinds[vt], v, dims) for vt, v in routes]
    for k, c in enumerate(inst.clients):
        if k in served or (k in group_of and (group_of[k] in served_groups
                                             or group_of[k][0] != k)):
            continue
        if time.monotonic() > deadline:
            break
        best: tuple[int, int, int] | None = None  # (added distance, route, position)
        for r, (t, _) in enumerate(routes):
            vt, at = kinds[t], times[r]
            if any(c.demand[d] > 0 and vt.capacity[d] == 0 for d in hard) or any(
                    at.load[d] + c.demand[d] > vt.capacity[d] for d in range(dims)):
                continue
            dur, dist = inst.durations[vt.profile], inst.distances[vt.profile]
            # an open end: no way on (from the client to itself, 0) and no arc replaced
            open_end = at.before < 0
            to = np.where(open_end, c.location, at.before)
            start = np.maximum(at.depart + dur[at.after, c.location], c.tw_early)
            on = start + c.service_s + dur[c.location, to]
            ok = (start <= c.tw_late) & (np.maximum(on, at.opens) <= at.latest)
            if not ok.any():
                continue
            added = (dist[at.after, c.location] + dist[c.location, to]
                     - np.where(open_end, 0, dist[at.after, to]))
            j = int(np.argmin(np.where(ok, added, np.iinfo(np.int64).max)))
            if best is None or added[j] < best[0]:
                best = (int(added[j]), r, j)
        if best is None:  # alone on a vehicle not used yet
            spare = next((t for t, vt in enumerate(kinds)
                          if used[t] < vt.count and _serves_alone(inst, vt, c)), None)
            if spare is None:
                continue
            used[spare] += 1
            routes.append((spare, []))
            times.append(_schedule(inst, kinds[spare], [], dims))
            best = (0, len(routes) - 1, 0)
        _, r, j = best
        routes[r][1].insert(j, k)
        times[r] = _schedule(inst, kinds[routes[r][0]], routes[r][1], dims)
        served.add(k)
        if k in group_of:
            served_groups.add(group_of[k])
    return routes


#: Seconds PyVRP's first descent takes per client x clients per vehicle, on the slow
#: side (its random start spreads the clients over every vehicle, and a move costs
#: more on a longer route): 1 000 stops for 15 couriers took 0.2-0.4 s, 2 000 for 20
#: 1.4-2.3 s, for 3 couriers at one place 3.5-5.5 s, for one courier 11 s
#: (docs/routing.md, "Session 27").
PYVRP_START_S_PER_UNIT = 1e-5
#: ... and days of fewer clients keep PyVRP's own start: its descent takes ~0.1 s or
#: less there.
QUICK_MIN_CLIENTS = 500
#: ... and so do days whose descent would overrun the budget by at most this many
#: seconds: on a city's day a greedy start, searched for the budget, is a lottery. 2 000
#: stops for 20 couriers (the descent ~2 s) from the greedy start: 742 km (the start
#: itself) at 0.5 s, 565-637 km at 1 s, after 1.2-1.5 s; from PyVRP's own, 505 km after
#: 2.4-3.2 s (docs/routing.md, "Session 28").
QUICK_SLACK_S = 3.0

#: ... and PyVRP does not search a day whose greedy start has a route of more stops
#: than this (many stops at one place, a short service each): single iterations of its
#: search from such a start took 1-230 s (2 000 stops at one place for 3 couriers, a
#: start of 1 947 + 53 stops), while normal days' routes hold ~100-350 stops. The
#: greedy plan is the result (method ``"greedy"``).
PYVRP_MAX_ROUTE = 400


def _slow_start(inst: CoreInstance, time_limit_s: float) -> bool:
    """Whether PyVRP's descent from its random start (:data:`PYVRP_START_S_PER_UNIT`)
    may overrun ``time_limit_s``, the budget, by more than :data:`QUICK_SLACK_S`: a
    day of thousands of stops for few couriers, or at one place."""
    n = len(inst.clients)
    vehicles = max(1, min(n, sum(vt.count for vt in inst.vehicle_types)))
    return (n >= QUICK_MIN_CLIENTS
            and PYVRP_START_S_PER_UNIT * n * n / vehicles > time_limit_s + QUICK_SLACK_S)


def _greedy_start(inst: CoreInstance) -> list[tuple[int, list[int]]]:
    """A start for PyVRP in milliseconds, in place of its random one: vehicle by
    vehicle (types in order), a nearest-neighbour route over the clients left, each
    within its window, the shift and the capacity (pins included: their assignment
    dimensions); at most one client of a group (:func:`routing.tsptw._greedy_route`).
    The clients no route took are left out."""
    from routing.tsptw import BIG_TIME, _greedy_route

    n = len(inst.clients)
    dims = len(inst.vehicle_types[0].capacity) if inst.vehicle_types else 0
    loc = np.array([c.location for c in inst.clients], dtype=np.int64)
    early = np.array([min(c.tw_early, BIG_TIME) for c in inst.clients], dtype=np.int64)
    late = np.array([min(c.tw_late, BIG_TIME) for c in inst.clients], dtype=np.int64)
    service = np.array([c.service_s for c in inst.clients], dtype=np.int64)
    demand = np.array([c.demand for c in inst.clients], dtype=np.int64).reshape(n, dims)
    group = np.full(n, -1, dtype=np.int64)
    for g, members in enumerate(inst.groups):
        group[list(members)] = g
    left = np.ones(n, dtype=np.bool_)
    out = np.zeros(n, dtype=np.int64)
    costs = inst.distances if inst.objective == "distance" else inst.durations
    routes: list[tuple[int, list[int]]] = []
    for t, vt in enumerate(inst.vehicle_types):
        cost = np.ascontiguousarray(costs[vt.profile], dtype=np.int64)
        dur = np.ascontiguousarray(inst.durations[vt.profile], dtype=np.int64)
        capacity = np.array(vt.capacity, dtype=np.int64)
        for _ in range(vt.count):
            k = _greedy_route(cost, dur, loc, early, late, service, demand, group, capacity,
                              vt.start, -1 if vt.end is None else vt.end,
                              min(vt.tw_early, BIG_TIME), min(vt.tw_late, BIG_TIME), left, out)
            if k == 0:  # the type's other vehicles would find none either
                break
            routes.append((t, out[:k].tolist()))
    return routes


def _serves_alone(inst: CoreInstance, vt: CoreVehicleType, c: CoreClient) -> bool:
    """Whether a vehicle of type ``vt`` can serve ``c`` as its only stop:
    capacity, the client's window and the shift, direct travel (a stop pinned
    to another courier is unreachable in this type's duration matrix)."""
    if any(d > cap for d, cap in zip(c.demand, vt.capacity, strict=False)):
        return False
    dur = inst.durations[vt.profile]
    arrive = vt.tw_early + int(dur[vt.start, c.location])
    if arrive > c.tw_late:
        return False
    back = 0 if vt.end is None else int(dur[c.location, vt.end])
    return max(arrive, c.tw_early) + c.service_s + back <= vt.tw_late


def _without_smallest_route(
    inst: CoreInstance, routes: Sequence[tuple[int, Sequence[int]]]
) -> tuple[CoreInstance, list[int], list[tuple[int, list[int]]]] | None:
    """The instance with the fleet cut to the vehicles ``routes`` use, minus
    the one of its route with the fewest stops, and ``routes`` without that
    route as a start (its stops left for the search to place). Returns the
    instance, the original index of each of its vehicle types and the start
    in its indices.

    A route whose stops cannot all be served by one of the vehicles left (a
    stop pinned to its courier, a window only its shift covers, a parcel only
    it can carry) is not dropped: the next smallest is. ``None`` when no route
    can go."""
    live = [(vt, list(v)) for vt, v in routes if v]
    for drop in sorted(range(len(live)), key=lambda j: (len(live[j][1]), j)):
        kept = live[:drop] + live[drop + 1 :]
        counts = Counter(vt for vt, _v in kept)
        left = [inst.vehicle_types[t] for t in counts]
        if not kept or not all(
            any(_serves_alone(inst, vt, inst.clients[c]) for vt in left) for c in live[drop][1]
        ):
            continue
        types = sorted(counts)
        pos = {t: j for j, t in enumerate(types)}
        sub = dataclasses.replace(
            inst,
            vehicle_types=tuple(
                dataclasses.replace(inst.vehicle_types[t], count=counts[t]) for t in types
            ),
        )
        return sub, types, [(pos[vt], v) for vt, v in kept]
    return None


# --------------------------------------------------------------------------- fast-tsp


def _tsp_applicable(inst: CoreInstance) -> bool:
    if sum(vt.count for vt in inst.vehicle_types) != 1 or len(inst.distances) != 1:
        return False
    if inst.groups:  # the tour visits every client
        return False
    vt = next(v for v in inst.vehicle_types if v.count > 0)
    if vt.end is not None and vt.end != vt.start:
        return False
    for c in inst.clients:
        # optional clients are fine: if the tour fits the shift all are served
        if c.tw_early > vt.tw_early or c.tw_late < vt.tw_late:
            return False
    total = np.zeros(len(vt.capacity), dtype=np.int64)
    for c in inst.clients:
        total += np.asarray(c.demand, dtype=np.int64)
    if np.any(total > np.asarray(vt.capacity, dtype=np.int64)):
        return False
    mat = inst.distances[0] if inst.objective == "distance" else inst.durations[0]
    nodes = np.asarray([vt.start, *(c.location for c in inst.clients)], dtype=np.intp)
    sub = mat[np.ix_(nodes, nodes)]
    return bool(np.array_equal(sub, sub.T))


def _schedule_end(inst: CoreInstance, route: CoreRoute) -> int:
    """Time the route ends when leaving at ``tw_early`` (no waiting possible)."""
    vt = inst.vehicle_types[route.vehicle_type]
    dur = inst.durations[vt.profile]
    t = vt.tw_early
    prev = vt.start
    for ci in route.visits:
        c = inst.clients[ci]
        t = max(t + int(dur[prev, c.location]), c.tw_early) + c.service_s
        prev = c.location
    if vt.end is not None:
        t += int(dur[prev, vt.end])
    return t


def _solve_tsp(inst: CoreInstance, time_limit_s: float, workers: int) -> CoreRoute | None:
    import fast_tsp

    vt_idx = next(i for i, v in enumerate(inst.vehicle_types) if v.count > 0)
    vt = inst.vehicle_types[vt_idx]
    k = len(inst.clients)
    if k == 0:
        return CoreRoute(vt_idx, ())
    mat = inst.distances[0] if inst.objective == "distance" else inst.durations[0]
    nodes = np.asarray([vt.start, *(c.location for c in inst.clients)], dtype=np.intp)
    sub = mat[np.ix_(nodes, nodes)].astype(np.float64)
    top = float(sub.max())
    if top > _TSP_SCALE_TARGET:
        sub *= _TSP_SCALE_TARGET / top
    isub = np.rint(sub).astype(np.int64)
    open_route = vt.end is None
    if open_route:
        m = len(nodes)
        big = np.full((m + 1, m + 1), _TSP_MAX_ENTRY, dtype=np.int64)
        big[:m, :m] = isub
        big[m, m] = 0
        big[0, m] = big[m, 0] = 0
        isub = big
    if isub.shape[0] <= 2:
        tour = list(range(isub.shape[0]))
    else:
        tour = fast_tsp.find_tour(
            isub,
            duration_seconds=max(0.05, time_limit_s),
            max_threads=workers,
            stop_when_converged=True,
        )
    r = tour.index(0)
    tour = tour[r:] + tour[:r]
    if open_route:
        dummy = len(nodes)
        if tour[1] == dummy:
            tour = [0, *reversed(tour[1:])]
        if tour[-1] != dummy:
            logger.info("fast-tsp open route did not settle the dummy node; using PyVRP")
            return None
        tour = tour[:-1]
    return CoreRoute(vt_idx, tuple(i - 1 for i in tour[1:]))


# --------------------------------------------------------------------------- TSPTW ILS


def _one_route(inst: CoreInstance) -> bool:
    """One vehicle, and the clients may all fit: their load in its capacity, their
    time in its shift (:func:`_fleet_too_small`). The single-route searches only look
    for a route with every client; on a day that cannot have one (a courier
    re-optimising late in the shift with too many stops left) the annealing would
    spend ``TSPTW_GIVE_UP_SHARE`` of the budget before PyVRP drops stops."""
    if sum(vt.count for vt in inst.vehicle_types) != 1 or len(inst.distances) != 1:
        return False
    if len(inst.clients) < 1 or inst.groups:
        return False
    return not _fleet_too_small(inst)


def _tsptw_applicable(inst: CoreInstance) -> bool:
    """:func:`_one_route`, by distance: what the annealing minimises."""
    return inst.objective == "distance" and _one_route(inst)


def _tsptw_instance(inst: CoreInstance, vt_idx: int | None = None) -> tuple[Any, int]:
    """The single route as a :class:`routing.tsptw.TsptwInstance` (+ vehicle type):
    of vehicle type ``vt_idx``, by default the first with a vehicle, over every
    client."""
    from routing.tsptw import BIG_TIME, TsptwInstance

    if vt_idx is None:
        vt_idx = next(i for i, v in enumerate(inst.vehicle_types) if v.count > 0)
    vt = inst.vehicle_types[vt_idx]
    n = len(inst.clients)
    locs = np.asarray(
        [vt.start, *(c.location for c in inst.clients), vt.start if vt.end is None else vt.end],
        dtype=np.intp,
    )
    dist = np.ascontiguousarray(inst.distances[vt.profile][np.ix_(locs, locs)],
                                dtype=np.int64)
    dur = np.ascontiguousarray(inst.durations[vt.profile][np.ix_(locs, locs)],
                               dtype=np.int64)
    if vt.end is None:
        dist[:, n + 1] = 0
        dur[:, n + 1] = 0

    def cap(x: int) -> int:
        return min(int(x), BIG_TIME)

    shift_open, shift_close = cap(vt.tw_early), cap(vt.tw_late)
    early = np.asarray(
        [shift_open, *(cap(c.tw_early) for c in inst.clients), shift_open], dtype=np.int64
    )
    late = np.asarray(
        [shift_close, *(cap(c.tw_late) for c in inst.clients), shift_close], dtype=np.int64
    )
    service = np.asarray([0, *(c.service_s for c in inst.clients), 0], dtype=np.int64)
    return TsptwInstance(dist, dur, early, late, service), vt_idx


#: Solve single routes with time windows (distance objective, every stop
#: fitting the capacity) with the compiled ILS of :mod:`routing.tsptw` instead
#: of PyVRP (measured: docs/routing.md, "Single-route time-window day").
USE_TSPTW_ILS = True

_background_compile: Any = None


def _tsptw_ready() -> bool:
    """Kernels usable now? Loads them from the disk cache (~0.4 s once per
    process, plus ~0.8 s to import numba); with no usable cache, starts one
    background process that compiles into the cache (~20 s) and says no, so
    this solve uses PyVRP instead of waiting for the compiler."""
    global _background_compile
    try:
        from routing import tsptw
    except (ImportError, RuntimeError):  # e.g. numba: no writable cache directory
        logger.warning("routing.tsptw unavailable; using PyVRP", exc_info=True)
        return False
    if tsptw.is_warm():
        return True
    if tsptw.cache_ready():
        spent = tsptw.warm_up()
        logger.info("TSPTW kernels loaded from the numba cache in %.2fs", spent)
        return True
    if _background_compile is None:
        import subprocess
        import sys
        import threading

        logger.info("no numba cache for the TSPTW kernels: compiling in the background")
        cmd = [sys.executable, "-m", "routing.tsptw"]
        # a daemon thread waits for the compiler process (nothing left behind
        # to reap; the thread only sleeps in waitpid)
        _background_compile = threading.Thread(
            target=subprocess.run,
            args=(cmd,),
            kwargs={
                "stdin": subprocess.DEVNULL,
                "stdout": subprocess.DEVNULL,
                "stderr": subprocess.DEVNULL,
                "start_new_session": True,
                "check": False,
            },
            name="routing-tsptw-compile",
            daemon=True,
        )
        _background_compile.start()
    return False


def warm_up() -> float:
    """Import PyVRP and load the TSPTW kernels into this process now (compile
    them first if the numba cache has none, ~15-20 s); seconds spent.

    Long-running processes (API, RQ worker) can call this at start-up so the
    first solve does not spend its budget on imports: PyVRP takes 0.1-0.5 s
    (more on a busy machine), numba and its cache ~1.2 s. A solve's budget
    counts them, so a short solve in a cold process could otherwise end with
    PyVRP's first solution.
    """
    t = time.monotonic()
    import pyvrp  # noqa: F401

    try:
        from routing import tsptw
    except (ImportError, RuntimeError):
        logger.warning("routing.tsptw unavailable; using PyVRP", exc_info=True)
        return 0.0
    tsptw.warm_up()
    return time.monotonic() - t


_TsptwOutput = tuple[int, list[int], int, float] | None

#: The single-route instances being searched and their candidate lists, by ``id``:
#: forked workers inherit them, and a task names its key (an ``int``) instead of
#: carrying 64 MB of matrices pickled at 2 000 stops (a worker started its search
#: 0.4-1.5 s after the caller, past a 1 s budget), as :data:`_FORKED` does for PyVRP.
_FORKED_ROUTES: dict[int, tuple[Any, Any]] = {}

#: Share of a round after which the TSPTW workers' probes stop, their best
#: routes are ranked, and worker j anneals on from the j-th best with a new
#: seed over the end of the cooling schedule. Measured on the 150-stop day
#: (session 3, best of two workers, 10 seeds x 5 instances): mean gap 0.25 %
#: with a restart half-way, 0.47 % with two independent runs (docs/routing.md).
TSPTW_RESTART_SHARE = 0.5

#: Fresh annealing runs each worker makes in a round's first part (each a
#: whole cooling schedule in its share of the time); the round's second part
#: continues the best of them. On the 150-stop day a run's route shape is a
#: lottery settled early and hardly better for a longer run, so more short
#: tickets pay (docs/routing.md, session 6).
TSPTW_PROBES = 4
#: ... but no probe shorter than this: on 0.2 s budgets (25 ms probes) four
#: probes were worse than one (mean gap 1.65 % against 1.45 %); at 0.5 s (62 ms
#: probes) they were equal or better.
TSPTW_PROBE_MIN_S = 0.06
#: Where in the cooling schedule the second part of a round starts (the
#: share of the schedule skipped: it continues a cooled route, warm again).
TSPTW_CONTINUE_FROM = 0.6
_PROBE_SEED_STRIDE = 7919

#: Longer budgets run rounds of about this many seconds: each round anneals
#: from new starts (its probes) and then from their best routes (its second
#: part). Runs settle in different route shapes, so fresh starts pay more
#: than one long cooling schedule (docs/routing.md).
TSPTW_ROUND_S = 3.0

#: While no process has a feasible route with every stop, phases keep
#: starting afresh (each gives up after 30 % of its own time) until this share
#: of the budget has passed; then PyVRP gets the rest and drops what cannot be
#: served.
TSPTW_GIVE_UP_SHARE = 0.3

#: When the single-route search has found no route with every stop, PyVRP first
#: looks for one too (its all-required phase) only if at least this many seconds
#: are left; with less it searches the optional model from the start. Measured on
#: couriers re-optimising late with stops added (benchmarks/reoptimize_day.py, the
#: moments where PyVRP takes over): at 1 s and 3 s the all-required phase found no
#: such route, and the optional model alone left out 22 % / 26 % fewer stops; at
#: 10 s and 30 s it sometimes did (docs/routing.md, session 19).
FALLBACK_REQUIRED_MIN_S = 5.0


def _run_tsptw(
    tinst: Any,
    deadline: float,
    seed: int,
    initial: Sequence[int] | None,
    scale: float | None,
    schedule: tuple[float, float],
    progress: ProgressCallback | None = None,
    t0: float | None = None,
    probes: int = 1,
    neighbours: Any = None,
) -> _TsptwOutput:
    """One worker (also the process-pool task): the search of
    :mod:`routing.tsptw` over ``schedule``, as ``probes`` consecutive runs
    that share the time left (each its own start and seed, each the whole
    ``schedule``). Returns the best run's (cost, order 1..n, iterations of
    all runs, temperature scale) or ``None`` if no feasible route with every
    stop. A run that finds none leaves the rest of the time to one search.
    ``neighbours``: the instance's candidate lists (:func:`routing.tsptw.neighbour_lists`),
    computed once for every run. ``tinst`` may be the key of both in
    :data:`_FORKED_ROUTES` (a forked worker)."""
    from routing.tsptw import solve_tsptw

    if isinstance(tinst, int):  # a forked worker's: the instance it inherited
        tinst, neighbours = _FORKED_ROUTES[tinst]
    start = time.monotonic() if t0 is None else t0
    last = [-1.0, math.inf]

    def on_chunk(best: int) -> bool:
        if progress is not None:
            # also while no feasible route is known (best < 0): the callback is the
            # caller's heartbeat and its way to cancel, and that phase can take
            # seconds on tight windows; ``inf`` says "none feasible yet"
            now = time.monotonic()
            cost = float(best) if best >= 0 else math.inf
            if cost < last[1] or now - last[0] >= 0.25:
                last[0], last[1] = now, cost
                progress(cost, now - start)
        return _CANCEL is not None and bool(_CANCEL.is_set())

    best = None  # the shortest probe's TsptwResult
    iterations = 0
    runs = max(1, probes)
    k = 0
    while k < runs:
        now = time.monotonic()
        end = deadline if k == runs - 1 else now + (deadline - now) / (runs - k)
        res = solve_tsptw(
            tinst,
            deadline=end,
            seed=seed + k * _PROBE_SEED_STRIDE,
            initial=list(initial) if initial is not None else None,
            on_chunk=on_chunk,
            schedule=schedule,
            scale=scale,
            neighbours=neighbours,
        )
        k += 1
        if res is None:
            runs = min(runs, k + 1)  # the rest of the time as one search
            continue
        iterations += res.iterations
        if best is None or res.cost < best.cost:
            best = res
        if time.monotonic() >= deadline or (_CANCEL is not None and _CANCEL.is_set()):
            break
    return None if best is None else (best.cost, list(best.order), iterations, best.scale)


#: Single routes of up to this many stops are solved exactly
#: (:func:`routing.tsptw.solve_exact`), not annealed.
EXACT_MAX_CLIENTS = 9


def _solve_exact(inst: CoreInstance) -> tuple[bool, CoreRoute | None]:
    """(settled, route): the shortest route (by duration, the one of least duration)
    with every stop of a single-route instance of at most :data:`EXACT_MAX_CLIENTS`
    stops (the TSPTW search's model), or ``None``
    when no route serves every stop; not settled when the enumeration ran out of
    branches (the annealing takes over)."""
    from routing.tsptw import solve_exact

    tinst, vt_idx = _tsptw_instance(inst)
    try:
        res = solve_exact(tinst, by_duration=inst.objective == "duration")
    except TimeoutError:
        return False, None
    return True, None if res is None else CoreRoute(vt_idx, tuple(v - 1 for v in res.order))


#: Problems of a few stops with more than one vehicle, alternatives (a committed or
#: preferred stop), or no route serving every stop, are solved exactly
#: (:func:`routing.tsptw.solve_fleet_exact`), where PyVRP spent the whole budget.
USE_FLEET_EXACT = True


#: What the exact fleet search takes per vehicle type and subset of the stops, at the
#: most (``benchmarks.fleet_exact``: ~3.5 us idle, 8 stops for 40 couriers in 0.036 s;
#: ~3x that on a loaded machine). It runs only when that is at most half the budget
#: (a re-plan of 8 stops for 150 couriers each elsewhere took ~1 s).
FLEET_EXACT_S_PER_SUBSET = 1e-5


#: Problems of up to this many stops go to the exact fleet search
#: (:data:`routing.tsptw.FLEET_EXACT_MAX_CLIENTS`, which it takes at most): checked
#: here before anything is imported, so a large day does not import numba for it.
FLEET_EXACT_MAX_CLIENTS = 8


def _fleet_exact_applicable(inst: CoreInstance, time_limit_s: float) -> bool:
    types = sum(vt.count > 0 for vt in inst.vehicle_types)
    return (1 <= len(inst.clients) <= FLEET_EXACT_MAX_CLIENTS and types > 0
            and types * 2 ** len(inst.clients) * FLEET_EXACT_S_PER_SUBSET
            <= 0.5 * time_limit_s)


def _solve_fleet_exact(inst: CoreInstance) -> tuple[int, list[CoreRoute]] | None:
    """(objective, routes): the best plan of a problem of at most
    :data:`routing.tsptw.FLEET_EXACT_MAX_CLIENTS` stops under PyVRP's objective of
    the optional model (travel, plus the prize of every optional stop left out; at
    most one client of each group), every required stop served; ``None`` when no
    plan serves them all, or the enumeration ran out of branches."""
    from routing.tsptw import FleetVehicle, solve_fleet_exact

    kept = [t for t, vt in enumerate(inst.vehicle_types) if vt.count > 0]
    types = [FleetVehicle(_tsptw_instance(inst, t)[0], inst.vehicle_types[t].capacity,
                          inst.vehicle_types[t].count) for t in kept]
    try:
        res = solve_fleet_exact(
            types, [c.demand for c in inst.clients], [c.prize for c in inst.clients],
            [c.required for c in inst.clients], inst.groups,
            by_duration=inst.objective == "duration")
    except TimeoutError:
        return None
    if res is None:
        return None
    objective, routes = res
    return objective, [CoreRoute(kept[t], visits) for t, visits in routes]


def _solve_tsptw(
    inst: CoreInstance,
    time_limit_s: float,
    seed: int,
    workers: int,
    progress: ProgressCallback | None,
    initial: Sequence[tuple[int, Sequence[int]]] | None,
    t0: float,
) -> tuple[CoreRoute | None, tuple[float, ...]]:
    """Rounds of ``workers`` parallel searches (seeds ``seed ..``): in the
    first ``TSPTW_RESTART_SHARE`` of a round each worker makes up to
    ``TSPTW_PROBES`` fresh annealing runs; then worker j continues the j-th
    best route of the round from ``TSPTW_CONTINUE_FROM`` of the cooling
    schedule. The best route of all."""
    from routing.tsptw import neighbour_lists

    tinst, vt_idx = _tsptw_instance(inst)
    # once, not in every run: O(n^2), ~0.06 s at 2 000 stops
    neigh = neighbour_lists(tinst)
    init: list[int] | None = None
    for vt, visits in initial or ():
        if vt == vt_idx:
            init = [v + 1 for v in visits if 0 <= v < len(inst.clients)]
    rounds = max(1, round(time_limit_s / TSPTW_ROUND_S))
    share = TSPTW_RESTART_SHARE if 0 < TSPTW_RESTART_SHARE < 1 else 1.0
    reporter = _Monotone(progress) if progress is not None else None
    found: list[tuple[int, list[int], int, float]] = []
    costs: list[float] = []
    k = 0
    # forked workers inherit the instance (_FORKED_ROUTES), others get it pickled
    key = id(tinst) if workers > 1 and _mp_context().get_start_method() == "fork" else None
    if key is not None:
        _FORKED_ROUTES[key] = (tinst, neigh)
    try:
        with _worker_pool(workers) as (pool, cancel):
            for r in range(rounds):
                r0 = t0 + r * time_limit_s / rounds
                r1 = t0 + (r + 1) * time_limit_s / rounds
                n_probes = max(1, min(TSPTW_PROBES, int(share * (r1 - r0) / TSPTW_PROBE_MIN_S)))
                phases = [(r0 + share * (r1 - r0), (0.0, 1.0), n_probes)]
                if share < 1:
                    phases.append((r1, (TSPTW_CONTINUE_FROM, 1.0), 1))
                # (start, temperature scale) per worker, taken round-robin
                starts: list[tuple[list[int] | None, float | None]] = [(init, None)]
                for end, part, probes in phases:
                    if found and time.monotonic() >= end:
                        # its time went on what came before (a start of thousands of
                        # stops): a phase would still build and descend its own starts
                        continue
                    args = [
                        (tinst if key is None or j == 0 else key, end, seed + k + j,
                         *starts[j % len(starts)], part)
                        for j in range(workers)
                    ]
                    main = functools.partial(_run_tsptw, *args[0], reporter, t0, probes, neigh)
                    task = functools.partial(_run_tsptw, probes=probes,
                                             neighbours=None if key is not None else neigh)
                    outputs = _fan_out(pool, cancel, task, args[1:], main)
                    k += workers
                    costs += [math.inf if o is None else float(o[0]) for o in outputs]
                    now = [o for o in outputs if o is not None]
                    found += now
                    if not found and time.monotonic() - t0 >= TSPTW_GIVE_UP_SHARE * time_limit_s:
                        break  # no feasible route: leave the rest of the budget to PyVRP
                    if now:  # the round's second part continues from its own best
                        # routes (worker j from the j-th best: two shapes kept
                        # alive); not from an earlier round's, which would win
                        # every time, and the rounds would not differ
                        ranked = sorted(now, key=lambda o: o[0])
                        starts = [(o[1], o[3] or None) for o in ranked]
                if not found and time.monotonic() - t0 >= TSPTW_GIVE_UP_SHARE * time_limit_s:
                    break
    finally:
        if key is not None:
            _FORKED_ROUTES.pop(key, None)
    logger.debug("tsptw runs: costs %s, iterations %s", costs, [o[2] for o in found])
    if not found:
        return None, tuple(costs)
    best = min(found, key=lambda o: o[0])
    return CoreRoute(vt_idx, tuple(v - 1 for v in best[1])), tuple(costs)


# --------------------------------------------------------------------------- entry point

#: For problems with more than one vehicle, start parallel PyVRP processes
#: only for cores that other runnable tasks leave free (:func:`_free_cores`). Measured on
#: the shared 2-core VM (docs/routing.md): there one search with the whole
#: budget beats two half-speed ones (CVRPLIB X 1.06 % vs 1.39 %). Single
#: routes keep ``workers`` processes: their best-of-two multi-start pays even
#: under load (150-stop day, 1 s: mean gap 4.2 % vs 6.0 %).
LOAD_AWARE_WORKERS = True


def _other_runnable(samples: int = 5, gap_s: float = 0.002) -> float | None:
    """Tasks runnable right now besides the caller: the median over a few samples of
    ``/proc/loadavg``'s running count minus one; None where that file is missing.

    Not the 1-minute load average: that decays slowly and so counts the solver's
    *own* previous run as load (a benchmark or a busy worker solving back to back
    saw a load of ~1 on an idle 2-core machine and got one process)."""
    seen: list[int] = []
    for k in range(samples):
        try:
            with open("/proc/loadavg", encoding="ascii") as f:
                running = int(f.read().split()[3].split("/")[0])
        except (OSError, ValueError, IndexError):
            return None
        seen.append(max(0, running - 1))
        if k + 1 < samples:
            time.sleep(gap_s)
    return float(sorted(seen)[len(seen) // 2])


def _free_cores() -> float:
    """Cores this process may use minus what other tasks are using right now
    (:func:`_other_runnable`; the 1-minute load average where that is unavailable)."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    busy = _other_runnable()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):
            return float(cores)
    return cores - busy


def effective_workers(inst: CoreInstance, workers: int) -> int:
    """Number of PyVRP processes :func:`solve_core` will use for ``workers``.

    ``workers`` for single-vehicle problems; otherwise at most the number of
    free cores (rounded, at least 1) when :data:`LOAD_AWARE_WORKERS` is set.
    """
    if workers <= 1 or not LOAD_AWARE_WORKERS:
        return workers
    if sum(vt.count for vt in inst.vehicle_types) <= 1:
        return workers
    return max(1, min(workers, int(_free_cores() + 0.5)))


def _since(t0: float, progress: ProgressCallback) -> ProgressCallback:
    """``progress`` with the elapsed time measured from ``t0``."""

    def report(best_cost: float, _elapsed_s: float) -> None:
        progress(best_cost, time.monotonic() - t0)

    return report


def solve_core(
    inst: CoreInstance,
    *,
    time_limit_s: float,
    seed: int = 0,
    workers: int = 2,
    use_tsp_fast_path: bool = True,
    progress: ProgressCallback | None = None,
    initial: Sequence[tuple[int, Sequence[int]]] | None = None,
) -> CoreResult:
    """Solve a core instance within a wall-clock budget.

    Parameters
    ----------
    inst
        The instance.
    time_limit_s
        Budget (wall clock, including model building). Positive.
    seed
        Base seed; parallel run ``k`` uses ``seed + k``.
    workers
        Maximum number of parallel PyVRP runs (processes); see
        :func:`effective_workers` for when fewer are started.
    use_tsp_fast_path
        Allow the single-route fast paths: fast-tsp when the instance is a
        plain single route, the compiled TSPTW search (:mod:`routing.tsptw`)
        for a single route with windows. ``False``: PyVRP for everything.
    progress
        Optional ``progress(best_cost, elapsed_s)`` hook (:data:`ProgressCallback`):
        called by the PyVRP and TSPTW searches, also before a feasible solution
        is known; the fast-tsp path calls it once, with its result. ``elapsed_s``
        is the time since this call (never decreasing, also when one search
        hands over to another).
    initial
        Optional warm start: ``(vehicle_type, client visits)`` pairs.

    Returns
    -------
    CoreResult
        Routes, recomputed cost and feasibility.
    """
    if not time_limit_s > 0:
        raise ValueError("time_limit_s must be positive")
    t0 = time.monotonic()
    if progress is not None:
        # elapsed since this call, not since the current search began: the phases
        # below restart ``t0`` when one hands over to the next (fast-tsp or the ILS
        # to PyVRP), and the reported time would go back to 0
        progress = _since(t0, progress)
    if not inst.clients or not any(vt.count > 0 for vt in inst.vehicle_types):
        return CoreResult((), 0, not any(c.required for c in inst.clients), "empty", 0.0)

    if use_tsp_fast_path and _tsp_applicable(inst):
        route = _solve_tsp(inst, time_limit_s, workers)
        if route is not None:
            vt = inst.vehicle_types[route.vehicle_type]
            if _schedule_end(inst, route) <= vt.tw_late:
                cost = route_cost(inst, route)
                if progress is not None:
                    progress(float(cost), time.monotonic() - t0)
                return CoreResult(
                    (route,) if route.visits else (),
                    cost,
                    True,
                    "fast-tsp",
                    time.monotonic() - t0,
                )
            logger.info("fast-tsp tour overruns the shift; falling back to PyVRP")
        remaining = time_limit_s - (time.monotonic() - t0)
        time_limit_s = max(remaining, min(0.2, time_limit_s))
        t0 = time.monotonic()

    optional_only = fell_back = False  # fell back: the single-route search found none
    # (once: O(n^2) at its worst, _spanning_travel_s, ~0.1 s at 2 000 stops)
    one_route = use_tsp_fast_path and _one_route(inst)
    single = one_route and inst.objective == "distance"  # the annealing's
    if (one_route and USE_TSPTW_ILS
            and len(inst.clients) <= EXACT_MAX_CLIENTS and _tsptw_ready()):
        # a few stops (a courier's last ones of the day): every order, in milliseconds,
        # where the annealing below (or PyVRP, by duration) spent the whole budget on
        # what it found at once
        settled, exact = _solve_exact(inst)
        if exact is not None:
            cost = route_cost(inst, exact)
            if progress is not None:
                progress(float(cost), time.monotonic() - t0)
            return CoreResult((exact,) if exact.visits else (), cost, True, "exact",
                              time.monotonic() - t0)
        if settled:  # no route serves every stop: PyVRP chooses what to leave out
            remaining = time_limit_s - (time.monotonic() - t0)
            time_limit_s = max(remaining, min(0.5, time_limit_s))
            t0 = time.monotonic()
            optional_only = time_limit_s < FALLBACK_REQUIRED_MIN_S
            fell_back = True
    if (use_tsp_fast_path and USE_FLEET_EXACT and _fleet_exact_applicable(inst, time_limit_s)
            and (fell_back or not one_route) and _tsptw_ready()):
        # a few stops for several couriers (a re-plan late in the day), or for one who
        # cannot serve them all: every split and order, where PyVRP took the budget
        found = _solve_fleet_exact(inst)
        if found is not None:
            objective, fleet_routes = found
            if progress is not None:
                progress(float(objective), time.monotonic() - t0)
            return CoreResult(tuple(r for r in fleet_routes if r.visits),
                              sum(route_cost(inst, r) for r in fleet_routes), True, "exact",
                              time.monotonic() - t0)
    if single and USE_TSPTW_ILS and not fell_back and _tsptw_ready():
        remaining = time_limit_s - (time.monotonic() - t0)
        route, costs = _solve_tsptw(
            inst, max(remaining, 0.05), seed, workers, progress, initial, time.monotonic()
        )
        if route is not None:
            return CoreResult(
                (route,) if route.visits else (),
                route_cost(inst, route),
                True,
                "tsptw-ils",
                time.monotonic() - t0,
                costs,
            )
        logger.info("TSPTW search found no feasible route with every stop; using PyVRP")
        remaining = time_limit_s - (time.monotonic() - t0)
        time_limit_s = max(remaining, min(0.5, time_limit_s))
        t0 = time.monotonic()
        # it has looked for a route with every stop; with little time left, PyVRP's
        # look for one too would only take time from choosing what to leave out
        optional_only = time_limit_s < FALLBACK_REQUIRED_MIN_S
        fell_back = True

    quick: list[tuple[int, list[int]]] = []
    if not initial and _slow_start(inst, time_limit_s) and _tsptw_ready():
        # a day too large for the budget: PyVRP's descent from its random start, which
        # nothing interrupts, would overrun it by seconds; a greedy start instead
        quick = _greedy_start(inst)
        if max((len(v) for _, v in quick), default=0) > PYVRP_MAX_ROUTE:
            return _greedy_result(inst, quick, progress, t0)
    n_proc = effective_workers(inst, workers)
    if n_proc != workers:
        logger.debug("machine busy: %d PyVRP process(es) instead of %d", n_proc, workers)
    routes, feasible, costs = _solve_pyvrp(inst, time_limit_s, seed, n_proc, progress, initial, t0,
                                           optional_only=optional_only, hedge=not fell_back,
                                           quick=quick)
    cost = sum(route_cost(inst, r) for r in routes)
    return CoreResult(tuple(routes), cost, feasible, "pyvrp", time.monotonic() - t0, costs)


def _greedy_result(inst: CoreInstance, start: Sequence[tuple[int, Sequence[int]]],
                   progress: ProgressCallback | None, t0: float) -> CoreResult:
    """:func:`_greedy_start`'s plan as the result (method ``"greedy"``); its objective
    as PyVRP counts it (travel and the prize of every client left out) to
    ``progress``."""
    routes = tuple(CoreRoute(vt, tuple(v)) for vt, v in start if v)
    cost = sum(route_cost(inst, r) for r in routes)
    served = {k for r in routes for k in r.visits}
    if progress is not None:
        left = sum(c.prize for k, c in enumerate(inst.clients) if k not in served)
        progress(float(cost + left), time.monotonic() - t0)
    required = all(k in served for k, c in enumerate(inst.clients) if c.required)
    return CoreResult(routes, cost, required, "greedy", time.monotonic() - t0)
