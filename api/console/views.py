"""Console pages (Jinja) and the JSON endpoints behind the map, planning and polling.

Every view gets the user from the console session and calls the same services as the
API, passing session, actor, data and ``now`` explicitly."""

from __future__ import annotations

import math
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import unquote, urlsplit

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_file,
    send_from_directory,
    session,
    url_for,
)
from marshmallow import Schema, ValidationError, validate
from sqlalchemy import select
from sqlalchemy.orm import lazyload
from werkzeug.exceptions import HTTPException

import routing
from models import (
    Complaint,
    ComplaintStatus,
    CourierPosition,
    EventCode,
    Evidence,
    Item,
    Office,
    PayoutStatus,
    PayoutTask,
    PlanStatus,
    Role,
    RoutePlan,
    Status,
    User,
    db,
)
from models.complaint import CLOSED
from models.user import find_for_login, verify_dummy_password

from .. import jobs
from ..auth import clock
from ..cash import service as cash
from ..complaints import quality
from ..complaints import service as complaints
from ..complaints.schemas import ComplaintCreateSchema, ComplaintUpdateSchema
from ..devicetime import ping_clock_time
from ..errors import (
    Forbidden,
    NotFound,
    Problem,
    Unauthorized,
    Unprocessable,
    error_words,
    html_error,
    problem_response,
    wants_html,
)
from ..errors import validation_pointers as pointers
from ..evidence import cited_by_office
from ..items import custody
from ..items import service as items
from ..items.schemas import (
    Day,
    Id,
    Int,
    ItemImportRowSchema,
    RecipientRequestCreateSchema,
    TextBool,
)
from ..localtime import LOCAL_TZ, local_day
from ..outcomes import service as outcomes
from ..payouts import service as payouts
from ..payouts.schemas import PayoutAssignSchema, PayoutCreateSchema, PayoutFailSchema
from ..ratelimit import cfg, client_address, failed_login, limiter, login_username
from ..remittance import service as remittance
from ..remittance.schemas import PaySchema, StatementCreateSchema
from ..route_plans import service as plans
from ..route_plans.eta import expected_delivery
from ..route_plans.schemas import PlanCreateSchema, PlanEditSchema, PlanPublishSchema
from ..sync import service as sync
from ..tokens.schemas import MAX_PASSWORD, MAX_USERNAME
from . import labels, refusals, security

HERE = Path(__file__).resolve().parent
ACTIVE = (Status.AT_DELIVERY_OFFICE, Status.HELD_AT_OFFICE, Status.DELIVERY_FAILED,
          Status.OUT_FOR_DELIVERY)
# Colours of courier rounds on the map (unassigned items are grey)
PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4", "#f032e6",
           "#9a6324", "#469990", "#800000", "#808000", "#000075"]
# npm files the console serves (api/console/assets/node_modules), by public name
VENDOR = {"leaflet.js": "leaflet/dist/leaflet.js", "leaflet.css": "leaflet/dist/leaflet.css",
          "chart.js": "chart.js/dist/chart.umd.min.js"}
PUBLIC_ENDPOINTS = {"console.static", "console.vendor", "console.login", "console.set_lang"}

bp = Blueprint("console", __name__, url_prefix="/console", template_folder="templates",
               static_folder="static")


# ------------------------------------------------------------------ plumbing

# The page language is a cookie of its own, not a session key. Every answer that
# changes the session (a user action records its time) re-sends the whole session
# cookie, so a request still in flight when the user switched language answered with
# the session as it was and switched the language back.
LANG_COOKIE = "postal_lang"
LANG_COOKIE_DAYS = 365


def lang() -> str:
    value = request.cookies.get(LANG_COOKIE, "vi")
    return value if value in labels.LANGS else "vi"


def t(key: str) -> str:
    return labels.label(labels.UI, key, lang()) or key


def _is_json() -> bool:
    return request.path.startswith("/console/api/")


def _page_error(status: int, key: str) -> Response:
    resp = Response(render_template("console/error.html", message=t(key), status=status),
                    status=status)
    return resp


def _tile_origin() -> str:
    parts = urlsplit(current_app.config["CONSOLE_TILE_URL"])
    host = parts.netloc.replace("{s}", "*")
    return f"{parts.scheme}://{host}" if parts.scheme and host else ""


@bp.before_request
def _csrf() -> Response | None:
    if request.endpoint in ("console.static", "console.vendor"):
        return None
    if request.method in security.UNSAFE and not security.csrf_ok():
        if _is_json():
            raise Problem("The CSRF token is missing or wrong; reload the page.",
                          status=400, slug="csrf-failed", title="CSRF check failed")
        return _page_error(400, "csrf_failed")
    return None


@bp.after_request
def _headers(resp: Response) -> Response:
    if request.endpoint in ("console.static", "console.vendor"):
        resp.headers["Cache-Control"] = "public, max-age=3600"
    else:
        resp.headers["Cache-Control"] = "no-store"
        resp.headers["Pragma"] = "no-cache"
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["Content-Security-Policy"] = (
        f"default-src 'self'; img-src 'self' data: blob: {_tile_origin()}; "
        "style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; "
        "frame-ancestors 'none'; base-uri 'self'; form-action 'self'")
    return resp


@bp.app_template_filter("vn")
def _vn(value: datetime | str | None, fmt: str = "%d/%m/%Y %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(LOCAL_TZ).strftime(fmt)


@bp.app_template_filter("collect_by")
def _collect_by(item: Any) -> str:
    """The last day an item awaiting collection is held for its recipient (dd/mm/yyyy;
    empty for any other item)."""
    day = items.collect_by(item)
    return day.strftime("%d/%m/%Y") if day is not None else ""


@bp.app_template_filter("vnd")
def _vnd(value: int | None) -> str:
    return "" if value is None else f"{value:,}".replace(",", ".") + " ₫"


def _refusal(exc: ValidationError | Problem) -> str:
    """What a refused form is told, in the page's language: each field's messages, or
    the problem's (api/console/refusals.py)."""
    return refusals.refusal(exc, lang())


SchemaT = TypeVar("SchemaT", bound=Schema)


def _form(schema: SchemaT) -> SchemaT:
    """A form's schema (a new instance), its fields' messages in the page's language."""
    return refusals.localized(schema) if lang() == "vi" else schema


@bp.errorhandler(Problem)
def _problem(exc: Problem) -> Response:
    """A console request refused (a page's bad ``?date=``, a plan action, a JSON call's
    CSRF check): answered as the app answers it (api/errors.py), its words in the page's
    language; ``type`` and every other member as they are."""
    said = _refusal(exc)
    if wants_html():
        if lang() == "en":
            return html_error(exc.status, exc.title, said, exc.headers)
        return html_error(exc.status, t("error"), said, exc.headers, lang=lang())
    extensions = exc.extensions
    if lang() == "vi" and exc.reasons:
        extensions = {**extensions, "errors": _errors_worded(
            extensions.get("errors") or [], exc.reasons)}
    resp = problem_response(exc.status, exc.title, said, slug=exc.slug,
                            headers=exc.headers, **extensions)
    resp.headers["Content-Language"] = lang()
    return resp


def _errors_worded(errors: list[Any], reasons: list[Mapping[str, Any]]) -> list[Any]:
    """A problem's ``errors`` with each one's ``detail`` in Vietnamese by its reason
    (``Problem.reasons``: an edit's mistakes, :data:`labels.EDIT_MISTAKE`), a courier by
    their name; one whose reason has no words as it is."""
    names: dict[int, str] = {}

    def courier_name(user_id: int) -> str:
        if user_id not in names:
            u = db.session.get(User, user_id)
            names[user_id] = (u.full_name or u.username) if u is not None else f"#{user_id}"
        return names[user_id]

    return [{**e, "detail": said} if isinstance(e, Mapping) and (
        said := refusals.reason_text(reason, courier_name)) else e
        for e, reason in zip(errors, reasons, strict=False)] + errors[len(reasons):]


def _app_error_words(status: int, slug: str | None, title: str, detail: str
                     ) -> tuple[str, str, str] | None:
    """An error the app answers by itself (api/errors.py: a console URL not found, a
    body that is not JSON, the database unreachable, a routing problem over the
    library's limits, a 500...) on a console request: said in the page's language, as
    the console's own refusals; an English page (and every other request) as the app
    says it."""
    path = request.path
    if not (path == "/console" or path.startswith("/console/")) or lang() != "vi":
        return None
    return t("error"), refusals.app_error_text(status, slug), "vi"


bp.record_once(lambda state: error_words(state.app, _app_error_words))


def _this_page() -> str:
    """The address of the page asked for (GET), with its query, as the browser has it:
    under a path prefix (``SCRIPT_NAME``) too, which ``request.full_path`` leaves out."""
    return request.script_root + request.full_path.rstrip("?")


def _here() -> str:
    """Where the language switch comes back to: the page shown; for a page answering a
    form (a POST: a refused payout form, an import), its address if that is a page too,
    else the map (``/console/payouts/7/assign`` has no GET: a 405)."""
    if request.method == "GET":
        return _this_page()
    return (request.script_root + request.path if _is_page(request.path)
            else url_for("console.index"))


def _is_page(path: str) -> bool:
    """Whether ``path`` answers a GET (``/console/payouts/7/assign`` does not: a 405)."""
    adapter = current_app.create_url_adapter(request)
    try:
        if adapter is None:
            raise LookupError
        adapter.match(path, method="GET")
    except (HTTPException, LookupError):
        return False
    return True


@bp.context_processor
def _context() -> dict[str, Any]:
    lg = lang()
    user = request.environ.get(security._CACHE)
    return {"lang": lg, "t": t, "csrf_token": security.csrf_token, "user": user,
            "here": _here,
            "L": lambda table, key: labels.label(getattr(labels, table), key, lg),
            "confirmation": outcomes.confirmation,
            "labels": labels}


def _today() -> date:
    return clock().astimezone(LOCAL_TZ).date()


def _day_arg(name: str = "date") -> date:
    raw = request.args.get(name)
    if not raw:
        return _today()
    try:
        day: date = Day().deserialize(raw)  # the API's days: ISO, 2000-2099
    except ValidationError as exc:
        detail = " ".join(exc.messages) if isinstance(exc.messages, list) else str(exc)
        raise Unprocessable(f"{name}: {detail}", errors=[
            {"parameter": name, "detail": detail}]) from exc
    return day


#: the highest ``?page=`` a list takes, as the API's paged lists (``page``, 1-based)
MAX_PAGE = 100_000
T = TypeVar("T")


def _page_arg(name: str = "page") -> int:
    """``?page=`` (1 by default): a whole number from 1 to :data:`MAX_PAGE`, else a 422
    page. A page past the last is not an error: :func:`_paged` shows the last."""
    raw = request.args.get(name)
    if not raw:
        return 1
    try:
        number: int = Int(validate=validate.Range(1, MAX_PAGE)).deserialize(raw)
    except ValidationError as exc:
        detail = f"A page number from 1 to {MAX_PAGE}."
        raise Unprocessable(f"{name}: {detail}", errors=[
            {"parameter": name, "detail": detail}]) from exc
    return number


def _flag_arg(name: str) -> bool:
    """``?name=``, a yes or no in the words the API's query parameters take
    (:class:`TextBool`: ``1``, ``true``, ``yes``…); left out or empty, no; anything else a
    422 page (only ``1`` was read: ``?overdue=true``, as the API writes it, showed the
    whole queue as if it were the overdue cases)."""
    raw = request.args.get(name)
    if not raw:
        return False
    try:
        flag: bool = TextBool().deserialize(raw)
    except ValidationError as exc:
        detail = " ".join(exc.messages) if isinstance(exc.messages, list) else str(exc)
        raise Unprocessable(f"{name}: {detail}", errors=[
            {"parameter": name, "detail": detail}]) from exc
    return flag


class Pager(NamedTuple):
    """Where a page is in its list, for the ``pager_nav`` macro (``_macros.html``): page ``page`` of
    ``pages``, rows ``first`` to ``last`` (1-based) of ``total``, and the links to the
    pages before and after (None at either end), which keep the list's filters."""

    page: int
    pages: int
    total: int
    first: int
    last: int
    prev: str | None
    next: str | None


def _paged(fetch: Callable[[int, int], tuple[T, int]], page: int, size: int, *,
           endpoint: str, args: dict[str, Any], name: str = "page") -> tuple[T, Pager]:
    """One page of a list paged in the database: ``fetch(limit, offset)`` gives the
    page (its rows, or the service's answer) and how many rows in all. A page past the
    last (the list got shorter, a link kept from before) shows the last one. The links
    go to ``endpoint`` with ``args``, the query parameters they keep (the filters,
    another list's page on the same page), and ``name``, the page number (none: 1)."""
    rows, total = fetch(size, (page - 1) * size)
    pages = max(1, math.ceil(total / size))
    if page > pages:
        page = pages
        rows, total = fetch(size, (page - 1) * size)
        pages = max(1, math.ceil(total / size))

    def link(number: int) -> str:
        return url_for(endpoint, **{**args, **({name: number} if number > 1 else {})})

    return rows, Pager(page=page, pages=pages, total=total,
                       first=min(total, (page - 1) * size + 1), last=min(total, page * size),
                       prev=link(page - 1) if page > 1 else None,
                       next=link(page + 1) if page < pages else None)


def office_of(user: User) -> Office:
    """A dispatcher's office; for an admin, the office chosen in the header."""
    if user.role is Role.DISPATCHER:
        office = db.session.get(Office, user.office_id)
    else:
        oid = session.get("office_id")  # only ever a valid id (set_office)
        office = db.session.get(Office, oid) if oid else None
        office = office or db.session.execute(select(Office).order_by(Office.id)).scalar()
    if office is None:
        raise NotFound("No office yet: create one (or load the demo data).")
    return office


def _safe_next(target: str | None) -> str:
    """``target`` if it is a console address (under the app's path prefix, if any),
    else the map: a ``next`` never leads off the console."""
    if (target and target.startswith(f"{request.script_root}/console") and "//" not in target
            and "\\" not in target and not any(ord(c) < 32 or ord(c) == 127 for c in target)
            and not _dot_segments(target)):
        return target  # control characters (a line break) cannot go in a Location header
    return url_for("console.index")


def _dot_segments(target: str) -> bool:
    """Whether the path of ``target`` has a ``.`` or ``..`` segment (also written
    ``%2e``), which a browser resolves before following it: ``/console/../../x``
    starts as a console address and leads to ``/x``, the host's other apps."""
    path = target.split("?", 1)[0].split("#", 1)[0]
    return any(unquote(part) in (".", "..") for part in path.split("/"))


def _back_after_login() -> str:
    """Where logging in leads back to: the page asked for; for a form sent once the
    session had ended (a POST), the console page the form was on (its ``Referer``,
    same-origin by the ``Referrer-Policy``), else :func:`_here`. A form's own address
    may have no GET (``/console/cash/handover``): logging in led to a 405."""
    if request.method == "GET":
        return _this_page()
    ref = urlsplit(request.referrer or "")
    target = ref.path + (f"?{ref.query}" if ref.query else "")
    if (ref.netloc == request.host and _safe_next(target) == target
            and _is_page(ref.path.removeprefix(request.script_root))):
        return target  # (a refused form's answer is at the form's address: not that)
    return _here()


def page(fn: Callable[..., Any]) -> Callable[..., Any]:
    """An HTML page: logged in as a dispatcher or admin, else the login page or 403."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            user = security.current_user()
        except security.SessionEnded:
            flash(t("session_expired"), "warn")
            return redirect(url_for("console.login", next=_back_after_login()))
        if user is None:
            return redirect(url_for("console.login", next=_back_after_login()))
        if user.role not in security.STAFF:
            return _page_error(403, "couriers_refused")
        try:
            return fn(user, *args, **kwargs)
        except NotFound:  # a page about something that is not there (or not yours)
            db.session.rollback()
            return _page_error(404, "page_not_found")

    return wrapper


def endpoint(*, passive: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """A console JSON endpoint. ``passive``: background polling, which does not keep an
    idle session alive. Errors are problem details like the API's."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                user = security.current_user(activity=not passive)
            except security.SessionEnded:
                user = None
            if user is None:
                raise Unauthorized("Log in to the console first.", headers={})
            if user.role not in security.STAFF:
                raise Forbidden("The console is for dispatchers and admins.")
            return fn(user, *args, **kwargs)

        return wrapper

    return decorator


def _json_body() -> Any:
    """The request's JSON body, None when it has none. One that is not JSON, or JSON the
    app refuses (``api.jsonbody``: a key twice ...), is a 400 (a body of another type a
    415), where it was read as no body at all: a publish went ahead without the version
    check it asked for."""
    if not request.get_data(cache=True):
        return None
    return request.get_json()


def _load(schema: Any, data: Any) -> dict[str, Any]:
    try:
        out: dict[str, Any] = _form(schema).load(data or {})
    except ValidationError as exc:
        raise Unprocessable("Some fields are invalid; see errors.",
                            errors=pointers({"json": exc.messages})) from exc
    return out


# ------------------------------------------------------------------ assets

@bp.get("/vendor/<path:name>")
def vendor(name: str) -> Response:
    """Front-end libraries installed from npm (``make install``), never from a CDN."""
    root = Path(current_app.config.get("CONSOLE_ASSETS_DIR") or HERE / "assets" / "node_modules")
    if name in VENDOR:
        rel = VENDOR[name]
        return send_from_directory(root / os.path.dirname(rel), os.path.basename(rel),
                                   max_age=3600)
    if name.startswith("images/"):  # Leaflet's marker and layer icons, from leaflet.css
        return send_from_directory(root / "leaflet" / "dist", name, max_age=3600)
    raise NotFound(f"No front-end asset {name[:80]}.")


# ------------------------------------------------------------------ login

def _login_limited(_limit: Any) -> Response:
    resp = make_response(render_template("console/login.html", error="too_many_logins",
                                         next=request.values.get("next") or "",
                                         username=request.form.get("username", "")[:64]), 429)
    return _headers(resp)


@bp.route("/login", methods=["GET", "POST"])
# shared with POST /api/v1/auth/token: one budget of failures per name and address
@limiter.shared_limit(cfg("LOGIN_FAILURE_LIMIT_USER"), "login-user", key_func=login_username,
                      methods=["POST"], deduct_when=failed_login, on_breach=_login_limited)
@limiter.shared_limit(cfg("LOGIN_FAILURE_LIMIT_IP"), "login-ip", key_func=client_address,
                      methods=["POST"], deduct_when=failed_login, on_breach=_login_limited)
def login() -> Any:
    try:
        user = security.current_user()
    except security.SessionEnded:
        flash(t("session_expired"), "warn")
        user = None
    nxt = request.values.get("next")
    if user is not None and user.role in security.STAFF and request.method == "GET":
        return redirect(_safe_next(nxt))
    status, error = 200, None
    if request.method == "POST":
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        # (a NUL, which a multipart form may carry this far, finds no one). A name longer
        # than any account's, or a password longer than the API takes (a 422 there), is
        # nobody's: cut to size, "disp" with 60 blanks and anything after them logged in
        # as disp, each padding a name of its own to the per-name limit (it counts the
        # name as sent), and a 256-character password followed by anything was right
        fits = len(username) <= MAX_USERNAME and len(password) <= MAX_PASSWORD
        found = find_for_login(db.session(), username) if fits else None
        if found is None:
            verify_dummy_password(password[:MAX_PASSWORD])
        # the hash is checked before the empty password is refused: answered at once for
        # a known name only, an empty password told which names exist (an unknown one
        # costs the dummy check)
        if found is None or not found.check_password(password) or not password \
                or not found.active:
            status, error = 401, "bad_login"
        elif found.role not in security.STAFF:
            status, error = 403, "couriers_refused"
        else:
            db.session.commit()  # a password rehash, if any
            security.log_in(found)
            return redirect(_safe_next(nxt))
    return render_template("console/login.html", error=error, next=nxt or "",
                           username=request.form.get("username", "")[:64]), status


@bp.post("/logout")
def logout() -> Any:
    security.log_out()
    flash(t("logged_out"), "info")
    return redirect(url_for("console.login"))


@bp.post("/lang")
def set_lang() -> Any:
    value = request.form.get("lang", "vi")
    response = redirect(_safe_next(request.form.get("next")))
    response.set_cookie(LANG_COOKIE, value if value in labels.LANGS else "vi",
                        max_age=LANG_COOKIE_DAYS * 86400,
                        path=request.script_root + (bp.url_prefix or "/"),
                        secure=current_app.config["SESSION_COOKIE_SECURE"],
                        httponly=True, samesite="Lax")
    return response


@bp.post("/office")
@page
def set_office(user: User) -> Any:
    if user.role is Role.ADMIN:
        try:
            session["office_id"] = Id().deserialize(request.form.get("office_id", ""))
        except ValidationError:
            pass  # not an id: the office stays as it was
    return redirect(_safe_next(request.form.get("next")))


# ------------------------------------------------------------------ map and planning

def _couriers(office: Office) -> list[User]:
    return list(db.session.execute(select(User).where(
        User.office_id == office.id, User.role == Role.COURIER, User.active.is_(True)
    ).order_by(User.id)).scalars())


def _colours(office: Office, others: Sequence[User] = ()) -> dict[int, str]:
    """Each courier's colour on the map: by their place among all the office's couriers,
    deactivated ones too (so deactivating one changes no other's colour), then
    ``others`` (couriers moved to another office who still have a route here)."""
    ids = list(db.session.execute(select(User.id).where(
        User.office_id == office.id, User.role == Role.COURIER).order_by(User.id)).scalars())
    ids += [c.id for c in others if c.id not in set(ids)]
    return {cid: PALETTE[n % len(PALETTE)] for n, cid in enumerate(ids)}


def _former(active: list[User], ids: set[int]) -> list[User]:
    """Of the couriers ``ids`` (with a route in force, items, or a route in the day's
    latest plan), the ones
    no longer active couriers of the office (deactivated or moved since): their route
    stays in force until a plan replaces it, and their parcels are still in their name,
    so the map names them, in their colour, instead of drawing an anonymous grey
    line."""
    missing = ids - {c.id for c in active}
    if not missing:
        return []
    return list(db.session.execute(select(User).where(User.id.in_(missing))
                                   .order_by(User.id)).scalars())


def _inactive(office: Office, courier: User) -> str | None:
    """Why a courier on the day's map is not offered for planning: ``deactivated``,
    ``other_office``, or None (an active courier of the office)."""
    if not courier.active or courier.role is not Role.COURIER:
        return "deactivated"
    return "other_office" if courier.office_id != office.id else None


#: How often the map polls the day's data by default (seconds; ``?refresh=`` sets it)
DAY_REFRESH_S = 30


@bp.get("/")
@page
def index(user: User) -> Any:
    office = office_of(user)
    couriers = _couriers(office)
    colours = _colours(office)
    offices = (list(db.session.execute(select(Office).order_by(Office.id)).scalars())
               if user.role is Role.ADMIN else [])
    config = {
        "dayRefreshS": _refresh_arg(),
        "tileUrl": current_app.config["CONSOLE_TILE_URL"],
        "attribution": current_app.config["CONSOLE_TILE_ATTRIBUTION"],
        "office": {"lat": office.lat, "lon": office.lon, "code": office.code},
        "date": _day_arg().isoformat(),
        "couriers": [{"id": c.id, "username": c.username, "full_name": c.full_name,
                      "color": colours[c.id]} for c in couriers],
        "labels": labels.table(labels.UI, lang()),
        "planStatus": labels.table(labels.PLAN_STATUS, lang()),
        "unplanned": labels.table(labels.UNPLANNED, lang()),
        "routeIssues": labels.table(labels.ROUTE_ISSUE, lang()),
        "itemUrl": url_for("console.item_page"),
    }
    return render_template("console/map.html", office=office, couriers=couriers,
                           colours=colours, config=config, offices=offices,
                           day=config["date"], config_refresh=config["dayRefreshS"],
                           move_cost_m=plans.DEFAULT_MOVE_COST_M,
                           max_move_cost_m=routing.MAX_MOVE_COST_M)


def _refresh_arg() -> int:
    """``?refresh=``: seconds between two polls of the day's data (1 to 3600; default
    :data:`DAY_REFRESH_S`). Fast only for a test or a wall screen: each poll is one
    request."""
    raw = request.args.get("refresh")
    if not raw:
        return DAY_REFRESH_S
    # ASCII digits only: "²" is a digit to str.isdigit() but not to int() (a 500), and
    # int() reads other scripts' digits ("٣") that no one types in an address
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 3600:
        detail = "Seconds between refreshes of the day's data: a whole number, 1 to 3600."
        raise Unprocessable(f"refresh: {detail}", errors=[
            {"parameter": "refresh", "detail": detail}])
    return int(raw)


def _latest_plan(office_id: int, day: date) -> RoutePlan | None:
    return db.session.execute(select(RoutePlan).where(
        RoutePlan.office_id == office_id, RoutePlan.service_date == day,
        RoutePlan.status.in_([PlanStatus.QUEUED, PlanStatus.RUNNING, PlanStatus.SUCCEEDED,
                              PlanStatus.PUBLISHED, PlanStatus.FAILED]),
    ).order_by(RoutePlan.id.desc()).limit(1)).scalar()


def plan_json(plan: RoutePlan) -> dict[str, Any]:
    job = jobs.rq_job_state(current_app, plan.job_id) if plan.job_id else None
    plan = plans.refresh_stored(db.session(), plan, now=clock(), job=job)
    return {"id": plan.id, "status": plan.status.value, "version": plans.plan_version(plan),
            "status_label": labels.label(labels.PLAN_STATUS, plan.status.value, lang()),
            "progress": plan.progress, "best_cost": plan.best_cost, "error": _plan_error(plan),
            "time_limit_s": plan.time_limit_s, "date": plan.service_date.isoformat(),
            "courier_ids": [int(c["id"]) for c in plan.problem.get("couriers", [])],
            "published_at": plan.published_at.isoformat() if plan.published_at else None,
            "result": plan.result, "geojson": plans.geojson(plan) if plan.result else None}


def _plan_error(plan: RoutePlan) -> str | None:
    """Why ``plan`` failed, in the page's language: in Vietnamese by its ``error_code``
    (:data:`labels.PLAN_ERROR`; a plan failed before the code was kept, in general
    words); in English, its ``error``."""
    if plan.error is None or lang() != "vi":
        return plan.error
    return labels.PLAN_ERROR.get(plan.error_code or "", labels.PLAN_ERROR_UNKNOWN)


@bp.get("/api/day")
@endpoint(passive=True)
def day_data(user: User) -> Any:
    """The office's items still to deliver (with coordinates), by courier; the day's
    latest plan; every courier's route in force (from the latest published plan made
    for them, which may be an earlier plan than the latest: a plan for some couriers
    takes over only theirs). ``couriers``: the office's active couriers, then those no
    longer active there who still have a route in force or items (:func:`_former`).
    The map polls it (``dayRefreshS``), so it is passive: no activity."""
    office = office_of(user)
    day = _day_arg()
    couriers = _couriers(office)
    # without the office and courier every item is joined to (neither is read here):
    # 40 000 items to deliver were 40 000 copies of both to build, every 30 s
    rows = db.session.execute(items.visible_items(user).where(
        Item.office_id == office.id, Item.status.in_(ACTIVE)).order_by(Item.id)
        .options(lazyload(Item.office), lazyload(Item.courier))
    ).unique().scalars().all()
    lg = lang()
    # back from a failed attempt that day: in its courier's bag, not planned again; nor
    # one whose recipient asked for a later day (as a plan of the day leaves out)
    bagged = plans.bags_on(db.session(), rows, day)
    later = {it.id for it in rows if plans.due_later(it, day)}
    out = [{"identifier": it.identifier, "status": it.status.value,
            "status_label": labels.label(labels.STATUS, it.status.value, lg),
            "courier_id": it.courier_id, "lat": it.recipient_lat, "lon": it.recipient_lon,
            "address": f"{it.recipient_address}, {it.recipient_ward or ''}".strip(", "),
            "product": labels.label(labels.PRODUCT, it.product.value, lg),
            "plannable": it.status in plans.PLANNABLE and it.recipient_lat is not None
            and it.id not in bagged and it.id not in later,
            "next_attempt_on": it.next_attempt_on.isoformat() if it.next_attempt_on else None,
            "window": [_vn(it.window_start, "%H:%M"), _vn(it.window_end, "%H:%M")]
            if it.window_start else None} for it in rows]
    plan = _latest_plan(office.id, day)
    in_force = plans.routes_in_force_json(db.session(), office.id, day)
    former = _former(couriers, {r["courier_id"] for r in in_force["routes"]}
                     | {it.courier_id for it in rows if it.courier_id is not None}
                     | {int(c["id"]) for c in ((plan.problem or {}) if plan else {}
                                               ).get("couriers", [])})
    colours = _colours(office, former)
    return jsonify({"date": day.isoformat(),
                    "office": {"code": office.code, "lat": office.lat, "lon": office.lon},
                    "couriers": [{"id": c.id, "username": c.username, "color": colours[c.id],
                                  "full_name": c.full_name, "active": why is None,
                                  "inactive": why}
                                 for c in couriers + former
                                 for why in [_inactive(office, c)]],
                    "items": out, "plan": plan_json(plan) if plan else None,
                    "in_force": in_force})


@bp.get("/api/positions")
@endpoint(passive=True)
def positions(user: User) -> Any:
    office = office_of(user)
    return jsonify({"couriers": sync.latest_positions(db.session(), user, office.id, clock())})


@bp.post("/api/plans")
@endpoint()
def start_plan(user: User) -> Any:
    payload = _json_body() or {}
    if isinstance(payload, dict) and user.role is Role.ADMIN:  # else _load says 422
        payload["office_id"] = office_of(user).id
    data = _load(PlanCreateSchema(), payload)
    # current_app is typed as the Flask app, not the proxy it is: the app itself, for the job
    plan = plans.start_plan(db.session(), user, data, now=clock(),
                            app=current_app._get_current_object())  # type: ignore[attr-defined]
    return jsonify(plan_json(plan)), 202


@bp.get("/api/plans/<int:plan_id>")
@endpoint(passive=True)
def plan_detail(user: User, plan_id: int) -> Any:
    return jsonify(plan_json(plans.get_plan(db.session(), user, plan_id)))


def _base(body: Any) -> str | None:
    """The ``base`` of an edit's or a publish's ``body``, taken out of it: the plan's
    ``version`` the dispatcher's screen showed (:func:`plans.plan_version`), or None."""
    base = body.pop("base", None) if isinstance(body, dict) else None
    if base is not None and not isinstance(base, str):
        raise Unprocessable("base is the plan's version the screen showed.",
                            errors=[{"pointer": "/base", "detail": "Not a string."}])
    return base


@bp.post("/api/plans/<int:plan_id>/edit")
@endpoint()
def plan_edit(user: User, plan_id: int) -> Any:
    """As PATCH /api/v1/route-plans/{id}; with ``base`` (the plan's ``version`` the
    edit was made from), a plan changed since is a 409 ``plan-changed``, checked with
    the plan locked."""
    body = _json_body()
    base = _base(body)
    data = _load(PlanEditSchema(), body)
    if base is not None and plans.plan_version(
            plans.get_plan_for_update(db.session(), user, plan_id)) != base:
        raise plans.changed_since(base)
    plan = plans.edit_plan(db.session(), user, plan_id, data["routes"], now=clock())
    db.session.commit()
    return jsonify(plan_json(plan))


@bp.post("/api/plans/<int:plan_id>/publish")
@endpoint()
def plan_publish(user: User, plan_id: int) -> Any:
    """As POST /api/v1/route-plans/{id}/publish; with ``base`` (the plan's ``version``
    on the dispatcher's screen), a plan changed since (an edit in another tab) is a 409
    ``plan-changed``, nothing published: what is published is what they saw."""
    body = _json_body()
    base = _base(body)
    data = _load(PlanPublishSchema(), body)
    plan = plans.publish(db.session(), user, plan_id, now=clock(),
                         accept_issues=data["accept_issues"],
                         max_attempts=current_app.config["MAX_DELIVERY_ATTEMPTS"],
                         base=base)
    db.session.commit()
    return jsonify(plan_json(plan))


# ------------------------------------------------------------------ items

def gps_trails(item: Item, user: User | None = None) -> list[dict[str, Any]]:
    """The courier's GPS pings around each delivery attempt (as in a complaint case);
    ``user``: those of the attempts they are shown (:func:`complaints.trail_events`: a
    complaint's page for the office the item has left, its own attempts')."""
    out = []
    for ev in item.events if user is None else complaints.trail_events(item, user):
        if ev.code not in (EventCode.EMI, EventCode.EMH) or ev.actor_id is None:
            continue
        when = ping_clock_time(ev.device_time, ev.flags, ev.clock_skew_s)  # as a case's
        pts = db.session.execute(select(CourierPosition).where(
            CourierPosition.courier_id == ev.actor_id,
            CourierPosition.device_time >= when - complaints.TRAIL_WINDOW,
            CourierPosition.device_time <= when + complaints.TRAIL_WINDOW,
        ).order_by(CourierPosition.device_time)).scalars().all()
        out.append({"code": ev.code.value, "time": _vn(ev.device_time, "%H:%M"),
                    "event": [ev.lat, ev.lon] if ev.lat is not None else None,
                    "points": [[p.lat, p.lon] for p in pts]})
    return out


def _item_context(item: Item, user: User | None = None) -> dict[str, Any]:
    """The item's page (and a complaint's, for ``user``: :func:`gps_trails`)."""
    today = local_day(clock())
    return {"item": item, "trails": gps_trails(item, user),
            "expected": expected_delivery(db.session(), item, clock()),
            "assignments": custody.history(db.session(), item.id),
            "address": [item.recipient_lat, item.recipient_lon]
            if item.recipient_lat is not None else None,
            "categories": labels.table(labels.COMPLAINT_CATEGORY, lang()),
            "complaint_reference": complaints.new_reference(),
            "complaints": [c for c in db.session.execute(
                select(Complaint).where(Complaint.item_id == item.id)
                .order_by(Complaint.id)).unique().scalars()],
            # what its recipient asked the office for, and the form to record a request
            "requests": items.recipient_requests(db.session(), item.id),
            "can_request": item.status in items.REQUEST_STATUSES,
            "request_days": [(today + timedelta(days=n)).isoformat()
                             for n in (0, items.MAX_REQUEST_DAYS)]}


@bp.get("/items")
@page
def item_page(user: User) -> Any:
    number = request.args.get("number", "").strip()[:60]
    if not number:
        return render_template("console/item.html", item=None, number="", error=None)
    try:
        item = items.get_item(db.session(), user, number, with_events=True)
    except Problem:
        return render_template("console/item.html", item=None, number=number,
                               error=t("not_found")), 404
    return render_template("console/item.html", number=number, error=None,
                           **_item_context(item))


@bp.post("/items/<string:identifier>/complaints")
@page
def item_complaint(user: User, identifier: str) -> Any:
    form = {"identifier": identifier, "category": request.form.get("category", ""),
            "description": request.form.get("description", "")}
    # made once per form (_item_context): a double submit opens one complaint
    reference = request.form.get("reference", "")
    try:
        data = _form(ComplaintCreateSchema()).load(form)
        c = complaints.open_staff(
            db.session(), user, data["identifier"], data["category"], data["description"],
            now=clock(),
            reference=reference if complaints.REFERENCE_RE.fullmatch(reference) else None)
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        flash(_refusal(exc), "error")
        return _item_page_again(user, identifier, exc, complaint_form=form)
    db.session.commit()
    return redirect(url_for("console.complaint_page", complaint_id=c.id))


def _item_page_again(user: User, identifier: str, exc: ValidationError | Problem,
                     **forms: dict[str, str]) -> Any:
    """The item's page answering a refused form, the form filled in as sent
    (``complaint_form``, ``request_form``): what was typed is not lost."""
    try:
        item = items.get_item(db.session(), user, identifier, with_events=True)
    except Problem:
        db.session.rollback()
        return redirect(url_for("console.item_page", number=identifier))
    return render_template("console/item.html", number=item.identifier, error=None,
                           **forms, **_item_context(item),
                           back=url_for("console.item_page", number=item.identifier)), (
                               exc.status if isinstance(exc, Problem) else 422)


@bp.post("/items/<string:identifier>/recipient-request")
@page
def item_recipient_request(user: User, identifier: str) -> Any:
    """Record a recipient's request (POST /api/v1/items/{id}/recipient-request): collect
    it at the office by a day, or a delivery round on a day; back to the item's page."""
    form = {k: request.form.get(k, "") for k in ("kind", "day", "note")}
    try:
        data = _form(RecipientRequestCreateSchema()).load(
            {**form, "note": form["note"] or None})
        items.recipient_request(db.session(), user, identifier, data, now=clock(),
                                max_attempts=current_app.config["MAX_DELIVERY_ATTEMPTS"])
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        flash(_refusal(exc), "error")
        return _item_page_again(user, identifier, exc, request_form=form)
    db.session.commit()
    flash(t("request_recorded"), "info")
    return redirect(url_for("console.item_page", number=identifier))


@bp.get("/evidence/<string:sha256>")
@page
def evidence_file(user: User, sha256: str) -> Any:
    """A signature or photo, on the console session: as GET /api/v1/evidence/{sha256}
    (uploaded by someone of the dispatcher's office), or the proof of a delivery, or the
    photo of an event (a failed attempt), of one of the office's items, or the receipt
    of one of the office's payouts."""
    ev = db.session.execute(select(Evidence).where(Evidence.sha256 == sha256[:64])).scalar()
    uploader = db.session.get(User, ev.uploaded_by_id) if ev else None
    if ev is None or uploader is None or not (
            user.role is Role.ADMIN or uploader.office_id == user.office_id
            or cited_by_office(db.session(), ev.sha256, user.office_id)):
        raise NotFound("No such evidence that you can see.")
    from ..scans.views import evidence_store

    return send_file(evidence_store().existing(ev.path), mimetype=ev.content_type, max_age=0)


@bp.get("/scans/<int:scan_id>/photo")
@page
def scan_photo(user: User, scan_id: int) -> Any:
    from ..scans import service as scans
    from ..scans.views import evidence_store

    scan = scans.get_scan(db.session(), user, scan_id)
    if not scan.photo_key:
        raise NotFound(f"Scan {scan_id} has no photo.")
    return send_file(evidence_store().existing(scan.photo_key), mimetype=scan.photo_content_type,
                     max_age=0)


# ------------------------------------------------------------------ scans to resolve

#: rows per page of the scans to resolve (each with its photo)
UNREAD_PAGE_ROWS = 50


@bp.get("/unread-scans")
@page
def unread_page(user: User) -> Any:
    """The office's open scans to resolve (GET /api/v1/unread-scans), the oldest first,
    each with its photo, a form to record it from the number read on the photo and one
    to dismiss it."""
    from models import UnreadState

    from ..scans import unread

    office = office_of(user)

    def fetch(limit: int, offset: int) -> tuple[list[Any], int]:
        return unread.list_unread(db.session(), office.id, [UnreadState.OPEN],
                                  limit=limit, offset=offset)

    rows, pager = _paged(fetch, _page_arg(), UNREAD_PAGE_ROWS, endpoint="console.unread_page",
                         args={})
    return render_template("console/unread.html", office=office, rows=rows, pager=pager)


@bp.get("/rounds")
@page
def rounds_page(user: User) -> Any:
    """The office's delivery rounds (GET /api/v1/rounds): code, name, wards and the
    courier who usually rides each, by code."""
    from ..rounds import service as rounds

    office = office_of(user)
    rows = rounds.listing(db.session(), user, office.id)
    return render_template("console/rounds.html", office=office, rows=rows)


@bp.get("/unread-scans/<int:unread_id>/photo")
@page
def unread_photo(user: User, unread_id: int) -> Any:
    from ..scans import unread
    from ..scans.views import evidence_store

    kept = unread.get_unread(db.session(), user, unread_id)
    return send_file(evidence_store().existing(kept.photo_key),
                     mimetype=kept.photo_content_type, max_age=0)


@bp.post("/unread-scans/<int:unread_id>/resolve")
@page
def unread_resolve(user: User, unread_id: int) -> Any:
    """Record the scan from the number read on the photo (POST
    /api/v1/unread-scans/{id}/resolve); a refusal is flashed and the scan stays."""
    from ..items.views import event_settings
    from ..scans import unread
    from ..scans.schemas import UnreadResolveSchema
    from ..scans.views import evidence_store

    cfg = current_app.config
    try:
        data = _form(UnreadResolveSchema()).load(
            {"identifier": request.form.get("identifier", "")})
        unread.resolve(db.session(), user, unread_id, data["identifier"], now=clock(),
                       store=evidence_store(), carrier_patterns=cfg["CARRIER_PATTERNS"],
                       max_attempts=cfg["MAX_DELIVERY_ATTEMPTS"],
                       photo_max_bytes=cfg["PHOTO_MAX_BYTES"], rules=event_settings())
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        flash(_refusal(exc), "error")
        return redirect(url_for("console.unread_page"))
    db.session.commit()
    flash(t("unread_resolved"), "info")
    return redirect(url_for("console.unread_page"))


@bp.post("/unread-scans/<int:unread_id>/dismiss")
@page
def unread_dismiss(user: User, unread_id: int) -> Any:
    """Dismiss it with a reason (POST /api/v1/unread-scans/{id}/dismiss)."""
    from ..scans import unread
    from ..scans.schemas import UnreadDismissSchema

    try:
        data = _form(UnreadDismissSchema()).load({"reason": request.form.get("reason", "")})
        unread.dismiss(db.session(), user, unread_id, data["reason"], now=clock())
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        flash(_refusal(exc), "error")
        return redirect(url_for("console.unread_page"))
    db.session.commit()
    flash(t("unread_dismissed"), "info")
    return redirect(url_for("console.unread_page"))


# ------------------------------------------------------------------ complaints

def sla(c: Any, now: datetime) -> dict[str, Any]:
    end = c.answered_at or now
    seconds = int((c.due_at - end).total_seconds())
    h, m = divmod(abs(seconds) // 60, 60)
    return {"overdue": seconds < 0, "text": f"{h} h {m:02d} min",
            "due_iso": c.due_at.isoformat(), "closed": c.answered_at is not None}


#: rows per page of each list of the missing-scans page (``?page=``, ``?returns_page=``)
MISSING_PAGE_ROWS = 500


def _hours(value: float) -> str:
    """A threshold as the paging links carry it: short ("24"), yet the same number
    (``:g`` alone keeps six digits: 20.1234567 became 20.1235, another list)."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


@bp.get("/missing")
@page
def missing_page(user: User) -> Any:
    """Items whose next scan is overdue (GET /api/v1/missing-scans), oldest first, each
    a link to the item, where a missing-scan complaint can be opened; and the items
    awaiting a return by hand (GET /api/v1/returns-due), the longest waiting first.
    Each list is paged in the database, :data:`MISSING_PAGE_ROWS` rows a page
    (``?page=`` and ``?returns_page=``); the links keep the thresholds and the other
    list's page."""
    from ..complaints.schemas import MissingQuerySchema

    office = office_of(user)
    try:
        q = _form(MissingQuerySchema()).load({k: v for k, v in request.args.items()
                                              if k in ("idle_hours", "out_hours") and v})
    except ValidationError as exc:
        flash(_refusal(exc), "error")
        q = MissingQuerySchema().load({})
    page_no, returns_page_no = _page_arg("page"), _page_arg("returns_page")
    max_attempts = current_app.config["MAX_DELIVERY_ATTEMPTS"]
    now = clock()

    def missing(limit: int, offset: int) -> tuple[complaints.MissingScans, int]:
        found = complaints.missing_scans(
            db.session(), user, office.id, now=now, idle_hours=q["idle_hours"],
            out_hours=q["out_hours"], limit=limit, offset=offset, max_attempts=max_attempts)
        return found, found.total

    def returns_due(limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        # the office's other follow-up list: parcels whose attempts are used up, to return
        return complaints.returns_due(db.session(), office.id, now=now,
                                      max_attempts=max_attempts, limit=limit, offset=offset)

    thresholds = {"idle_hours": _hours(q["idle_hours"]), "out_hours": _hours(q["out_hours"])}
    found, pager = _paged(missing, page_no, MISSING_PAGE_ROWS, endpoint="console.missing_page",
                          name="page", args={**thresholds, **(
                              {"returns_page": returns_page_no} if returns_page_no > 1 else {})})
    returns, returns_pager = _paged(
        returns_due, returns_page_no, MISSING_PAGE_ROWS, endpoint="console.missing_page",
        name="returns_page",
        args={**thresholds, **({"page": pager.page} if pager.page > 1 else {})})
    # whoever holds them, also a courier deactivated or moved since (the office's active
    # couriers only left their parcels without a name, as if nobody had them)
    ids = {r["courier_id"] for r in [*found.rows, *returns] if r["courier_id"] is not None}
    names = {u.id: u.username for u in db.session.execute(
        select(User).where(User.id.in_(ids))).scalars()} if ids else {}
    return render_template("console/missing.html", office=office, rows=found.rows, pager=pager,
                           due_later=found.due_later,
                           held_for_collection=found.held_for_collection, returns=returns,
                           returns_pager=returns_pager, max_attempts=max_attempts, q=q,
                           names=names)


#: rows per page of the complaints queue (``?page=``)
COMPLAINTS_PAGE_ROWS = 200


@bp.get("/complaints")
@page
def complaints_page(user: User) -> Any:
    now = clock()
    overdue = _flag_arg("overdue")

    def fetch(limit: int, offset: int) -> tuple[list[Complaint], int]:
        return complaints.queue(db.session(), user, statuses=[], overdue_only=overdue,
                                now=now, limit=limit, offset=offset)

    rows, pager = _paged(fetch, _page_arg("page"), COMPLAINTS_PAGE_ROWS,
                         endpoint="console.complaints_page",
                         args={"overdue": "1"} if overdue else {})
    return render_template("console/complaints.html", rows=rows, overdue=overdue, pager=pager,
                           sla={c.id: sla(c, now) for c in rows})


@bp.route("/complaints/<int:complaint_id>", methods=["GET", "POST"])
@page
def complaint_page(user: User, complaint_id: int) -> Any:
    """A complaint and its evidence; its form (POST) moves it on. Refused (a note too
    long, closing without one, another dispatcher changed it since), the page is
    answered again with the reason and the form as sent: the note typed is not lost."""
    if request.method == "POST":
        form = {k: v for k, v in (("status", request.form.get("status")),
                                  ("resolution_note", request.form.get("resolution_note")))
                if v}
        try:
            complaints.update(db.session(), user, complaint_id,
                              _form(ComplaintUpdateSchema()).load(form), now=clock(),
                              seen_status=request.form.get("seen_status") or None)
            db.session.commit()
        except ValidationError as exc:
            db.session.rollback()
            flash(_refusal(exc), "error")
            return _complaint_page(user, complaint_id, sent=form, code=422)
        except Problem as exc:
            db.session.rollback()
            flash(_refusal(exc), "error")
            if exc.status == 409:  # changed since: the status chosen again, on the page as it is
                form.pop("status", None)
            return _complaint_page(user, complaint_id, sent=form, code=exc.status)
        return redirect(url_for("console.complaint_page", complaint_id=complaint_id))
    return _complaint_page(user, complaint_id)


def _complaint_page(user: User, complaint_id: int, *, sent: dict[str, str] | None = None,
                    code: int = 200) -> Any:
    """The complaint's page; ``sent``: a refused form's fields, to fill it in again."""
    case = complaints.evidence(db.session(), user, complaint_id)
    c, shown = case["complaint"], case["item"]
    context = {k: v for k, v in _item_context(shown, user).items() if k != "complaints"}
    # who held it and what its recipient asked, as the case shows them (for the office
    # the item has left, its own: complaints.as_left); no expected delivery window then
    # (the other office's courier's round)
    context.update(assignments=shown.assignment_history, requests=shown.recipient_requests)
    if case["later_events"] is not None:
        context["expected"] = None
    answers = complaints.answers_for(c, user)
    nexts = complaints.next_statuses(c, user)
    return render_template("console/complaint.html", c=c, sla=sla(c, clock()),
                           # the current status first, chosen: the form sent as it is
                           # (a note added) changes no status; then the statuses it may
                           # go to, always in the same order (TRANSITIONS holds sets,
                           # whose order changes with each process's string hashing);
                           # none for the office holding the item once it is answered
                           # (the answer is the opening office's)
                           statuses=[c.status.value] + [s.value for s in ComplaintStatus
                                                        if s in nexts]
                           if answers or c.status not in CLOSED else [],
                           answers=answers, later_events=case["later_events"],
                           sent=sent or {}, **context, complaints=[]), code


# ------------------------------------------------------------------ cash, quality, import

@bp.get("/cash")
@page
def cash_page(user: User) -> Any:
    return _cash_page(user, _day_arg(), request.args.get("courier"))


def _cash_page(user: User, day: date, courier: Any, *, handover: Any = None,
               correction: Any = None, code: int = 200) -> Any:
    """The cash report of ``day`` and ``courier``'s ledger (an id as sent: none or not
    one the user can see, no ledger). ``handover``, ``correction``: a refused form as
    sent, to fill it in again, answered with ``code``."""
    office = office_of(user)
    report = cash.report(db.session(), user, office.id, day)
    ledger = None
    if courier:
        try:
            ledger = cash.ledger(db.session(), user, Id().deserialize(courier), day,
                                 office.id)
        except (ValidationError, Problem):
            ledger = None
    names = {c.id: c.username for c in _couriers(office)}
    return render_template("console/cash.html", office=office, report=report, ledger=ledger,
                           day=day,
                           names=names, reference=secrets.token_hex(12),
                           correction_reference=secrets.token_hex(12),
                           handover=handover or {}, correction=correction or {},
                           back=url_for("console.cash_page", date=day.isoformat(),
                                        courier=courier)), code


def _back_to_ledger(user: User, refused: int | None, courier_id: Any, day: Any,
                    **sent: Any) -> Any:
    """Back to the ledger the form was on; a refused form (``refused``, its status)
    answers that page again, the form filled in as sent (``sent``), so nothing typed
    is lost (a form with a day that is not one: the redirect, as before)."""
    if refused is not None:
        try:
            return _cash_page(user, Day().deserialize(day or ""), courier_id, code=refused,
                              **sent)
        except ValidationError:
            pass
    return redirect(url_for("console.cash_page", date=str(day or ""), courier=courier_id))


@bp.post("/cash/handover")
@page
def cash_handover(user: User) -> Any:
    """The office counts what a courier hands in (the API's POST /cash/handovers); the
    form carries a one-time reference, so a double submit records it once."""
    from ..cash.schemas import HandoverSchema

    form = request.form

    def record() -> None:
        data = _form(HandoverSchema()).load({"courier_id": form.get("courier_id", ""),
                                             "date": form.get("date", ""),
                                             "counted_amount": form.get("counted_amount", ""),
                                             "note": form.get("note") or None,
                                             "reference": form.get("reference", "")})
        # the cash owed to the page's office (a courier moved since hands it in here)
        entry = cash.handover(db.session(), user, data["courier_id"], data["date"],
                              data["counted_amount"], now=clock(), note=data.get("note"),
                              client_ref=data["reference"], office_id=office_of(user).id)
        db.session.commit()
        diff = -entry.amount - (entry.expected_on_hand or 0)
        flash(f"{t('handover_recorded')} {_vnd(diff)}", "info" if diff == 0 else "warn")

    return _back_to_ledger(user, _form_action(record), form.get("courier_id"),
                           form.get("date"), handover=form)


def _form_action(action: Callable[[], None]) -> int | None:
    """Run a console form's action; invalid fields or a refused action become a
    flashed message, and nothing of it is stored: then the refusal's status."""
    try:
        action()
    except ValidationError as exc:
        db.session.rollback()
        flash(_refusal(exc), "error")
        return 422
    except Problem as exc:
        db.session.rollback()
        flash(_refusal(exc), "error")
        return exc.status
    return None


@bp.post("/cash/correction")
@page
def cash_correction(user: User) -> Any:
    """A correction is a new entry naming the one it corrects (POST /cash/corrections)."""
    from ..cash.schemas import CorrectionSchema

    form = request.form

    def record() -> None:
        data = _form(CorrectionSchema()).load({"entry_id": form.get("entry_id", ""),
                                               "amount": form.get("amount", ""),
                                               "reason": form.get("reason", ""),
                                               **({"reference": form["reference"]}
                                                  if form.get("reference") else {})})
        # the form's one-time reference: a double submit records the correction once
        cash.correct(db.session(), user, data["entry_id"], data["amount"], data["reason"],
                     now=clock(), client_ref=data.get("reference"))
        db.session.commit()
        flash(t("correction_recorded"), "info")

    return _back_to_ledger(user, _form_action(record), form.get("courier_id"),
                           form.get("date"), correction=form)


# ------------------------------------------------------------------ remitting COD to senders

@bp.get("/remittance")
@page
def remittance_page(user: User) -> Any:
    return _remittance_page(user, request.args.get("statement"))


def _remittance_page(user: User, statement: Any, *, draw: Any = None, pay: Any = None,
                     code: int = 200) -> Any:
    """What the office owes each sender (GET /cod-statements/pending), its latest
    statements, and ``statement`` (an id as sent) with its lines. ``draw``, ``pay``: a
    refused form as sent, to fill it in again, answered with ``code``."""
    office = office_of(user)
    session = db.session()
    owed = remittance.pending(session, user, office.id, _today())
    statements, total = remittance.listing(session, user, office.id, sender_phone=None,
                                           status=[], limit=50, offset=0)
    chosen = None
    if statement:
        try:
            sid = Id().deserialize(statement)
        except ValidationError:
            sid = None
        if sid is not None:  # (not one the user sees: the page's 404)
            chosen = remittance.get(session, user, sid)
    return render_template("console/remittance.html", office=office, owed=owed,
                           statements=statements, total=total, chosen=chosen,
                           today=_today(), draw=draw or {}, pay=pay or {}), code


@bp.post("/remittance/draw")
@page
def remittance_draw(user: User) -> Any:
    """Draw up a sender's statement (the API's POST /cod-statements)."""
    form = request.form
    drawn: list[int] = []

    def record() -> None:
        data = _form(StatementCreateSchema()).load({
            "sender_phone": form.get("sender_phone", ""),
            "date_from": form.get("date_from", ""), "date_to": form.get("date_to", "")})
        statement = remittance.create(db.session(), user,
                                      {**data, "office_id": office_of(user).id}, now=clock())
        db.session.commit()
        drawn.append(statement.id)
        flash(f"{t('statement_drawn')} {_vnd(statement.total)}"
              + (f" · {t('not_handed_in')}: {len(statement.not_handed_in)}"
                 if statement.not_handed_in else ""), "info")

    refused = _form_action(record)
    if refused is not None:
        return _remittance_page(user, None, draw=form, code=refused)
    return redirect(url_for("console.remittance_page", statement=drawn[0]))


def _local_time(value: str) -> str:
    """A browser's ``datetime-local`` (no offset): Viet Nam time."""
    value = value.strip()
    return value + "+07:00" if len(value) in (16, 19) and "T" in value else value


@bp.post("/remittance/<int:statement_id>/pay")
@page
def remittance_pay(user: User, statement_id: int) -> Any:
    """Record the payment to the sender (POST /cod-statements/{id}/pay)."""
    form = request.form

    def record() -> None:
        data = _form(PaySchema()).load({"reference": form.get("reference", ""),
                                        "paid_at": _local_time(form.get("paid_at", ""))})
        remittance.pay(db.session(), user, statement_id, data["reference"], data["paid_at"],
                       now=clock())
        db.session.commit()
        flash(t("statement_paid"), "info")

    refused = _form_action(record)
    if refused is not None:
        return _remittance_page(user, str(statement_id), pay=form, code=refused)
    return redirect(url_for("console.remittance_page", statement=statement_id))


@bp.post("/remittance/<int:statement_id>/cancel")
@page
def remittance_cancel(user: User, statement_id: int) -> Any:
    """Cancel a statement not paid (POST /cod-statements/{id}/cancel)."""

    def record() -> None:
        remittance.cancel(db.session(), user, statement_id, now=clock())
        db.session.commit()
        flash(t("statement_cancelled"), "info")

    refused = _form_action(record)
    if refused is not None:
        return _remittance_page(user, str(statement_id), code=refused)
    return redirect(url_for("console.remittance_page", statement=statement_id))


# ------------------------------------------------------------------ outcomes

#: outcomes still reported from earlier days listed on the outcomes page (the oldest)
OUTCOME_BACKLOG_ROWS = 100


@bp.get("/outcomes")
@page
def outcomes_page(user: User) -> Any:
    return _outcomes_page(user, _day_arg(), request.args.get("courier"))


def _outcomes_page(user: User, day: date, courier: Any, *, code: int = 200) -> Any:
    """The day's outcomes couriers reported, per courier (GET /outcomes), and the list of
    ``courier``'s (an id as sent: none, or not one of the day's, lists none)."""
    office = office_of(user)
    day_out = outcomes.day_outcomes(db.session(), user, office.id, day)
    try:
        chosen = Id().deserialize(courier) if courier else None
    except ValidationError:
        chosen = None
    rows = [o for o in day_out["outcomes"] if chosen is not None
            and o["courier"]["id"] == chosen]
    names = {c["courier_id"]: c["username"] for c in day_out["couriers"]}
    # still reported from the days before the page's (GET /outcomes/backlog)
    pending = outcomes.backlog(db.session(), user, office.id, day,
                               page_size=OUTCOME_BACKLOG_ROWS)
    return render_template("console/outcomes.html", office=office, day=day,
                           couriers=day_out["couriers"], rows=rows, chosen=chosen,
                           chosen_name=names.get(chosen) if chosen is not None else None,
                           backlog=pending), code


def _back_to_outcomes(user: User, refused: int | None, courier_id: Any, day: Any) -> Any:
    if refused is not None:
        try:
            return _outcomes_page(user, Day().deserialize(day or ""), courier_id,
                                  code=refused)
        except ValidationError:
            pass
    return redirect(url_for("console.outcomes_page", date=str(day or ""),
                            courier=courier_id))


@bp.post("/outcomes/confirm")
@page
def outcomes_confirm(user: User) -> Any:
    """Confirm the outcomes of a courier's day the page showed as reported (its form
    names them: POST /outcomes/confirm with ``event_ids``), those still reported: not
    one synced after the page was shown, which nobody checked, nor one a colleague
    disputed meanwhile; sent twice, nothing more."""
    from ..outcomes.schemas import ConfirmDaySchema

    form = request.form

    def record() -> None:
        data = _form(ConfirmDaySchema()).load({"courier_id": form.get("courier_id", ""),
                                               "date": form.get("date", ""),
                                               "event_ids": form.getlist("event_ids"),
                                               "note": form.get("note") or None})
        out = outcomes.confirm_day(db.session(), user, office_of(user).id,
                                   data["courier_id"], data["date"], data["event_ids"],
                                   data.get("note"), now=clock(), only_reported=True)
        db.session.commit()
        flash(f"{t('outcomes_confirmed')} {out['confirmed_now']}", "info")

    return _back_to_outcomes(user, _form_action(record), form.get("courier_id"),
                             form.get("date"))


@bp.post("/outcomes/<int:event_id>/review")
@page
def outcome_review(user: User, event_id: int) -> Any:
    """Confirm or dispute one outcome (POST /outcomes/{event_id}/review)."""
    from ..outcomes.schemas import ReviewCreateSchema

    form = request.form

    def record() -> None:
        data = _form(ReviewCreateSchema()).load({"state": form.get("state", ""),
                                                 "note": form.get("note") or None})
        outcomes.review_outcome(db.session(), user, event_id, data["state"],
                                data.get("note"), now=clock())
        db.session.commit()
        flash(t("outcome_reviewed"), "info")

    return _back_to_outcomes(user, _form_action(record), form.get("courier_id"),
                             form.get("date"))


# ------------------------------------------------------------------ payouts

#: rows per page of the payouts page (``?page=``)
PAYOUT_PAGE_ROWS = 500


def _payout_status_arg() -> list[PayoutStatus]:
    """``?status=`` (repeatable; empty: all)."""
    out = []
    for raw in request.args.getlist("status"):
        if not raw:
            continue
        try:
            out.append(PayoutStatus(raw))
        except ValueError as exc:
            detail = f"One of {', '.join(s.value for s in PayoutStatus)}."
            raise Unprocessable(f"status: {detail}", errors=[
                {"parameter": "status", "detail": detail}]) from exc
    return out


def _payouts_page(user: User, day: date, *, status: Sequence[PayoutStatus] = (),
                  page_no: int = 1, single: PayoutTask | None = None,
                  error: str | None = None, form: Any = None, code: int = 200) -> Any:
    """The payouts page: the office's payouts for ``day`` (or the one payout
    ``single``), the forms, and ``error``, a refused form's message (``form``: what it
    sent, to fill it in again), answered with ``code``. The day's list is paged in the
    database, :data:`PAYOUT_PAGE_ROWS` rows a page (page ``page_no``; the links keep
    the day and the statuses; a refused form answers with the day's first page); the
    flagged count is the whole list's. One payout is shown with its own office's
    couriers (an admin's may be another than the one chosen)."""
    office = office_of(user)
    pager: Pager | None = None
    if single is not None:
        office = db.session.get(Office, single.office_id) or office
        rows, flagged = [single], int(bool(single.flags))
    else:
        def fetch(limit: int, offset: int) -> tuple[payouts.OfficeDay, int]:
            found = payouts.office_day(db.session(), user, office.id, day, status,
                                       limit=limit, offset=offset)
            return found, found.total

        args: dict[str, Any] = {"date": day.isoformat()}
        if status:
            args["status"] = [s.value for s in status]
        found, pager = _paged(fetch, page_no, PAYOUT_PAGE_ROWS,
                              endpoint="console.payouts_page", args=args)
        rows, flagged = found.rows, found.flagged
    ids = {r.courier_id for r in rows if r.courier_id is not None}
    names = {u.id: u.username for u in db.session.execute(
        select(User).where(User.id.in_(ids))).scalars()} if ids else {}
    return render_template(
        "console/payouts.html", office=office, day=day, rows=rows, pager=pager,
        single=single, status=[s.value for s in status],
        statuses=[s.value for s in PayoutStatus],
        open_statuses=[s.value for s in payouts.OPEN], couriers=_couriers(office),
        names=names, error=error, form=form or {}, new_reference=payouts.new_reference(),
        refs={r.id: secrets.token_hex(12) for r in rows},
        back=(_this_page() if request.method == "GET"
              else url_for("console.payouts_page", date=day.isoformat())),
        flagged=flagged), code


@bp.get("/payouts")
@page
def payouts_page(user: User) -> Any:
    """The office's payouts for ``?date=`` (today by default), ``?status=`` filtering,
    ``?page=`` (1 by default)."""
    return _payouts_page(user, _day_arg(), status=_payout_status_arg(), page_no=_page_arg())


@bp.get("/payouts/<int:payout_id>")
@page
def payout_page(user: User, payout_id: int) -> Any:
    """One payout (the link from a reused signature or photo), if the user may see it."""
    return _payouts_page(user, _today(), single=payouts.visible(db.session(), user, payout_id))


def _payout_form(user: User, action: Callable[[], str]) -> Any:
    """Run a payout form's action (it commits and says what it did): then back to the
    page the form was on, the message flashed. Refused (invalid fields, or the
    service's 4xx), nothing of it is stored and the page is answered again with the
    message, with the refusal's status (the create form filled in as sent)."""
    try:
        msg = action()
    except (ValidationError, Problem) as exc:
        db.session.rollback()
        message, code = _refusal(exc), exc.status if isinstance(exc, Problem) else 422
        try:
            day = Day().deserialize(request.form.get("date", ""))
        except ValidationError:
            day = _today()
        return _payouts_page(user, day, error=message, form=request.form, code=code)
    flash(msg, "info")
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/payouts")
@page
def payout_create(user: User) -> Any:
    """A new payout task (POST /api/v1/payouts); the form's reference is made once per
    form, so a double submit records it once (:func:`api.payouts.service.create`)."""
    f = request.form

    def create() -> str:
        body: dict[str, Any] = {
            "reference": f.get("reference", ""), "program": f.get("program", ""),
            "period": f.get("period", ""), "amount": f.get("amount", ""),
            "due_date": f.get("due_date", ""),
            "beneficiary": {"name": f.get("name", ""), "phone": f.get("phone") or None,
                            "address": f.get("address", ""),
                            "id_number": f.get("id_number", "")}}
        if user.role is Role.ADMIN:
            body["office_id"] = office_of(user).id
        task = payouts.create(db.session(), user, _form(PayoutCreateSchema()).load(body),
                              now=clock(), replay=True)
        db.session.commit()
        return f"{t('payout_created')} {task.reference}"

    return _payout_form(user, create)


@bp.post("/payouts/<int:payout_id>/assign")
@page
def payout_assign(user: User, payout_id: int) -> Any:
    """Give a payout and its cash to a courier of the office (POST
    /api/v1/payouts/{id}/assign: an advance in their ledger); the form's one-time
    reference makes a double submit give the cash once."""
    f = request.form

    def assign() -> str:
        data = _form(PayoutAssignSchema()).load({"courier_id": f.get("courier_id", ""),
                                                 "reference": f.get("reference", "")})
        task = payouts.assign(db.session(), user, payout_id, data["courier_id"], now=clock(),
                              client_ref=data["reference"])
        db.session.commit()
        courier = db.session.get(User, data["courier_id"])
        return (f"{t('payout_assigned')} {task.reference} → "
                f"{courier.username if courier else data['courier_id']}")

    return _payout_form(user, assign)


@bp.post("/payouts/<int:payout_id>/fail")
@page
def payout_fail(user: User, payout_id: int) -> Any:
    """Not paid: the payout goes back to the office with a note (POST
    /api/v1/payouts/{id}/fail). Sent again with the same note once it is failed (a
    double submit), it is told as done, nothing changed."""
    f = request.form

    def fail() -> str:
        data = _form(PayoutFailSchema()).load({"note": f.get("note", "")})
        try:
            task = payouts.fail(db.session(), user, payout_id, data["note"], now=clock())
        except Problem as exc:
            if exc.slug != "payout-not-open":
                raise
            db.session.rollback()
            task = payouts.visible(db.session(), user, payout_id)
            if task.status is not PayoutStatus.FAILED or task.failure_note != data["note"]:
                raise
        db.session.commit()
        return f"{t('payout_failed')} {task.reference}"

    return _payout_form(user, fail)


@bp.get("/quality")
@page
def quality_page(user: User) -> Any:
    office = office_of(user)
    day = _day_arg()
    today = quality.figures(db.session(), office.id, day, 1)
    month = quality.figures(db.session(), office.id, day - timedelta(days=29), 30)
    lg = lang()
    chart = {"dates": [r["date"][5:] for r in month["rows"]],
             "on_time": [r["on_time_rate"] for r in month["rows"]],
             "first_attempt": [r["first_attempt_rate"] for r in month["rows"]],
             "delivered": [r["delivered"] for r in month["rows"]],
             "failed": [r["failed_attempts"] for r in month["rows"]],
             "opened": [r["complaints_opened"] for r in month["rows"]],
             "closed": [r["complaints_closed"] for r in month["rows"]],
             "reasons": {labels.label(labels.REASON, k, lg): v
                         for k, v in month["failed_attempts_by_reason"].items()},
             "labels": labels.table(labels.UI, lg)}
    return render_template("console/quality.html", office=office, today=today["rows"][0],
                           month=month,
                           chart=chart, day=day, cod_outstanding=today["cod_outstanding"])


@bp.route("/import", methods=["GET", "POST"])
@page
def import_page(user: User) -> Any:
    from ..items.service import CSV_COLUMNS

    result, error = None, None
    if request.method == "POST":
        upload = request.files.get("file")
        raw = upload.read() if upload is not None else b""
        try:
            if not raw:
                raise Unprocessable("Choose a CSV file.", slug="csv-missing")
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise Unprocessable("The CSV must be UTF-8.", slug="csv-encoding") from exc
            # each refused row in the page's language: the schema's messages, and the
            # problems of the checks past it (an identifier stored, another office)
            res = items.import_csv(db.session(), user, text, now=clock(),
                                   carrier_patterns=current_app.config["CARRIER_PATTERNS"],
                                   max_rows=current_app.config["IMPORT_MAX_ROWS"],
                                   schema=_form(ItemImportRowSchema()), tell=_refusal)
            db.session.commit()
            result = {"created": res.created, "errors": res.errors}
        except Problem as exc:
            db.session.rollback()
            error = _refusal(exc)
    return render_template("console/import.html", result=result, error=error,
                           columns=CSV_COLUMNS), (422 if error else 200)
