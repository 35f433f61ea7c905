"""QR codes on cloth and other non-flat surfaces: resampling on a deformable grid.

zxing-cpp samples a QR code on a perspective grid fitted to its finder and
alignment patterns. A symbol printed on fabric is wrinkled: locally the
modules are shifted by up to a module or more against that grid, and
Reed-Solomon gets too many wrong modules. zxing-cpp still *finds* such a
symbol (with ``return_errors=True`` it reports it with a checksum error, its
corners and its version), and that is where this decoder starts:

1. **Outline.** The symbol's four corners and its version (hence ``N``
   modules a side) come from zxing-cpp's failed read; OpenCV's ArUco-based QR
   detector's corners are a second candidate outline (with the same ``N``).
2. **Rectify.** The outline is warped to a square of ``N`` x 8 px.
3. **Local grid.** The rectified symbol is cut into overlapping tiles of 5 x 5
   modules (stride 2; if that does not decode: 3 x 3 for finer wrinkles,
   7 x 7, then one tile for the whole symbol). In each tile the horizontal and vertical gradient
   energy, summed across the tile, peaks at module boundaries; the phase of
   its Fourier component at the 8-px module period gives the tile's
   sub-module shift in x and in y. Shifts are only known modulo one module,
   so they are unwrapped from the top-left finder outward (each tile takes
   the value closest to its already-placed neighbours): this follows a
   stretch that accumulates to more than half a module across the symbol.
   Shifts are interpolated bilinearly to every module centre.
4. **Sample and re-render.** Each module is sampled at its shifted centre
   (lightly blurred image), thresholded against the local mean of 7 x 7
   modules (or the global median), and the module matrix is rendered as a
   clean symbol with a quiet zone.
5. **Decode.** zxing-cpp decodes the rendering in pure mode; the symbol's own
   Reed-Solomon code is the acceptance test (a wrongly sampled grid fails it,
   as in any QR reader). Empty or invalid results are discarded.

Only QR Code model 2 (versions 1-40); nothing is tried when zxing-cpp finds no
QR symbol with an error, so an image without one costs one QR-only zxing-cpp
pass (~1-3 ms on the corpus's photos).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray

from scanning.engines import GrayImage, Read, make_read
from scanning.symbology import Symbology
from scanning.types import Point

__all__ = ["QrGridDecoder", "resample_qr"]

logger = logging.getLogger(__name__)

#: Pixels per module of the rectified symbol.
MODULE_PX = 8
#: Tile side and stride (modules) of the local shift estimate.
TILE = 5
STRIDE = 2
#: At most this many damaged symbols are resampled per image (a label holds one or two)
MAX_SYMBOLS = 8
_QR = zxingcpp.BarcodeFormat.QRCode
_QR_ONLY = zxingcpp.barcode_formats_from_str("QRCode")

Quad = tuple[Point, Point, Point, Point]
FloatArray = NDArray[np.float64]


def _tile_phases(
    grad: NDArray[np.float32], axis: int, lo: NDArray[np.intp], hi: NDArray[np.intp], period: int
) -> FloatArray:
    """Phase offset (px, absolute coordinates, modulo `period`) of the module
    boundaries seen by each tile ``[lo[a], hi[a]) x [lo[b], hi[b])``.

    The gradient energy summed across a tile peaks at the module boundaries;
    the angle of its Fourier component at the module period gives their
    offset. Tile sums come from integral images of ``grad * exp(-2 pi i t / period)``
    (``t`` = x for ``axis=1``, y for ``axis=0``), so every tile costs four lookups.
    """
    h, w = grad.shape
    t = np.arange(w if axis == 1 else h, dtype=np.float64)
    phase = 2 * np.pi * t / period
    c, sn = np.cos(phase), np.sin(phase)
    if axis == 1:
        re, im = grad * c[None, :], -grad * sn[None, :]
    else:
        re, im = grad * c[:, None], -grad * sn[:, None]
    sums = []
    for part in (re, im):
        ii = cv2.integral(np.ascontiguousarray(part, dtype=np.float64))
        y0, y1 = lo[:, None], hi[:, None]  # tile rows a
        x0, x1 = lo[None, :], hi[None, :]  # tile columns b
        sums.append(ii[y1, x1] - ii[y0, x1] - ii[y1, x0] + ii[y0, x0])
    angle = np.arctan2(sums[1], sums[0])
    return np.asarray(-angle * period / (2 * np.pi), dtype=np.float64)


def _unwrap(d: FloatArray, period: float) -> FloatArray:
    """Choose each tile's shift (known modulo `period`) closest to its placed neighbours."""
    n = d.shape[0]
    vals = d.tolist()
    out: list[list[float | None]] = [[None] * n for _ in range(n)]
    out[0][0] = vals[0][0]
    for a, b in sorted(((a, b) for a in range(n) for b in range(n)), key=lambda t: (sum(t), t[0])):
        if a == 0 and b == 0:
            continue
        near = [
            v
            for a2, b2 in ((a - 1, b), (a, b - 1), (a - 1, b - 1), (a - 1, b + 1))
            if 0 <= a2 < n and 0 <= b2 < n and (v := out[a2][b2]) is not None
        ]
        ref = sum(near) / len(near)
        out[a][b] = vals[a][b] + period * round((ref - vals[a][b]) / period)
    return np.array(out, dtype=np.float64)


def _centres(n: int, tile: int) -> FloatArray:
    if n <= tile:
        return np.array([n / 2.0])
    c = np.arange(tile / 2.0, n - tile / 2.0 + 1e-6, STRIDE, dtype=np.float64)
    if c[-1] < n - tile / 2.0 - 0.5:
        c = np.append(c, n - tile / 2.0)
    return c


def resample_qr(gray: GrayImage, quad: Quad, n: int, tile: int = TILE) -> FloatArray:
    """Sample the `n` x `n` module values of the symbol outlined by `quad`.

    `quad` holds the symbol's outer corners (top-left, top-right,
    bottom-right, bottom-left) in `gray`'s pixels. Returns mean intensities
    (float, ``n`` x ``n``) sampled on the locally corrected grid.
    """
    k = MODULE_PX
    m = 2 * k
    side = n * k
    dst = np.array([[m, m], [m + side, m], [m + side, m + side], [m, m + side]], np.float32)
    warp = cv2.getPerspectiveTransform(np.array(quad, np.float32), dst)
    w = cv2.warpPerspective(
        gray,
        warp,
        (side + 2 * m, side + 2 * m),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    ).astype(np.float32)
    gx = np.abs(cv2.Sobel(w, cv2.CV_32F, 1, 0, ksize=3))
    gy = np.abs(cv2.Sobel(w, cv2.CV_32F, 0, 1, ksize=3))
    centres = _centres(n, tile)
    nc = len(centres)
    lo = (m + (centres - tile / 2) * k).astype(np.intp)
    hi = (m + (centres + tile / 2) * k).astype(np.intp)
    # boundaries sit at m + j*k on the perspective grid: the shift is the
    # phase offset minus m, wrapped to [-k/2, k/2)
    dx = (_tile_phases(gx, 1, lo, hi, k) - m + k / 2) % k - k / 2
    dy = (_tile_phases(gy, 0, lo, hi, k) - m + k / 2) % k - k / 2
    dx, dy = _unwrap(dx, k), _unwrap(dy, k)
    idx = np.arange(n) + 0.5

    def field(d: FloatArray) -> FloatArray:
        along_x = np.array([np.interp(idx, centres, d[a]) for a in range(nc)])  # (nc, n)
        return np.array([np.interp(idx, centres, along_x[:, j]) for j in range(n)]).T

    xs = m + idx[None, :] * k + field(dx)
    ys = m + idx[:, None] * k + field(dy)
    smooth = cv2.GaussianBlur(w, (0, 0), k / 4)
    vals = cv2.remap(smooth, xs.astype(np.float32), ys.astype(np.float32), cv2.INTER_LINEAR)
    return np.asarray(vals, dtype=np.float64)


def _render(dark: NDArray[np.bool_]) -> GrayImage:
    n = dark.shape[0]
    img = np.full((n + 8, n + 8), 255, np.uint8)
    img[4:-4, 4:-4] = np.where(dark, 0, 255)
    return np.asarray(np.repeat(np.repeat(img, 4, axis=0), 4, axis=1), dtype=np.uint8)


def _decode_matrix(vals: FloatArray) -> Any | None:
    local = cv2.blur(vals, (7, 7))
    for thr in (local, np.full_like(vals, float(np.median(vals)))):
        img = _render(vals < thr)
        for r in zxingcpp.read_barcodes(
            img, formats=_QR_ONLY, is_pure=True, text_mode=zxingcpp.TextMode.Plain
        ):
            if r.valid and r.format == _QR and r.bytes:
                return r
    return None


def _quad(position: Any) -> Quad:
    p = position
    return (
        (float(p.top_left.x), float(p.top_left.y)),
        (float(p.top_right.x), float(p.top_right.y)),
        (float(p.bottom_right.x), float(p.bottom_right.y)),
        (float(p.bottom_left.x), float(p.bottom_left.y)),
    )


@dataclass(frozen=True)
class QrGridDecoder:
    """QR reader for wrinkled/curved symbols (see the module docstring).

    Parameters
    ----------
    symbologies : frozenset of Symbology
        Nothing is read unless it contains ``QR_CODE``.
    use_opencv_outline : bool
        Also try the outline found by OpenCV's ArUco-based QR detector.
    """

    symbologies: frozenset[Symbology] = frozenset({Symbology.QR_CODE})
    use_opencv_outline: bool = True

    @property
    def name(self) -> str:
        """``"qr-grid"``."""
        return "qr-grid"

    def decode(self, gray: GrayImage) -> list[Read]:
        """Decode the QR symbols zxing-cpp finds in `gray` but cannot read."""
        if Symbology.QR_CODE not in self.symbologies:
            return []
        gray = np.ascontiguousarray(gray)
        failed: list[tuple[Quad, int]] = []
        for r in zxingcpp.read_barcodes(
            gray, formats=_QR_ONLY, return_errors=True, text_mode=zxingcpp.TextMode.Plain
        ):
            extra = r.extra
            version = extra.get("Version") if isinstance(extra, dict) else None
            if r.format != _QR or r.valid or not isinstance(version, str):
                continue
            if version.isdigit() and 1 <= int(version) <= 40:
                failed.append((_quad(r.position), 17 + 4 * int(version)))
        if not failed:
            return []
        reads: list[Read] = []
        # a label holds one or two QR codes; a sheet of hundreds costs ~30 ms each
        for quad, n in failed[:MAX_SYMBOLS]:
            extra_outlines = _opencv_outlines_near(gray, quad) if self.use_opencv_outline else []
            candidates = [quad] + [q for q in extra_outlines if _inside(_centre(q), quad)]
            read = self._read_one(gray, candidates, n)
            if read is not None and all(x.text != read.text for x in reads):
                reads.append(read)
        return reads

    @staticmethod
    def _read_one(gray: GrayImage, outlines: list[Quad], n: int) -> Read | None:
        for quad in outlines:
            for tile in (TILE, TILE - 2, TILE + 2, n):
                r = _decode_matrix(resample_qr(gray, quad, n, tile))
                if r is not None:
                    logger.debug("qr-grid read %r (%d modules, tile %d)", r.text, n, tile)
                    return make_read(Symbology.QR_CODE, r.text, bytes(r.bytes), quad)
        return None


def _centre(q: Quad) -> Point:
    return (sum(p[0] for p in q) / 4.0, sum(p[1] for p in q) / 4.0)


def _inside(pt: Point, q: Quad) -> bool:
    contour = np.array(q, dtype=np.float32).reshape(-1, 1, 2)
    return cv2.pointPolygonTest(contour, (float(pt[0]), float(pt[1])), False) >= 0


def _opencv_outlines_near(gray: GrayImage, quad: Quad) -> list[Quad]:
    """OpenCV's outlines in a window around `quad` (its bounding box, half as large
    again on every side). On the whole image, OpenCV's detector takes time growing
    with the cube of the finder patterns in it: 625 damaged QR symbols on a 400 KB
    PNG took 218 s."""
    xs, ys = [p[0] for p in quad], [p[1] for p in quad]
    mx, my = (max(xs) - min(xs)) / 2, (max(ys) - min(ys)) / 2
    h, w = gray.shape
    x0, y0 = max(0, int(min(xs) - mx)), max(0, int(min(ys) - my))
    x1, y1 = min(w, int(max(xs) + mx) + 1), min(h, int(max(ys) + my) + 1)
    if x1 <= x0 or y1 <= y0:
        return []
    out: list[Quad] = []
    for q in _opencv_outlines(np.ascontiguousarray(gray[y0:y1, x0:x1])):
        a, b, c, d = ((x + x0, y + y0) for x, y in q)
        out.append((a, b, c, d))
    return out


def _opencv_outlines(gray: GrayImage) -> list[Quad]:
    try:
        ok, points = cv2.QRCodeDetectorAruco().detect(gray)
    except cv2.error:
        return []
    if not ok or points is None:
        return []
    p = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    if len(p) != 4:
        return []
    return [((p[0, 0], p[0, 1]), (p[1, 0], p[1, 1]), (p[2, 0], p[2, 1]), (p[3, 0], p[3, 1]))]
