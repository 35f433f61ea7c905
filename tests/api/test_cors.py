"""CORS for /api/ when POSTAL_CORS_ORIGINS names web apps of other origins (a courier
PWA): browsers may then call the API from them, and from no other origin."""

from __future__ import annotations

import pytest

from api import ConfigError, create_app
from models import db

APP = "https://app.post.vn"


def _client(tmp_path, origins):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/cors.db",
                      "SECRET_KEY": "s3cret", "RATELIMIT_STORAGE_URI": "memory://",
                      "CORS_ORIGINS": origins})
    with app.app_context():
        db.create_all()
    return app.test_client()


def test_a_named_origin_may_call_the_api_from_a_browser(tmp_path):
    client = _client(tmp_path, f"{APP}, https://ops.post.vn:8443")
    pre = client.options("/api/v1/auth/token", headers={
        "Origin": APP, "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type"})
    assert pre.status_code == 200
    assert pre.headers["Access-Control-Allow-Origin"] == APP
    assert {"authorization", "content-type"} <= {
        h.strip().lower() for h in pre.headers["Access-Control-Allow-Headers"].split(",")}
    assert "POST" in pre.headers["Access-Control-Allow-Methods"]
    # bearer tokens, never cookies: no credentials mode
    assert "Access-Control-Allow-Credentials" not in pre.headers
    # an answer, an error's problem details included, is readable by the app, with the
    # headers it needs (a plan's Location, a 429's Retry-After)
    r = client.post("/api/v1/auth/token", headers={"Origin": APP},
                    json={"username": "nobody", "password": "x"})
    assert r.status_code == 401 and r.headers["Access-Control-Allow-Origin"] == APP
    assert "Location" in r.headers["Access-Control-Expose-Headers"]
    assert "Origin" in r.headers.get("Vary", "")
    assert client.get("/api/v1/track/EE123456785VN", headers={
        "Origin": "https://ops.post.vn:8443"}).headers["Access-Control-Allow-Origin"] == \
        "https://ops.post.vn:8443"


def test_another_origin_and_the_console_get_no_cors_headers(tmp_path):
    client = _client(tmp_path, [APP])
    pre = client.options("/api/v1/auth/token", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in pre.headers
    # the console's cookie stays same-origin
    page = client.get("/console/login", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in page.headers


def test_any_origin_when_the_setting_says_so(tmp_path):
    client = _client(tmp_path, ["*"])
    r = client.get("/api/v1/track/EE123456785VN", headers={"Origin": "https://x.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://x.example"  # echoed


def test_without_the_setting_no_cors_headers(tmp_path):
    client = _client(tmp_path, [])
    r = client.get("/api/v1/track/EE123456785VN", headers={"Origin": APP})
    assert "Access-Control-Allow-Origin" not in r.headers


@pytest.mark.parametrize("origins", [
    "https://app.post.vn/",  # a trailing slash never matches a browser's Origin
    "app.post.vn",
    ["https://app.post.vn/path"],
    [42],
    {"origin": APP},
])
def test_a_setting_that_can_never_match_is_refused_at_start_up(tmp_path, origins):
    with pytest.raises(ConfigError, match="POSTAL_CORS_ORIGINS"):
        _client(tmp_path, origins)
