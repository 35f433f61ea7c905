"""The deblurring pre-step for zxing-cpp and ZBar (synthetic images only)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import zxingcpp

from scanning import ScanConfig, Scanner, Symbology
from scanning.deblur import DeblurDecoder, bar_normals, deconvolve_rows, disc_lsf
from scanning.engines import ZbarDecoder, ZxingDecoder
from scanning.pipeline import default_decoders

from ._images import bar_row, defocused_bars

EAN = "5901234123457"
UPC = "036000291452"

# EAN-13 L-set patterns of the digits (1 = bar)
_L = ("0001101", "0011001", "0010011", "0111101", "0100011",
      "0110001", "0101111", "0111011", "0110111", "0001011")  # fmt: skip


_bars = bar_row


def _disc_photo(row: np.ndarray, radius: int, seed: int = 0, noise: float = 3.0) -> np.ndarray:
    """Bars 80 px high, defocused by a uniform disc (:func:`defocused_bars`)."""
    return defocused_bars(row, radius=radius, seed=seed, noise=noise, height=80)


@pytest.fixture(scope="module")
def decoder() -> DeblurDecoder:
    return DeblurDecoder()


@pytest.mark.parametrize("seed", [0, 1])
def test_disc_defocused_ean13_that_both_engines_miss_is_read(decoder, seed) -> None:
    img = _disc_photo(_bars(EAN), radius=3, seed=seed)  # disc radius 1.5 modules
    assert ZxingDecoder().decode(img) == []
    assert ZbarDecoder().decode(img) == []
    reads = decoder.decode(img)
    assert [(r.symbology, r.text) for r in reads] == [(Symbology.EAN13, EAN)]
    xs = [p[0] for p in reads[0].polygon]
    ys = [p[1] for p in reads[0].polygon]
    width = len(_bars(EAN))
    assert 30 <= min(xs) <= 70 and 40 + width - 40 <= max(xs) <= 40 + width + 10
    assert 50 <= min(ys) and max(ys) <= 150  # inside the bars' rows (plus blur)


def test_upca_is_reported_as_upca_also_when_vertical(decoder) -> None:
    img = _disc_photo(_bars(UPC, zxingcpp.BarcodeFormat.UPCA), radius=3, seed=3)
    assert ZxingDecoder().decode(img) == []
    assert [(r.symbology, r.text) for r in decoder.decode(img)] == [(Symbology.UPCA, UPC)]
    turned = np.ascontiguousarray(np.rot90(img))
    assert [r.text for r in decoder.decode(turned)] == [UPC]


def test_corrupted_digit_is_never_reported(decoder) -> None:
    row = _bars(EAN).copy()
    x0 = int(np.argmax(row < 128))  # start guard
    start = x0 + 2 * (3 + 7 * 2)  # third left digit ("1", L set)
    bad = np.repeat(np.array([int(b) for b in _L[7]]), 2)  # parity kept, check digit wrong
    row[start : start + 14] = np.where(bad > 0, 0, 255)
    for seed in range(3):
        for radius in (2, 3, 4):
            assert decoder.decode(_disc_photo(row, radius=radius, seed=seed)) == []


def test_blank_noise_and_random_bars_give_nothing(decoder) -> None:
    rng = np.random.default_rng(5)
    assert decoder.decode(np.full((240, 320), 200, np.uint8)) == []
    assert decoder.decode(rng.integers(0, 256, (240, 320)).astype(np.uint8)) == []
    for seed in range(3):
        r = np.random.default_rng(seed)
        modules = np.repeat(np.arange(60) % 2 == 0, r.integers(1, 5, 60))[:95]
        row = np.full(95 + 18, 255, np.uint8)
        row[9 : 9 + len(modules)] = np.where(modules, 0, 255)
        assert decoder.decode(_disc_photo(np.repeat(row, 2), radius=3, seed=seed)) == []


def test_tiny_image_gives_nothing(decoder) -> None:
    assert decoder.decode(np.zeros((4, 300), np.uint8)) == []


def test_large_image_is_downscaled_before_the_search(decoder, monkeypatch) -> None:
    """A 12 MP photo is searched at ``max_side`` (512 px), not at full size, which is
    what bounds its time (measured by benchmarks.scanning_bench, docs/benchmarks.md)."""
    import scanning.deblur as deblur

    seen: list[tuple[int, ...]] = []
    real = deblur.bar_normals

    def spy(img: np.ndarray, max_views: int = 2) -> list[float]:
        seen.append(img.shape)
        return real(img, max_views)

    monkeypatch.setattr(deblur, "bar_normals", spy)
    rng = np.random.default_rng(1)
    big = cv2.resize(
        rng.integers(0, 256, (300, 400)).astype(np.uint8),
        (4000, 3000),
        interpolation=cv2.INTER_LINEAR,
    )
    assert decoder.decode(big) == []
    assert seen == [(384, 512)]


def test_bar_normals_finds_the_bar_normal() -> None:
    row = _bars(EAN, scale=3)
    canvas = np.full((400, 400), 230, np.uint8)
    canvas[130:270, 60 : 60 + len(row)] = np.tile(row, (140, 1))
    for angle in (0.0, 20.0, -35.0, 90.0):
        m = cv2.getRotationMatrix2D((200, 200), angle, 1.0)
        img = cv2.warpAffine(canvas, m, (400, 400), borderValue=230)
        theta = bar_normals(cv2.GaussianBlur(img, (0, 0), 1.5))[0]
        # rotating the image by +angle (counter-clockwise) turns the normal by -angle
        assert abs((theta + angle + 90) % 180 - 90) < 3, (angle, theta)
    assert bar_normals(np.full((50, 50), 7, np.uint8)) == [0.0, 90.0]


def test_deconvolution_restores_a_disc_blurred_profile() -> None:
    row = np.repeat(np.array([0, 1, 0, 0, 1, 1, 0, 1, 0, 0, 0, 1] * 4, np.float32), 6) * 200 + 20
    img = np.tile(np.pad(row, 40, mode="edge"), (8, 1)).astype(np.float32)
    psf = disc_lsf(7.0)
    blurred = cv2.filter2D(img, -1, psf[None, :].astype(np.float32), borderType=cv2.BORDER_REFLECT)
    restored = deconvolve_rows(blurred, psf, noise=1e-3)
    inner = slice(60, -60)
    err_blur = np.abs(blurred[4, inner] - img[4, inner]).mean()
    err_rest = np.abs(restored[4, inner] - img[4, inner]).mean()
    assert err_rest < 0.5 * err_blur


def test_registered_but_not_in_the_default_ladder() -> None:
    assert isinstance(default_decoders()["deblur"], DeblurDecoder)
    cfg = ScanConfig()
    assert not any(s.startswith("deblur:") for s in cfg.ladder)
    assert cfg.ladder[-1] == "ean-blur:gray"


def test_usable_as_a_ladder_step_before_ean_blur() -> None:
    img = _disc_photo(_bars(EAN), radius=3, seed=4)
    ladder = (*ScanConfig().ladder[:-1], "deblur:gray", "ean-blur:gray")
    codes = Scanner(ScanConfig(ladder=ladder)).decode_image(img)
    assert [(c.symbology, c.text) for c in codes] == [(Symbology.EAN13, EAN)]


def test_invalid_parameters_are_rejected() -> None:
    with pytest.raises(ValueError):
        DeblurDecoder(radii=())
    with pytest.raises(ValueError):
        DeblurDecoder(noise=0.0)
