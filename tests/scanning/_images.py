"""Synthetic test images (generated in the tests; no corpus files in the repo)."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import zxingcpp
from PIL import Image

S10 = "EE123456785VN"
QR_TEXT = "https://track.example/EE123456785VN?x=1"
DM_TEXT = "[)>\x1e06\x1dPEE123456785VN\x1d1JUN12345\x1e\x04"  # ISO 15434 with GS/RS/EOT


def symbol(content: str | bytes, fmt: object, scale: int) -> np.ndarray:
    """Render one symbol with zxing-cpp's writer (quiet zone included)."""
    return np.asarray(zxingcpp.create_barcode(content, fmt).to_image(scale=scale), dtype=np.uint8)


def bar_row(text: str, fmt: object = zxingcpp.BarcodeFormat.EAN13, scale: int = 2) -> np.ndarray:
    """One pixel row across a rendered 1D symbol: the bars without the human-readable text."""
    img = symbol(text, fmt, scale)
    return img[img.shape[0] // 2]


def defocused_bars(
    row: np.ndarray,
    *,
    sigma: float | None = None,
    radius: int | None = None,
    seed: int = 0,
    noise: float = 3.0,
    height: int = 60,
) -> np.ndarray:
    """`row` as `height` bars on a light label in a grey frame, defocused by a
    Gaussian (`sigma`) or a uniform disc (`radius`, geometric defocus), dimmed, noisy."""
    canvas = np.full((200, len(row) + 80), 230, np.uint8)
    canvas[60 : 60 + height, 40 : 40 + len(row)] = np.tile(row, (height, 1))
    f = canvas.astype(np.float32)
    if sigma is not None:
        f = cv2.GaussianBlur(f, (0, 0), sigma)
    if radius is not None:
        disc = np.zeros((2 * radius + 1, 2 * radius + 1), np.float32)
        cv2.circle(disc, (radius, radius), radius, 1.0, -1)
        f = cv2.filter2D(f, -1, disc / disc.sum())
    rng = np.random.default_rng(seed)
    f = f * 0.7 + 40 + rng.normal(0, noise, f.shape)
    return np.clip(f, 0, 255).astype(np.uint8)


def paste(canvas: np.ndarray, img: np.ndarray, x: int, y: int) -> tuple[int, int, int, int]:
    canvas[y : y + img.shape[0], x : x + img.shape[1]] = img
    return x, y, x + img.shape[1], y + img.shape[0]


def make_label(
    s10: str = S10, qr: str = QR_TEXT, dm: str = DM_TEXT, carrier: str | None = None
) -> tuple[np.ndarray, dict[str, tuple[int, int, int, int]]]:
    """A 900x700 label: Code 128 S10 on top, QR and DataMatrix below.

    Returns the grayscale image and the bounding box of each symbol by name.
    """
    label = np.full((700, 900), 250, np.uint8)
    boxes: dict[str, tuple[int, int, int, int]] = {}
    c128 = symbol(s10, zxingcpp.BarcodeFormat.Code128, 3)
    c128 = cv2.resize(c128, (c128.shape[1], 140), interpolation=cv2.INTER_NEAREST)
    boxes["CODE128"] = paste(label, c128, 40, 30)
    boxes["QR_CODE"] = paste(label, symbol(qr, zxingcpp.BarcodeFormat.QRCode, 6), 40, 300)
    boxes["DATA_MATRIX"] = paste(label, symbol(dm, zxingcpp.BarcodeFormat.DataMatrix, 8), 450, 300)
    if carrier is not None:
        c = symbol(carrier, zxingcpp.BarcodeFormat.Code128, 2)
        c = cv2.resize(c, (c.shape[1], 80), interpolation=cv2.INTER_NEAREST)
        boxes["CARRIER"] = paste(label, c, 40, 190)
    return label, boxes


def encode(
    gray: np.ndarray, fmt: str, *, orientation: int | None = None, quality: int = 92
) -> bytes:
    """Encode with Pillow (JPEG, PNG or WEBP), optionally with an EXIF Orientation tag."""
    im = Image.fromarray(gray)
    buf = io.BytesIO()
    kwargs: dict[str, object] = {}
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = quality
    if fmt == "WEBP":
        kwargs["lossless"] = False
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    im.save(buf, fmt, **kwargs)
    return buf.getvalue()


# Inverse of the EXIF transform: what a camera stores so a viewer shows `gray`.
STORE_FOR_ORIENTATION = {
    1: lambda g: g,
    2: lambda g: g[:, ::-1],
    3: lambda g: g[::-1, ::-1],
    4: lambda g: g[::-1, :],
    5: lambda g: g.T,
    6: lambda g: np.rot90(g, 1),  # displayed = stored rotated 90° clockwise
    7: lambda g: g[::-1, ::-1].T,
    8: lambda g: np.rot90(g, -1),
}


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, well-formed PNG header claiming `width` x `height` 8-bit gray pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


def progressive_jpeg_header(width: int, height: int, mode: str, subsampling: int) -> bytes:
    """A tiny progressive JPEG whose SOF2 claims `width` x `height`."""
    buf = io.BytesIO()
    Image.new(mode, (16, 16)).save(buf, "JPEG", progressive=True, subsampling=subsampling)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc2")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def multiscan_jpeg_header(width: int, height: int, mode: str) -> bytes:
    """A tiny sequential (baseline) JPEG whose SOF0 claims `width` x `height` and whose
    first scan holds one component only (libjpeg then buffers the whole image's
    coefficients, as for a progressive one)."""
    buf = io.BytesIO()
    Image.new(mode, (16, 16)).save(buf, "JPEG", subsampling=0)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    sos = data.index(b"\xff\xda")
    length = struct.unpack(">H", data[sos + 2 : sos + 4])[0]
    first = bytes(data[sos + 5 : sos + 7])  # component id and its tables
    one = b"\xff\xda" + struct.pack(">H", 8) + b"\x01" + first + b"\x00\x3f\x00"
    return bytes(data[:sos]) + one + bytes(data[sos + 2 + length :])


def many_scans_jpeg(extra_scans: int, width: int = 4000, height: int = 3000) -> bytes:
    """A flat progressive grayscale JPEG with one of its AC scans (and the Huffman table
    before it) repeated `extra_scans` more times: libjpeg goes through the whole image
    for each (a few tens of bytes a scan)."""
    buf = io.BytesIO()
    Image.new("L", (width, height), 128).save(buf, "JPEG", progressive=True, quality=50)
    data = buf.getvalue()
    pos, table, repeat = 2, b"", b""
    while not repeat:
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        if data[pos + 1] == 0xC4:
            table = data[pos:end]
        elif data[pos + 1] == 0xDA:
            following = end
            while data[following + 1] == 0 or 0xD0 <= data[following + 1] <= 0xD7:
                following = data.index(b"\xff", following + 1)
            spectral_start, approx = data[pos + 7], data[pos + 9]
            if spectral_start > 0 and approx >> 4 == 0:  # an AC first scan
                repeat = table + data[pos:following]
            end = following
        pos = end
    return data[:-2] + repeat * extra_scans + data[-2:]
