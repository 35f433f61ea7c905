"""Paged API lists: ``page`` and ``page_size`` query arguments, the total in
``X-Total-Count`` and the next page in a ``Link`` header (RFC 8288)."""
from __future__ import annotations

from typing import Any

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
    (its other query arguments kept) when there is one."""
    headers = {"X-Total-Count": str(total)}
    if page * size < total:
        args: dict[str, Any] = {k: v for k, v in request.args.lists() if k != "page"}
        nxt = url_for(request.endpoint or "", page=page + 1, **args)
        headers["Link"] = f'<{nxt}>; rel="next"'
    return headers
