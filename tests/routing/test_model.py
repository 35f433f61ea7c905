"""Validation of the problem model: bad arguments raise with a field path."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from routing import (
    MAX_COURIERS,
    MAX_STOPS,
    Capacity,
    Courier,
    Demand,
    InvalidProblemError,
    LatLon,
    Office,
    Problem,
    ProblemTooLargeError,
    SolverParams,
    SpeedProfile,
    Stop,
    TimeWindow,
)

from .conftest import DATA, OFFICE, courier, load_json

BAD_FILES = sorted(p.stem for p in DATA.glob("*.json") if p.stem != "ValidSmallDay")


def test_valid_file_loads() -> None:
    problem = Problem.from_dict(load_json("ValidSmallDay"))
    assert [s.id for s in problem.stops] == ["s1", "s2"]
    assert problem.stops[0].window == TimeWindow(32400, 39600)
    assert problem.couriers[0].capacity == Capacity(60, 80000)


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_file_reports_path(name: str) -> None:
    data = load_json(name)
    with pytest.raises(InvalidProblemError) as info:
        Problem.from_dict(data)
    assert isinstance(info.value, ValueError)
    assert info.value.path == data["_expect_path"], str(info.value)
    assert str(info.value).startswith(data["_expect_path"] + ":")


BAD_ARGS: list[tuple[str, Any, str]] = [
    ("lat>90", lambda: LatLon(90.5, 0), "lat"),
    ("lat<-90", lambda: LatLon(-91, 0), "lat"),
    ("lon>180", lambda: LatLon(0, 180.01), "lon"),
    ("lon nan", lambda: LatLon(0, math.nan), "lon"),
    ("lat inf", lambda: LatLon(math.inf, 0), "lat"),
    ("lat str", lambda: LatLon("12", 0), "lat"),
    ("lat bool", lambda: LatLon(True, 0), "lat"),
    ("window open>close", lambda: TimeWindow(10, 5), ""),
    ("window negative", lambda: TimeWindow(-1, 5), "open_s"),
    ("window float", lambda: TimeWindow(1.5, 5), "open_s"),
    ("window beyond 2 days", lambda: TimeWindow(0, 3 * 86400), "close_s"),
    ("demand negative parcels", lambda: Demand(-1, 0), "parcels"),
    ("demand negative weight", lambda: Demand(1, -5), "weight_g"),
    ("capacity negative", lambda: Capacity(-1, 0), "parcels"),
    ("speed zero", lambda: SpeedProfile(speed_kmh=0), "speed_kmh"),
    ("circuity < 1", lambda: SpeedProfile(circuity=0.9), "circuity"),
    ("stop empty id", lambda: Stop("", LatLon(0, 0)), "id"),
    ("stop negative service", lambda: Stop("a", LatLon(0, 0), service_s=-1), "service_s"),
    ("stop priority 9", lambda: Stop("a", LatLon(0, 0), priority=9), "priority"),
    ("stop location tuple", lambda: Stop("a", (0, 0)), "location"),
    ("courier shift missing type", lambda: Courier("c", shift=(0, 1)), "shift"),
    ("office location", lambda: Office((1, 2)), "location"),
    ("params time 0", lambda: SolverParams(time_limit_s=0), "time_limit_s"),
    ("params time nan", lambda: SolverParams(time_limit_s=math.nan), "time_limit_s"),
    ("params workers 0", lambda: SolverParams(workers=0), "workers"),
    ("params seed negative", lambda: SolverParams(seed=-1), "seed"),
    ("params objective", lambda: SolverParams(objective="fun"), "objective"),
    # integers too large for a float (a JSON number such as 1e400 written out in digits)
    # raised OverflowError from math.isfinite, not a validation error
    ("lat huge int", lambda: LatLon(10**400, 0), "lat"),
    ("speed huge int", lambda: SpeedProfile(speed_kmh=10**400), "speed_kmh"),
    ("circuity huge int", lambda: SpeedProfile(circuity=-(10**400)), "circuity"),
    ("params time huge int", lambda: SolverParams(time_limit_s=10**400), "time_limit_s"),
]


@pytest.mark.parametrize(("label", "build", "path"), BAD_ARGS, ids=[b[0] for b in BAD_ARGS])
def test_bad_arguments(label: str, build: Any, path: str) -> None:
    with pytest.raises(InvalidProblemError) as info:
        build()
    assert info.value.path == path


def test_duplicate_ids_and_unknown_pin_direct() -> None:
    s = Stop("a", LatLon(12.2, 109.2))
    with pytest.raises(InvalidProblemError, match=r"stops\[1\]\.id: duplicate"):
        Problem(OFFICE, (s, s), (courier(),))
    with pytest.raises(InvalidProblemError, match=r"couriers\[1\]\.id"):
        Problem(OFFICE, (s,), (courier(), courier()))
    pinned = Stop("b", LatLon(12.2, 109.2), courier_id="zz")
    with pytest.raises(InvalidProblemError, match=r"stops\[0\]\.courier_id"):
        Problem(OFFICE, (pinned,), (courier(),))


def test_size_limits() -> None:
    stops = tuple(Stop(f"s{i}", LatLon(12.2, 109.2)) for i in range(MAX_STOPS + 1))
    with pytest.raises(ProblemTooLargeError, match="stops"):
        Problem(OFFICE, stops, (courier(),))
    couriers = tuple(courier(f"c{i}") for i in range(MAX_COURIERS + 1))
    with pytest.raises(ProblemTooLargeError):
        Problem(OFFICE, (), couriers)
    # exactly at the limit is fine
    Problem(OFFICE, stops[:MAX_STOPS], couriers[:MAX_COURIERS])


def test_from_dict_too_many_stops_is_too_large() -> None:
    data = load_json("ValidSmallDay")
    data["stops"] = [
        {"id": f"s{i}", "location": {"lat": 12.2, "lon": 109.2}} for i in range(MAX_STOPS + 1)
    ]
    with pytest.raises(ProblemTooLargeError):
        Problem.from_dict(data)


def test_from_dict_unexpected_field() -> None:
    data = load_json("ValidSmallDay")
    data["stops"][1]["colour"] = "red"
    with pytest.raises(InvalidProblemError) as info:
        Problem.from_dict(data)
    assert info.value.path == "stops[1]"


def test_dataclasses_are_frozen() -> None:
    s = Stop("a", LatLon(1, 2))
    with pytest.raises(AttributeError):
        s.id = "b"  # type: ignore[misc]


def test_data_dir_exists() -> None:
    assert Path(DATA, "TimeWindowOpenLargerThanClose.json").exists()


def test_a_speed_too_low_to_time_any_leg_is_refused() -> None:
    # 1e-300 km/h passed "0 < speed": every travel time became inf, cast to int64 as
    # -2**63, and the solver returned routes with negative arrival times
    for slow in (1e-300, 1e-12, 0.5):
        with pytest.raises(InvalidProblemError) as info:
            SpeedProfile(speed_kmh=slow)
        assert info.value.path == "speed_kmh"
    SpeedProfile(speed_kmh=1.0)  # a walking pace and up are fine
