from __future__ import annotations

from typing import Any

from flask import Blueprint as FlaskBlueprint
from flask import Response, make_response, redirect, render_template, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint

from models import db

from ..auth import PUBLIC
from ..errors import NotFound, Unprocessable
from . import labels, service
from .schemas import PublicTrackingSchema, TrackQuerySchema

api_blp = Blueprint("tracking", __name__, url_prefix="/api/v1",
                    description="Public tracking (no login)")
page_bp = FlaskBlueprint("track_page", __name__)


@api_blp.route("/track/<string:number>")
class Track(MethodView):
    @api_blp.doc(security=PUBLIC)
    @api_blp.arguments(TrackQuerySchema, location="query")
    @api_blp.response(200, PublicTrackingSchema)
    def get(self, q: dict[str, Any], number: str) -> dict[str, Any]:
        """Status and history of an item; no personal data."""
        return service.public_tracking(db.session, number, q["lang"])


def _lang() -> str:
    lang = request.args.get("lang", "vi")
    return lang if lang in labels.LANGS else "vi"


def _ui(lang: str) -> dict[str, str]:
    return {k: labels.label(labels.UI, k, lang) or k for k in labels.UI}


@page_bp.get("/track")
def track_form() -> Any:
    number = request.args.get("number", "").strip()
    lang = _lang()
    if number:
        return redirect(url_for("track_page.track_page", number=number[:60], lang=lang))
    return render_template("track.html", lang=lang, ui=_ui(lang), result=None, error=None,
                           number="")


@page_bp.get("/track/<string:number>")
def track_page(number: str) -> Response:
    lang = _lang()
    result, error, status = None, None, 200
    try:
        result = service.public_tracking(db.session, number, lang)
    except NotFound:
        error, status = "not_found", 404
    except Unprocessable:
        error, status = "invalid", 422
    resp = make_response(render_template("track.html", lang=lang, ui=_ui(lang), result=result,
                                         error=error, number=number[:60]), status)
    resp.headers["Cache-Control"] = "public, max-age=60"
    return resp
