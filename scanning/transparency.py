"""Images with an alpha channel: flattened onto white, as a viewer shows them.

OpenCV's ``IMREAD_GRAYSCALE`` drops the alpha channel and keeps the colour
stored *under* transparent pixels, which is often black. A barcode rendered
as opaque black and white modules on a transparent background then loses its
quiet zone -- and a DataMatrix its solid "L" finder, which merges with the
black background --, so nothing can read it. Image viewers, browsers and
ZXing's own Java image source show transparent pixels as white; we do the
same.

Only PNG and WebP can carry transparency. The check reads the header bytes
only (PNG colour type 4/6 or a ``tRNS`` chunk before the image data; WebP
``VP8X`` alpha flag or ``VP8L`` alpha bit), so opaque images -- every JPEG
photo -- pay nothing: they are decoded to grayscale directly as before.
"""

from __future__ import annotations

import logging
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from scanning.loading import ImageHeader, LoadedImage, apply_orientation

__all__ = ["has_alpha", "decode_flattened"]

logger = logging.getLogger(__name__)

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_MAX_PNG_CHUNKS = 64  # tRNS must precede IDAT; stop walking after this many chunks


def _png_has_alpha(data: bytes) -> bool:
    if len(data) < 33 or data[:8] != _PNG_SIGNATURE or data[12:16] != b"IHDR":
        return False
    if data[25] in (4, 6):  # grayscale + alpha, RGBA
        return True
    pos = 8
    for _ in range(_MAX_PNG_CHUNKS):
        if pos + 8 > len(data):
            return False
        length = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        if kind == b"tRNS":
            return True
        if kind in (b"IDAT", b"IEND"):
            return False
        pos += 12 + length
    return False


def _webp_has_alpha(data: bytes) -> bool:
    if len(data) < 30 or data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        return False
    chunk = data[12:16]
    if chunk == b"VP8X":
        return bool(data[20] & 0x10)
    if chunk == b"VP8L" and data[20] == 0x2F:
        bits = int.from_bytes(data[21:25], "little")
        return bool((bits >> 28) & 1)
    return False


def has_alpha(data: bytes, fmt: str) -> bool:
    """Whether the PNG/WebP header declares transparency (header bytes only).

    Parameters
    ----------
    data : bytes
        The file contents.
    fmt : str
        ``"PNG"``, ``"WEBP"`` or ``"JPEG"`` (from :func:`scanning.loading.sniff_format`).
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    if fmt == "PNG":
        return _png_has_alpha(data)
    if fmt == "WEBP":
        return _webp_has_alpha(data)
    return False


#: rows flattened at a time (bounds the temporaries' memory)
_FLATTEN_ROWS = 256
#: The most a transparent image may take decoded with its alpha, at full size and
#: in its own bit depth (4 channels, 2 bytes a sample at 16 bits). Beyond it the
#: image is decoded as plain grayscale (reduced, cheap, alpha dropped): a 373 KB
#: 16-bit 7000 x 7000 PNG took ~1.9 GB, four at once 7.7 GB. 128 MB: 8-bit RGBA to
#: 32 MP, 16-bit to 16 MP; a phone's transparent image (a screenshot) is far smaller.
MAX_DECODED_BYTES = 128 * 2**20


def _png_bytes_per_sample(data: bytes) -> int:
    """2 for a 16-bit PNG (the IHDR's bit depth), else 1."""
    return 2 if len(data) > 24 and data[12:16] == b"IHDR" and data[24] == 16 else 1


def flatten(pixels: NDArray[Any]) -> NDArray[np.uint8] | None:
    """Grayscale of a BGRA/BGR/gray array, transparent pixels shown as white.

    16-bit samples are scaled to 8 bits. Returns ``None`` for an unexpected
    shape. Works in bands of rows: no temporary is the size of the image (whole-
    image ones took ~0.5 GB at 50 MP, and a 16-bit image's 32-bit copy ~0.8 GB).
    """
    if pixels.dtype not in (np.uint8, np.uint16):
        return None
    if pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] not in (3, 4)):
        return None
    rows, cols = int(pixels.shape[0]), int(pixels.shape[1])
    channels = int(pixels.shape[-1]) if pixels.ndim == 3 else 1
    gray8 = np.empty((rows, cols), np.uint8)
    for top in range(0, rows, _FLATTEN_ROWS):
        band = pixels[top : top + _FLATTEN_ROWS]
        if band.dtype == np.uint16:
            band = (band.astype(np.uint32) // 257).astype(np.uint8)
        if channels == 1:
            gray8[top : top + _FLATTEN_ROWS] = band
        elif channels == 3:
            gray8[top : top + _FLATTEN_ROWS] = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
        else:
            # gray * a + white * (1 - a), rounded (opaque pixels keep their gray)
            gray = cv2.cvtColor(band, cv2.COLOR_BGRA2GRAY).astype(np.uint16)
            alpha = band[:, :, 3].astype(np.uint16)
            gray8[top : top + _FLATTEN_ROWS] = (gray * alpha + 255 * (255 - alpha) + 127) // 255
    return gray8


def decode_flattened(data: bytes, header: ImageHeader) -> LoadedImage | None:
    """Decode a transparent PNG/WebP to grayscale flattened onto white.

    Returns ``None`` when the data cannot be decoded this way, or would take more
    than :data:`MAX_DECODED_BYTES` (the caller then decodes it as grayscale, which
    reports a decoding error).
    """
    sample = _png_bytes_per_sample(data) if header.format == "PNG" else 1
    if header.width * header.height * 4 * sample > MAX_DECODED_BYTES:
        logger.info("transparent %s of %dx%d too large to flatten: decoded as grayscale",
                    header.format, header.width, header.height)
        return None
    try:
        pixels = cv2.imdecode(
            np.frombuffer(bytes(data), dtype=np.uint8),
            cv2.IMREAD_UNCHANGED,  # keeps alpha; ignores EXIF orientation
        )
    except cv2.error:
        return None
    if pixels is None or pixels.shape[:2] != (header.height, header.width):
        return None
    gray = flatten(pixels)
    if gray is None:
        return None
    logger.debug("flattened transparent %s onto white", header.format)
    return LoadedImage(
        apply_orientation(gray, header.orientation), header.format, header.orientation
    )
