"""The confirmation rule for linear reads (independent second read)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from scanning import Barcode, Read, ScanConfig, Scanner, Symbology
from scanning.pipeline import confirmed, resolve_unconfirmed

BOX = ((10.0, 10.0), (110.0, 10.0), (110.0, 60.0), (10.0, 60.0))
GRAY = np.full((120, 160), 255, np.uint8)


@dataclass
class Fake:
    """A decoder returning fixed reads and counting its calls."""

    name: str
    reads: list[Read] = field(default_factory=list)
    calls: int = 0

    def decode(self, gray: np.ndarray) -> list[Read]:
        self.calls += 1
        return list(self.reads)


def _code(sym: Symbology, text: str, engine: str) -> Barcode:
    return Barcode(sym, text, text.encode(), BOX, engine, "gray")


def _support(*codes: Barcode) -> dict[tuple[Symbology, str], set[str]]:
    out: dict[tuple[Symbology, str], set[str]] = {}
    for c in codes:
        out.setdefault((c.symbology, c.text), set()).add(c.engine)
    return out


def test_confirmed_rule() -> None:
    qr = _code(Symbology.QR_CODE, "x", "zbar")
    zx = _code(Symbology.EAN13, "4006381333931", "zxing-cpp")
    zb = _code(Symbology.EAN13, "4006381333931", "zbar")
    upce = _code(Symbology.UPCE, "01234565", "zxing-cpp")
    upce_zb = _code(Symbology.UPCE, "01234565", "zbar")
    assert confirmed(qr, _support(qr))
    assert confirmed(zx, _support(zx))
    assert not confirmed(zb, _support(zb))
    assert confirmed(zb, _support(zb, zx))
    assert not confirmed(upce, _support(upce))  # short symbol: one engine is not enough
    assert confirmed(upce, _support(upce, upce_zb))


def test_unconfirmed_read_is_dropped_when_contradicted_and_kept_otherwise() -> None:
    wrong = _code(Symbology.EAN13, "9074932437075", "zbar")
    right = _code(Symbology.UPCA, "023942431015", "ean-blur")  # same family as EAN-13
    # one engine against one: neither value is reported
    assert resolve_unconfirmed([wrong, right], [wrong, right], _support(wrong, right)) == []
    # a second engine agreeing with one side settles it
    right2 = _code(Symbology.UPCA, "023942431015", "zxing-cpp")
    support = _support(wrong, right, right2)
    assert resolve_unconfirmed([wrong], [wrong, right, right2], support) == [right]
    assert resolve_unconfirmed([wrong], [wrong], _support(wrong)) == [wrong]
    far = Barcode(Symbology.UPCA, "023942431015", b"", ((500.0, 500.0),) * 4, "x", "gray")
    assert resolve_unconfirmed([wrong], [wrong, far], _support(wrong, far)) == [wrong]


def _scanner(**engines: Fake) -> Scanner:
    cfg = ScanConfig(
        first_pass=("first:gray",),
        ladder=("one:gray", "two:gray"),
        confirm_ladder=("two:gray",),
        partial_ladder=(),
    )
    return Scanner(cfg, decoders=engines)


def test_unconfirmed_ladder_read_does_not_stop_the_ladder() -> None:
    first = Fake("first")
    one = Fake("zbar", [Read(Symbology.EAN13, "9074932437075", b"", BOX)])
    two = Fake("ean-blur", [Read(Symbology.UPCA, "023942431015", b"", BOX)])
    codes = _scanner(first=first, one=one, two=two).decode_image(GRAY)
    assert two.calls == 1  # the ZBar-only read did not stop the ladder
    assert codes == []  # and two engines contradict each other


def test_unconfirmed_read_nothing_contradicts_is_kept() -> None:
    one = Fake("zbar", [Read(Symbology.EAN13, "9074932437075", b"", BOX)])
    two = Fake("ean-blur")
    codes = _scanner(first=Fake("first"), one=one, two=two).decode_image(GRAY)
    assert two.calls == 1
    assert [c.text for c in codes] == ["9074932437075"]


def test_confirmed_ladder_read_stops_the_ladder() -> None:
    one = Fake("zxing-cpp", [Read(Symbology.EAN13, "4006381333931", b"", BOX)])
    two = Fake("zbar")
    codes = _scanner(first=Fake("first"), one=one, two=two).decode_image(GRAY)
    assert two.calls == 0
    assert [c.text for c in codes] == ["4006381333931"]


def test_short_first_pass_read_is_checked_by_another_engine() -> None:
    first = Fake("zxing-cpp", [Read(Symbology.UPCE, "04904144", b"", BOX)])
    two = Fake("zbar", [Read(Symbology.UPCE, "04963406", b"", BOX)])
    both = Fake("zxing-cpp", [Read(Symbology.UPCE, "04963406", b"", BOX)])
    codes = _scanner(first=first, one=both, two=two).decode_image(GRAY)
    assert two.calls == 1
    # the first read and ZBar's disagree one engine to one: no answer
    assert codes == []
    assert both.calls == 0  # the main ladder does not run when codes were found


def test_short_first_pass_read_outvoted_by_two_engines() -> None:
    first = Fake("zxing-cpp", [Read(Symbology.UPCE, "04904144", b"", BOX)])
    two = Fake("zbar", [Read(Symbology.UPCE, "04963406", b"", BOX)])
    three = Fake("zxing-cpp", [Read(Symbology.UPCE, "04963406", b"", BOX)])
    cfg = ScanConfig(
        first_pass=("first:gray",), confirm_ladder=("two:gray", "three:gray"), partial_ladder=()
    )
    codes = Scanner(cfg, decoders={"first": first, "two": two, "three": three}).decode_image(GRAY)
    assert [c.text for c in codes] == ["04963406"]


def test_confirmation_can_be_switched_off() -> None:
    one = Fake("zbar", [Read(Symbology.EAN13, "9074932437075", b"", BOX)])
    two = Fake("ean-blur", [Read(Symbology.UPCA, "023942431015", b"", BOX)])
    cfg = ScanConfig(
        first_pass=("first:gray",), ladder=("one:gray", "two:gray"), confirm_linear=False
    )
    codes = Scanner(cfg, decoders={"first": Fake("first"), "one": one, "two": two}).decode_image(
        GRAY
    )
    assert two.calls == 0
    assert [c.text for c in codes] == ["9074932437075"]


def test_many_linear_reads_are_not_each_compared_with_every_other(monkeypatch) -> None:
    # a 400 KB PNG of 638 EAN-8 symbols took 26 s of CPU: each read's rivals were
    # looked for among all reads at ~10 us a pair, in the ladder's stop test and again
    # at the end. Reads outside a value's extent are skipped before the overlap test.
    from scanning import pipeline

    def box(i: int) -> tuple[tuple[float, float], ...]:
        x, y = 60.0 * (i % 40), 30.0 * (i // 40)
        return ((x, y), (x + 50, y), (x + 50, y + 20), (x, y + 20))

    overlaps = 0
    overlap = pipeline._overlap

    def counted(a: object, b: object) -> float:
        nonlocal overlaps
        overlaps += 1
        return overlap(a, b)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "_overlap", counted)
    first = Fake("zxing-cpp", [Read(Symbology.EAN8, f"{i:08d}", b"", box(i)) for i in range(600)])
    two = Fake("zbar", [Read(Symbology.EAN8, f"{i:08d}", b"", box(i)) for i in range(600)])
    codes = _scanner(first=first, one=Fake("one"), two=two).decode_image(GRAY)
    assert len(codes) == 600
    # none of the 600 boxes touches another: the rival search runs no overlap test at
    # all, and what is left is merging's one pass over the pairs (the old code ran the
    # test for every pair in every rival search too: 3.2 million times)
    assert overlaps <= 600 * 599, overlaps
