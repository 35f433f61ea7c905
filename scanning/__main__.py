"""Command line: ``python -m scanning PHOTO...`` prints the codes found.

One line per code: ``file<TAB>symbology<TAB>engine<TAB>text`` where the text is
shown with Python escapes (so GS 0x1D prints as ``\\x1d``), then the item
identifier if one was recognised. Exit status: 0 if every photo was read
(even with no code), 1 if some photo could not be read, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from scanning import ScanConfig, Scanner, ScanningError, identify

logger = logging.getLogger(__name__)


def _escape(text: str) -> str:
    return text.encode("unicode_escape").decode("ascii")


def _pattern(text: str) -> re.Pattern[str]:
    try:
        return re.compile(text)
    except re.error as exc:
        raise argparse.ArgumentTypeError(f"not a regular expression: {exc}") from exc


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m scanning", description="Print the barcodes found in photos."
    )
    parser.add_argument("photos", nargs="+", type=Path, help="JPEG, PNG or WebP files")
    parser.add_argument(
        "--carrier",
        action="append",
        default=[],
        type=_pattern,
        metavar="REGEX",
        help="carrier identifier pattern (repeatable)",
    )
    parser.add_argument("--max-pixels", type=int, default=ScanConfig.max_pixels)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging to stderr")
    args = parser.parse_args(argv)
    if args.verbose:
        logging.basicConfig(level=logging.DEBUG, format="%(name)s: %(message)s")
    try:
        scanner = Scanner(ScanConfig(max_pixels=args.max_pixels))
    except ValueError as exc:  # a usage error (exit status 2), not a traceback
        parser.error(str(exc))
    out = sys.stdout
    status = 0
    for path in args.photos:
        try:
            codes = scanner.decode(path.read_bytes())
        except (OSError, ScanningError) as exc:
            sys.stderr.write(f"{path}: error: {exc}\n")
            status = 1
            continue
        if not codes:
            out.write(f"{path}\t-\t-\t(no barcode found)\n")
        for code in codes:
            out.write(f"{path}\t{code.symbology}\t{code.engine}\t{_escape(code.text)}\n")
        ident = identify(codes, args.carrier)
        if ident.found:
            out.write(f"{path}\titem\t{ident.kind}\t{ident.item_id}\n")
        for bad in ident.misreads:
            out.write(f"{path}\tmisread\t{bad.barcode.symbology}\t{bad.reason}\n")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
