"""Deblurring pre-step for the edge-based engines (EAN-13 / UPC-A).

zxing-cpp and ZBar find bar edges; a defocused photo has soft edges that
merge narrow bars and spaces. This decoder undoes part of the blur *across*
the bars before handing the image to both engines:

1. **Orientation.** Dominant bar normals from the doubled-angle histogram of
   gradient directions (:func:`bar_normals`). Unlike a plain histogram
   weighted by squared magnitude, the doubled-angle vectors are first averaged
   over 9x9 px (parallel bars reinforce, a lone label border does not
   dominate) and the weights are capped at their 80th percentile, so a
   few strong label or background edges cannot outvote the many weak edges of
   a defocused symbol.
2. **Upright view.** The image (area-downscaled to at most `max_side`) is
   turned so that the bars are vertical; only the band of rows holding most
   of the across-bar edge energy is kept (every other row).
3. **Noise reduction along the bars** (Gaussian, sigma `along_sigma` px,
   vertical only) -- it does not blur across the bars.
4. **Super-resolution across the bars**: cubic upsampling by `upsample`
   horizontally only (the deconvolved edges need sub-pixel room).
5. **1-D Wiener deconvolution** of every row with the line-spread function
   of a uniform disc (geometric defocus), for a grid of radii 8 % apart (on
   synthetic symbols it only helps within about +-10 % of the true radius).
6. **Engines**: zxing-cpp on the deconvolved image, ZBar on its Otsu
   binarisation (ZBar's edge detector is thrown off by the deconvolution's
   ringing in the quiet zones; binarised, it reads what zxing-cpp reads).
   Both restricted to EAN-13/UPC-A.
7. **Agreement.** A value is returned only if zxing-cpp *and* ZBar read it
   on the same deconvolved image, and no other value was agreed on at an
   overlapping place. Reads are reported as engine ``deblur`` -- one engine
   for the pipeline's confirmation rules (a synthetic image is weak evidence:
   another engine, e.g. ``ean-blur``, must agree before a read is settled).

Measured (``docs/scanning.md``, "Deblurring pre-step"): synthetic symbols
defocused by a disc of up to 2 modules radius are read (both plain engines
fail from about 1.3 modules), but on the benchmark corpus the step reads no
image the default ladder misses (the defocused photos have modules of about
1.2-2 px and no recoverable fine detail left), so it is registered, not in
the default ladder. Cost: ~30 ms on a 240-400 px image, ~150 ms at 480 px.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from numpy.typing import NDArray

from scanning.engines import GrayImage, Read, ZbarDecoder, ZxingDecoder
from scanning.symbology import Symbology
from scanning.types import Point

__all__ = ["DeblurDecoder", "bar_normals", "deconvolve_rows", "disc_lsf"]

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]

_EAN: frozenset[Symbology] = frozenset({Symbology.EAN13, Symbology.UPCA})


def bar_normals(gray: NDArray[np.generic], max_views: int = 2) -> list[float]:
    """Dominant bar-normal directions (degrees, (-90, 90]) of `gray`, strongest first.

    Doubled-angle gradient orientations, averaged over 9x9 px (structure
    tensor) and weighted by their magnitude capped at the 80th percentile;
    peaks of the smoothed 72-bin histogram >= 30 % of the highest and >= 30
    degrees apart. An image without edges gives ``[0.0, 90.0]``.
    """
    g = np.asarray(gray, dtype=np.float32)
    if min(g.shape) >= 200:
        g = np.asarray(
            cv2.resize(g, (g.shape[1] // 2, g.shape[0] // 2), interpolation=cv2.INTER_AREA),
            dtype=np.float32,
        )
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    c = cv2.boxFilter(gx * gx - gy * gy, -1, (9, 9))
    s = cv2.boxFilter(2 * gx * gy, -1, (9, 9))
    mag = np.sqrt(c * c + s * s)
    cap = float(np.percentile(mag, 80))
    if cap <= 0:
        return [0.0, 90.0][:max_views]
    bins = 72
    phi = np.arctan2(s, c)
    idx = (((phi + np.pi) / (2 * np.pi) * bins).astype(np.int64) % bins).ravel()
    hist = np.bincount(idx, weights=np.minimum(mag, cap).ravel(), minlength=bins)
    kernel = np.array([1.0, 2.0, 3.0, 2.0, 1.0]) / 9
    smooth = np.convolve(np.concatenate([hist[-2:], hist, hist[:2]]), kernel, "valid")
    order = np.argsort(smooth)[::-1]
    out: list[float] = []
    for i in order:
        if smooth[i] < 0.3 * smooth[order[0]] or len(out) == max_views:
            break
        theta = ((i + 0.5) / bins * 360 - 180) / 2
        if all(abs((theta - t + 90) % 180 - 90) >= 30 for t in out):
            out.append(float(theta))
    return out


def _upright(img: NDArray[np.float32], theta: float) -> tuple[NDArray[np.float32], FloatArray]:
    """`img` turned so bar normal `theta` (degrees) is horizontal; map back."""
    back = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    if abs(theta) > 45:  # mostly horizontal bars: transpose, then a small turn
        img = np.ascontiguousarray(img.T)
        back = np.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
        theta = -(theta - 90 if theta > 0 else theta + 90)
    if abs(theta) < 1:
        return img, back
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), theta, 1.0)
    turned = cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    inv = np.vstack([cv2.invertAffineTransform(m), [0.0, 0.0, 1.0]])
    return np.asarray(turned, dtype=np.float32), np.asarray(back @ inv, dtype=np.float64)


def disc_lsf(radius: float) -> FloatArray:
    """Line-spread function of a uniform disc of `radius` px (sums to 1)."""
    n = max(1, math.ceil(radius))
    x = np.arange(-n, n + 1, dtype=np.float64)
    k = np.sqrt(np.clip(radius * radius - x * x, 0.0, None))
    if k.sum() <= 0:
        k[n] = 1.0
    return np.asarray(k / k.sum(), dtype=np.float64)


def _otf(psf: FloatArray, n: int) -> NDArray[np.float32]:
    """Transfer function of the centred 1-D `psf` for rows of length `n` (re, im pairs)."""
    k = np.zeros((1, n), np.float32)
    k[0, : len(psf)] = psf
    k = np.roll(k, -(len(psf) // 2), axis=1)
    return np.asarray(cv2.dft(k, flags=cv2.DFT_ROWS | cv2.DFT_COMPLEX_OUTPUT), np.float32)


_Spectra = tuple[NDArray[np.float32], int, int]


def _row_spectra(img: NDArray[np.float32], kernel_len: int) -> _Spectra:
    """Row DFTs of `img`, mirror-padded by >= twice the kernel length (no wrap-around)."""
    w = img.shape[1]
    n = cv2.getOptimalDFTSize(w + 4 * kernel_len)
    left = (n - w) // 2
    padded = cv2.copyMakeBorder(
        np.asarray(img, np.float32), 0, 0, left, n - w - left, cv2.BORDER_REFLECT
    )
    spec = cv2.dft(padded, flags=cv2.DFT_ROWS | cv2.DFT_COMPLEX_OUTPUT)
    return np.asarray(spec, np.float32), left, w


def _wiener(spectra: _Spectra, psf: FloatArray, noise: float) -> NDArray[np.float32]:
    spec, left, w = spectra
    h = _otf(psf, spec.shape[1])
    hr, hi = h[..., 0], h[..., 1]
    den = hr * hr + hi * hi + noise
    gr, gi = hr / den, -hi / den  # conj(H) / (|H|^2 + noise)
    fr, fi = spec[..., 0], spec[..., 1]
    prod = np.dstack([fr * gr - fi * gi, fr * gi + fi * gr])
    out = cv2.idft(prod, flags=cv2.DFT_ROWS | cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT)
    return np.asarray(out[:, left : left + w], dtype=np.float32)


def deconvolve_rows(
    img: NDArray[np.float32], psf: FloatArray, noise: float = 0.003
) -> NDArray[np.float32]:
    """Wiener deconvolution of every row of `img` by the 1-D `psf`.

    `noise` is the noise-to-signal power ratio (regularisation). Rows are
    mirror-padded by at least twice the kernel length against wrap-around.
    """
    return _wiener(_row_spectra(img, len(psf)), psf, noise)


def _to_u8(x: NDArray[np.float32]) -> GrayImage:
    lo, hi = np.percentile(x[::2, ::5], [1, 99])
    scaled = (x - lo) * (255.0 / max(float(hi - lo), 1e-6))
    return np.asarray(np.clip(scaled, 0, 255), dtype=np.uint8)


def _bbox(poly: tuple[Point, ...]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


def _overlaps(a: tuple[Point, ...], b: tuple[Point, ...]) -> bool:
    ax0, ay0, ax1, ay1 = _bbox(a)
    bx0, by0, bx1, by1 = _bbox(b)
    return ax0 <= bx1 and bx0 <= ax1 and ay0 <= by1 and by0 <= ay1


def _radius_grid(lo: float, hi: float, step: float) -> tuple[float, ...]:
    out = [lo]
    while out[-1] * step <= hi * 1.0001:
        out.append(out[-1] * step)
    return tuple(out)


#: Disc radii tried (px of the working image): the deconvolution only helps
#: within about +-10 % of the true radius (measured on synthetic symbols), so
#: the grid steps by 8 %.
DEFAULT_RADII: tuple[float, ...] = _radius_grid(1.5, 6.0, 1.08)


def _symbol_rows(view: NDArray[np.float32], margin: int = 4) -> tuple[int, int]:
    """Rows of the upright `view` holding most across-bar edge energy (the symbol's band)."""
    gx = np.abs(cv2.Sobel(view, cv2.CV_32F, 1, 0, ksize=3))
    energy = cv2.GaussianBlur(gx.mean(axis=1).reshape(-1, 1), (1, 0), sigmaX=0.01, sigmaY=3.0)
    e = np.asarray(energy, np.float64).ravel()
    peak = int(np.argmax(e))
    keep = e >= 0.5 * e[peak]
    lo = peak
    while lo > 0 and keep[lo - 1]:
        lo -= 1
    hi = peak
    while hi < len(e) - 1 and keep[hi + 1]:
        hi += 1
    return max(0, lo - margin), min(len(e), hi + 1 + margin)


@dataclass(frozen=True)
class DeblurDecoder:
    """EAN-13/UPC-A through zxing-cpp and ZBar on deconvolved views (module docstring).

    Parameters
    ----------
    radii : tuple of float
        Disc radii (px of the downscaled image) tried for the deconvolution.
    noise : float
        Wiener noise-to-signal ratio.
    upsample : int
        Upsampling factor across the bars.
    along_sigma : float
        Gaussian smoothing along the bars (px) before deconvolution.
    max_side : int
        Images are area-downscaled so their longer side is at most this.
    max_views : int
        Bar orientations tried (see :func:`bar_normals`).
    """

    radii: tuple[float, ...] = DEFAULT_RADII
    noise: float = 0.003
    upsample: int = 3
    along_sigma: float = 2.0
    max_side: int = 512
    max_views: int = 2
    _zxing: ZxingDecoder = field(init=False, repr=False, compare=False)
    _zbar: ZbarDecoder = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.radii or any(r <= 0 for r in self.radii):
            raise ValueError("radii must be positive")
        if self.noise <= 0 or self.upsample < 1 or self.max_side < 32 or self.max_views < 1:
            raise ValueError("invalid DeblurDecoder parameters")
        zx = ZxingDecoder(_EAN, try_rotate=False, try_downscale=False, try_invert=False)
        object.__setattr__(self, "_zxing", zx)
        object.__setattr__(self, "_zbar", ZbarDecoder(_EAN))

    @property
    def name(self) -> str:
        """``"deblur"``."""
        return "deblur"

    def decode(self, gray: GrayImage) -> list[Read]:
        """EAN-13/UPC-A values read by both engines on one deconvolved view of `gray`."""
        h, w = gray.shape
        if min(h, w) < 8:
            return []
        f = min(1.0, self.max_side / max(h, w))
        img = np.asarray(gray, dtype=np.float32)
        if f < 1.0:
            size = (max(1, round(w * f)), max(1, round(h * f)))
            img = np.asarray(cv2.resize(img, size, interpolation=cv2.INTER_AREA), np.float32)
        agreed: list[Read] = []
        longest = len(disc_lsf(max(self.radii) * self.upsample))
        for theta in bar_normals(img, self.max_views):
            view, back = _upright(img, theta)
            if self.along_sigma > 0:
                view = np.asarray(
                    cv2.GaussianBlur(view, (1, 0), sigmaX=0.01, sigmaY=self.along_sigma),
                    np.float32,
                )
            r0, r1 = _symbol_rows(view)
            band = view[r0:r1:2]  # smoothed along the bars: every other row is enough
            bh, bw = band.shape
            wide = np.asarray(
                cv2.resize(band, (bw * self.upsample, bh), interpolation=cv2.INTER_CUBIC),
                np.float32,
            )
            spectra = _row_spectra(wide, longest)
            # upsampled band -> upright view -> downscaled image -> input image
            to_view = np.array([[1.0 / self.upsample, 0.0, 0.0], [0.0, 2.0, float(r0)], [0, 0, 1]])
            full = np.diag([1.0 / f, 1.0 / f, 1.0]) @ np.vstack([back, [0.0, 0.0, 1.0]]) @ to_view
            for radius in self.radii:
                sharp = _to_u8(_wiener(spectra, disc_lsf(radius * self.upsample), self.noise))
                zx = self._zxing.decode(sharp)
                if not zx:
                    continue
                _, binary = cv2.threshold(sharp, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
                zb = {
                    (r.symbology, r.text) for r in self._zbar.decode(np.asarray(binary, np.uint8))
                }
                for r in zx:
                    if (r.symbology, r.text) not in zb:
                        logger.debug("deblur: %r (zxing-cpp) not confirmed by ZBar", r.text)
                        continue
                    poly = tuple(
                        (
                            float(full[0, 0] * x + full[0, 1] * y + full[0, 2]),
                            float(full[1, 0] * x + full[1, 1] * y + full[1, 2]),
                        )
                        for x, y in r.polygon
                    )
                    agreed.append(Read(r.symbology, r.text, r.raw, poly))
        return self._unambiguous(agreed)

    @staticmethod
    def _unambiguous(agreed: list[Read]) -> list[Read]:
        """One read per value; values contradicted at an overlapping place are dropped."""
        out: list[Read] = []
        for r in agreed:
            if any(o.text == r.text and o.symbology == r.symbology for o in out):
                continue
            rivals = [o for o in agreed if o.text != r.text and _overlaps(o.polygon, r.polygon)]
            if rivals:
                logger.debug("deblur: %r contradicted by %r", r.text, rivals[0].text)
                continue
            out.append(r)
        return out
