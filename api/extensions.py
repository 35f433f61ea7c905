"""Extensions, created unbound and ``init_app``-ed by the factory."""

from __future__ import annotations

from typing import Any, cast

from flask import Response, current_app, json, render_template, request, url_for
from flask_migrate import Migrate
from flask_smorest import Api as _Api

from .errors import PROBLEM_MIMETYPE, ProblemSchema


def ecma_pattern(self: Any, field: Any, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A ``Regexp`` validator's pattern as JSON Schema reads it (ECMA-262, unanchored):
    marshmallow matches from the start (``re.match``) and our patterns end in Python's
    ``\\Z``, which ECMA-262 does not know (a literal ``Z``, or an error with the ``u``
    flag that ajv compiles with): ``[0-9a-f]{64}\\Z`` documented a SHA-256 followed by
    a ``Z``, so a front-end validating against the document refused every good one."""
    pattern = ret.get("pattern")
    if not isinstance(pattern, str):
        return {}
    whole = pattern.endswith("\\Z")
    body = pattern[:-2] if whole else pattern
    return {"pattern": f"^(?:{body})" + ("$" if whole else "")}


class Api(_Api):  # type: ignore[misc]  # flask-smorest is untyped: Api is Any
    """flask-smorest's Api, documenting every error as problem details."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_MIMETYPE
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE

    def _init_spec(self, **kwargs: Any) -> None:
        super()._init_spec(**kwargs)
        self.ma_plugin.converter.add_attribute_function(ecma_pattern)

    def _register_error_handlers(self) -> None:
        """Errors are handled by :mod:`api.errors`, registered by the factory."""

    def _openapi_swagger_ui(self) -> str:
        """flask-smorest's Swagger UI page, its assets (``OPENAPI_SWAGGER_UI_URL``, a path
        on this server) under the app's path prefix, if any (``SCRIPT_NAME``), as its
        link to the document (``url_for``) is: it loaded them from the host's root."""
        assets = str(self._swagger_ui_url)
        if assets.startswith("/") and not assets.startswith("//"):
            assets = request.script_root + assets
        return render_template(
            "swagger_ui.html", title=self.spec.title,
            spec_url=url_for(f"{self._make_doc_blueprint_name()}.openapi_json"),
            swagger_ui_url=assets,
            swagger_ui_config=self.config.get("OPENAPI_SWAGGER_UI_CONFIG", {}))

    def _openapi_json(self) -> Response:
        """The OpenAPI document; under a path prefix (``SCRIPT_NAME``), with the prefix as
        its server: its paths (``/api/v1/...``) are from the app's root, and a document
        without ``servers`` has them on the host's root (Swagger UI's "Try it out")."""
        if not request.script_root:
            return cast(Response, super()._openapi_json())
        spec = {**self.spec.to_dict(), "servers": [{"url": request.script_root}]}
        return current_app.response_class(json.dumps(spec, indent=2, sort_keys=False),
                                          mimetype="application/json")


api = Api()
migrate = Migrate()
