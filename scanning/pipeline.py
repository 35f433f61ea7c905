"""The decoding pipeline: downscaled first pass, full-resolution fallback, ladder.

See ``docs/scanning.md`` for the measurements behind the defaults.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from scanning import preprocess
from scanning.deblur import DeblurDecoder
from scanning.ean_blur import BlurEanDecoder
from scanning.engines import (
    ALL_SYMBOLOGIES,
    Decoder,
    OpenCvQrDecoder,
    ZbarDecoder,
    ZxingDecoder,
)
from scanning.loading import LoadedImage, decode_pixels, load_image, probe_image
from scanning.qr_grid import QrGridDecoder
from scanning.symbology import Symbology
from scanning.types import Barcode, Point

__all__ = ["ScanConfig", "Scanner", "StopCondition", "default_decoders", "parse_step"]

logger = logging.getLogger(__name__)

StopCondition = Callable[[Sequence[Barcode]], bool]
"""Called with the codes found so far; ``True`` stops the ladder."""

GrayImage = NDArray[np.uint8]

#: Ladder steps tried (in order) when the first pass finds nothing.
DEFAULT_LADDER: tuple[str, ...] = (
    "qr-grid:gray",
    "zxing:clahe",
    "zbar:up2+clahe",
    "zxing:up2",
    "zbar:adaptive",
    "zbar:clahe",
    "zbar:rot+45",
    "zbar:rot-45",
    "zxing-gh:down2",
    "ean-blur:gray",
)


#: Steps tried when only 2D symbols were found: a label nearly always carries a
#: linear code too, and the commonest reason to miss it is a ~45° tilt, which
#: neither engine's scan lines handle.
DEFAULT_PARTIAL_LADDER: tuple[str, ...] = ("zbar:gray", "zbar:rot+45", "zbar:rot-45")

#: Steps tried when the first pass found linear codes that need confirmation
#: (see :func:`confirmed`), until every such code is confirmed.
DEFAULT_CONFIRM_LADDER: tuple[str, ...] = ("zbar:gray", "zbar:up2+clahe", "zxing:up2")

#: Short EAN/UPC symbols: 6-7 data digits behind a mod-10 check (UPC-E even
#: encodes its check digit in the parity pattern only), so a misread bar is
#: more often still "valid"; a read of one of them by a single engine needs
#: confirmation.
SHORT_LINEAR: frozenset[Symbology] = frozenset({Symbology.UPCE, Symbology.EAN8})

#: Engines whose linear reads stand on their own (multi-line confirmation
#: inside the engine), except for `SHORT_LINEAR` symbols.
TRUSTED_LINEAR_ENGINES: frozenset[str] = frozenset({"zxing-cpp"})

_FAMILY: dict[Symbology, str] = {Symbology.UPCA: "EAN/UPC-A", Symbology.EAN13: "EAN/UPC-A"}


def parse_step(spec: str) -> tuple[str, tuple[str, ...]]:
    """Split ``"engine:t1+t2"`` into ``("engine", ("t1", "t2"))``.

    Transform names are validated (``rot+45`` keeps its sign).

    Raises
    ------
    ValueError
        On a malformed spec or an unknown transform.
    """
    engine, sep, rest = spec.partition(":")
    if not sep or not engine or not rest:
        raise ValueError(f"step must look like 'engine:transform[+transform]', got {spec!r}")
    names: list[str] = []
    for part in rest.replace("rot+", "rot#").split("+"):
        name = part.replace("rot#", "rot+")
        if not preprocess.is_known(name):
            raise ValueError(f"unknown transform {name!r} in step {spec!r}")
        names.append(name)
    return engine, tuple(names)


@dataclass(frozen=True)
class ScanConfig:
    """Pipeline parameters (validated on construction).

    Parameters
    ----------
    max_pixels : int
        Refuse images whose header declares more pixels (default 50 MP).
    max_bytes : int
        Refuse inputs longer than this many bytes (default 64 MiB).
    symbologies : frozenset of Symbology
        Symbologies to look for (default: all).
    work_max_side : int
        The first pass runs on a copy downscaled so its longer side is at most
        this many pixels (default 2048: a 12 MP photo is halved; label barcodes
        in a phone photo keep >= 1.5 px per module).
    full_resolution_fallback : bool
        When the downscaled first pass finds nothing, rerun it at full
        resolution before the ladder.
    first_pass : tuple of str
        Steps always run on images that need no downscaling, and on the
        full-resolution retry (``"engine:transform[+transform]"``).
    large_first_pass : tuple of str
        Steps run on the downscaled working copy of a large image (default: a
        zxing-cpp pass without its inverted-image and multi-scale retries,
        about 2x faster; the full-resolution retry uses `first_pass`).
    ladder : tuple of str
        Steps tried one by one when nothing was found, until the stop
        condition holds (by default: until anything is found).
    partial_ladder : tuple of str
        Steps tried one by one when only 2D symbols were found, until a
        linear code is found.
    partial_max_coverage : float
        Skip `partial_ladder` when the 2D symbols found cover at least this
        fraction of the image (their bounding boxes): the photo is then a
        close-up of those symbols and there is no room for a label's other
        codes. Default 0.2.
    upscale_max_side : int
        ``up2``/``up3`` transforms are skipped for images whose longer side
        exceeds this (default 1024).
    ladder_budget_ms : float
        Start no ladder step once this much wall time has passed since the
        first pass began: that pass and the full-resolution retry count, and
        the confirm, main and partial ladders share it (default 2 s). A step
        already running finishes.
    confirm_ladder : tuple of str
        Steps tried when the first pass found linear codes needing
        confirmation, until all are confirmed (see :func:`confirmed`).
    confirm_linear : bool
        Apply the confirmation rule (default ``True``): unconfirmed linear
        reads do not stop the ladder, and are dropped when another read of
        the same kind at the same place has at least as much support.
    exhaustive : bool
        Run every ladder step and merge all reads (slow; for diagnostics).
    """

    max_pixels: int = 50_000_000
    max_bytes: int = 64 * 1024 * 1024
    symbologies: frozenset[Symbology] = ALL_SYMBOLOGIES
    work_max_side: int = 2048
    full_resolution_fallback: bool = True
    first_pass: tuple[str, ...] = ("zxing:gray",)
    large_first_pass: tuple[str, ...] = ("zxing-fast:gray",)
    ladder: tuple[str, ...] = DEFAULT_LADDER
    partial_ladder: tuple[str, ...] = DEFAULT_PARTIAL_LADDER
    confirm_ladder: tuple[str, ...] = DEFAULT_CONFIRM_LADDER
    confirm_linear: bool = True
    partial_max_coverage: float = 0.2
    upscale_max_side: int = 1024
    ladder_budget_ms: float = 2000.0
    exhaustive: bool = False
    _steps: dict[str, tuple[str, tuple[str, ...]]] = field(
        init=False, repr=False, compare=False, hash=False
    )

    def __post_init__(self) -> None:
        for name in ("max_pixels", "max_bytes", "work_max_side", "upscale_max_side"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.work_max_side < 256:
            raise ValueError(f"work_max_side must be >= 256, got {self.work_max_side}")
        if not isinstance(self.partial_max_coverage, int | float) or not (
            0.0 <= self.partial_max_coverage <= 1.0
        ):
            raise ValueError(
                f"partial_max_coverage must be in [0, 1], got {self.partial_max_coverage!r}"
            )
        if not isinstance(self.ladder_budget_ms, int | float) or self.ladder_budget_ms < 0:
            raise ValueError(f"ladder_budget_ms must be >= 0, got {self.ladder_budget_ms!r}")
        syms = frozenset(self.symbologies)
        if not syms or not all(isinstance(s, Symbology) for s in syms):
            raise ValueError("symbologies must be a non-empty set of Symbology")
        object.__setattr__(self, "symbologies", syms)
        if not self.first_pass or not self.large_first_pass:
            raise ValueError("first_pass and large_first_pass need at least one step")
        steps: dict[str, tuple[str, tuple[str, ...]]] = {}
        for spec in self.all_steps:
            if not isinstance(spec, str):
                raise ValueError(f"steps must be strings, got {spec!r}")
            steps[spec] = parse_step(spec)
        object.__setattr__(self, "_steps", steps)

    @property
    def all_steps(self) -> tuple[str, ...]:
        """Every step spec of this config."""
        return (
            *self.first_pass,
            *self.large_first_pass,
            *self.ladder,
            *self.partial_ladder,
            *self.confirm_ladder,
        )

    def step(self, spec: str) -> tuple[str, tuple[str, ...]]:
        """Parsed form of one of this config's steps."""
        return self._steps[spec]


def default_decoders(symbologies: frozenset[Symbology] = ALL_SYMBOLOGIES) -> dict[str, Decoder]:
    """The engines the default steps refer to.

    ``zxing`` (zxing-cpp defaults), ``zxing-fast`` (no inverted/multi-scale
    retries), ``zxing-gh`` (global-histogram binarizer), ``zbar``,
    ``ean-blur`` (the blur-tolerant EAN-13/UPC-A reader of
    :mod:`scanning.ean_blur`, last step of the default ladder), ``qr-grid``
    (QR codes on wrinkled surfaces, :mod:`scanning.qr_grid`, first step of the
    default ladder) and ``opencv-qr`` (OpenCV's curved-surface QR reader; not
    in the default ladder -- it added nothing on the corpus once ``qr-grid``
    was in -- but available to configs, e.g. ``"opencv-qr:sharpen"``) and
    ``deblur`` (EAN-13/UPC-A through zxing-cpp and ZBar on deconvolved views,
    :mod:`scanning.deblur`; not in the default ladder -- it read no image the
    ladder misses -- but available as e.g. ``"deblur:gray"`` before
    ``ean-blur``).
    """
    return {
        "zxing": ZxingDecoder(symbologies),
        "zxing-fast": ZxingDecoder(symbologies, try_invert=False, try_downscale=False),
        "zxing-gh": ZxingDecoder(symbologies, binarizer="global_histogram"),
        "zbar": ZbarDecoder(symbologies),
        "ean-blur": BlurEanDecoder(),
        "deblur": DeblurDecoder(),
        "opencv-qr": OpenCvQrDecoder(symbologies & {Symbology.QR_CODE}),
        "qr-grid": QrGridDecoder(symbologies & {Symbology.QR_CODE}),
    }


@functools.lru_cache(maxsize=8192)
def _bbox(polygon: tuple[Point, ...]) -> tuple[float, float, float, float]:
    xs = [p[0] for p in polygon]
    ys = [p[1] for p in polygon]
    return min(xs), min(ys), max(xs), max(ys)


def _same_code(a: Barcode, b: Barcode) -> bool:
    """Same symbology and text, and the polygons' bounding boxes overlap."""
    if a.symbology != b.symbology or a.text != b.text:
        return False
    if not a.polygon or not b.polygon:
        return True
    ax0, ay0, ax1, ay1 = _bbox(a.polygon)
    bx0, by0, bx1, by1 = _bbox(b.polygon)
    slack = 2.0  # degenerate (line-like) 1D polygons still overlap
    return ax0 <= bx1 + slack and bx0 <= ax1 + slack and ay0 <= by1 + slack and by0 <= ay1 + slack


def _overlap(a: Barcode, b: Barcode) -> float:
    """Intersection over the smaller bounding box (0 when either has no polygon)."""
    if not a.polygon or not b.polygon:
        return 0.0
    ax0, ay0, ax1, ay1 = _bbox(a.polygon)
    bx0, by0, bx1, by1 = _bbox(b.polygon)
    iw = min(ax1, bx1) - max(ax0, bx0)
    ih = min(ay1, by1) - max(ay0, by0)
    if iw <= 0 or ih <= 0:
        return 0.0
    smaller = min((ax1 - ax0) * (ay1 - ay0), (bx1 - bx0) * (by1 - by0))
    return iw * ih / smaller if smaller > 0 else 0.0


def merge(found: list[Barcode], new: Sequence[Barcode]) -> list[Barcode]:
    """Append the codes of `new` that are not already in `found`.

    A code is already there if the same symbology and text was read at an
    overlapping place. A *different* text of the same symbology covering the
    same place (>= 60 % of the smaller box) is a conflicting read of one symbol
    -- e.g. ZBar guessing another character set for a Shift-JIS QR code -- and
    the earlier read (from the more trusted step) is kept.
    """
    for code in new:
        if any(_same_code(code, old) for old in found):
            continue
        clash = [
            old
            for old in found
            if old.symbology == code.symbology
            and old.text != code.text
            and _overlap(old, code) >= 0.6
        ]
        if clash:
            logger.debug(
                "conflicting %s read %r ignored (kept %r)", code.symbology, code.text, clash[0].text
            )
            continue
        found.append(code)
    return found


def _any_code(found: Sequence[Barcode]) -> bool:
    return bool(found)


Support = dict[tuple[Symbology, str], set[str]]
"""Engines that produced each (symbology, text) during one decode."""


def confirmed(code: Barcode, support: Support) -> bool:
    """Whether `code` stands as read, without waiting for another engine.

    2D symbols carry Reed-Solomon error correction: always confirmed. A linear
    read is confirmed when two different engines produced the same text, or
    when a trusted engine (zxing-cpp, which itself requires agreeing scan
    lines) produced it and the symbol is not a short EAN/UPC (`SHORT_LINEAR`).
    A ZBar-only read is not: on the benchmark corpus ZBar returns some wrong
    but check-digit-valid EAN-13 values consistently on every variant of an
    image (e.g. upside-down UPC-A), so agreement between ZBar variants proves
    nothing.
    """
    if not code.symbology.is_linear:
        return True
    engines = support.get((code.symbology, code.text), set())
    if len(engines) >= 2:
        return True
    return bool(engines & TRUSTED_LINEAR_ENGINES) and code.symbology not in SHORT_LINEAR


def _family(code: Barcode) -> str:
    return _FAMILY.get(code.symbology, code.symbology.value)


def _n_engines(code: Barcode, support: Support) -> int:
    return len(support.get((code.symbology, code.text), ()))


def best_rival(code: Barcode, reads: Sequence[Barcode], support: Support) -> Barcode | None:
    """The best-supported read contradicting linear `code`, if any.

    A *rival* is a read of the same symbology family (EAN-13 and UPC-A are
    one) with another text, overlapping any read of `code`'s value (>= 30 %
    of the smaller box).
    """
    if not code.symbology.is_linear:
        return None
    # the value's extent: every read of it (ZBar may report one value at several places)
    same = [r for r in reads if r.symbology == code.symbology and r.text == code.text] or [code]
    boxes = [_bbox(c.polygon) for c in same if c.polygon]
    if not boxes:
        return None
    # every read is compared with every other one: a 400 KB PNG of 638 EAN-8 symbols
    # took 26 s of CPU. Reads outside the value's extent are skipped at once.
    x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
    x1, y1 = max(b[2] for b in boxes), max(b[3] for b in boxes)
    family = _family(code)
    rivals = []
    for r in reads:
        if r.text == code.text or not r.polygon:
            continue
        rx0, ry0, rx1, ry1 = _bbox(r.polygon)
        if rx1 <= x0 or rx0 >= x1 or ry1 <= y0 or ry0 >= y1:
            continue
        if _family(r) == family and any(_overlap(r, c) >= 0.3 for c in same):
            rivals.append(r)
    return max(rivals, key=lambda r: _n_engines(r, support), default=None)


def settled(code: Barcode, reads: Sequence[Barcode], support: Support) -> bool:
    """Confirmed, and no rival read has as many supporting engines."""
    if not confirmed(code, support):
        return False
    rival = best_rival(code, reads, support)
    return rival is None or _n_engines(rival, support) < _n_engines(code, support)


def resolve_unconfirmed(
    found: Sequence[Barcode], reads: Sequence[Barcode], support: Support
) -> list[Barcode]:
    """Settle contradicted linear codes against the other reads of the decode.

    A linear code with a rival (see :func:`best_rival`) is replaced by the
    rival if that has more supporting engines, and dropped if it has as many
    (two independent engines disagree: no answer is better than a coin toss).
    A linear code nothing contradicts is kept, confirmed or not (on the
    corpus, uncontradicted ZBar-only reads are right more often than wrong).
    """
    out: list[Barcode] = []
    for code in found:
        rival = best_rival(code, reads, support)
        if rival is None or _n_engines(rival, support) < _n_engines(code, support):
            merge(out, [code])
        elif _n_engines(rival, support) > _n_engines(code, support):
            logger.debug("%r (%s) replaced by %r", code.text, code.engine, rival.text)
            merge(out, [rival])
        else:
            logger.debug(
                "%r (%s) contradicted by %r (%s): dropped",
                code.text,
                code.engine,
                rival.text,
                rival.engine,
            )
    return out


def _coverage(found: Sequence[Barcode], width: int, height: int) -> float:
    """Summed bounding-box area of `found` as a fraction of the image area."""
    total = 0.0
    for code in found:
        if code.polygon:
            x0, y0, x1, y1 = _bbox(code.polygon)
            total += max(0.0, x1 - x0) * max(0.0, y1 - y0)
    return total / max(1, width * height)


def _any_linear(found: Sequence[Barcode]) -> bool:
    return any(b.symbology.is_linear for b in found)


class Scanner:
    """Reusable decoder pipeline.

    Parameters
    ----------
    config : ScanConfig, optional
    decoders : mapping of str to Decoder, optional
        Engines by the name used in step specs, added to (or replacing
        entries of) :func:`default_decoders`. Plug in an engine this way and
        refer to it in ``config.first_pass``/``config.ladder``.

    Raises
    ------
    ValueError
        If a step names an engine missing from `decoders`.
    """

    def __init__(
        self, config: ScanConfig | None = None, decoders: Mapping[str, Decoder] | None = None
    ) -> None:
        self.config = config or ScanConfig()
        self.decoders: dict[str, Decoder] = {
            **default_decoders(self.config.symbologies),
            **(decoders or {}),
        }
        for spec in self.config.all_steps:
            engine, _ = self.config.step(spec)
            if engine not in self.decoders:
                raise ValueError(f"step {spec!r} names unknown engine {engine!r}")

    def load(self, data: bytes) -> LoadedImage:
        """Load `data` with this scanner's limits (see :func:`scanning.loading.load_image`)."""
        return load_image(data, max_pixels=self.config.max_pixels, max_bytes=self.config.max_bytes)

    def decode(self, data: bytes, *, until: StopCondition | None = None) -> list[Barcode]:
        """Find every barcode in a JPEG/PNG/WebP photo.

        Parameters
        ----------
        data : bytes
            Image file contents.
        until : callable, optional
            Stop condition for the ladder, called with the codes found so far;
            default: stop as soon as anything was found.

        Returns
        -------
        list of Barcode
            Ordered top-to-bottom, then left-to-right; duplicates removed.

        Raises
        ------
        ScanningError
            See :func:`scanning.loading.probe_image`.
        """
        cfg = self.config
        header = probe_image(data, max_pixels=cfg.max_pixels, max_bytes=cfg.max_bytes)
        long_side = max(header.width, header.height)
        reduce = 1
        if header.format == "JPEG":  # libjpeg can decode directly at 1/2, 1/4, 1/8
            while reduce < 8 and long_side / (reduce * 2) >= 0.75 * cfg.work_max_side:
                reduce *= 2
        image = decode_pixels(data, header, reduce=reduce)
        full_w, full_h = header.display_size

        def full_resolution() -> GrayImage:
            if reduce == 1:
                return image.gray
            logger.debug("decoding %s again at full resolution", header.format)
            return decode_pixels(data, header).gray

        return self._pipeline(image.gray, (full_w, full_h), full_resolution, until)

    def decode_image(self, gray: GrayImage, *, until: StopCondition | None = None) -> list[Barcode]:
        """Same as :meth:`decode` for an already loaded, oriented grayscale array."""
        if gray.ndim != 2 or gray.dtype != np.uint8:
            raise ValueError("expected a 2-D uint8 grayscale image")
        return self._pipeline(gray, (gray.shape[1], gray.shape[0]), lambda: gray, until)

    def _pipeline(
        self,
        gray: GrayImage,
        full_size: tuple[int, int],
        full_resolution: Callable[[], GrayImage],
        until: StopCondition | None,
    ) -> list[Barcode]:
        cfg = self.config
        begun = time.perf_counter()
        full_w, full_h = full_size
        h, w = gray.shape
        work = gray
        if max(h, w) > cfg.work_max_side:
            work, _ = preprocess.scale(gray, cfg.work_max_side / max(h, w))
        wh, ww = work.shape
        to_full: preprocess.Affine = np.array([[full_w / ww, 0.0, 0.0], [0.0, full_h / wh, 0.0]])
        reduced = (ww, wh) != (full_w, full_h)
        if reduced:
            logger.debug("working on %dx%d copy of %dx%d image", ww, wh, full_w, full_h)
        run = _Run(self, work, to_full, begun=begun)
        for spec in cfg.large_first_pass if reduced else cfg.first_pass:
            run.step(spec)
        if not run.found and reduced and cfg.full_resolution_fallback:
            logger.debug("nothing found on the downscaled copy; retrying at full resolution")
            full_run = _Run(self, full_resolution(), preprocess.IDENTITY, begun=begun)
            for spec in cfg.first_pass:
                full_run.step(spec)
            run.absorb(full_run)
        if cfg.exhaustive:
            for spec in (*cfg.ladder, *cfg.partial_ladder):
                run.step(spec)
        else:
            if cfg.confirm_linear and run.found and not all(map(run.is_settled, run.found)):
                run.ladder(cfg.confirm_ladder, lambda f: all(map(run.is_settled, f)))
            if until is not None:
                if not until(run.found):
                    run.ladder(cfg.ladder, until)
            elif not run.found:
                run.ladder(cfg.ladder, self._ladder_stop(run))
            elif (
                not any(b.symbology.is_linear for b in run.found)
                and _coverage(run.found, full_w, full_h) < cfg.partial_max_coverage
            ):
                run.ladder(cfg.partial_ladder, _any_linear)
        found = run.found
        if cfg.confirm_linear:
            found = resolve_unconfirmed(found, run.reads, run.support)
        found.sort(key=lambda b: (round(b.center[1]), b.center[0]))
        return found

    def _ladder_stop(self, run: _Run) -> StopCondition:
        """Default ladder stop: any code found (any *confirmed* code with `confirm_linear`)."""
        if not self.config.confirm_linear:
            return _any_code
        return lambda found: any(run.is_settled(b) for b in found)

    def _run(self, spec: str, image: GrayImage, to_full: preprocess.Affine) -> list[Barcode]:
        engine, names = self.config.step(spec)
        affine = to_full
        for name in names:
            t = preprocess.parse_transform(name)
            if t.kind == "upscale" and max(image.shape) > self.config.upscale_max_side:
                return []
            image, back = preprocess.apply(image, t)
            affine = preprocess.compose(affine, back)
        decoder = self.decoders[engine]
        reads = decoder.decode(image)
        variant = "+".join(names)
        return [
            Barcode(
                r.symbology,
                r.text,
                r.raw,
                preprocess.map_points(affine, r.polygon),
                decoder.name,
                variant,
            )
            for r in reads
            if r.symbology in self.config.symbologies
        ]


class _Run:
    """State of one decode: merged codes, every read, and engine support."""

    def __init__(self, scanner: Scanner, image: GrayImage, to_full: preprocess.Affine, *,
                 begun: float) -> None:
        self.scanner = scanner
        #: when the decode began (``time.perf_counter()``): the ladders' budget counts from it
        self.begun = begun
        self.image = image
        self.to_full = to_full
        self.found: list[Barcode] = []
        self.reads: list[Barcode] = []
        self.support: Support = {}

    def step(self, spec: str) -> None:
        new = self.scanner._run(spec, self.image, self.to_full)
        self._record(new)

    def _record(self, new: Sequence[Barcode]) -> None:
        self.reads.extend(new)
        for code in new:
            self.support.setdefault((code.symbology, code.text), set()).add(code.engine)
        merge(self.found, new)

    def absorb(self, other: _Run) -> None:
        """Take over the reads of a run on another image (same output frame)."""
        self._record(other.reads)

    def is_confirmed(self, code: Barcode) -> bool:
        return confirmed(code, self.support)

    def is_settled(self, code: Barcode) -> bool:
        return settled(code, self.reads, self.support)

    def ladder(self, steps: Sequence[str], stop: StopCondition) -> None:
        """Run ``steps`` until ``stop`` holds or the decode's budget is spent (it counts
        from the decode's start: a 48 MP photo's full-resolution retry, ~2 s, used to
        be followed by 2 s more of ladder, and the confirm ladder by a main ladder of
        its own 2 s)."""
        for spec in steps:
            if (time.perf_counter() - self.begun) * 1000 > self.scanner.config.ladder_budget_ms:
                logger.debug("ladder budget exhausted before %s", spec)
                break
            self.step(spec)
            if stop(self.found):
                break
