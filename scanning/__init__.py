"""Barcode scanning for postal labels (standalone: no Flask, no database).

See ``docs/scanning.md``.
"""

from scanning import s10
from scanning.s10 import (
    S10,
    InvalidS10Error,
    S10Product,
    is_valid_s10,
    normalize_s10,
    parse_s10,
    s10_check_digit,
    s10_product,
)

__all__ = [
    "S10",
    "InvalidS10Error",
    "S10Product",
    "is_valid_s10",
    "normalize_s10",
    "parse_s10",
    "s10",
    "s10_check_digit",
    "s10_product",
]
