from __future__ import annotations

from typing import Any

from flask.views import MethodView

from models import db

from ..auth import auth_required, clock, current_actor
from ..jsonbody import Blueprint
from . import service
from .schemas import RoundCreateSchema, RoundQuerySchema, RoundSchema, RoundUpdateSchema

blp = Blueprint("rounds", __name__, url_prefix="/api/v1",
                description="Delivery rounds: an office's territories by ward (office staff)")


@blp.route("/rounds")
class Rounds(MethodView):
    @auth_required()
    @blp.arguments(RoundQuerySchema, location="query")
    @blp.response(200, RoundSchema(many=True))
    def get(self, q: dict[str, Any]) -> Any:
        """The office's delivery rounds, by code (dispatchers: their own office; admins
        name it)."""
        return service.listing(db.session(), current_actor(), q.get("office_id"))

    @auth_required()
    @blp.arguments(RoundCreateSchema)
    @blp.response(201, RoundSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Create a round: a code unique in the office, the wards it covers (each in one
        round of the office at most: 409) and the courier who usually rides it."""
        r = service.create(db.session(), current_actor(), data, now=clock())
        db.session.commit()
        return r


@blp.route("/rounds/<int:round_id>")
class RoundDetail(MethodView):
    @auth_required()
    @blp.response(200, RoundSchema)
    def get(self, round_id: int) -> Any:
        """A round."""
        return service.visible(db.session(), current_actor(), round_id)

    @auth_required()
    @blp.arguments(RoundUpdateSchema)
    @blp.response(200, RoundSchema)
    def patch(self, data: dict[str, Any], round_id: int) -> Any:
        """Change a round's code, name, wards (the list sent replaces it) or courier
        (null: nobody)."""
        r = service.update(db.session(), current_actor(), round_id, data, now=clock())
        db.session.commit()
        return r

    @auth_required()
    @blp.response(204)
    def delete(self, round_id: int) -> None:
        """Delete a round: its items are in no round from then on (plans made already
        keep what they chose)."""
        service.delete(db.session(), current_actor(), round_id)
        db.session.commit()
