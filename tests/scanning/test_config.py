"""Pipeline configuration, plug-in decoders, coordinate mapping, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from scanning import Decoder, Read, ScanConfig, Scanner, Symbology
from scanning.symbology import canonicalize, expand_upce, gtin_check_digit, validate_text

from ._images import S10, encode, make_label


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_pixels": 0},
        {"max_pixels": -5},
        {"max_bytes": 0},
        {"work_max_side": 100},
        {"ladder_budget_ms": -1},
        {"symbologies": frozenset()},
        {"first_pass": ()},
        {"ladder": ("zbar",)},
        {"ladder": ("zbar:sepia",)},
        {"ladder": ("zbar:rot+45+nope",)},
        {"max_pixels": True},
    ],
)
def test_invalid_config_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ScanConfig(**kwargs)  # type: ignore[arg-type]


def test_unknown_engine_in_step_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown engine"):
        Scanner(ScanConfig(ladder=("mystery:gray",)))


class CornerDecoder:
    """Fake engine: reports one code covering its whole input image."""

    name = "corner"

    def __init__(self) -> None:
        self.shapes: list[tuple[int, ...]] = []

    def decode(self, gray: np.ndarray) -> list[Read]:
        self.shapes.append(gray.shape)
        h, w = gray.shape
        return [Read(Symbology.QR_CODE, "X", b"X", ((0, 0), (w, 0), (w, h), (0, h)))]


def test_plugin_decoder_and_polygon_mapping_through_transforms() -> None:
    fake = CornerDecoder()
    assert isinstance(fake, Decoder)
    cfg = ScanConfig(first_pass=("corner:up2",), upscale_max_side=4096)
    codes = Scanner(cfg, decoders={"corner": fake}).decode(
        encode(np.zeros((50, 80), np.uint8), "PNG")
    )
    assert fake.shapes == [(100, 160)]
    (code,) = codes
    assert code.engine == "corner" and code.variant == "up2"
    assert np.allclose(code.polygon, [(0, 0), (80, 0), (80, 50), (0, 50)])


def test_rotation_mapping_returns_to_original_frame() -> None:
    fake = CornerDecoder()
    cfg = ScanConfig(first_pass=("corner:rot+90",))
    (code,) = Scanner(cfg, decoders={"corner": fake}).decode(
        encode(np.zeros((50, 80), np.uint8), "PNG")
    )
    assert fake.shapes == [(80, 50)]
    xs = sorted(round(x) for x, _ in code.polygon)
    ys = sorted(round(y) for _, y in code.polygon)
    assert (xs[0], xs[-1], ys[0], ys[-1]) == (0, 80, 0, 50)


def test_symbology_filter() -> None:
    gray, _ = make_label()
    codes = Scanner(ScanConfig(symbologies=frozenset({Symbology.QR_CODE}))).decode(
        encode(gray, "PNG")
    )
    assert {c.symbology for c in codes} == {Symbology.QR_CODE}


@pytest.mark.parametrize(
    ("sym", "text", "expected"),
    [
        (Symbology.EAN13, "0036000291452", (Symbology.UPCA, "036000291452")),
        (Symbology.EAN13, "4006381333931", (Symbology.EAN13, "4006381333931")),
        (Symbology.UPCA, "0036000291452", (Symbology.UPCA, "036000291452")),
        (Symbology.CODABAR, "A40156B", (Symbology.CODABAR, "40156")),
        (Symbology.CODE128, "A40156B", (Symbology.CODE128, "A40156B")),
    ],
)
def test_canonicalize(sym: Symbology, text: str, expected: tuple[Symbology, str]) -> None:
    assert canonicalize(sym, text) == expected


def test_gtin_helpers() -> None:
    assert gtin_check_digit("400638133393") == 1
    assert expand_upce("01234565") == "012345000065"
    assert validate_text(Symbology.UPCE, "01234565") is None
    assert validate_text(Symbology.UPCE, "21234565") is not None
    assert validate_text(Symbology.CODE128, "") == "empty text"


def test_cli_prints_codes_and_item(tmp_path: Path) -> None:
    gray, _ = make_label()
    photo = tmp_path / "label.png"
    photo.write_bytes(encode(gray, "PNG"))
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    proc = subprocess.run(
        [sys.executable, "-m", "scanning", str(photo), str(junk)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert f"CODE128\tzxing-cpp\t{S10}" in proc.stdout
    assert "\\x1d" in proc.stdout  # GS shown escaped
    assert f"item\ts10\t{S10}" in proc.stdout
    assert "junk.jpg: error:" in proc.stderr


@pytest.mark.parametrize("args", [["--carrier", "("], ["--max-pixels", "0"]])
def test_cli_usage_errors_exit_2_without_a_traceback(tmp_path: Path, args: list[str]) -> None:
    photo = tmp_path / "label.png"
    photo.write_bytes(encode(make_label()[0], "PNG"))
    proc = subprocess.run(
        [sys.executable, "-m", "scanning", *args, str(photo)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr  # was 1, with a traceback
    assert "Traceback" not in proc.stderr


class CountingDecoder:
    """Fake engine that finds nothing and counts its calls."""

    name = "count"

    def __init__(self) -> None:
        self.calls = 0

    def decode(self, gray: np.ndarray) -> list[Read]:
        self.calls += 1
        return []


@pytest.mark.parametrize(("canvas", "expected_calls"), [(None, 0), (900, 1)])
def test_partial_ladder_runs_only_when_2d_codes_leave_room(
    canvas: int | None, expected_calls: int
) -> None:
    import zxingcpp

    from ._images import symbol

    qr = symbol("ONLY-2D", zxingcpp.BarcodeFormat.QRCode, 6)
    img = qr
    if canvas is not None:  # small QR in a big frame: a label's 1D code may be missing
        img = np.full((canvas, canvas), 255, np.uint8)
        img[10 : 10 + qr.shape[0], 10 : 10 + qr.shape[1]] = qr
    counter = CountingDecoder()
    cfg = ScanConfig(partial_ladder=("count:gray",))
    codes = Scanner(cfg, decoders={"count": counter}).decode(encode(img, "PNG"))
    assert [c.text for c in codes] == ["ONLY-2D"]
    assert counter.calls == expected_calls


def test_partial_coverage_must_be_a_fraction() -> None:
    with pytest.raises(ValueError):
        ScanConfig(partial_max_coverage=1.5)


class FakeClock:
    """``time`` for scanning.pipeline: ``perf_counter`` reads seconds that only the
    fake slow decoder advances (no timed test)."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        return self.now


class SlowDecoder:
    """Fake engine that finds nothing and takes ``ms`` of the fake clock a call."""

    name = "slow"

    def __init__(self, clock: FakeClock, ms: float) -> None:
        self.clock, self.ms, self.shapes = clock, ms, []

    def decode(self, gray: np.ndarray) -> list[Read]:
        self.shapes.append(gray.shape)
        self.clock.now += self.ms / 1000
        return []


@pytest.mark.parametrize(("width", "ladder_steps"), [(1500, 3), (3000, 0)])
def test_the_full_resolution_retry_spends_the_ladders_budget(
    monkeypatch: pytest.MonkeyPatch, width: int, ladder_steps: int
) -> None:
    """The ladder's budget (1 s here) counted from the ladder's start: a large photo's
    full-resolution retry (2 s on a 48 MP photo) was followed by the whole budget
    again. It now counts from the first pass: after a first pass (0.6 s) and a retry
    (0.6 s) no ladder step starts; after a first pass alone the ladder runs."""
    from scanning import pipeline

    clock = FakeClock()
    monkeypatch.setattr(pipeline, "time", clock)
    slow, counter = SlowDecoder(clock, 600), CountingDecoder()
    cfg = ScanConfig(first_pass=("slow:gray",), large_first_pass=("slow:gray",),
                     ladder=("count:gray",) * 3, ladder_budget_ms=1000)
    image = np.full((300, width), 255, np.uint8)
    found = Scanner(cfg, decoders={"slow": slow, "count": counter}).decode(encode(image, "PNG"))
    assert found == []
    assert len(slow.shapes) == (2 if width > 2048 else 1)  # the retry ran on the large one
    assert counter.calls == ladder_steps
