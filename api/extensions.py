"""Extensions, created unbound and ``init_app``-ed by the factory."""

from __future__ import annotations

from typing import Any

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


api = Api()
migrate = Migrate()
