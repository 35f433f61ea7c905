"""Bearer-token authentication and role checks for views.

Views call :func:`current_actor` (or use :func:`auth_required`) and pass the actor to
services explicitly; services never read request globals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar

from flask import current_app, request
from sqlalchemy import select

from models import ApiToken, Role, User, db
from models.user import hash_token

from .errors import Forbidden, Unauthorized

F = TypeVar("F", bound=Callable[..., Any])

# Every operation needs a bearer token unless it says ``@blp.doc(security=PUBLIC)``.
PUBLIC: list[dict[str, list[str]]] = []


def clock() -> datetime:
    """The app's clock (``CLOCK`` in config, injectable in tests)."""
    now: datetime = current_app.config["CLOCK"]()
    return now


def _authenticate() -> User:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send 'Authorization: Bearer <token>'; get a token from "
                           "POST /api/v1/auth/token.")
    row = db.session.execute(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token.strip()))
    ).scalar_one_or_none()
    if row is None or not row.is_valid(clock()):
        raise Unauthorized("The token is unknown, expired or revoked.",
                           headers={"WWW-Authenticate": 'Bearer realm="api", '
                                    'error="invalid_token"'})
    request.environ["postal.token"] = row
    return row.user


def current_actor() -> User:
    """The authenticated user of this request (cached on the request, not on ``g``,
    which outlives a request when an app context is already pushed)."""
    user = request.environ.get("postal.actor")
    if user is None:
        user = _authenticate()
        request.environ["postal.actor"] = user
    return user


def current_token() -> ApiToken:
    current_actor()
    token: ApiToken = request.environ["postal.token"]
    return token


def auth_required(*roles: Role) -> Callable[[F], F]:
    """Require a valid token and, if given, one of ``roles``."""

    def decorator(fn: F) -> F:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_actor()
            if roles and user.role not in roles:
                raise Forbidden(f"This needs the role {' or '.join(r.value for r in roles)}.")
            return fn(*args, **kwargs)

        # functools.wraps gives a _Wrapped, not F: the signature is the same
        return wrapper  # type: ignore[return-value]

    return decorator
