"""2D fallbacks: wrinkled-QR resampling (``qr-grid``, first ladder step) and
OpenCV's curved-surface QR reader (``opencv-qr``, available, not in the default
ladder)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

import scanning
from scanning.engines import OpenCvQrDecoder, ZxingDecoder
from scanning.pipeline import DEFAULT_LADDER, ScanConfig
from scanning.qr_grid import QrGridDecoder
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


def _wrinkled(sym: np.ndarray, amp: float, period: float, seed: int) -> np.ndarray:
    """`sym` on cloth: a smooth random displacement field (three plane waves per
    axis, `amp` px in total, wavelength ~`period` px), dark background, blur."""
    pad = 40
    h, w = sym.shape
    canvas = np.full((h + 2 * pad, w + 2 * pad), 35, np.uint8)
    canvas[pad : pad + h, pad : pad + w] = sym
    yy, xx = np.mgrid[0 : canvas.shape[0], 0 : canvas.shape[1]].astype(np.float64)
    rng = np.random.default_rng(seed)
    dx = np.zeros_like(xx)
    dy = np.zeros_like(yy)
    for _ in range(3):
        fx, fy = rng.uniform(0.5, 1.5, 2) / period
        ph = rng.uniform(0, 2 * np.pi, 2)
        dx += amp / 3 * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph[0])
        fx, fy = rng.uniform(0.5, 1.5, 2) / period
        dy += amp / 3 * np.sin(2 * np.pi * (fx * xx + fy * yy) + ph[1])
    img = cv2.remap(
        canvas,
        (xx + dx).astype(np.float32),
        (yy + dy).astype(np.float32),
        cv2.INTER_LINEAR,
        borderValue=35,
    )
    return np.asarray(cv2.GaussianBlur(img, (0, 0), 1.0), dtype=np.uint8)


WRINKLES = [(6, 3.0, 130.0, 0), (6, 3.0, 130.0, 1), (5, 3.0, 200.0, 1)]


@pytest.mark.parametrize(("scale", "amp", "period", "seed"), WRINKLES)
def test_wrinkled_qr_needs_the_grid_step(scale: int, amp: float, period: float, seed: int) -> None:
    img = _wrinkled(symbol(QR, zxingcpp.BarcodeFormat.QRCode, scale), amp, period, seed)
    without = ScanConfig(ladder=tuple(s for s in DEFAULT_LADDER if not s.startswith("qr-grid")))
    assert scanning.Scanner(without).decode_image(img) == []
    codes = scanning.Scanner().decode_image(img)
    assert [(c.symbology, c.text, c.engine) for c in codes] == [(Symbology.QR_CODE, QR, "qr-grid")]
    (x0, y0), (x1, y1) = np.min(codes[0].polygon, axis=0), np.max(codes[0].polygon, axis=0)
    # the outline zxing-cpp found: the symbol without its quiet zone, inside the padding
    assert 40 <= x0 < x1 <= img.shape[1] - 40 and 40 <= y0 < y1 <= img.shape[0] - 40


def test_qr_grid_is_the_first_ladder_step() -> None:
    assert DEFAULT_LADDER[0] == "qr-grid:gray"
    assert "opencv-qr:sharpen" not in DEFAULT_LADDER


def test_qr_grid_leaves_readable_and_absent_qr_alone() -> None:
    dec = QrGridDecoder()
    flat = symbol(QR, zxingcpp.BarcodeFormat.QRCode, 4)
    assert [r.text for r in ZxingDecoder().decode(flat)] == [QR]
    assert dec.decode(flat) == []  # zxing-cpp reads it: nothing to resample
    rng = np.random.default_rng(5)
    assert dec.decode(np.full((100, 100), 255, np.uint8)) == []
    assert dec.decode(rng.integers(0, 256, (240, 240), dtype=np.uint8)) == []
    img = _wrinkled(symbol(QR, zxingcpp.BarcodeFormat.QRCode, 6), 3.0, 130.0, 0)
    assert QrGridDecoder(frozenset({Symbology.CODE128})).decode(img) == []


def test_qr_grid_never_returns_a_corrupted_symbol() -> None:
    # a symbol whose data region is damaged beyond its error correction:
    # zxing-cpp still finds it (finders intact) and the resampler must not
    # invent a value
    sym = symbol(QR, zxingcpp.BarcodeFormat.QRCode, 6).copy()
    h, w = sym.shape
    rng = np.random.default_rng(11)
    block = rng.integers(0, 2, (12, 12)).astype(np.uint8) * 255
    sym[h // 2 - 36 : h // 2 + 36, w // 2 - 36 : w // 2 + 36] = np.kron(block, np.ones((6, 6)))
    img = _wrinkled(sym, 3.0, 130.0, 0)
    assert ZxingDecoder().decode(img) == []
    assert QrGridDecoder().decode(img) == []



def test_a_sheet_of_damaged_qr_symbols_is_not_searched_as_a_whole(monkeypatch) -> None:
    # OpenCV's detector takes time growing with the cube of the finder patterns it
    # is given: 625 damaged symbols on a 400 KB PNG took 218 s in the first ladder step
    from scanning import qr_grid

    rng = np.random.default_rng(3)
    modules = np.asarray(
        zxingcpp.create_barcode("EE123456785VN", zxingcpp.BarcodeFormat.QRCode).to_image(
            scale=1, add_quiet_zones=False
        )
    )
    n = modules.shape[0]
    keep = np.zeros_like(modules, bool)  # finders, separators and timing rows intact
    keep[:9, :9] = keep[:9, -9:] = keep[-9:, :9] = True
    keep[6, :] = keep[:, 6] = True
    sheet = np.full((600, 600), 255, np.uint8)
    for y in range(0, 600 - 81, 81):
        for x in range(0, 600 - 81, 81):
            flip = rng.integers(0, 2, modules.shape).astype(bool) & ~keep
            damaged = np.where(flip, 255 - modules, modules).astype(np.uint8)
            sheet[y + 9 : y + 9 + 3 * n, x + 9 : x + 9 + 3 * n] = np.kron(
                damaged, np.ones((3, 3), np.uint8)
            )
    searched: list[tuple[int, ...]] = []
    outlines = qr_grid._opencv_outlines

    def spy(gray: np.ndarray) -> list:
        searched.append(gray.shape)
        return outlines(gray)

    monkeypatch.setattr(qr_grid, "_opencv_outlines", spy)
    assert QrGridDecoder().decode(sheet) == []
    assert 0 < len(searched) <= 8  # qr_grid.MAX_SYMBOLS
    assert all(h * w < 600 * 600 / 16 for h, w in searched)


def test_curved_qr_read_by_opencv_step_when_configured(bottle_qr: np.ndarray) -> None:
    # qr-grid (with 3x3-module tiles) reads this one too; without it:
    base = tuple(s for s in DEFAULT_LADDER if s != "qr-grid:gray")
    assert scanning.Scanner(ScanConfig(ladder=base)).decode_image(bottle_qr) == []
    cfg = ScanConfig(ladder=(*base, "opencv-qr:sharpen"))
    codes = scanning.Scanner(cfg).decode_image(bottle_qr)
    assert [(c.symbology, c.text, c.engine) for c in codes] == [
        (Symbology.QR_CODE, QR, "opencv-qr")
    ]
    (x0, y0), (x1, y1) = np.min(codes[0].polygon, axis=0), np.max(codes[0].polygon, axis=0)
    h, w = bottle_qr.shape
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h and (x1 - x0) > w / 2


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
