"""Problem model: offices, stops, couriers and solver parameters.

All classes are frozen dataclasses validated in ``__post_init__``. Invalid
values raise :class:`routing.InvalidProblemError` whose message starts with the
path of the offending field (``"stops[3].window: open_s 36000 > close_s
32400"`` when built through :meth:`Problem.from_dict`; the path is relative to
the object when the dataclasses are built directly).

Units
-----
* Coordinates: WGS84 degrees.
* Times: integer seconds since the start of the (local) day, ``0 ..
  MAX_TIME_S``. Durations: integer seconds.
* Distances: integer metres.
* Demand / capacity: parcels (count) and weight (grams).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, TypeVar

from routing.errors import InvalidProblemError, ProblemTooLargeError

__all__ = [
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
    "Courier",
    "Demand",
    "LatLon",
    "Office",
    "Problem",
    "SolverParams",
    "SpeedProfile",
    "Stop",
    "TimeWindow",
]

#: Maximum number of stops in one problem (PyVRP handles more, but the
#: request/response sizes and 2000 x 2000 matrices are the design point).
MAX_STOPS = 2000
#: Maximum number of couriers in one problem.
MAX_COURIERS = 100
#: Largest accepted time value: two days in seconds (a shift may run past
#: midnight, but not by more than a day).
MAX_TIME_S = 2 * 86_400
#: Time to load parcels at the office on a pass in the middle of a route
#: (:class:`~routing.OfficeVisit`), whatever their number (parking, finding the
#: courier's shelf, signing out): the default of ``Office.load_s``.
OFFICE_LOAD_S = 300
#: Time to load each parcel on such a pass (scanning it out, strapping it on): the
#: default of ``Office.load_per_parcel_s``. With :data:`OFFICE_LOAD_S`, a top-up of 20
#: parcels (a third of the default 60-parcel motorbike) takes the 10 minutes that
#: every load took before the time depended on the parcels.
OFFICE_LOAD_PER_PARCEL_S = 15
#: Longest accepted ``Office.load_s``: four hours.
MAX_OFFICE_LOAD_S = 4 * 3600
#: Longest accepted ``Office.load_per_parcel_s``: ten minutes.
MAX_OFFICE_LOAD_PER_PARCEL_S = 600
#: The load time of an office stored without ``load_per_parcel_s`` (a problem written
#: before the time depended on the parcels): :meth:`Problem.from_dict`'s ``load_s``
#: then, whatever the number of parcels, as it was.
_FIXED_LOAD_S = 600
#: Highest accepted stop priority.
MAX_PRIORITY = 3
#: Largest accepted move cost (metres of distance-equivalent): 50 km, above any
#: detour in a delivery office's area, so "move only what must move" is expressible.
#: Not more: PyVRP charges at most 100 000 per parcel over capacity or second late
#: (``PenaltyParams.max_penalty``), and a move cost near that made its search keep a
#: stop on its overloaded courier rather than find a plan that moves it.
MAX_MOVE_COST_M = 50_000
_MAX_ID_LEN = 200
#: Slowest accepted speed profile (km/h). Any positive speed used to pass: a tiny one
#: made every travel time overflow int64 into negative arrival times.
MIN_SPEED_KMH = 1.0

T = TypeVar("T")


def _finite(path: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidProblemError(path, f"must be a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int beyond the float range (math.isfinite raises too)
        raise InvalidProblemError(path, "must be finite, got an integer too large for "
                                        "a float") from None
    if not math.isfinite(number):
        raise InvalidProblemError(path, f"must be finite, got {value!r}")
    return number


def _int(path: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidProblemError(path, f"must be an integer, got {type(value).__name__}")
    if not lo <= value <= hi:
        raise InvalidProblemError(path, f"must be in [{lo}, {hi}], got {value}")
    return value


def _ident(path: str, value: object) -> str:
    if not isinstance(value, str):
        raise InvalidProblemError(path, f"must be a string, got {type(value).__name__}")
    if not value or len(value) > _MAX_ID_LEN:
        raise InvalidProblemError(path, f"must be 1..{_MAX_ID_LEN} characters long")
    return value


@dataclass(frozen=True, slots=True)
class LatLon:
    """A WGS84 position.

    Parameters
    ----------
    lat
        Latitude in degrees, ``-90 <= lat <= 90``.
    lon
        Longitude in degrees, ``-180 <= lon <= 180``.
    """

    lat: float
    lon: float

    def __post_init__(self) -> None:
        lat = _finite("lat", self.lat)
        lon = _finite("lon", self.lon)
        if not -90.0 <= lat <= 90.0:
            raise InvalidProblemError("lat", f"must be in [-90, 90], got {lat}")
        if not -180.0 <= lon <= 180.0:
            raise InvalidProblemError("lon", f"must be in [-180, 180], got {lon}")


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """A closed interval of seconds since the start of the day.

    Parameters
    ----------
    open_s
        Earliest time (inclusive), ``0 <= open_s <= close_s``.
    close_s
        Latest time (inclusive), at most :data:`MAX_TIME_S`.
    """

    open_s: int
    close_s: int

    def __post_init__(self) -> None:
        _int("open_s", self.open_s, 0, MAX_TIME_S)
        _int("close_s", self.close_s, 0, MAX_TIME_S)
        if self.open_s > self.close_s:
            raise InvalidProblemError(
                "", f"open_s {self.open_s} is later than close_s {self.close_s}"
            )


@dataclass(frozen=True, slots=True)
class Demand:
    """What a stop takes out of a courier's capacity.

    Parameters
    ----------
    parcels
        Number of parcels, ``>= 0``.
    weight_g
        Total weight in grams, ``>= 0``.
    """

    parcels: int = 1
    weight_g: int = 0

    def __post_init__(self) -> None:
        _int("parcels", self.parcels, 0, 10**6)
        _int("weight_g", self.weight_g, 0, 10**9)


@dataclass(frozen=True, slots=True)
class Capacity:
    """A courier's carrying capacity.

    Parameters
    ----------
    parcels
        Maximum number of parcels, ``>= 0``.
    weight_g
        Maximum load in grams, ``>= 0``.
    """

    parcels: int = 60
    weight_g: int = 80_000

    def __post_init__(self) -> None:
        _int("parcels", self.parcels, 0, 10**7)
        _int("weight_g", self.weight_g, 0, 10**10)


@dataclass(frozen=True, slots=True)
class SpeedProfile:
    """How fast a courier moves, for crow-flies (haversine) matrices.

    Travel distance = great-circle distance x ``circuity``; travel time =
    travel distance / ``speed_kmh``. Matrix providers that return real road
    durations (OSRM) ignore both.

    Parameters
    ----------
    name
        Label, e.g. ``"motorbike_city"``.
    speed_kmh
        Average door-to-door speed in km/h, ``1 <= speed_kmh <= 200`` (slower
        than walking is no courier's speed; a tiny positive speed made travel
        times overflow).
    circuity
        Road distance / great-circle distance, ``1 <= circuity <= 3``.
    """

    name: str = "motorbike_city"
    speed_kmh: float = 22.0
    circuity: float = 1.35

    def __post_init__(self) -> None:
        _ident("name", self.name)
        speed = _finite("speed_kmh", self.speed_kmh)
        if not MIN_SPEED_KMH <= speed <= 200.0:
            raise InvalidProblemError(
                "speed_kmh", f"must be in [{MIN_SPEED_KMH:g}, 200], got {speed}"
            )
        circ = _finite("circuity", self.circuity)
        if not 1.0 <= circ <= 3.0:
            raise InvalidProblemError("circuity", f"must be in [1, 3], got {circ}")


#: Default profile: a motorbike in Vietnamese city traffic. 22 km/h average
#: door-to-door speed and a circuity factor of 1.35 (road distance is ~35 %
#: longer than the great-circle distance in a dense street grid with one-way
#: streets); both are planning assumptions, calibrate them against GPS traces.
MOTORBIKE_CITY = SpeedProfile()


@dataclass(frozen=True, slots=True)
class Office:
    """The post office (depot) where parcels are loaded.

    Parameters
    ----------
    location
        Position of the office.
    id
        Identifier used in outputs.
    load_s
        Seconds a courier who comes back from the road spends there loading the
        parcels that wait for them (a pass by the office in the middle of a route,
        ``CourierRoute.office_visit``) whatever their number, 0 to
        :data:`MAX_OFFICE_LOAD_S`; default :data:`OFFICE_LOAD_S`, 5 minutes. A route
        that starts at the office starts loaded: its shift's start is when it leaves.
    load_per_parcel_s
        Seconds more for each parcel loaded on such a pass, 0 to
        :data:`MAX_OFFICE_LOAD_PER_PARCEL_S`; default :data:`OFFICE_LOAD_PER_PARCEL_S`,
        15 s. The pass takes :meth:`load_time_s` of the parcels the route delivers
        from the office (not those already on board).
    """

    location: LatLon
    id: str = "office"
    load_s: int = OFFICE_LOAD_S
    load_per_parcel_s: int = OFFICE_LOAD_PER_PARCEL_S

    def __post_init__(self) -> None:
        if not isinstance(self.location, LatLon):
            raise InvalidProblemError("location", "must be a LatLon")
        _ident("id", self.id)
        _int("load_s", self.load_s, 0, MAX_OFFICE_LOAD_S)
        _int("load_per_parcel_s", self.load_per_parcel_s, 0, MAX_OFFICE_LOAD_PER_PARCEL_S)

    def load_time_s(self, parcels: int) -> int:
        """Seconds to load ``parcels`` parcels on a pass by the office: ``load_s`` plus
        ``load_per_parcel_s`` each, at most :data:`MAX_TIME_S` (a day of a million
        parcels would otherwise time the route past any shift's representable end)."""
        return min(MAX_TIME_S, self.load_s + self.load_per_parcel_s * parcels)


@dataclass(frozen=True, slots=True)
class Stop:
    """A delivery stop.

    Parameters
    ----------
    id
        Unique stop identifier.
    location
        Where the courier must go.
    service_s
        Time spent at the stop (parking, handing over), seconds.
    window
        Optional time window for the *start* of service.
    demand
        Parcels and weight delivered at this stop.
    priority
        0 = normal, 1 = high (10x costlier to leave unassigned), up to
        :data:`MAX_PRIORITY`.
    courier_id
        If set, only this courier may serve the stop (a pin: hard).
    preferred_courier
        If set, the courier who should keep the stop (soft): serving it with any
        other courier costs ``move_cost_m`` more. Ignored on a pinned stop.
    move_cost_m
        The stop's own move cost (metres of distance-equivalent, ``0 ..``
        :data:`MAX_MOVE_COST_M`); ``None``: the problem's ``move_cost_m``.
    committed
        ``True`` for a stop already promised: given to a courier by an earlier plan,
        by hand, or in a courier's bag. When not every stop can be served, the solver
        leaves out new stops before committed ones: a committed stop's prize (the
        cost of leaving it out) is 1.5x a new stop's of the same priority, so one
        committed stop beats one new stop, two new stops beat one committed stop
        (the plan still serves as many stops as it can), and a higher priority
        level (10x) beats the difference. Independent of ``courier_id`` and
        ``preferred_courier`` (a committed stop may still move, or be pinned).
    on_board
        ``True`` for a stop whose parcels are already on its courier's vehicle (out
        for delivery, in the bag): the courier is ``courier_id``, or the problem's
        only courier. Leaving it out frees no room, so it takes none: the search
        gives that courier's other stops the capacity less what is on board, and
        never leaves an on-board stop out for capacity (only for time). The routes
        report the true loads, on-board parcels included (a bag over the capacity
        is a route over capacity, ``route_issues``).
    """

    id: str
    location: LatLon
    service_s: int = 120
    window: TimeWindow | None = None
    demand: Demand = field(default_factory=Demand)
    priority: int = 0
    courier_id: str | None = None
    preferred_courier: str | None = None
    move_cost_m: int | None = None
    committed: bool = False
    on_board: bool = False

    def __post_init__(self) -> None:
        _ident("id", self.id)
        if not isinstance(self.location, LatLon):
            raise InvalidProblemError("location", "must be a LatLon")
        _int("service_s", self.service_s, 0, 86_400)
        if self.window is not None and not isinstance(self.window, TimeWindow):
            raise InvalidProblemError("window", "must be a TimeWindow or None")
        if not isinstance(self.demand, Demand):
            raise InvalidProblemError("demand", "must be a Demand")
        _int("priority", self.priority, 0, MAX_PRIORITY)
        if self.courier_id is not None:
            _ident("courier_id", self.courier_id)
        if self.preferred_courier is not None:
            _ident("preferred_courier", self.preferred_courier)
        if self.move_cost_m is not None:
            _int("move_cost_m", self.move_cost_m, 0, MAX_MOVE_COST_M)
        if not isinstance(self.committed, bool):
            raise InvalidProblemError("committed", "must be a boolean")
        if not isinstance(self.on_board, bool):
            raise InvalidProblemError("on_board", "must be a boolean")


@dataclass(frozen=True, slots=True)
class Courier:
    """A courier (vehicle) available for the day.

    Parameters
    ----------
    id
        Unique courier identifier.
    shift
        Working window: the route starts at or after ``shift.open_s`` and must
        end (arrival at the office, or the last stop's departure for open
        routes) by ``shift.close_s``.
    capacity
        Parcel and weight capacity.
    start
        Current GPS position; ``None`` means the route starts at the office.
    return_to_office
        ``True`` for a closed route back to the office, ``False`` for an open
        route ending at the last stop.
    speed
        Speed profile used by crow-flies matrix providers.
    bag_only
        With a ``start``: ``True`` for a courier out on the road who carries only the
        parcels of their on-board stops (``Stop.on_board``); every other stop's parcels
        are at the office, and the route passes by it to load them before the first
        of them (``CourierRoute.office_visit``), unless the courier stands within
        ``routing.AT_OFFICE_M`` of it. ``False`` (default): the courier carries
        whatever the route delivers from the start.
    """

    id: str
    shift: TimeWindow
    capacity: Capacity = field(default_factory=Capacity)
    start: LatLon | None = None
    return_to_office: bool = True
    speed: SpeedProfile = MOTORBIKE_CITY
    bag_only: bool = False

    def __post_init__(self) -> None:
        _ident("id", self.id)
        if not isinstance(self.shift, TimeWindow):
            raise InvalidProblemError("shift", "must be a TimeWindow")
        if not isinstance(self.capacity, Capacity):
            raise InvalidProblemError("capacity", "must be a Capacity")
        if self.start is not None and not isinstance(self.start, LatLon):
            raise InvalidProblemError("start", "must be a LatLon or None")
        if not isinstance(self.return_to_office, bool):
            raise InvalidProblemError("return_to_office", "must be a boolean")
        if not isinstance(self.speed, SpeedProfile):
            raise InvalidProblemError("speed", "must be a SpeedProfile")
        if not isinstance(self.bag_only, bool):
            raise InvalidProblemError("bag_only", "must be a boolean")


def _sub(prefix: str, build: Callable[[], T]) -> T:
    try:
        return build()
    except InvalidProblemError as exc:
        raise exc.prefixed(prefix) from None
    except TypeError as exc:  # missing / unexpected keyword
        raise InvalidProblemError(prefix, str(exc)) from None


def _mapping(path: str, value: object) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidProblemError(path, "must be an object")
    return value


def _latlon(path: str, value: object) -> LatLon:
    m = _mapping(path, value)
    return _sub(path, lambda: LatLon(**m))


def _window(path: str, value: object) -> TimeWindow | None:
    if value is None:
        return None
    m = _mapping(path, value)
    return _sub(path, lambda: TimeWindow(**m))


@dataclass(frozen=True, slots=True)
class Problem:
    """A routing problem: one office, stops and couriers.

    A single-courier route is a problem with one courier; an open route is a
    courier with ``return_to_office=False``.

    Parameters
    ----------
    office
        The depot.
    stops
        Stops to serve (at most :data:`MAX_STOPS`), unique ids.
    couriers
        Available couriers (at most :data:`MAX_COURIERS`), unique ids. An empty
        tuple is valid here; :func:`routing.solve` raises
        :class:`routing.InfeasibleProblemError` for it.
    move_cost_m
        What serving a stop with another courier than its ``preferred_courier``
        costs, in metres of distance-equivalent added to the objective (not to
        the routes' distances), ``0 ..`` :data:`MAX_MOVE_COST_M`; a stop's own
        ``move_cost_m`` overrides it. 0 (default): preferences change nothing.

    Raises
    ------
    InvalidProblemError
        On duplicate ids or a stop pinned to (or preferring) an unknown courier.
    ProblemTooLargeError
        When a size limit is exceeded.
    """

    office: Office
    stops: tuple[Stop, ...]
    couriers: tuple[Courier, ...]
    move_cost_m: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.office, Office):
            raise InvalidProblemError("office", "must be an Office")
        _int("move_cost_m", self.move_cost_m, 0, MAX_MOVE_COST_M)
        object.__setattr__(self, "stops", tuple(self.stops))
        object.__setattr__(self, "couriers", tuple(self.couriers))
        if len(self.stops) > MAX_STOPS:
            raise ProblemTooLargeError(
                "stops", f"{len(self.stops)} stops exceed the limit of {MAX_STOPS}"
            )
        if len(self.couriers) > MAX_COURIERS:
            raise ProblemTooLargeError(
                "couriers", f"{len(self.couriers)} couriers exceed the limit of {MAX_COURIERS}"
            )
        seen: set[str] = set()
        for i, stop in enumerate(self.stops):
            if not isinstance(stop, Stop):
                raise InvalidProblemError(f"stops[{i}]", "must be a Stop")
            if stop.id in seen:
                raise InvalidProblemError(f"stops[{i}].id", f"duplicate stop id {stop.id!r}")
            seen.add(stop.id)
        cids: set[str] = set()
        for i, courier in enumerate(self.couriers):
            if not isinstance(courier, Courier):
                raise InvalidProblemError(f"couriers[{i}]", "must be a Courier")
            if courier.id in cids:
                raise InvalidProblemError(
                    f"couriers[{i}].id", f"duplicate courier id {courier.id!r}"
                )
            cids.add(courier.id)
        for i, stop in enumerate(self.stops):
            if stop.courier_id is not None and stop.courier_id not in cids:
                raise InvalidProblemError(
                    f"stops[{i}].courier_id", f"unknown courier {stop.courier_id!r}"
                )
            if stop.preferred_courier is not None and stop.preferred_courier not in cids:
                raise InvalidProblemError(
                    f"stops[{i}].preferred_courier",
                    f"unknown courier {stop.preferred_courier!r}",
                )
            if stop.on_board and stop.courier_id is None and len(cids) != 1:
                raise InvalidProblemError(
                    f"stops[{i}].on_board",
                    "needs courier_id (whose vehicle it is on) when there is not one courier",
                )

    def move_cost_of(self, stop: Stop) -> int:
        """What serving ``stop`` with another courier than its preferred one costs
        (metres): 0 for a stop without a preference or pinned to a courier (the pin
        decides), else its own ``move_cost_m`` or the problem's."""
        if stop.preferred_courier is None or stop.courier_id is not None:
            return 0
        return self.move_cost_m if stop.move_cost_m is None else stop.move_cost_m

    def stop(self, stop_id: str) -> Stop:
        """Return the stop with id ``stop_id``.

        Raises
        ------
        KeyError
            If there is no such stop.
        """
        for s in self.stops:
            if s.id == stop_id:
                return s
        raise KeyError(stop_id)

    def courier(self, courier_id: str) -> Courier:
        """Return the courier with id ``courier_id``.

        Raises
        ------
        KeyError
            If there is no such courier.
        """
        for c in self.couriers:
            if c.id == courier_id:
                return c
        raise KeyError(courier_id)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """Build a problem from JSON-like data, reporting full field paths.

        The shape mirrors the dataclasses::

            {"office": {"location": {"lat": .., "lon": ..}, "id": "office",
                        "load_s": 300, "load_per_parcel_s": 15},
             "stops": [{"id": "s1", "location": {...}, "service_s": 120,
                        "window": {"open_s": .., "close_s": ..} | null,
                        "demand": {"parcels": 1, "weight_g": 500},
                        "priority": 0, "courier_id": null,
                        "preferred_courier": null, "move_cost_m": null,
                        "committed": false, "on_board": false}, ...],
             "couriers": [{"id": "c1", "shift": {...},
                           "capacity": {"parcels": 60, "weight_g": 80000},
                           "start": {...} | null, "return_to_office": true,
                           "bag_only": false,
                           "speed": {"speed_kmh": 22, "circuity": 1.35}}, ...],
             "move_cost_m": 0}

        Other top-level keys are ignored (a caller may store its own there). An
        office without ``load_per_parcel_s`` is one stored before the load time
        depended on the parcels: it loads in a fixed ``load_s`` (default 600, the
        fixed time of then), ``load_per_parcel_s`` 0.

        Parameters
        ----------
        data
            Decoded JSON object.

        Returns
        -------
        Problem
            The validated problem.

        Raises
        ------
        InvalidProblemError
            With a path such as ``"stops[3].window"``.
        """
        root = _mapping("", data)
        office_d = dict(_mapping("office", root.get("office")))
        office_d["location"] = _latlon("office.location", office_d.get("location"))
        if "load_per_parcel_s" not in office_d:
            # stored before the load time depended on the parcels: fixed, as it was
            office_d["load_per_parcel_s"] = 0
            office_d.setdefault("load_s", _FIXED_LOAD_S)
        office = _sub("office", lambda: Office(**office_d))

        stops_raw = root.get("stops", [])
        if not isinstance(stops_raw, Sequence) or isinstance(stops_raw, str):
            raise InvalidProblemError("stops", "must be a list")
        if len(stops_raw) > MAX_STOPS:
            raise ProblemTooLargeError(
                "stops", f"{len(stops_raw)} stops exceed the limit of {MAX_STOPS}"
            )
        stops: list[Stop] = []
        for i, raw in enumerate(stops_raw):
            p = f"stops[{i}]"
            d = dict(_mapping(p, raw))
            d["location"] = _latlon(f"{p}.location", d.get("location"))
            d["window"] = _window(f"{p}.window", d.get("window"))
            if "demand" in d:
                dm = _mapping(f"{p}.demand", d["demand"])
                d["demand"] = _sub(f"{p}.demand", partial(Demand, **dm))
            stops.append(_sub(p, partial(Stop, **d)))

        couriers_raw = root.get("couriers", [])
        if not isinstance(couriers_raw, Sequence) or isinstance(couriers_raw, str):
            raise InvalidProblemError("couriers", "must be a list")
        if len(couriers_raw) > MAX_COURIERS:
            raise ProblemTooLargeError(
                "couriers",
                f"{len(couriers_raw)} couriers exceed the limit of {MAX_COURIERS}",
            )
        couriers: list[Courier] = []
        for i, raw in enumerate(couriers_raw):
            p = f"couriers[{i}]"
            d = dict(_mapping(p, raw))
            shift = _window(f"{p}.shift", d.get("shift"))
            if shift is None:
                raise InvalidProblemError(f"{p}.shift", "is required")
            d["shift"] = shift
            if d.get("start") is not None:
                d["start"] = _latlon(f"{p}.start", d["start"])
            if "capacity" in d:
                cm = _mapping(f"{p}.capacity", d["capacity"])
                d["capacity"] = _sub(f"{p}.capacity", partial(Capacity, **cm))
            if "speed" in d:
                sm = _mapping(f"{p}.speed", d["speed"])
                d["speed"] = _sub(f"{p}.speed", partial(SpeedProfile, **sm))
            couriers.append(_sub(p, partial(Courier, **d)))

        move_cost = root.get("move_cost_m", 0)
        return cls(office=office, stops=tuple(stops), couriers=tuple(couriers),
                   move_cost_m=move_cost)


Objective = Literal["duration", "distance"]


@dataclass(frozen=True, slots=True)
class SolverParams:
    """Parameters of :func:`routing.solve` and :func:`routing.reoptimize`.

    Parameters
    ----------
    time_limit_s
        Wall-clock budget of the search, ``0 < time_limit_s <= 3600``. The
        single-route fast path (fast-tsp) may return earlier once converged.
        PyVRP's first local search, from a random plan, cannot be interrupted:
        on a large day a budget shorter than it is exceeded by what it takes
        (``benchmarks/deadlines.py``: a 0.5-2 s solve of 1 000 stops returned
        after 0.8-2.1 s, of 2 000 stops after 2.6-3.3 s).
    seed
        Base random seed; worker ``k`` uses ``seed + k``. Same seed + same
        input + same worker count gives the same plan on the same machine for
        iteration-bounded runs (time-bounded runs depend on machine load).
    workers
        Number of independent searches run in parallel (processes), the best
        one wins. ``1..32``; default 2 (the size of the production VM).
    objective
        ``"distance"`` (default) minimises total travel distance (m), which
        with the default haversine provider is also total travel time.
        ``"duration"`` minimises total route duration as PyVRP counts it
        (travel + service + waiting, routes may start later than the shift
        start); useful with road-duration matrices. ETAs are always computed
        leaving at the shift start.
    use_tsp_fast_path
        Use the single-courier fast paths: fast-tsp without time windows or
        binding capacity (optimal or near-optimal in well under a second);
        the compiled time-window search (``routing.tsptw``) with windows
        (``objective="distance"``). ``False``: PyVRP only.
    """

    time_limit_s: float = 1.0
    seed: int = 0
    workers: int = 2
    objective: Objective = "distance"
    use_tsp_fast_path: bool = True

    def __post_init__(self) -> None:
        t = _finite("time_limit_s", self.time_limit_s)
        if not 0.0 < t <= 3600.0:
            raise InvalidProblemError("time_limit_s", f"must be in (0, 3600], got {t}")
        _int("seed", self.seed, 0, 2**31 - 1)
        _int("workers", self.workers, 1, 32)
        if self.objective not in ("duration", "distance"):
            raise InvalidProblemError(
                "objective", f"must be 'duration' or 'distance', got {self.objective!r}"
            )
        if not isinstance(self.use_tsp_fast_path, bool):
            raise InvalidProblemError("use_tsp_fast_path", "must be a boolean")
