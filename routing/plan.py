"""Solver output: routes with ETAs and unassigned stops with reasons."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["CourierRoute", "OfficeVisit", "Plan", "Unassigned", "UnassignedReason", "Visit"]


class UnassignedReason(StrEnum):
    """Why a stop is not in any route (value = stable machine-readable code)."""

    #: The stop's window closes before the earliest (eligible) shift starts.
    WINDOW_BEFORE_SHIFTS = "window_before_shifts"
    #: The stop's window opens after every (eligible) shift has ended.
    WINDOW_AFTER_SHIFTS = "window_after_shifts"
    #: The stop's demand alone exceeds every (eligible) courier's capacity.
    DEMAND_EXCEEDS_CAPACITY = "demand_exceeds_capacity"
    #: Some (eligible) courier could carry it, and some could serve it in time, but
    #: none can do both: its window (or the way there) fits only the shifts of
    #: couriers too small for it.
    DEMAND_EXCEEDS_CAPACITY_IN_TIME = "demand_exceeds_capacity_in_time"
    #: Even going there directly, no (eligible) courier can serve it within
    #: the stop's window and still finish the shift in time.
    NOT_REACHABLE = "not_reachable"
    #: Feasible alone, but every eligible courier's remaining capacity is used.
    NO_CAPACITY_LEFT = "no_capacity_left"
    #: Feasible alone, but no eligible courier has time left for it.
    NO_TIME_LEFT = "no_time_left"

    @property
    def message(self) -> str:
        """English explanation for humans."""
        return _MESSAGES[self]


_MESSAGES = {
    UnassignedReason.WINDOW_BEFORE_SHIFTS: "time window closes before any shift starts",
    UnassignedReason.WINDOW_AFTER_SHIFTS: "time window opens after every shift ends",
    UnassignedReason.DEMAND_EXCEEDS_CAPACITY: "demand exceeds every courier's capacity",
    UnassignedReason.DEMAND_EXCEEDS_CAPACITY_IN_TIME: (
        "demand exceeds the capacity of every courier who can serve it in time"),
    UnassignedReason.NOT_REACHABLE: "not reachable within shift",
    UnassignedReason.NO_CAPACITY_LEFT: "no capacity left",
    UnassignedReason.NO_TIME_LEFT: "no time left in any shift",
}


@dataclass(frozen=True, slots=True)
class Visit:
    """One stop in a route.

    Attributes
    ----------
    stop_id
        The stop.
    arrival_s
        Arrival time (seconds since day start).
    start_s
        Service start = ``max(arrival_s, window.open_s)``; this is the ETA to
        show customers.
    departure_s
        ``start_s + service_s``.
    wait_s
        ``start_s - arrival_s``.
    lateness_s
        ``max(0, start_s - window.close_s)``; 0 in every feasible plan.
    travel_distance_m, travel_duration_s
        Leg from the previous point (start or previous stop).
    load_parcels, load_weight_g
        On board when leaving this stop.
    """

    stop_id: str
    arrival_s: int
    start_s: int
    departure_s: int
    wait_s: int
    lateness_s: int
    travel_distance_m: int
    travel_duration_s: int
    load_parcels: int
    load_weight_g: int


@dataclass(frozen=True, slots=True)
class OfficeVisit:
    """A pass by the office in the middle of a route, to load parcels that are still
    there (a courier on the road re-optimised with stops whose parcels are at the
    office: :func:`routing.reoptimize`'s ``at_office``).

    Attributes
    ----------
    before
        Index in ``CourierRoute.visits`` of the first visit after the office (0: the
        courier goes to the office first).
    arrival_s
        Arrival at the office.
    departure_s
        ``arrival_s`` plus the time to load (``Office.load_time_s`` of the parcels
        loaded there).
    travel_distance_m, travel_duration_s
        Leg from the previous point (start or previous stop) to the office; the visit at
        ``before`` travels from the office.
    """

    before: int
    arrival_s: int
    departure_s: int
    travel_distance_m: int
    travel_duration_s: int


@dataclass(frozen=True, slots=True)
class CourierRoute:
    """A courier's route.

    Attributes
    ----------
    courier_id
        The courier.
    visits
        Stops in order.
    start_s
        Departure from the start position.
    end_s
        Arrival back at the office, or last departure for open routes.
    distance_m
        Total travel distance (incl. the return leg if any).
    duration_s
        ``end_s - start_s`` (travel + service + waiting).
    travel_s
        Travel time only.
    parcels, weight_g
        Total load delivered (= loaded at the start, or at the start and at the
        ``office_visit``).
    lateness_s
        Sum of visit lateness plus overrun of the shift end; 0 when feasible.
    returns_to_office
        Closed (``True``) or open route.
    office_visit
        A pass by the office to load parcels on the way (``None``: every parcel was
        on board at the start).
    """

    courier_id: str
    visits: tuple[Visit, ...]
    start_s: int
    end_s: int
    distance_m: int
    duration_s: int
    travel_s: int
    parcels: int
    weight_g: int
    lateness_s: int
    returns_to_office: bool
    office_visit: OfficeVisit | None = None

    @property
    def stop_ids(self) -> tuple[str, ...]:
        """Stop ids in visiting order."""
        return tuple(v.stop_id for v in self.visits)


@dataclass(frozen=True, slots=True)
class Unassigned:
    """A stop left out of the plan.

    Attributes
    ----------
    stop_id
        The stop.
    reason
        Machine-readable reason.
    message
        Human-readable reason.
    """

    stop_id: str
    reason: UnassignedReason
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    """A solved day plan (or single route).

    Attributes
    ----------
    routes
        One route per courier that has stops (couriers without stops are left
        out).
    unassigned
        Stops not planned, with reasons.
    distance_m
        Total distance of all routes.
    travel_s
        Total travel time of all routes.
    feasible
        ``True`` when every route has zero lateness (always, unless the
        solver ran out of time before finding a feasible schedule and the
        repair step could not fix it).
    method
        ``"fast-tsp"``, ``"exact"``, ``"tsptw-ils"``, ``"pyvrp"``, ``"greedy"`` or ``"empty"``.
    runtime_s
        Wall-clock time of :func:`routing.solve` (matrix + solve).
    matrix_s
        Part of ``runtime_s`` spent building travel matrices.
    """

    routes: tuple[CourierRoute, ...]
    unassigned: tuple[Unassigned, ...]
    distance_m: int
    travel_s: int
    feasible: bool
    method: str
    runtime_s: float
    matrix_s: float

    def route_of(self, courier_id: str) -> CourierRoute | None:
        """The route of ``courier_id``, or ``None`` if it has no stops."""
        for r in self.routes:
            if r.courier_id == courier_id:
                return r
        return None

    def couriers_of_stops(self) -> dict[str, str]:
        """Who serves each planned stop: stop id -> courier id, in route order."""
        return {v.stop_id: r.courier_id for r in self.routes for v in r.visits}
