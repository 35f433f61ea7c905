"""Console sessions and CSRF.

- The session is Flask's signed cookie (``SESSION_*`` in api/config.py: HttpOnly,
  SameSite=Lax, ``Secure`` when configured). It holds the user id, a fingerprint of the
  password hash (changing the password ends every session), the login time, the time
  of the last user action and the CSRF token; nothing else.
- Lifetime: ``CONSOLE_SESSION_HOURS`` (8 h) absolute from login and
  ``CONSOLE_IDLE_MINUTES`` (60 min) without a user action, both checked here against
  the app's ``CLOCK``. Background polling (map positions, plan progress) does not count
  as activity, so an unattended console logs itself out.
- CSRF: a random token per session, rotated at login, sent back by forms
  (``csrf_token`` field) and by ``fetch()`` (``X-CSRF-Token`` header), compared with
  :func:`hmac.compare_digest` for every unsafe method on the blueprint.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app, request, session

from models import Role, User, db

from ..auth import clock

STAFF = (Role.DISPATCHER, Role.ADMIN)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CACHE = "postal.console_user"


class SessionEnded(Exception):
    """The session expired (absolute or idle) or its user can no longer log in."""


def _now_s() -> float:
    return float(clock().timestamp())


def _fingerprint(user: User) -> str:
    return hashlib.sha256(f"console:{user.password_hash}".encode()).hexdigest()[:24]


def csrf_token() -> str:
    """The session's CSRF token (created on first use, e.g. on the login page)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return str(token)


def csrf_ok() -> bool:
    expected = session.get("csrf")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token") or ""
    return bool(expected) and hmac.compare_digest(str(expected).encode(), sent.encode())


def log_in(user: User) -> None:
    lang = session.get("lang")
    session.clear()  # a fresh session: no fixation of anything set before login
    session.permanent = True
    now = _now_s()
    session.update(uid=user.id, ph=_fingerprint(user), iat=now, seen=now,
                   csrf=secrets.token_urlsafe(32))
    if lang:
        session["lang"] = lang


def log_out() -> None:
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang


def current_user(*, activity: bool = True) -> User | None:
    """The logged-in console user, or None. Raises :class:`SessionEnded` when a session
    existed but is no longer valid (the caller says so on the login page)."""
    if _CACHE in request.environ:
        user: User | None = request.environ[_CACHE]
        return user
    uid = session.get("uid")
    if uid is None:
        request.environ[_CACHE] = None
        return None
    cfg = current_app.config
    now = _now_s()
    iat, seen = float(session.get("iat", 0)), float(session.get("seen", 0))
    user = db.session.get(User, int(uid))
    if (now - iat > cfg["CONSOLE_SESSION_HOURS"] * 3600
            or now - seen > cfg["CONSOLE_IDLE_MINUTES"] * 60
            or user is None or not user.active or session.get("ph") != _fingerprint(user)):
        log_out()
        request.environ[_CACHE] = None
        raise SessionEnded
    if activity and now - seen >= 1:
        session["seen"] = now
    request.environ[_CACHE] = user
    return user


def session_info() -> dict[str, Any]:
    """When the session ends (for the page footer)."""
    cfg = current_app.config
    iat, seen = float(session.get("iat", 0)), float(session.get("seen", 0))
    return {"absolute_end": iat + cfg["CONSOLE_SESSION_HOURS"] * 3600,
            "idle_end": seen + cfg["CONSOLE_IDLE_MINUTES"] * 60}
