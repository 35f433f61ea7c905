"""Transparent PNG/WebP: flattened onto white before decoding (scanning.transparency)."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import zxingcpp
from PIL import Image

import scanning
from scanning import transparency
from scanning.symbology import Symbology
from tests.scanning._images import symbol

DM = "EDIFACT-ABC123"


def _transparent_rendering(content: str, fmt: object, scale: int, pad: int) -> Image.Image:
    """Opaque dark modules on a transparent background whose *colour* is black.

    This is what drawing libraries often write: the colour under alpha 0 is
    (0, 0, 0). Dropping the alpha channel merges the symbol's dark modules
    (a DataMatrix's L finder) with the background.
    """
    sym = symbol(content, fmt, scale)
    sym = cv2.copyMakeBorder(sym, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=255)
    dark = sym < 128
    rgba = np.zeros((*sym.shape, 4), np.uint8)  # transparent black everywhere
    rgba[..., 3] = np.where(dark, 255, 0)  # dark modules opaque black
    # light modules inside the symbol: opaque white
    inside = np.zeros_like(dark)
    q = pad + 2 * scale  # zxing-cpp's quiet zone is wider; the symbol area is inside it
    inside[q:-q, q:-q] = True
    light = inside & ~dark
    rgba[light] = (255, 255, 255, 255)
    return Image.fromarray(rgba, "RGBA")


def _png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def _webp(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "WEBP", lossless=True)
    return buf.getvalue()


@pytest.fixture(scope="module")
def dm_rgba() -> Image.Image:
    return _transparent_rendering(DM, zxingcpp.BarcodeFormat.DataMatrix, 3, 0)


def test_alpha_dropped_loses_the_symbol(dm_rgba: Image.Image) -> None:
    # precondition: OpenCV's plain grayscale decode (alpha ignored) is unreadable
    gray = cv2.imdecode(np.frombuffer(_png(dm_rgba), np.uint8), cv2.IMREAD_GRAYSCALE)
    assert not zxingcpp.read_barcodes(gray)


@pytest.mark.parametrize("encode", [_png, _webp])
def test_transparent_datamatrix_is_read(dm_rgba: Image.Image, encode: object) -> None:
    data = encode(dm_rgba)  # type: ignore[operator]
    codes = scanning.decode(data)
    assert [(c.symbology, c.text) for c in codes] == [(Symbology.DATA_MATRIX, DM)]


def test_palette_png_with_transparent_index_is_read() -> None:
    # palette: 0 = transparent black (background), 1 = black, 2 = white (tRNS chunk)
    rgba = np.asarray(_transparent_rendering(DM, zxingcpp.BarcodeFormat.DataMatrix, 4, 4))
    idx = np.where(rgba[..., 3] == 0, 0, np.where(rgba[..., 0] == 0, 1, 2)).astype(np.uint8)
    pal = Image.fromarray(idx, "P")
    pal.putpalette([0, 0, 0, 0, 0, 0, 255, 255, 255])
    buf = io.BytesIO()
    pal.save(buf, "PNG", transparency=0)
    data = buf.getvalue()
    assert transparency.has_alpha(data, "PNG")
    gray = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert not zxingcpp.read_barcodes(gray)
    assert [c.text for c in scanning.decode(data)] == [DM]


def test_has_alpha_header_only() -> None:
    opaque = Image.new("RGB", (8, 8), "white")
    gray = Image.new("L", (8, 8), 255)
    rgba = Image.new("RGBA", (8, 8), (0, 0, 0, 0))
    for im, expected in ((opaque, False), (gray, False), (rgba, True), (rgba.convert("LA"), True)):
        assert transparency.has_alpha(_png(im), "PNG") is expected
    assert transparency.has_alpha(_webp(rgba), "WEBP")
    assert not transparency.has_alpha(_webp(opaque), "WEBP")
    buf = io.BytesIO()
    rgba.save(buf, "WEBP", quality=80)  # lossy with alpha: VP8X + ALPH
    assert transparency.has_alpha(buf.getvalue(), "WEBP")
    assert not transparency.has_alpha(b"\xff\xd8\xff\xe0" + bytes(40), "JPEG")
    assert not transparency.has_alpha(b"\x89PNG\r\n\x1a\n", "PNG")  # truncated: no error


def test_flatten_composites_onto_white() -> None:
    bgra = np.zeros((2, 2, 4), np.uint8)
    bgra[0, 0, 3] = 255  # opaque black
    bgra[0, 1, 3] = 0  # transparent black -> white
    bgra[1, 0] = (100, 100, 100, 128)  # half transparent grey -> between grey and white
    bgra[1, 1] = (255, 255, 255, 255)
    out = transparency.flatten(bgra)
    assert out is not None
    assert out[0, 0] == 0 and out[0, 1] == 255 and out[1, 1] == 255
    assert 100 < out[1, 0] < 255


def test_opaque_png_pixels_unchanged() -> None:
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (20, 30), dtype=np.uint8)
    data = _png(Image.fromarray(gray))
    assert np.array_equal(scanning.Scanner().load(data).gray, gray)
    rgba = np.dstack([gray, gray, gray, np.full_like(gray, 255)])
    loaded = scanning.Scanner().load(_png(Image.fromarray(rgba, "RGBA")))
    assert np.abs(loaded.gray.astype(int) - gray).max() <= 1


def test_exif_orientation_applied_to_transparent_png(dm_rgba: Image.Image) -> None:
    im = dm_rgba.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated: display = rotate 90 cw
    buf = io.BytesIO()
    im.save(buf, "PNG", exif=exif.tobytes())
    loaded = scanning.Scanner().load(buf.getvalue())
    assert loaded.orientation == 6
    assert loaded.gray.shape == (dm_rgba.height, dm_rgba.width)
    assert [c.text for c in scanning.decode(buf.getvalue())] == [DM]


def test_the_library_loader_flattens_too(dm_rgba: Image.Image) -> None:
    """``scanning.loading.load_image`` (not only the pipeline) shows transparency as
    white: a transparent pixel stored black comes out white."""
    from scanning.loading import load_image

    data = _png(dm_rgba)
    gray = load_image(data, max_pixels=10**7, max_bytes=10**7).gray
    alpha = np.asarray(dm_rgba)[:, :, 3]
    assert (gray[alpha == 0] == 255).all()


def test_a_16_bit_image_flattens_as_its_8_bit_self_band_by_band() -> None:
    rng = np.random.default_rng(3)
    rgba8 = rng.integers(0, 256, (600, 7, 4), dtype=np.uint8)  # three bands of rows
    rgba16 = rgba8.astype(np.uint16) * 257
    out16, out8 = transparency.flatten(rgba16), transparency.flatten(rgba8)
    assert out16 is not None and out8 is not None
    assert out16.dtype == np.uint8 and np.array_equal(out16, out8)
    gray16 = rgba16[:, :, 0]
    assert np.array_equal(transparency.flatten(gray16), rgba8[:, :, 0])


def test_a_transparent_image_too_large_to_flatten_is_decoded_as_grayscale(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # a 373 KB 16-bit 7000 x 7000 PNG took ~1.9 GB to flatten; above the budget the
    # image is decoded without its alpha (a 16-bit one counts twice an 8-bit one)
    rgba = np.zeros((40, 50, 4), np.uint16)
    rgba[:, :, 3] = 65535
    rgba[10:20, 10:20, :3] = 65535
    ok, buf = cv2.imencode(".png", rgba)
    data = buf.tobytes()
    header = scanning.loading.probe_image(data, max_pixels=10**6, max_bytes=10**6)
    monkeypatch.setattr(transparency, "MAX_DECODED_BYTES", 40 * 50 * 4 * 2)
    assert transparency.decode_flattened(data, header) is not None
    monkeypatch.setattr(transparency, "MAX_DECODED_BYTES", 40 * 50 * 4 * 2 - 1)
    assert transparency.decode_flattened(data, header) is None
    loaded = scanning.loading.decode_pixels(data, header)
    assert loaded.gray.shape == (40, 50) and loaded.gray[15, 15] == 255
    assert loaded.gray[0, 0] == 0
