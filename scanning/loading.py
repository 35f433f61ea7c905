"""Safe image loading: format sniffing, header-only size check, EXIF orientation.

Order of operations (each step bounded in time and memory):

1. Reject non-bytes, empty input and inputs above ``max_bytes``.
2. Sniff the magic number: JPEG, PNG and WebP are accepted; other known image
   formats raise :class:`UnsupportedFormatError`; anything else raises
   :class:`UnreadableImageError`.
3. Parse the header with Pillow (``Image.open`` reads the header only) and
   refuse images above ``max_pixels`` with :class:`ImageTooLargeError` *before*
   any pixel is decoded -- a decompression bomb costs microseconds.
4. Read the EXIF orientation tag from the header's EXIF block.
5. Decode the pixels to 8-bit grayscale with OpenCV (faster than Pillow) with
   OpenCV's own orientation handling disabled, then apply the EXIF orientation
   with exact flips/rotations. Truncated or corrupt data raises
   :class:`UnreadableImageError`.
"""

from __future__ import annotations

import io
import logging
import re
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

from scanning.errors import ImageTooLargeError, UnreadableImageError, UnsupportedFormatError

__all__ = [
    "ImageHeader",
    "LoadedImage",
    "apply_orientation",
    "decode_pixels",
    "load_image",
    "probe_image",
    "sniff_format",
]

logger = logging.getLogger(__name__)

_ORIENTATION_TAG = 0x0112

#: libjpeg decodes a progressive JPEG through a buffer of all its DCT coefficients
#: (2 bytes a sample of every component, at any output scale, even 1/8): a 704-byte
#: progressive CMYK header claiming 7000 x 7100 took 0.49 GB to scan. So does a
#: sequential (baseline) JPEG whose first scan holds fewer components than the frame
#: (the components in separate scans): a 354-byte one took 0.5 GB. Above this many
#: coefficient bytes such a JPEG is refused (a 12 MP 4:2:0 photo needs 37 MB).
MAX_PROGRESSIVE_COEF_BYTES = 128 * 2**20

#: libjpeg goes through every block of the image for each scan of a multi-scan JPEG:
#: a 95 KB progressive 12 MP JPEG repeating one 26-byte AC scan 1000 times took 15 s
#: to decode (a 10 MB one, ~50 min). A JPEG of more scans is refused; encoders write
#: 10 or so (libjpeg's progressive script: 10 for colour, 6 for grayscale).
MAX_JPEG_SCANS = 64

#: marker segments walked to count the scans: a photo has a few tens
_MAX_JPEG_SEGMENTS = 16 * MAX_JPEG_SCANS

#: marker segments (APPn, DQT, SOF, DHT...; a photo has a few tens) and bytes of junk
#: a JPEG may have before its first scan
_MAX_JPEG_HEADER_SEGMENTS = 256
_MAX_JPEG_JUNK = 64 * 2**10

#: PNG chunks before the image data (IHDR, PLTE, tRNS, gAMA, iCCP, eXIf, tEXt...; a
#: photo or a screenshot has a few, an editor's export some tens)
_MAX_PNG_HEADER_CHUNKS = 512

#: the next marker: 0xFF followed by neither a stuffed zero, a restart marker nor fill
_JPEG_MARKER = re.compile(rb"\xff[^\x00\xd0-\xd7\xff]")

_UNSUPPORTED_MAGIC: tuple[tuple[int, bytes, str], ...] = (
    (0, b"GIF87a", "GIF"),
    (0, b"GIF89a", "GIF"),
    (0, b"BM", "BMP"),
    (0, b"II*\x00", "TIFF"),
    (0, b"MM\x00*", "TIFF"),
    (0, b"8BPS", "PSD"),
    (0, b"%PDF", "PDF"),
    (0, b"\x00\x00\x00\x0cjP  ", "JPEG2000"),
    (0, b"\xff\x4f\xff\x51", "JPEG2000"),
    (0, b"qoif", "QOI"),
    (0, b"\x00\x00\x01\x00", "ICO"),
    (0, b"\xff\x0a", "JPEG-XL"),
    (0, b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG-XL"),  # in its ISO-BMFF container
)

#: ISO-BMFF ``ftyp`` major brands of HEIF files: HEIC stills (10-bit ``heix``, Apple's
#: and Samsung's photos), HEVC image sequences (bursts, live photos), generic HEIF
#: and AVIF stills and sequences
_HEIF_BRANDS = {
    **dict.fromkeys((b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"),
                    "HEIC"),
    b"mif1": "HEIF",
    b"msf1": "HEIF",
    b"avif": "AVIF",
    b"avis": "AVIF",
}


@dataclass(frozen=True)
class LoadedImage:
    """A decoded photo.

    Attributes
    ----------
    gray : numpy.ndarray
        ``uint8`` array of shape ``(height, width)``, EXIF orientation applied.
    format : str
        ``"JPEG"``, ``"PNG"`` or ``"WEBP"``.
    orientation : int
        The EXIF orientation tag (1-8) that was applied; 1 if absent.
    """

    gray: NDArray[np.uint8]
    format: str
    orientation: int

    @property
    def width(self) -> int:
        """Width after orientation."""
        return int(self.gray.shape[1])

    @property
    def height(self) -> int:
        """Height after orientation."""
        return int(self.gray.shape[0])


def sniff_format(data: bytes) -> str:
    """Return ``"JPEG"``, ``"PNG"`` or ``"WEBP"`` from the magic number.

    Raises
    ------
    UnsupportedFormatError
        For a recognised image format we do not accept (GIF, BMP, TIFF, HEIC...).
    UnreadableImageError
        If the bytes are not a recognised image.
    """
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "PNG"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    for offset, magic, name in _UNSUPPORTED_MAGIC:
        if data[offset : offset + len(magic)] == magic:
            raise UnsupportedFormatError(name)
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        raise UnsupportedFormatError(_HEIF_BRANDS[data[8:12]])
    raise UnreadableImageError("not a JPEG, PNG or WebP image (unknown signature)")


def _orientation(exif: object) -> int:
    if not isinstance(exif, bytes | bytearray) or not exif:
        return 1
    try:
        parsed = Image.Exif()
        parsed.load(bytes(exif))
        value = parsed.get(_ORIENTATION_TAG, 1)
    except Exception:  # noqa: BLE001 - malformed EXIF must not fail the scan
        logger.debug("ignoring malformed EXIF block", exc_info=True)
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def apply_orientation(gray: NDArray[np.uint8], orientation: int) -> NDArray[np.uint8]:
    """Transform `gray` as stored into the image as displayed (EXIF tag 1-8)."""
    ops = {
        1: lambda g: g,
        2: lambda g: g[:, ::-1],
        3: lambda g: g[::-1, ::-1],
        4: lambda g: g[::-1, :],
        5: lambda g: g.T,
        6: lambda g: g.T[:, ::-1],
        7: lambda g: g[::-1, ::-1].T,
        8: lambda g: g.T[::-1, :],
    }
    out = ops.get(orientation, ops[1])(gray)
    return np.ascontiguousarray(out, dtype=np.uint8)


@dataclass(frozen=True)
class ImageHeader:
    """What the header says, checked against the limits.

    Attributes
    ----------
    format : str
        ``"JPEG"``, ``"PNG"`` or ``"WEBP"``.
    width, height : int
        Stored dimensions (before EXIF orientation).
    orientation : int
        EXIF orientation tag, 1-8 (1 if absent).
    """

    format: str
    width: int
    height: int
    orientation: int

    @property
    def display_size(self) -> tuple[int, int]:
        """``(width, height)`` after EXIF orientation."""
        if self.orientation in (5, 6, 7, 8):
            return self.height, self.width
        return self.width, self.height


def _check_png_chunks(data: bytes) -> None:
    """Refuse a PNG with more than ``_MAX_PNG_HEADER_CHUNKS`` chunks before its image data:
    Pillow reads them one by one in Python (10 MB of empty chunks took it ~7 s)."""
    pos = 8
    for _ in range(_MAX_PNG_HEADER_CHUNKS):
        if pos + 8 > len(data) or data[pos + 4 : pos + 8] in (b"IDAT", b"IEND"):
            return
        pos += 12 + int.from_bytes(data[pos : pos + 4], "big")
    raise UnreadableImageError(f"corrupt PNG header: more than {_MAX_PNG_HEADER_CHUNKS} "
                               "chunks before the image data")


def _header(data: bytes, fmt: str, max_pixels: int) -> tuple[int, int, int]:
    first_scan = _first_scan_components(data) if fmt == "JPEG" else 0
    if fmt == "PNG":
        _check_png_chunks(data)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data), formats=[fmt]) as im:
                width, height = im.size
                exif = im.info.get("exif")
                layers = list(getattr(im, "layer", ())) if fmt == "JPEG" else []
                if not (im.info.get("progressive") or first_scan < len(layers)):
                    layers = []  # one interleaved scan: decoded a row of blocks at a time
        except Image.DecompressionBombError as exc:
            # Pillow's own, higher limit: report the declared size when we can
            w = h = 0
            if fmt == "PNG" and len(data) >= 24:
                w, h = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
            raise ImageTooLargeError(
                f"image is {w}x{h} pixels, limit is {max_pixels}: {exc}",
                width=w,
                height=h,
                limit=max_pixels,
            ) from exc
        except Exception as exc:  # noqa: BLE001 - Pillow raises many types on garbage
            # (Pillow's message names its buffer object, "<_io.BytesIO object at 0x…>")
            why = re.sub(r"\s*<[^>]* at 0x[0-9a-f]+>", "", str(exc))
            raise UnreadableImageError(f"corrupt {fmt} header: {why}") from exc
    if width <= 0 or height <= 0:
        raise UnreadableImageError(f"{fmt} header declares an empty image ({width}x{height})")
    if width * height > max_pixels:
        raise ImageTooLargeError(
            f"image is {width}x{height} = {width * height} pixels, limit is {max_pixels}",
            width=width,
            height=height,
            limit=max_pixels,
        )
    if layers and _jpeg_scans(data) > MAX_JPEG_SCANS:
        raise ImageTooLargeError(
            f"JPEG of {width}x{height} in more than {MAX_JPEG_SCANS} scans (each one goes "
            "through the whole image)",
            width=width,
            height=height,
            limit=MAX_JPEG_SCANS,
        )
    if layers and _coefficient_bytes(width, height, layers) > MAX_PROGRESSIVE_COEF_BYTES:
        raise ImageTooLargeError(
            f"multi-scan JPEG of {width}x{height} with {len(layers)} components needs more "
            f"than {MAX_PROGRESSIVE_COEF_BYTES // 2**20} MB to decode",
            width=width,
            height=height,
            limit=MAX_PROGRESSIVE_COEF_BYTES,
        )
    return width, height, _orientation(exif)


def _first_scan_components(data: bytes) -> int:
    """Number of components in a JPEG's first scan (its first SOS marker); a large number
    when there is none (libjpeg then reads no pixels either).

    Raises
    ------
    UnreadableImageError
        When more than ``_MAX_JPEG_HEADER_SEGMENTS`` marker segments, or more than
        ``_MAX_JPEG_JUNK`` bytes that are no marker, come before it: Pillow reads them
        one by one in Python (10 MB of empty comments took it 10 s and 256 MB).
    """
    pos = junk = 0
    for _ in range(_MAX_JPEG_HEADER_SEGMENTS):
        found = _JPEG_MARKER.search(data, pos)  # skips junk, as libjpeg does
        if found is None or found.start() + 4 >= len(data):
            return 255
        junk += found.start() - pos
        if junk > _MAX_JPEG_JUNK:
            raise UnreadableImageError(f"corrupt JPEG header: more than {_MAX_JPEG_JUNK} "
                                       "bytes of junk between its markers")
        pos = found.start()
        marker = data[pos + 1]
        if marker == 0xDA:
            return data[pos + 4]
        if marker in (0x01, 0xD8):  # no length
            pos += 2
        else:
            pos += 2 + max(int.from_bytes(data[pos + 2 : pos + 4], "big"), 2)
    raise UnreadableImageError(f"corrupt JPEG header: more than {_MAX_JPEG_HEADER_SEGMENTS} "
                               "marker segments before the image data")


def _jpeg_scans(data: bytes) -> int:
    """Number of scans (SOS markers) of a JPEG up to its EOI, counted up to just past
    :data:`MAX_JPEG_SCANS`; more than that too when the markers do not end within
    ``_MAX_JPEG_SEGMENTS`` segments."""
    scans, pos = 0, 2
    for _ in range(_MAX_JPEG_SEGMENTS):
        found = _JPEG_MARKER.search(data, pos)  # skips entropy-coded data (and junk)
        if found is None:
            return scans
        pos = found.start()
        marker = data[pos + 1]
        if marker == 0xD9:  # EOI: what follows (a motion photo's video) is not decoded
            return scans
        if marker == 0xDA:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                return scans
        pos += 2 + max(int.from_bytes(data[pos + 2 : pos + 4], "big"), 2)
    return MAX_JPEG_SCANS + 1


def _coefficient_bytes(width: int, height: int, layers: list[tuple[object, int, int, int]]) -> int:
    """DCT coefficient buffer of a progressive JPEG (Pillow's ``layer``: id, h, v, table)."""
    hmax = max(max(int(h) for _, h, _, _ in layers), 1)
    vmax = max(max(int(v) for _, _, v, _ in layers), 1)
    return sum(
        -(-width * int(h) // (8 * hmax)) * -(-height * int(v) // (8 * vmax)) * 128
        for _, h, v, _ in layers
    )


def probe_image(data: bytes, *, max_pixels: int, max_bytes: int) -> ImageHeader:
    """Validate `data` and read its header only (no pixel decoding).

    Parameters
    ----------
    data : bytes
        The file contents (``bytearray``/``memoryview`` accepted too).
    max_pixels : int
        Refuse images whose header declares more pixels than this.
    max_bytes : int
        Refuse byte strings longer than this.

    Returns
    -------
    ImageHeader

    Raises
    ------
    TypeError
        If `data` is not bytes-like.
    UnreadableImageError, UnsupportedFormatError, ImageTooLargeError
        See module docstring.
    """
    if isinstance(data, memoryview | bytearray):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    if not data:
        raise UnreadableImageError("empty input")
    if len(data) > max_bytes:
        raise ImageTooLargeError(
            f"input is {len(data)} bytes, limit is {max_bytes}", limit=max_bytes
        )
    fmt = sniff_format(data)
    width, height, orientation = _header(data, fmt, max_pixels)
    return ImageHeader(fmt, width, height, orientation)


_REDUCED = {
    1: cv2.IMREAD_GRAYSCALE,
    2: cv2.IMREAD_REDUCED_GRAYSCALE_2,
    4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
    8: cv2.IMREAD_REDUCED_GRAYSCALE_8,
}


def decode_pixels(data: bytes, header: ImageHeader, *, reduce: int = 1) -> LoadedImage:
    """Decode the pixels of an image already checked by :func:`probe_image`.

    Parameters
    ----------
    data : bytes
    header : ImageHeader
    reduce : {1, 2, 4, 8}
        Decode at 1/`reduce` of the size. For JPEG this uses libjpeg's DCT
        scaling, which is cheaper than decoding at full size.

    A transparent PNG/WebP (only those formats carry alpha; decided from the
    header bytes, see :mod:`scanning.transparency`) is flattened onto white, as
    a viewer shows it.

    Returns
    -------
    LoadedImage

    Raises
    ------
    UnreadableImageError
        Truncated or corrupt data.
    """
    if reduce not in _REDUCED:
        raise ValueError(f"reduce must be 1, 2, 4 or 8, got {reduce}")
    if reduce == 1:
        from scanning import transparency  # it builds on this module

        if transparency.has_alpha(data, header.format):
            flat = transparency.decode_flattened(data, header)
            if flat is not None:
                return flat
    fmt, width, height = header.format, header.width, header.height
    flags = _REDUCED[reduce] | cv2.IMREAD_IGNORE_ORIENTATION
    try:
        gray = cv2.imdecode(np.frombuffer(bytes(data), dtype=np.uint8), flags)
    except cv2.error as exc:
        raise UnreadableImageError(f"cannot decode {fmt}: {exc}") from exc
    if gray is None:
        raise UnreadableImageError(f"cannot decode {fmt} image (truncated or corrupt)")
    expected = (-(-height // reduce), -(-width // reduce))
    if (
        gray.ndim != 2
        or abs(gray.shape[0] - expected[0]) > 1
        or abs(gray.shape[1] - expected[1]) > 1
    ):
        raise UnreadableImageError(
            f"decoded {fmt} size {gray.shape[::-1]} differs from header {width}x{height}/{reduce}"
        )
    pixels: NDArray[np.uint8] = np.asarray(gray, dtype=np.uint8)
    return LoadedImage(apply_orientation(pixels, header.orientation), fmt, header.orientation)


def load_image(data: bytes, *, max_pixels: int, max_bytes: int) -> LoadedImage:
    """Validate and decode a JPEG/PNG/WebP to an EXIF-oriented grayscale array.

    :func:`probe_image` followed by :func:`decode_pixels` at full size.
    """
    header = probe_image(data, max_pixels=max_pixels, max_bytes=max_bytes)
    return decode_pixels(bytes(data), header)
