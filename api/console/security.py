"""Console sessions and CSRF.

- The session is Flask's signed cookie (``SESSION_*`` in api/config.py: HttpOnly,
  SameSite=Lax, ``Secure`` when configured; its path the app's root, under a path
  prefix the prefix: :class:`SessionInterface`). It holds the user id, a fingerprint of the
  password hash (changing the password ends every session), the login time, the time
  of the last user action, the CSRF token and a random session id; nothing else.
- Server-side revocation: logging out records the session id (``RevokedSession``)
  until the session would have expired, so a copy of the cookie taken before is
  refused; "revoke tokens" on a user (``POST /api/v1/users/{id}/revoke-tokens``) sets
  ``User.sessions_revoked_at``, which ends every console session started before it.
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
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask, current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface

from models import RevokedSession, Role, User, db

from ..auth import clock

STAFF = (Role.DISPATCHER, Role.ADMIN)
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CACHE = "postal.console_user"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, its cookie for the app's root: under a path prefix
    (``SCRIPT_NAME``, docs/deployment.md) the prefix, not the host's root, so that two
    instances on one host (``/postal``, ``/postal-test``) do not overwrite each other's
    ``postal_console`` cookie. ``SESSION_COOKIE_PATH``, when set, is taken as it is."""

    def get_cookie_path(self, app: Flask) -> str:
        configured = app.config["SESSION_COOKIE_PATH"]
        if configured:
            return str(configured)
        root = request.script_root if has_request_context() else ""
        return root or str(app.config["APPLICATION_ROOT"])


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
    session.clear()  # a fresh session: no fixation of anything set before login
    session.permanent = True
    now = _now_s()
    session.update(uid=user.id, ph=_fingerprint(user), iat=now, seen=now,
                   csrf=secrets.token_urlsafe(32), sid=secrets.token_urlsafe(24))


def log_out(*, revoke: bool = True) -> None:
    """End the session in this browser and, with ``revoke``, on the server too."""
    sid, uid, iat = session.get("sid"), session.get("uid"), session.get("iat")
    if revoke and sid and uid is not None:
        now = clock()
        hours = current_app.config["CONSOLE_SESSION_HOURS"]
        expires = datetime.fromtimestamp(float(iat or 0), UTC) + timedelta(hours=hours)
        db.session.execute(db.delete(RevokedSession).where(RevokedSession.expires_at < now))
        if db.session.get(RevokedSession, str(sid)) is None:
            db.session.add(RevokedSession(sid=str(sid)[:64], user_id=int(uid), revoked_at=now,
                                          expires_at=max(expires, now)))
        db.session.commit()
    session.clear()


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
    revoked_at = user.sessions_revoked_at if user is not None else None
    sid = session.get("sid")
    if (now - iat > cfg["CONSOLE_SESSION_HOURS"] * 3600
            or now - seen > cfg["CONSOLE_IDLE_MINUTES"] * 60
            or user is None or not user.active or session.get("ph") != _fingerprint(user)
            or not sid or (revoked_at is not None and iat <= revoked_at.timestamp())
            or db.session.get(RevokedSession, str(sid)) is not None):
        log_out(revoke=False)
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
