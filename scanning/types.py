"""Data types shared by the decoders, the pipeline and :func:`scanning.identify`."""

from __future__ import annotations

from dataclasses import dataclass

from scanning.symbology import Symbology

__all__ = ["Point", "Barcode"]

Point = tuple[float, float]
"""An ``(x, y)`` pixel position; ``x`` grows rightwards, ``y`` downwards."""


@dataclass(frozen=True, slots=True)
class Barcode:
    """One decoded barcode.

    Attributes
    ----------
    symbology : Symbology
        E.g. ``Symbology.CODE128`` (a :class:`str` enum: equals ``"CODE128"``).
    text : str
        The content exactly as encoded: control characters (GS 0x1D, RS 0x1E,
        EOT 0x04) are kept, and binary QR/DataMatrix bytes are mapped 1:1 to
        code points U+0000-U+00FF. See :mod:`scanning.symbology` for the EAN/UPC
        and Codabar conventions.
    raw : bytes
        The bytes the engine decoded (for 2D symbols: before character-set
        decoding; for EAN/UPC: the engine's digits, which may differ from
        `text`, e.g. a 13-digit form of a UPC-A).
    polygon : tuple of Point
        Four corners (clockwise from the symbol's top-left when the engine
        knows the orientation) in pixel coordinates of the *original* image
        at full resolution, **after** the EXIF orientation has been applied
        (i.e. the image as a viewer displays it).
    engine : str
        The decoder that read it: ``"zxing-cpp"`` or ``"zbar"`` (or a plug-in's
        name).
    variant : str
        The preprocessing step whose image was decoded, e.g. ``"gray"``,
        ``"rot+45"``, ``"clahe"``.
    """

    symbology: Symbology
    text: str
    raw: bytes
    polygon: tuple[Point, ...]
    engine: str
    variant: str = "gray"

    @property
    def center(self) -> Point:
        """Mean of the polygon's corners."""
        if not self.polygon:
            return (0.0, 0.0)
        xs = [p[0] for p in self.polygon]
        ys = [p[1] for p in self.polygon]
        return (sum(xs) / len(xs), sum(ys) / len(ys))
