"""Staff accounts, roles and API tokens."""

from __future__ import annotations

import enum
import hashlib
import secrets
import string
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import CheckConstraint, ForeignKey, String, event, func, or_, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, Session, mapped_column, relationship

from .base import UTCDateTime, db, str_enum
from .office import Office


class Role(enum.StrEnum):
    COURIER = "courier"
    DISPATCHER = "dispatcher"
    ADMIN = "admin"


# Argon2id with the library's defaults (RFC 9106 "low memory" profile). Tests swap in
# a cheaper hasher through ``set_password_hasher``.
_hasher = PasswordHasher()


def set_password_hasher(hasher: PasswordHasher) -> None:
    global _hasher
    _hasher = hasher


# A hash to verify against when the user does not exist, so a login for an unknown
# name costs as much as one with a wrong password.
_DUMMY_HASH: str | None = None


def verify_dummy_password(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _hasher.hash("not-a-real-password")
    try:
        _hasher.verify(_DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        pass


class User(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "users"
    __table_args__ = (
        # couriers and dispatchers work for an office (what they see and plan is its);
        # only an admin may have none. Checked in Python first for a clear message
        # (_staff_need_an_office); the database refuses any other way in.
        CheckConstraint("role = 'admin' OR office_id IS NOT NULL", name="staff_have_office"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(str_enum(Role, 20))
    full_name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))
    office_id: Mapped[int | None] = mapped_column(ForeignKey("offices.id"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # Couriers only: what the vehicle (a motorbike) carries.
    vehicle_capacity_parcels: Mapped[int | None]
    vehicle_capacity_kg: Mapped[float | None]
    # Console sessions started before this are over ("revoke tokens": a lost laptop or
    # phone; the API's tokens are revoked at the same time)
    sessions_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    office: Mapped[Office | None] = relationship(lazy="joined")

    def set_password(self, password: str) -> None:
        self.password_hash = _hasher.hash(password)

    def check_password(self, password: str) -> bool:
        try:
            ok = _hasher.verify(self.password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
        if ok and _hasher.check_needs_rehash(self.password_hash):
            self.password_hash = _hasher.hash(password)
        return bool(ok)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


@event.listens_for(User, "before_insert")
@event.listens_for(User, "before_update")
def _staff_need_an_office(mapper: Mapper[User], connection: Connection, user: User) -> None:
    """A courier or dispatcher without an office is an error, created or changed so,
    whichever code does it (the database's CHECK would say the same, less clearly)."""
    if user.role is not Role.ADMIN and user.office_id is None:
        raise ValueError(f"A {Role(user.role).value} needs an office (user {user.username}); "
                         "only an admin may have none.")


def hash_token(token: str) -> str:
    """Tokens are stored as SHA-256 digests: they are random 256-bit secrets, so a
    fast hash is enough and a database leak does not leak usable tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token_secret() -> str:
    return secrets.token_urlsafe(32)


class ApiToken(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    device: Mapped[str | None] = mapped_column(String(100))

    user: Mapped[User] = relationship(lazy="joined")

    def is_valid(self, now: datetime) -> bool:
        return self.revoked_at is None and now < self.expires_at and self.user.active


class RevokedSession(db.Model):  # type: ignore[name-defined,misc]  # see models/base.py, db
    """A console session ended by logging out. Console sessions are signed cookies; a
    copy of the cookie taken before logout would stay valid until it expires, so the
    session's random id is kept here until then (rows past ``expires_at`` are purged
    at each logout)."""

    __tablename__ = "revoked_sessions"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(name: str) -> str:
    """``name`` with its ASCII letters in lower case (what SQL ``lower()`` does on
    SQLite, and on PostgreSQL for ASCII: the only case folding both agree on)."""
    return name.translate(_ASCII_LOWER)


def same_name_taken(session: Session, username: str) -> User | None:
    """An account whose name is ``username`` but for the case of ASCII letters (or is
    it): a new account may not take such a name, or logins naming it would be ambiguous."""
    return session.execute(select(User).where(
        func.lower(User.username) == ascii_lower(username)).limit(1)).scalar()


def find_for_login(session: Session, username: str) -> User | None:
    """The account a login names: the name as typed, around spaces dropped, else the
    one account whose name differs from it only in the case of ASCII letters (a phone's
    keyboard capitalises the first letter: ``Courier1`` logs in as ``courier1``). None
    when there is none, or when two accounts differ only so (made before names were
    kept apart by case) and neither is named exactly. No account's name holds a
    control character (``users create``), and a NUL cannot even be compared by
    PostgreSQL: such a name finds none."""
    name = username.strip()
    if not name or any(not c.isprintable() for c in name):
        return None
    # one statement whatever the name, the one an unknown name costs too: the exact name
    # first, then a search by case, was one statement for a known name and two, the
    # second scanning every account (no index on lower()), for an unknown one
    found = session.execute(select(User).where(or_(
        User.username == name, func.lower(User.username) == ascii_lower(name)))).scalars().all()
    exact = next((u for u in found if u.username == name), None)
    if exact is not None:
        return exact
    alike = [u for u in found if ascii_lower(u.username) == ascii_lower(name)]
    return alike[0] if len(alike) == 1 else None
