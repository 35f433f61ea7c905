from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

import routing
from models import PlanStatus, Status

from ..errors import ProblemSchema
from ..items.schemas import Day, Id, Int, JSONBool, LocationSchema
from .service import DEFAULT_MOVE_COST_M, DEFAULT_ROUND_COST_M, REMAINING

_PLANNED_STATUSES = ("Only items still to deliver can be planned: "
                     + ", ".join(s.value for s in REMAINING) + ".")


class PlanCreateSchema(Schema):
    office_id = Id(metadata={"description": "A dispatcher's own office by default"})
    date = Day(required=True, metadata={"description": "Service day (Viet Nam time)"})
    # an empty list is an error, not "the default": nothing chosen is not everything
    courier_ids = fields.List(Id(), validate=validate.Length(min=1, max=100),
                              metadata={"description": "Default: every active courier"})
    identifiers = fields.List(fields.String(validate=validate.Length(max=60)),
                              validate=validate.Length(min=1, max=2000),
                              metadata={"description": "Only these items (default: all "
                                        "plannable items of the office)"})
    # only parcels still to deliver: a plan of delivered parcels, or of parcels not at
    # the office yet, would hand nothing over and yet, published, take over the routes
    # in force
    statuses = fields.List(fields.Enum(Status, by_value=True, validate=validate.OneOf(
                               REMAINING, error=_PLANNED_STATUSES),
                               error_messages={"unknown": _PLANNED_STATUSES}),
                           validate=validate.Length(min=1, max=10),
                           metadata={"description": "Default: at_delivery_office, "
                                     "held_at_office, delivery_failed, and "
                                     "out_for_delivery with a courier of the plan (a "
                                     "parcel back from a failed attempt with its courier: "
                                     "from the next day on, pinned to that courier and "
                                     "left out of a plan without them)"})
    shift_start_s = Int(load_default=8 * 3600, validate=validate.Range(0, 86_400),
                                   metadata={"description": "Seconds after midnight"})
    shift_end_s = Int(load_default=17 * 3600 + 1800,
                                 validate=validate.Range(0, 86_400))
    time_limit_s = fields.Float(load_default=10.0, validate=validate.Range(0.2, 300),
                                metadata={"description": "Optimisation time budget"})
    warm_start = JSONBool(load_default=True, metadata={
        "description": "Start the optimisation from the couriers' routes in force that "
                       "day (published), else from their route in the day's latest "
                       "unpublished plan, cut to this plan's stops (the result's "
                       "warm_start says from which plans); false: start from scratch"})

    keep_assignments = JSONBool(load_default=True, metadata={
        "description": "Keep every item assigned to a courier with them (the default): pinned "
                       "to them when they are in the plan, so a re-plan reshuffles nothing "
                       "already given out between its couriers. false: rebalance; only what a "
                       "courier has (out for delivery, back from a failed attempt) or was "
                       "given by hand is pinned (one given by hand to a courier not in the "
                       "plan is left out: assigned_by_hand), and an item at the office that a "
                       "published plan gave its courier may move to another courier of the "
                       "plan (a courier joins late, or the others cannot carry all they were "
                       "given); it stays with its courier unless moving it shortens the day "
                       "by more than move_cost_m"})
    move_cost_m = Int(validate=validate.Range(0, routing.MAX_MOVE_COST_M), metadata={
        "description": "Only with keep_assignments false (else a 422): what moving a "
                       "parcel a published plan gave a courier to another courier costs, in "
                       "metres of distance: it moves only when that shortens the day by "
                       "more, or when its courier cannot take it (capacity, shift). "
                       f"0 to {routing.MAX_MOVE_COST_M}; default "
                       f"{DEFAULT_MOVE_COST_M} (0: distance alone decides). The result's "
                       "distances are real metres, without it"})

    round_cost_m = Int(load_default=DEFAULT_ROUND_COST_M,
                       validate=validate.Range(0, routing.MAX_MOVE_COST_M), metadata={
        "description": "What giving a stop to another courier than the one who usually "
                       "rides its item's delivery round (GET /rounds; the round's courier "
                       "must be in the plan) costs, in metres of distance: the stop stays "
                       "with the round's courier unless moving it shortens the day by "
                       "more, or that courier cannot take it. Only for stops no other rule "
                       "gives a courier (in a bag, assigned by hand or by a published "
                       f"plan). 0 to {routing.MAX_MOVE_COST_M}; default "
                       f"{DEFAULT_ROUND_COST_M}; 0: rounds are ignored. The result's "
                       "`rounds` says how many stayed"})

    @validates_schema
    def _shift(self, data: dict[str, Any], **_: Any) -> None:
        if data["shift_end_s"] <= data["shift_start_s"]:
            raise ValidationError("The shift must end after it starts.", "shift_end_s")

    @validates_schema
    def _move_cost_rebalances(self, data: dict[str, Any], **_: Any) -> None:
        if "move_cost_m" in data and data["keep_assignments"]:
            raise ValidationError("Only a rebalancing plan (keep_assignments false) moves "
                                  "parcels given out, at a cost.", "move_cost_m")


def IsoTime(**kw: Any) -> fields.String:  # noqa: N802 - a field factory
    """A time a plan's result stores as ISO 8601 text (Viet Nam time), answered as
    stored: documented as a date-time, dumped as the text it is (``AwareDateTime``
    would want a ``datetime``)."""
    metadata = {"format": "date-time", **kw.pop("metadata", {})}
    return fields.String(metadata=metadata, **kw)


class RouteIssueSchema(Schema):
    """One constraint a route of a plan breaks (docs/api.md, "Route issues"): a ``code``
    and its numbers; which fields come depends on the code."""

    code = fields.String(required=True, metadata={
        "description": "over_parcels, over_weight, late_stop (one per late stop) or "
                       "shift_overrun; new codes may be added"})
    parcels = fields.Integer(metadata={"description": "over_parcels: parcels on the route"})
    capacity = fields.Integer(metadata={"description": "over_parcels: parcels the vehicle "
                                        "takes"})
    excess = fields.Integer(metadata={"description": "over_parcels: parcels too many"})
    weight_g = fields.Integer(metadata={"description": "over_weight: the route's load (g)"})
    capacity_g = fields.Integer(metadata={"description": "over_weight: what the vehicle "
                                          "takes (g)"})
    excess_g = fields.Integer(metadata={"description": "over_weight: grams too many"})
    identifier = fields.String(metadata={"description": "late_stop: the item"})
    sequence = fields.Integer(metadata={"description": "late_stop: its place on the route"})
    eta = IsoTime(metadata={"description": "late_stop: when it is served"})
    window_end = IsoTime(metadata={"description": "late_stop: when its delivery window "
                                   "closes"})
    end = IsoTime(metadata={"description": "shift_overrun: when the route ends"})
    shift_end = IsoTime(metadata={"description": "shift_overrun: when the shift ends"})
    late_s = fields.Integer(metadata={"description": "late_stop, shift_overrun: seconds late"})


ISSUES_DOC = {"type": "array", "items": {"$ref": "#/components/schemas/RouteIssue"},
              "description": "What the route breaks, [] when nothing"}

ACCEPTED_DOC = {"type": ["object", "null"], "properties": {
    "by": {"type": "string", "description": "the dispatcher's username"},
    "at": {"type": "string", "format": "date-time"}},
    "description": "Who published the plan with its routes' issues accepted, and when "
                   "(on a route: null when it had none; absent on plans published "
                   "without issues)"}

#: how a plan's result looks (documentation: the result is stored JSON, dumped as is)
RESULT_DOC = {
    "feasible": {"type": "boolean", "description": "false when a route has issues"},
    "distance_m": {"type": "integer"},
    "routes": {"type": "array", "items": {"type": "object", "properties": {
        "courier_id": {"type": "integer"},
        "distance_m": {"type": "integer"}, "duration_s": {"type": "integer"},
        "parcels": {"type": "integer"}, "weight_g": {"type": "integer"},
        "lateness_s": {"type": "integer"},
        "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "start_location": {"type": "object", "description": (
            "Where the route starts: the office, or where the courier stood (out on "
            "the road when the plan was made, or when it was re-optimised)"),
            "properties": {"lat": {"type": "number"}, "lon": {"type": "number"}}},
        "office_visit": {"type": ["object", "null"], "description": (
            "A route starting away from the office with parcels still there: the "
            "courier passes by the office to load them before stop before_sequence; "
            "null (or absent) when every parcel ahead is on board"), "properties": {
                "before_sequence": {"type": "integer"},
                "arrival": {"type": "string", "format": "date-time"},
                "departure": {"type": "string", "format": "date-time"}}},
        "reoptimized_at": {"type": "string", "format": "date-time", "description": (
            "When the courier last re-optimised the route; absent if never")},
        "stops": {"type": "array", "items": {"type": "object"},
                  "description": "In visiting order: sequence, identifier, lat, lon, eta, "
                                 "arrival_s, wait_s, lateness_s, load_parcels (after a "
                                 "re-optimisation also done or unplaced, as on the "
                                 "courier's route; unplaced also on a published route: "
                                 "a parcel in its courier's bag the plan could not "
                                 "route)"},
        "issues": ISSUES_DOC,
        "issues_accepted": ACCEPTED_DOC,
        "previous_stops": {"type": ["integer", "null"], "description": (
            "Stops of this plan that were on the courier's route in force when the plan "
            "was made; null when they had none")},
        "kept_from_previous": {"type": ["integer", "null"], "description": (
            "How many of this route's stops were on the courier's route in force when "
            "the plan was made; null when they had none")}}}},
    "issues_accepted": ACCEPTED_DOC,
    "warm_start": {"type": ["object", "null"], "description": (
        "What the optimisation started from: null for a cold start (asked for, or "
        "nothing to start from; plans made before warm starts say nothing)"),
        "properties": {"plan_ids": {"type": "array", "items": {"type": "integer"},
                                    "description": "The plans whose routes it started from"},
                       "stops": {"type": "integer",
                                 "description": "Stops on the routes it started from"}}},
    "stability": {"type": ["object", "null"], "description": (
        "How much the plan changes the day: of the plan's stops that were on its "
        "couriers' routes in force when it was made, how many are kept on their courier's "
        "route, moved to another courier's, or unassigned; null when none of its couriers "
        "had a route in force (plans made before the figures say nothing). They follow an "
        "edit"), "properties": {
            "previous_stops": {"type": "integer"}, "kept": {"type": "integer"},
            "moved": {"type": "integer"}, "unassigned": {"type": "integer"}}},
    "move_cost_m": {"type": ["integer", "null"], "description": (
        "A rebalancing plan (keep_assignments false): what moving a parcel a published "
        "plan gave a courier to another courier cost in the optimisation (m); null for a "
        "plan that moves nothing given out")},
    "rounds": {"type": ["object", "null"], "description": (
        "The stops that preferred their delivery round's courier (round_cost_m above 0, "
        "the round's courier in the plan, no other rule giving the stop a courier): how "
        "many are on that courier's route, on another courier's, or unassigned, and the "
        "round_cost_m each move cost in the optimisation; null for plans made before "
        "rounds. They follow an edit"), "properties": {
            "round_cost_m": {"type": "integer"}, "stops": {"type": "integer"},
            "on_round_courier": {"type": "integer"}, "another_courier": {"type": "integer"},
            "unassigned": {"type": "integer"}}},
    "unassigned": {"type": "array", "items": {"type": "object", "properties": {
        "identifier": {"type": "string"}, "reason": {"type": "string"},
        "message": {"type": "string"}}}},
    "not_handed_over": {
        "type": "array", "description": (
            "Once published: the routed items publishing did not hand over (no longer to "
            "deliver, in another courier's bag, failed with a courier the plan did not pin "
            "them to, assigned by hand to another courier since, or due on a later day), "
            "taken off their routes; [] when none"),
        "items": {"type": "object", "properties": {
            "identifier": {"type": "string"}, "reason": {"type": "string"},
            "message": {"type": "string"}}}},
}


class PlanSchema(Schema):
    id = fields.Integer()
    office_id = fields.Integer()
    service_date = fields.Date()
    status = fields.Enum(PlanStatus, by_value=True)
    progress = fields.Float(metadata={"description": "0 to 1"})
    best_cost = fields.Float(allow_none=True, metadata={"description": (
        "While the plan runs: the solver's best objective so far, the distance (m) plus a "
        "penalty for each stop it leaves unserved (more than any detour, so it can be "
        "far above the routes' distance and drop when the stop is served) and, in a "
        "rebalancing plan, move_cost_m for each parcel moved off its courier, null until "
        "a feasible plan is known. Once the plan has succeeded or is edited: the routes' "
        "total distance (m)")})
    time_limit_s = fields.Float()
    created_at = fields.AwareDateTime()
    started_at = fields.AwareDateTime(allow_none=True)
    finished_at = fields.AwareDateTime(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)
    error = fields.String(allow_none=True)
    stops = fields.Method("_stops", metadata={"type": "integer"})
    couriers = fields.Method("_couriers", metadata={"type": "integer"})
    result = fields.Dict(allow_none=True, metadata={
        "description": "routes (ordered stops with ETA per courier, and what each breaks: "
                       "issues), unassigned stops with a reason, and whether every route "
                       "is feasible", "properties": RESULT_DOC})

    def _stops(self, plan: Any) -> int:
        return len(plan.problem.get("stops", []))

    def _couriers(self, plan: Any) -> int:
        return len(plan.problem.get("couriers", []))


class IssuesAcceptedSchema(Schema):
    by = fields.String(metadata={"description": "The dispatcher's username"})
    at = IsoTime()


class UnplacedSchema(Schema):
    reason = fields.String(metadata={"description": "Why, as a plan's unassigned stops say "
                                     "(e.g. no_time_left)"})
    message = fields.String()


class CourierStopSchema(Schema):
    """A stop of a courier's route (:func:`service.courier_route`): the plan's stop as
    stored, with the item as it is now. Dumped through this schema, so every key the
    service gives a stop must be named here (a test compares the two)."""

    sequence = fields.Integer(metadata={"description": "Place on the route, from 1"})
    identifier = fields.String()
    lat = fields.Float()
    lon = fields.Float()
    eta = IsoTime(allow_none=True, metadata={
        "description": "When the courier is due to serve it; null for an unplaced stop"})
    arrival_s = fields.Integer(allow_none=True, metadata={
        "description": "Seconds after midnight the courier gets there (null: unplaced)"})
    wait_s = fields.Integer(allow_none=True, metadata={
        "description": "Seconds waiting for the delivery window to open"})
    lateness_s = fields.Integer(allow_none=True, metadata={
        "description": "Seconds after the window closes it is served (0: on time)"})
    load_parcels = fields.Integer(allow_none=True, metadata={
        "description": "Parcels on board on arrival; null for a stop a plan left unplaced"})
    status = fields.String(allow_none=True, metadata={
        "description": "The item's current status; null when it is no longer yours"})
    recipient_address = fields.String(allow_none=True, metadata={
        "description": "null when the item is no longer yours"})
    cod_amount = fields.Integer(allow_none=True, metadata={
        "description": "Cash to collect (VND); null when the item is no longer yours"})
    still_yours = fields.Boolean(metadata={
        "description": "false: the item was given to someone else or to nobody since the "
                       "route was published"})
    done = fields.Boolean(metadata={
        "description": "After a re-optimisation: true on a stop done before it (delivered, "
                       "failed on the route's day, held, or no longer yours), left in place; "
                       "absent on the others, and taken off once the parcel is yours to "
                       "deliver again (failed, then sent out again)"})
    unplaced = fields.Nested(UnplacedSchema, metadata={
        "description": "After a re-optimisation or a re-plan: a stop the new route could "
                       "not fit (a window already closed, the shift over), still yours (in "
                       "your bag, for a re-plan), kept after the planned ones without an "
                       "ETA; absent on the others"})


class OfficeVisitSchema(Schema):
    before_sequence = fields.Integer(metadata={
        "description": "The stop the courier goes to after the office"})
    arrival = IsoTime(metadata={"description": "When the courier is due at the office"})
    departure = IsoTime(metadata={"description": "When they leave it, loaded"})


class OffRouteSchema(Schema):
    identifier = fields.String()
    status = fields.String()
    recipient_address = fields.String(allow_none=True)
    cod_amount = fields.Integer()
    reason = fields.String(metadata={
        "description": "The plan's reason when it left the parcel out (e.g. "
                       "`no_coordinates`, `window_not_on_this_day`); else "
                       "`no_coordinates` (nothing to route it by) or `not_in_plan` (taken "
                       "out since the route was published: a dispatcher's re-plan puts it "
                       "on the route)"})


class CourierRouteSchema(Schema):
    """A courier's published route for a day (GET /couriers/me/route, and the answer
    of a re-optimisation): docs/api.md."""

    plan_id = fields.Integer(metadata={"description": "The published plan it comes from"})
    date = fields.String(metadata={"format": "date", "description": "The route's day"})
    distance_m = fields.Integer(metadata={
        "description": "Metres; after a re-optimisation, of the stops still ahead from "
                       "where it was re-planned"})
    start = IsoTime(metadata={"description": "When the route starts (after a "
                              "re-optimisation: when it was re-planned)"})
    end = IsoTime(metadata={"description": "When the courier is back at the office"})
    stops = fields.List(fields.Nested(CourierStopSchema), metadata={
        "description": "In visiting order: after a re-optimisation the done stops first, "
                       "then the new order, then the unplaced ones"})
    off_route = fields.List(fields.Nested(OffRouteSchema), metadata={
        "description": "The courier's parcels out for delivery (in their bag) on no stop "
                       "of the route, by identifier; [] when none, and on another day's "
                       "route"})
    issues = fields.List(fields.Nested(RouteIssueSchema), metadata={
        "description": "What the route breaks (docs/api.md, \"Route issues\"), [] when "
                       "nothing; after a re-optimisation, the new route's"})
    issues_accepted = fields.Nested(IssuesAcceptedSchema, allow_none=True, metadata={
        "description": "Who published the route with its issues, and when; null when it "
                       "was published without any"})
    office_visit = fields.Nested(OfficeVisitSchema, allow_none=True, metadata={
        "description": "After a re-optimisation away from the office with parcels of the "
                       "route still there (not taken out): the courier passes by the "
                       "office to load them before stop `before_sequence`; null when "
                       "every parcel ahead is on board"})


class RouteQuerySchema(Schema):
    date = Day(metadata={"description": "Default: today in Viet Nam"})


class ReoptimizeSchema(Schema):
    date = Day(metadata={"description": "Default: today in Viet Nam"})
    location = fields.Nested(LocationSchema, required=True)
    keep_next = fields.String(allow_none=True, validate=validate.Length(max=60),
                              metadata={"description": "The stop the courier is heading to "
                                        "stays first"})


class RouteEditSchema(Schema):
    courier_id = Id(required=True)
    identifiers = fields.List(fields.String(validate=validate.Length(min=1, max=60)),
                              required=True, validate=validate.Length(max=2000),
                              metadata={"description": "Stops in visiting order"})


class PlanEditSchema(Schema):
    routes = fields.List(fields.Nested(RouteEditSchema), required=True,
                         validate=validate.Length(max=100),
                         metadata={"description": "Every courier's stops in the new order; "
                                   "stops left out become unassigned"})

    @validates_schema
    def _one_route_per_courier(self, data: dict[str, Any], **_: Any) -> None:
        seen: set[int] = set()
        for n, route in enumerate(data["routes"]):
            if route["courier_id"] in seen:  # a dict by courier would keep only the last
                raise ValidationError({"routes": {n: {"courier_id": [
                    "Already given a route above."]}}})
            seen.add(route["courier_id"])


class PlanPublishSchema(Schema):
    accept_issues = JSONBool(load_default=False, metadata={
        "description": "Publish even though routes have issues (over capacity, late stops, "
                       "past the shift's end): the dispatcher has seen them. Without it such "
                       "a plan is a 409 plan-infeasible; who accepted them, and when, is "
                       "kept in the result (issues_accepted)"})


class RouteIssuesSchema(Schema):
    courier_id = fields.Integer(required=True)
    issues = fields.List(fields.Nested(RouteIssueSchema), required=True)


class PlanPublishConflictSchema(ProblemSchema):
    """409 problem details of a publish: the extension members of each type."""

    current_status = fields.String(metadata={"description": "plan-not-ready: the plan's "
                                             "status"})
    courier_ids = fields.List(fields.Integer(), metadata={
        "description": "courier-unavailable: couriers no longer active at the office"})
    routes = fields.List(fields.Nested(RouteIssuesSchema), metadata={
        "description": "plan-infeasible: each route that has issues, with them"})
