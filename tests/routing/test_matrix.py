"""Travel-matrix providers: haversine, geodesic, OSRM table client."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np
import pytest

from routing import (
    MOTORBIKE_CITY,
    Courier,
    GeodesicProvider,
    HaversineProvider,
    LatLon,
    MatrixProvider,
    MatrixProviderError,
    Office,
    OsrmTableProvider,
    Problem,
    SolverParams,
    SpeedProfile,
    Stop,
    TimeWindow,
    TravelMatrix,
    haversine_m,
    reoptimize,
    solve,
)
from routing.evaluate import evaluate
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


@contextmanager
def _serving(handler: type[BaseHTTPRequestHandler], poll_s: float = 0.5) -> Iterator[str]:
    """A local HTTP server of ``handler`` in a thread, for the block: its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(poll_s,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


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
    with _serving(_Osrm) as url:
        yield url


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
        {"base_url": "http://127.0.0.1:5000", "timeout_s": float("inf")},  # OverflowError
        {"base_url": "http://127.0.0.1:5000", "timeout_s": 1e300},  # at the request
        {"base_url": "http://127.0.0.1:5000", "max_points": 10.5},  # TypeError, ditto
        {"base_url": "http://127.0.0.1:5000", "speed_factor": -1},
    ],
)
def test_osrm_bad_arguments(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        OsrmTableProvider(**kwargs)


class _Raw(BaseHTTPRequestHandler):
    """A broken OSRM-compatible server: answers every request with ``body`` (bytes),
    or lets ``serve`` (a function of the handler) write the response itself."""

    body: bytes = b""
    serve: Any = None

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        try:
            if type(self).serve is not None:
                type(self).serve(self)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(self.body)))
            self.end_headers()
            self.wfile.write(self.body)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up
            pass


@pytest.fixture
def raw_osrm() -> Iterator[str]:
    _Raw.body, _Raw.serve = b"", None
    with _serving(_Raw, poll_s=0.02) as url:
        yield url


def _table(durations: Any, distances: Any = None) -> bytes:
    if distances is None:
        distances = [[0, 1], [1, 0]]
    return json.dumps({"code": "Ok", "durations": durations, "distances": distances}).encode()


@pytest.mark.parametrize(
    "body",
    [
        b'{"code": "Ok", "durations": [[0, NaN], [1, 0]], "distances": [[0, 1], [1, 0]]}',
        b'{"code": "Ok", "durations": [[0, Infinity], [1, 0]], "distances": [[0, 1], [1, 0]]}',
        _table([[0, -50], [1, 0]]),
        _table([[0, "12"], [1, 0]]),
        _table([[0, True], [1, 0]]),
        _table([[0, [1]], [1, 0]]),
        _table([[0, 1], 5]),
        _table(None),
        _table({"0": [0, 1], "1": [1, 0]}),
        _table(["ab", "cd"], ["ab", "cd"]),
        b"[" * 100_000 + b"]" * 100_000,
    ],
    ids=["nan", "infinity", "negative", "string", "boolean", "nested", "row-number", "null",
         "object", "strings", "deep"],
)
def test_osrm_malformed_table_is_a_provider_error(raw_osrm: str, body: bytes) -> None:
    # each of these crashed with ValueError, OverflowError, TypeError, KeyError or
    # RecursionError from deep inside the client, or (negative) became a travel time
    _Raw.body = body
    with pytest.raises(MatrixProviderError):
        OsrmTableProvider(raw_osrm, timeout_s=5).matrix(_points(2))


def test_osrm_huge_value_is_unreachable_not_an_overflow(raw_osrm: str) -> None:
    _Raw.body = _table([[0, 1e300], [1, 0]], [[0, 1e300], [1, 0]])
    m = OsrmTableProvider(raw_osrm, speed_factor=2.0).matrix(_points(2))
    assert m.duration_s[0, 1] == UNREACHABLE and m.distance_m[0, 1] == UNREACHABLE


def test_osrm_truncated_body_is_a_provider_error(raw_osrm: str) -> None:
    def serve(h: BaseHTTPRequestHandler) -> None:  # promises more than it sends
        h.send_response(200)
        h.send_header("Content-Length", "1000")
        h.end_headers()
        h.wfile.write(b'{"code": "Ok"')

    _Raw.serve = serve
    with pytest.raises(MatrixProviderError):  # was http.client.IncompleteRead
        OsrmTableProvider(raw_osrm, timeout_s=5).matrix(_points(2))


def test_osrm_trickled_body_is_bounded_by_the_timeout(raw_osrm: str) -> None:
    sent = []

    def serve(h: BaseHTTPRequestHandler) -> None:  # one byte at a time, each in time
        h.send_response(200)
        h.send_header("Content-Length", "100")
        h.end_headers()
        for _ in range(100):
            h.wfile.write(b" ")
            h.wfile.flush()
            sent.append(1)
            time.sleep(0.05)

    _Raw.serve = serve
    with pytest.raises(MatrixProviderError):
        OsrmTableProvider(raw_osrm, timeout_s=0.3).matrix(_points(2))
    # the socket timeout alone (each byte comes in 0.05 s) read all 100 bytes, 5 s
    assert len(sent) < 50


def test_osrm_trickled_headers_are_bounded_by_the_timeout(raw_osrm: str) -> None:
    sent = []

    def serve(h: BaseHTTPRequestHandler) -> None:  # the head a byte at a time, each in time
        body = _table([[0, 1], [1, 0]])
        head = (b"HTTP/1.0 200 OK\r\nX-Pad: " + b"x" * 60
                + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode())
        for byte in head:
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            sent.append(1)
            time.sleep(0.05)
        h.wfile.write(body)

    _Raw.serve = serve
    with pytest.raises(MatrixProviderError, match="no complete response in 0.3 s"):
        OsrmTableProvider(raw_osrm, timeout_s=0.3).matrix(_points(2))
    # the socket timeout alone (each byte comes in 0.05 s) waited for the whole head,
    # ~5 s, and returned the table; the bytes sent measure that without the wall clock
    # (a CI host that stalls the process for seconds stalls the server too)
    assert len(sent) < 50


def test_osrm_trickled_headers_over_https_are_bounded_by_the_timeout(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # over TLS the socket the watchdog watched (the TCP one) is detached by the TLS
    # wrapper: shutting it did nothing, and a head trickled a byte at a time (each its
    # own TLS record, in time for the socket timeout) held the caller ~5 s of 0.3 s
    import shutil
    import socket
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                    str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(str(cert), str(key))
    monkeypatch.setattr(ssl, "_create_default_https_context", ssl._create_unverified_context)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    sent = []

    def serve() -> None:
        raw, _ = listener.accept()
        try:
            with server_ctx.wrap_socket(raw, server_side=True) as conn:
                conn.settimeout(2)
                conn.recv(65536)
                body = _table([[0, 1], [1, 0]])
                head = (b"HTTP/1.0 200 OK\r\nX-Pad: " + b"x" * 60
                        + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode())
                for byte in head:
                    conn.sendall(bytes([byte]))
                    sent.append(1)
                    time.sleep(0.05)
                conn.sendall(body)
        except OSError:  # the client gave up
            pass
        finally:
            listener.close()

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    with pytest.raises(MatrixProviderError, match="no complete response in 0.3 s"):
        OsrmTableProvider(f"https://127.0.0.1:{port}", timeout_s=0.3).matrix(_points(2))
    server.join(5)
    assert len(sent) < 50  # of ~90: the head's bytes, one each 0.05 s


def test_osrm_oversized_body_is_refused_early(raw_osrm: str) -> None:
    sent = []

    def serve(h: BaseHTTPRequestHandler) -> None:  # 64 MB of blanks, no length
        h.send_response(200)
        h.end_headers()
        chunk = b" " * (1 << 20)
        for _ in range(64):
            h.wfile.write(chunk)
            sent.append(1)

    _Raw.serve = serve
    with pytest.raises(MatrixProviderError, match="larger than"):
        OsrmTableProvider(raw_osrm, timeout_s=5).matrix(_points(2))
    assert len(sent) < 64  # the client stopped reading (it used to read it all)


# ----------------------------------------------------------------------------- a user's provider


class _Bent:
    """A provider whose haversine matrix ``bend`` spoils."""

    def __init__(self, bend: Any) -> None:
        self.bend = bend

    def matrix(self, points: Any, speed: SpeedProfile = MOTORBIKE_CITY) -> Any:
        m = HaversineProvider().matrix(points, speed)
        return self.bend(m)


def _day(couriers: int) -> Problem:
    office = Office(LatLon(12.2450, 109.1940))
    stops = tuple(
        Stop(f"s{i}", LatLon(12.25 + i / 1000, 109.19),
             window=TimeWindow(9 * 3600, 12 * 3600) if i % 2 else None)
        for i in range(5)
    )
    shift = TimeWindow(8 * 3600, 17 * 3600)
    return Problem(office, stops, tuple(Courier(f"c{k}", shift) for k in range(couriers)))


@pytest.mark.parametrize(
    "bend",
    [
        lambda m: TravelMatrix(m.distance_m[:-1, :-1].copy(), m.duration_s[:-1, :-1].copy()),
        lambda m: TravelMatrix(np.zeros((9, 9), np.int64), np.zeros((9, 9), np.int64)),
        lambda m: TravelMatrix(-m.distance_m, -m.duration_s),
        lambda m: TravelMatrix(m.distance_m + 5, m.duration_s + 5),
        lambda m: (m.distance_m, m.duration_s),
    ],
    ids=["too-small", "too-large", "negative", "diagonal", "not-a-matrix"],
)
@pytest.mark.parametrize("couriers", [1, 2])
def test_a_providers_broken_matrix_is_a_provider_error(bend: Any, couriers: int) -> None:
    # were an IndexError, PyVRP's ValueError, an AttributeError, or a plan on matrices
    # of other points (too large) or leaving every stop out (negative)
    problem = _day(couriers)
    provider = _Bent(bend)
    params = SolverParams(time_limit_s=0.1, workers=1)
    with pytest.raises(MatrixProviderError):
        solve(problem, params, provider=provider)
    with pytest.raises(MatrixProviderError):
        evaluate(problem, {"c0": ["s0", "s1"]}, provider=provider)
    with pytest.raises(MatrixProviderError):
        reoptimize(problem, "c0", LatLon(12.25, 109.19), [], now_s=9 * 3600,
                   keep_next="s0", params=params, provider=provider)


def test_a_providers_huge_distances_are_unreachable() -> None:
    # 2**50 x the metres: the time-window search's sums overflowed int64, and it
    # returned a route visiting one stop twice and leaving another out
    problem = _day(1)
    provider = _Bent(lambda m: TravelMatrix(m.distance_m * 2**50, m.duration_s))
    plan = solve(problem, SolverParams(time_limit_s=0.2, workers=1), provider=provider)
    (route,) = plan.routes
    assert sorted(route.stop_ids) == [s.id for s in problem.stops]
    assert all(v.travel_distance_m <= UNREACHABLE for v in route.visits)
