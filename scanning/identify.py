"""Pick the item identifier among the codes read from a label.

Rules, in order:

1. Every barcode whose text is impossible for its symbology (e.g. an EAN-13
   that is not 13 digits or has a bad check digit) is a :class:`Misread`.
2. A barcode whose text, after *unambiguous normalisation* (whitespace and
   hyphens removed, upper-cased -- see :func:`scanning.s10.normalize_s10`),
   has the S10 shape (2 letters, 9 digits, 2 letters) is an S10 candidate.
   A valid one is an item identifier of kind ``"s10"``; one with a wrong check
   digit or a reserved ``J``/``K`` service indicator is a :class:`Misread` and
   is never returned as the item, even if a carrier pattern would match it.
   Texts with anything else around the S10 are not normalised into one.
3. Otherwise, the first barcode whose text fully matches one of the caller's
   carrier patterns (tried in the given order) is the item, kind ``"carrier"``.

If several *different* valid S10s are present, the first one (reading order:
linear symbologies before 2D, then top-to-bottom) is the item and the others
are listed in :attr:`Identification.alternatives`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from scanning.s10 import S10, InvalidS10Error, looks_like_s10, normalize_s10, parse_s10
from scanning.symbology import validate_text
from scanning.types import Barcode

__all__ = ["CarrierPatterns", "Identification", "Misread", "identify"]

CarrierPatterns = Mapping[str, "str | re.Pattern[str]"] | Iterable["str | re.Pattern[str]"]
"""Carrier regexes: either ``{name: pattern}`` or a sequence of patterns
(then the pattern text is the name). Patterns must match the whole text."""

ItemKind = Literal["s10", "carrier"]


@dataclass(frozen=True)
class Misread:
    """A barcode that cannot be what it claims to be.

    Attributes
    ----------
    barcode : Barcode
    reason : str
        E.g. ``"S10 check digit: wrong check digit in 'EE123456784VN'..."`` or
        ``"bad EAN13 check digit"``.
    """

    barcode: Barcode
    reason: str


@dataclass(frozen=True)
class Identification:
    """Result of :func:`identify`.

    Attributes
    ----------
    item_id : str or None
        The canonical identifier (S10 normalised, carrier text as read), or
        ``None`` when no code identifies the item.
    kind : {"s10", "carrier"} or None
    barcode : Barcode or None
        The code the identifier came from.
    s10 : S10 or None
        Parsed S10 when ``kind == "s10"``.
    carrier : str or None
        Name of the matching carrier pattern when ``kind == "carrier"``.
    alternatives : tuple of str
        Other distinct valid identifiers of the same kind (ambiguous label).
    misreads : tuple of Misread
    """

    item_id: str | None
    kind: ItemKind | None
    barcode: Barcode | None
    s10: S10 | None
    carrier: str | None
    alternatives: tuple[str, ...]
    misreads: tuple[Misread, ...]

    @property
    def found(self) -> bool:
        """``True`` if an item identifier was found."""
        return self.item_id is not None


def _compile(patterns: CarrierPatterns) -> list[tuple[str, re.Pattern[str]]]:
    items: Iterable[tuple[str, str | re.Pattern[str]]]
    if isinstance(patterns, Mapping):
        items = patterns.items()
    else:
        if isinstance(patterns, str | re.Pattern):
            raise TypeError("carrier_patterns must be a sequence or mapping of patterns")
        items = (((p if isinstance(p, str) else p.pattern), p) for p in patterns)
    compiled: list[tuple[str, re.Pattern[str]]] = []
    for name, pattern in items:
        compiled.append(
            (str(name), pattern if isinstance(pattern, re.Pattern) else re.compile(pattern))
        )
    return compiled


def _order(barcodes: Sequence[Barcode]) -> list[Barcode]:
    return sorted(barcodes, key=lambda b: 0 if b.symbology.is_linear else 1)


def identify(barcodes: Iterable[Barcode], carrier_patterns: CarrierPatterns = ()) -> Identification:
    """Choose the item identifier among decoded barcodes.

    Parameters
    ----------
    barcodes : iterable of Barcode
        Typically the result of :func:`scanning.decode`.
    carrier_patterns : mapping or sequence of regex
        Carrier identifier patterns (``re.fullmatch`` on the text), tried after
        S10, in order.

    Returns
    -------
    Identification

    Examples
    --------
    >>> from scanning import Barcode, Symbology
    >>> code = Barcode(Symbology.CODE128, "ee 123456785 vn", b"", (), "zbar")
    >>> identify([code]).item_id
    'EE123456785VN'
    """
    codes = _order(list(barcodes))
    carriers = _compile(carrier_patterns)
    misreads: list[Misread] = []
    s10s: list[tuple[Barcode, S10]] = []
    plausible: list[Barcode] = []
    for code in codes:
        reason = validate_text(code.symbology, code.text)
        if reason is not None:
            misreads.append(Misread(code, reason))
            continue
        candidate = normalize_s10(code.text)
        if looks_like_s10(candidate):
            try:
                s10s.append((code, parse_s10(candidate)))
            except InvalidS10Error as exc:
                misreads.append(Misread(code, f"S10 {exc.reason}: {exc}"))
            continue
        plausible.append(code)
    if s10s:
        first_code, first = s10s[0]
        others = tuple(dict.fromkeys(p.code for _, p in s10s if p.code != first.code))
        return Identification(first.code, "s10", first_code, first, None, others, tuple(misreads))
    matches: list[tuple[Barcode, str]] = []
    for name, pattern in carriers:
        for code in plausible:
            if pattern.fullmatch(code.text):
                matches.append((code, name))
    if matches:
        code, name = matches[0]
        others = tuple(dict.fromkeys(c.text for c, _ in matches if c.text != code.text))
        return Identification(code.text, "carrier", code, None, name, others, tuple(misreads))
    return Identification(None, None, None, None, None, (), tuple(misreads))
