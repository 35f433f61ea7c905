"""GeoJSON answers under their own media type.

RFC 7946 (section 12) registers ``application/geo+json`` for GeoJSON: map libraries,
GIS tools (QGIS, ogr2ogr) and browsers' save dialogs recognise a feature collection by
it, where ``application/json`` says only "some JSON". A client that parses any JSON
(``fetch(...).then(r => r.json())``, ``requests``' ``.json()``) reads it the same.
"""

from __future__ import annotations

from typing import Any

import flask

#: RFC 7946's media type
MEDIA_TYPE = "application/geo+json"


def response(obj: Any) -> flask.Response:
    """``obj``, a GeoJSON object, as a response of :data:`MEDIA_TYPE`, serialised as
    every JSON answer of the app is (flask-smorest passes a ``Response`` through)."""
    return flask.current_app.response_class(flask.current_app.json.dumps(obj) + "\n",
                                            mimetype=MEDIA_TYPE)
