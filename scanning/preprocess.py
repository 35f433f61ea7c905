"""Image variants (OpenCV) tried by the pipeline's ladder.

Every transform returns the new image and a 2x3 affine matrix mapping pixel
coordinates of the new image back to the image it was made from, so decoded
polygons can be reported in original coordinates.

Transform names (composable with ``+`` in a step spec, see
:class:`scanning.pipeline.ScanConfig`):

``gray``        the image unchanged
``up2``/``up3`` upscale (cubic); only applied to images whose longer side is at
                most ``ScanConfig.upscale_max_side``, otherwise the step is skipped
``down2``       downscale by 2 (area averaging)
``rot+45``      rotate by the given degrees (any integer), canvas enlarged
``clahe``       contrast-limited adaptive histogram equalisation
``sharpen``     unsharp mask
``blur``        3x3 Gaussian blur (removes sensor noise / JPEG blocks)
``otsu``        global Otsu threshold
``adaptive``    adaptive mean threshold
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

from scanning.types import Point

__all__ = ["Affine", "IDENTITY", "apply", "map_points", "parse_transform", "compose", "is_known"]

Affine = NDArray[np.float64]
"""2x3 affine matrix ``[[a, b, c], [d, e, f]]``: ``(x, y) -> (a x + b y + c, d x + e y + f)``."""

GrayImage = NDArray[np.uint8]

IDENTITY: Affine = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])

_ROT = re.compile(r"rot([+-]\d{1,3})")
_UP = re.compile(r"up([2-4])")


def compose(outer: Affine, inner: Affine) -> Affine:
    """Return ``outer ∘ inner`` (apply `inner` first)."""
    o = np.vstack([outer, [0.0, 0.0, 1.0]])
    i = np.vstack([inner, [0.0, 0.0, 1.0]])
    return np.asarray((o @ i)[:2], dtype=np.float64)


def map_points(affine: Affine, points: tuple[Point, ...]) -> tuple[Point, ...]:
    """Map `points` through `affine`."""
    return tuple(
        (
            float(affine[0, 0] * x + affine[0, 1] * y + affine[0, 2]),
            float(affine[1, 0] * x + affine[1, 1] * y + affine[1, 2]),
        )
        for x, y in points
    )


def scale(gray: GrayImage, factor: float) -> tuple[GrayImage, Affine]:
    """Resize by `factor` (area averaging down, cubic up)."""
    h, w = gray.shape
    nw, nh = max(1, round(w * factor)), max(1, round(h * factor))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_CUBIC
    out = cv2.resize(gray, (nw, nh), interpolation=interp)
    sx, sy = w / nw, h / nh
    return np.asarray(out, dtype=np.uint8), np.array([[sx, 0.0, 0.0], [0.0, sy, 0.0]])


def rotate(gray: GrayImage, degrees: float) -> tuple[GrayImage, Affine]:
    """Rotate counter-clockwise by `degrees`, enlarging the canvas (white border)."""
    h, w = gray.shape
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    cos, sin = abs(m[0, 0]), abs(m[0, 1])
    nw, nh = int(h * sin + w * cos + 0.5), int(h * cos + w * sin + 0.5)
    m[0, 2] += nw / 2.0 - w / 2.0
    m[1, 2] += nh / 2.0 - h / 2.0
    out = cv2.warpAffine(
        gray, m, (nw, nh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=255
    )
    back = cv2.invertAffineTransform(m)
    return np.asarray(out, dtype=np.uint8), np.asarray(back, dtype=np.float64)


def _clahe(gray: GrayImage) -> GrayImage:
    return np.asarray(cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(gray), np.uint8)


def _sharpen(gray: GrayImage) -> GrayImage:
    blur = cv2.GaussianBlur(gray, (0, 0), 2.0)
    return np.asarray(cv2.addWeighted(gray, 1.8, blur, -0.8, 0), np.uint8)


def _blur(gray: GrayImage) -> GrayImage:
    return np.asarray(cv2.GaussianBlur(gray, (3, 3), 0), np.uint8)


def _otsu(gray: GrayImage) -> GrayImage:
    _, out = cv2.threshold(gray, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return np.asarray(out, np.uint8)


def _adaptive(gray: GrayImage) -> GrayImage:
    block = max(3, (min(gray.shape) // 16) | 1)
    out = cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY, block, 5)
    return np.asarray(out, np.uint8)


_POINTWISE: dict[str, Callable[[GrayImage], GrayImage]] = {
    "gray": lambda g: g,
    "clahe": _clahe,
    "sharpen": _sharpen,
    "blur": _blur,
    "otsu": _otsu,
    "adaptive": _adaptive,
}


@dataclass(frozen=True)
class Transform:
    """A parsed transform name."""

    name: str
    kind: str
    amount: float = 0.0


def is_known(name: str) -> bool:
    """Tell whether `name` is a valid transform name."""
    return (
        name in _POINTWISE
        or name == "down2"
        or _ROT.fullmatch(name) is not None
        or _UP.fullmatch(name) is not None
    )


def parse_transform(name: str) -> Transform:
    """Parse a transform name; raise ``ValueError`` if unknown."""
    if name in _POINTWISE:
        return Transform(name, "point")
    if name == "down2":
        return Transform(name, "scale", 0.5)
    if m := _ROT.fullmatch(name):
        return Transform(name, "rotate", float(m.group(1)))
    if m := _UP.fullmatch(name):
        return Transform(name, "upscale", float(m.group(1)))
    raise ValueError(f"unknown transform {name!r}")


def apply(gray: GrayImage, t: Transform) -> tuple[GrayImage, Affine]:
    """Apply `t` to `gray`; return the new image and its map back to `gray`."""
    if t.kind == "point":
        return _POINTWISE[t.name](gray), IDENTITY
    if t.kind in ("scale", "upscale"):
        return scale(gray, t.amount)
    if t.kind == "rotate":
        return rotate(gray, t.amount)
    raise ValueError(f"unknown transform kind {t.kind!r}")  # pragma: no cover
