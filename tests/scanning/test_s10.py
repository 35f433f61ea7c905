"""Table-driven tests for the UPU S10 helpers (``scanning.s10``)."""

from __future__ import annotations

import pytest

from scanning.s10 import (
    S10,
    InvalidS10Error,
    S10Product,
    is_valid_s10,
    looks_like_s10,
    normalize_s10,
    parse_s10,
    s10_check_digit,
    s10_product,
)

VALID = [
    # (identifier, service, serial, check, country)
    ("EE876543216CA", "EE", "87654321", 6, "CA"),
    ("RT395449360DE", "RT", "39544936", 0, "DE"),  # C = 10 -> 0
    ("RR287043775IN", "RR", "28704377", 5, "IN"),  # C = 11 -> 5
    ("EE123456785VN", "EE", "12345678", 5, "VN"),
    ("CP473124829FR", "CP", "47312482", 9, "FR"),
]


@pytest.mark.parametrize(("code", "service", "serial", "check", "country"), VALID)
def test_valid_identifiers_parse(
    code: str, service: str, serial: str, check: int, country: str
) -> None:
    parsed = parse_s10(code)
    assert parsed == S10(service, serial, check, country)
    assert parsed.code == code
    assert is_valid_s10(code)
    assert s10_check_digit(serial) == check


@pytest.mark.parametrize(
    ("serial", "check"),
    [("47312482", 9), ("87654321", 6), ("39544936", 0), ("28704377", 5), ("00000000", 5)],
)
def test_check_digit_worked_examples(serial: str, check: int) -> None:
    assert s10_check_digit(serial) == check


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        ("EE876543217CA", "check_digit"),
        ("RT395449365DE", "check_digit"),
        ("RR287043770IN", "check_digit"),
        ("EE87654321CA", "length"),
        ("EE8765432160CA", "length"),
        ("", "length"),
        ("ee876543216ca", "format"),  # strict: lower case needs normalize_s10
        ("EE 876543216C", "format"),
        ("E1876543216CA", "format"),
        ("EE87654321ACA", "format"),
        ("EE876543216C1", "format"),
        ("JJ123456785VN", "reserved_service_indicator"),
        ("KA123456785VN", "reserved_service_indicator"),
        ("EE８７６５４３２１６CA", "format"),  # full-width digits are not ASCII
    ],
)
def test_invalid_identifiers_are_rejected_with_reason(code: str, reason: str) -> None:
    assert not is_valid_s10(code)
    with pytest.raises(InvalidS10Error) as excinfo:
        parse_s10(code)
    assert excinfo.value.reason == reason
    assert isinstance(excinfo.value, ValueError)


@pytest.mark.parametrize("value", [None, 123, b"EE876543216CA"])
def test_non_strings_are_invalid_not_crashing(value: object) -> None:
    assert is_valid_s10(value) is False  # type: ignore[arg-type]
    with pytest.raises(InvalidS10Error):
        parse_s10(value)  # type: ignore[arg-type]


@pytest.mark.parametrize("serial", ["1234567", "123456789", "1234567a", "", "１２３４５６７８"])
def test_check_digit_rejects_bad_serials(serial: str) -> None:
    with pytest.raises(InvalidS10Error):
        s10_check_digit(serial)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("ee876543216ca", "EE876543216CA"),
        ("EE 876 543 216 CA", "EE876543216CA"),
        ("  EE-876-543-216-CA\n", "EE876543216CA"),
        ("RR\t287043775in", "RR287043775IN"),
    ],
)
def test_normalize_then_validate(raw: str, canonical: str) -> None:
    assert not is_valid_s10(raw)
    assert normalize_s10(raw) == canonical
    assert is_valid_s10(normalize_s10(raw))


@pytest.mark.parametrize("raw", ["ß123456785VN", "ﬅ123456785VN", "EE123456785Vß"])
def test_normalize_upper_cases_ascii_letters_only(raw: str) -> None:
    # str.upper() made these SS123456785VN, ST123456785VN and EE123456785VSS
    assert not looks_like_s10(normalize_s10(raw))
    assert normalize_s10(raw) == raw


def test_looks_like_s10_ignores_check_digit_only() -> None:
    assert looks_like_s10("EE876543217CA")
    assert not looks_like_s10("EE87654321CA")
    assert not looks_like_s10("1234567890123")


@pytest.mark.parametrize(
    ("indicator", "product"),
    [
        ("EE", S10Product.EMS),
        ("RR", S10Product.REGISTERED),
        ("CP", S10Product.PARCEL),
        ("LX", S10Product.TRACKED_LETTER),
        ("VV", S10Product.INSURED),
        ("HA", S10Product.ECOMMERCE_PARCEL),
        ("UA", S10Product.CUSTOMS_LETTER),
        ("AA", S10Product.DOMESTIC),
        ("ZZ", S10Product.DOMESTIC),
        ("EE876543216CA", S10Product.EMS),
    ],
)
def test_product_from_service_indicator(indicator: str, product: S10Product) -> None:
    assert s10_product(indicator) is product


@pytest.mark.parametrize("indicator", ["JA", "KZ", "e", "1A", "ee"])
def test_product_rejects_reserved_or_malformed(indicator: str) -> None:
    with pytest.raises(InvalidS10Error):
        s10_product(indicator)


def test_parsed_product_property() -> None:
    assert parse_s10("RR287043775IN").product is S10Product.REGISTERED
