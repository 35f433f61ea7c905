"""Walking a paged API list (``api.paging``): page by page along the ``Link`` headers."""

from __future__ import annotations

from typing import Any


def pages(client: Any, url: str, headers: dict[str, str]) -> list[Any]:
    """Every page's response from ``url`` on, following ``rel="next"`` to the last;
    each asserted 200."""
    found = []
    while url:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, (url, r.json)
        found.append(r)
        link = r.headers.get("Link")
        url = link[1:link.index(">")] if link else ""
        assert len(found) < 50
    return found
