"""Bad input: every byte string gives codes or a ScanningError, quickly."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

import scanning
from scanning import (
    ImageTooLargeError,
    ScanConfig,
    Scanner,
    ScanningError,
    UnreadableImageError,
    UnsupportedFormatError,
)
from scanning.loading import probe_image

from ._images import (
    STORE_FOR_ORIENTATION,
    encode,
    make_label,
    png_bomb,
    progressive_jpeg_header,
)


def _must_not_decode(*args: object) -> None:
    raise AssertionError("pixels decoded")


def test_png_bomb_is_refused_from_the_header_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    bomb = png_bomb(100_000, 100_000)
    assert len(bomb) < 200
    with monkeypatch.context() as m:  # refused from the header: no pixel is decoded
        m.setattr(cv2, "imdecode", _must_not_decode)
        with pytest.raises(ImageTooLargeError) as excinfo:
            scanning.decode(bomb)
    assert (excinfo.value.width, excinfo.value.height) == (100_000, 100_000)


def test_pixel_limit_is_configurable() -> None:
    data = encode(np.full((100, 200), 255, np.uint8), "PNG")
    assert Scanner(ScanConfig(max_pixels=20_000)).decode(data) == []
    with pytest.raises(ImageTooLargeError):
        Scanner(ScanConfig(max_pixels=19_999)).decode(data)


def test_just_above_default_limit_is_refused() -> None:
    with pytest.raises(ImageTooLargeError):
        scanning.decode(png_bomb(8000, 6251))  # 50.008 MP


def test_byte_limit() -> None:
    data = encode(np.full((50, 50), 255, np.uint8), "PNG")
    with pytest.raises(ImageTooLargeError):
        Scanner(ScanConfig(max_bytes=len(data) - 1)).decode(data)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello world",
        b"\x00" * 100,
        b"<html></html>",
        b"\xff\xd8",
        b"RIFF\x00\x00\x00\x00WAVE",
    ],
)
def test_non_images_are_unreadable(data: bytes) -> None:
    with pytest.raises(UnreadableImageError):
        scanning.decode(data)


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_unsupported(fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("L", (20, 20), 255).save(buf, fmt)
    with pytest.raises(UnsupportedFormatError) as excinfo:
        scanning.decode(buf.getvalue())
    assert excinfo.value.format == fmt


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
@pytest.mark.parametrize("keep", [0.3, 0.7, 0.97])
def test_truncated_images_are_unreadable(fmt: str, keep: float) -> None:
    gray, _ = make_label()
    data = encode(gray, fmt)
    with pytest.raises(UnreadableImageError):
        scanning.decode(data[: int(len(data) * keep)])


def test_errors_share_a_base_class() -> None:
    for cls in (UnreadableImageError, UnsupportedFormatError, ImageTooLargeError):
        assert issubclass(cls, ScanningError)


def test_non_bytes_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        scanning.decode("not bytes")  # type: ignore[arg-type]


def test_bytearray_and_memoryview_are_accepted() -> None:
    data = encode(np.full((40, 40), 255, np.uint8), "PNG")
    assert scanning.decode(bytearray(data)) == []
    assert scanning.decode(memoryview(data)) == []  # type: ignore[arg-type]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_matches_pillow_exif_transpose(orientation: int) -> None:
    rng = np.random.default_rng(orientation)
    shown = rng.integers(0, 256, (30, 50), dtype=np.uint8)
    stored = np.ascontiguousarray(STORE_FOR_ORIENTATION[orientation](shown))
    data = encode(stored, "PNG", orientation=orientation)
    loaded = Scanner().load(data)
    assert loaded.orientation == orientation
    assert np.array_equal(loaded.gray, shown)


def test_malformed_exif_is_ignored() -> None:
    im = Image.new("L", (40, 30), 255)
    buf = io.BytesIO()
    im.save(buf, "JPEG", exif=b"Exif\x00\x00garbage-not-tiff")
    loaded = Scanner().load(buf.getvalue())
    assert loaded.orientation == 1 and loaded.gray.shape == (30, 40)


def test_a_header_pillow_cannot_identify_is_reported_without_its_buffer() -> None:
    # the detail read "cannot identify image file <_io.BytesIO object at 0x7f3e…>"
    with pytest.raises(UnreadableImageError) as err:
        scanning.loading.probe_image(b"\xff\xd8\xff" + b"garbage" * 10, max_pixels=10**6,
                                     max_bytes=10**6)
    assert str(err.value) == "corrupt JPEG header: cannot identify image file"


def test_a_progressive_jpeg_too_large_to_buffer_is_refused_from_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # libjpeg buffers every DCT coefficient of a progressive JPEG, even at 1/4 size:
    # these 704 bytes (under 50 MP) took 0.49 GB
    bomb = progressive_jpeg_header(7000, 7100, "CMYK", 0)
    assert len(bomb) < 1000
    with monkeypatch.context() as m:
        m.setattr(cv2, "imdecode", _must_not_decode)
        with pytest.raises(ImageTooLargeError):
            scanning.decode(bomb)
    # a phone's 12 MP progressive photo still goes through
    assert probe_image(progressive_jpeg_header(4032, 3024, "RGB", 2), max_pixels=50_000_000,
                       max_bytes=2**20).width == 4032
