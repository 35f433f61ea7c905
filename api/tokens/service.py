"""Issuing and revoking API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import ApiToken, Role, User
from models.user import find_for_login, hash_token, new_token_secret, verify_dummy_password

from ..errors import Forbidden, NotFound, Unauthorized


def issue_token(session: Session, *, username: str, password: str, device: str | None,
                now: datetime, ttl: timedelta) -> tuple[str, ApiToken]:
    """Check the credentials and return (secret, token row). The secret is shown once."""
    user = find_for_login(session, username)
    if user is None:
        verify_dummy_password(password)
        raise Unauthorized("Wrong username or password.", slug="invalid-credentials")
    if not user.check_password(password) or not user.active:
        raise Unauthorized("Wrong username or password.", slug="invalid-credentials")
    secret = new_token_secret()
    token = ApiToken(user_id=user.id, token_hash=hash_token(secret), created_at=now,
                     expires_at=now + ttl, device=device)
    token.user = user
    session.add(token)
    session.flush()
    return secret, token


def revoke_token(session: Session, token: ApiToken, now: datetime) -> None:
    token.revoked_at = now
    session.flush()


def revoke_user_tokens(session: Session, *, actor: User, user_id: int, now: datetime) -> int:
    """Cut off every token of a user (a lost phone). Admins: anyone; dispatchers:
    couriers of their own office."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    if actor.role is Role.DISPATCHER:
        if user.office_id != actor.office_id:
            raise NotFound(f"No user {user_id}.")
        if user.role is not Role.COURIER:
            raise Forbidden("Dispatchers can revoke couriers' tokens only.")
    tokens = session.execute(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > now,
    )).scalars().all()
    for t in tokens:
        t.revoked_at = now
    user.sessions_revoked_at = now  # and every console session started before now
    session.flush()
    return len(tokens)
