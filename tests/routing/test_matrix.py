"""Travel-matrix providers: haversine, geodesic, OSRM table client."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from routing import (
    MOTORBIKE_CITY,
    GeodesicProvider,
    HaversineProvider,
    LatLon,
    MatrixProvider,
    MatrixProviderError,
    OsrmTableProvider,
    SpeedProfile,
    haversine_m,
)
from routing.matrix import UNREACHABLE

rng = np.random.default_rng(42)
CITY = [
    LatLon(12.2450 + float(a), 109.1940 + float(b))
    for a, b in rng.uniform(-0.06, 0.06, size=(25, 2))
]


def test_providers_satisfy_protocol() -> None:
    assert isinstance(HaversineProvider(), MatrixProvider)
    assert isinstance(GeodesicProvider(), MatrixProvider)
    assert isinstance(OsrmTableProvider("http://127.0.0.1:1"), MatrixProvider)


def test_haversine_vs_geodesic_city_scale() -> None:
    unit = SpeedProfile(circuity=1.0)
    h = HaversineProvider().matrix(CITY, unit).distance_m.astype(float)
    g = GeodesicProvider().matrix(CITY, unit).distance_m.astype(float)
    mask = g > 100
    rel = np.abs(h[mask] - g[mask]) / g[mask]
    assert rel.max() < 0.005


def test_haversine_known_distance() -> None:
    # one degree of latitude on the mean sphere = 111 195 m
    d = haversine_m([LatLon(0, 0), LatLon(1, 0)], radius_m=6_371_008.8)
    assert d[0, 1] == pytest.approx(111_195, abs=1)
    assert d[0, 0] == 0


def test_speed_and_circuity_applied() -> None:
    m = HaversineProvider().matrix(CITY[:3], MOTORBIKE_CITY)
    raw = haversine_m(CITY[:3])
    assert m.distance_m[0, 1] == round(raw[0, 1] * MOTORBIKE_CITY.circuity)
    expected_s = raw[0, 1] * MOTORBIKE_CITY.circuity / (MOTORBIKE_CITY.speed_kmh / 3.6)
    assert abs(m.duration_s[0, 1] - expected_s) <= 1
    assert m.distance_m.dtype == np.int64
    assert np.array_equal(m.distance_m, m.distance_m.T)


def test_2000_points_match_a_pairwise_haversine() -> None:
    """The vectorised matrix at the size the speed target names (2000 points; its
    time is measured by ``benchmarks.routing_synthetic matrix``, docs/benchmarks.md)
    equals the haversine of each pair computed on its own."""
    pts = [
        LatLon(12.2450 + float(a), 109.1940 + float(b))
        for a, b in np.random.default_rng(1).uniform(-0.05, 0.05, size=(2000, 2))
    ]
    unit = SpeedProfile(circuity=1.0)
    m = HaversineProvider().matrix(pts, unit).distance_m
    assert m.shape == (2000, 2000)
    assert np.array_equal(m, m.T) and not m.diagonal().any()
    for i, j in np.random.default_rng(2).integers(0, 2000, size=(50, 2)):
        pair = haversine_m([pts[i], pts[j]])[0, 1]
        assert abs(int(m[i, j]) - pair) <= 1, (i, j)


# ----------------------------------------------------------------------------- OSRM


class _Osrm(BaseHTTPRequestHandler):
    """Fake OSRM table service: durations = 10 x |i - j| style from coordinates."""

    requests: list[str] = []
    mode = "ok"

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802
        type(self).requests.append(self.path)
        if type(self).mode == "slow":
            time.sleep(1.0)
        parsed = urllib.parse.urlsplit(self.path)
        prefix = "/table/v1/driving/"
        assert parsed.path.startswith(prefix)
        coords = [tuple(map(float, c.split(","))) for c in parsed.path[len(prefix) :].split(";")]
        q = urllib.parse.parse_qs(parsed.query)
        assert q["annotations"] == ["duration,distance"]
        src = [int(i) for i in q["sources"][0].split(";")]
        dst = [int(i) for i in q["destinations"][0].split(";")]
        if type(self).mode == "error":
            body = {"code": "InvalidQuery", "message": "nope"}
        else:

            def val(a: int, b: int) -> float | None:
                # lon encodes the point number (see the test), unreachable 2 -> 3
                i, j = round(coords[a][0] * 1000), round(coords[b][0] * 1000)
                if type(self).mode == "null" and (i, j) == (2, 3):
                    return None
                return float(abs(i - j) * 10 + (1 if i > j else 0))

            body = {
                "code": "Ok",
                "durations": [[val(a, b) for b in dst] for a in src],
                "distances": [
                    [None if val(a, b) is None else val(a, b) * 7.5 for b in dst] for a in src
                ],  # type: ignore[operator]
            }
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        try:
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # client timed out (timeout test)
            pass


@pytest.fixture
def osrm() -> Iterator[str]:
    _Osrm.requests = []
    _Osrm.mode = "ok"
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Osrm)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _points(n: int) -> list[LatLon]:
    return [LatLon(12.0, i / 1000) for i in range(n)]


def test_osrm_single_request(osrm: str) -> None:
    m = OsrmTableProvider(osrm).matrix(_points(4))
    assert len(_Osrm.requests) == 1
    assert m.duration_s[1, 3] == 20 and m.duration_s[3, 1] == 21
    assert m.distance_m[1, 3] == 150
    assert np.all(np.diag(m.duration_s) == 0)


def test_osrm_chunked(osrm: str) -> None:
    n = 7
    m = OsrmTableProvider(osrm, max_points=4).matrix(_points(n))
    assert len(_Osrm.requests) == 16  # ceil(7/2)**2
    i, j = np.meshgrid(range(n), range(n), indexing="ij")
    expected = np.abs(i - j) * 10 + (i > j)
    assert np.array_equal(m.duration_s, expected)


def test_osrm_null_is_unreachable(osrm: str) -> None:
    _Osrm.mode = "null"
    m = OsrmTableProvider(osrm).matrix(_points(5))
    assert m.duration_s[2, 3] == UNREACHABLE and m.distance_m[2, 3] == UNREACHABLE
    assert m.duration_s[3, 2] == 11


def test_osrm_error_code(osrm: str) -> None:
    _Osrm.mode = "error"
    with pytest.raises(MatrixProviderError, match="InvalidQuery"):
        OsrmTableProvider(osrm).matrix(_points(3))


def test_osrm_timeout(osrm: str) -> None:
    _Osrm.mode = "slow"
    with pytest.raises(MatrixProviderError):
        OsrmTableProvider(osrm, timeout_s=0.2).matrix(_points(2))


def test_osrm_connection_refused() -> None:
    # a port on 127.0.0.1 nobody listens on (bound then closed)
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(MatrixProviderError):
        OsrmTableProvider(f"http://127.0.0.1:{port}", timeout_s=1).matrix(_points(2))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"base_url": "ftp://x"},
        {"base_url": "not a url"},
        {"base_url": "http://127.0.0.1:5000", "max_points": 1},
        {"base_url": "http://127.0.0.1:5000", "timeout_s": 0},
        {"base_url": "http://127.0.0.1:5000", "speed_factor": -1},
    ],
)
def test_osrm_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        OsrmTableProvider(**kwargs)
