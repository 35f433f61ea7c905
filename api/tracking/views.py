from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Response, make_response, redirect, render_template, request, url_for
from flask.views import MethodView

from models import db

from ..auth import PUBLIC, clock
from ..errors import NotFound, Unprocessable
from ..jsonbody import Blueprint
from ..localtime import LOCAL_TZ, local_day
from ..ratelimit import cfg, item_number_key, limiter
from . import labels, service
from .schemas import PublicTrackingSchema, TrackQuerySchema

api_blp = Blueprint("tracking", __name__, url_prefix="/api/v1",
                    description="Public tracking (no login)")
page_bp = FlaskBlueprint("track_page", __name__)


@page_bp.after_request
def _headers(resp: Response) -> Response:
    """The public page cannot be framed (it carries the complaint form), sniffed or
    made to load anything from elsewhere; it has no script at all."""
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
    return resp


@api_blp.route("/track/<string:number>")
class Track(MethodView):
    @api_blp.doc(security=PUBLIC)
    @api_blp.arguments(TrackQuerySchema, location="query")
    @api_blp.response(200, PublicTrackingSchema)
    @api_blp.alt_response(429, description="Too many lookups from this address; see "
                          "Retry-After")
    @limiter.shared_limit(cfg("TRACKING_RATE_LIMIT"), "tracking")
    def get(self, q: dict[str, Any], number: str) -> dict[str, Any]:
        """Status and history of an item; no personal data."""
        return service.public_tracking(db.session(), number, q["lang"], now=clock())


def _lang() -> str:
    lang = request.args.get("lang", "vi")
    return lang if lang in labels.LANGS else "vi"


def _ui(lang: str) -> dict[str, str]:
    return {k: labels.label(labels.UI, k, lang) or k for k in labels.UI}


@page_bp.get("/track")
def track_form() -> Any:
    number = request.args.get("number", "").strip()
    lang = _lang()
    if number and ("/" in number or not number.strip(".")):
        # no item number has a slash (a pasted link), and "." or ".." is a path step: the
        # page at /track/{number} cannot be that, and the customer got a bare 404
        return make_response(render_template(
            "track.html", lang=lang, ui=_ui(lang), result=None, error="invalid",
            number=number[:60]), 422)
    if number:
        return redirect(url_for("track_page.track_page", number=number[:60], lang=lang))
    return render_template("track.html", lang=lang, ui=_ui(lang), result=None, error=None,
                           number="")




def _complaint_ui(lang: str) -> dict[str, Any]:
    from ..console.labels import COMPLAINT_CATEGORY, PUBLIC_COMPLAINT, table

    return {"pc": table(PUBLIC_COMPLAINT, lang), "categories": table(COMPLAINT_CATEGORY, lang)}


def _typed() -> dict[str, str]:
    """What the complaint form sent, as the fields hold at most (a refused form is shown
    again with it: the customer had to type their complaint again)."""
    return {"phone": request.form.get("phone", "")[:20],
            "category": request.form.get("category", "")[:40],
            "description": request.form.get("description", "")[:2000]}


def _render(number: str, lang: str, *, complaint: Any = None, complaint_error: str | None = None,
            status: int | None = None, typed: dict[str, str] | None = None) -> Response:
    result, error, code, now = None, None, 200, clock()
    try:
        result = service.public_tracking(db.session(), number, lang, now=now)
    except NotFound:
        error, code = "not_found", 404
    except Unprocessable:
        error, code = "invalid", 422
    # the day as the page shows its other dates (the JSON has it as an ISO date)
    next_attempt = (date.fromisoformat(result["next_attempt_on"]).strftime("%d/%m/%Y")
                    if result and result["next_attempt_on"] else None)
    collect = (date.fromisoformat(result["collect_by"]) if result and result["collect_by"]
               else None)
    expected = result and result["expected_delivery"]
    window = (f"{expected['from']:%H:%M}–{expected['to']:%H:%M}" if expected else None)
    return make_response(render_template(
        "track.html", lang=lang, ui=_ui(lang), result=result, error=error, number=number[:60],
        next_attempt=next_attempt,
        collect_by=collect.strftime("%d/%m/%Y") if collect else None,
        collection_over=collect is not None and collect < local_day(now),
        expected_window=window, complaint=complaint,
        complaint_error=complaint_error, typed=typed or {},
        **_complaint_ui(lang),
        complaint_due=complaint.due_at.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")
        if complaint else None),
        status or code)


def _page_limited(_limit: Any) -> Response:
    """A rate-limited lookup on the page: the page, saying so (429)."""
    lang = _lang()
    number = str((request.view_args or {}).get("number", ""))[:60]
    return make_response(render_template(
        "track.html", lang=lang, ui=_ui(lang), result=None, error="rate_limited",
        number=number, complaint=None, complaint_error=None, typed={}, **_complaint_ui(lang),
        complaint_due=None), 429)


def _lookup_counted() -> bool:
    """Whether this request was counted as a tracking lookup, within the limit: the
    limiter stops at the first limit breached (the shortest window first), so a
    complaint limit of a shorter window than the lookups' can refuse a form before its
    lookup was counted."""
    return any(rl.request_args[-1:] == ["tracking"] and not rl.breached
               for rl in limiter.current_limits)


def _complaint_limited(_limit: Any) -> Response:
    """A rate-limited complaint form: the item's page with the form saying so (429),
    when the page's lookup was counted (else the page without the item, as a lookup
    past its limit: the form refused showed the history of any item, uncounted)."""
    if not _lookup_counted():
        return _page_limited(_limit)
    number = str((request.view_args or {}).get("number", ""))
    resp = _render(number, _lang(), complaint_error="rate_limited", status=429, typed=_typed())
    resp.headers["Cache-Control"] = "no-store"
    return resp


@page_bp.get("/track/<string:number>")
@limiter.shared_limit(cfg("TRACKING_RATE_LIMIT"), "tracking", on_breach=_page_limited)
def track_page(number: str) -> Response:
    resp = _render(number, _lang())
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp


@page_bp.post("/track/<string:number>/complaint")
@limiter.shared_limit(cfg("COMPLAINT_LIMIT_IP"), "complaint-ip", on_breach=_complaint_limited)
@limiter.shared_limit(cfg("COMPLAINT_LIMIT_ITEM"), "complaint-item", key_func=item_number_key,
                      on_breach=_complaint_limited)
# the answer is the item's page, its history included: a lookup, counted with the
# page's and the JSON's
@limiter.shared_limit(cfg("TRACKING_RATE_LIMIT"), "tracking", on_breach=_page_limited)
def track_complaint(number: str) -> Response:
    """The page's complaint form (works without JavaScript): the same service as
    POST /api/v1/track/{number}/complaints; the answer shows the case reference (and
    the item's page: a lookup, counted as one)."""
    from marshmallow import ValidationError

    from ..complaints.schemas import PublicComplaintSchema
    from ..complaints.service import open_public
    from ..errors import Forbidden

    lang = _lang()
    complaint, problem, status = None, None, None
    try:
        data = PublicComplaintSchema().load({k: request.form.get(k, "") for k in
                                             ("phone", "category", "description")})
        complaint = open_public(db.session(), number, data["phone"], data["category"],
                                data["description"], now=clock())
        db.session.commit()
        status = 201
    except ValidationError:
        problem, status = "invalid", 422
    except (Forbidden, Unprocessable):
        db.session.rollback()
        problem, status = "not_verified", 403
    resp = _render(number, lang, complaint=complaint, complaint_error=problem, status=status,
                   typed=_typed() if problem else None)
    resp.headers["Cache-Control"] = "no-store"
    return resp
