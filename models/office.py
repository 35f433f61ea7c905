"""Post offices (hubs)."""

from __future__ import annotations

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from .base import db


class Office(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "offices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(100))
    province: Mapped[str] = mapped_column(String(100))
    lat: Mapped[float]
    lon: Mapped[float]

    def __repr__(self) -> str:
        return f"<Office {self.code}>"
