"""Extensions, created unbound and ``init_app``-ed by the factory."""

from __future__ import annotations

from flask_migrate import Migrate
from flask_smorest import Api as _Api

from .errors import PROBLEM_MIMETYPE, ProblemSchema


class Api(_Api):  # type: ignore[misc]  # flask-smorest is untyped: Api is Any
    """flask-smorest's Api, documenting every error as problem details."""

    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self) -> None:
        self.DEFAULT_RESPONSE_CONTENT_TYPE = PROBLEM_MIMETYPE
        try:
            super()._register_responses()
        finally:
            del self.DEFAULT_RESPONSE_CONTENT_TYPE

    def _register_error_handlers(self) -> None:
        """Errors are handled by :mod:`api.errors`, registered by the factory."""


api = Api()
migrate = Migrate()
