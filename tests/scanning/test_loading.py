"""Bad input: every byte string gives codes or a ScanningError, quickly."""

from __future__ import annotations

import io
import struct
import time
import zlib

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
    many_scans_jpeg,
    multiscan_jpeg_header,
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


def test_a_jpeg_of_too_many_scans_is_refused_from_the_header(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # libjpeg goes through the whole image for each scan: these ~95 KB (a 12 MP image,
    # one AC scan repeated 1000 times) took 15 s to decode, a 10 MB one would take ~50 min
    bomb = many_scans_jpeg(1000)
    assert len(bomb) < 100_000
    with monkeypatch.context() as m:
        m.setattr(cv2, "imdecode", _must_not_decode)
        with pytest.raises(ImageTooLargeError) as excinfo:
            scanning.decode(bomb)
    assert excinfo.value.limit == scanning.loading.MAX_JPEG_SCANS
    # a progressive photo's ten or so scans are fine, and so is what follows its end (a
    # motion photo's video, here full of SOS-like bytes)
    gray, _ = make_label()
    buf = io.BytesIO()
    Image.fromarray(gray).convert("RGB").save(buf, "JPEG", progressive=True)
    photo = buf.getvalue() + b"\xff\xda\x00\x08" * 1000
    assert scanning.loading._jpeg_scans(photo) == 10
    assert scanning.decode(photo)
    assert scanning.decode(many_scans_jpeg(20, 900, 700)) == []


@pytest.mark.parametrize("flood", [b"\xff\xfe\x00\x02" * 2_600_000,  # empty comments
                                   b"\xff\xe5\x00\x04ab" * 1_700_000,  # tiny APP5s
                                   b"\x00" * 10 * 2**20])  # junk
def test_a_jpeg_header_flooded_with_segments_or_junk_is_refused_at_once(flood: bytes) -> None:
    # Pillow reads a JPEG's markers up to the first scan one by one in Python: 10 MB of
    # empty comments took it ~10 s and 256 MB (junk ~3 s); libjpeg reads them at once
    small = encode(np.full((64, 64), 128, np.uint8), "JPEG")
    at = small.index(b"\xff\xdb")  # after the JFIF segment, before the tables
    bomb = small[:at] + flood + small[at:]
    begun = time.process_time()  # CPU time: a stalled CI host is no regression
    with pytest.raises(UnreadableImageError, match="corrupt JPEG header"):
        scanning.decode(bomb)
    assert time.process_time() - begun < 0.5
    # a photo's few APPn segments (EXIF, ICC in chunks) are fine
    photo = small[:2] + b"\xff\xe2\x10\x00" + b"\x00" * 4094 + small[2:]
    assert scanning.loading.probe_image(photo, max_pixels=10**6, max_bytes=10**6).width == 64


def test_a_png_header_flooded_with_chunks_is_refused_at_once() -> None:
    # Pillow reads the chunks before the image data one by one in Python: 10 MB of
    # empty ancillary chunks took it ~7 s
    small = encode(np.full((64, 64), 128, np.uint8), "PNG")
    at = small.index(b"IDAT") - 4
    empty = struct.pack(">I", 0) + b"abCd" + struct.pack(">I", zlib.crc32(b"abCd"))
    begun = time.process_time()  # CPU time: a stalled CI host is no regression
    with pytest.raises(UnreadableImageError, match="corrupt PNG header"):
        scanning.decode(small[:at] + empty * 870_000 + small[at:])
    assert time.process_time() - begun < 0.5
    assert scanning.decode(small[:at] + empty * 20 + small[at:]) == []


@pytest.mark.parametrize(("brand", "fmt"), [(b"heic", "HEIC"), (b"hevc", "HEIC"),
                                             (b"msf1", "HEIF"), (b"avis", "AVIF")])
def test_heif_files_of_every_brand_are_unsupported(brand: bytes, fmt: str) -> None:
    # an iPhone's burst or live photo (hevc), an AVIF sequence: were "not an image"
    head = b"\x00\x00\x00\x1cftyp" + brand + b"\x00\x00\x00\x00mif1heic" + b"\x00" * 64
    with pytest.raises(UnsupportedFormatError) as excinfo:
        scanning.decode(head)
    assert excinfo.value.format == fmt


def test_jpeg_xl_in_its_container_is_unsupported() -> None:
    with pytest.raises(UnsupportedFormatError) as excinfo:
        scanning.decode(b"\x00\x00\x00\x0cJXL \r\n\x87\n\x00\x00\x00\x14ftypjxl " + b"\x00" * 64)
    assert excinfo.value.format == "JPEG-XL"


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


@pytest.mark.parametrize("junk", [b"", b"junk", b"\xff\xff"])
def test_a_sequential_jpeg_in_several_scans_too_large_to_buffer_is_refused_from_the_header(
    monkeypatch: pytest.MonkeyPatch, junk: bytes
) -> None:
    # a baseline JPEG whose first scan holds one of its four components: libjpeg buffers
    # every coefficient as for a progressive one; these 354 bytes took 0.5 GB (junk or
    # fill bytes before the scan, which libjpeg skips, do not hide it)
    bomb = multiscan_jpeg_header(7000, 7100, "CMYK")
    sos = bomb.index(b"\xff\xda")
    bomb = bomb[:sos] + junk + bomb[sos:]
    assert len(bomb) < 1000
    with monkeypatch.context() as m:
        m.setattr(cv2, "imdecode", _must_not_decode)
        with pytest.raises(ImageTooLargeError):
            scanning.decode(bomb)
    # a phone's 12 MP photo in one scan, or in several, still goes through
    for data in (multiscan_jpeg_header(4032, 3024, "RGB"), encode(np.zeros((16, 16), np.uint8),
                                                                   "JPEG")):
        assert probe_image(data, max_pixels=50_000_000, max_bytes=2**20).width in (4032, 16)
