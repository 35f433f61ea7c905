"""End-to-end decoding of synthetic label photos."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

import scanning
from scanning import Barcode, ScanConfig, Scanner, Symbology

from ._images import DM_TEXT, QR_TEXT, S10, STORE_FOR_ORIENTATION, encode, make_label, symbol


def _by_sym(codes: list[Barcode]) -> dict[Symbology, Barcode]:
    return {c.symbology: c for c in codes}


def _inside(code: Barcode, box: tuple[float, float, float, float], tol: float = 12.0) -> bool:
    x0, y0, x1, y1 = box
    return all(x0 - tol <= x <= x1 + tol and y0 - tol <= y <= y1 + tol for x, y in code.polygon)


@pytest.fixture(scope="module")
def label() -> tuple[np.ndarray, dict[str, tuple[int, int, int, int]]]:
    return make_label()


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_label_yields_every_code_with_exact_text(label, fmt: str) -> None:
    gray, boxes = label
    codes = scanning.decode(encode(gray, fmt))
    found = _by_sym(codes)
    assert set(found) == {Symbology.CODE128, Symbology.QR_CODE, Symbology.DATA_MATRIX}
    assert found[Symbology.CODE128].text == S10
    assert found[Symbology.QR_CODE].text == QR_TEXT
    # GS (0x1D), RS (0x1E) and EOT (0x04) survive: no "<GS>" / "␝" rendering
    assert found[Symbology.DATA_MATRIX].text == DM_TEXT
    assert "\x1d" in found[Symbology.DATA_MATRIX].text
    for sym, code in found.items():
        assert len(code.polygon) == 4
        assert _inside(code, boxes[sym.value]), (sym, code.polygon, boxes[sym.value])
        assert code.engine in {"zxing-cpp", "zbar"}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_and_polygons_use_display_frame(
    label, orientation: int
) -> None:
    gray, boxes = label
    stored = np.ascontiguousarray(STORE_FOR_ORIENTATION[orientation](gray))
    codes = scanning.decode(encode(stored, "JPEG", orientation=orientation))
    found = _by_sym(codes)
    assert found[Symbology.CODE128].text == S10
    # corners are reported in the displayed (oriented) image: same boxes as upright
    for sym in (Symbology.CODE128, Symbology.QR_CODE, Symbology.DATA_MATRIX):
        assert _inside(found[sym], boxes[sym.value]), (orientation, sym, found[sym].polygon)


def test_rotated_label_45_degrees(label) -> None:
    gray, _ = label
    big = np.full((1300, 1300), 250, np.uint8)
    big[300:1000, 200:1100] = gray
    m = cv2.getRotationMatrix2D((650, 650), 45, 1.0)
    rotated = cv2.warpAffine(big, m, (1300, 1300), borderValue=250)
    texts = {c.text for c in scanning.decode(encode(rotated, "PNG"))}
    assert {S10, QR_TEXT, DM_TEXT} <= texts


def test_binary_qr_bytes_map_one_to_one() -> None:
    payload = bytes([0x00, 0x1D, 0x80, 0xFF]) + b"bin"
    img = symbol(payload, zxingcpp.BarcodeFormat.QRCode, 6)
    (code,) = scanning.decode(encode(img, "PNG"))
    assert code.symbology is Symbology.QR_CODE
    assert code.text.encode("latin-1") == payload


@pytest.mark.parametrize(
    ("fmt", "content", "symbology", "text"),
    [
        (zxingcpp.BarcodeFormat.UPCA, "03600029145", Symbology.UPCA, "036000291452"),
        (zxingcpp.BarcodeFormat.EAN13, "400638133393", Symbology.EAN13, "4006381333931"),
        (zxingcpp.BarcodeFormat.EAN8, "9638507", Symbology.EAN8, "96385074"),
        (zxingcpp.BarcodeFormat.UPCE, "0123456", Symbology.UPCE, "01234565"),
        (zxingcpp.BarcodeFormat.Codabar, "A40156B", Symbology.CODABAR, "40156"),
        (zxingcpp.BarcodeFormat.Code39, "POSTAL-42", Symbology.CODE39, "POSTAL-42"),
        (zxingcpp.BarcodeFormat.ITF, "12345678", Symbology.ITF, "12345678"),
        (zxingcpp.BarcodeFormat.Code93, "LAST MILE", Symbology.CODE93, "LAST MILE"),
        (zxingcpp.BarcodeFormat.PDF417, "PDF417 label", Symbology.PDF417, "PDF417 label"),
        (zxingcpp.BarcodeFormat.Aztec, "Aztec ticket", Symbology.AZTEC, "Aztec ticket"),
    ],
)
def test_canonical_names_and_texts(fmt, content: str, symbology: Symbology, text: str) -> None:
    img = symbol(content, fmt, 4)
    img = cv2.copyMakeBorder(img, 30, 30, 30, 30, cv2.BORDER_CONSTANT, value=255)
    codes = scanning.decode(encode(img, "PNG"))
    assert [(c.symbology, c.text) for c in codes] == [(symbology, text)]


def test_blank_and_noise_images_give_no_codes() -> None:
    rng = np.random.default_rng(3)
    assert scanning.decode(encode(np.full((300, 400), 200, np.uint8), "PNG")) == []
    noise = rng.integers(0, 256, (240, 320), dtype=np.uint8)
    assert scanning.decode(encode(noise, "JPEG")) == []


def test_same_code_read_by_two_engines_is_reported_once(label) -> None:
    gray, _ = label
    cfg = ScanConfig(exhaustive=True)
    codes = Scanner(cfg).decode(encode(gray, "PNG"))
    s10s = [c for c in codes if c.text == S10]
    assert len(s10s) == 1


def test_two_identical_codes_at_different_places_are_both_kept() -> None:
    # (2D only: both engines merge identical 1D codes stacked in one column)
    img = symbol("PARCEL-1", zxingcpp.BarcodeFormat.QRCode, 5)
    canvas = np.full((400, 400), 255, np.uint8)
    canvas[20 : 20 + img.shape[0], 20 : 20 + img.shape[1]] = img
    canvas[230 : 230 + img.shape[0], 230 : 230 + img.shape[1]] = img
    codes = scanning.decode(encode(canvas, "PNG"))
    assert [c.text for c in codes] == ["PARCEL-1", "PARCEL-1"]
    assert codes[0].center[1] < codes[1].center[1]


def test_ladder_rescues_a_low_contrast_code() -> None:
    img = symbol(S10, zxingcpp.BarcodeFormat.Code128, 2).astype(np.float32)
    faint = (120 + img * (14 / 255)).astype(np.uint8)  # bars 120 vs spaces 134
    faint = cv2.GaussianBlur(faint, (0, 0), 0.8)
    first_pass_only = Scanner(ScanConfig(ladder=())).decode(encode(faint, "PNG"))
    full = scanning.decode(encode(faint, "PNG"))
    assert [c.text for c in full] == [S10]
    if not first_pass_only:  # the point of the ladder; ensure it was actually used
        assert full[0].variant != "gray"


@pytest.mark.slow
def test_large_phone_photo_is_downscaled_then_mapped_back(label) -> None:
    gray, boxes = label
    rng = np.random.default_rng(11)
    photo = cv2.GaussianBlur(rng.integers(60, 200, (3024, 4032), dtype=np.uint8), (0, 0), 4)
    big = cv2.resize(gray, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_NEAREST)
    x0, y0 = 1500, 900
    photo[y0 : y0 + big.shape[0], x0 : x0 + big.shape[1]] = big
    data = encode(photo, "JPEG", quality=90)
    scanner = Scanner()
    codes = scanner.decode(data)  # its time: benchmarks.scanning_bench (docs/benchmarks.md)
    found = _by_sym(codes)
    assert found[Symbology.CODE128].text == S10
    assert found[Symbology.DATA_MATRIX].text == DM_TEXT
    bx0, by0, bx1, by1 = boxes["CODE128"]
    expected = (x0 + 2 * bx0, y0 + 2 * by0, x0 + 2 * bx1, y0 + 2 * by1)
    assert _inside(found[Symbology.CODE128], expected, tol=20)


def test_small_symbol_in_large_photo_falls_back_to_full_resolution() -> None:
    # 1-px modules: unreadable once the 4000 px photo is halved
    img = symbol(S10, zxingcpp.BarcodeFormat.Code128, 1)
    img = cv2.resize(img, (img.shape[1], 40), interpolation=cv2.INTER_NEAREST)
    photo = np.full((2000, 4000), 230, np.uint8)
    photo[1000 : 1000 + img.shape[0], 2000 : 2000 + img.shape[1]] = img
    codes = scanning.decode(encode(photo, "PNG"))
    assert [c.text for c in codes] == [S10]
    (x, y) = codes[0].center
    assert 2000 <= x <= 2000 + img.shape[1] and 1000 <= y <= 1040
