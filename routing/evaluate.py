"""Schedule routes whose order is already fixed (a dispatcher's manual edit).

No optimisation: each courier's stops are visited in the given order, leaving the office
(or the courier's start) at shift open; ETAs, loads, distance and lateness are computed
the same way as for solved plans, so a manual edit is judged by the same measures.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from routing.errors import InvalidProblemError
from routing.matrix import HaversineProvider, MatrixProvider
from routing.model import Problem
from routing.plan import Plan
from routing.solver import _check_types, _layout, _simulate

__all__ = ["evaluate"]


def evaluate(
    problem: Problem,
    routes: Mapping[str, Sequence[str]],
    *,
    provider: MatrixProvider | None = None,
) -> Plan:
    """Compute the schedule of fixed routes.

    Parameters
    ----------
    problem
        The problem the stops and couriers come from.
    routes
        ``{courier_id: [stop_id, ...]}`` in visiting order. Stops of the problem
        that appear in no route are simply not visited (the caller decides what
        that means); ``Plan.unassigned`` is empty.
    provider
        Travel-matrix provider; default :class:`~routing.HaversineProvider`.

    Returns
    -------
    Plan
        ``method == "fixed"``; ``feasible`` is ``False`` when a route is late or
        over capacity.

    Raises
    ------
    InvalidProblemError
        Unknown courier or stop ids, or a stop given twice.
    """
    t0 = time.monotonic()
    _check_types(problem, None, provider, routes=(routes, Mapping))
    provider = provider or HaversineProvider()
    layout = _layout(problem)
    stop_index = {s.id: i for i, s in enumerate(problem.stops)}
    couriers = {c.id: i for i, c in enumerate(problem.couriers)}
    seen: set[str] = set()
    for cid, stop_ids in routes.items():
        if cid not in couriers:
            raise InvalidProblemError("routes", f"unknown courier {cid!r}")
        for sid in stop_ids:
            if sid not in stop_index:
                raise InvalidProblemError(f"routes.{cid}", f"unknown stop {sid!r}")
            if sid in seen:
                raise InvalidProblemError(f"routes.{cid}", f"stop {sid!r} appears twice")
            seen.add(sid)
    t_mat = time.monotonic()
    matrices = {}
    out = []
    for cid, stop_ids in routes.items():
        if not stop_ids:
            continue
        ci = couriers[cid]
        courier = problem.couriers[ci]
        if courier.speed not in matrices:
            matrices[courier.speed] = provider.matrix(layout.points, courier.speed)
        stops = [(problem.stops[stop_index[s]], layout.stop_loc[stop_index[s]])
                 for s in stop_ids]
        route = _simulate(courier, layout.courier_start[ci], stops, matrices[courier.speed])
        out.append(route)
    matrix_s = time.monotonic() - t_mat
    over = any(r.parcels > problem.couriers[couriers[r.courier_id]].capacity.parcels
               or r.weight_g > problem.couriers[couriers[r.courier_id]].capacity.weight_g
               for r in out)
    return Plan(
        routes=tuple(out),
        unassigned=(),
        distance_m=sum(r.distance_m for r in out),
        travel_s=sum(r.travel_s for r in out),
        feasible=not over and all(r.lateness_s == 0 for r in out),
        method="fixed",
        runtime_s=time.monotonic() - t0,
        matrix_s=matrix_s,
    )
