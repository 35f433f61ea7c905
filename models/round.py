"""Delivery rounds ("tuyến phát"): an office's stable territories, by ward, each with the
courier who usually rides it."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import UTCDateTime, db
from .user import User

#: what an address may write before a ward's name (matched at the start, in lower case,
#: before accents are dropped: "xã " is a prefix, "Xa La" a ward's name); the longest
#: first. "p." and "tt." need no space after them ("P.Lộc Thọ").
_WARD_PREFIX = re.compile(r"(?:(?:phường|xã|thị\s+trấn)(?:\s+|\Z)|(?:p|tt)\.\s*)")
#: a numbered ward's key once accents are gone, with what may still stand before the
#: number ("phuong" unaccented, "p" or "f" without a dot: "F1" is how Saigon writes it)
_NUMBERED = re.compile(r"(?:(?:phuong|p|f)\.?\s*)?0*(\d{1,3})")


#: a ward's name and its key, at most (characters): a key may be longer than its name
#: ("ß" is "ss" in lower case), and such a name is refused (api/rounds/schemas.py)
WARD_LEN = 100


def ward_key(name: str | None) -> str:
    """``name`` of a ward as rounds and items are matched by it: trimmed, in lower case,
    without the prefix an address may give it ("Phường", "P.", "Xã", "Thị trấn",
    "TT.") and without accents (đ is d), spaces collapsed: "Phường Lộc Thọ", "lộc thọ"
    and "P. Lộc Thọ" are all "loc tho"; a numbered ward is its number ("Phường 01",
    "P.1", "P1" and "F1" are all "1"). "" for none, or a prefix alone."""
    if not name:
        return ""
    text = " ".join(unicodedata.normalize("NFC", name).casefold().split())
    text = _WARD_PREFIX.sub("", text, count=1) if _WARD_PREFIX.match(text) else text
    # accents and invisible characters (a zero-width space pasted from a web page) go;
    # đ, and the Icelandic ð that legacy Vietnamese encodings put for it, are d
    bare = "".join(c for c in unicodedata.normalize("NFD", text)
                   if unicodedata.category(c) not in ("Mn", "Cf"))
    key = " ".join(bare.replace("đ", "d").replace("ð", "d").split())
    # a numbered ward (the cities' "Phường 1" to "Phường 15") as written in addresses:
    # "P.01", "P1", "F1", "phuong 01" are all "1"
    numbered = _NUMBERED.fullmatch(key)
    return str(int(numbered.group(1))) if numbered else key


class DeliveryRound(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """A round of an office: the wards it covers (:class:`RoundWard`) and the courier who
    usually rides it (none: nobody yet). An item is in the round covering its
    ``recipient_ward`` (:func:`ward_key`); nothing is stored on the item."""

    __tablename__ = "delivery_rounds"
    __table_args__ = (
        UniqueConstraint("office_id", "code", name="uq_delivery_rounds_office_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    courier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    courier: Mapped[User | None] = relationship(lazy="joined")
    wards: Mapped[list[RoundWard]] = relationship(
        back_populates="round", order_by="RoundWard.id", lazy="selectin",
        cascade="all, delete-orphan")

    @property
    def ward_names(self) -> list[str]:
        return [w.name for w in self.wards]

    def __repr__(self) -> str:
        return f"<DeliveryRound {self.code} office={self.office_id}>"


class RoundWard(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """A ward a round covers: its name as the office wrote it, and its :func:`ward_key`,
    unique in the office (a ward belongs to at most one round of an office; the
    database refuses a second one whatever the way in)."""

    __tablename__ = "delivery_round_wards"
    __table_args__ = (
        UniqueConstraint("office_id", "key", name="uq_delivery_round_wards_office_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("delivery_rounds.id", ondelete="CASCADE"),
                                          index=True)
    # the round's office, repeated here for the unique key
    office_id: Mapped[int] = mapped_column(ForeignKey("offices.id"))
    name: Mapped[str] = mapped_column(String(WARD_LEN))
    key: Mapped[str] = mapped_column(String(WARD_LEN))

    round: Mapped[DeliveryRound] = relationship(back_populates="wards")
