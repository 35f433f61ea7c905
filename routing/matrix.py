"""Travel matrices (distance in metres, duration in seconds) between points.

Three providers implement :class:`MatrixProvider`:

* :class:`HaversineProvider` (default, embedded): vectorised great-circle
  distance (numpy, sphere with the WGS84 Gaussian radius of curvature at
  the points' mean latitude, see :func:`local_earth_radius_m`) x the speed
  profile's circuity factor; duration = distance / speed. A 2000 x 2000
  matrix takes about 0.2-0.5 s.
* :class:`GeodesicProvider`: geopy's ellipsoidal (WGS84) geodesic, exact but
  a Python loop (~6 minutes for 2000 x 2000); meant for validation and tests.
* :class:`OsrmTableProvider`: an OSRM-compatible ``/table/v1`` HTTP client
  (stdlib ``urllib``, timeout, chunked requests) returning road distances and
  durations.
"""

from __future__ import annotations

import http.client
import json
import logging
import math
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from routing.errors import MatrixProviderError
from routing.model import MOTORBIKE_CITY, LatLon, SpeedProfile

__all__ = [
    "EARTH_RADIUS_M",
    "UNREACHABLE",
    "GeodesicProvider",
    "HaversineProvider",
    "MatrixProvider",
    "OsrmTableProvider",
    "TravelMatrix",
    "checked_matrix",
    "haversine_m",
    "local_earth_radius_m",
]

logger = logging.getLogger(__name__)

#: Mean Earth radius (IUGG), metres.
EARTH_RADIUS_M = 6_371_008.8
_WGS84_A = 6_378_137.0
_WGS84_E2 = 6.69437999014e-3
#: Value used for pairs a provider reports as unreachable (metres / seconds):
#: large enough to fail every shift, small enough never to overflow sums.
UNREACHABLE = 10_000_000

IntMatrix = npt.NDArray[np.int64]

#: Bytes an OSRM table response may take: per requested cell (two numbers of up to
#: ~20 characters each), per waypoint (OSRM echoes each coordinate with a hint and a
#: street name), plus a fixed allowance. A 50 x 50 block is ~50 KB in practice; a
#: server sending more is broken, and reading it all (json included) cost ~2x its size
#: in memory.
_OSRM_BYTES_PER_CELL = 64
_OSRM_BYTES_PER_POINT = 4096
_OSRM_BYTES_FIXED = 1 << 20


@dataclass(frozen=True, slots=True, eq=False)
class TravelMatrix:
    """Square travel matrices over a list of points.

    Parameters
    ----------
    distance_m
        ``(n, n)`` int64 metres, zero diagonal.
    duration_s
        ``(n, n)`` int64 seconds, zero diagonal.
    """

    distance_m: IntMatrix
    duration_s: IntMatrix

    def __post_init__(self) -> None:
        d, t = self.distance_m, self.duration_s
        if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape != t.shape:
            raise ValueError(f"matrices must be square and equal-shaped: {d.shape}, {t.shape}")
        if d.dtype != np.int64 or t.dtype != np.int64:
            raise ValueError("matrices must be int64")

    @property
    def size(self) -> int:
        """Number of points."""
        return int(self.distance_m.shape[0])


@runtime_checkable
class MatrixProvider(Protocol):
    """Anything that can build a :class:`TravelMatrix` for a list of points."""

    def matrix(self, points: Sequence[LatLon], speed: SpeedProfile) -> TravelMatrix:
        """Return distances and durations between every pair of ``points``.

        Parameters
        ----------
        points
            The points, in matrix order.
        speed
            Speed profile of the courier (crow-flies providers use it; road
            providers may ignore it).

        Returns
        -------
        TravelMatrix
            ``len(points) x len(points)`` matrices.
        """
        ...


def checked_matrix(provider: MatrixProvider, points: Sequence[LatLon],
                   speed: SpeedProfile) -> TravelMatrix:
    """``provider.matrix(points, speed)``, checked: a :class:`TravelMatrix` of
    ``len(points)`` points, zero diagonals, no negative entry; entries above
    :data:`UNREACHABLE` are that (sums of larger ones overflowed int64 in the
    searches: a route visiting one stop twice and another never).

    Raises
    ------
    MatrixProviderError
        When the provider's matrix is none of that.
    """
    m = provider.matrix(points, speed)
    name = type(provider).__name__
    if not isinstance(m, TravelMatrix):
        raise MatrixProviderError(f"{name} returned {type(m).__name__}, not a TravelMatrix")
    if m.size != len(points):
        raise MatrixProviderError(
            f"{name} returned a {m.size}x{m.size} matrix for {len(points)} points")
    for what, a in (("distance", m.distance_m), ("duration", m.duration_s)):
        if a.size and int(a.min()) < 0:
            raise MatrixProviderError(f"{name} returned a negative {what}")
        if np.any(np.diagonal(a)):
            raise MatrixProviderError(f"{name} returned a {what} from a point to itself")
    if max(int(m.distance_m.max(initial=0)), int(m.duration_s.max(initial=0))) > UNREACHABLE:
        m = TravelMatrix(distance_m=np.minimum(m.distance_m, UNREACHABLE),
                         duration_s=np.minimum(m.duration_s, UNREACHABLE))
    return m


def _coords(points: Sequence[LatLon]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    lat = np.fromiter((p.lat for p in points), dtype=np.float64, count=len(points))
    lon = np.fromiter((p.lon for p in points), dtype=np.float64, count=len(points))
    return lat, lon


def local_earth_radius_m(lat_deg: float) -> float:
    """Gaussian radius of curvature of the WGS84 ellipsoid at a latitude.

    ``R = a * sqrt(1 - e^2) / (1 - e^2 sin^2(lat))``, the geometric mean of the
    meridional and prime-vertical radii. Using it instead of the mean Earth
    radius keeps haversine within ~0.35 % of the ellipsoidal geodesic in every
    direction at city scale (the mean radius is 0.52 % off north-south at
    12 degrees N).

    Parameters
    ----------
    lat_deg
        Latitude in degrees.

    Returns
    -------
    float
        Radius in metres.
    """
    s = math.sin(math.radians(lat_deg))
    return _WGS84_A * math.sqrt(1.0 - _WGS84_E2) / (1.0 - _WGS84_E2 * s * s)


def haversine_m(points: Sequence[LatLon], radius_m: float | None = None) -> npt.NDArray[np.float64]:
    """Great-circle distances (metres) between all pairs of points.

    Parameters
    ----------
    points
        ``n`` points.
    radius_m
        Sphere radius; default :func:`local_earth_radius_m` at the mean
        latitude of ``points``.

    Returns
    -------
    numpy.ndarray
        ``(n, n)`` float64 matrix.
    """
    lat, lon = _coords(points)
    if radius_m is None:
        radius_m = local_earth_radius_m(float(lat.mean())) if len(lat) else EARTH_RADIUS_M
    phi = np.radians(lat)
    lam = np.radians(lon)
    cos_phi = np.cos(phi)
    s_dphi = np.sin((phi[:, None] - phi[None, :]) * 0.5)
    s_dlam = np.sin((lam[:, None] - lam[None, :]) * 0.5)
    a = s_dphi * s_dphi
    a += np.outer(cos_phi, cos_phi) * (s_dlam * s_dlam)
    np.clip(a, 0.0, 1.0, out=a)
    np.sqrt(a, out=a)
    np.arcsin(a, out=a)
    a *= 2.0 * radius_m
    return a


def _from_metres(metres: npt.NDArray[np.float64], speed: SpeedProfile) -> TravelMatrix:
    road = metres * speed.circuity
    dist = np.rint(road).astype(np.int64)
    road *= 3.6 / speed.speed_kmh  # metres -> seconds
    dur = np.rint(road).astype(np.int64)
    return TravelMatrix(distance_m=dist, duration_s=dur)


class HaversineProvider:
    """Crow-flies matrix: haversine distance x circuity, at the profile's speed.

    The default provider. Symmetric, satisfies the triangle inequality up to
    rounding, needs no network.

    Parameters
    ----------
    radius_m
        Fixed sphere radius. Default ``None``: the WGS84 Gaussian radius at
        the mean latitude of each point set (more exact, but the same pair
        can differ by a few metres between calls on different point sets).
    """

    def __init__(self, radius_m: float | None = None) -> None:
        if radius_m is not None and not (math.isfinite(radius_m) and radius_m > 0):
            raise ValueError("radius_m must be positive")
        self.radius_m = radius_m

    def matrix(
        self, points: Sequence[LatLon], speed: SpeedProfile = MOTORBIKE_CITY
    ) -> TravelMatrix:
        """Build the matrix; see :meth:`MatrixProvider.matrix`."""
        return _from_metres(haversine_m(points, self.radius_m), speed)


class GeodesicProvider:
    """Ellipsoidal (WGS84) geodesic distance from geopy x circuity.

    Exact distances but an O(n^2) Python loop: use it for validation and
    small problems only (about 1.5 ms per pair... ~6 minutes for 2000 points).
    """

    def matrix(
        self, points: Sequence[LatLon], speed: SpeedProfile = MOTORBIKE_CITY
    ) -> TravelMatrix:
        """Build the matrix; see :meth:`MatrixProvider.matrix`."""
        from geopy.distance import geodesic

        n = len(points)
        metres = np.zeros((n, n), dtype=np.float64)
        for i in range(n):
            a = (points[i].lat, points[i].lon)
            for j in range(i + 1, n):
                metres[i, j] = metres[j, i] = geodesic(a, (points[j].lat, points[j].lon)).meters
        return _from_metres(metres, speed)


class OsrmTableProvider:
    """Client of an OSRM-compatible table service.

    Sends ``GET {base_url}/table/v1/{profile}/{lon,lat;...}?annotations=
    duration,distance&sources=..&destinations=..`` with at most
    ``max_points`` coordinates per request (OSRM's default
    ``--max-table-size`` is 100), so an ``n``-point matrix takes
    ``ceil(n / (max_points/2))**2`` requests. Pairs OSRM cannot route
    (``null``) get :data:`UNREACHABLE`, and so do longer trips. A response
    that is not such a table (wrong shape, an entry that is not a finite
    number >= 0, larger than a table of its size can be) is a
    :class:`~routing.MatrixProviderError`.

    Parameters
    ----------
    base_url
        E.g. ``"http://osrm:5000"``. No default: the deployment decides.
    profile
        OSRM profile path segment, default ``"driving"``.
    timeout_s
        Time limit of each request, ``0 < timeout_s <= 3600``, from the connection
        to the end of the body (a server sending its status line, headers or body
        slowly is cut off after it, not only one that goes silent).
    max_points
        Maximum coordinates per request (sources + destinations), an integer >= 2.
    speed_factor
        Multiplier applied to OSRM durations (e.g. 1.2 when the OSRM car
        profile is faster than motorbikes in traffic). The ``speed`` argument
        of :meth:`matrix` is ignored.
    """

    def __init__(
        self,
        base_url: str,
        *,
        profile: str = "driving",
        timeout_s: float = 10.0,
        max_points: int = 100,
        speed_factor: float = 1.0,
    ) -> None:
        parsed = urllib.parse.urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"base_url must be an http(s) URL, got {base_url!r}")
        if isinstance(max_points, bool) or not isinstance(max_points, int) or max_points < 2:
            raise ValueError("max_points must be an integer >= 2")
        if not 0 < timeout_s <= 3600:  # (an infinite one overflowed the socket's timeout)
            raise ValueError("timeout_s must be in (0, 3600]")
        if not (math.isfinite(speed_factor) and speed_factor > 0):
            raise ValueError("speed_factor must be positive")
        self.base_url = base_url.rstrip("/")
        self.profile = profile
        self.timeout_s = timeout_s
        self.max_points = max_points
        self.speed_factor = speed_factor

    def _request(
        self, coords: Sequence[LatLon], n_src: int
    ) -> tuple[list[list[float | None]], list[list[float | None]]]:
        path = ";".join(f"{p.lon:.6f},{p.lat:.6f}" for p in coords)
        query = urllib.parse.urlencode(
            {
                "annotations": "duration,distance",
                "sources": ";".join(str(i) for i in range(n_src)),
                "destinations": ";".join(str(i) for i in range(n_src, len(coords))),
            },
            safe=";,",
        )
        url = f"{self.base_url}/table/v1/{self.profile}/{path}?{query}"
        n_dst = len(coords) - n_src
        limit = (
            _OSRM_BYTES_FIXED
            + _OSRM_BYTES_PER_POINT * len(coords)
            + _OSRM_BYTES_PER_CELL * n_src * n_dst
        )
        # ``timeout_s`` bounds the whole request: the socket timeout alone bounds each
        # read, so a server trickling its head or body a byte at a time held the caller
        # forever. The watchdog shuts the connection at the deadline, whatever the
        # request is waiting for (the status line, the headers, the body)
        watchdog = _Watchdog(time.monotonic() + self.timeout_s)
        try:
            with watchdog.opener().open(url, timeout=self.timeout_s) as resp:
                parts: list[bytes] = []
                size = 0
                while True:
                    watchdog.check()
                    part = resp.read1(65536)
                    if not part:
                        break
                    size += len(part)
                    if size > limit:
                        raise MatrixProviderError(
                            f"OSRM table response larger than {limit} bytes"
                        )
                    parts.append(part)
                watchdog.check()  # (the end of a body cut at the deadline)
                body = json.loads(b"".join(parts).decode("utf-8"))
        except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError,
                ValueError, RecursionError) as exc:
            # once the watchdog has cut the connection, whatever that raised is its doing
            why = f"no complete response in {self.timeout_s} s" if watchdog.fired else exc
            raise MatrixProviderError(f"OSRM table request failed: {why}") from exc
        finally:
            watchdog.cancel()
        if not isinstance(body, dict) or body.get("code") != "Ok":
            code = body.get("code") if isinstance(body, dict) else None
            raise MatrixProviderError(f"OSRM table returned code {code!r}")
        try:
            return body["durations"], body["distances"]
        except KeyError as exc:
            raise MatrixProviderError(f"OSRM response lacks {exc}") from exc

    def matrix(
        self, points: Sequence[LatLon], speed: SpeedProfile = MOTORBIKE_CITY
    ) -> TravelMatrix:
        """Build the matrix; see :meth:`MatrixProvider.matrix`."""
        n = len(points)
        dist = np.zeros((n, n), dtype=np.int64)
        dur = np.zeros((n, n), dtype=np.int64)
        chunk = max(1, self.max_points // 2)
        requests = 0
        for s0 in range(0, n, chunk):
            src = list(points[s0 : s0 + chunk])
            for d0 in range(0, n, chunk):
                dst = list(points[d0 : d0 + chunk])
                durations, distances = self._request(src + dst, len(src))
                requests += 1
                if not _rows(durations, len(src)) or not _rows(distances, len(src)):
                    raise MatrixProviderError("OSRM table has the wrong number of rows")
                for i in range(len(src)):
                    if not _rows(durations[i], len(dst)) or not _rows(distances[i], len(dst)):
                        raise MatrixProviderError("OSRM table has the wrong number of columns")
                    for j in range(len(dst)):
                        t, m = durations[i][j], distances[i][j]
                        gi, gj = s0 + i, d0 + j
                        if gi == gj:
                            continue
                        if t is None or m is None:
                            dur[gi, gj] = dist[gi, gj] = UNREACHABLE
                        else:
                            dur[gi, gj] = _cell(float(_number(t)) * self.speed_factor)
                            dist[gi, gj] = _cell(_number(m))
        logger.debug("OSRM matrix %dx%d built with %d requests", n, n, requests)
        return TravelMatrix(distance_m=dist, duration_s=dur)


class _Watchdog:
    """Shuts the sockets of one request at ``deadline`` (``time.monotonic()``): a
    blocked read then returns, and :meth:`check` raises ``TimeoutError``."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self._timers: list[threading.Timer] = []

    def check(self) -> None:
        """Raise ``TimeoutError`` once the deadline has passed."""
        if self.fired or time.monotonic() > self.deadline:
            self.fired = True
            raise TimeoutError("deadline passed")

    def watch(self, sock: socket.socket) -> None:
        """Shut ``sock`` at the deadline (a timer thread, cancelled by :meth:`cancel`)."""
        self.check()
        timer = threading.Timer(self.deadline - time.monotonic(), self._fire, (sock,))
        timer.daemon = True
        self._timers.append(timer)
        timer.start()

    def _fire(self, sock: socket.socket) -> None:
        self.fired = True
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass

    def cancel(self) -> None:
        """Stop the timers (the request is over)."""
        for timer in self._timers:
            timer.cancel()

    def watched(self, create: Callable[..., socket.socket]) -> Callable[..., socket.socket]:
        """``create`` (a socket factory), each socket it makes watched."""

        def created(*args: Any, **kwargs: Any) -> socket.socket:
            sock = create(*args, **kwargs)
            try:
                self.watch(sock)
            except BaseException:  # past the deadline already: not left open
                sock.close()
                raise
            return sock

        return created

    def opener(self) -> urllib.request.OpenerDirector:
        """``urllib``'s default opener (proxies, redirects...), its HTTP(S) connections
        watched from the moment their socket exists (the TLS handshake included)."""
        return urllib.request.build_opener(_WatchedHTTPHandler(self), _WatchedHTTPSHandler(self))


class _Watched:
    """An ``http.client`` connection whose sockets a :class:`_Watchdog` watches."""

    _create_connection: Callable[..., socket.socket]

    def __init__(self, *args: Any, watchdog: _Watchdog, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._watchdog = watchdog
        self._create_connection = watchdog.watched(self._create_connection)


class _WatchedHTTPConnection(_Watched, http.client.HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, http.client.HTTPSConnection):
    def connect(self) -> None:
        # the TLS socket takes over the TCP one's descriptor and detaches it: shutting
        # the TCP socket then does nothing (OSError, swallowed), and a head or body
        # trickled in TLS records was bounded by each read's timeout only. The TLS
        # socket is watched too (the handshake itself is bounded as a whole by the
        # socket timeout: CPython's ssl gives it one deadline)
        super().connect()
        self._watchdog.watch(self.sock)


class _WatchedHTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        # (typeshed's protocol has no ``watchdog``: do_open passes it to the class)
        return self.do_open(_WatchedHTTPConnection, req,  # type: ignore[arg-type]
                            watchdog=self.watchdog)


class _WatchedHTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, watchdog: _Watchdog) -> None:
        super().__init__()
        self.watchdog = watchdog

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(_WatchedHTTPSConnection, req,  # type: ignore[arg-type]
                            context=self._context,  # type: ignore[attr-defined]
                            watchdog=self.watchdog)


def _rows(value: object, n: int) -> bool:
    """Whether ``value`` is a JSON array of ``n`` items."""
    return isinstance(value, list) and len(value) == n


def _number(value: object) -> float:
    """A table entry: a finite non-negative number (a NaN, a string or a negative time
    from a broken server is an error, not a travel time)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MatrixProviderError(f"OSRM table holds {type(value).__name__} {value!r:.40}")
    number = float(value)
    if not (math.isfinite(number) and number >= 0):
        raise MatrixProviderError(f"OSRM table holds {value!r}")
    return number


def _cell(value: float) -> int:
    """A number of metres or seconds, at most :data:`UNREACHABLE` (so sums never
    overflow: a longer trip fails every shift anyway)."""
    return UNREACHABLE if value >= UNREACHABLE else round(value)
