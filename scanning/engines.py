"""Decoder engines behind a small :class:`Decoder` protocol.

A decoder takes an 8-bit grayscale image (``numpy.ndarray`` of shape
``(height, width)``, dtype ``uint8``) and returns :class:`Read` objects whose
polygons are in that image's pixel coordinates. The pipeline maps them back to
the original image. Engines shipped here:

- :class:`ZxingDecoder` -- zxing-cpp; reads every symbology we report.
- :class:`ZbarDecoder` -- ZBar through pyzbar; 1D codes and QR only.
- :class:`OpenCvQrDecoder` -- OpenCV's curved-surface QR reader, a late
  fallback (7-bit ASCII content only).

OpenCV's own (1D) barcode detector is deliberately absent: it reports EAN numbers
for other 1D symbologies (invented reads).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import cv2
import numpy as np
import zxingcpp
from numpy.typing import NDArray
from pyzbar import pyzbar

from scanning.symbology import Symbology, canonicalize, validate_text
from scanning.types import Point

__all__ = [
    "ALL_SYMBOLOGIES",
    "Decoder",
    "GrayImage",
    "OpenCvQrDecoder",
    "Read",
    "ZbarDecoder",
    "ZxingDecoder",
]

logger = logging.getLogger(__name__)

GrayImage = NDArray[np.uint8]
"""A 2-D ``uint8`` grayscale image."""

ALL_SYMBOLOGIES: frozenset[Symbology] = frozenset(Symbology)


@dataclass(frozen=True, slots=True)
class Read:
    """One symbol found by a :class:`Decoder`, in the decoder's input coordinates.

    Attributes
    ----------
    symbology : Symbology
    text : str
        Canonical text (see :mod:`scanning.symbology`).
    raw : bytes
        Bytes as the engine returned them.
    polygon : tuple of Point
        Corners in the pixel coordinates of the image given to the decoder.
    """

    symbology: Symbology
    text: str
    raw: bytes
    polygon: tuple[Point, ...]


@runtime_checkable
class Decoder(Protocol):
    """What the pipeline needs from a barcode engine.

    Implementations must be safe to call repeatedly, must not keep references
    to the image, and must return only reads whose text passed
    :func:`scanning.symbology.validate_text` (use :func:`make_read`).
    """

    @property
    def name(self) -> str:
        """Engine name stored in :attr:`scanning.Barcode.engine`."""
        ...

    def decode(self, gray: GrayImage) -> list[Read]:
        """Decode every symbol found in `gray` (2-D ``uint8`` array)."""
        ...


def make_read(
    symbology: Symbology, text: str, raw: bytes, polygon: tuple[Point, ...]
) -> Read | None:
    """Canonicalise and validate an engine read.

    Parameters
    ----------
    symbology : Symbology
    text : str
    raw : bytes
    polygon : tuple of Point

    Returns
    -------
    Read or None
        ``None`` (and a debug log line) if the text is impossible for the
        symbology, e.g. an EAN-13 with a bad check digit.
    """
    symbology, text = canonicalize(symbology, text)
    reason = validate_text(symbology, text)
    if reason is None and symbology.is_linear and _thickness(polygon) < MIN_LINEAR_THICKNESS:
        reason = "linear code confirmed by a single scan line only"
    if reason is not None:
        logger.debug("dropping implausible %s read %r: %s", symbology, text, reason)
        return None
    return Read(symbology, text, raw, polygon)


#: Linear reads whose polygon is thinner than this (pixels, across the bars)
#: rest on one scan line; on the benchmark corpus they were wrong 4 times out
#: of 6, so they are dropped.
MIN_LINEAR_THICKNESS = 1.5


def _thickness(polygon: tuple[Point, ...]) -> float:
    if len(polygon) < 2:
        return 0.0
    (_, _), (w, h), _ = cv2.minAreaRect(np.array(polygon, dtype=np.float32))
    return float(min(w, h))


# --------------------------------------------------------------------- zxing-cpp

_ZX_FORMATS: dict[Any, Symbology] = {
    zxingcpp.BarcodeFormat.Code128: Symbology.CODE128,
    zxingcpp.BarcodeFormat.Code39: Symbology.CODE39,
    zxingcpp.BarcodeFormat.Code39Std: Symbology.CODE39,
    zxingcpp.BarcodeFormat.Code39Ext: Symbology.CODE39,
    zxingcpp.BarcodeFormat.Code93: Symbology.CODE93,
    zxingcpp.BarcodeFormat.Codabar: Symbology.CODABAR,
    zxingcpp.BarcodeFormat.ITF: Symbology.ITF,
    zxingcpp.BarcodeFormat.ITF14: Symbology.ITF,
    zxingcpp.BarcodeFormat.EAN13: Symbology.EAN13,
    zxingcpp.BarcodeFormat.ISBN: Symbology.EAN13,
    zxingcpp.BarcodeFormat.EAN8: Symbology.EAN8,
    zxingcpp.BarcodeFormat.UPCA: Symbology.UPCA,
    zxingcpp.BarcodeFormat.UPCE: Symbology.UPCE,
    zxingcpp.BarcodeFormat.QRCode: Symbology.QR_CODE,
    zxingcpp.BarcodeFormat.QRCodeModel1: Symbology.QR_CODE,
    zxingcpp.BarcodeFormat.QRCodeModel2: Symbology.QR_CODE,
    zxingcpp.BarcodeFormat.DataMatrix: Symbology.DATA_MATRIX,
    zxingcpp.BarcodeFormat.PDF417: Symbology.PDF417,
    zxingcpp.BarcodeFormat.CompactPDF417: Symbology.PDF417,
    zxingcpp.BarcodeFormat.Aztec: Symbology.AZTEC,
    zxingcpp.BarcodeFormat.AztecCode: Symbology.AZTEC,
}

_ZX_REQUEST: dict[Symbology, str] = {
    Symbology.CODE128: "Code128",
    Symbology.CODE39: "Code39",
    Symbology.CODE93: "Code93",
    Symbology.CODABAR: "Codabar",
    Symbology.ITF: "ITF",
    Symbology.EAN13: "EAN13",
    Symbology.EAN8: "EAN8",
    Symbology.UPCA: "UPCA",
    Symbology.UPCE: "UPCE",
    Symbology.QR_CODE: "QRCode",
    Symbology.DATA_MATRIX: "DataMatrix",
    Symbology.PDF417: "PDF417",
    Symbology.AZTEC: "Aztec",
}

_ZX_BINARIZERS: dict[str, Any] = {
    "local_average": zxingcpp.Binarizer.LocalAverage,
    "global_histogram": zxingcpp.Binarizer.GlobalHistogram,
    "fixed_threshold": zxingcpp.Binarizer.FixedThreshold,
}

#: zxing-cpp refuses images with a longer side (``ValueError``)
ZXING_MAX_SIDE = 65_535

Binarizer = Literal["local_average", "global_histogram", "fixed_threshold"]


def _zx_formats(symbologies: Iterable[Symbology]) -> Any:
    names = sorted(_ZX_REQUEST[s] for s in set(symbologies))
    if not names:
        raise ValueError("at least one symbology is required")
    return zxingcpp.barcode_formats_from_str(",".join(names))


@dataclass(frozen=True)
class ZxingDecoder:
    """zxing-cpp decoder.

    Parameters
    ----------
    symbologies : frozenset of Symbology
        What to look for (default: all of :class:`Symbology`).
    try_rotate, try_downscale, try_invert : bool
        zxing-cpp's own search options (all on by default).
    binarizer : {"local_average", "global_histogram", "fixed_threshold"}
        zxing-cpp binarizer.
    """

    symbologies: frozenset[Symbology] = ALL_SYMBOLOGIES
    try_rotate: bool = True
    try_downscale: bool = True
    try_invert: bool = True
    binarizer: Binarizer = "local_average"
    _formats: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.binarizer not in _ZX_BINARIZERS:
            raise ValueError(f"unknown binarizer {self.binarizer!r}")
        object.__setattr__(self, "_formats", _zx_formats(self.symbologies))

    @property
    def name(self) -> str:
        """``"zxing-cpp"``."""
        return "zxing-cpp"

    def decode(self, gray: GrayImage) -> list[Read]:
        """Decode `gray` with zxing-cpp (text mode ``Plain``: content as encoded)."""
        if max(gray.shape[:2]) > ZXING_MAX_SIDE:
            # zxing-cpp raises ValueError; a PNG may be 70000 x 700 px within max_pixels
            # (the pipeline's downscaled working copy was read already)
            return []
        results = zxingcpp.read_barcodes(
            np.ascontiguousarray(gray),
            formats=self._formats,
            try_rotate=self.try_rotate,
            try_downscale=self.try_downscale,
            try_invert=self.try_invert,
            text_mode=zxingcpp.TextMode.Plain,
            binarizer=_ZX_BINARIZERS[self.binarizer],
        )
        reads: list[Read] = []
        for r in results:
            symbology = _ZX_FORMATS.get(r.format)
            if symbology is None or not r.valid:
                continue
            text = r.text
            if symbology is Symbology.UPCE:
                extra = r.extra
                if isinstance(extra, dict) and isinstance(extra.get("UPCE"), str):
                    text = extra["UPCE"]
            p = r.position
            polygon = tuple(
                (float(q.x), float(q.y))
                for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)
            )
            read = make_read(symbology, text, bytes(r.bytes), polygon)
            if read is not None:
                reads.append(read)
        return reads


# --------------------------------------------------------------------- ZBar

_ZBAR_TYPES: dict[str, Symbology] = {
    "CODE128": Symbology.CODE128,
    "CODE39": Symbology.CODE39,
    "CODE93": Symbology.CODE93,
    "CODABAR": Symbology.CODABAR,
    "I25": Symbology.ITF,
    "EAN13": Symbology.EAN13,
    "EAN8": Symbology.EAN8,
    "UPCA": Symbology.UPCA,
    "UPCE": Symbology.UPCE,
    "QRCODE": Symbology.QR_CODE,
}
_ZBAR_SYMBOLS: dict[Symbology, Any] = {
    s: getattr(pyzbar.ZBarSymbol, t) for t, s in _ZBAR_TYPES.items()
}

#: Symbologies ZBar can read (no DataMatrix, PDF417 or Aztec).
ZBAR_SYMBOLOGIES: frozenset[Symbology] = frozenset(_ZBAR_TYPES.values())


def _zbar_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _quad(points: Iterable[tuple[int, int]]) -> tuple[Point, ...]:
    pts = np.array(list(points), dtype=np.float32).reshape(-1, 2)
    if len(pts) == 0:
        return ()
    box = cv2.boxPoints(cv2.minAreaRect(pts))
    return tuple((float(x), float(y)) for x, y in box)


@dataclass(frozen=True)
class ZbarDecoder:
    """ZBar decoder (via pyzbar).

    Parameters
    ----------
    symbologies : frozenset of Symbology
        What to look for; symbologies ZBar cannot read are ignored. UPC-A and
        UPC-E are enabled explicitly so ZBar reports them as such instead of
        as 13-digit EAN-13.
    """

    symbologies: frozenset[Symbology] = ZBAR_SYMBOLOGIES
    _symbols: tuple[Any, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        symbols = tuple(_ZBAR_SYMBOLS[s] for s in sorted(self.symbologies & ZBAR_SYMBOLOGIES))
        object.__setattr__(self, "_symbols", symbols)

    @property
    def name(self) -> str:
        """``"zbar"``."""
        return "zbar"

    def decode(self, gray: GrayImage) -> list[Read]:
        """Decode `gray` with ZBar."""
        if not self._symbols:
            return []
        gray = np.ascontiguousarray(gray)
        height, width = gray.shape[:2]
        results = pyzbar.decode((gray.tobytes(), width, height), symbols=list(self._symbols))
        reads: list[Read] = []
        for r in results:
            symbology = _ZBAR_TYPES.get(r.type)
            if symbology is None:
                continue
            read = make_read(symbology, _zbar_text(r.data), bytes(r.data), _quad(r.polygon))
            if read is not None:
                reads.append(read)
        return reads


# --------------------------------------------------------------------- OpenCV QR


def _ascii_only(text: str) -> bool:
    return all(ord(c) < 128 for c in text)


@dataclass(frozen=True)
class OpenCvQrDecoder:
    """OpenCV's QR reader with its curved-surface sampling (QR Code only).

    ``cv2.QRCodeDetector.detectAndDecodeCurved`` fits the symbol's outline
    and resamples it along the curve, which reads some QR codes printed on
    fabric or wrapped around a bottle that zxing-cpp's perspective grid
    cannot. It is only a late fallback: slower than zxing-cpp (~15 ms median
    on the corpus) and OpenCV turns the content bytes into text as UTF-8
    without honouring the symbol's character set (a Shift-JIS or Latin-1 QR
    comes back wrong or raises). So only reads whose text is 7-bit ASCII --
    the same in every QR character set -- are returned.
    """

    symbologies: frozenset[Symbology] = frozenset({Symbology.QR_CODE})
    _detector: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_detector", cv2.QRCodeDetector())

    @property
    def name(self) -> str:
        """``"opencv-qr"``."""
        return "opencv-qr"

    def decode(self, gray: GrayImage) -> list[Read]:
        """Decode at most one QR code in `gray`."""
        if Symbology.QR_CODE not in self.symbologies:
            return []
        try:
            text, points, _ = self._detector.detectAndDecodeCurved(np.ascontiguousarray(gray))
        except (cv2.error, UnicodeDecodeError):  # non-UTF-8 content surfaces as an error
            return []
        if not text or points is None:
            return []
        if not _ascii_only(text):
            logger.debug("dropping non-ASCII OpenCV QR read %r (character set unknown)", text)
            return []
        quad = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        polygon = tuple((float(x), float(y)) for x, y in quad[:4])
        read = make_read(Symbology.QR_CODE, text, text.encode("ascii"), polygon)
        return [read] if read is not None else []
