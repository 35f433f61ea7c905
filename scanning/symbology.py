"""Symbology names, engine name mapping, text normalisation and validation.

Canonical texts (what :attr:`scanning.Barcode.text` holds):

- ``EAN13`` 13 digits, ``EAN8`` 8 digits, ``UPCA`` 12 digits, ``UPCE`` 8 digits
  (number system, 6 digits, check digit), all with their check digit.
- An EAN-13 whose first digit is ``0`` *is* a UPC-A symbol (the bars are
  identical; GS1 prefix 0 is the UPC-A range). Engines cannot tell them apart,
  so such reads are reported as ``UPCA`` with the 12-digit text.
- ``CODABAR`` without its start/stop characters (``A``-``D``), as ZXing does.
- Every other symbology: the decoded characters exactly as encoded (control
  characters such as GS 0x1D kept; binary bytes mapped 1:1 to U+0000-U+00FF).
"""

from __future__ import annotations

import enum

__all__ = ["Symbology", "gtin_check_digit", "validate_text", "canonicalize", "expand_upce"]


class Symbology(enum.StrEnum):
    """Barcode symbologies :mod:`scanning` reports."""

    CODE128 = "CODE128"
    CODE39 = "CODE39"
    CODE93 = "CODE93"
    CODABAR = "CODABAR"
    ITF = "ITF"
    EAN13 = "EAN13"
    EAN8 = "EAN8"
    UPCA = "UPCA"
    UPCE = "UPCE"
    QR_CODE = "QR_CODE"
    DATA_MATRIX = "DATA_MATRIX"
    PDF417 = "PDF417"
    AZTEC = "AZTEC"

    @property
    def is_linear(self) -> bool:
        """``True`` for 1D (linear) symbologies."""
        return self in _LINEAR


_LINEAR = frozenset(
    {
        Symbology.CODE128,
        Symbology.CODE39,
        Symbology.CODE93,
        Symbology.CODABAR,
        Symbology.ITF,
        Symbology.EAN13,
        Symbology.EAN8,
        Symbology.UPCA,
        Symbology.UPCE,
    }
)

_CODABAR_GUARDS = frozenset("ABCDTN*E")


def gtin_check_digit(body: str) -> int:
    """Return the GS1 (EAN/UPC) check digit of `body` (digits without check digit).

    Parameters
    ----------
    body : str
        ASCII digits.

    Returns
    -------
    int
        0-9. Weights 3 and 1 alternate from the rightmost digit (which gets 3).
    """
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10


def expand_upce(upce: str) -> str:
    """Expand an 8-digit UPC-E to its 12-digit UPC-A equivalent.

    Parameters
    ----------
    upce : str
        Number system digit, six data digits, check digit.

    Returns
    -------
    str
        Twelve digits (the UPC-E check digit is kept as the UPC-A check digit).
    """
    ns, d, check = upce[0], upce[1:7], upce[7]
    last = d[5]
    if last in "012":
        body = d[0:2] + last + "0000" + d[2:5]
    elif last == "3":
        body = d[0:3] + "00000" + d[3:5]
    elif last == "4":
        body = d[0:4] + "00000" + d[4]
    else:
        body = d[0:5] + "0000" + last
    return ns + body + check


def _digits(text: str, length: int) -> bool:
    return len(text) == length and text.isascii() and text.isdigit()


def validate_text(symbology: Symbology, text: str) -> str | None:
    """Check that `text` is possible for `symbology`.

    Parameters
    ----------
    symbology : Symbology
    text : str
        Canonical text (see module docstring).

    Returns
    -------
    str or None
        ``None`` if plausible, else a short reason such as
        ``"EAN13 must be 13 digits"`` or ``"bad EAN13 check digit"``.
    """
    if text == "":
        return "empty text"
    fixed = {Symbology.EAN13: 13, Symbology.EAN8: 8, Symbology.UPCA: 12, Symbology.UPCE: 8}
    if symbology in fixed:
        n = fixed[symbology]
        if not _digits(text, n):
            return f"{symbology} must be {n} digits"
        if symbology is Symbology.UPCE:
            if text[0] not in "01":
                return "UPCE number system must be 0 or 1"
            full = expand_upce(text)
            if gtin_check_digit(full[:-1]) != int(full[-1]):
                return "bad UPCE check digit"
        elif gtin_check_digit(text[:-1]) != int(text[-1]):
            return f"bad {symbology} check digit"
        return None
    if symbology is Symbology.ITF:
        if not (text.isascii() and text.isdigit()):
            return "ITF must be digits"
        if len(text) % 2 or len(text) < 6:
            return "ITF must be an even number (>= 6) of digits"
    return None


def canonicalize(symbology: Symbology, text: str) -> tuple[Symbology, str]:
    """Bring an engine's read to the canonical symbology and text.

    Parameters
    ----------
    symbology : Symbology
        As reported by the engine.
    text : str
        As reported by the engine.

    Returns
    -------
    tuple of (Symbology, str)
    """
    if symbology in (Symbology.EAN13, Symbology.UPCA) and len(text) == 13 and text[0] == "0":
        return Symbology.UPCA, text[1:]
    if (
        symbology is Symbology.CODABAR
        and len(text) >= 2
        and text[0] in _CODABAR_GUARDS
        and text[-1] in _CODABAR_GUARDS
    ):
        return symbology, text[1:-1]
    return symbology, text
