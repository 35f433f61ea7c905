"""Paged API lists: ``page`` and ``page_size`` query arguments, the total in
``X-Total-Count`` and the next page in a ``Link`` header (RFC 8288)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from flask import request, url_for


def headers_doc(what: str) -> dict[str, Any]:
    """The two headers' OpenAPI description, for ``blp.response(headers=...)``."""
    return {
        "X-Total-Count": {"description": f"How many {what} the query matches in all",
                          "schema": {"type": "integer"}},
        "Link": {"description": 'The next page (rel="next"), when there is one',
                 "schema": {"type": "string"}}}


def page_headers(page: int, size: int, total: int) -> dict[str, str]:
    """``X-Total-Count``, and ``Link`` to the next page of the current request's list
    (its other query arguments kept) when there is one. The query is encoded here, not
    by ``url_for``: a query argument named ``endpoint`` or ``_scheme``, ``_anchor``,
    ``_method`` or ``_external`` would be taken by it as its own (a 500, or a link to
    whatever host the request's ``Host`` header names)."""
    headers = {"X-Total-Count": str(total)}
    if page * size < total:
        query = [("page", str(page + 1))] + [
            (k, v) for k, values in request.args.lists() if k != "page" for v in values]
        path = url_for(request.endpoint or "", **(request.view_args or {}))
        headers["Link"] = f'<{path}?{urlencode(query)}>; rel="next"'
    return headers
