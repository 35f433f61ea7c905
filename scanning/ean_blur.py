"""A blur-tolerant EAN-13 / UPC-A reader (model fitting instead of edge detection).

zxing-cpp and ZBar binarise the image and measure bar widths from edges; a
defocused photo of a small EAN-13 (modules of 1-2 px, blur of about one
module) has no usable edges left, although the averaged intensity profile
across the bars still carries the information. This reader fits the known
structure of the symbol to such a profile:

1. **Orientation.** The dominant edge orientations (doubled-angle gradient
   histogram, :func:`bar_orientations`) give up to two views in which the
   bars are turned vertical.
2. **Scan lines.** Bands of rows of each view are averaged into 1-D intensity
   profiles (averaging along the bars removes noise without blurring across
   them).
3. **Geometry.** 35 of the 95 modules of every EAN-13 are the same whatever
   the digits: the guards (101, 01010, 101) and the first and last module of
   each digit (left digits start with a space and end with a bar, right
   digits the reverse), plus the quiet zone. For every module width on a
   geometric grid and every half-module start offset, the profile's mean
   intensity per module is correlated with this *skeleton* (OpenCV sliding
   correlations); the best hypotheses are refined on a finer grid of start,
   module width and *bend* (the module width changing linearly along the
   symbol: perspective), jointly with the blur kernel: Gaussians and the
   line-spread function of a uniform disc (geometric defocus). After a
   first digit estimate the geometry is refitted (twice) against the whole
   rendered symbol, down to 1/16 module and 0.25 % of the width.
4. **Digits.** The profile is resampled at 4 points per module. For each digit
   position every candidate pattern (L and G sets on the left, R on the
   right) is rendered with its neighbours, blurred by the fitted kernel and
   compared with the samples over the digit and 3 modules each side, under
   one intensity offset and gain per line (fitted to the current estimate of
   the whole symbol; dark bars: negative gain only); the residual gives a
   cost per candidate. Further
   rounds re-render the neighbours with the current best digits. All lines
   and both reading directions are processed as one batch.
5. **Constraints.** A dynamic programme over the 12 digit positions finds the
   two cheapest digit sequences that have a valid L/G parity pattern (which
   encodes the first digit) and a valid check digit. A line's read is kept
   only if the whole rendered model explains the profile (correlation), the
   constrained read is close to the unconstrained per-digit optimum, and the
   runner-up sequence is clearly worse (cost margin). A read must also come
   from the reading direction whose unconstrained rendering fits its lines
   better (a blurred symbol read backwards can give a valid sequence).
6. **Fusion.** Lines that see the same symbol (same start and module width,
   same direction) have their digit costs summed and decoded together, with
   stricter thresholds.
7. **Agreement.** A value is reported only if at least two scan lines (or one
   fused group) give it and no other value got as much support; a wrong read
   is worse than a miss.

At most ``max_lines`` (scan line, geometry) hypotheses are decoded per image,
best skeleton score first, which bounds the time (about 60-100 ms CPU on a
240-512 px image on the reference machine; it is the last step of the default
ladder, see ``docs/scanning.md``).

Reports ``EAN13``; :func:`scanning.engines.make_read` turns a leading ``0``
into ``UPCA``. EAN-8 and UPC-E are not handled.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from scanning.engines import GrayImage, Read, make_read
from scanning.symbology import Symbology

__all__ = ["BlurEanDecoder", "LineRead", "decode_line"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

_L = ("0001101", "0011001", "0010011", "0111101", "0100011",
      "0110001", "0101111", "0111011", "0110111", "0001011")  # fmt: skip
_R = tuple("".join("1" if c == "0" else "0" for c in code) for code in _L)
_G = tuple(code[::-1] for code in _R)
_PARITY = ("LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG",
           "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL")  # fmt: skip

#: Candidate patterns of a left digit (0-9 L set, then 0-9 G set) and a right digit.
LEFT = np.array([[int(b) for b in code] for code in (*_L, *_G)], dtype=np.float64)
RIGHT = np.array([[int(b) for b in code] for code in _R], dtype=np.float64)
#: PARITY[d0, i] = 1 if left digit i uses the G set when the first digit is d0.
PARITY = np.array([[c == "G" for c in p] for p in _PARITY], dtype=np.int64)

Q = 3  # quiet-zone modules modelled on each side (assumed light)
S = 4  # samples per module
N_MOD = 95 + 2 * Q
#: First module (symbol coordinates) of each of the 12 digits.
DIGIT_START = np.array([3 + 7 * i for i in range(6)] + [50 + 7 * i for i in range(6)])
#: Check-digit weights of the 12 symbol digits (the implied first digit weighs 1).
WEIGHTS = np.array([3, 1] * 6, dtype=np.int64)


def _skeleton() -> FloatArray:
    """Modules of the quiet zone + symbol: 1 bar, 0 space, 0.5 unknown."""
    m = np.full(95, 0.5)
    m[0:3] = (1, 0, 1)
    m[45:50] = (0, 1, 0, 1, 0)
    m[92:95] = (1, 0, 1)
    for i, start in enumerate(DIGIT_START):
        m[start], m[start + 6] = (0, 1) if i < 6 else (1, 0)
    return np.concatenate([np.zeros(Q), m, np.zeros(Q)])


SKELETON = _skeleton()


def _blur(signal: FloatArray, sigma: float) -> FloatArray:
    radius = max(1, math.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / max(sigma, 1e-3)) ** 2)
    full = np.convolve(signal, k / k.sum(), mode="full")
    return np.asarray(full[radius : radius + len(signal)], dtype=np.float64)


@dataclass(frozen=True)
class LineRead:
    """The read of one profile: text (13 digits) and where it lies on the profile."""

    text: str
    start: float  # profile coordinate of the left edge of the symbol's first module
    end: float
    margin: float
    fit: float


# ------------------------------------------------------------------ geometry


def _module_means(cs: FloatArray, x: FloatArray) -> FloatArray:
    """Means of the profile between consecutive positions `x` (cs: cumulative sum)."""
    c = np.interp(x, np.arange(len(cs), dtype=np.float64), cs)
    return np.asarray(np.diff(c) / np.diff(x), dtype=np.float64)


_KNOWN = SKELETON != 0.5
_COARSE_MASK = _KNOWN.astype(np.float64)
_NK = float(_COARSE_MASK.sum())


def _coarse_template(sigma: float) -> NDArray[np.float32]:
    t = _blur(SKELETON, sigma)
    t = np.where(_KNOWN, t - t[_KNOWN].mean(), 0.0)
    return np.asarray((t / np.sqrt((t**2).sum()))[None, :], dtype=np.float32)


_COARSE_T32 = _coarse_template(0.5)
_COARSE_M32 = _COARSE_MASK.astype(np.float32)[None, :]


def _slide(m: NDArray[np.float32], kernel: NDArray[np.float32]) -> NDArray[np.float32]:
    """out[:, j] = sum_k m[:, j + k] * kernel[k] for every full window (OpenCV, fast)."""
    n_out = m.shape[1] - kernel.shape[1] + 1
    out = cv2.filter2D(m, -1, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT)
    return np.asarray(out[:, :n_out], dtype=np.float32)


def _coarse(
    profiles: FloatArray, min_module: float, keep: int
) -> list[list[tuple[float, float, float]]]:
    """Best (score, x0, w) hypotheses per profile (rows of `profiles`).

    Score: correlation of the profile's mean intensity per module with the
    fixed modules, over a geometric grid of module widths and half-module
    start offsets (sliding correlations done by OpenCV's filter2D).
    """
    n_prof, n = profiles.shape
    cs = np.concatenate([np.zeros((n_prof, 1)), np.cumsum(profiles, axis=1)], axis=1)
    max_module = n / (N_MOD + 1)
    scores: list[NDArray[np.float32]] = []
    starts: list[FloatArray] = []
    widths: list[float] = []
    w = min_module
    rows = np.arange(n_prof)
    while w <= max_module:
        for phase in (0.0, 0.5):
            x = np.arange(phase * w, n, w)
            if len(x) < N_MOD + 1:
                continue
            i0 = np.minimum(x.astype(np.int64), n - 1)
            fr = x - i0
            c = cs[:, i0] * (1 - fr) + cs[:, i0 + 1] * fr
            m = (np.diff(c, axis=1) / w).astype(np.float32)  # (n_prof, n_modules)
            s1 = _slide(m, _COARSE_M32)
            s2 = _slide(m * m, _COARSE_M32)
            sd = np.sqrt(np.maximum(s2 - s1 * s1 / _NK, 1e-6))
            ncc = -_slide(m, _COARSE_T32) / sd
            k = np.argmax(ncc, axis=1)
            scores.append(ncc[rows, k])
            starts.append(x[k] + Q * w)
            widths.append(w)
        w *= 1.035
    hyps: list[list[tuple[float, float, float]]] = [[] for _ in range(n_prof)]
    if scores:
        sc = np.stack(scores, axis=1)  # (n_prof, n_grid)
        st = np.stack(starts, axis=1)
        for p in range(n_prof):
            top = np.argsort(sc[p])[::-1][: 8 * keep]
            hyps[p] = [(float(sc[p, j]), float(st[p, j]), widths[j]) for j in top]
    out: list[list[tuple[float, float, float]]] = []
    for hp in hyps:
        chosen: list[tuple[float, float, float]] = []
        for h in hp:
            if all(abs(h[1] - c[1]) > 8 * c[2] or abs(h[2] / c[2] - 1) > 0.12 for c in chosen):
                chosen.append(h)
                if len(chosen) == keep:
                    break
        out.append(chosen)
    return out


# ------------------------------------------------------------------ blur kernels
#
# Defocus is modelled by a family of point-spread functions projected on the
# scan line: Gaussians (lens aberrations, motion averaging, JPEG smoothing) and
# the line-spread function of a uniform disc (geometric defocus, sqrt(r^2-x^2)),
# each in module units. Fitting both lets the model follow a photo whichever
# shape dominates; the kernel is chosen per scan line by correlation.


def _gauss(sigma: float) -> FloatArray:
    radius = max(1, math.ceil(3 * sigma * S))
    x = np.arange(-radius, radius + 1, dtype=np.float64) / S
    k = np.exp(-0.5 * (x / max(sigma, 1e-3)) ** 2)
    return np.asarray(k / k.sum(), dtype=np.float64)


def _disc(radius: float) -> FloatArray:
    half = math.ceil(radius * S) + 1
    x = np.arange(-half, half + 1, dtype=np.float64) / S
    k = np.sqrt(np.maximum(radius * radius - x * x, 0.0))
    k = np.convolve(k, np.full(3, 1 / 3), mode="same")  # pixel integration
    return np.asarray(k / k.sum(), dtype=np.float64)


_SIGMAS = (0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.6)
_RADII = (0.7, 1.0, 1.3, 1.6, 2.0)
#: Blur kernels in sample units (S samples per module): Gaussians then discs,
#: each family ordered by width (the refinement searches neighbours).
KERNELS: tuple[FloatArray, ...] = (
    *(_gauss(s) for s in _SIGMAS),
    *(_disc(r) for r in _RADII),
)
_N_GAUSS = len(_SIGMAS)


def _neighbours(k: int) -> list[int]:
    lo, hi = (0, _N_GAUSS) if k < _N_GAUSS else (_N_GAUSS, len(KERNELS))
    return [j for j in (k - 1, k, k + 1) if lo <= j < hi]


def _conv(signal: FloatArray, kernel: FloatArray) -> FloatArray:
    r = len(kernel) // 2
    full = np.convolve(signal, kernel, mode="full")
    return np.asarray(full[r : r + len(signal)], dtype=np.float64)


def _render(modules: FloatArray, k: int) -> FloatArray:
    """Profile (S samples per module) of `modules` blurred by kernel `k`."""
    return _conv(np.repeat(modules, S), KERNELS[k])


def _basis(k: int) -> FloatArray:
    """(N_MOD, N_MOD*S): blurred footprint of each module (rendering is linear)."""
    return np.array([_render(np.eye(N_MOD)[i], k) for i in range(N_MOD)])


_BASIS = [_basis(k) for k in range(len(KERNELS))]
_KNOWN_SAMPLES = np.repeat(_KNOWN, S)
#: Skeleton renderings, known samples only, centred: (n_kernels, n_known).
_SKEL_T = np.array([_render(SKELETON, k)[_KNOWN_SAMPLES] for k in range(len(KERNELS))])
_SKEL_T -= _SKEL_T.mean(axis=1, keepdims=True)
_SKEL_T /= np.sqrt((_SKEL_T**2).sum(axis=1, keepdims=True))

_OFFS = (np.arange(N_MOD * S, dtype=np.float64) + 0.5) / S - Q


_BEND = _OFFS * (_OFFS - 95) / 95
#: Every other sample: enough for the geometry searches (the profiles are
#: blurred by half a module or more), half the work.
_HALF_SAMPLES = np.arange(N_MOD * S) % 2 == 0


def _samples(
    profile: FloatArray,
    x0: FloatArray,
    w: FloatArray,
    p: FloatArray | None = None,
    cols: NDArray[np.bool_] | None = None,
) -> FloatArray:
    """Profile at S points per module for hypotheses (x0, w, p) -> (n_hyp, N_MOD * S).

    Module u of the symbol starts at ``x0 + w * (u + p * u * (u - 95) / 95)``:
    `p` bends the module grid (the module width changes linearly along the
    symbol, from ``w * (1 - p)`` to ``w * (1 + p)``: perspective).
    `cols`: only these samples (e.g. those of the fixed modules).
    """
    offs, bend = (_OFFS, _BEND) if cols is None else (_OFFS[cols], _BEND[cols])
    off = offs[None, :] if p is None else offs[None, :] + p[:, None] * bend[None, :]
    x = x0[:, None] + off * w[:, None]
    return np.asarray(
        np.interp(x, np.arange(len(profile), dtype=np.float64), profile), dtype=np.float64
    )


def _ncc_matrix(y: FloatArray, t_unit: FloatArray) -> FloatArray:
    """Dark-bar correlation of each row of `y` with each centred unit row of `t_unit`."""
    yc = y - y.mean(axis=1, keepdims=True)
    yn = np.sqrt((yc * yc).sum(axis=1, keepdims=True)) + 1e-9
    return np.asarray(-(yc @ t_unit.T) / yn, dtype=np.float64)


def _unit(t: FloatArray) -> FloatArray:
    tc = t - t.mean(axis=-1, keepdims=True)
    return np.asarray(tc / (np.sqrt((tc * tc).sum(axis=-1, keepdims=True)) + 1e-9))


_DX = np.linspace(-2.0, 2.0, 9)
_DW = np.linspace(-0.12, 0.12, 9)
_DX_FINE = np.linspace(-1.0, 1.0, 5)
_DW_FINE = np.linspace(-0.02, 0.02, 5)


def _refine_skeleton(
    profile: FloatArray, x0: float, w: float
) -> tuple[float, float, float, float, int]:
    """Best (score, x0, w, bend, kernel) near (x0, w) against the fixed modules.

    The coarse search has no bend: on a symbol in perspective it can lock on
    one half's module width, so widths up to 12 % away are tried here.
    """
    g3 = np.meshgrid(x0 + _DX * w, w * (1 + _DW), _DP_COARSE)
    xs, ws, ps = (a.ravel() for a in g3)
    ncc = _ncc_matrix(_samples(profile, xs, ws, ps, cols=_KNOWN_SAMPLES), _SKEL_T)
    c = int(np.argmax(ncc.max(axis=1)))
    g3 = np.meshgrid(xs[c] + _DX_FINER * 2 * w, ws[c] * (1 + _DW_FINE), ps[c] + _DP_FINE)
    xs, ws, ps = (a.ravel() for a in g3)
    ncc = _ncc_matrix(_samples(profile, xs, ws, ps, cols=_KNOWN_SAMPLES), _SKEL_T)
    i, k = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    return float(ncc[i, k]), float(xs[i]), float(ws[i]), float(ps[i]), int(k)


#: Digit estimate -> geometry refinement cycles.
GEOMETRY_ROUNDS = 2
#: Lines whose rendering correlates less than this after a refit are not refitted again.
MIN_REFIT_FIT = 0.7
_DX_FINER = np.linspace(-0.25, 0.25, 5)
_DW_FINER = np.linspace(-0.005, 0.005, 5)
_DP = np.linspace(-0.15, 0.15, 7)
_DP_COARSE = np.array([-0.12, 0.0, 0.12])
_DP_FINE = np.linspace(-0.06, 0.06, 5)
_DP_FINER = np.linspace(-0.015, 0.015, 3)


def _refine_full(
    profile: FloatArray, x0: float, w: float, p: float, modules: FloatArray, k: int
) -> tuple[float, float, float, float, int]:
    """Best (score, x0, w, bend, kernel) near (x0, w, k) against the whole rendered symbol.

    Under a blur of 1.5-2 modules a module width off by 1 % misplaces the
    symbol's end by a module, so a finer search (start, width and bend,
    see :func:`_samples`) follows the coarse one.
    """
    ks = _neighbours(k)
    t = _unit(np.array([modules @ _BASIS[j][:, _HALF_SAMPLES] for j in ks]))
    g3 = np.meshgrid(x0 + _DX_FINE * w, w * (1 + _DW_FINE), p + _DP_FINE)
    xs, ws, ps = (a.ravel() for a in g3)
    ncc = _ncc_matrix(_samples(profile, xs, ws, ps, _HALF_SAMPLES), t)
    i, j = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    x0, w, p, k = float(xs[i]), float(ws[i]), float(ps[i]), ks[int(j)]
    g3 = np.meshgrid(x0 + _DX_FINER * w, w * (1 + _DW_FINER), p + _DP_FINER)
    xs, ws, ps = (a.ravel() for a in g3)
    ncc = _ncc_matrix(_samples(profile, xs, ws, ps, _HALF_SAMPLES), t)
    i, j = np.unravel_index(int(np.argmax(ncc)), ncc.shape)
    return float(ncc[i, j]), float(xs[i]), float(ws[i]), float(ps[i]), ks[int(j)]


# ------------------------------------------------------------------ digits

_UNKNOWN = 30


_DIGIT_MODULES = np.array([np.arange(Q + st, Q + st + 7) for st in DIGIT_START])
_ALL_CODES = np.concatenate([LEFT, RIGHT])


_KERNELS32 = [k.astype(np.float32)[None, :] for k in KERNELS]


def _render_batch(modules: FloatArray, ks: NDArray[np.int64]) -> FloatArray:
    """Rows of `modules` rendered with kernel ``ks[row]`` (OpenCV filter, zero border)."""
    up = np.repeat(modules, S, axis=1).astype(np.float32)
    out = np.empty(up.shape)
    for k in np.unique(ks):
        sel = ks == k
        out[sel] = cv2.filter2D(up[sel], -1, _KERNELS32[int(k)], borderType=cv2.BORDER_CONSTANT)
    return out


# Candidate costs use an intensity gain and offset fitted once (to the current
# estimate of the whole symbol), not per candidate window: under a blur of
# 1.5-2 modules a per-window gain let a wrong digit borrow contrast and fit
# its window nearly as well as the right one (measured at the true geometry
# of the defocused corpus misses: 13 -> 31 of ~100 lines read right).
#: Modules each side of a digit in its cost window (blur spill).
WIN_PAD = 3


def _cand_table(k: int) -> FloatArray:
    """(31, nW): each digit candidate (L, G, R, then unknown) in its cost window."""
    pad = np.zeros(WIN_PAD)
    codes = [*LEFT, *RIGHT, np.full(7, 0.5)]
    return np.array([_render(np.concatenate([pad, c, pad]), k) for c in codes])


_TABLES_W = np.array([_cand_table(k) for k in range(len(KERNELS))])
_WIN_W = np.array(
    [np.arange((Q + st - WIN_PAD) * S, (Q + st + 7 + WIN_PAD) * S) for st in DIGIT_START]
)


def _digit_costs(
    y: FloatArray, ks: NDArray[np.int64], rounds: int = 3
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Cost of every candidate at every position, for a batch of sample rows.

    `y` (B, N_MOD*S), `ks` (B,) kernel per row. Returns left (B, 6, 20),
    right (B, 6, 10) and the modules of the per-position best candidates
    (B, N_MOD). All positions are updated together in each round, with the
    neighbours' blur spill rendered from the previous round's best
    candidates. A candidate's cost is ``n/2 log(SSE + floor)`` over its
    window (the digit and `WIN_PAD` modules each side) of the samples
    against ``offset + gain * rendering``, offset and gain fitted once per
    round to the whole current estimate, not per candidate.
    """
    b = len(y)
    table = _TABLES_W[ks]  # (B, 31, nW)
    choice = np.full((b, 12), _UNKNOWN)
    modules = np.tile(SKELETON, (b, 1))
    yw = y[:, _WIN_W]  # (B, 12, nW)
    rows = np.arange(b)[:, None]
    n = yw.shape[-1]
    left = np.zeros((b, 6, 20))
    right = np.zeros((b, 6, 10))
    floor = n * 1.0  # grey levels squared: perfect fits stay finite
    for _ in range(rounds):
        full = _render_batch(modules, ks)  # (B, N)
        fc = full - full.mean(axis=1, keepdims=True)
        g = (fc * y).sum(axis=1) / ((fc * fc).sum(axis=1) + 1e-9)
        g = np.minimum(g, -1e-3)[:, None, None, None]  # dark bars: negative gain
        a = (y.mean(axis=1) - g[:, 0, 0, 0] * full.mean(axis=1))[:, None, None, None]
        base = full[:, _WIN_W] - table[rows, choice]
        res_l = yw[:, :6, None, :] - a - g * (base[:, :6, None, :] + table[:, None, :20])
        res_r = yw[:, 6:, None, :] - a - g * (base[:, 6:, None, :] + table[:, None, 20:30])
        left = 0.5 * n / S * np.log((res_l * res_l).sum(axis=-1) + floor)
        right = 0.5 * n / S * np.log((res_r * res_r).sum(axis=-1) + floor)
        choice = np.concatenate([left.argmin(axis=2), 20 + right.argmin(axis=2)], axis=1)
        modules = np.tile(SKELETON, (b, 1))
        modules[rows, _DIGIT_MODULES[None, :, :].reshape(1, -1)] = _ALL_CODES[choice].reshape(b, -1)
    return left, right, modules


_PAR_IDX = (PARITY[:, :, None] * 10 + np.arange(10)[None, None, :])[None]  # (1, 10, 6, 10)
_PREV_STATE = [(np.arange(10)[:, None] - int(WEIGHTS[p]) * np.arange(10)[None, :]) % 10
               for p in range(12)]  # fmt: skip


def _two_best(left: FloatArray, right: FloatArray) -> list[list[tuple[float, str]]]:
    """Per batch row, the two cheapest (cost, text) with valid parity and check digit."""
    b = len(left)
    if b == 0:
        return []
    lc = np.take_along_axis(
        np.broadcast_to(left[:, None], (b, 10, 6, 20)),
        np.broadcast_to(_PAR_IDX, (b, 10, 6, 10)),
        axis=3,
    )  # [b, d0, pos, digit]
    costs = np.concatenate([lc, np.broadcast_to(right[:, None], (b, 10, 6, 10))], axis=2)
    d0s = np.arange(10)
    value = np.full((b, 10, 10, 2), np.inf)  # [b, d0, state (sum mod 10), k]
    value[:, d0s, d0s % 10, 0] = 0.0
    back: list[NDArray[np.int64]] = []
    for pos in range(12):
        total = value[:, :, _PREV_STATE[pos], :] + costs[:, :, pos, None, :, None]
        flat = total.reshape(b, 10, 10, 20)  # [b, d0, s', d*2+k]
        first = flat.argmin(axis=3)[..., None]  # the two cheapest, in order
        v1 = np.take_along_axis(flat, first, axis=3)
        np.put_along_axis(flat, first, np.inf, axis=3)
        second = flat.argmin(axis=3)[..., None]
        v2 = np.take_along_axis(flat, second, axis=3)
        order = np.concatenate([first, second], axis=3)
        value = np.concatenate([v1, v2], axis=3)
        back.append(order)
    final = value[:, :, 0, :].reshape(b, 20)  # [b, d0*2+k]
    out: list[list[tuple[float, str]]] = []
    for r in range(b):
        res: list[tuple[float, str]] = []
        for idx in np.argsort(final[r])[:2]:
            d0, k = divmod(int(idx), 2)
            cost = float(final[r, idx])
            if not math.isfinite(cost):
                continue
            state, seq = 0, []
            for pos in range(11, -1, -1):
                d, k = divmod(int(back[pos][r, d0, state, k]), 2)
                seq.append(d)
                state = (state - int(WEIGHTS[pos]) * d) % 10
            res.append((cost, str(d0) + "".join(str(d) for d in reversed(seq))))
        out.append(res)
    return out


def _modules_of(text: str) -> FloatArray:
    m = SKELETON.copy()
    par = _PARITY[int(text[0])]
    for i, ch in enumerate(text[1:]):
        d = int(ch)
        code = LEFT[d + 10 * (par[i] == "G")] if i < 6 else RIGHT[d]
        m[Q + DIGIT_START[i] : Q + DIGIT_START[i] + 7] = code
    return m


#: Minimum correlation between the rendered symbol and the profile.
MIN_FIT = 0.9
#: Minimum cost gap (log-likelihood units) to the runner-up valid sequence.
#: The margins were set as 4 and 10 (fused) for 9-module cost windows; the
#: windows are now 13 modules (52 samples instead of 36), so both are scaled
#: by 52/36 and rounded (same evidence per sample).
MIN_MARGIN = 6.0
#: Maximum cost excess of the valid read over the unconstrained per-digit optimum.
MAX_EXCESS = 10.0


#: Minimum cost gap of a read fused over several scan lines (sum of their costs).
MIN_FUSED_MARGIN = 14.0
#: Maximum cost excess per fused line (constrained vs unconstrained optimum).
MAX_FUSED_EXCESS = 8.0
#: Minimum mean correlation of the fused read's rendering with its lines.
MIN_FUSED_FIT = 0.88
#: Lines whose unconstrained best rendering fits worse than this are not decoded.
MIN_LIVE_FIT = 0.8
#: Lines are fused when their symbol starts differ by at most this many modules.
FUSE_SHIFT = 1.5
#: Lines whose own best read fits worse than this are not fused.
MIN_FUSE_FIT = 0.8


@dataclass(frozen=True)
class FusedRead:
    """A read from the summed digit costs of scan lines crossing one symbol."""

    text: str
    members: tuple[int, ...]  # hypothesis indices
    margin: float
    excess: float
    fit: float  # mean over the members


def decode_lines(
    hyps: list[tuple[FloatArray, float, float]], views: list[int] | None = None
) -> tuple[list[list[LineRead]], list[FusedRead]]:
    """Read an EAN-13 on each (profile, start, module width) hypothesis.

    Both reading directions are tried; only reads passing the fit, margin and
    excess thresholds are returned. The digit stages run batched over all
    hypotheses and directions.

    Lines of the same view (`views`, default all one) and direction whose
    symbol extents overlap are also *fused*: their digit costs (independent
    log-likelihoods, the bands being disjoint rows) are summed and decoded
    once, which adds up evidence that each line alone is too noisy to give.
    """
    if not hyps:
        return [], []
    assert MIN_LIVE_FIT <= min(MIN_FIT, MIN_FUSE_FIT, MIN_FUSED_FIT)
    views = views or [0] * len(hyps)
    geo = [_refine_skeleton(p, x0, w) for p, x0, w in hyps]
    items = [(h, rev) for h in range(len(hyps)) for rev in (False, True)]
    x0s = np.array([geo[h][1] for h, _ in items])
    ws = np.array([geo[h][2] for h, _ in items])
    ps = np.array([geo[h][3] for h, _ in items])
    ks = np.array([geo[h][4] for h, _ in items], dtype=np.int64)

    def sample_all() -> FloatArray:
        y = np.stack(
            [
                _samples(hyps[h][0], x0s[i : i + 1], ws[i : i + 1], ps[i : i + 1])[0][
                    :: -1 if rev else 1
                ]
                for i, (h, rev) in enumerate(items)
            ]
        )
        return np.asarray(y, dtype=np.float64)

    score = np.ones(len(items))
    for _ in range(GEOMETRY_ROUNDS):  # re-fit the geometry to the whole symbol
        _, _, mods = _digit_costs(sample_all(), ks, rounds=2)
        for i, (h, rev) in enumerate(items):
            if score[i] < MIN_REFIT_FIT:  # hopeless after the first refit: not worth another
                continue
            m = mods[i][::-1].copy() if rev else mods[i]
            score[i], x0s[i], ws[i], ps[i], ks[i] = _refine_full(
                hyps[h][0], x0s[i], ws[i], ps[i], m, int(ks[i])
            )
    y = sample_all()
    left, right, mods = _digit_costs(y, ks)
    free = left.min(axis=2).sum(axis=1) + right.min(axis=2).sum(axis=1)
    free_fit = np.sum(_unit(y) * _unit(_render_batch(mods, ks)), axis=1) * -1

    def better_direction(group: list[int]) -> bool:
        """Read in the direction whose unconstrained rendering fits its lines better.

        Under heavy blur a symbol read backwards can still give a valid
        sequence with a fair fit (a G-set digit is an R-set digit reversed);
        the true direction explains the same lines better.
        """
        other = [i ^ 1 for i in group]  # items alternate forward / reversed
        return float(free_fit[group].mean()) >= float(free_fit[other].mean())

    # lines whose best unconstrained rendering fits poorly cannot pass MIN_FIT
    live = np.flatnonzero(free_fit >= MIN_LIVE_FIT)
    best: list[list[tuple[float, str]]] = [[] for _ in items]
    for li, b2 in zip(live.tolist(), _two_best(left[live], right[live]), strict=True):
        best[li] = b2
    out: list[list[LineRead]] = [[] for _ in hyps]

    def fit_of(i: int, text: str) -> float:
        model = _modules_of(text) @ _BASIS[int(ks[i])]
        return float(_ncc_matrix(y[i : i + 1], _unit(model[None]))[0, 0])

    for i, (h, rev) in enumerate(items):
        if not best[i]:
            continue
        cost, text = best[i][0]
        margin = best[i][1][0] - cost if len(best[i]) > 1 else math.inf
        fit = fit_of(i, text)
        logger.debug(
            "line x0=%.1f w=%.2f k=%d rev=%s %s margin=%.1f excess=%.1f fit=%.2f",
            x0s[i], ws[i], ks[i], rev, text, margin, cost - free[i], fit,
        )  # fmt: skip
        if (
            margin >= MIN_MARGIN
            and cost - free[i] <= MAX_EXCESS
            and fit >= MIN_FIT
            and better_direction([i])
        ):
            out[h].append(LineRead(text, x0s[i], x0s[i] + 95 * ws[i], margin, fit))

    fused: list[FusedRead] = []
    used: set[int] = set()
    order = sorted(range(len(items)), key=lambda i: -free_fit[i])
    for seed in order:
        if seed in used or free_fit[seed] < MIN_FUSE_FIT:
            continue
        sh, srev = items[seed]
        group = [seed]
        for j in order:
            jh, jrev = items[j]
            if j in used or j == seed or jrev != srev or views[jh] != views[sh]:
                continue
            if free_fit[j] < MIN_FUSE_FIT or any(items[g][0] == jh for g in group):
                continue
            # the same symbol seen by another band: same geometry up to a
            # little perspective (start within FUSE_SHIFT modules, width within 3 %)
            if (
                abs(x0s[j] - x0s[seed]) <= FUSE_SHIFT * ws[seed]
                and abs(ws[j] / ws[seed] - 1) <= 0.03
            ):
                group.append(j)
        if len(group) < 2:
            continue
        used.update(group)
        gl = left[group].sum(axis=0)[None]
        gr = right[group].sum(axis=0)[None]
        gb = _two_best(gl, gr)[0]
        if not gb:
            continue
        cost, text = gb[0]
        margin = gb[1][0] - cost if len(gb) > 1 else math.inf
        excess = cost - float(free[group].sum())
        fit = float(np.mean([fit_of(i, text) for i in group]))
        logger.debug(
            "fused %d lines rev=%s %s margin=%.1f excess=%.1f fit=%.2f",
            len(group), srev, text, margin, excess, fit,
        )  # fmt: skip
        if (
            margin >= MIN_FUSED_MARGIN
            and excess <= MAX_FUSED_EXCESS * len(group)
            and fit >= MIN_FUSED_FIT
            and better_direction(group)
        ):
            fused.append(FusedRead(text, tuple(items[i][0] for i in group), margin, excess, fit))
    return out, fused


def decode_line(profile: FloatArray, x0c: float, wc: float) -> list[LineRead]:
    """Read an EAN-13 on `profile` near start `x0c` with module width `wc`."""
    return decode_lines([(profile, x0c, wc)])[0][0]


def bar_orientations(gray: FloatArray, max_views: int = 2) -> list[float]:
    """Dominant gradient directions (degrees, (-90, 90]) of `gray`, strongest first.

    A barcode's edges all share one gradient direction (across the bars). The
    doubled-angle orientation histogram, weighted by squared gradient
    magnitude, is smoothed; its peaks (>= 30 degrees apart, >= 30 % of the
    highest) are returned. An image without edges gives ``[0.0, 90.0]``.
    """
    g = np.asarray(gray, dtype=np.float32)
    if min(g.shape) >= 200:  # a global statistic: half resolution is enough
        size = (g.shape[1] // 2, g.shape[0] // 2)
        g = np.asarray(cv2.resize(g, size, interpolation=cv2.INTER_AREA), dtype=np.float32)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    c = gx * gx - gy * gy
    sn = 2 * gx * gy
    mag = np.sqrt(c * c + sn * sn)
    if float(mag.sum()) <= 0:
        return [0.0, 90.0][:max_views]
    phi = np.arctan2(sn, c)  # doubled angle
    bins = 72
    hist = np.bincount(
        (((phi + np.pi) / (2 * np.pi) * bins).astype(np.int64) % bins).ravel(),
        weights=mag.ravel(),
        minlength=bins,
    )
    kernel = np.array([1, 2, 3, 2, 1], dtype=np.float64)
    smooth = np.convolve(np.concatenate([hist[-2:], hist, hist[:2]]), kernel / 9, "valid")
    order = np.argsort(smooth)[::-1]
    out: list[float] = []
    for i in order:
        if smooth[i] < 0.3 * smooth[order[0]] or len(out) == max_views:
            break
        lo, mid, hi = smooth[(i - 1) % bins], smooth[i], smooth[(i + 1) % bins]
        den = lo - 2 * mid + hi
        frac = 0.5 * (lo - hi) / den if den < 0 else 0.0  # parabolic peak
        theta = ((i + 0.5 + frac) / bins * 360 - 180) / 2  # degrees, gradient direction
        if all(abs((theta - t + 90) % 180 - 90) >= 30 for t in out):
            out.append(float(theta))
    return out


def _upright(view: FloatArray, theta: float) -> tuple[FloatArray, FloatArray]:
    """`view` turned so that gradient direction `theta` (degrees) becomes horizontal.

    Returns the turned image and the 2x3 affine map from its pixel
    coordinates back to `view`'s.
    """
    h, w = view.shape
    if abs(theta) > 45:  # mostly vertical bars' normal: transpose, then a small turn
        base = np.ascontiguousarray(view.T)
        back = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        theta = theta - 90 if theta > 0 else theta + 90
        theta = -theta
    else:
        base = view
        back = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    if abs(theta) < 2:
        return base, back
    bh, bw = base.shape
    m = cv2.getRotationMatrix2D((bw / 2, bh / 2), theta, 1.0)
    turned = cv2.warpAffine(
        base.astype(np.float32), m, (bw, bh), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )  # fmt: skip
    inv = cv2.invertAffineTransform(m)
    full = np.vstack([inv, [0.0, 0.0, 1.0]])
    return np.asarray(turned, dtype=np.float64), np.asarray(back @ full, dtype=np.float64)


@dataclass(frozen=True)
class BlurEanDecoder:
    """Blur-tolerant EAN-13/UPC-A decoder (see module docstring).

    Parameters
    ----------
    lines : int
        Scan bands per direction (rows, and columns if `vertical`).
    max_side : int
        Images are downscaled (area averaging) so their longer side is at
        most this many pixels.
    max_lines : int
        At most this many (scan line, geometry) hypotheses are decoded, the
        best-scoring first; bounds the time per image.
    min_agree : int
        Scan lines that must give the same value before it is reported.
    min_score : float
        Hypotheses whose skeleton correlation is below this are not decoded.
    max_views : int
        The image is turned so that the bars of each of the `max_views`
        dominant edge orientations (see :func:`bar_orientations`) are
        vertical, and scanned row-wise.
    """

    lines: int = 14
    max_side: int = 512
    max_lines: int = 14
    min_agree: int = 2
    min_score: float = 0.3
    max_views: int = 2

    @property
    def name(self) -> str:
        """``"ean-blur"``."""
        return "ean-blur"

    def decode(self, gray: GrayImage) -> list[Read]:
        """Decode EAN-13/UPC-A symbols in `gray`."""
        h, w = gray.shape
        f = min(1.0, self.max_side / max(h, w))
        view = np.asarray(gray, dtype=np.float64)
        if f < 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            view = np.asarray(cv2.resize(gray, size, interpolation=cv2.INTER_AREA), np.float64)
        # (score, view index, band centre, x0, w) over all scan lines
        hyps: list[tuple[float, int, int, float, float]] = []
        profiles: list[dict[int, FloatArray]] = []
        backs: list[FloatArray] = []
        half = max(1, min(h, w) * f // (4 * self.lines))
        for vi, theta in enumerate(bar_orientations(view, self.max_views)):
            v, back = _upright(view, theta)
            backs.append(back)
            rows = v.shape[0]
            centres = np.unique(np.linspace(rows * 0.08, rows * 0.92, self.lines).round())
            bands = {
                int(c): v[max(0, int(c - half)) : int(c + half) + 1].mean(axis=0) for c in centres
            }
            profiles.append(bands)
            if v.shape[1] < (N_MOD + 1):
                continue
            keys = list(bands)
            for c, hp in zip(
                keys, _coarse(np.stack([bands[k] for k in keys]), 1.0, 2), strict=True
            ):
                hyps.extend((sc, vi, c, x0, mw) for sc, x0, mw in hp if sc >= self.min_score)
        hyps.sort(reverse=True)
        chosen = hyps[: self.max_lines]
        reads, fused = decode_lines(
            [(profiles[vi][c], x0, mw) for _, vi, c, x0, mw in chosen], [h[1] for h in chosen]
        )
        found: list[tuple[LineRead, int, int]] = []
        for (_, vi, c, _, _), rs in zip(chosen, reads, strict=True):
            found.extend((r, vi, c) for r in rs)
        for fr in fused:  # a fused read counts as the agreement of its lines
            for h in fr.members:
                x0, mw = chosen[h][3], chosen[h][4]
                r = LineRead(fr.text, x0, x0 + 95 * mw, fr.margin, fr.fit)
                if not any(q.text == fr.text and c == chosen[h][2] for q, _, c in found):
                    found.append((r, chosen[h][1], chosen[h][2]))
        return self._vote(found, half, 1.0 / f, backs)

    def _vote(
        self,
        found: list[tuple[LineRead, int, int]],
        half: float,
        scale: float,
        backs: list[FloatArray],
    ) -> list[Read]:
        votes = Counter(r.text for r, _, _ in found)
        ranked = votes.most_common()
        out: list[Read] = []
        for text, n in ranked:
            if n < self.min_agree:
                continue
            if any(t != text and m >= n for t, m in ranked):
                logger.debug("ambiguous EAN reads %s", ranked)
                continue
            rows = [(r, vi, c) for r, vi, c in found if r.text == text]
            vi = rows[0][1]
            same = [(r, c) for r, v, c in rows if v == vi]
            x0 = min(r.start for r, _ in same)
            x1 = max(r.end for r, _ in same)
            y0 = min(c for _, c in same) - half
            y1 = max(c for _, c in same) + half
            pts = np.array([(x0, y0, 1.0), (x1, y0, 1.0), (x1, y1, 1.0), (x0, y1, 1.0)])
            back = pts @ backs[vi].T
            poly = tuple((float(a) * scale, float(b) * scale) for a, b in back)
            read = make_read(Symbology.EAN13, text, text.encode("ascii"), poly)
            if read is not None:
                out.append(read)
        return out
