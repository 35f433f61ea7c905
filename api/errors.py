"""Every error the API returns is RFC 9457 problem details (``application/problem+json``).

Handlers are registered on the app, not on a blueprint, so unknown URLs and wrong
methods are covered too. Exceptions raised by the libraries and the models are mapped
to problem types in one table, ``LIBRARY_PROBLEMS``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flask import Flask, Response, current_app, json, request
from flask.sansio.app import App
from markupsafe import escape
from marshmallow import Schema, fields
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from models import IllegalTransitionError, db
from routing import InvalidProblemError, ProblemTooLargeError
from scanning import ImageTooLargeError, UnreadableImageError, UnsupportedFormatError

log = logging.getLogger(__name__)

PROBLEM_MIMETYPE = "application/problem+json"


class ProblemPointerSchema(Schema):
    pointer = fields.String(metadata={"description": "JSON pointer into the request body"})
    parameter = fields.String(metadata={"description": "query or path parameter name"})
    detail = fields.String(required=True)


class ProblemSchema(Schema):
    """RFC 9457 problem details; extension members depend on the type."""

    class Meta:
        unknown = "include"

    type = fields.String(required=True)
    title = fields.String(required=True)
    status = fields.Integer(required=True)
    detail = fields.String()
    instance = fields.String()
    errors = fields.List(fields.Nested(ProblemPointerSchema))


class Problem(Exception):
    """Raise from services and views; becomes a problem-details response."""

    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, status: int | None = None, slug: str | None = None,
                 title: str | None = None, headers: Mapping[str, str] | None = None,
                 reasons: Sequence[Mapping[str, Any]] | None = None,
                 **extensions: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        #: each of ``errors``' reason as a stable code and its values (``{"code": ...,
        #: ...}``, in the same order), for a caller that says them in another language
        #: (the console); not part of the answer
        self.reasons = list(reasons or [])
        if status is not None:
            self.status = status
        if slug is not None:
            self.slug = slug
        if title is not None:
            self.title = title
        self.headers = dict(headers or {})
        self.extensions = extensions


class NotFound(Problem):
    status, slug, title = 404, "not-found", "Not found"


class Forbidden(Problem):
    status, slug, title = 403, "forbidden", "Forbidden"


class Unauthorized(Problem):
    status, slug, title = 401, "unauthorized", "Authentication required"

    def __init__(self, detail: str, **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": 'Bearer realm="api"'})
        super().__init__(detail, **kw)


class Conflict(Problem):
    status, slug, title = 409, "conflict", "Conflict"


class Unprocessable(Problem):
    status, slug, title = 422, "validation-error", "The request is not valid"


def problem_type(slug: str) -> str:
    return f"/problems/{slug}"


def problem_response(status: int, title: str, detail: str | None = None, *,
                     slug: str | None = None, headers: Mapping[str, str] | None = None,
                     **extensions: Any) -> Response:
    body: dict[str, Any] = {
        "type": problem_type(slug) if slug else "about:blank",
        "title": title,
        "status": status,
    }
    if detail:
        body["detail"] = detail
    body["instance"] = request.script_root + request.path  # under a path prefix too
    body.update(extensions)
    resp = Response(json.dumps(body), status=status, mimetype=PROBLEM_MIMETYPE)
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _pointers(messages: Any, location: str, path: str = "") -> list[dict[str, str]]:
    """Flatten webargs/marshmallow messages into RFC 9457-style pointers."""
    out: list[dict[str, str]] = []
    if isinstance(messages, Mapping):
        for key, value in messages.items():
            if key == "_schema":
                out.extend(_pointers(value, location, path))
            else:
                seg = str(key).replace("~", "~0").replace("/", "~1")
                out.extend(_pointers(value, location, f"{path}/{seg}"))
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            for m in messages:
                if location in ("json", "form", "files"):
                    out.append({"pointer": path or "/", "detail": m})
                else:
                    out.append({"parameter": path.lstrip("/") or location, "detail": m})
        else:
            for m in messages:
                out.extend(_pointers(m, location, path))
    elif isinstance(messages, str):
        return _pointers([messages], location, path)
    return out


def validation_pointers(messages: Mapping[str, Any]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for location, msgs in messages.items():
        out.extend(_pointers(msgs, location))
    return out


def _illegal_transition(exc: IllegalTransitionError) -> Response:
    return _error(
        409, "Illegal status transition", exc.why, slug="illegal-transition", page=False,
        current_status=exc.status.value if exc.status else None,
        event=exc.event.value,
        allowed_events=[e.value for e in exc.allowed],
    )


def _library(status: int, slug: str, title: str) -> Callable[[Exception], Response]:
    def handler(exc: Exception) -> Response:
        return _error(status, title, str(exc), slug=slug, page=False)

    handler.slug = slug  # type: ignore[attr-defined]  # (library_slug)
    return handler


def library_slug(exc: Exception) -> str | None:
    """The problem type (slug) ``exc`` is answered with (:data:`LIBRARY_PROBLEMS`), for
    a caller that records it instead of answering it (a scan's unreadable photo)."""
    for kind, handler in LIBRARY_PROBLEMS.items():
        if isinstance(exc, kind):
            return getattr(handler, "slug", None)
    return None


# Library and model exceptions -> responses, in one place.
LIBRARY_PROBLEMS: dict[type[Exception], Callable[[Any], Response]] = {
    IllegalTransitionError: _illegal_transition,
    UnreadableImageError: _library(422, "unreadable-image", "The image cannot be read"),
    UnsupportedFormatError: _library(415, "unsupported-image-format",
                                     "Unsupported image format"),
    ImageTooLargeError: _library(413, "image-too-large", "The image is too large"),
    ProblemTooLargeError: _library(413, "routing-problem-too-large",
                                   "Too many stops or couriers"),
    InvalidProblemError: _library(422, "invalid-routing-problem", "The routing problem is "
                                  "not valid"),
}


#: Seconds a client waits before retrying a request that found the database busy.
BUSY_RETRY_AFTER_S = 2


#: PostgreSQL's "deadlock detected" and "could not serialize access": the server chose
#: this transaction to roll back so that another could go on
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def database_busy(exc: BaseException) -> bool:
    """SQLite's "database is locked" (``SQLITE_BUSY``): another connection held the
    write lock longer than the busy timeout (``SQLITE_BUSY_TIMEOUT_S``). The
    statement did not run and the transaction is rolled back; the same request can
    succeed a moment later. PostgreSQL waits for row locks without a timeout, but
    breaks a deadlock (two transactions each waiting for a row the other locked) by
    rolling one of them back: the same, where it was a 500 (the locks are taken in one
    order where the code knows of a cycle; one it does not know of is still resent)."""
    orig = getattr(exc, "orig", None)
    if isinstance(exc, OperationalError) and getattr(orig, "sqlstate", None) in \
            RETRYABLE_SQLSTATES:
        return True
    return (isinstance(exc, OperationalError) and type(orig).__module__ == "sqlite3"
            and (getattr(orig, "sqlite_errorcode", None) == 5  # SQLITE_BUSY
                 or "database is locked" in str(orig)))


UNREACHABLE_RETRY_AFTER_S = 10

#: Seconds a client waits before resending a request the database had no room for
FULL_RETRY_AFTER_S = 300


def database_full(exc: BaseException) -> bool:
    """The database's disk is full: SQLite's ``SQLITE_FULL`` ("database or disk is
    full"), PostgreSQL's ``disk_full`` (53100). The statement did not run and the
    transaction is rolled back: nothing stored is lost, and the phone keeps what it
    sent until an operator frees space. (Was a 500, "something went wrong on our
    side", which told neither the client to resend nor the operator what to do.)"""
    if not isinstance(exc, OperationalError):
        return False
    orig = exc.orig
    if getattr(orig, "sqlstate", None) == "53100":
        return True
    return type(orig).__module__ == "sqlite3" and (
        getattr(orig, "sqlite_errorcode", None) == 13  # SQLITE_FULL
        or "database or disk is full" in str(orig))


def database_unreachable(exc: BaseException) -> bool:
    """No connection to the database (it is down, restarting, or the URL's host or port
    is wrong; or the connection dropped): no statement ran, as ``/healthz`` says with
    its 503. (Was a 500 with a traceback for every request.)"""
    return isinstance(exc, OperationalError) and (exc.connection_invalidated
                                                  or exc.statement is None)


def wants_html() -> bool:
    """A browser asking for a page (not the API, not a script): it gets an HTML error."""
    if request.path.startswith(("/api/", "/console/api/")):
        return False
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "text/html"


def html_error(status: int, title: str, detail: str,
               headers: Mapping[str, str] | None = None, *,
               lang: str | None = None) -> Response:
    """A plain error page, with the public pages' security headers (no script at all)
    and ``headers`` (``Retry-After``, ``Allow``...). Its link to the tracking page is
    under the app's path prefix, if any (``SCRIPT_NAME``). ``lang``: the page's language
    (``<html lang>`` and ``Content-Language``), when it is said in a language of its own."""
    track = escape(f"{request.script_root}/track")
    html = f'<html lang="{escape(lang)}">' if lang else "<html>"
    body = (f'<!doctype html>{html}<head><meta charset="utf-8"><title>{status} '
            f"{escape(title)}</title></head><body><h1>{status} {escape(title)}</h1>"
            f'<p>{escape(detail)}</p><p><a href="{track}">{track}</a></p></body></html>')
    resp = Response(body, status=status, mimetype="text/html", headers=dict(headers or {}))
    if lang:
        resp.headers["Content-Language"] = lang
    resp.headers["X-Frame-Options"] = "DENY"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Security-Policy"] = "default-src 'none'; frame-ancestors 'none'"
    return resp


#: ``app.extensions`` key of the functions that may say an error the app answers by
#: itself in another language (:func:`error_words`)
ERROR_WORDS = "postal.error_words"

#: What a function of :data:`ERROR_WORDS` is given (the answer's status, its problem
#: type's slug or None for ``about:blank``, its English title and detail) and returns:
#: None (not its request), or the title and detail to answer with and their language
Words = Callable[[int, str | None, str, str], tuple[str, str, str] | None]


def error_words(app: App, words: Words) -> None:
    """Have ``words`` say the errors the app answers by itself (this module's handlers:
    a URL not found, a wrong method, a body that is not JSON, a database unreachable,
    busy or full, a library's refusal, a 500) for the requests it takes, e.g. the
    console's pages in the page's language (api/console/views.py). Only the words
    change (``detail``, and a page's title): the status, ``type`` and every other member
    stay; the API's answers, which no such function takes, stay English."""
    app.extensions.setdefault(ERROR_WORDS, []).append(words)


def _error(status: int, title: str, detail: str | None, *, slug: str | None = None,
           headers: Mapping[str, str] | None = None, page: bool = True,
           **extensions: Any) -> Response:
    """What the app answers an error with by itself: an HTML page for a browser asking
    for one (:func:`wants_html`; ``page`` false: never), else problem details; in the
    words of the first of
    :data:`ERROR_WORDS` that takes the request (JSON: its ``detail`` only, with
    ``Content-Language``), else as given."""
    said = None
    for words in current_app.extensions.get(ERROR_WORDS, ()):
        try:
            said = words(status, slug, title, detail or "")
        except Exception:  # the error is answered all the same, in the app's words
            log.exception("error words failed on %s %s", request.method, request.path)
            said = None
        if said is not None:
            break
    if page and wants_html():
        if said is None:
            return html_error(status, title, detail or "", headers)
        return html_error(status, said[0], said[1], headers, lang=said[2])
    resp = problem_response(status, title, said[1] if said else detail, slug=slug,
                            headers=headers, **extensions)
    if said is not None:
        resp.headers["Content-Language"] = said[2]
    return resp


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(Problem)
    def _problem(exc: Problem) -> Response:
        # (html for a browser: a page's refusal, e.g. a console page's bad date)
        return _error(exc.status, exc.title, exc.detail, slug=exc.slug,
                      headers=exc.headers, **exc.extensions)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        if exc.response is not None:  # a page's own answer (e.g. a rate-limited form)
            # werkzeug types it as its own Response; Flask's subclasses it and serves both
            return exc.response  # type: ignore[return-value]
        status = exc.code or 500
        data = getattr(exc, "data", None) or {}
        headers = {k: v for k, v in exc.get_headers() if k in ("Allow", "WWW-Authenticate",
                                                               "Retry-After")}
        if status == 422 and "messages" in data:
            return _error(
                422, "The request is not valid", "Some fields are invalid; see errors.",
                slug="validation-error", headers=headers, page=False,
                errors=validation_pointers(data["messages"]),
            )
        detail = exc.description
        if status == 400 and "messages" in data:
            # webargs reports a body that is not JSON as 400 with messages
            detail = "; ".join(p["detail"] for p in validation_pointers(data["messages"]))
        if status == 429:
            return _error(
                429, "Too many requests", f"Too many requests ({detail}); wait for the time "
                "in Retry-After.", slug="rate-limited", headers=headers, page=False)
        if status == 413:
            limit = app.config["MAX_CONTENT_LENGTH"]
            field_limit = app.config.get("MAX_FORM_MEMORY_SIZE")
            if (request.content_length is not None and request.content_length <= limit
                    and field_limit):
                # the body is within the limit: a form field (not a file) was over its own
                detail = (f"A form field is larger than the limit of "
                          f"{field_limit // 1000} KB; files go in file parts.")
            else:
                detail = (f"The request body is larger than the limit of "
                          f"{limit // (1024 * 1024)} MB.")
        return _error(status, exc.name, detail, headers=headers)

    for exc_type, handler in LIBRARY_PROBLEMS.items():
        app.register_error_handler(exc_type, handler)

    def _unavailable(detail: str, slug: str, retry_after_s: int) -> Response:
        """A 503 of the database (its changes rolled back): resend after ``retry_after_s``."""
        return _error(503, "Service unavailable", detail, slug=slug,
                      headers={"Retry-After": str(retry_after_s)})

    @app.errorhandler(OperationalError)
    def _operational(exc: OperationalError) -> Response:
        if database_unreachable(exc):
            db.session.rollback()
            log.error("database unreachable on %s %s: %s", request.method, request.path,
                      exc.orig)
            return _unavailable("The database cannot be reached; try again in a moment.",
                                "database-unavailable", UNREACHABLE_RETRY_AFTER_S)
        if database_full(exc):
            db.session.rollback()
            log.critical("database disk full on %s %s: %s; free space for the database",
                         request.method, request.path, exc.orig)
            return _unavailable("The server's database has no room left; nothing was "
                                "changed. Keep the data and send it again later (the "
                                "operators are told).", "database-full", FULL_RETRY_AFTER_S)
        if not database_busy(exc):
            return _unexpected(exc)
        db.session.rollback()  # (the request's session may serve another one: tests)
        log.warning("database busy on %s %s: %s", request.method, request.path, exc.orig)
        return _unavailable("The database was busy with other changes for too long and "
                            "this request could not finish; its changes were rolled back. "
                            "Send it again after Retry-After seconds.", "database-busy",
                            BUSY_RETRY_AFTER_S)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        # (html for a browser on a page: a console page, /track)
        return _error(500, "Internal server error",
                      "Something went wrong on our side; it has been logged.")
