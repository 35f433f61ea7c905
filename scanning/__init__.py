"""Barcode scanning for postal labels (standalone: no Flask, no database).

Quick use::

    import scanning

    codes = scanning.decode(photo_bytes)          # every barcode in the photo
    ident = scanning.identify(codes, carrier_patterns={"dhl": r"JJD\\d{18}"})
    if ident.found:
        print(ident.kind, ident.item_id)

Public API
----------
decode(data, *, config=None, until=None) -> list[Barcode]
identify(barcodes, carrier_patterns=()) -> Identification
scan_label(data, carrier_patterns=(), *, config=None) -> LabelScan
Barcode, Symbology, Identification, Misread, LabelScan
ScanConfig, Scanner, Decoder, Read, ZxingDecoder, ZbarDecoder
ScanningError, UnreadableImageError, UnsupportedFormatError, ImageTooLargeError
s10 (module): is_valid_s10, s10_check_digit, parse_s10, normalize_s10, s10_product

See ``docs/scanning.md``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from scanning import s10
from scanning.engines import Decoder, Read, ZbarDecoder, ZxingDecoder
from scanning.errors import (
    ImageTooLargeError,
    ScanningError,
    UnreadableImageError,
    UnsupportedFormatError,
)
from scanning.identify import CarrierPatterns, Identification, Misread, identify
from scanning.pipeline import ScanConfig, Scanner, StopCondition
from scanning.s10 import (
    S10,
    InvalidS10Error,
    S10Product,
    is_valid_s10,
    normalize_s10,
    parse_s10,
    s10_check_digit,
    s10_product,
)
from scanning.symbology import Symbology
from scanning.types import Barcode, Point

__all__ = [
    "S10",
    "Barcode",
    "CarrierPatterns",
    "Decoder",
    "Identification",
    "ImageTooLargeError",
    "InvalidS10Error",
    "LabelScan",
    "Misread",
    "Point",
    "Read",
    "S10Product",
    "ScanConfig",
    "Scanner",
    "ScanningError",
    "StopCondition",
    "Symbology",
    "UnreadableImageError",
    "UnsupportedFormatError",
    "ZbarDecoder",
    "ZxingDecoder",
    "decode",
    "identify",
    "is_valid_s10",
    "normalize_s10",
    "parse_s10",
    "s10",
    "s10_check_digit",
    "s10_product",
    "scan_label",
]


@functools.cache
def _default_scanner() -> Scanner:
    return Scanner()


def _scanner(config: ScanConfig | None) -> Scanner:
    return _default_scanner() if config is None else Scanner(config)


def decode(
    data: bytes, *, config: ScanConfig | None = None, until: StopCondition | None = None
) -> list[Barcode]:
    """Find every barcode in a JPEG, PNG or WebP photo.

    Parameters
    ----------
    data : bytes
        The image file's contents.
    config : ScanConfig, optional
        Pipeline parameters and limits (default ``ScanConfig()``: 50 MP max).
    until : callable, optional
        Ladder stop condition (default: stop once anything is found).

    Returns
    -------
    list of Barcode
        Possibly empty. Polygons are in pixel coordinates of the full-resolution
        image *after* EXIF orientation.

    Raises
    ------
    UnreadableImageError
        Not an image, or truncated/corrupt.
    UnsupportedFormatError
        An image format other than JPEG/PNG/WebP.
    ImageTooLargeError
        More pixels (per the header) or bytes than the configured limits.
    TypeError
        If `data` is not bytes-like.
    """
    return _scanner(config).decode(data, until=until)


@dataclass(frozen=True)
class LabelScan:
    """Result of :func:`scan_label`: the codes and the identification."""

    barcodes: tuple[Barcode, ...]
    identification: Identification


def scan_label(
    data: bytes, carrier_patterns: CarrierPatterns = (), *, config: ScanConfig | None = None
) -> LabelScan:
    """Decode a label photo and identify the item.

    Unlike :func:`decode`, the preprocessing ladder keeps going until an item
    identifier (valid S10 or carrier match) is found, not merely any code --
    so a label whose QR code reads at once but whose Code 128 is blurry still
    gets the ladder.

    Parameters
    ----------
    data : bytes
    carrier_patterns : mapping or sequence of regex
    config : ScanConfig, optional

    Returns
    -------
    LabelScan

    Raises
    ------
    ScanningError
        As :func:`decode`.
    """
    named: CarrierPatterns = (
        dict(carrier_patterns)
        if isinstance(carrier_patterns, Mapping)
        else list(carrier_patterns)  # a generator must survive several identify() calls
    )

    def has_item(found: Sequence[Barcode]) -> bool:
        return identify(found, named).found

    codes = _scanner(config).decode(data, until=has_item)
    return LabelScan(tuple(codes), identify(codes, named))
