"""The blur-tolerant EAN-13/UPC-A reader (synthetic images only)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from scanning import ScanConfig, Scanner, Symbology
from scanning.ean_blur import LEFT, BlurEanDecoder, bar_orientations
from scanning.engines import ZbarDecoder, ZxingDecoder

from ._images import bar_row, defocused_bars

EAN = "5901234123457"
UPC = "036000291452"  # UPC-A = EAN-13 "0036000291452"


_bars = bar_row


def _photo(row: np.ndarray, sigma: float, seed: int = 0, noise: float = 3.0) -> np.ndarray:
    """Gaussian-defocused bars (:func:`defocused_bars`)."""
    return defocused_bars(row, sigma=sigma, seed=seed, noise=noise)


def _disc_photo(row: np.ndarray, radius: int, seed: int, noise: float = 3.0) -> np.ndarray:
    """Disc-defocused bars (geometric defocus)."""
    return defocused_bars(row, radius=radius, seed=seed, noise=noise)


@pytest.fixture(scope="module")
def decoder() -> BlurEanDecoder:
    return BlurEanDecoder()


def test_defocused_ean13_that_both_engines_miss_is_read_exactly(decoder) -> None:
    img = _photo(_bars(EAN), sigma=2.0)  # blur of one module (2 px)
    assert ZxingDecoder().decode(img) == []
    assert ZbarDecoder().decode(img) == []
    reads = decoder.decode(img)
    assert [(r.symbology, r.text) for r in reads] == [(Symbology.EAN13, EAN)]
    xs = [p[0] for p in reads[0].polygon]
    assert 50 <= min(xs) <= 75 and 240 <= max(xs) <= 265  # symbol spans x 62..252


def test_defocused_upca_is_reported_as_upca_and_upside_down_works(decoder) -> None:
    img = _photo(_bars(UPC, zxingcpp.BarcodeFormat.UPCA), sigma=1.5, seed=1)
    for view in (img, np.ascontiguousarray(img[::-1, ::-1])):
        reads = decoder.decode(view)
        assert [(r.symbology, r.text) for r in reads] == [(Symbology.UPCA, UPC)]


def test_vertical_code_is_read(decoder) -> None:
    img = np.ascontiguousarray(_photo(_bars(EAN), sigma=1.5, seed=2).T)
    assert [r.text for r in decoder.decode(img)] == [EAN]


def test_slight_perspective_is_tolerated(decoder) -> None:
    img = _photo(_bars(EAN), sigma=1.2, seed=3)
    h, w = img.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = np.float32([[0, 4], [w, 0], [w, h], [0, h - 4]])
    warped = cv2.warpPerspective(img, cv2.getPerspectiveTransform(src, dst), (w, h),
                                 borderValue=200)  # fmt: skip
    assert [r.text for r in decoder.decode(warped)] == [EAN]


def test_no_reads_on_blank_noise_text_and_random_bars(decoder) -> None:
    rng = np.random.default_rng(5)
    blank = np.full((240, 320), 200, np.uint8)
    noise = rng.integers(0, 256, (240, 320), dtype=np.uint8)
    text = np.full((240, 320), 235, np.uint8)
    for y in range(20, 220, 24):  # lines of "words"
        x = 10
        while x < 290:
            wlen = int(rng.integers(10, 40))
            cv2.putText(text, "".join(rng.choice(list("ABCDEFGH0123456789"), 3)), (x, y),
                        cv2.FONT_HERSHEY_SIMPLEX, 0.5, 30, 1)  # fmt: skip
            x += wlen + 30
    assert decoder.decode(blank) == []
    assert decoder.decode(noise) == []
    assert decoder.decode(text) == []
    for seed in range(6):  # random bar/space runs of 1-4 modules, same size as an EAN-13
        r = np.random.default_rng(seed)
        runs = r.integers(1, 5, 60)
        modules = np.repeat(np.arange(60) % 2 == 0, runs)[:95]
        row = np.full(95 + 18, 255, np.uint8)
        row[9 : 9 + len(modules)] = np.where(modules, 0, 255)
        img = _photo(np.repeat(row, 2), sigma=1.5, seed=seed)
        assert decoder.decode(img) == [], seed


def test_corrupted_digit_is_not_reported_with_a_wrong_value(decoder) -> None:
    row = _bars(EAN).copy()
    x0 = int(np.argmax(row < 128))  # start guard
    start = x0 + 2 * (3 + 7 * 2)  # third left digit ("1", L set)
    bad = np.repeat(LEFT[7], 2)  # "7" in the L set: parity kept, check digit now wrong
    row[start : start + 14] = np.where(bad > 0, 0, 255)
    assert ZxingDecoder().decode(_photo(row, sigma=0.5)) == []  # sharp: engines reject it
    for seed in range(3):
        assert decoder.decode(_photo(row, sigma=1.8, seed=seed)) == []
        assert decoder.decode(_disc_photo(row, radius=3, seed=seed)) == []


def test_default_pipeline_uses_it_as_last_ladder_step() -> None:
    img = _photo(_bars(EAN), sigma=2.0)
    assert ScanConfig().ladder[-1] == "ean-blur:gray"
    codes = Scanner().decode_image(img)
    assert [(c.symbology, c.text, c.engine) for c in codes] == [(Symbology.EAN13, EAN, "ean-blur")]


def test_disc_defocus_is_read(decoder) -> None:
    img = _disc_photo(_bars(EAN), radius=3, seed=7)  # disc of 1.5 modules radius
    assert ZxingDecoder().decode(img) == []
    assert [r.text for r in decoder.decode(img)] == [EAN]


def test_tilted_code_is_turned_upright(decoder) -> None:
    img = _photo(_bars(EAN, scale=3), sigma=2.5, seed=8)
    h, w = img.shape
    m = cv2.getRotationMatrix2D((w / 2, h / 2), 12, 1.0)
    tilted = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    reads = decoder.decode(tilted)
    assert [r.text for r in reads] == [EAN]
    cx = np.mean([p[0] for p in reads[0].polygon])
    cy = np.mean([p[1] for p in reads[0].polygon])
    assert abs(cx - w / 2) < 25 and abs(cy - h / 2) < 25  # polygon mapped back


def test_bar_orientations_finds_the_bar_normal() -> None:
    img = _photo(_bars(EAN, scale=3), sigma=0.5).astype(np.float64)
    h, w = img.shape
    for angle in (0, 20, -35, 90):
        m = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
        turned = cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
        theta = bar_orientations(turned, 1)[0]
        # gradient across vertical bars is horizontal (0); the image turned by
        # +angle (counter-clockwise) turns it to -angle
        assert abs((theta + angle + 90) % 180 - 90) < 3, (angle, theta)


def _stretched(row: np.ndarray, ratio: float) -> np.ndarray:
    """`row` resampled so its scale grows linearly by `ratio` from left to right.

    A label seen at an angle: the module width changes along the symbol
    (here from 2 px to 2 * `ratio` px).
    """
    s = np.arange(len(row), dtype=np.float64)
    x = s + (ratio - 1) / len(row) * s * s / 2  # local scale 1 at the left, `ratio` at the right
    src = np.interp(np.arange(int(x[-1]) + 1, dtype=np.float64), x, s)
    return np.interp(src, s, row.astype(np.float64)).round().astype(np.uint8)


def test_perspective_with_module_width_varying_30_percent_is_read(decoder) -> None:
    # the affine (start + module width) model of the previous version read
    # none of these; the bent module grid (perspective) reads them all
    for seed in range(3):
        img = _disc_photo(_stretched(_bars(EAN), 1.3), radius=2, seed=seed)
        reads = decoder.decode(img)
        assert [r.text for r in reads] == [EAN], seed
        xs = [p[0] for p in reads[0].polygon]
        assert min(xs) < 70 and max(xs) > 280  # the whole stretched symbol (x 62..~300)


def test_corrupted_digit_in_perspective_is_not_reported(decoder) -> None:
    row = _bars(EAN).copy()
    x0 = int(np.argmax(row < 128))
    start = x0 + 2 * (50 + 7 * 3)  # fourth right digit ("4")
    bad = 1 - np.repeat(LEFT[8], 2)  # "8" in the R set: check digit now wrong
    row[start : start + 14] = np.where(bad > 0, 0, 255)
    for seed in range(3):
        for img in (
            _disc_photo(_stretched(row, 1.3), radius=2, seed=seed),
            _disc_photo(_stretched(row, 1.2), radius=3, seed=seed),
            _photo(_stretched(row, 1.15), sigma=2.5, seed=seed),
        ):
            assert decoder.decode(img) == [], seed
