from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import current_app
from flask.views import MethodView

from models import Role, db

from ..auth import PUBLIC, auth_required, clock, current_actor, current_token
from ..jsonbody import Blueprint
from ..ratelimit import cfg, client_address, failed_login, limiter, login_username
from . import service
from .schemas import MeSchema, RevokedSchema, TokenRequestSchema, TokenSchema

blp = Blueprint("auth", __name__, url_prefix="/api/v1", description="Authentication")


@blp.route("/auth/token")
class Token(MethodView):
    @blp.doc(security=PUBLIC)
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, TokenSchema)
    @blp.alt_response(429, description="Too many failed logins for this username or "
                      "address; see Retry-After")
    # shared with the console's login form: one budget of failures per name and address
    @limiter.shared_limit(cfg("LOGIN_FAILURE_LIMIT_USER"), "login-user",
                          key_func=login_username, deduct_when=failed_login)
    @limiter.shared_limit(cfg("LOGIN_FAILURE_LIMIT_IP"), "login-ip",
                          key_func=client_address, deduct_when=failed_login)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Log in: exchange a username and password for a bearer token."""
        secret, token = service.issue_token(
            db.session(), username=data["username"], password=data["password"],
            device=data.get("device"), now=clock(),
            ttl=timedelta(hours=current_app.config["TOKEN_TTL_HOURS"]),
        )
        db.session.commit()
        return {"access_token": secret, "token_type": "Bearer", "expires_at": token.expires_at}

    @auth_required()
    @blp.response(204)
    def delete(self) -> None:
        """Log out: revoke the token used for this request."""
        service.revoke_token(db.session(), current_token(), clock())
        db.session.commit()


@blp.route("/auth/me")
class Me(MethodView):
    @auth_required()
    @blp.response(200, MeSchema)
    def get(self) -> dict[str, Any]:
        """Who the token belongs to."""
        user = current_actor()
        return {"id": user.id, "username": user.username, "full_name": user.full_name,
                "role": user.role.value, "office_id": user.office_id, "office": user.office,
                "token_expires_at": current_token().expires_at}


@blp.route("/users/<int:user_id>/revoke-tokens")
class RevokeTokens(MethodView):
    @auth_required(Role.ADMIN, Role.DISPATCHER)
    @blp.response(200, RevokedSchema)
    def post(self, user_id: int) -> dict[str, int]:
        """Revoke every token of a user at once, and end their console sessions (a lost
        or stolen phone or laptop)."""
        n = service.revoke_user_tokens(db.session(), actor=current_actor(), user_id=user_id,
                                       now=clock())
        db.session.commit()
        return {"revoked": n}
