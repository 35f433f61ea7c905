"""Item identifiers: UPU S10 numbers (check digit verified) or other carriers' codes."""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass

from models import IdentifierKind, Product
from scanning.s10 import InvalidS10Error, S10Product, looks_like_s10, normalize_s10, parse_s10

EXTERNAL_ID = re.compile(r"[A-Z0-9][A-Z0-9._-]{3,39}")
# Two letters, 7-10 digits, two more characters: a mistyped or misread S10, never
# accepted as another carrier's code.
NEAR_S10 = re.compile(r"[A-Z]{2}[0-9]{7,10}[A-Z0-9]{2}")
_ASCII_UPPER = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)

S10_PRODUCTS: dict[S10Product, Product | None] = {
    S10Product.EMS: Product.EMS,
    S10Product.REGISTERED: Product.REGISTERED,
    S10Product.PARCEL: Product.PARCEL,
    S10Product.TRACKED_LETTER: Product.EXPRESS_LETTER,
    S10Product.INSURED: Product.INSURED,
    S10Product.ECOMMERCE_PARCEL: Product.ECOMMERCE,
    S10Product.CUSTOMS_LETTER: Product.LETTER,
    S10Product.DOMESTIC: None,  # domestic ranges: the product is given explicitly
}


@dataclass(frozen=True)
class Identifier:
    value: str
    kind: IdentifierKind
    product: Product | None = None
    carrier: str | None = None


def normalize(raw: str) -> str:
    """Canonical form used for storage and look-ups: trimmed and upper-cased; for
    S10-shaped input also without spaces and hyphens."""
    # ASCII letters only: str.upper() turns 'ß' into 'SS' and 'ﬁ' into 'FI', so
    # 'ß123456785VN' was looked up, and stored, as SS123456785VN
    value = raw.strip().translate(_ASCII_UPPER)
    compact = normalize_s10(value)
    return compact if looks_like_s10(compact) else value


def classify(raw: str, carrier_patterns: Mapping[str, str] | None = None) -> Identifier:
    """Validate an identifier; raises ``ValueError`` with a message for the user."""
    value = normalize(raw)
    if looks_like_s10(value):
        try:
            s10 = parse_s10(value)
        except InvalidS10Error as exc:
            if exc.reason == "check_digit":
                raise ValueError(f"Invalid S10 check digit: {exc}") from exc
            raise ValueError(f"Invalid S10 identifier: {exc}") from exc
        return Identifier(value, IdentifierKind.S10, S10_PRODUCTS[s10.product])
    # spaces and hyphens are dropped from an S10 number: written with them, a number
    # with a digit too few or too many ("EE-12345678-VN") was stored as a carrier code
    compact = normalize_s10(value)
    if NEAR_S10.fullmatch(compact):
        raise ValueError(f"Invalid S10 identifier: {compact!r} is not 2 letters, 9 digits, "
                         "2 letters.")
    if not EXTERNAL_ID.fullmatch(value):
        raise ValueError(
            "Not a UPU S10 number (2 letters, 9 digits, 2 letters) nor a carrier code "
            "(4-40 letters, digits, '.', '_' or '-')."
        )
    carrier = None
    for name, pattern in (carrier_patterns or {}).items():
        if re.fullmatch(pattern, value):
            carrier = name
            break
    return Identifier(value, IdentifierKind.EXTERNAL, None, carrier)
