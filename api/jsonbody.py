"""Request bodies: JSON that Python's parser accepts but the application cannot use.

``json.loads`` accepts things a hostile client can send that fail later, as 500s:

* nesting deeper than the interpreter's recursion limit (``[[[[...]]]]``) raises
  ``RecursionError`` instead of a decoding error;
* ``"\\ud800"``: a lone UTF-16 surrogate escape decodes to a Python string that
  cannot be encoded as UTF-8, so it fails in the database driver, a log line or a
  response (RFC 8259 section 8.2 leaves such strings' behaviour unpredictable;
  I-JSON, RFC 7493, forbids them).
* an integer literal of more than 4 300 digits, which ``int()`` refuses to convert
  (CVE-2020-10735's limit) with a ``ValueError``;
* ``"\\u0000"``: a NUL character, which PostgreSQL cannot hold in text, not even
  in a query parameter (the driver raises).
* an object with a key twice (``{"date": "2026-11-20", "date": "2026-11-21"}``):
  Python keeps the last, another parser (a proxy's, a log's) may keep the first, so the
  request meant two things; I-JSON (RFC 7493, 2.3) forbids it.
* a document of very many values: 12 MB holding a million keys took a web thread
  17-26 s and ~550 MB to be refused field by field, the answer listing every key
  (no request the API takes holds more than ~20 000 values: a sync backlog of 500
  entries), so more than :data:`MAX_VALUES` is refused at once.

:func:`loads` turns them all into ``json.JSONDecodeError``, which every JSON entry point
already answers with a 400: webargs through :class:`Parser` (flask-smorest's
arguments) and ``request.get_json`` through :class:`JSONProvider`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import flask
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Blueprint as _Blueprint
from webargs import core
from webargs.flaskparser import FlaskParser, abort, is_json_request
from werkzeug.exceptions import RequestEntityTooLarge

#: strings the application cannot use: a lone surrogate, or NUL
_UNUSABLE = re.compile("[\ud800-\udfff\x00]")
#: the only ways they get into a parsed document: a ``\uD800``-``\uDFFF`` or a
#: ``\u0000`` escape in the text (raw UTF-8 cannot encode a surrogate; the parser
#: refuses raw control characters in strings); texts without one are not walked
_UNUSABLE_ESCAPE = re.compile(r"\\u(?:[dD][89a-fA-F]|0000)")


def _pointer(path: list[str | int]) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in path)


def _why_unusable(text: str) -> str | None:
    m = _UNUSABLE.search(text)
    if m is None:
        return None
    return "holds a NUL character" if m.group() == "\x00" else \
        "is not valid Unicode (lone surrogate escape)"


#: object members plus array items a JSON body may hold in all (the largest request
#: the API takes, a sync backlog of 500 entries, holds ~20 000)
MAX_VALUES = 100_000


def _too_many_values(doc: Any) -> bool:
    """Whether ``doc`` holds more than :data:`MAX_VALUES` members and items. Iterative,
    and stops counting there."""
    count, stack = 0, [doc]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            count += len(node)
            stack.extend(v for v in node.values() if isinstance(v, dict | list))
        elif isinstance(node, list):
            count += len(node)
            stack.extend(v for v in node if isinstance(v, dict | list))
        if count > MAX_VALUES:
            return True
    return False


def _check_strings(doc: Any) -> None:
    """Raise ``JSONDecodeError`` at the first string (key or value) with a lone
    surrogate or a NUL. Iterative: the document may be nested up to the parser's
    limit."""
    stack: list[tuple[Any, list[str | int]]] = [(doc, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, str):
            if why := _why_unusable(node):
                raise json.JSONDecodeError(
                    f"a string at {_pointer(path) if path else '/'} {why}", "<body>", 0)
        elif isinstance(node, dict):
            for key, value in node.items():
                if why := _why_unusable(key):
                    raise json.JSONDecodeError(
                        f"a key at {_pointer(path) if path else '/'} {why}", "<body>", 0)
                stack.append((value, [*path, key]))
        elif isinstance(node, list):
            stack.extend((value, [*path, i]) for i, value in enumerate(node))


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object's members as a dict, or ``JSONDecodeError`` for a key given twice."""
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            break
        seen.add(key)
    shown = key if len(key) <= 40 else key[:40] + "…"
    raise json.JSONDecodeError(f"the key {shown!r} appears twice in one object", "<body>", 0)


def _parsed(data: str, **kwargs: Any) -> Any:
    """``json.loads``, with too deep nesting and too long integers as
    ``JSONDecodeError``."""
    try:
        return json.loads(data, **kwargs)
    except RecursionError:
        raise json.JSONDecodeError("nested too deeply", "<body>", 0) from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # an integer of more digits than int() converts (4 300)
        raise json.JSONDecodeError(str(exc).split(";")[0], "<body>", 0) from None


def loads(data: str | bytes, **kwargs: Any) -> Any:
    """``json.loads`` that raises ``JSONDecodeError`` for too deep nesting, integers
    of too many digits, lone surrogates, NUL, a key twice in an object and too many
    values (module docstring)."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise json.JSONDecodeError(f"not UTF-8: {exc.reason}", "<body>", exc.start) from exc
    # each member has its colon, each array item a comma or the array's "[" before it:
    # a cheap count of those (strings included) tells most documents are small. One
    # that may hold too many is counted before its objects go through _unique_keys (a
    # Python call each: 12 MB of "{}," took 1.5-1.9 s to refuse, twice the count alone)
    if len(data) > MAX_VALUES and data.count(",") + data.count(":") + data.count("[") \
            > MAX_VALUES and _too_many_values(_parsed(data, **kwargs)):
        raise json.JSONDecodeError(f"more than {MAX_VALUES} values", "<body>", 0)
    doc = _parsed(data, **{"object_pairs_hook": _unique_keys, **kwargs})
    if _UNUSABLE_ESCAPE.search(data):  # a pair (an escaped emoji) is fine: look closer
        _check_strings(doc)
    return doc


class Parser(FlaskParser):
    """webargs' Flask parser with :func:`loads`."""

    def _raw_load_json(self, req: flask.Request) -> Any:
        if not is_json_request(req):
            # a body of another type (``fetch`` sends a string as ``text/plain``, an
            # HTTP client left without a ``Content-Type``, a form) was taken for no
            # body at all: a PATCH answered 200 having changed nothing, a publish lost
            # its ``accept_issues``, a login said its fields were missing
            if req.content_length or req.get_data(cache=True, parse_form_data=False):
                from .errors import Problem

                raise Problem(
                    f"The body must be JSON sent as 'Content-Type: application/json', "
                    f"not {req.mimetype or 'without a Content-Type'}.",
                    status=415, slug="unsupported-media-type",
                    title="Unsupported media type")
            return core.missing
        return loads(req.get_data(cache=True))

    def _handle_invalid_json_error(self, error: json.JSONDecodeError | UnicodeDecodeError,
                                   req: flask.Request, *args: Any, **kwargs: Any) -> Any:
        reason = error.msg if isinstance(error, json.JSONDecodeError) else error.reason
        abort(400, exc=error, messages={"json": [f"Invalid JSON body: {reason}."]})


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider with :func:`loads` (``request.get_json``)."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return loads(s, **kwargs)


def limit_chunked_bodies(app: flask.Flask) -> None:
    """Refuse chunked request bodies over ``MAX_CONTENT_LENGTH`` with a 413.

    A body with a ``Content-Length`` over the limit is refused before it is read. A
    chunked one (the server sets ``wsgi.input_terminated``) has no length: Werkzeug
    reads it up to the limit and stops there *without an error*, so a long body
    would be cut and the cut parsed as if it were whole. Reading it first (at most
    the limit, so memory stays bounded) tells: a body that fills the limit is
    refused (one of exactly the limit too)."""

    @app.before_request
    def _chunked_limit() -> None:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        req = flask.request
        if not limit or req.content_length is not None \
                or "wsgi.input_terminated" not in req.environ:
            return
        if len(req.get_data(cache=True, parse_form_data=False)) >= limit:
            raise RequestEntityTooLarge()


class Blueprint(_Blueprint):  # type: ignore[misc]  # flask-smorest is untyped: Any
    """flask-smorest's Blueprint parsing bodies with :class:`Parser`."""

    ARGUMENTS_PARSER = Parser()


def _has_nul(value: object) -> bool:
    return isinstance(value, str) and "\x00" in value


def refuse_nul_characters(app: flask.Flask) -> None:
    """A NUL character in the URL (path or query) or in a URL-encoded form field is a
    400.

    PostgreSQL cannot hold NUL in text, not even as a query parameter: wherever one
    reached a query (a login name, an identifier in the path, a search term) the
    driver raised and the request was a 500. JSON bodies are checked by
    :func:`loads`."""
    from .errors import Problem

    @app.before_request
    def _no_nul() -> None:
        req = flask.request
        where = None
        if "\x00" in req.path:
            where = "the URL path"
        elif any(_has_nul(k) or _has_nul(v) for k, v in req.args.items(multi=True)):
            where = "a query parameter"
        elif req.mimetype == "application/x-www-form-urlencoded" \
                and any(_has_nul(k) or _has_nul(v) for k, v in req.form.items(multi=True)):
            # (the console's forms; multipart uploads are not parsed here, before the
            # view has checked who sends them: their text fields are a fixed choice or
            # JSON, which loads() checks)
            where = "a form field"
        if where is not None:
            raise Problem(f"NUL characters are not allowed ({where}).")


def single_file(field: str, what: str) -> Any:
    """The multipart file part ``field`` of the request (None when there is none); two
    or more are a 422 on ``/field`` saying ``what`` one is ("One photo a scan."): the
    first was used and the others dropped without a word."""
    from .errors import Unprocessable

    if len(flask.request.files.getlist(field)) > 1:
        raise Unprocessable(what, errors=[
            {"pointer": f"/{field}", "detail": "Sent more than once."}])
    return flask.request.files.get(field)

