"""2D fallbacks of the ladder: OpenCV's curved-surface QR reader (``opencv-qr``)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

import scanning
from scanning.engines import OpenCvQrDecoder
from scanning.pipeline import DEFAULT_LADDER, ScanConfig
from scanning.symbology import Symbology
from tests.scanning._images import symbol

QR = "https://track.example/EE123456785VN"


def _on_cylinder(
    sym: np.ndarray, radius_factor: float, bow: float, background: int = 30
) -> np.ndarray:
    """`sym` printed on a vertical cylinder (radius = factor x symbol width), seen
    from the front and slightly above: columns compressed towards the edges,
    top and bottom edges bowed, far parts smaller."""
    h, w = sym.shape
    radius = w * radius_factor
    out_h = h + 80
    out_w = int(2 * radius * np.sin(min(np.pi / 2, w / 2 / radius))) + 80
    yy, xx = np.mgrid[0:out_h, 0:out_w].astype(np.float64)
    theta = np.arcsin(np.clip((xx - out_w / 2) / radius, -1, 1))
    xs = radius * theta + w / 2
    ys = (yy - out_h / 2 - bow * (1 - np.cos(theta))) * (1 + 0.3 * (1 - np.cos(theta))) + h / 2
    canvas = np.full((h + 2, w + 2), background, np.uint8)
    canvas[1:-1, 1:-1] = sym
    img = cv2.remap(
        canvas,
        (xs + 1).astype(np.float32),
        (ys + 1).astype(np.float32),
        cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=background,
    )
    return np.asarray(cv2.GaussianBlur(img, (0, 0), 0.7), dtype=np.uint8)


@pytest.fixture(scope="module")
def bottle_qr() -> np.ndarray:
    return _on_cylinder(symbol(QR, zxingcpp.BarcodeFormat.QRCode, 6), 0.55, 10.0)


def test_curved_qr_needs_the_opencv_step(bottle_qr: np.ndarray) -> None:
    without = ScanConfig(ladder=tuple(s for s in DEFAULT_LADDER if not s.startswith("opencv-qr")))
    assert scanning.Scanner(without).decode_image(bottle_qr) == []
    codes = scanning.Scanner().decode_image(bottle_qr)
    assert [(c.symbology, c.text, c.engine) for c in codes] == [
        (Symbology.QR_CODE, QR, "opencv-qr")
    ]
    (x0, y0), (x1, y1) = np.min(codes[0].polygon, axis=0), np.max(codes[0].polygon, axis=0)
    h, w = bottle_qr.shape
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h and (x1 - x0) > w / 2


def test_opencv_qr_is_a_late_ladder_step() -> None:
    # it runs only when every zxing-cpp/ZBar step found nothing settled
    assert DEFAULT_LADDER[-2:] == ("opencv-qr:sharpen", "ean-blur:gray")
    assert all(not s.startswith("opencv") for s in ScanConfig().first_pass)


def test_opencv_qr_read_fields() -> None:
    img = _on_cylinder(symbol(QR, zxingcpp.BarcodeFormat.QRCode, 6), 0.8, 10.0)
    reads = OpenCvQrDecoder().decode(img)
    assert [(r.symbology, r.text, r.raw) for r in reads] == [
        (Symbology.QR_CODE, QR, QR.encode("ascii"))
    ]
    assert len(reads[0].polygon) == 4


def _raw_curved(img: np.ndarray) -> str:
    try:
        text, _, _ = cv2.QRCodeDetector().detectAndDecodeCurved(img)
    except UnicodeDecodeError:
        return "<UnicodeDecodeError>"
    return str(text)


@pytest.mark.parametrize(
    ("content", "opencv_says"),
    [("Grüße aus Köln", "Grüße aus Köln"), ("東京都", "<UnicodeDecodeError>")],
    ids=["latin1", "kanji"],
)
def test_opencv_qr_drops_non_ascii_content(content: str, opencv_says: str) -> None:
    # OpenCV decodes the bytes as UTF-8 whatever the symbol's character set
    # (or raises): only 7-bit text, identical in every QR character set, is kept
    img = cv2.GaussianBlur(symbol(content, zxingcpp.BarcodeFormat.QRCode, 6), (0, 0), 0.8)
    assert _raw_curved(img) == opencv_says  # precondition: OpenCV does read it
    assert OpenCvQrDecoder().decode(img) == []


def test_opencv_qr_nothing_on_blank_and_noise() -> None:
    rng = np.random.default_rng(3)
    dec = OpenCvQrDecoder()
    assert dec.decode(np.full((120, 160), 255, np.uint8)) == []
    assert dec.decode(rng.integers(0, 256, (200, 200), dtype=np.uint8)) == []


def test_opencv_qr_respects_symbologies() -> None:
    img = _on_cylinder(symbol(QR, zxingcpp.BarcodeFormat.QRCode, 6), 0.8, 10.0)
    assert OpenCvQrDecoder(frozenset({Symbology.CODE128})).decode(img) == []
    only_dm = scanning.Scanner(ScanConfig(symbologies=frozenset({Symbology.DATA_MATRIX})))
    assert only_dm.decode_image(img) == []
