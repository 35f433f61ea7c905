"""Shared fixtures for routing tests (no Flask app, no database)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import routing.solver
from routing import (
    Capacity,
    CoreInstance,
    Courier,
    Demand,
    LatLon,
    Office,
    Problem,
    SolverParams,
    Stop,
    TimeWindow,
)

DATA = Path(__file__).parent / "data"
OFFICE = Office(LatLon(12.2450, 109.1940))
H = 3600

#: Short budgets keep the whole routing suite well under 90 s on 2 cores.
FAST = SolverParams(time_limit_s=0.2, seed=1, workers=1)
#: A few stops, one or two couriers: PyVRP finds the optimum well within this budget.
SMALL = SolverParams(time_limit_s=0.3, seed=3, workers=1)


def stop_near_office(sid: str, dlat: float, dlon: float, **kw: Any) -> Stop:
    """A stop ``dlat``/``dlon`` degrees from the office, 60 s of service."""
    loc = LatLon(OFFICE.location.lat + dlat, OFFICE.location.lon + dlon)
    return Stop(sid, loc, service_s=60, **kw)


def load_json(name: str) -> Any:
    """Load ``tests/routing/data/<name>.json``."""
    return json.loads((DATA / f"{name}.json").read_text())


def random_stops(
    n: int, seed: int = 0, tw_frac: float = 0.0, spread: float = 0.02
) -> tuple[Stop, ...]:
    """``n`` stops around the Nha Trang office."""
    rng = np.random.default_rng(seed)
    stops = []
    for i in range(n):
        w = None
        if rng.random() < tw_frac:
            o = int(rng.integers(8, 14)) * H
            w = TimeWindow(o, o + 2 * H)
        stops.append(
            Stop(
                f"s{i}",
                LatLon(
                    12.2450 + float(rng.uniform(-spread, spread)),
                    109.1940 + float(rng.uniform(-spread, spread)),
                ),
                service_s=60,
                window=w,
                demand=Demand(1, int(rng.integers(100, 2000))),
            )
        )
    return tuple(stops)


def captured_instance(monkeypatch: pytest.MonkeyPatch, problem: Problem,
                      params: SolverParams = FAST) -> CoreInstance:
    """The core instance ``solve`` hands the search for ``problem``."""
    seen: list[CoreInstance] = []
    real = routing.solver.solve_core

    def spy(inst: CoreInstance, **kw: Any) -> Any:
        seen.append(inst)
        return real(inst, **kw)

    monkeypatch.setattr(routing.solver, "solve_core", spy)
    routing.solver.solve(problem, params)
    monkeypatch.undo()
    return seen[0]


def courier(cid: str = "c1", **kw: Any) -> Courier:
    """A courier with an 08:00-18:00 shift unless overridden."""
    kw.setdefault("shift", TimeWindow(8 * H, 18 * H))
    kw.setdefault("capacity", Capacity(100, 200_000))
    return Courier(cid, **kw)


@pytest.fixture(scope="session", autouse=True)
def _pyvrp_imported() -> None:
    """Import PyVRP before any timed solve: a solve's budget counts the import
    (0.1-0.5 s, more under CI load), which left a 0.3 s solve with PyVRP's
    first solution and made optimality checks fail."""
    import pyvrp  # noqa: F401


@pytest.fixture
def models_built(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The PyVRP models the solve builds, in order: ``all_required`` of each
    :func:`routing.core._build_data` call (each model holds a copy of every matrix)."""
    import routing.core

    built: list[bool] = []
    real = routing.core._build_data

    def counting(inst: Any, all_required: bool = False) -> object:
        built.append(all_required)
        return real(inst, all_required)

    monkeypatch.setattr(routing.core, "_build_data", counting)
    return built


@pytest.fixture
def small_problem() -> Problem:
    return Problem(OFFICE, random_stops(12, seed=3), (courier(),))
