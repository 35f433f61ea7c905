"""Benchmark of the ``scanning`` pipeline against plain pyzbar and plain zxing-cpp.

Run from the repository root::

    .venv/bin/python -m benchmarks.scanning_bench [--data DIR] [--limit N] [--out FILE]

Corpus: ``DIR/manifest.csv`` (``file,format,expected_text``; several rows for a
file mean any one value counts). Definitions, per image whose manifest format
maps to symbology S with expected texts E:

- *decoded*: some returned code has symbology S and a text in E.
- *wrong*: some returned code has symbology S and a text not in E (even if
  another code was right: the caller would see a false value).
- *wrong only*: wrong and not decoded (the caller sees only false values).

UPC-A/EAN-13: every reader's output goes through the same canonicalisation
(an EAN-13 with leading 0 is the UPC-A it encodes), so expected UPC-A ``T``
matches a read ``UPCA T``. Time per image is wall time from the file's bytes to
the list of codes (image decoding included) for all three readers.

The corpus is a measuring stick: nothing in ``scanning`` knows file names.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import zxingcpp
from pyzbar import pyzbar

import scanning
from scanning.engines import _ZBAR_TYPES, _ZX_FORMATS
from scanning.symbology import Symbology, canonicalize

FORMATS: dict[str, Symbology] = {
    "Aztec": Symbology.AZTEC,
    "Codabar": Symbology.CODABAR,
    "Code128": Symbology.CODE128,
    "Code39": Symbology.CODE39,
    "Code93": Symbology.CODE93,
    "DataMatrix": Symbology.DATA_MATRIX,
    "EAN-13": Symbology.EAN13,
    "EAN-8": Symbology.EAN8,
    "ITF": Symbology.ITF,
    "PDF417": Symbology.PDF417,
    "QRCode": Symbology.QR_CODE,
    "UPC-A": Symbology.UPCA,
    "UPC-E": Symbology.UPCE,
}

Reads = list[tuple[Symbology, str]]
Reader = Callable[[bytes], Reads]


def _gray(data: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if img is None:
        raise ValueError("undecodable image")
    return np.asarray(img)


def read_ours(data: bytes) -> Reads:
    """The scanning pipeline with its defaults."""
    return [(b.symbology, b.text) for b in scanning.decode(data)]


def read_pyzbar(data: bytes) -> Reads:
    """``pyzbar.decode`` with its defaults; names mapped, texts canonicalised."""
    out: Reads = []
    for r in pyzbar.decode(_gray(data)):
        sym = _ZBAR_TYPES.get(r.type)
        if sym is not None:
            out.append(canonicalize(sym, r.data.decode("utf-8", "replace")))
    return out


def _zxing(gray: np.ndarray) -> Reads:
    out: Reads = []
    for r in zxingcpp.read_barcodes(gray, text_mode=zxingcpp.TextMode.Plain):
        sym = _ZX_FORMATS.get(r.format)
        if sym is None:
            continue
        text = r.text
        if sym is Symbology.UPCE and isinstance(r.extra, dict):
            text = r.extra.get("UPCE", text)
        out.append(canonicalize(sym, text))
    return out


def read_zxing(data: bytes) -> Reads:
    """``zxingcpp.read_barcodes`` with default options (text mode Plain)."""
    return _zxing(_gray(data))


READERS: dict[str, Reader] = {"ours": read_ours, "pyzbar": read_pyzbar, "zxing-cpp": read_zxing}


@dataclass
class Tally:
    """Counts for one reader and one symbology (or overall)."""

    n: int = 0
    decoded: int = 0
    wrong: int = 0
    wrong_only: int = 0
    ms: list[float] = field(default_factory=list)

    def add(self, ok: bool, wrong: bool, ms: float) -> None:
        self.n += 1
        self.decoded += ok
        self.wrong += wrong
        self.wrong_only += wrong and not ok
        self.ms.append(ms)

    def row(self) -> dict[str, float]:
        ms = sorted(self.ms)
        return {
            "n": self.n,
            "decoded": self.decoded,
            "decode_rate": 100.0 * self.decoded / self.n if self.n else 0.0,
            "wrong": self.wrong,
            "wrong_rate": 100.0 * self.wrong / self.n if self.n else 0.0,
            "wrong_only": self.wrong_only,
            "median_ms": statistics.median(ms) if ms else 0.0,
            "p95_ms": ms[min(len(ms) - 1, int(0.95 * len(ms)))] if ms else 0.0,
        }


def load_manifest(root: Path) -> tuple[dict[str, set[str]], dict[str, Symbology]]:
    expected: dict[str, set[str]] = defaultdict(set)
    formats: dict[str, Symbology] = {}
    with (root / "manifest.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            expected[row["file"]].add(row["expected_text"])
            formats[row["file"]] = FORMATS[row["format"]]
    return expected, formats


def judge(reads: Reads, sym: Symbology, expected: set[str]) -> tuple[bool, bool]:
    accepted = set(expected)
    if sym is Symbology.UPCA:  # also accept the raw 13-digit EAN form
        accepted |= {"0" + t for t in expected}
    texts = [t for s, t in reads if s == sym or (sym is Symbology.UPCA and s is Symbology.EAN13)]
    ok = any(t in accepted for t in texts)
    wrong = any(t not in accepted for t in texts)
    return ok, wrong


def run_corpus(root: Path, limit: int | None) -> dict[str, dict[str, dict[str, float]]]:
    expected, formats = load_manifest(root)
    files = sorted(expected)
    if limit:
        files = files[:: max(1, len(files) // limit)][:limit]
    tallies: dict[str, dict[str, Tally]] = {name: defaultdict(Tally) for name in READERS}
    s10_hits = 0
    for i, name in enumerate(files, 1):
        data = (root / name).read_bytes()
        sym = formats[name]
        for reader, fn in READERS.items():
            t0 = time.perf_counter()
            reads = fn(data)
            ms = (time.perf_counter() - t0) * 1000
            ok, wrong = judge(reads, sym, expected[name])
            tallies[reader][sym.value].add(ok, wrong, ms)
            tallies[reader]["ALL"].add(ok, wrong, ms)
            if reader == "ours":
                codes = [scanning.Barcode(s, t, b"", (), "bench") for s, t in reads]
                s10_hits += scanning.identify(codes).kind == "s10"
        if i % 100 == 0:
            print(f"  ... {i}/{len(files)} images", file=sys.stderr)
    result = {r: {k: t.row() for k, t in sorted(v.items())} for r, v in tallies.items()}
    result["ours"]["ALL"]["s10_identified"] = s10_hits
    return result


# ------------------------------------------------------------- 12 MP photo


def synth_phone_photo(seed: int = 7) -> tuple[bytes, str]:
    """A 4032x3024 JPEG: a postal label (S10 Code 128, QR, DataMatrix) on a
    textured, unevenly lit background, slightly rotated. Returns (jpeg, s10)."""
    rng = np.random.default_rng(seed)
    h, w = 3024, 4032
    low = rng.normal(0, 1, (h // 64 + 1, w // 64 + 1)).astype(np.float32)
    texture = cv2.resize(low, (w, h), interpolation=cv2.INTER_CUBIC) * 25
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 110 + 50 * (xx / w) - 30 * (yy / h)
    grain = rng.normal(0, 6, (h, w)).astype(np.float32)
    bg = np.clip(light + texture + grain, 0, 255).astype(np.uint8)
    s10 = "EE123456785VN"
    label = np.full((900, 1300), 245, np.uint8)
    c128 = np.asarray(
        zxingcpp.create_barcode(s10, zxingcpp.BarcodeFormat.Code128).to_image(scale=4)
    )
    c128 = cv2.resize(c128, (c128.shape[1], 220), interpolation=cv2.INTER_NEAREST)
    label[60 : 60 + c128.shape[0], 80 : 80 + c128.shape[1]] = c128
    qr = np.asarray(
        zxingcpp.create_barcode(
            "https://track.example/EE123456785VN", zxingcpp.BarcodeFormat.QRCode
        ).to_image(scale=8)
    )
    label[380 : 380 + qr.shape[0], 80 : 80 + qr.shape[1]] = qr
    dm = np.asarray(
        zxingcpp.create_barcode(
            "[)>\x1e06\x1dPEE123456785VN\x1e\x04", zxingcpp.BarcodeFormat.DataMatrix
        ).to_image(scale=8)
    )
    label[380 : 380 + dm.shape[0], 700 : 700 + dm.shape[1]] = dm
    for k in range(6):  # a few "text lines"
        y = 380 + 60 * k
        label[y : y + 18, 1000 : 1000 + int(rng.integers(120, 260))] = 40
    m = cv2.getRotationMatrix2D((650, 450), 7.0, 1.0)
    rot = cv2.warpAffine(label, m, (1300, 900), borderValue=0)
    mask = cv2.warpAffine(np.ones_like(label), m, (1300, 900), borderValue=0).astype(bool)
    y0, x0 = 1100, 1500
    region = bg[y0 : y0 + 900, x0 : x0 + 1300]
    region[mask] = rot[mask]
    photo = cv2.GaussianBlur(bg, (0, 0), 1.0)
    photo = np.clip(photo.astype(np.int16) + rng.normal(0, 3, photo.shape).astype(np.int16), 0, 255)
    ok, buf = cv2.imencode(".jpg", photo.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return buf.tobytes(), s10


def time_large(repeat: int) -> dict[str, object]:
    data, s10 = synth_phone_photo()
    out: dict[str, object] = {"bytes": len(data)}

    def med(fn: Callable[[], object]) -> tuple[float, object]:
        times, res = [], None
        for _ in range(repeat):
            t0 = time.perf_counter()
            res = fn()
            times.append((time.perf_counter() - t0) * 1000)
        return statistics.median(times), res

    ms, codes = med(lambda: scanning.decode(data))
    assert isinstance(codes, list)
    out["ours_ms"] = ms
    out["ours_codes"] = sorted(f"{c.symbology}:{c.text!r}" for c in codes)
    ident = scanning.identify(codes)
    out["ours_item"] = ident.item_id
    out["s10_correct"] = ident.item_id == s10
    gray = _gray(data)
    out["decode_jpeg_ms"], _ = med(lambda: _gray(data))
    ms, reads = med(lambda: _zxing(gray))
    out["zxing_full_ms"], out["zxing_full_codes"] = ms, len(reads)  # type: ignore[arg-type]
    half = cv2.resize(gray, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)
    ms, reads = med(lambda: _zxing(half))
    out["zxing_half_ms"], out["zxing_half_codes"] = ms, len(reads)  # type: ignore[arg-type]
    ms, reads = med(lambda: pyzbar.decode(gray))
    out["pyzbar_full_ms"], out["pyzbar_full_codes"] = ms, len(reads)  # type: ignore[arg-type]
    return out


def print_report(corpus: dict[str, dict[str, dict[str, float]]], large: dict[str, object]) -> None:
    syms = [k for k in corpus["ours"] if k != "ALL"] + ["ALL"]
    head = f"{'symbology':12s} {'n':>4s}"
    for r in READERS:
        head += f" | {r:>9s} dec%  wrong% wr-only med_ms p95_ms"
    print(head)
    for s in syms:
        line = f"{s:12s} {int(corpus['ours'][s]['n']):4d}"
        for r in READERS:
            row = corpus[r][s]
            line += f" | {row['decode_rate']:14.1f} {row['wrong_rate']:6.2f}"
            line += f" {int(row['wrong_only']):7d} {row['median_ms']:6.1f} {row['p95_ms']:6.1f}"
        print(line)
    s10_hits = corpus["ours"]["ALL"].get("s10_identified")
    print(f"S10 identified in the corpus by ours (should be 0): {s10_hits}")
    print("4032x3024 synthetic label photo (median of repeats):")
    for k, v in large.items():
        print(f"  {k}: {v if not isinstance(v, float) else round(v, 1)}")


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=Path("../shared/benchmarks/barcodes"))
    ap.add_argument("--limit", type=int, default=None, help="evenly sample N corpus images")
    ap.add_argument("--out", type=Path, default=None, help="write all figures as JSON")
    ap.add_argument("--repeat", type=int, default=7, help="repeats for the 12 MP timing")
    ap.add_argument("--skip-corpus", action="store_true")
    args = ap.parse_args(argv)
    corpus: dict[str, dict[str, dict[str, float]]] = {r: {} for r in READERS}
    if not args.skip_corpus:
        corpus = run_corpus(args.data, args.limit)
    large = time_large(args.repeat)
    if corpus["ours"]:
        print_report(corpus, large)
    else:
        print(json.dumps(large, indent=2))
    if args.out:
        args.out.write_text(json.dumps({"corpus": corpus, "large_photo": large}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
