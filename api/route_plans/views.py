from __future__ import annotations

from typing import Any

from flask import current_app, url_for
from flask.views import MethodView

from models import db

from .. import geojson, jobs
from ..auth import auth_required, clock, current_actor
from ..jsonbody import Blueprint
from ..localtime import LOCAL_TZ
from ..ratelimit import actor_key, cfg, limiter
from . import service
from .schemas import (
    CourierRouteSchema,
    PlanCreateSchema,
    PlanEditSchema,
    PlanPublishConflictSchema,
    PlanPublishSchema,
    PlanSchema,
    ReoptimizeSchema,
    RouteQuerySchema,
)

blp = Blueprint("route_plans", __name__, url_prefix="/api/v1",
                description="Route plans: optimise, watch, publish")


def _refreshed(plan: Any) -> Any:
    job = jobs.rq_job_state(current_app, plan.job_id) if plan.job_id else None
    return service.refresh_stored(db.session(), plan, now=clock(), job=job)


@blp.route("/route-plans")
class RoutePlans(MethodView):
    @auth_required()
    @blp.arguments(PlanCreateSchema)
    @blp.response(202, PlanSchema, headers={"Location": {
        "description": "The plan's URL, to poll", "schema": {"type": "string"}}})
    def post(self, data: dict[str, Any]) -> Any:
        """Start optimising a day's routes for an office; poll the plan for progress."""
        # current_app is typed as the Flask app, not the proxy it is: the app itself, for the job
        plan = service.start_plan(db.session(), current_actor(), data, now=clock(),
                                  app=current_app._get_current_object())  # type: ignore[attr-defined]
        return plan, 202, {"Location": url_for("route_plans.RoutePlanDetail",
                                               plan_id=plan.id)}


@blp.route("/route-plans/<int:plan_id>")
class RoutePlanDetail(MethodView):
    @auth_required()
    @blp.response(200, PlanSchema)
    def get(self, plan_id: int) -> Any:
        """Status, progress, best cost so far and, when done, the routes."""
        return _refreshed(service.get_plan(db.session(), current_actor(), plan_id))

    @auth_required()
    @blp.arguments(PlanEditSchema)
    @blp.response(200, PlanSchema)
    def patch(self, data: dict[str, Any], plan_id: int) -> Any:
        """Move stops between couriers or reorder them; ETAs are recomputed."""
        plan = service.edit_plan(db.session(), current_actor(), plan_id, data["routes"],
                                 now=clock())
        db.session.commit()
        return plan


@blp.route("/route-plans/<int:plan_id>/geojson")
class RoutePlanGeoJSON(MethodView):
    @auth_required()
    @blp.response(200, description="GeoJSON FeatureCollection: office, stops (sequence, "
                  "ETA), routes as lines", content_type=geojson.MEDIA_TYPE)
    def get(self, plan_id: int) -> Any:
        """The plan as GeoJSON for a map."""
        return geojson.response(service.geojson(service.get_plan(db.session(),
                                                                 current_actor(), plan_id)))


@blp.route("/route-plans/<int:plan_id>/cancel")
class RoutePlanCancel(MethodView):
    @auth_required()
    @blp.response(200, PlanSchema)
    def post(self, plan_id: int) -> Any:
        """Cancel a queued or running plan."""
        plan = service.cancel(db.session(), current_actor(), plan_id, now=clock())
        db.session.commit()
        if plan.job_id:
            jobs.withdraw(current_app, plan.job_id)
        return plan


@blp.route("/route-plans/<int:plan_id>/publish")
class RoutePlanPublish(MethodView):
    @auth_required()
    @blp.arguments(PlanPublishSchema, required=False)
    @blp.response(200, PlanSchema)
    @blp.alt_response(409, schema=PlanPublishConflictSchema,
                      content_type="application/problem+json",
                      description="plan-not-ready (not a finished plan), day-over (the "
                      "plan's day is before today), courier-unavailable "
                      "(a routed courier left the office), or plan-infeasible: routes have "
                      "issues (routes); send accept_issues to publish it anyway")
    def post(self, data: dict[str, Any], plan_id: int) -> Any:
        """Publish: assign every planned item to its courier. A plan whose routes have
        issues is published only with accept_issues."""
        plan = service.publish(db.session(), current_actor(), plan_id, now=clock(),
                               accept_issues=data.get("accept_issues", False),
                               max_attempts=current_app.config["MAX_DELIVERY_ATTEMPTS"])
        db.session.commit()
        return plan


@blp.route("/couriers/me/route")
class MyRoute(MethodView):
    @auth_required()
    @blp.arguments(RouteQuerySchema, location="query")
    @blp.response(200, CourierRouteSchema)
    def get(self, q: dict[str, Any]) -> Any:
        """The courier's published route for a day: ordered stops, items, ETAs."""
        today = clock().astimezone(LOCAL_TZ).date()
        return service.courier_route(db.session(), current_actor(), q.get("date") or today,
                                     today=today)


@blp.route("/couriers/me/route/reoptimize")
class MyRouteReoptimize(MethodView):
    @auth_required()
    # each solve holds a web thread for ~1 s: a phone re-sending in a loop (or many at
    # once) would hold every thread of the web workers
    @limiter.shared_limit(cfg("REOPTIMIZE_RATE_LIMIT"), "reoptimize", key_func=actor_key)
    @blp.arguments(ReoptimizeSchema)
    @blp.response(200, CourierRouteSchema)
    @blp.alt_response(409, content_type="application/problem+json",
                      description="day-over: the day is before today; day-not-started: "
                      "it is after today; its route stays as published")
    def post(self, data: dict[str, Any]) -> Any:
        """Re-plan the rest of my route from my current position (about 1 s)."""
        now = clock()
        day = data.get("date") or now.astimezone(LOCAL_TZ).date()
        loc = data["location"]
        route = service.reoptimize_route(db.session(), current_actor(), day, lat=loc["lat"],
                                         lon=loc["lon"], keep_next=data.get("keep_next"),
                                         now=now)
        db.session.commit()
        return route
