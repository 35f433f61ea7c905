"""Property tests: arbitrary and mutated bytes never crash or hang the decoder."""

from __future__ import annotations

import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import scanning
from scanning import ScanConfig, Scanner, ScanningError

from ._images import encode, make_label, png_bomb

# small limits keep every example cheap even when a header survives mutation
SCANNER = Scanner(ScanConfig(max_pixels=4_000_000, max_bytes=1_000_000))


def _small_label() -> np.ndarray:
    gray, _ = make_label()
    return np.ascontiguousarray(gray[::3, ::3])


SEEDS = {fmt: encode(_small_label(), fmt) for fmt in ("JPEG", "PNG", "WEBP")}
SEEDS["BOMB"] = png_bomb(3000, 3000)


def _check(data: bytes) -> None:
    t0 = time.process_time()  # CPU time: a stalled CI host is no regression
    try:
        codes = SCANNER.decode(data)
    except ScanningError:
        pass
    else:
        assert all(isinstance(c, scanning.Barcode) for c in codes)
    assert time.process_time() - t0 < 5.0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_random_bytes(data: bytes) -> None:
    _check(data)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(SEEDS)),
    st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), min_size=1, max_size=8),
    st.floats(0.05, 1.0),
)
def test_mutated_images(seed: str, flips: list[tuple[float, int]], keep: float) -> None:
    data = bytearray(SEEDS[seed])
    for where, value in flips:
        data[min(len(data) - 1, int(where * len(data)))] = value
    _check(bytes(data[: max(1, int(len(data) * keep))]))


@pytest.mark.parametrize(
    "prefix", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"RIFF\x10\x00\x00\x00WEBPVP8 "]
)
@settings(max_examples=40, deadline=None)
@given(tail=st.binary(max_size=512))
def test_valid_signature_with_garbage_body(prefix: bytes, tail: bytes) -> None:
    _check(prefix + tail)
