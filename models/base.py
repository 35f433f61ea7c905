"""Declarative base, the shared ``db`` handle and column types used by every model."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime, Enum, MetaData, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

# Stable constraint names, so Alembic migrations can name what they drop or alter
# (SQLite batch mode needs names too).
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


#: ``db.session`` is a proxy (a ``scoped_session``) to the current app context's
#: session; services take a plain ``Session``: callers pass ``db.session()``, that session.
#: ``db.Model`` is a class Flask-SQLAlchemy makes at run time: to mypy it is no type
#: (``name-defined``) and Any (``misc``), hence the ignore on each model class.
db = SQLAlchemy(model_class=Base)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    PostgreSQL stores ``timestamptz``; SQLite stores naive UTC text. Naive values are
    refused on the way in: every time in this system carries its zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect
                             ) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def lock_rows(session: Session, model: Any, *where: Any) -> None:
    """Make the ``SELECT ... FOR UPDATE`` that follows lock on SQLite too.

    PostgreSQL locks the selected rows until the transaction ends. SQLite ignores
    ``FOR UPDATE`` and runs a plain read outside any write transaction, so two requests
    can both read a row, both pass a check on it and both write (the last one wins, or
    both side effects happen). A no-op ``UPDATE`` of the same rows first takes
    SQLite's database-wide write lock, held until commit: the read after it is current
    and no other writer can change it meanwhile. Call it right before the locking
    select; it does nothing on other databases."""
    if session.get_bind().dialect.name == "sqlite":
        pk = model.__mapper__.primary_key[0]
        session.execute(update(model).where(*where).values({pk.key: pk}))


def let_other_writers_in(session: Session) -> None:
    """On SQLite, commit what the session has done so far, so that other requests get
    their turn at the write lock; it does nothing on other databases.

    SQLite has one writer for the whole file, held until the transaction ends: a long
    run of writes that stand alone (an import's rows) in one transaction would keep
    every other request waiting, past its busy timeout (``SQLITE_BUSY_TIMEOUT_S``).
    On PostgreSQL they lock only their own rows, and the transaction goes on."""
    if session.get_bind().dialect.name == "sqlite":
        session.commit()


M = TypeVar("M")


def locked_one(session: Session, model: type[M], *where: Any) -> M | None:
    """The row of ``model`` matching ``where`` (or ``None``), re-read and locked until
    the transaction ends on both databases (:func:`lock_rows`, then ``SELECT ... FOR
    UPDATE``), with the loaded object refreshed."""
    lock_rows(session, model, *where)
    return session.execute(select(model).where(*where).with_for_update(of=model)
                           .execution_options(populate_existing=True)).scalar_one_or_none()


def utcnow() -> datetime:
    return datetime.now(UTC)


def str_enum(cls: type[enum.Enum], length: int = 32) -> Enum:
    """An enum column stored as its values in a plain string column: no database enum
    type, so adding a value is a code change, not a table-locking migration."""
    return Enum(cls, native_enum=False, length=length, validate_strings=True,
                values_callable=lambda e: [m.value for m in e])


def in_code_order(session: Session, column: Any) -> Any:
    """``column`` to sort by in character code order, the same on every database and as
    Python sorts strings. SQLite compares text byte by byte; PostgreSQL by the
    database's collation, which differs by installation (``en_US.UTF-8`` sets
    punctuation aside at first: ``SHOP1`` before ``SHOP-2``, the other way round in code
    order), so the same rows could come in another order there: sorted by ``COLLATE
    "C"`` instead (bytes; UTF-8 keeps code order)."""
    if session.get_bind().dialect.name == "postgresql":
        return column.collate("C")
    return column
