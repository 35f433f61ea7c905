"""UPU S10 item identifiers: validation, check digit and parsing.

An S10 identifier (UPU standard S10) is 13 characters::

    SS NNNNNNNN C CC
    |  |        | +-- ISO 3166-1 alpha-2 country of the issuing post
    |  |        +---- check digit computed from the serial
    |  +------------- 8-digit serial number
    +---------------- 2-letter service indicator

Check digit: with the serial digits ``d1..d8``,
``S = 8*d1 + 6*d2 + 4*d3 + 2*d4 + 3*d5 + 5*d6 + 9*d7 + 7*d8`` and
``C = 11 - (S mod 11)``; ``C == 10`` becomes ``0`` and ``C == 11`` becomes ``5``.

Service indicators starting with ``J`` or ``K`` are reserved and never
assigned, so identifiers using them are invalid.

Stable API (imported by the API layer for validation):

- :func:`is_valid_s10` -- ``True``/``False``, never raises.
- :func:`s10_check_digit` -- check digit of an 8-digit serial.
- :func:`parse_s10` -- split a valid identifier into :class:`S10`, raising
  :class:`InvalidS10Error` (a :class:`ValueError`) otherwise.
- :func:`normalize_s10` -- canonical form of user/scanner input
  (whitespace and hyphens removed, upper-cased).
- :func:`s10_product` -- the :class:`S10Product` a service indicator denotes.

The validating functions are strict: they accept only the canonical form
(13 characters, upper case, no separators). Call :func:`normalize_s10` first to
accept ``"ee 876 543 216 ca"``.
"""

from __future__ import annotations

import enum
import re
import string
from typing import NamedTuple

__all__ = [
    "S10",
    "S10Product",
    "InvalidS10Error",
    "S10_WEIGHTS",
    "RESERVED_SERVICE_PREFIXES",
    "is_valid_s10",
    "looks_like_s10",
    "normalize_s10",
    "parse_s10",
    "s10_check_digit",
    "s10_product",
]

#: Weights applied to the eight serial digits.
S10_WEIGHTS: tuple[int, ...] = (8, 6, 4, 2, 3, 5, 9, 7)

#: First letters of service indicators that are reserved (never assigned).
RESERVED_SERVICE_PREFIXES: frozenset[str] = frozenset({"J", "K"})

_S10_SHAPE = re.compile(r"[A-Z]{2}[0-9]{9}[A-Z]{2}")
_SEPARATORS = re.compile(r"[\s\-]+")
#: ASCII letters only: ``str.upper()`` turns 'ß' into 'SS' (and 'ﬅ' into 'ST')
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)


class InvalidS10Error(ValueError):
    """Raised when a string is not a valid UPU S10 identifier.

    Attributes
    ----------
    value : str
        The rejected input.
    reason : str
        Short machine-friendly reason: ``"type"``, ``"length"``, ``"format"``,
        ``"reserved_service_indicator"`` or ``"check_digit"``.
    """

    def __init__(self, value: object, reason: str, message: str) -> None:
        super().__init__(message)
        self.value = value
        self.reason = reason


class S10Product(enum.Enum):
    """Postal product denoted by the first letter of the service indicator."""

    EMS = "ems"
    """``E``: EMS (Express Mail Service)."""
    REGISTERED = "registered"
    """``R``: registered letter."""
    PARCEL = "parcel"
    """``C``: parcel."""
    TRACKED_LETTER = "tracked_letter"
    """``L``: express letter / tracked packet."""
    INSURED = "insured"
    """``V``: insured letter."""
    ECOMMERCE_PARCEL = "ecommerce_parcel"
    """``H``: e-commerce parcel."""
    CUSTOMS_LETTER = "customs_letter"
    """``U``: letter bearing a customs declaration."""
    DOMESTIC = "domestic"
    """Any other (non-reserved) letter: bilateral or domestic use."""


_PRODUCTS: dict[str, S10Product] = {
    "E": S10Product.EMS,
    "R": S10Product.REGISTERED,
    "C": S10Product.PARCEL,
    "L": S10Product.TRACKED_LETTER,
    "V": S10Product.INSURED,
    "H": S10Product.ECOMMERCE_PARCEL,
    "U": S10Product.CUSTOMS_LETTER,
}


class S10(NamedTuple):
    """A parsed S10 identifier.

    Attributes
    ----------
    service_indicator : str
        Two upper-case letters, e.g. ``"EE"``.
    serial : str
        Eight digits (kept as a string: leading zeros matter).
    check_digit : int
        The check digit, 0-9.
    country : str
        ISO 3166-1 alpha-2 code of the issuing post, e.g. ``"CA"``.
    """

    service_indicator: str
    serial: str
    check_digit: int
    country: str

    @property
    def code(self) -> str:
        """The canonical 13-character identifier."""
        return f"{self.service_indicator}{self.serial}{self.check_digit}{self.country}"

    @property
    def product(self) -> S10Product:
        """The product the service indicator denotes."""
        return s10_product(self.service_indicator)


def s10_check_digit(serial8: str) -> int:
    """Compute the S10 check digit of an 8-digit serial number.

    Parameters
    ----------
    serial8 : str
        Exactly eight ASCII digits.

    Returns
    -------
    int
        The check digit, 0-9.

    Raises
    ------
    InvalidS10Error
        If `serial8` is not a string of exactly eight ASCII digits.

    Examples
    --------
    >>> s10_check_digit("47312482")
    9
    """
    if not isinstance(serial8, str):
        raise InvalidS10Error(serial8, "type", f"serial must be str, not {type(serial8).__name__}")
    if len(serial8) != 8 or not (serial8.isascii() and serial8.isdigit()):
        raise InvalidS10Error(
            serial8, "format", f"serial must be exactly 8 ASCII digits, got {serial8!r}"
        )
    total = sum(w * int(d) for w, d in zip(S10_WEIGHTS, serial8, strict=True))
    check = 11 - (total % 11)
    if check == 10:
        return 0
    if check == 11:
        return 5
    return check


def normalize_s10(s: str) -> str:
    """Return the canonical form of a possibly formatted S10 string.

    Removes whitespace and hyphens and upper-cases the ASCII letters of the
    result (not others: ``"ß12345678?VN"`` is no S10 number). The result is
    *not* validated; pass it to :func:`is_valid_s10` or :func:`parse_s10`.

    Parameters
    ----------
    s : str
        Input such as ``"ee 876 543 216 ca"`` or ``"EE-876543216-CA"``.

    Returns
    -------
    str
        E.g. ``"EE876543216CA"``.

    Raises
    ------
    InvalidS10Error
        If `s` is not a string.
    """
    if not isinstance(s, str):
        raise InvalidS10Error(s, "type", f"S10 must be str, not {type(s).__name__}")
    return _SEPARATORS.sub("", s).translate(_ASCII_UPPER)


def looks_like_s10(s: str) -> bool:
    """Tell whether `s` has the S10 *shape* (2 letters, 9 digits, 2 letters).

    The check digit and the reserved prefixes are not checked; this is what
    identifies an S10-shaped scan whose check digit is wrong (a misread).

    Parameters
    ----------
    s : str
        Canonical (upper-case, no separators) candidate.

    Returns
    -------
    bool
    """
    return isinstance(s, str) and _S10_SHAPE.fullmatch(s) is not None


def parse_s10(s: str) -> S10:
    """Parse and validate a canonical S10 identifier.

    Parameters
    ----------
    s : str
        Exactly 13 characters, upper case, no separators (see
        :func:`normalize_s10`).

    Returns
    -------
    S10
        ``(service_indicator, serial, check_digit, country)``.

    Raises
    ------
    InvalidS10Error
        With ``reason`` ``"type"``, ``"length"``, ``"format"``,
        ``"reserved_service_indicator"`` or ``"check_digit"``.

    Examples
    --------
    >>> parse_s10("EE876543216CA")
    S10(service_indicator='EE', serial='87654321', check_digit=6, country='CA')
    """
    if not isinstance(s, str):
        raise InvalidS10Error(s, "type", f"S10 must be str, not {type(s).__name__}")
    if len(s) != 13:
        raise InvalidS10Error(s, "length", f"S10 must be 13 characters, got {len(s)}: {s!r}")
    if _S10_SHAPE.fullmatch(s) is None:
        raise InvalidS10Error(
            s,
            "format",
            f"S10 must be 2 upper-case letters, 9 digits, 2 upper-case letters: {s!r}",
        )
    service, serial, check, country = s[:2], s[2:10], int(s[10]), s[11:]
    if service[0] in RESERVED_SERVICE_PREFIXES:
        raise InvalidS10Error(
            s,
            "reserved_service_indicator",
            f"service indicator {service!r} is reserved (J* and K* are never assigned)",
        )
    expected = s10_check_digit(serial)
    if check != expected:
        raise InvalidS10Error(
            s, "check_digit", f"wrong check digit in {s!r}: got {check}, expected {expected}"
        )
    return S10(service, serial, check, country)


def is_valid_s10(s: str) -> bool:
    """Tell whether `s` is a valid canonical S10 identifier.

    Never raises: non-strings and lower-case input give ``False``.

    Parameters
    ----------
    s : str
        Candidate identifier.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_valid_s10("RR287043775IN")
    True
    >>> is_valid_s10("RR287043776IN")
    False
    """
    try:
        parse_s10(s)
    except InvalidS10Error:
        return False
    return True


def s10_product(service_indicator: str) -> S10Product:
    """Return the product a service indicator (or a full S10) denotes.

    Only the first letter matters: ``E`` EMS, ``R`` registered, ``C`` parcel,
    ``L`` express letter / tracked packet, ``V`` insured, ``H`` e-commerce
    parcel, ``U`` customs letter; any other letter is domestic/bilateral use.

    Parameters
    ----------
    service_indicator : str
        Two letters such as ``"EE"``, or a whole identifier.

    Returns
    -------
    S10Product

    Raises
    ------
    InvalidS10Error
        If the input does not start with two upper-case letters, or the first
        letter is reserved (``J``/``K``).
    """
    if not isinstance(service_indicator, str):
        raise InvalidS10Error(
            service_indicator,
            "type",
            f"service indicator must be str, not {type(service_indicator).__name__}",
        )
    head = service_indicator[:2]
    if len(head) != 2 or not (head.isascii() and head.isalpha() and head.isupper()):
        raise InvalidS10Error(
            service_indicator, "format", f"not a service indicator: {service_indicator!r}"
        )
    if head[0] in RESERVED_SERVICE_PREFIXES:
        raise InvalidS10Error(
            service_indicator,
            "reserved_service_indicator",
            f"service indicator {head!r} is reserved (J* and K* are never assigned)",
        )
    return _PRODUCTS.get(head[0], S10Product.DOMESTIC)
