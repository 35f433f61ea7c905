"""A blur-tolerant EAN-13 / UPC-A reader (model fitting instead of edge detection).

zxing-cpp and ZBar binarise the image and measure bar widths from edges; a
defocused photo of a small EAN-13 (modules of 1-2 px, blur of about one
module) has no usable edges left, although the averaged intensity profile
across the bars still carries the information. This reader fits the known
structure of the symbol to such a profile:

1. **Scan lines.** Bands of rows (and of columns, for vertical codes) are
   averaged into 1-D intensity profiles (averaging along the bars removes
   noise without blurring across them).
2. **Geometry.** 35 of the 95 modules of every EAN-13 are the same whatever
   the digits: the guards (101, 01010, 101) and the first and last module of
   each digit (left digits start with a space and end with a bar, right
   digits the reverse), plus the quiet zone. For every module width on a
   geometric grid and every start offset (quarter-module steps), the profile's
   mean intensity per module is correlated with this *skeleton* (unknown
   modules grey, blurred by about one module); the best hypotheses are
   refined on a finer grid of start, module width and blur width.
3. **Digits.** The profile is resampled at 4 points per module. For each digit
   position every candidate pattern (L and G sets on the left, R on the
   right) is rendered with its neighbours, blurred by a Gaussian of the fitted
   width and fitted to the samples with a local affine intensity model (dark
   bars: negative gain only); the residual gives a cost per candidate. Two
   more rounds re-render the neighbours with the current best digits.
4. **Constraints.** A dynamic programme over the 12 digit positions finds the
   two cheapest digit sequences that have a valid L/G parity pattern (which
   encodes the first digit) and a valid check digit. A line's read is kept
   only if the whole rendered model explains the profile (correlation), the
   constrained read is close to the unconstrained per-digit optimum, and the
   runner-up sequence is clearly worse (cost margin).
5. **Agreement.** A value is reported only if at least two scan lines give
   it and no other value got as much support; a wrong read is worse than a
   miss.

At most ``max_lines`` (scan line, geometry) hypotheses are decoded per image,
best skeleton score first, which bounds the time (about 60-150 ms on a 240 px
image on the reference machine -- too slow for the default ladder, see
``docs/scanning.md``).

Both reading directions are tried (the skeleton is mirror-symmetric, so the
geometry is searched once). Reports ``EAN13``; :func:`scanning.engines.make_read`
turns a leading ``0`` into ``UPCA``. EAN-8 and UPC-E are not handled.
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


def _gauss(sigma: float) -> FloatArray:
    radius = max(1, math.ceil(3 * sigma))
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    k = np.exp(-0.5 * (x / max(sigma, 1e-3)) ** 2)
    return np.asarray(k / k.sum(), dtype=np.float64)


def _blur(signal: FloatArray, sigma: float) -> FloatArray:
    k = _gauss(sigma)
    r = len(k) // 2
    full = np.convolve(signal, k, mode="full")
    return np.asarray(full[r : r + len(signal)], dtype=np.float64)


def _render(modules: FloatArray, sigma_modules: float) -> FloatArray:
    return _blur(np.repeat(modules, S), sigma_modules * S)


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
_COARSE_TEMPLATE = _blur(SKELETON, 0.5)
_COARSE_T = np.where(_KNOWN, _COARSE_TEMPLATE - _COARSE_TEMPLATE[_KNOWN].mean(), 0.0)
_COARSE_TN = float(np.sqrt((_COARSE_T**2).sum()))
_COARSE_MASK = _KNOWN.astype(np.float64)
_NK = float(_COARSE_MASK.sum())


def _coarse(
    profiles: FloatArray, min_module: float, keep: int
) -> list[list[tuple[float, float, float]]]:
    """Best (score, x0, w) hypotheses per profile (rows of `profiles`).

    Score: correlation of the profile's mean intensity per module with the
    fixed modules, over a geometric grid of module widths and half-module
    start offsets.
    """
    n_prof, n = profiles.shape
    cs = np.concatenate([np.zeros((n_prof, 1)), np.cumsum(profiles, axis=1)], axis=1)
    max_module = n / (N_MOD + 1)
    hyps: list[list[tuple[float, float, float]]] = [[] for _ in range(n_prof)]
    w = min_module
    while w <= max_module:
        for phase in (0.0, 0.5):
            x = np.arange(phase * w, n, w)
            if len(x) < N_MOD + 1:
                continue
            i0 = np.minimum(x.astype(np.int64), n - 1)
            fr = x - i0
            c = cs[:, i0] * (1 - fr) + cs[:, i0 + 1] * fr
            m = np.diff(c, axis=1) / w  # (n_prof, n_modules)
            win = np.lib.stride_tricks.sliding_window_view(m, N_MOD, axis=1)
            num = win @ _COARSE_T
            s1 = win @ _COARSE_MASK
            s2 = np.lib.stride_tricks.sliding_window_view(m * m, N_MOD, axis=1) @ _COARSE_MASK
            var = np.maximum(s2 - s1 * s1 / _NK, 1e-9)
            ncc = -num / (np.sqrt(var) * _COARSE_TN)
            k = np.argmax(ncc, axis=1)
            for p in range(n_prof):
                hyps[p].append((float(ncc[p, k[p]]), float(x[k[p]]) + Q * w, w))
        w *= 1.05
    out: list[list[tuple[float, float, float]]] = []
    for hp in hyps:
        hp.sort(reverse=True)
        chosen: list[tuple[float, float, float]] = []
        for h in hp:
            if all(abs(h[1] - c[1]) > 8 * c[2] or abs(h[2] / c[2] - 1) > 0.12 for c in chosen):
                chosen.append(h)
                if len(chosen) == keep:
                    break
        out.append(chosen)
    return out


_SIGMAS = (0.3, 0.5, 0.7, 0.9, 1.1, 1.3, 1.6)
_KNOWN_SAMPLES = np.repeat(_KNOWN, S)
_SKEL_RENDER = {s: _render(SKELETON, s) for s in _SIGMAS}


def _samples(profile: FloatArray, x0: FloatArray, w: FloatArray) -> FloatArray:
    """Profile at S points per module for hypotheses (x0, w) -> (n_hyp, N_MOD * S)."""
    offs = (np.arange(N_MOD * S, dtype=np.float64) + 0.5) / S - Q
    x = x0[:, None] + offs[None, :] * w[:, None]
    return np.asarray(
        np.interp(x, np.arange(len(profile), dtype=np.float64), profile), dtype=np.float64
    )


def _ncc_rows(y: FloatArray, t: FloatArray) -> FloatArray:
    yc = y - y.mean(axis=1, keepdims=True)
    tc = t - t.mean()
    den = np.sqrt((yc * yc).sum(axis=1) * (tc * tc).sum()) + 1e-9
    return np.asarray(-(yc @ tc) / den, dtype=np.float64)


def _refine(
    profile: FloatArray,
    x0: float,
    w: float,
    modules: FloatArray | None = None,
    span: float = 2.0,
    steps: int = 17,
    sigma_near: float | None = None,
) -> tuple[float, float, float, float]:
    """Local search of start, module width and blur; returns (score, x0, w, sigma).

    Without `modules`, only the fixed modules are compared (skeleton); with
    them, the whole rendered symbol.
    """
    dx = np.linspace(-span, span, steps) * w
    dw = np.linspace(-0.04, 0.04, 9) * w
    gx, gw = np.meshgrid(x0 + dx, w + dw)
    xs, ws = gx.ravel(), gw.ravel()
    y = _samples(profile, xs, ws)
    best = (-2.0, x0, w, _SIGMAS[0])
    sel = _KNOWN_SAMPLES if modules is None else slice(None)
    y = y[:, sel]
    sigmas: tuple[float, ...] = _SIGMAS
    if sigma_near is not None:
        i = _SIGMAS.index(sigma_near)
        sigmas = _SIGMAS[max(0, i - 1) : i + 2]
    for s in sigmas:
        t = _SKEL_RENDER[s] if modules is None else _render(modules, s)
        ncc = _ncc_rows(y, t[sel])
        k = int(np.argmax(ncc))
        if ncc[k] > best[0]:
            best = (float(ncc[k]), float(xs[k]), float(ws[k]), s)
    return best


# ------------------------------------------------------------------ digits


@dataclass
class _Cands:
    """Blurred renderings of every digit candidate in its 9-module window.

    Rows: left candidates (L 0-9, G 0-9), then right (R 0-9), then an
    "unknown" digit of seven grey modules.
    """

    table: FloatArray  # (31, 9*S)


_CANDS: dict[float, _Cands] = {}
_UNKNOWN = 30


def _cands(sigma: float) -> _Cands:
    if sigma not in _CANDS:
        pad = np.zeros(1)
        codes = [*LEFT, *RIGHT, np.full(7, 0.5)]
        table = np.array([_render(np.concatenate([pad, c, pad]), sigma) for c in codes])
        _CANDS[sigma] = _Cands(table)
    return _CANDS[sigma]


_WIN = np.array([np.arange((Q + st - 1) * S, (Q + st + 8) * S) for st in DIGIT_START])
_DIGIT_MODULES = np.array([np.arange(Q + st, Q + st + 7) for st in DIGIT_START])
_ALL_CODES = np.concatenate([LEFT, RIGHT])


def _fit_costs(y: FloatArray, model: FloatArray) -> FloatArray:
    """Cost of explaining windows `y` (..., n) by `model` (..., k, n) with dark bars."""
    n = y.shape[-1]
    yc = y - y.mean(axis=-1, keepdims=True)
    mc = model - model.mean(axis=-1, keepdims=True)
    sxy = np.einsum("...kn,...n->...k", mc, yc)
    sxx = (mc * mc).sum(axis=-1) + 1e-9
    syy = (yc * yc).sum(axis=-1)[..., None]
    sse = np.where(sxy < 0, syy - sxy * sxy / sxx, syy)
    floor = n * 1.0  # grey levels squared: perfect fits stay finite
    return np.asarray(0.5 * n / S * np.log(np.maximum(sse, 0.0) + floor), dtype=np.float64)


def _digit_costs(
    y: FloatArray, sigma: float, rounds: int = 3
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Cost of every candidate at every position: (6, 20) left and (6, 10) right.

    All positions are updated together in each round, with the neighbours'
    blur spill rendered from the previous round's best candidates. Also
    returns the modules of the final per-position best candidates.
    """
    table = _cands(sigma).table
    choice = np.full(12, _UNKNOWN)
    modules = SKELETON.copy()
    yw = y[_WIN]  # (12, 9*S)
    left = np.zeros((6, 20))
    right = np.zeros((6, 10))
    for _ in range(rounds):
        full = _render(modules, sigma)
        base = full[_WIN] - table[choice]  # window without the digit's own contribution
        left = _fit_costs(yw[:6], base[:6, None, :] + table[None, :20])
        right = _fit_costs(yw[6:], base[6:, None, :] + table[None, 20:30])
        choice = np.concatenate([left.argmin(axis=1), 20 + right.argmin(axis=1)])
        modules = SKELETON.copy()
        modules[_DIGIT_MODULES] = _ALL_CODES[choice]
    return left, right, modules


def _two_best(left: FloatArray, right: FloatArray) -> list[tuple[float, str]]:
    """The two cheapest (cost, 13-digit text) with valid parity and check digit."""
    d0s = np.arange(10)
    # costs[d0, pos, digit]
    lc = np.stack(
        [left[np.arange(6)[:, None], PARITY[d][:, None] * 10 + np.arange(10)] for d in d0s]
    )
    costs = np.concatenate([lc, np.broadcast_to(right, (10, 6, 10))], axis=1)
    inf = np.inf
    value = np.full((10, 10, 2), inf)  # [d0, state (sum mod 10), k]
    value[d0s, d0s % 10, 0] = 0.0
    back: list[NDArray[np.int64]] = []
    digits = np.arange(10)
    for pos in range(12):
        wt = int(WEIGHTS[pos])
        prev_state = (np.arange(10)[:, None] - wt * digits[None, :]) % 10  # [s', d]
        total = value[:, prev_state, :] + costs[:, pos, None, :, None]  # [d0, s', d, k]
        flat = total.reshape(10, 10, 20)
        order = np.argsort(flat, axis=2)[:, :, :2]
        value = np.take_along_axis(flat, order, axis=2)
        back.append(order)  # index = d * 2 + k
    results: list[tuple[float, str]] = []
    final = value[:, 0, :]  # [d0, k]
    for idx in np.argsort(final, axis=None)[:2]:
        d0, k = divmod(int(idx), 2)
        cost = float(final[d0, k])
        if not math.isfinite(cost):
            continue
        state, seq = 0, []
        for pos in range(11, -1, -1):
            code = int(back[pos][d0, state, k])
            d, k = divmod(code, 2)
            seq.append(d)
            state = (state - int(WEIGHTS[pos]) * d) % 10
        results.append((cost, str(d0) + "".join(str(d) for d in reversed(seq))))
    return results


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
MIN_MARGIN = 4.0
#: Maximum cost excess of the valid read over the unconstrained per-digit optimum.
MAX_EXCESS = 10.0


def decode_line(profile: FloatArray, x0c: float, wc: float) -> list[LineRead]:
    """Read an EAN-13 on `profile` near start `x0c` with module width `wc`.

    Both reading directions are tried; only reads passing the fit, margin and
    excess thresholds are returned.
    """
    reads: list[LineRead] = []
    _, x0s, ws, sigma0 = _refine(profile, x0c, wc)
    for reverse in (False, True):
        x0, w, sigma = x0s, ws, sigma0
        for _ in range(2):
            y = _samples(profile, np.array([x0]), np.array([w]))[0]
            yy = y[::-1].copy() if reverse else y
            left, right, mods = _digit_costs(yy, sigma)
            m = mods[::-1].copy() if reverse else mods
            _, x0, w, sigma = _refine(profile, x0, w, m, span=1.0, steps=9, sigma_near=sigma)
        y = _samples(profile, np.array([x0]), np.array([w]))[0]
        yy = y[::-1].copy() if reverse else y
        left, right, _ = _digit_costs(yy, sigma)
        best = _two_best(left, right)
        if not best:
            continue
        cost, text = best[0]
        margin = best[1][0] - cost if len(best) > 1 else math.inf
        free = float(left.min(axis=1).sum() + right.min(axis=1).sum())
        fit = float(_ncc_rows(yy[None, :], _render(_modules_of(text), sigma))[0])
        logger.debug(
            "line x0=%.1f w=%.2f s=%.1f rev=%s %s margin=%.1f excess=%.1f fit=%.2f",
            x0,
            w,
            sigma,
            reverse,
            text,
            margin,
            cost - free,
            fit,
        )
        if fit >= MIN_FIT and margin >= MIN_MARGIN and cost - free <= MAX_EXCESS:
            reads.append(LineRead(text, x0, x0 + 95 * w, margin, fit))
    return reads


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
    vertical : bool
        Also scan columns (symbols rotated by 90 degrees).
    """

    lines: int = 10
    max_side: int = 640
    max_lines: int = 10
    min_agree: int = 2
    min_score: float = 0.3
    vertical: bool = True

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
        half = max(1, min(h, w) * f // (4 * self.lines))
        views = [view, view.T] if self.vertical else [view]
        for vi, v in enumerate(views):
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
        found: list[tuple[LineRead, int, int]] = []
        for _, vi, c, x0, mw in hyps[: self.max_lines]:
            for r in decode_line(profiles[vi][c], x0, mw):
                found.append((r, vi, c))
        return self._vote(found, half, 1.0 / f)

    def _vote(
        self, found: list[tuple[LineRead, int, int]], half: float, scale: float
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
            pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
            if vi == 1:
                pts = [(b, a) for a, b in pts]
            poly = tuple((a * scale, b * scale) for a, b in pts)
            read = make_read(Symbology.EAN13, text, text.encode("ascii"), poly)
            if read is not None:
                out.append(read)
        return out
