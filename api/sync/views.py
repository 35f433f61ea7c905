from __future__ import annotations

from typing import Any

from flask import current_app
from flask.views import MethodView

from models import db

from .. import geojson
from ..auth import auth_required, clock, current_actor
from ..items.views import event_settings
from ..jsonbody import Blueprint
from . import service
from .schemas import (
    PositionsQuerySchema,
    SyncRequestSchema,
    SyncResponseSchema,
    TrackQuerySchema,
)

blp = Blueprint("sync", __name__, url_prefix="/api/v1",
                description="Offline sync of a phone's backlog; GPS tracks and positions")


@blp.route("/sync")
class Sync(MethodView):
    @auth_required()
    @blp.arguments(SyncRequestSchema)
    @blp.response(200, SyncResponseSchema)
    def post(self, data: dict[str, Any]) -> Any:
        """Upload up to 500 offline entries (tracking events, GPS pings). Safe to resend:
        every entry is recorded exactly once; the response has a result per entry."""
        cfg = current_app.config
        out = service.sync(db.session(), current_actor(), data, now=clock(),
                           max_attempts=cfg["MAX_DELIVERY_ATTEMPTS"],
                           gps_min_interval_s=cfg["GPS_MIN_INTERVAL_S"], rules=event_settings())
        db.session.commit()
        return out


@blp.route("/couriers/<int:courier_id>/track")
class CourierTrack(MethodView):
    @auth_required()
    @blp.arguments(TrackQuerySchema, location="query")
    @blp.response(200, description="GeoJSON FeatureCollection: the track as a LineString "
                  "(geometry null with fewer than two pings), then each ping as a Point",
                  content_type=geojson.MEDIA_TYPE)
    def get(self, q: dict[str, Any], courier_id: int) -> Any:
        """A courier's GPS track for a day."""
        return geojson.response(service.track_geojson(db.session(), current_actor(),
                                                      courier_id, q["date"]))


@blp.route("/courier-positions")
class CourierPositions(MethodView):
    @auth_required()
    @blp.arguments(PositionsQuerySchema, location="query")
    @blp.response(200)
    def get(self, q: dict[str, Any]) -> Any:
        """The latest position of every courier of an office (dispatchers: their own)."""
        return {"couriers": service.latest_positions(db.session(), current_actor(),
                                                     q.get("office_id"), clock())}
