"""Compiled search for one route with time windows (TSPTW).

Used by :func:`routing.core.solve_core` for the single-vehicle case with time
windows (see docs/routing.md, "Single-route time-window day"):

* nodes ``0`` (start), ``1..n`` (clients), ``n + 1`` (end; for an open route
  its travel time and distance from every node are 0);
* the route leaves the start at the shift open, waits when early, and must
  start every service inside its window and reach the end by the shift close;
* a start is built by cheapest feasible insertion (windowed stops first, by
  closing time), optionally from a warm-start sequence, and descended with a
  local search on distance + penalty x time warp: Or-opt (segments of 1-3
  stops, both orientations), 2-opt, exchange, on nearest-neighbour candidate
  lists, first improvement with don't-look bits; feasibility of a move in
  O(length of the changed part) from forward departure times and backward
  latest feasible starts, the distance change in O(1) (also asymmetric);
* while no feasible route is known: iterated local search (random moves or
  ruin-and-recreate, then the descent; threshold acceptance);
* from the first feasible route: simulated annealing with string removals
  (SISR) on feasible routes only, each new best polished by the descent
  (``ILSParams.method = "ils"`` keeps the iterated local search instead).

If no feasible route is found the caller falls back to PyVRP.

Everything numeric is ``@numba.njit(cache=True)``. The first call in a process
compiles (several seconds) or loads the on-disk cache (``NUMBA_CACHE_DIR``,
default ``__pycache__`` next to this file); call :func:`warm_up` once per
process (``make install`` fills the cache).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "FleetVehicle",
    "ILSParams",
    "TsptwInstance",
    "TsptwResult",
    "cache_ready",
    "is_warm",
    "neighbour_lists",
    "route_schedule",
    "solve_exact",
    "solve_fleet_exact",
    "solve_tsptw",
    "warm_up",
]

I64 = npt.NDArray[np.int64]

#: Construction attempts: cheapest insertion with cost = added distance +
#: weight x delay of the next service start (metres per second).
CONSTRUCTION_TIME_WEIGHTS = (0, 0, 1, 3, 10, 30)

#: Target wall time of one compiled call (deadline and progress granularity).
CHUNK_SECONDS = 0.01

#: Iterations per compiled call when only an iteration count bounds the search.
FIXED_CHUNK = 50

#: Work of one compiled call of the descent from a start (:func:`_local_search`'s
#: ``max_work`` x the route's length: moves tried in full or made, each O(n) at the
#: most), ~10-50 ms. One of 2 000 stops missing windows took 10 s in one call.
DESCENT_WORK = 10_000_000

#: Stand-in for "no limit" (keeps every sum far from int64 overflow).
BIG_TIME = 1 << 50


@dataclass(frozen=True, slots=True)
class ILSParams:
    """Knobs of the search (defaults measured, docs/routing.md)."""

    #: "anneal": once a feasible route is known, simulated annealing with
    #: string removals (:func:`_anneal_chunk`); "ils": the iterated local
    #: search below all the way
    method: str = "anneal"
    #: annealing temperatures at the start and the end of the schedule, in
    #: units of the mean arc length of the first feasible route (cooling is
    #: geometric)
    anneal_start: float = 30.0
    anneal_end: float = 0.1
    #: a removal takes 1..strings_max strings of 1..string_max stops
    string_max: int = 10
    strings_max: int = 4
    #: recreate skips each insertion position with this probability (per mille)
    blink_permille: int = 10
    neighbours: int = 20
    max_segment: int = 3
    max_perturb_moves: int = 8
    history: int = 500
    #: upper bound on ILS iterations per compiled call
    iterations_per_chunk: int = 1000
    #: metres of distance per second of time warp
    penalty: int = 100
    #: perturbation moves may add at most this much time warp (seconds)
    perturb_max_warp: int = 0
    #: > 0: accept candidates within this fraction of the best cost, falling
    #: linearly to 0 at the deadline (else late acceptance with ``history``)
    threshold_start: float = 0.02
    #: give up (return ``None``) when no feasible route is known after this
    #: share of the time budget, leaving the rest to the fallback
    give_up_share: float = 0.3
    #: local search from every stop after each perturbation (else only from
    #: the stops next to changed arcs)
    full_ls: bool = False
    #: perturbation may also swap two consecutive blocks of up to this many
    #: stops (0: off)
    perturb_block: int = 0
    #: percentage of iterations that ruin and recreate instead: remove a stop
    #: and up to ``ruin_max - 1`` of its neighbours, reinsert them one by one
    #: at the cheapest feasible position
    ruin_share: int = 30
    ruin_max: int = 21
    #: construction order: "windows-first" or "random"
    start_order: str = "windows-first"
    #: after this many iterations without a new best, restart the search from
    #: the best route reversed (closed routes; 0: never)
    reverse_kick: int = 600


@dataclass(frozen=True, slots=True, eq=False)
class TsptwInstance:
    """One route: ``n`` clients plus a start (node 0) and an end (node n+1).

    ``dist`` / ``dur`` are ``(n+2, n+2)``; for an open route column ``n+1`` is
    0. ``early`` / ``late`` are service-start windows (node 0: shift open and
    close; node n+1: arrival by the shift close); ``service`` in seconds.
    """

    dist: I64
    dur: I64
    early: I64
    late: I64
    service: I64

    @property
    def n(self) -> int:
        """Number of clients."""
        return int(self.dist.shape[0]) - 2


@dataclass(frozen=True, slots=True)
class TsptwResult:
    """Best route found: client numbers ``1..n`` in visiting order."""

    order: tuple[int, ...]
    cost: int
    iterations: int
    feasible_start: bool
    #: the annealing's temperature unit (metres; 0 if it did not run): pass it
    #: back as ``scale`` when continuing the schedule from this route
    scale: float = 0.0


# --------------------------------------------------------------------------- kernels
# Work arrays (one (9, n+2) int64 matrix ``w`` per route):
_DEP = 0  # departure time from route[k] (leaving the start at the shift open)
_TWF = 1  # time warp accumulated up to route[k] (forward, fixed start)
_LB = 2  # latest service start at route[k] of the suffix route[k:] (Vidal et al.)
_TWB = 3  # time warp of the suffix route[k:]
_CUM = 4  # distance route[0] -> route[k]
_RCUM = 5  # distance of the reversed prefix (asymmetric matrices)
_POS = 6  # position of node v (indexed by node)
_NXT = 7  # successor of node v before the last move (indexed by node)
_TMP = 8  # scratch
# Node data ``nd`` (3, n+2): early, late, service.
_PERTURB_MAX_REVERSAL = 8


@njit(cache=True, inline="always")
def _rand(state: I64) -> int:  # pragma: no cover - compiled
    """xorshift64 on a one-element int64 array; returns a non-negative int."""
    x = state[0]
    x ^= x << 13
    x ^= (x >> 7) & 0x01FFFFFFFFFFFFFF
    x ^= x << 17
    state[0] = x
    return int((x >> 1) & 0x3FFFFFFFFFFFFFFF)


@njit(cache=True, inline="always")
def _blink_gap(state: I64, log_keep: float) -> int:  # pragma: no cover - compiled
    """Positions until the next blink: geometric, each position blinked with
    probability ``1 - exp(log_keep)`` (one draw per blink instead of one per
    position). ``log_keep == 0``: never; ``-inf``: always (0)."""
    if log_keep >= 0.0:
        return 1 << 62
    if log_keep == -math.inf:
        return 0
    r = (_rand(state) % 1_000_000 + 1) / 1_000_001.0
    return int(math.log(r) / log_keep)


@njit(cache=True)
def _schedule(route: I64, m: int, dist: I64, dur: I64, nd: I64, w: I64) -> int:
    """Fill the work arrays for route[:m]; returns the route's total time warp."""
    early = nd[0]
    late = nd[1]
    service = nd[2]
    u = route[0]
    t = early[u]
    tw = 0
    w[_DEP, 0] = t + service[u]
    w[_TWF, 0] = 0
    w[_CUM, 0] = 0
    w[_RCUM, 0] = 0
    w[_POS, u] = 0
    for k in range(1, m):
        u = route[k - 1]
        v = route[k]
        w[_POS, v] = k
        t = w[_DEP, k - 1] + dur[u, v]
        if t < early[v]:
            t = early[v]
        if t > late[v]:
            tw += t - late[v]
            t = late[v]
        w[_DEP, k] = t + service[v]
        w[_TWF, k] = tw
        w[_CUM, k] = w[_CUM, k - 1] + dist[u, v]
        w[_RCUM, k] = w[_RCUM, k - 1] + dist[v, u]
    v = route[m - 1]
    w[_LB, m - 1] = late[v]
    w[_TWB, m - 1] = 0
    for k in range(m - 2, -1, -1):
        u = route[k]
        delta = service[u] + dur[u, route[k + 1]]
        l2 = w[_LB, k + 1]
        dtw = early[u] + delta - l2
        if dtw < 0:
            dtw = 0
        lb = l2 - delta
        if lb > late[u]:
            lb = late[u]
        w[_LB, k] = lb + dtw
        w[_TWB, k] = w[_TWB, k + 1] + dtw
    for k in range(m - 1):
        w[_NXT, route[k]] = route[k + 1]
    w[_NXT, route[m - 1]] = -1
    return tw


@njit(cache=True, inline="always")
def _walk_tw(
    route: I64, pre: int, buf: I64, nb: int, q: int, dur: I64, nd: I64, w: I64, limit: int
) -> int:  # pragma: no cover - compiled
    """Time warp of route[:pre+1] + buf[:nb] + route[q:]; stops early above ``limit``."""
    early = nd[0]
    late = nd[1]
    service = nd[2]
    t = w[_DEP, pre]
    tw = w[_TWF, pre]
    last = route[pre]
    for k in range(nb):
        x = buf[k]
        t += dur[last, x]
        if t < early[x]:
            t = early[x]
        if t > late[x]:
            tw += t - late[x]
            if tw > limit:
                return int(tw)
            t = late[x]
        t += service[x]
        last = x
    t += dur[last, route[q]]
    tw += w[_TWB, q]
    if t > w[_LB, q]:
        tw += t - w[_LB, q]
    return int(tw)


@njit(cache=True, inline="always")
def _apply(route: I64, pre: int, buf: I64, nb: int, w: I64, active: np.ndarray) -> None:
    """route[pre+1:pre+1+nb] = buf[:nb]; activate the endpoints of new arcs."""
    for k in range(nb):
        route[pre + 1 + k] = buf[k]
    for k in range(pre, pre + nb + 1):
        x = route[k]
        y = route[k + 1]
        if w[_NXT, x] != y:
            active[x] = True
            active[y] = True


@njit(cache=True, inline="always")
def _fill_oropt(route: I64, i: int, j: int, p: int, rev: bool, buf: I64) -> int:
    """Segment route[i..j] moved between p and p+1 (reversed if rev); returns pre."""
    nb = 0
    if p > j:
        for k in range(j + 1, p + 1):
            buf[nb] = route[k]
            nb += 1
        for k in range(j - i + 1):
            buf[nb] = route[j - k] if rev else route[i + k]
            nb += 1
        return i - 1
    for k in range(j - i + 1):
        buf[nb] = route[j - k] if rev else route[i + k]
        nb += 1
    for k in range(p + 1, i):
        buf[nb] = route[k]
        nb += 1
    return p


@njit(cache=True, inline="always")
def _delta_dist(
    kind: int, i: int, j: int, p: int, rev: bool, route: I64, dist: I64, w: I64
) -> int:  # pragma: no cover - compiled
    if kind == 0:  # Or-opt
        f = route[j] if rev else route[i]
        last = route[i] if rev else route[j]
        d = (
            dist[route[i - 1], route[j + 1]]
            - dist[route[i - 1], route[i]]
            - dist[route[j], route[j + 1]]
            + dist[route[p], f]
            + dist[last, route[p + 1]]
            - dist[route[p], route[p + 1]]
        )
        if rev:
            d += (w[_RCUM, j] - w[_RCUM, i]) - (w[_CUM, j] - w[_CUM, i])
        return int(d)
    if kind == 1:  # 2-opt: reverse route[i..j]
        return int(
            dist[route[i - 1], route[j]]
            + dist[route[i], route[j + 1]]
            - dist[route[i - 1], route[i]]
            - dist[route[j], route[j + 1]]
            + (w[_RCUM, j] - w[_RCUM, i])
            - (w[_CUM, j] - w[_CUM, i])
        )
    u = route[i]  # exchange positions i < j - 1
    v = route[j]
    return int(
        dist[route[i - 1], v]
        + dist[v, route[i + 1]]
        + dist[route[j - 1], u]
        + dist[u, route[j + 1]]
        - dist[route[i - 1], u]
        - dist[u, route[i + 1]]
        - dist[route[j - 1], v]
        - dist[v, route[j + 1]]
    )


@njit(cache=True, inline="always")
def _move_ok(kind: int, i: int, j: int, p: int, rev: bool, n: int) -> bool:
    """Is the move of :func:`_try_move` well defined on a route of ``n`` clients?
    (Scalars only: a call with array arguments costs reference counting.)"""
    if i < 1 or j > n or i > j:
        return False
    if kind == 0:
        return not ((p >= i - 1 and p <= j) or p < 0 or p > n or (rev and i == j))
    if kind == 1:
        return i != j
    return j > i + 1


@njit(cache=True, inline="always")
def _try_move(
    kind: int,
    i: int,
    j: int,
    p: int,
    rev: bool,
    route: I64,
    m: int,
    dist: I64,
    dur: I64,
    nd: I64,
    w: I64,
    buf: I64,
    tw_cur: int,
    penalty: int,
    need_improve: bool,
) -> tuple[int, int, int, int]:  # pragma: no cover - compiled
    """Evaluate one move: (penalised delta, pre, nb, new warp); nb = -1 if rejected.

    kind 0: Or-opt of route[i..j] between p and p+1 (reversed if rev);
    1: 2-opt reversing route[i..j]; 2: exchange of positions i < j - 1.
    """
    if not _move_ok(kind, i, j, p, rev, m - 2):
        return 0, 0, -1, 0
    d = _delta_dist(kind, i, j, p, rev, route, dist, w)
    # the time warp cannot go below 0: prune before walking
    if need_improve and d >= penalty * tw_cur:
        return 0, 0, -1, 0
    if kind == 0:
        pre = _fill_oropt(route, i, j, p, rev, buf)
        nb = (p - i + 1) if p > j else (j - p)
    elif kind == 1:
        nb = j - i + 1
        for k in range(nb):
            buf[k] = route[j - k]
        pre = i - 1
    else:
        nb = j - i + 1
        buf[0] = route[j]
        for k in range(1, nb - 1):
            buf[k] = route[i + k]
        buf[nb - 1] = route[i]
        pre = i - 1
    limit = tw_cur + (-d) // penalty + 1 if need_improve else 1 << 60
    tw = _walk_tw(route, pre, buf, nb, pre + nb + 1, dur, nd, w, limit)
    delta = d + penalty * (tw - tw_cur)
    if need_improve and delta >= 0:
        return 0, 0, -1, 0
    return delta, pre, nb, tw


@njit(cache=True)
def _local_search(
    route: I64,
    m: int,
    dist: I64,
    dur: I64,
    nd: I64,
    neigh: I64,
    maxseg: int,
    penalty: int,
    active: np.ndarray,
    w: I64,
    buf: I64,
    max_work: int = 0,
) -> int:  # pragma: no cover - compiled
    """First-improvement descent (Or-opt, 2-opt, exchange) on distance + penalty x warp.

    Returns the final time warp; every stop is then inactive. With ``max_work > 0``
    it stops once that many moves were tried in full or made (each O(n) at the most:
    the time warp of the changed part, the schedule after a move), between two stops,
    those not done with still ``active``: a call with the same ``active`` goes on
    (sweeping from the first stop again). From a start of 2 000 stops missing
    windows, where the time warp lets every candidate through the distance screen,
    the whole descent took 10 s, which nothing could interrupt.
    """
    n = m - 2
    nn = neigh.shape[1]
    tw_cur = _schedule(route, m, dist, dur, nd, w)
    limit = max_work if max_work > 0 else np.int64(1) << 62
    work = 0
    improved = True
    while improved:
        improved = False
        for u in range(1, n + 1):
            if not active[u]:
                continue
            if work >= limit:
                return tw_cur  # (u and the others left are still active)
            found = False
            pre = 0
            nb = -1
            for kk in range(nn):
                v = neigh[u, kk]
                iu = w[_POS, u]
                iv = w[_POS, v]
                # --- Or-opt: a segment with u at one end, placed next to v
                for k in range(1, maxseg + 1):
                    for variant in range(4):
                        if variant < 2:  # segment starts at u
                            i = iu
                            j = iu + k - 1
                        else:  # segment ends at u
                            i = iu - k + 1
                            j = iu
                        if variant == 0:  # u first, after v: (v, u)
                            p = iv
                            rev = False
                        elif variant == 1:  # reversed, u last, before v: (u, v)
                            p = iv - 1
                            rev = True
                        elif variant == 2:  # u last, before v: (u, v)
                            p = iv - 1
                            rev = False
                        else:  # reversed, u first, after v: (v, u)
                            p = iv
                            rev = True
                        # cheap screen first: most candidates are undefined
                        # or lengthen the route, and _try_move's array
                        # arguments cost reference counting per call
                        if not _move_ok(0, i, j, p, rev, n) or (
                            _delta_dist(0, i, j, p, rev, route, dist, w) >= penalty * tw_cur
                        ):
                            continue
                        work += 1
                        d, pre, nb, tw_new = _try_move(
                            0,
                            i,
                            j,
                            p,
                            rev,
                            route,
                            m,
                            dist,
                            dur,
                            nd,
                            w,
                            buf,
                            tw_cur,
                            penalty,
                            True,
                        )
                        if nb >= 0:
                            found = True
                            break
                    if found:
                        break
                if not found:
                    # --- 2-opt creating the arc u-v (either direction)
                    for variant in range(2):
                        lo = iu if iu < iv else iv
                        hi = iv if iu < iv else iu
                        i = lo + 1 if variant == 0 else lo
                        j = hi if variant == 0 else hi - 1
                        if not _move_ok(1, i, j, 0, False, n) or (
                            _delta_dist(1, i, j, 0, False, route, dist, w) >= penalty * tw_cur
                        ):
                            continue
                        work += 1
                        d, pre, nb, tw_new = _try_move(
                            1,
                            i,
                            j,
                            0,
                            False,
                            route,
                            m,
                            dist,
                            dur,
                            nd,
                            w,
                            buf,
                            tw_cur,
                            penalty,
                            True,
                        )
                        if nb >= 0:
                            found = True
                            break
                if not found:
                    # --- exchange u with the successor / predecessor of v
                    for variant in range(2):
                        x = iv + 1 if variant == 0 else iv - 1
                        if x < 1 or x > n or x == iu:
                            continue
                        i = iu if iu < x else x
                        j = x if iu < x else iu
                        if not _move_ok(2, i, j, 0, False, n) or (
                            _delta_dist(2, i, j, 0, False, route, dist, w) >= penalty * tw_cur
                        ):
                            continue
                        work += 1
                        d, pre, nb, tw_new = _try_move(
                            2,
                            i,
                            j,
                            0,
                            False,
                            route,
                            m,
                            dist,
                            dur,
                            nd,
                            w,
                            buf,
                            tw_cur,
                            penalty,
                            True,
                        )
                        if nb >= 0:
                            found = True
                            break
                if found:
                    _apply(route, pre, buf, nb, w, active)
                    tw_cur = _schedule(route, m, dist, dur, nd, w)
                    improved = True
                    work += 1
                    break
            if not found:
                active[u] = False
    return tw_cur


@njit(cache=True)
def _perturb(
    route: I64,
    m: int,
    dist: I64,
    dur: I64,
    nd: I64,
    neigh: I64,
    maxseg: int,
    nmoves: int,
    rng: I64,
    active: np.ndarray,
    w: I64,
    buf: I64,
    max_warp: int,
    block: int,
) -> int:  # pragma: no cover - compiled
    """Apply ``nmoves`` random moves among stops near a random stop.

    A move is skipped if it adds more than ``max_warp`` seconds of time warp.
    """
    n = m - 2
    nn = neigh.shape[1]
    centre = 1 + _rand(rng) % n
    done = 0
    tw_cur = _schedule(route, m, dist, dur, nd, w)
    for _attempt in range(nmoves * 20):
        if done >= nmoves:
            break
        u = centre if _rand(rng) % 3 == 0 else neigh[centre, _rand(rng) % nn]
        v = neigh[u, _rand(rng) % nn]
        iu = w[_POS, u]
        iv = w[_POS, v]
        kind = _rand(rng) % (4 if block > 0 else 3)
        p = 0
        rev = False
        if kind == 0:
            i = iu
            j = iu + _rand(rng) % maxseg
            p = iv if _rand(rng) % 2 == 0 else iv - 1
            rev = _rand(rng) % 2 == 1
        elif kind == 3:  # swap two consecutive blocks of up to ``block`` stops
            kind = 0
            i = iu
            j = iu + _rand(rng) % block
            p = j + 1 + _rand(rng) % block
        elif kind == 1:  # short reversals only: long ones wreck the schedule
            i = min(iu, iv) + 1
            j = max(iu, iv)
            if j - i > _PERTURB_MAX_REVERSAL:
                continue
        else:
            i = min(iu, iv)
            j = max(iu, iv)
        d, pre, nb, tw_new = _try_move(
            kind, i, j, p, rev, route, m, dist, dur, nd, w, buf, 0, 1, False
        )
        if nb < 0 or tw_new > tw_cur + max_warp:
            continue
        _apply(route, pre, buf, nb, w, active)
        tw_cur = _schedule(route, m, dist, dur, nd, w)
        done += 1
    return done


@njit(cache=True)
def _construct(
    dist: I64,
    dur: I64,
    nd: I64,
    seq: I64,
    nseq: int,
    order: I64,
    route: I64,
    time_weight: int,
) -> bool:  # pragma: no cover - compiled
    """Cheapest feasible insertion of ``order`` into start + seq[:nseq] + end.

    Cost of a position: added distance + ``time_weight`` x delay of the next
    service start. Once a stop fits nowhere, the rest go to their cheapest
    position regardless of windows (the penalised search repairs). Returns
    whether the result is feasible.
    """
    early = nd[0]
    late = nd[1]
    service = nd[2]
    n = dist.shape[0] - 2
    w = np.zeros((9, n + 2), np.int64)
    route[0] = 0
    for k in range(nseq):
        route[1 + k] = seq[k]
    m = nseq + 2
    route[m - 1] = n + 1
    feasible = _schedule(route, m, dist, dur, nd, w) == 0
    inroute = np.zeros(n + 2, np.bool_)
    for k in range(m):
        inroute[route[k]] = True
    for idx in range(order.shape[0]):
        u = order[idx]
        if inroute[u]:
            continue
        best = np.int64(1) << 60
        bestp = -1
        for p in range(m - 1):
            a = route[p]
            b = route[p + 1]
            d = dist[a, u] + dist[u, b] - dist[a, b]
            if feasible:
                t = w[_DEP, p] + dur[a, u]
                if t < early[u]:
                    t = early[u]
                if t > late[u]:
                    continue
                t += service[u] + dur[u, b]
                if t < early[b]:
                    t = early[b]
                if t > w[_LB, p + 1]:
                    continue
                # the later service start at b: the slack the insertion uses
                d += time_weight * (t - (w[_DEP, p + 1] - service[b]))
            if d < best:
                best = d
                bestp = p
        if bestp < 0:
            feasible = False
            for p in range(m - 1):
                a = route[p]
                b = route[p + 1]
                d = dist[a, u] + dist[u, b] - dist[a, b]
                if d < best:
                    best = d
                    bestp = p
        for k in range(m, bestp + 1, -1):
            route[k] = route[k - 1]
        route[bestp + 1] = u
        m += 1
        inroute[u] = True
        if feasible:
            _schedule(route, m, dist, dur, nd, w)
    return _schedule(route, m, dist, dur, nd, w) == 0


@njit(cache=True)
def _ruin_recreate(
    route: I64,
    m: int,
    dist: I64,
    dur: I64,
    nd: I64,
    neigh: I64,
    rr_max: int,
    rng: I64,
    w: I64,
    active: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Remove a random stop and some of its neighbours; cheapest reinsertion."""
    n = m - 2
    _schedule(route, m, dist, dur, nd, w)  # w[_NXT]: the arcs before
    q = 2 + _rand(rng) % max(1, rr_max - 1)
    centre = 1 + _rand(rng) % n
    removed = np.zeros(m, np.bool_)
    order = np.empty(q, np.int64)
    order[0] = centre
    removed[centre] = True
    for k in range(q - 1):
        order[k + 1] = neigh[centre, k]
        removed[neigh[centre, k]] = True
    for k in range(q - 1, 0, -1):  # random reinsertion order
        r = _rand(rng) % (k + 1)
        t = order[k]
        order[k] = order[r]
        order[r] = t
    seq = np.empty(m, np.int64)
    nseq = 0
    for k in range(1, m - 1):
        if not removed[route[k]]:
            seq[nseq] = route[k]
            nseq += 1
    _construct(dist, dur, nd, seq, nseq, order, route, _rand(rng) % 2)
    for k in range(m - 1):
        x = route[k]
        y = route[k + 1]
        if w[_NXT, x] != y:
            active[x] = True
            active[y] = True


@njit(cache=True)
def _ils_chunk(
    dist: I64,
    dur: I64,
    nd: I64,
    neigh: I64,
    maxseg: int,
    maxpert: int,
    penalty: int,
    max_warp: int,
    cur: I64,
    best: I64,
    hist: I64,
    state: I64,
    iterations: int,
    threshold: int,
    full_ls: bool,
    block: int,
    rr_share: int,
    rr_max: int,
    pending: np.ndarray,
    descent_work: int = 0,
) -> int:  # pragma: no cover - compiled
    """Run ``iterations`` ILS steps; ``cur`` / ``best`` / ``hist`` / ``state`` persist.

    ``state``: [rng, iterations done, current cost, best feasible cost (-1:
    none), initialised, current time warp]. Costs: distance + penalty x warp.
    Returns the best feasible distance (-1 if none yet). The descent from the
    start (``state[4] == 0``) does at most ``descent_work`` of
    :func:`_local_search`'s work a call (``> 0``): if it is not done, the call
    returns -1 there, ``state[4]`` still 0, and the next call goes on from ``cur`` and
    ``pending`` (its stops not done; all ``True`` before a descent begins, and again
    after it).
    """
    m = dist.shape[0]
    w = np.zeros((9, m), np.int64)
    buf = np.zeros(m, np.int64)
    active = np.ones(m, np.bool_)
    rng = state[0:1]
    if state[4] == 0:
        tw = _local_search(cur, m, dist, dur, nd, neigh, maxseg, penalty, pending, w, buf,
                           descent_work)
        for v in range(1, m - 1):
            if pending[v]:
                return -1  # not done: the next call goes on
        pending[:] = True
        c = w[_CUM, m - 1] + penalty * tw
        state[2] = c
        state[3] = -1
        if tw == 0:
            state[3] = c
            best[:] = cur
        for k in range(hist.shape[0]):
            hist[k] = c
        state[4] = 1
    cand = cur.copy()
    for _ in range(iterations):
        cand[:] = cur
        active[:] = full_ls
        if rr_share > 0 and _rand(rng) % 100 < rr_share:
            _ruin_recreate(cand, m, dist, dur, nd, neigh, rr_max, rng, w, active)
        else:
            _perturb(
                cand,
                m,
                dist,
                dur,
                nd,
                neigh,
                maxseg,
                1 + _rand(rng) % maxpert,
                rng,
                active,
                w,
                buf,
                max_warp,
                block,
            )
        tw = _local_search(cand, m, dist, dur, nd, neigh, maxseg, penalty, active, w, buf)
        c = w[_CUM, m - 1] + penalty * tw
        it = state[1]
        h = it % hist.shape[0]
        if tw == 0 and (state[3] < 0 or c < state[3]):
            state[3] = c
            best[:] = cand
        if threshold >= 0:
            # threshold accepting around the best (record-to-record travel)
            ok = c <= state[2] or (state[3] >= 0 and c <= state[3] + threshold)
        else:
            ok = c <= state[2] or c <= hist[h]
        if ok:
            cur[:] = cand
            state[2] = c
        hist[h] = state[2]
        state[1] = it + 1
    return int(state[3])


@njit(cache=True, inline="always")
def _times(route: I64, m: int, dur: I64, nd: I64, dep: I64, lb: I64) -> int:
    """Departure times (forward) and latest feasible service starts (backward)
    of route[:m]; returns the total time warp. A lean :func:`_schedule`."""
    u = route[0]
    t = nd[0, u]
    tw = 0
    dep[0] = t + nd[2, u]
    for k in range(1, m):
        v = route[k]
        t = dep[k - 1] + dur[u, v]
        if t < nd[0, v]:
            t = nd[0, v]
        if t > nd[1, v]:
            tw += t - nd[1, v]
            t = nd[1, v]
        dep[k] = t + nd[2, v]
        u = v
    lb[m - 1] = nd[1, route[m - 1]]
    for k in range(m - 2, -1, -1):
        u = route[k]
        t = lb[k + 1] - nd[2, u] - dur[u, route[k + 1]]
        lb[k] = t if t < nd[1, u] else nd[1, u]
    return tw


@njit(cache=True, inline="always")
def _times_inserted(
    route: I64, m: int, ip: int, dur: I64, nd: I64, dep: I64, lb: I64
) -> None:  # pragma: no cover - compiled
    """Update :func:`_times`'s arrays after a feasible insertion at position ``ip``
    of route[:m] (they hold the route before it). Departures change from ``ip``
    on and latest starts up to it, each only until a value is unchanged (waiting
    or a binding window absorbs the change)."""
    for k in range(m - 1, ip, -1):
        dep[k] = dep[k - 1]
        lb[k] = lb[k - 1]
    for k in range(ip, m):
        v = route[k]
        t = dep[k - 1] + dur[route[k - 1], v]
        if t < nd[0, v]:
            t = nd[0, v]
        t += nd[2, v]
        if k > ip and t == dep[k]:
            break
        dep[k] = t
    for k in range(ip, -1, -1):
        v = route[k]
        t = lb[k + 1] - nd[2, v] - dur[v, route[k + 1]]
        if t > nd[1, v]:
            t = nd[1, v]
        if k < ip and t == lb[k]:
            break
        lb[k] = t


@njit(cache=True)
def _anneal_chunk(
    dist: I64,
    dur: I64,
    nd: I64,
    neigh: I64,
    cur: I64,
    best: I64,
    state: I64,
    iterations: int,
    temperature: float,
    string_max: int,
    strings_max: int,
    blink: int,
    maxseg: int,
    penalty: int,
    dist_t: I64,
) -> int:  # pragma: no cover - compiled
    """``iterations`` steps of simulated annealing with string removals
    (SISR, Christiaens & Vanden Berghe 2020) on a *feasible* route ``cur``.

    A step removes 1..``strings_max`` strings of 1..``string_max`` consecutive
    stops, each around the next unremoved neighbour of a random stop, and
    reinserts the removed stops one by one (random, far-first, near-first or
    tightest-window-first order) at the cheapest feasible position, skipping
    each position with probability ``blink`` per mille. A step with a stop
    that fits nowhere is dropped. Acceptance: distance below the current one
    plus ``-temperature * ln(U)``. A new best is polished by the local search.

    ``state``: [rng, iterations done, current distance, best distance].
    Returns the best distance.
    """
    early = nd[0]
    late = nd[1]
    service = nd[2]
    m = dist.shape[0]
    n = m - 2
    nn = neigh.shape[1]
    w = np.zeros((9, m), np.int64)
    dep = np.zeros(m, np.int64)
    lb = np.zeros(m, np.int64)
    pos = np.zeros(m, np.int64)
    buf = np.zeros(m, np.int64)
    active = np.zeros(m, np.bool_)
    removed = np.zeros(m, np.bool_)
    order = np.empty(m, np.int64)
    key = np.empty(m, np.int64)
    cand = cur.copy()
    arc = np.zeros(m, np.int64)  # arc[k] = dist[cand[k], cand[k + 1]]
    rng = state[0:1]
    # log of the chance that a position is not blinked (-inf: every one is)
    log_keep = math.log1p(-blink / 1000.0) if blink < 1000 else -math.inf
    skip = _blink_gap(rng, log_keep)
    for k in range(m):
        pos[cur[k]] = k
    for _ in range(iterations):
        state[1] += 1
        # --- ruin: strings around the stop c and its nearest neighbours
        c = 1 + _rand(rng) % n
        want = 1 + _rand(rng) % strings_max
        q = 0
        removed[:] = False
        strings = 0
        for kk in range(-1, nn):
            if strings >= want:
                break
            v = c if kk < 0 else neigh[c, kk]
            if removed[v]:
                continue
            length = 1 + _rand(rng) % string_max
            lo = pos[v] - _rand(rng) % length
            if lo < 1:
                lo = 1
            hi = lo + length - 1
            if hi > n:
                hi = n
                lo = max(1, hi - length + 1)
            for k in range(lo, hi + 1):
                x = cur[k]
                if not removed[x]:
                    removed[x] = True
                    order[q] = x
                    q += 1
            strings += 1
        # --- recreate order
        mode = _rand(rng) % 10
        for k in range(q):
            x = order[k]
            if mode < 5:
                key[k] = _rand(rng) % 1_000_000
            elif mode < 7:
                key[k] = -dist[0, x]
            elif mode < 8:
                key[k] = dist[0, x]
            else:
                key[k] = late[x] - early[x]
        for a in range(1, q):  # insertion sort (q is small)
            x = order[a]
            kx = key[a]
            b = a - 1
            while b >= 0 and key[b] > kx:
                order[b + 1] = order[b]
                key[b + 1] = key[b]
                b -= 1
            order[b + 1] = x
            key[b + 1] = kx
        mm = 0
        for k in range(m):
            if not removed[cur[k]]:
                cand[mm] = cur[k]
                if mm > 0:
                    arc[mm - 1] = dist[cand[mm - 1], cand[mm]]
                mm += 1
        # distance of the partial route: the current one without the arcs
        # touching removed stops, plus one arc over each removed run
        cost = state[2]
        for k in range(q):
            v = order[k]
            i = pos[v]
            cost -= dist[cur[i - 1], v]
            if not removed[cur[i + 1]]:
                cost -= dist[v, cur[i + 1]]
                j = i - 1
                while removed[cur[j]]:
                    j -= 1
                cost += dist[cur[j], cur[i + 1]]
        ok = _times(cand, mm, dur, nd, dep, lb) == 0
        for idx in range(q):
            if not ok:
                break
            u = order[idx]
            bestd = np.int64(1) << 60
            bestp = -1
            # departures and latest starts never decrease along a feasible
            # route: u fits only after the first position whose successor can
            # still start after u's window opens, and only before the first
            # position left after u's window closes
            need = early[u] + service[u]
            first = 0
            last = mm - 1
            while first < last:
                mid = (first + last) // 2
                if lb[mid + 1] >= need:
                    last = mid
                else:
                    first = mid + 1
            late_u = late[u]
            to_u = dist_t[u]  # to_u[a] == dist[a, u]: both reads from row u
            from_u = dist[u]
            for p in range(first, mm - 1):
                if dep[p] > late_u:
                    break
                if skip == 0:  # a blink: this position is skipped
                    skip = _blink_gap(rng, log_keep)
                    continue
                skip -= 1
                # unsigned indices: no wraparound code for negative ones
                d = to_u[np.uint64(cand[p])] + from_u[np.uint64(cand[p + 1])] - arc[p]
                if d >= bestd:
                    continue
                a = cand[p]
                b = cand[p + 1]
                t = dep[p] + dur[a, u]
                if t < early[u]:
                    t = early[u]
                if t > late[u]:
                    continue
                t += service[u] + dur[u, b]
                if t < early[b]:
                    t = early[b]
                if t > lb[p + 1]:
                    continue
                bestd = d
                bestp = p
            if bestp < 0:
                ok = False
                break
            cost += bestd
            for k in range(mm, bestp + 1, -1):
                cand[k] = cand[k - 1]
                arc[k] = arc[k - 1]
            arc[bestp + 1] = dist[u, cand[bestp + 2]]
            arc[bestp] = dist[cand[bestp], u]
            cand[bestp + 1] = u
            mm += 1
            _times_inserted(cand, mm, bestp + 1, dur, nd, dep, lb)
        if not ok:
            continue
        r = (_rand(rng) % 1_000_000 + 1) / 1_000_001.0
        if cost >= state[2] - temperature * math.log(r):
            continue
        cur[:] = cand
        state[2] = cost
        for k in range(m):
            pos[cur[k]] = k
        if cost < state[3]:
            state[3] = cost
            best[:] = cand
            active[:] = True
            if _local_search(cand, m, dist, dur, nd, neigh, maxseg, penalty, active, w, buf) == 0:
                if w[_CUM, m - 1] < cost:
                    state[2] = state[3] = w[_CUM, m - 1]
                    cur[:] = cand
                    best[:] = cand
                    for k in range(m):
                        pos[cur[k]] = k
    return int(state[3])


# --------------------------------------------------------------------------- Python side


def route_schedule(inst: TsptwInstance, order: Sequence[int]) -> tuple[bool, int]:
    """(feasible, distance) of start + order + end, simulated in Python (for tests)."""
    t = int(inst.early[0]) + int(inst.service[0])
    prev = 0
    ok = True
    d = 0
    for v in [*order, inst.n + 1]:
        t += int(inst.dur[prev, v])
        t = max(t, int(inst.early[v]))
        if t > int(inst.late[v]):
            ok = False
        t += int(inst.service[v])
        d += int(inst.dist[prev, v])
        prev = v
    return ok, d


@njit(cache=True)
def _nearest(dist: I64, dur: I64, early: I64, late: I64, service: I64, speed: float,
             k: int) -> I64:  # pragma: no cover - compiled
    """:func:`_neighbours`' lists: for each client the ``k`` others of least proximity,
    ties to the lower number (a stable sort's first ``k``), in O(n^2) time and O(n k)
    memory. The same float operations, in the same order, as the numpy matrices this
    replaced (0.5-1.3 s and ~10 matrices of n^2 floats at 2 000 stops, once per probe)."""
    n = dist.shape[0] - 2
    out = np.zeros((n + 2, k), dtype=np.int64)
    val = np.empty(k, dtype=np.float64)
    idx = np.empty(k, dtype=np.int64)
    lt = np.empty(n + 1, dtype=np.float64)
    for v in range(1, n + 1):
        lt[v] = float(min(late[v], late[0]))
    for i in range(1, n + 1):
        ei, si, lti = float(early[i]), float(service[i]), lt[i]
        kept = 0
        for j in range(1, n + 1):
            if j == i:
                continue
            ej, sj, ltj = float(early[j]), float(service[j]), lt[j]
            tij, tji = float(dur[i, j]), float(dur[j, i])
            wait = max(0.0, ej - tij - si - lti)
            warp = max(0.0, ei + si + tij - ltj)
            p = float(dist[i, j]) + speed * (0.2 * wait + warp)
            wait = max(0.0, ei - tji - sj - ltj)
            warp = max(0.0, ej + sj + tji - lti)
            q = float(dist[j, i]) + speed * (0.2 * wait + warp)
            x = min(p, q)
            if kept == k and not x < val[k - 1]:
                continue  # (a tie goes to the lower number, seen first)
            pos = kept if kept < k else k - 1
            while pos > 0 and x < val[pos - 1]:
                val[pos] = val[pos - 1]
                idx[pos] = idx[pos - 1]
                pos -= 1
            val[pos] = x
            idx[pos] = j
            if kept < k:
                kept += 1
        out[i, :] = idx
    out[0] = out[1]
    out[n + 1] = out[1]
    return out


def _neighbours(inst: TsptwInstance, k: int) -> I64:
    """k nearest clients of each client by distance plus window incompatibility.

    Proximity as in PyVRP's granular neighbourhoods: distance + (0.2 x least
    waiting + least time warp when going from one to the other), the times
    converted to metres at the instance's mean speed; the smaller of both
    directions (:func:`_nearest`).
    """
    n = inst.n
    k = max(1, min(k, n - 1))
    # integer sums: exact, as the float sums were (below 2^53)
    tsum = int(inst.dur[1 : n + 1, 1 : n + 1].sum())
    speed = int(inst.dist[1 : n + 1, 1 : n + 1].sum()) / tsum if tsum > 0 else 1.0
    return _nearest(inst.dist, inst.dur, inst.early, inst.late, inst.service, speed, k)


def neighbour_lists(inst: TsptwInstance, params: ILSParams | None = None) -> I64:
    """The candidate lists :func:`solve_tsptw` searches ``inst`` on with ``params``
    (its ``neighbours`` nearest clients of each, :func:`_neighbours`)."""
    return _neighbours(inst, (params or ILSParams()).neighbours)


def _insertion_order(inst: TsptwInstance, rng: np.random.Generator, mode: str) -> I64:
    """Order in which the construction inserts the clients.

    ``"windows-first"``: windowed clients by closing time, then the others in
    random order; ``"random"``: all in random order.
    """
    n = inst.n
    clients = np.arange(1, n + 1)
    if mode == "random":
        return rng.permutation(clients).astype(np.int64)
    windowed = (inst.early[1 : n + 1] > inst.early[0]) | (inst.late[1 : n + 1] < inst.late[0])
    w = clients[windowed]
    w = w[np.lexsort((inst.early[w], inst.late[w]))]
    free = rng.permutation(clients[~windowed])
    return np.concatenate([w, free]).astype(np.int64)


_compile_lock = threading.Lock()
_compiled = False


@njit(cache=True, inline="always")
def _extend(seg: I64, k: int, t: int, service: int, early: int,
            late: int) -> None:  # pragma: no cover - compiled
    """``seg[k + 1]`` = the path ``seg[k]`` (a row ``[duration, latest start]``)
    followed by ``t`` of travel and a node of ``service`` within ``[early, late]``, as
    PyVRP merges duration segments (Vidal et al. 2013): the path's least duration over
    its start times, waiting only where a window forces it even at the latest start.
    The path must be on time (the forward schedule checks it: no time warp), so its
    earliest start plays no part."""
    d = seg[k, 0] + t
    wait = early - d - seg[k, 1]
    if wait < 0:
        wait = 0
    seg[k + 1, 0] = seg[k, 0] + t + service + wait
    last = late - d
    seg[k + 1, 1] = last if last < seg[k, 1] else seg[k, 1]


@njit(cache=True)
def _exact_dfs(dist: I64, dur: I64, early: I64, late: I64, service: I64, max_nodes: int,
               by_duration: bool) -> tuple[int, I64, int, bool]:  # pragma: no cover - compiled
    """Every order of the clients, depth first, a branch cut as soon as a window is
    missed or its cost reaches the best route's: (best cost or -1, its order, nodes
    expanded, finished within ``max_nodes``). The cost is the distance, or with
    ``by_duration`` the duration as PyVRP counts it (travel, service and the waiting
    a later start cannot avoid: :func:`_extend`; a path's is a bound on every route
    it begins). Node 0 starts at ``early[0]``, as :func:`_schedule` does (by duration
    at the latest start that changes nothing); every client is served; the end by
    ``late[n + 1]``."""
    n = dist.shape[0] - 2
    end = n + 1
    route = np.zeros(max(n, 1), dtype=np.int64)
    best_route = np.zeros(max(n, 1), dtype=np.int64)
    used = np.zeros(n + 2, dtype=np.bool_)
    dep = np.zeros(n + 1, dtype=np.int64)  # departure after the k-th position
    dst = np.zeros(n + 1, dtype=np.int64)  # cost up to it
    seg = np.zeros((n + 2, 2), dtype=np.int64)  # duration, latest start up to it
    nxt = np.ones(n + 1, dtype=np.int64)  # next client to try at depth k
    best = -1
    dep[0] = early[0] + service[0]
    seg[0, 0], seg[0, 1] = service[0], late[0]
    k = 0
    nodes = 0
    while k >= 0:
        if k == n:  # every client placed: to the end
            u = route[n - 1] if n > 0 else 0
            t = dep[n] + dur[u, end]
            if t < early[end]:
                t = early[end]
            if by_duration:
                _extend(seg, n, dur[u, end], 0, early[end], late[end])
                c = seg[n + 1, 0]
            else:
                c = dst[n] + dist[u, end]
            if t <= late[end] and (best < 0 or c < best):
                best = c
                best_route[:n] = route[:n]
            k -= 1
            if k >= 0:
                used[route[k]] = False
            continue
        v = nxt[k]
        if v > n:  # every client tried at this depth
            nxt[k] = 1
            k -= 1
            if k >= 0:
                used[route[k]] = False
            continue
        nxt[k] = v + 1
        if used[v]:
            continue
        u = route[k - 1] if k > 0 else 0
        t = dep[k] + dur[u, v]
        if t < early[v]:
            t = early[v]
        if t > late[v]:
            continue
        if by_duration:
            _extend(seg, k, dur[u, v], service[v], early[v], late[v])
            d = seg[k + 1, 0]
        else:
            d = dst[k] + dist[u, v]
        if best >= 0 and d >= best:
            continue
        nodes += 1
        if nodes > max_nodes:
            return best, best_route, nodes, False
        route[k] = v
        used[v] = True
        dep[k + 1] = t + service[v]
        dst[k + 1] = d
        k += 1
    return best, best_route, nodes, True


#: Routes of up to this many clients are solved exactly (:func:`solve_exact`): at
#: most 9! orders, each branch cut at its first missed window or once longer than the
#: best; measured 0.002-0.03 s (up to ~92 000 branches on random 9-stop routes), where
#: the annealing spent its whole budget. 10 stops took up to 0.16 s, 11 up to 1.1 s.
EXACT_MAX_CLIENTS = 9
#: ... and the search gives up (the annealing takes over) after this many branches
#: (~0.3 s): more than 9 stops can ever make (986 409), a guard only.
EXACT_MAX_NODES = 1_000_000


def solve_exact(inst: TsptwInstance, max_nodes: int | None = None,
                by_duration: bool = False) -> TsptwResult | None:
    """The shortest route serving every client within its window (with
    ``by_duration``, the one of least duration as PyVRP counts it: travel, service and
    the waiting no later start avoids), by enumeration with bounds, for at most
    :data:`EXACT_MAX_CLIENTS` clients; its cost is the distance or the duration.
    ``None``: no such route exists. Raises ``ValueError`` for more clients,
    ``TimeoutError`` when the enumeration would take more than ``max_nodes`` branches
    (default :data:`EXACT_MAX_NODES`)."""
    n = inst.n
    if max_nodes is None:
        max_nodes = EXACT_MAX_NODES
    if n > EXACT_MAX_CLIENTS:
        raise ValueError(f"{n} clients: the exact search takes at most {EXACT_MAX_CLIENTS}")
    best, order, nodes, finished = _exact_dfs(inst.dist, inst.dur, inst.early, inst.late,
                                              inst.service, max_nodes, by_duration)
    if not finished:
        raise TimeoutError(f"more than {max_nodes} branches")
    if best < 0:
        return None
    return TsptwResult(tuple(int(v) for v in order[:n]), int(best), int(nodes), True)


#: Paths kept per (set of clients, last client) by :func:`_subset_dfs` to cut those
#: they dominate (a path over the same clients, no longer, leaving no later).
_LABELS = 4


@njit(cache=True)
def _subset_dfs(dist: I64, dur: I64, early: I64, late: I64, service: I64, demand: I64,
                capacity: I64, max_nodes: int, by_duration: bool
                ) -> tuple[I64, I64, int, bool]:  # pragma: no cover - compiled
    """Every feasible order of every subset of the clients, depth first, a path cut
    when one over the same clients to the same last client, costing no more and
    leaving no later, was expanded (up to :data:`_LABELS` such paths kept): for each
    subset (bit ``v - 1`` for client ``v``) the cheapest route serving exactly it
    within the windows and ``capacity`` (``demand`` is ``(n + 2, dims)``), or -1;
    the orders, one row per subset; nodes expanded; finished within ``max_nodes``.
    The cost is the distance, or with ``by_duration`` the duration as PyVRP counts it
    (:func:`_extend`; a path then also cuts only one that may start no later: what
    follows it can wait less). The empty subset costs 0 (the vehicle stays home).
    Times as in :func:`_exact_dfs`."""
    n = dist.shape[0] - 2
    end = n + 1
    dims = capacity.shape[0]
    size = 1 << n
    best = np.full(size, -1, dtype=np.int64)
    orders = np.zeros((size, max(n, 1)), dtype=np.int64)
    best[0] = 0
    route = np.zeros(max(n, 1), dtype=np.int64)
    used = np.zeros(n + 2, dtype=np.bool_)
    dep = np.zeros(n + 1, dtype=np.int64)
    dst = np.zeros(n + 1, dtype=np.int64)
    seg = np.zeros((n + 2, 2), dtype=np.int64)  # duration, latest start up to each depth
    load = np.zeros((n + 1, max(dims, 1)), dtype=np.int64)
    mask = np.zeros(n + 1, dtype=np.int64)
    nxt = np.ones(n + 1, dtype=np.int64)
    # the paths expanded, up to LABELS per (subset, last client): (cost, departure,
    # latest start; the last one 0 by distance)
    label_d = np.zeros((size, n + 1, _LABELS), dtype=np.int64)
    label_t = np.zeros((size, n + 1, _LABELS), dtype=np.int64)
    label_l = np.zeros((size, n + 1, _LABELS), dtype=np.int64)
    labels = np.zeros((size, n + 1), dtype=np.int64)
    dep[0] = early[0] + service[0]
    seg[0, 0], seg[0, 1] = service[0], late[0]
    k = 0
    nodes = 0
    closed = np.zeros(n + 1, dtype=np.bool_)  # depth k's path offered to its subset
    while k >= 0:
        if k > 0 and not closed[k]:  # this path, ended here
            closed[k] = True
            u = route[k - 1]
            t = dep[k] + dur[u, end]
            if t < early[end]:
                t = early[end]
            if by_duration:
                _extend(seg, k, dur[u, end], 0, early[end], late[end])
                c = seg[k + 1, 0]
            else:
                c = dst[k] + dist[u, end]
            m = mask[k]
            if t <= late[end] and (best[m] < 0 or c < best[m]):
                best[m] = c
                orders[m, :k] = route[:k]
        v = nxt[k]
        if v > n or k == n:  # every client tried at this depth
            nxt[k] = 1
            closed[k] = False
            k -= 1
            if k >= 0:
                used[route[k]] = False
            continue
        nxt[k] = v + 1
        if used[v]:
            continue
        u = route[k - 1] if k > 0 else 0
        t = dep[k] + dur[u, v]
        if t < early[v]:
            t = early[v]
        if t > late[v]:
            continue
        fits = True
        for q in range(dims):
            if load[k, q] + demand[v, q] > capacity[q]:
                fits = False
        if not fits:
            continue
        # a path over the same clients to v, costing no more and leaving no later (by
        # duration: may start no later), was expanded: whatever follows this one
        # follows it too, as well or better
        m = mask[k] | (1 << (v - 1))
        lat = 0
        if by_duration:
            _extend(seg, k, dur[u, v], service[v], early[v], late[v])
            d = seg[k + 1, 0]
            lat = seg[k + 1, 1]
        else:
            d = dst[k] + dist[u, v]
        t += service[v]
        dominated = False
        for j in range(labels[m, v]):
            if label_d[m, v, j] <= d and label_t[m, v, j] <= t and label_l[m, v, j] >= lat:
                dominated = True
                break
        if dominated:
            continue
        kept = labels[m, v]
        j = 0
        while j < kept:  # the labels this path dominates make room
            if d <= label_d[m, v, j] and t <= label_t[m, v, j] and lat >= label_l[m, v, j]:
                kept -= 1
                label_d[m, v, j] = label_d[m, v, kept]
                label_t[m, v, j] = label_t[m, v, kept]
                label_l[m, v, j] = label_l[m, v, kept]
            else:
                j += 1
        if kept < _LABELS:
            label_d[m, v, kept] = d
            label_t[m, v, kept] = t
            label_l[m, v, kept] = lat
            kept += 1
        labels[m, v] = kept
        nodes += 1
        if nodes > max_nodes:
            return best, orders, nodes, False
        route[k] = v
        used[v] = True
        dep[k + 1] = t
        dst[k + 1] = d
        for q in range(dims):
            load[k + 1, q] = load[k, q] + demand[v, q]
        mask[k + 1] = m
        k += 1
    return best, orders, nodes, True


@njit(cache=True)
def _partition_dp(costs: I64, vehicles: I64) -> tuple[I64, I64]:  # pragma: no cover
    """The cheapest way for ``vehicles`` (each a row of ``costs``: the route cost of
    every subset, -1 where none) to serve each set of clients, one disjoint subset
    each: the cost per set (-1: none) after the last vehicle, and each vehicle's
    subset in it, one row per vehicle (0: it stays home)."""
    size = costs.shape[1]
    full = size - 1
    f = np.full(size, -1, dtype=np.int64)
    f[0] = 0
    choice = np.zeros((vehicles.shape[0], size), dtype=np.int64)
    for i in range(vehicles.shape[0]):
        row = costs[vehicles[i]]
        g = f.copy()
        for m in range(size):
            if f[m] < 0:
                continue
            rest = full & ~m
            s = rest
            while s > 0:
                c = row[s]
                if c >= 0:
                    total = f[m] + c
                    if g[m | s] < 0 or total < g[m | s]:
                        g[m | s] = total
                        choice[i, m | s] = s
                s = (s - 1) & rest
        f = g
    return f, choice


#: Problems of up to this many clients, for any fleet, are solved exactly
#: (:func:`solve_fleet_exact`): every feasible order of every subset per vehicle
#: type (at most 109 600 branches at 8 clients, fewer with the dominance cut), then
#: the cheapest split of the clients among the vehicles (3^8 pairs of sets per
#: vehicle). Measured (``benchmarks.fleet_exact``): at most 0.036 s for 8 stops and
#: 40 couriers each on the road elsewhere; 10 stops took up to 0.54 s, 12 up to 6 s.
FLEET_EXACT_MAX_CLIENTS = 8


@dataclass(frozen=True, slots=True)
class FleetVehicle:
    """One vehicle type of :func:`solve_fleet_exact`: its route instance over every
    client (:class:`TsptwInstance`), its capacity per load dimension and how many
    vehicles of it there are."""

    inst: TsptwInstance
    capacity: tuple[int, ...]
    count: int


def solve_fleet_exact(
    types: Sequence[FleetVehicle],
    demand: Sequence[Sequence[int]],
    prize: Sequence[int],
    required: Sequence[bool],
    groups: Sequence[Sequence[int]] = (),
    max_nodes: int | None = None,
    by_duration: bool = False,
) -> tuple[int, list[tuple[int, tuple[int, ...]]]] | None:
    """The cheapest plan of the clients ``0..n-1`` (client ``k`` is node ``k + 1`` of
    every type's instance) for a fleet, by enumeration: travel (the routes' durations
    as PyVRP counts them with ``by_duration``: :func:`_extend`) plus the ``prize`` of
    every client left out; every ``required`` client served; at most one client of
    each of ``groups`` served; each route within the windows, its shift and its
    vehicle's capacity. ``(objective, [(type, clients in order), ...])`` (non-empty
    routes), or ``None`` when no plan serves every required client. Raises
    ``ValueError`` for more than :data:`FLEET_EXACT_MAX_CLIENTS` clients,
    ``TimeoutError`` when a type's enumeration takes more than ``max_nodes`` branches
    (default :data:`EXACT_MAX_NODES`)."""
    n = len(prize)
    if n > FLEET_EXACT_MAX_CLIENTS:
        raise ValueError(f"{n} clients: the exact fleet search takes at most "
                         f"{FLEET_EXACT_MAX_CLIENTS}")
    if max_nodes is None:
        max_nodes = EXACT_MAX_NODES
    size = 1 << n
    dims = len(types[0].capacity) if types else 0
    dem = np.zeros((n + 2, max(dims, 1)), dtype=np.int64)
    if dims:
        dem[1:n + 1, :dims] = np.asarray(demand, dtype=np.int64).reshape(n, dims)
    costs = np.full((max(len(types), 1), size), -1, dtype=np.int64)
    orders: list[I64] = []
    for t, vt in enumerate(types):
        if vt.inst.n != n:
            raise ValueError("every type's instance must hold every client")
        cap = np.zeros(max(dims, 1), dtype=np.int64)
        cap[:dims] = vt.capacity
        best, order, _nodes, finished = _subset_dfs(
            vt.inst.dist, vt.inst.dur, vt.inst.early, vt.inst.late, vt.inst.service, dem,
            cap, max_nodes, by_duration)
        if not finished:
            raise TimeoutError(f"more than {max_nodes} branches")
        costs[t] = best
        orders.append(order)
    # a vehicle beyond the n-th of its type would only stay home
    vehicles = np.asarray([t for t, vt in enumerate(types) for _ in range(min(vt.count, n))],
                          dtype=np.int64)
    f, choice = _partition_dp(costs, vehicles)
    req = sum(1 << k for k in range(n) if required[k])
    group_masks = [sum(1 << k for k in g) for g in groups]
    prizes = np.asarray([0 if required[k] else int(prize[k]) for k in range(n)],
                        dtype=np.int64)
    best_mask, best_total = -1, 0
    for m in range(size):
        if f[m] < 0 or m & req != req:
            continue
        if any((m & g).bit_count() > 1 for g in group_masks):
            continue
        left = int(sum(prizes[k] for k in range(n) if not m >> k & 1))
        total = int(f[m]) + left
        if best_mask < 0 or total < best_total:
            best_mask, best_total = m, total
    if best_mask < 0:
        return None
    routes: list[tuple[int, tuple[int, ...]]] = []
    m = best_mask
    for i in range(len(vehicles) - 1, -1, -1):
        s = int(choice[i, m])
        if s:
            t = int(vehicles[i])
            k = s.bit_count()
            routes.append((t, tuple(int(v) - 1 for v in orders[t][s, :k])))
            m &= ~s
    routes.reverse()
    return best_total, routes


@njit(cache=True)
def _greedy_route(cost: I64, dur: I64, loc: I64, early: I64, late: I64, service: I64,
                  demand: I64, group: I64, capacity: I64, start: int, end: int,
                  shift_open: int, shift_close: int, left: np.ndarray,
                  out: I64) -> int:  # pragma: no cover - compiled
    """One vehicle's route by nearest neighbour over the clients still ``left``
    (``loc`` their places in the matrices, ``demand`` ``(clients, dims)``): from
    ``start`` at ``shift_open``, each time the client of least ``cost`` of the arc
    plus the time until its service ends (short services first: more clients in the
    shift) among those it can still serve within the window, the capacity and the
    shift (back to ``end`` by ``shift_close``, none if ``end < 0``); written to
    ``out``, taken from ``left`` with the other clients of its ``group`` (``-1``:
    none). Returns how many. O(clients x route length)."""
    n = loc.shape[0]
    dims = capacity.shape[0]
    load = np.zeros(dims, dtype=np.int64)
    here = start
    now = shift_open
    k = 0
    while True:
        best = -1
        best_score = np.int64(1) << 62
        best_start = 0
        for c in range(n):
            if not left[c]:
                continue
            fits = True
            for q in range(dims):
                if load[q] + demand[c, q] > capacity[q]:
                    fits = False
                    break
            if not fits:
                continue
            at = now + dur[here, loc[c]]
            if at < early[c]:
                at = early[c]
            if at > late[c]:
                continue
            back = 0 if end < 0 else dur[loc[c], end]
            if at + service[c] + back > shift_close:
                continue
            score = cost[here, loc[c]] + (at + service[c] - now)
            if score < best_score:
                best, best_score, best_start = c, score, at
        if best < 0:
            return k
        out[k] = best
        k += 1
        left[best] = False
        if group[best] >= 0:
            for c in range(n):
                if group[c] == group[best]:
                    left[c] = False
        for q in range(dims):
            load[q] += demand[best, q]
        now = best_start + service[best]
        here = loc[best]


_ENTRY_POINTS = (_construct, _ils_chunk, _anneal_chunk, _exact_dfs, _subset_dfs,
                 _partition_dp, _nearest, _greedy_route)


def is_warm() -> bool:
    """Whether the kernels are compiled (or loaded) in this process."""
    return _compiled


def cache_ready() -> bool:
    """Whether the on-disk numba cache holds kernels this process can load.

    Checks the cache index of every entry point for an entry with this
    machine's code-generation key and the current bytecode (numba internals,
    so any surprise counts as "not ready").
    """
    try:
        for entry in _ENTRY_POINTS:
            disp: Any = entry
            cache = disp._cache
            index = cache._cache_file._load_index()
            want = cache._index_key(None, disp.targetctx.codegen())[1:]
            if not any(tuple(key[1:]) == want for key in index):
                return False
        return True
    except Exception:  # noqa: BLE001 - numba internals: treat as "not cached"
        return False


def warm_up() -> float:
    """Compile (or load from the cache) every kernel; seconds spent (0 if done)."""
    global _compiled
    with _compile_lock:
        if _compiled:
            return 0.0
        t = time.monotonic()
        rng = np.random.default_rng(0)
        n = 6
        pts = rng.uniform(0, 1000, size=(n + 2, 2))
        d = np.rint(np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1)))
        dist = d.astype(np.int64)
        early = np.zeros(n + 2, dtype=np.int64)
        late = np.full(n + 2, 10_000, dtype=np.int64)
        late[1] = 2_000
        inst = TsptwInstance(dist, dist.copy(), early, late, np.full(n + 2, 10, dtype=np.int64))
        solve_tsptw(inst, deadline=None, seed=0, max_iterations=3)
        solve_exact(inst)
        solve_fleet_exact([FleetVehicle(inst, (1,), 2)], [(1,)] * n, [5] * n, [True] * n)
        _greedy_route(dist, dist, np.arange(1, n + 1), early[1:n + 1], late[1:n + 1],
                      inst.service[1:n + 1], np.ones((n, 1), dtype=np.int64),
                      np.full(n, -1, dtype=np.int64), np.full(1, n, dtype=np.int64), 0,
                      n + 1, 0, 10_000, np.ones(n, dtype=np.bool_),
                      np.zeros(n, dtype=np.int64))
        _compiled = True
        return time.monotonic() - t


def solve_tsptw(
    inst: TsptwInstance,
    *,
    deadline: float | None,
    seed: int = 0,
    params: ILSParams | None = None,
    initial: Sequence[int] | None = None,
    max_iterations: int | None = None,
    on_chunk: Callable[[int], bool] | None = None,
    schedule: tuple[float, float] = (0.0, 1.0),
    scale: float | None = None,
    neighbours: I64 | None = None,
) -> TsptwResult | None:
    """Search until ``deadline`` (``time.monotonic``) or ``max_iterations``.

    A start is built (cheapest insertion, from ``initial`` if given) and
    descended with the penalised local search; while no feasible route is
    known the iterated local search runs. With ``params.method == "anneal"``
    the annealing takes over from the first feasible route.

    Parameters
    ----------
    inst
        The instance.
    deadline
        Wall-clock end (monotonic seconds); ``None``: only ``max_iterations``.
    seed
        Seeds the construction order and the search's random stream; with
        ``max_iterations`` and no deadline the result is deterministic.
    params
        Search knobs.
    initial
        Optional warm-start order of client numbers ``1..n`` (kept if
        feasible, the rest inserted).
    max_iterations
        Stop after this many iterations (ILS and annealing together).
    on_chunk
        ``on_chunk(best_cost) -> stop?`` called between chunks (progress,
        cancellation).
    schedule
        The part of the cooling schedule this call runs, as fractions
        ``(from, to)`` of the whole: a search split into consecutive calls
        (e.g. restarting parallel workers from the best route half-way)
        passes ``(0, 0.5)`` then ``(0.5, 1)``.
    scale
        Temperature unit in metres; default: the mean arc length of the
        first feasible route. Continuing calls pass the first call's
        :attr:`TsptwResult.scale`.
    neighbours
        The candidate lists, :func:`neighbour_lists` of ``inst`` and ``params``:
        computed once for many calls on one instance (by default, here).

    Returns
    -------
    TsptwResult | None
        ``None`` if no feasible route with every client was found. A deadline that
        passes while the start is built (thousands of stops) ends the search there:
        the start, if feasible.
    """
    p = params or ILSParams()
    n = inst.n
    if n == 0:
        ok, d = route_schedule(inst, [])
        return TsptwResult((), d, 0, True) if ok else None
    if deadline is None and max_iterations is None:
        raise ValueError("need a deadline or max_iterations")
    if p.method not in ("anneal", "ils"):
        raise ValueError(f"unknown method {p.method!r}")
    t_start = time.monotonic()
    rng = np.random.default_rng(seed)
    route = np.zeros(n + 2, dtype=np.int64)
    seq = np.asarray([v for v in (initial or ()) if 1 <= v <= n], dtype=np.int64)
    seq = seq[np.sort(np.unique(seq, return_index=True)[1])] if len(seq) else seq
    nd = np.ascontiguousarray(np.stack([inst.early, inst.late, inst.service]), dtype=np.int64)
    built = False
    for attempt, weight in enumerate(CONSTRUCTION_TIME_WEIGHTS):
        order = _insertion_order(inst, rng, p.start_order)
        s = seq if attempt == 0 else np.zeros(0, dtype=np.int64)
        if _construct(inst.dist, inst.dur, nd, s, len(s), order, route, weight):
            built = True
            break
        if deadline is not None and time.monotonic() >= deadline:
            break
    if n < 3 or (deadline is not None and time.monotonic() >= deadline):
        ok, d = route_schedule(inst, route[1 : n + 1].tolist())
        return TsptwResult(tuple(int(v) for v in route[1 : n + 1]), d, 0, built) if ok else None
    neigh = neighbour_lists(inst, p) if neighbours is None else neighbours
    best = route.copy()
    hist = np.zeros(max(1, p.history), dtype=np.int64)
    state = np.zeros(6, dtype=np.int64)
    state[0] = int(rng.integers(1, 2**62))
    total = 0
    best_cost = -1
    kept: tuple[int, I64] | None = None  # best of the runs before a kick
    last_best = -1
    last_gain = 0
    closed = bool(np.any(inst.dist[1 : n + 1, n + 1] != 0))
    per_iter = 0.0  # measured seconds per iteration
    anneal = p.method == "anneal"
    # annealing: the first call only descends from the start
    chunk = 0 if anneal else min(10, p.iterations_per_chunk)
    stopped = False
    descended = False  # the descent from the start is done (it may take many calls)
    work = max(1, DESCENT_WORK // (n + 2))
    pending = np.ones(n + 2, dtype=np.bool_)
    while True:
        if per_iter > 0:
            chunk = _chunk_size(
                per_iter, deadline, total, max_iterations, p.iterations_per_chunk, chunk
            )
        if max_iterations is not None:
            chunk = min(chunk, max_iterations - total)
        frac = _elapsed_share(t_start, deadline, total, max_iterations)
        descends = state[4] == 0  # this call starts with the initial descent
        threshold = -1
        if p.threshold_start > 0 and best_cost >= 0:
            threshold = int(best_cost * p.threshold_start * max(0.0, 1.0 - frac))
        t_call = time.monotonic()
        best_cost = int(
            _ils_chunk(
                inst.dist,
                inst.dur,
                nd,
                neigh,
                min(p.max_segment, n),
                max(1, p.max_perturb_moves),
                p.penalty,
                p.perturb_max_warp,
                route,
                best,
                hist,
                state,
                max(0, chunk),
                threshold,
                p.full_ls,
                p.perturb_block,
                p.ruin_share,
                min(p.ruin_max, n - 1, neigh.shape[1] + 1),
                pending,
                work,
            )
        )
        if descends and state[4] == 0:  # still descending: no iteration made
            if on_chunk is not None and on_chunk(best_cost):
                stopped = True
                break
            if deadline is not None and time.monotonic() >= deadline:
                stopped = True
                break
            continue
        descended = True
        if chunk > 0:  # a descent from the start counts as ~20 iterations
            spent = (time.monotonic() - t_call) / (chunk + (20 if descends else 0))
            per_iter = max(1e-6, spent if per_iter == 0 else 0.5 * per_iter + 0.5 * spent)
        total += max(0, chunk)
        if anneal and best_cost >= 0:
            break
        if anneal and chunk == 0:
            chunk = min(10, p.iterations_per_chunk)
        if best_cost >= 0 and (last_best < 0 or best_cost < last_best):
            last_best, last_gain = best_cost, total
        if p.reverse_kick > 0 and closed and best_cost >= 0 and total - last_gain >= p.reverse_kick:
            if kept is None or best_cost < kept[0]:
                kept = (best_cost, best.copy())
            route[1 : n + 1] = best[n:0:-1]
            state[4] = 0  # re-initialise: descent (repairs the windows), new history
            last_best, last_gain = -1, total
        if max_iterations is not None and total >= max_iterations:
            stopped = True
            break
        if on_chunk is not None and on_chunk(best_cost):
            stopped = True
            break
        if deadline is not None:
            now = time.monotonic()
            if now >= deadline:
                stopped = True
                break
            if (
                best_cost < 0
                and kept is None
                and now - t_start >= p.give_up_share * (deadline - t_start)
            ):
                stopped = True
                break
    if kept is not None and (best_cost < 0 or kept[0] < best_cost):
        best_cost, best = kept
    if best_cost < 0 and built and not descended:  # stopped in the descent: the start
        best_cost = route_schedule(inst, best[1 : n + 1].tolist())[1]
    if best_cost < 0:
        return None
    used_scale = 0.0
    if anneal and not stopped:
        used_scale = scale if scale is not None and scale > 0 else best_cost / (n + 1)
        best_cost, done = _anneal(
            inst,
            nd,
            neigh,
            best,
            best_cost,
            p,
            int(rng.integers(1, 2**62)),
            deadline,
            None if max_iterations is None else max_iterations - total,
            on_chunk,
            schedule,
            used_scale,
        )
        total += done
    return TsptwResult(tuple(int(v) for v in best[1 : n + 1]), best_cost, total, built, used_scale)


def _chunk_size(
    per_iter: float,
    deadline: float | None,
    total: int,
    max_iterations: int | None,
    cap: int,
    last: int | None = None,
) -> int:
    """Iterations for the next compiled call: ~CHUNK_SECONDS, never much past the
    deadline; without a deadline a fixed size, so that the schedule (and with it
    the result) does not depend on the machine's speed.

    With ``last``, at most twice that call's iterations: an iteration's cost is
    measured on the calls before, and in the search for a first feasible route it
    varies a hundredfold (a step whose kick changed nothing costs nothing); sized
    from ten such steps, one call of 1 000 iterations took 1.3 s of a 1 s budget.
    An annealing step's cost hardly varies (docs/routing.md, session 18)."""
    if deadline is None:
        return max(0, min(FIXED_CHUNK, cap, (max_iterations or FIXED_CHUNK) - total))
    chunk = int(CHUNK_SECONDS / per_iter)
    chunk = min(chunk, int((deadline - time.monotonic()) / per_iter) + 1)
    if last is not None:
        chunk = min(chunk, 2 * max(1, last))
    chunk = max(1, min(chunk, cap))
    if max_iterations is not None:
        chunk = min(chunk, max_iterations - total)
    return chunk


def _elapsed_share(
    t_start: float, deadline: float | None, done: int, max_iterations: int | None
) -> float:
    """Share of the budget used: by iterations without a deadline, else by time."""
    if max_iterations is not None and deadline is None:
        return done / max(1, max_iterations)
    if deadline is not None:
        return (time.monotonic() - t_start) / max(1e-9, deadline - t_start)
    return 0.0


def _anneal(
    inst: TsptwInstance,
    nd: I64,
    neigh: I64,
    best: I64,
    best_cost: int,
    p: ILSParams,
    rng_seed: int,
    deadline: float | None,
    max_iterations: int | None,
    on_chunk: Callable[[int], bool] | None,
    schedule: tuple[float, float],
    scale: float,
) -> tuple[int, int]:
    """Anneal from the feasible route ``best`` (updated in place); (best cost, iterations)."""
    n = inst.n
    lo, hi = schedule
    t_hot = p.anneal_start * scale
    ratio = p.anneal_end / p.anneal_start
    cur = best.copy()
    dist_t = np.ascontiguousarray(inst.dist.T)
    state = np.asarray([rng_seed, 0, best_cost, best_cost], dtype=np.int64)
    t_start = time.monotonic()
    per_iter = 0.0
    chunk = FIXED_CHUNK
    done = 0
    while max_iterations is None or done < max_iterations:
        if deadline is not None and time.monotonic() >= deadline:
            break
        if per_iter > 0:
            chunk = _chunk_size(per_iter, deadline, done, max_iterations, 1 << 30)
        elif max_iterations is not None:
            chunk = min(chunk, max_iterations - done)
        frac = min(1.0, _elapsed_share(t_start, deadline, done, max_iterations))
        temperature = t_hot * ratio ** (lo + (hi - lo) * frac)
        t_call = time.monotonic()
        best_cost = int(
            _anneal_chunk(
                inst.dist,
                inst.dur,
                nd,
                neigh,
                cur,
                best,
                state,
                chunk,
                temperature,
                max(1, min(p.string_max, n)),
                max(1, p.strings_max),
                p.blink_permille,
                min(p.max_segment, n),
                p.penalty,
                dist_t,
            )
        )
        spent = (time.monotonic() - t_call) / max(1, chunk)
        per_iter = spent if per_iter == 0 else 0.5 * per_iter + 0.5 * spent
        done += chunk
        if on_chunk is not None and on_chunk(best_cost):
            break
    return best_cost, done


if __name__ == "__main__":  # ``python -m routing.tsptw``: fill the numba cache
    print(f"routing.tsptw kernels ready in {warm_up():.1f}s")  # noqa: T201
