"""Route planning for last-mile delivery (stand-alone: no Flask, no database).

Quick start::

    from routing import (Courier, LatLon, Office, Problem, SolverParams, Stop,
                         TimeWindow, solve)

    office = Office(LatLon(12.2450, 109.1940))
    problem = Problem(
        office=office,
        stops=(Stop("s1", LatLon(12.25, 109.19)),
               Stop("s2", LatLon(12.24, 109.20), window=TimeWindow(9 * 3600, 11 * 3600))),
        couriers=(Courier("c1", shift=TimeWindow(8 * 3600, 17 * 3600)),),
    )
    plan = solve(problem, SolverParams(time_limit_s=1.0, seed=0))
    for route in plan.routes:
        print(route.courier_id, [(v.stop_id, v.start_s) for v in route.visits])
    print(plan.unassigned)

See ``docs/routing.md`` for the design and benchmark figures.
"""

from routing.core import (
    CoreClient,
    CoreInstance,
    CoreResult,
    CoreRoute,
    CoreVehicleType,
    ProgressCallback,
    solve_core,
    warm_up,
)
from routing.errors import (
    InfeasibleProblemError,
    InvalidProblemError,
    MatrixProviderError,
    ProblemTooLargeError,
    RoutingError,
)
from routing.matrix import (
    GeodesicProvider,
    HaversineProvider,
    MatrixProvider,
    OsrmTableProvider,
    TravelMatrix,
    haversine_m,
)
from routing.model import (
    MAX_COURIERS,
    MAX_MOVE_COST_M,
    MAX_OFFICE_LOAD_PER_PARCEL_S,
    MAX_OFFICE_LOAD_S,
    MAX_STOPS,
    MAX_TIME_S,
    MOTORBIKE_CITY,
    OFFICE_LOAD_PER_PARCEL_S,
    OFFICE_LOAD_S,
    Capacity,
    Courier,
    Demand,
    LatLon,
    Office,
    Problem,
    SolverParams,
    SpeedProfile,
    Stop,
    TimeWindow,
)
from routing.plan import CourierRoute, OfficeVisit, Plan, Unassigned, UnassignedReason, Visit
from routing.solver import AT_OFFICE_M, reoptimize, solve

__all__ = [
    "AT_OFFICE_M",
    "MAX_COURIERS",
    "MAX_MOVE_COST_M",
    "MAX_OFFICE_LOAD_PER_PARCEL_S",
    "MAX_OFFICE_LOAD_S",
    "MAX_STOPS",
    "MAX_TIME_S",
    "MOTORBIKE_CITY",
    "OFFICE_LOAD_PER_PARCEL_S",
    "OFFICE_LOAD_S",
    "Capacity",
    "CoreClient",
    "CoreInstance",
    "CoreResult",
    "CoreRoute",
    "CoreVehicleType",
    "Courier",
    "CourierRoute",
    "Demand",
    "GeodesicProvider",
    "HaversineProvider",
    "InfeasibleProblemError",
    "InvalidProblemError",
    "LatLon",
    "MatrixProvider",
    "MatrixProviderError",
    "Office",
    "OfficeVisit",
    "OsrmTableProvider",
    "Plan",
    "Problem",
    "ProblemTooLargeError",
    "ProgressCallback",
    "RoutingError",
    "SolverParams",
    "SpeedProfile",
    "Stop",
    "TimeWindow",
    "TravelMatrix",
    "Unassigned",
    "UnassignedReason",
    "Visit",
    "haversine_m",
    "reoptimize",
    "solve",
    "solve_core",
    "warm_up",
]
