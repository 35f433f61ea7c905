"""Schemathesis drives every documented operation with generated requests (valid and
not): no response may be a 500. Runs on a fresh SQLite database with demo data, as a
dispatcher. A longer run against a live server: docs/benchmarks.md, "Robustness"."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from api import create_app
from api.demo import load_demo
from models import db
from tests.conftest import FakeClock

APP_STATE: dict[str, object] = {}


def _app():
    if "app" not in APP_STATE:
        import tempfile
        from datetime import UTC, datetime

        tmp = tempfile.mkdtemp(prefix="fuzz-api-")
        clock = FakeClock(datetime(2026, 11, 20, 1, 0, tzinfo=UTC))
        app = create_app({"TESTING": True, "SECRET_KEY": "fuzz",
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/fuzz.sqlite3",
                          "PHOTO_DIR": f"{tmp}/evidence", "CLOCK": clock})
        with app.app_context():
            db.create_all()
            load_demo(db.session, now=clock(), n_items=20)
            db.session.commit()
        client = app.test_client()
        token = client.post("/api/v1/auth/token", json={"username": "dispatcher1",
                                                        "password": "demo"}).json
        APP_STATE.update(app=app, token=token["access_token"])
    return APP_STATE["app"]


schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", _app())
#: one test per operation, named after it: ``schema.parametrize()`` gave all of them one
#: node id, and pytest-xdist, spreading the suite's files over its workers, ran one of
#: the 45 (the rest passed unreported)
OPERATIONS = [op.ok() for op in schema.get_all_operations()]


@pytest.mark.slow
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_no_operation_answers_500(operation, data):
    case = data.draw(st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                               operation.as_strategy(GenerationMode.NEGATIVE)))
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {APP_STATE['token']}"}
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.text[:300])
