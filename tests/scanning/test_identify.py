"""Choosing the item identifier and reporting misreads."""

from __future__ import annotations

import re

import pytest

import scanning
from scanning import Barcode, Symbology, identify
from scanning.s10 import S10Product

from ._images import encode, make_label


def code(text: str, sym: Symbology = Symbology.CODE128, y: float = 0.0) -> Barcode:
    return Barcode(
        sym,
        text,
        text.encode("latin-1", "replace"),
        ((0, y), (10, y), (10, y + 5), (0, y + 5)),
        "test",
    )


def test_valid_s10_is_the_item() -> None:
    ident = identify([code("https://x.example", Symbology.QR_CODE), code("RR287043775IN")])
    assert ident.found
    assert (ident.kind, ident.item_id) == ("s10", "RR287043775IN")
    assert ident.s10 is not None and ident.s10.product is S10Product.REGISTERED
    assert ident.misreads == ()


def test_s10_with_wrong_check_digit_is_a_misread_never_an_item() -> None:
    bad = code("EE123456784VN")
    ident = identify([bad], carrier_patterns=[r"EE\d{9}VN"])  # even if a carrier regex matches
    assert not ident.found and ident.item_id is None
    assert [m.barcode for m in ident.misreads] == [bad]
    assert "check_digit" in ident.misreads[0].reason


def test_reserved_service_indicator_is_a_misread() -> None:
    ident = identify([code("JJ123456785VN")])
    assert not ident.found
    assert "reserved" in ident.misreads[0].reason


@pytest.mark.parametrize(
    "text", ["ee123456785vn", "EE 123 456 785 VN", "EE-123456785-VN", " EE123456785VN\n"]
)
def test_unambiguous_formatting_is_normalised(text: str) -> None:
    ident = identify([code(text)])
    assert ident.item_id == "EE123456785VN"


@pytest.mark.parametrize(
    "text", ["EE123456785VNX", "XEE123456785VN", "EE123456785VN;42", "EE1234567850VN"]
)
def test_s10_inside_other_text_is_not_extracted(text: str) -> None:
    assert not identify([code(text)]).found


@pytest.mark.parametrize(
    ("sym", "text", "reason"),
    [
        (Symbology.EAN13, "400638133393", "13 digits"),
        (Symbology.EAN13, "4006381333932", "check digit"),
        (Symbology.EAN8, "96385075", "check digit"),
        (Symbology.UPCA, "03600029145", "12 digits"),
        (Symbology.UPCE, "01234566", "check digit"),
        (Symbology.ITF, "12345", "even"),
    ],
)
def test_impossible_1d_reads_are_misreads(sym: Symbology, text: str, reason: str) -> None:
    ident = identify([code(text, sym)])
    assert not ident.found
    assert len(ident.misreads) == 1 and reason in ident.misreads[0].reason


def test_carrier_pattern_used_when_no_s10() -> None:
    carriers = {"dhl": r"JJD\d{18}", "ups": re.compile(r"1Z[0-9A-Z]{16}")}
    ident = identify([code("4006381333931", Symbology.EAN13), code("1Z999AA10123456784")], carriers)
    assert (ident.kind, ident.carrier, ident.item_id) == ("carrier", "ups", "1Z999AA10123456784")


def test_s10_wins_over_carrier_and_carrier_order_matters() -> None:
    carriers = [r"\d{10}", r"\d+"]
    codes = [code("1234567890"), code("EE123456785VN", y=50)]
    assert identify(codes, carriers).kind == "s10"
    only = identify([code("1234567890")], carriers)
    assert only.carrier == r"\d{10}"


def test_carrier_pattern_must_match_whole_text() -> None:
    assert not identify([code("XX1234567890")], [r"\d{10}"]).found


def test_several_valid_s10_are_reported_as_alternatives() -> None:
    codes = [code("EE123456785VN"), code("RR287043775IN", y=40), code("EE123456785VN", y=80)]
    ident = identify(codes)
    assert ident.item_id == "EE123456785VN"
    assert ident.alternatives == ("RR287043775IN",)


def test_linear_s10_preferred_over_2d() -> None:
    codes = [
        code("RR287043775IN", Symbology.QR_CODE),
        code("EE123456785VN", Symbology.CODE128, y=99),
    ]
    assert identify(codes).item_id == "EE123456785VN"


def test_scan_label_end_to_end() -> None:
    gray, _ = make_label(carrier="JJD000390007880123456")
    result = scanning.scan_label(encode(gray, "PNG"), {"dhl": r"JJD\d{18}"})
    assert result.identification.item_id == "EE123456785VN"
    assert "JJD000390007880123456" in {b.text for b in result.barcodes}


def test_scan_label_carrier_only() -> None:
    gray, _ = make_label(s10="NOT-AN-S10")
    gray[0:0] = 0
    result = scanning.scan_label(encode(gray, "PNG"), [r"NOT-AN-S\d+"])
    assert result.identification.kind == "carrier"
