"""The product served under a URL path prefix (docs/deployment.md, "Serving under a path
prefix"): a reverse proxy at ``https://post.example/postal/`` either passes the path on
with gunicorn's ``SCRIPT_NAME=/postal`` or strips it and says so in
``X-Forwarded-Prefix`` (``POSTAL_PROXY_FIX_X_PREFIX=1``). Either way the app sees
``SCRIPT_NAME`` (``request.script_root``), and every URL it hands out must carry it:
links, forms, scripts and styles, redirects, cookie paths, the console script's fetches,
the Swagger UI's assets and the OpenAPI ``servers``, ``Location`` and ``Link`` headers,
problem details' ``instance``. Absolute paths without it led out of the app (the
console's map loaded no data, the tracking page's search went to the host's root)."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from api import ConfigError, create_app
from models import Role

PREFIX = "/postal"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')
#: every URL attribute of a page (``href``, ``src``, ``action``, the console's root)
URL_ATTR = re.compile(r'\b(href|src|action|data-root)="([^"]*)"')


@pytest.fixture
def office(make_office):
    return make_office(lat=12.2450, lon=109.1940)


@pytest.fixture
def dispatcher(make_user, office):
    return make_user(Role.DISPATCHER, office, username="disp", password="secret-pw")


class PrefixedClient(FlaskClient):
    """A client of the app mounted at /postal: each request's ``SCRIPT_NAME`` is the
    prefix and its path the rest (as gunicorn with ``SCRIPT_NAME=/postal`` hands it on);
    cookies go back only to the paths they were set for."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("base_url", f"http://localhost{PREFIX}/")
        return super().open(*args, **kwargs)


@pytest.fixture
def prefixed(app):
    return PrefixedClient(app, app.response_class, use_cookies=True)


def urls(html: str) -> list[str]:
    return [value for _, value in URL_ATTR.findall(html)]


def assert_all_prefixed(html: str) -> list[str]:
    """Every absolute path on the page starts with the prefix; the page's URLs."""
    found = urls(html)
    assert found
    wrong = [u for u in found if u.startswith("/") and not u.startswith(f"{PREFIX}/")]
    assert not wrong, wrong
    for attr in ('href="/', 'src="/', 'action="/'):
        for at in [m.start() for m in re.finditer(re.escape(attr), html)]:
            assert html.startswith(f'{attr[:-1]}{PREFIX}/', at), html[at:at + 60]
    return found


def log_in(client, next_url=None):
    token = CSRF_RE.search(client.get("/console/login").text).group(1)
    data = {"username": "disp", "password": "secret-pw", "csrf_token": token}
    if next_url is not None:
        data["next"] = next_url
    return client.post("/console/login", data=data)


def test_the_login_page_and_its_redirects_carry_the_prefix(prefixed, dispatcher):
    r = prefixed.get("/console/cash?date=2026-11-20")
    assert r.status_code == 302
    # where the login leads back to: the page asked for, at its address under the prefix
    assert r.location.startswith(f"{PREFIX}/console/login?")
    assert parse_qs(urlsplit(r.location).query)["next"] == [
        f"{PREFIX}/console/cash?date=2026-11-20"]
    page = prefixed.get("/console/login").text
    found = assert_all_prefixed(page)
    assert f"{PREFIX}/console/login" in found and f"{PREFIX}/console/lang" in found
    assert f"{PREFIX}/console/static/console.css" in found
    assert f"{PREFIX}/console/static/console.js" in found
    # the language switch comes back to this page
    assert f'name="next" value="{PREFIX}/console/login"' in page
    r = log_in(prefixed, f"{PREFIX}/console/cash?date=2026-11-20")
    assert r.status_code == 302 and r.location == f"{PREFIX}/console/cash?date=2026-11-20"
    # a next outside the console (the host's other apps) is refused as before
    prefixed.post("/console/logout", data={
        "csrf_token": CSRF_RE.search(prefixed.get("/console/cash").text).group(1)})
    for elsewhere in ("/console/cash", "/other/console", f"{PREFIX}//evil.example"):
        r = log_in(prefixed, elsewhere)
        assert r.location == f"{PREFIX}/console/", elsewhere
        prefixed.post("/console/logout", data={
            "csrf_token": CSRF_RE.search(prefixed.get("/console/").text).group(1)})


def test_a_next_climbing_out_of_the_console_by_dot_segments_is_refused(prefixed, dispatcher):
    """``/postal/console/../../other-app`` starts as a console address, but a browser
    resolves its dot segments (``..``, also written ``%2e%2e``) before following it: the
    login led to the host's other apps, which a ``next`` may not."""
    for elsewhere in (f"{PREFIX}/console/../../other-app/login",
                      f"{PREFIX}/console/%2e%2e/%2E%2E/other-app",
                      f"{PREFIX}/console/.%2e/.%2e/other-app?x=1",
                      f"{PREFIX}/console/./../../other-app"):
        r = log_in(prefixed, elsewhere)
        assert r.status_code == 302 and r.location == f"{PREFIX}/console/", elsewhere
        r = prefixed.post("/console/lang", data={
            "lang": "en", "next": elsewhere,
            "csrf_token": CSRF_RE.search(prefixed.get("/console/").text).group(1)})
        assert r.status_code == 302 and r.location == f"{PREFIX}/console/", elsewhere
        prefixed.post("/console/logout", data={
            "csrf_token": CSRF_RE.search(prefixed.get("/console/").text).group(1)})
    # a console page whose query holds dots is still followed
    r = log_in(prefixed, f"{PREFIX}/console/items?number=../x")
    assert r.location == f"{PREFIX}/console/items?number=../x"


def test_console_pages_their_script_and_its_data_under_the_prefix(prefixed, dispatcher,
                                                                   make_item, office):
    item = make_item(office)
    assert log_in(prefixed).location == f"{PREFIX}/console/"
    for path in ("/console/", "/console/items", f"/console/items?number={item.identifier}",
                 "/console/complaints", "/console/cash", "/console/payouts",
                 "/console/missing", "/console/quality", "/console/import"):
        r = prefixed.get(path)
        assert r.status_code == 200, (path, r.status_code)
        assert_all_prefixed(r.text)
    page = prefixed.get("/console/").text
    # the console's script builds its fetches on the root the page gives it
    assert f'data-root="{PREFIX}/console/"' in page
    assert f"{PREFIX}/console/vendor/leaflet.js" in urls(page)
    script = prefixed.get("/console/static/console.js")
    assert script.status_code == 200
    js = script.get_data(as_text=True)
    script.close()
    assert not re.search(r"""["'`]/(console|api)\b""", js), "an absolute path in console.js"
    assert "dataset.root" in js
    # what it fetches, under the prefix, with the session cookie set there
    assert prefixed.get("/console/api/day?date=2026-11-20").status_code == 200
    assert prefixed.get("/console/api/positions").status_code == 200


def test_the_cookies_are_for_the_prefix(prefixed, dispatcher):
    """The language cookie was set for ``/console``: a browser never sent it to
    ``/postal/console``, and the language switch did nothing. The session cookie is
    the prefix's: two instances on one host no longer log each other out."""
    r = log_in(prefixed)
    assert f"Path={PREFIX}" in r.headers["Set-Cookie"]
    token = CSRF_RE.search(prefixed.get("/console/cash").text).group(1)
    r = prefixed.post("/console/lang", data={"lang": "en", "csrf_token": token,
                                             "next": f"{PREFIX}/console/cash"})
    assert r.status_code == 302 and r.location == f"{PREFIX}/console/cash"
    assert f"Path={PREFIX}/console" in r.headers["Set-Cookie"]
    page = prefixed.get("/console/cash").text
    assert 'lang="en"' in page and "Cash report" in page


def test_unprefixed_cookie_paths_stay_as_they_were(client, dispatcher):
    r = log_in(client)
    assert "Path=/;" in r.headers["Set-Cookie"] or r.headers["Set-Cookie"].endswith("Path=/")
    token = CSRF_RE.search(client.get("/console/cash").text).group(1)
    r = client.post("/console/lang", data={"lang": "en", "csrf_token": token})
    assert "Path=/console" in r.headers["Set-Cookie"]
    assert r.location == "/console/"


def test_a_form_sent_after_the_session_ended_leads_back_to_its_page(prefixed, dispatcher,
                                                                     clock):
    log_in(prefixed)
    token = CSRF_RE.search(prefixed.get("/console/cash").text).group(1)
    clock.advance(hours=2)  # idle past CONSOLE_IDLE_MINUTES
    r = prefixed.post("/console/cash/handover", data={"csrf_token": token},
                      headers={"Referer": f"http://localhost{PREFIX}/console/cash?x=1"})
    assert r.status_code == 302
    assert parse_qs(urlsplit(r.location).query)["next"] == [f"{PREFIX}/console/cash?x=1"]


def test_the_tracking_page_under_the_prefix(prefixed, make_item, office):
    page = prefixed.get("/track").text
    found = assert_all_prefixed(page)
    assert f"{PREFIX}/track" in found and f"{PREFIX}/track?lang=en" in found
    number = make_item(office).identifier
    r = prefixed.get("/track", query_string={"number": number})
    assert r.status_code == 302 and r.location == f"{PREFIX}/track/{number}?lang=vi"
    page = prefixed.get(f"/track/{number}?lang=en").text
    found = assert_all_prefixed(page)
    assert f"{PREFIX}/track/{number}/complaint?lang=en" in found
    assert f"{PREFIX}/track/{number}?lang=vi" in found
    # the form's answer, under the prefix
    r = prefixed.post(f"/track/{number}/complaint?lang=en",
                      data={"phone": "0912345678", "category": "damaged",
                            "description": "Hộp bị móp"})
    assert r.status_code == 201
    assert_all_prefixed(r.text)


def test_an_html_error_page_links_to_the_prefixed_tracking_page(prefixed):
    r = prefixed.get("/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert f'href="{PREFIX}/track"' in r.text
    assert_all_prefixed(r.text)


def test_the_api_docs_under_the_prefix(prefixed, client):
    r = prefixed.get("/api/v1/docs")
    assert r.status_code == 200
    found = assert_all_prefixed(r.text)
    assert f"{PREFIX}/api/v1/docs/assets/swagger-ui.css" in found
    assert f"{PREFIX}/api/v1/docs/assets/swagger-ui-bundle.js" in found
    assert f'url: "{PREFIX}/api/v1/openapi.json"' in r.text
    asset = prefixed.get("/api/v1/docs/assets/swagger-ui.css")
    assert asset.status_code == 200
    asset.close()
    # "Try it out" sends its requests under the prefix: the document's server is it
    spec = prefixed.get("/api/v1/openapi.json").json
    assert spec["servers"] == [{"url": PREFIX}]
    assert next(iter(spec["paths"])).startswith("/api/v1/")
    # served at the root, the document is as it was (no servers: the host's root)
    assert "servers" not in client.get("/api/v1/openapi.json").json
    assert 'href="/api/v1/docs/assets/swagger-ui.css"' in client.get("/api/v1/docs").text


def test_api_locations_links_and_problems_carry_the_prefix(prefixed, auth, dispatcher,
                                                           office, make_item, make_user):
    h = auth(dispatcher)
    # a 202's Location (the route plan's job)
    make_user(Role.COURIER, office, vehicle_capacity_parcels=30, vehicle_capacity_kg=50.0)
    make_item(office, events=("EMG",), recipient={
        "name": "Lê Văn Tám", "address": "1 Yersin", "city": "Nha Trang",
        "province": "Khánh Hòa", "lat": 12.238, "lon": 109.185})
    r = prefixed.post("/api/v1/route-plans", json={"date": "2026-11-20", "time_limit_s": 0.2},
                      headers=h)
    assert r.status_code == 202, r.json
    assert r.headers["Location"] == f"{PREFIX}/api/v1/route-plans/{r.json['id']}"
    # a paged list's next page
    for n in range(2):
        assert prefixed.post("/api/v1/complaints", headers=h, json={
            "identifier": make_item(office).identifier, "category": "damaged",
            "description": f"Móp {n}"}).status_code == 201
    r = prefixed.get("/api/v1/complaints?page_size=1", headers=h)
    assert r.headers["Link"].startswith(f"<{PREFIX}/api/v1/complaints?")
    # a problem's instance is where it happened
    r = prefixed.get("/api/v1/items/EE000000000VN", headers=h)
    assert r.status_code == 404 and r.json["instance"] == f"{PREFIX}/api/v1/items/EE000000000VN"
    assert r.json["type"] == "/problems/not-found"  # an identifier, as documented: as it was


# ------------------------------------------------------------------ X-Forwarded-Prefix

def proxied_app(tmp_path, clock, **config):
    return create_app({"TESTING": True, "CLOCK": clock, "SECRET_KEY": "test-secret",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'proxy.sqlite3'}",
                       "PHOTO_DIR": str(tmp_path / "evidence"),
                       "RATELIMIT_STORAGE_URI": "memory://", **config})


def login_form_action(client, **headers):
    page = client.get("/console/login", headers=headers).text
    return re.search(r'action="([^"]*)" id="login-form"', page).group(1)


def test_x_forwarded_prefix_when_the_setting_is_on(tmp_path, clock):
    """nginx ``location /postal/ { proxy_pass http://app:8000/; proxy_set_header
    X-Forwarded-Prefix /postal; }``: the app gets ``/console/login`` and the header."""
    client = proxied_app(tmp_path, clock, PROXY_FIX_X_PREFIX=1).test_client()
    assert login_form_action(client, **{"X-Forwarded-Prefix": PREFIX}) == \
        f"{PREFIX}/console/login"
    assert login_form_action(client, **{"X-Forwarded-Prefix": f"{PREFIX}/"}) == \
        f"{PREFIX}/console/login"
    r = client.get("/console/", headers={"X-Forwarded-Prefix": PREFIX})
    assert r.location.startswith(f"{PREFIX}/console/login?")
    # no header: the root, as before
    assert login_form_action(client) == "/console/login"
    # what no proxy would send (another host's address, a path with a backslash) is not
    # taken: the page's links would lead there
    for bad in ("//evil.example", "/a//b", "https://evil.example", "/a\\b", "postal",
                "/a b", "/%2F", "/a/../b"):
        assert login_form_action(client, **{"X-Forwarded-Prefix": bad}) == "/console/login"


def test_x_forwarded_prefix_is_ignored_when_the_setting_is_off(client):
    assert login_form_action(client, **{"X-Forwarded-Prefix": PREFIX}) == "/console/login"


@pytest.mark.parametrize("value", [2, -1, "1", True, 0.5])
def test_the_prefix_setting_is_zero_or_one(tmp_path, clock, value):
    with pytest.raises(ConfigError, match="POSTAL_PROXY_FIX_X_PREFIX"):
        proxied_app(tmp_path, clock, PROXY_FIX_X_PREFIX=value)
